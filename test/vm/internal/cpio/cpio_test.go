package cpio

import (
	"bytes"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// entry is one decoded newc record.
type entry struct {
	Name   string
	Mode   uint32
	Nlink  uint32
	RMajor uint32
	RMinor uint32
	Data   string
	Ino    uint32
}

// decode is an independent reader of the newc format, strict about magic,
// field syntax and 4-byte alignment, as the kernel's unpacker is.
func decode(t *testing.T, b []byte) []entry {
	t.Helper()
	var out []entry
	off := 0
	align := func() {
		for off%4 != 0 {
			if b[off] != 0 {
				t.Fatalf("non-zero padding at %d", off)
			}
			off++
		}
	}
	for {
		if len(b)-off < 110 {
			t.Fatalf("truncated header at %d", off)
		}
		h := b[off : off+110]
		if string(h[:6]) != "070701" {
			t.Fatalf("bad magic %q at %d", h[:6], off)
		}
		field := func(i int) uint32 {
			v, err := strconv.ParseUint(string(h[6+8*i:14+8*i]), 16, 32)
			if err != nil {
				t.Fatalf("field %d at %d: %v", i, off, err)
			}
			return uint32(v)
		}
		e := entry{Ino: field(0), Mode: field(1), Nlink: field(4), RMajor: field(9), RMinor: field(10)}
		size, namesize := int(field(6)), int(field(11))
		off += 110
		e.Name = string(b[off : off+namesize-1])
		if b[off+namesize-1] != 0 {
			t.Fatalf("name %q not NUL-terminated", e.Name)
		}
		off += namesize
		align()
		e.Data = string(b[off : off+size])
		off += size
		align()
		if e.Name == "TRAILER!!!" {
			if off != len(b) {
				t.Fatalf("%d bytes after the trailer", len(b)-off)
			}
			return out
		}
		out = append(out, e)
	}
}

func TestWriter(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	steps := []func() error{
		func() error { return w.Dir("dev", 0o755) },
		func() error { return w.CharDev("dev/console", 0o600, 5, 1) },
		func() error { return w.File("init", 0o755, 3, bytes.NewReader([]byte("abc"))) },
		func() error { return w.Symlink("sbin", "bin") },
		func() error { return w.BlockDev("dev/vda", 0o660, 254, 0) },
		w.Close,
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	want := []entry{
		{Ino: 1, Name: "dev", Mode: 0o040755, Nlink: 2},
		{Ino: 2, Name: "dev/console", Mode: 0o020600, Nlink: 1, RMajor: 5, RMinor: 1},
		{Ino: 3, Name: "init", Mode: 0o100755, Nlink: 1, Data: "abc"},
		{Ino: 4, Name: "sbin", Mode: 0o120777, Nlink: 1, Data: "bin"},
		{Ino: 5, Name: "dev/vda", Mode: 0o060660, Nlink: 1, RMajor: 254},
	}
	if diff := cmp.Diff(want, decode(t, buf.Bytes())); diff != "" {
		t.Errorf("archive (-want +got):\n%s", diff)
	}
}

func TestWriterShortFile(t *testing.T) {
	w := NewWriter(io.Discard)
	if err := w.File("f", 0o644, 10, bytes.NewReader([]byte("short"))); err == nil {
		t.Fatal("File with fewer bytes than its size: nil error, want an error")
	}
	if err := w.Close(); err == nil {
		t.Error("Close after a failed File: nil error, want the earlier error")
	}
}

func TestAddTree(t *testing.T) {
	root := t.TempDir()
	mustWrite := func(name string, data string, perm fs.FileMode) {
		t.Helper()
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), perm); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, perm); err != nil {
			t.Fatal(err)
		}
	}
	mustWrite("tests/a/pkg.test", "ELF", 0o755)
	mustWrite("modules/load.txt", "x.ko\n", 0o644)
	if err := os.Symlink("../modules", filepath.Join(root, "tests", "mods")); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w := NewWriter(&buf)
	if err := w.AddTree(root); err != nil {
		t.Fatalf("AddTree: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	var got []string
	for _, e := range decode(t, buf.Bytes()) {
		got = append(got, strconv.FormatUint(uint64(e.Mode), 8)+" "+e.Name+" "+e.Data)
	}
	want := []string{
		"40755 modules ",
		"100644 modules/load.txt x.ko\n",
		"40755 tests ",
		"40755 tests/a ",
		"100755 tests/a/pkg.test ELF",
		"120777 tests/mods ../modules",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("archive (-want +got):\n%s", diff)
	}
}
