// Package cpio writes the "newc" cpio archives the Linux kernel unpacks as an
// initramfs. It writes only what an initramfs needs (directories, regular
// files, symlinks and device nodes, no hard links) and zeroes owners and
// times so that the same inputs give the same archive.
//
// It imports no other nicflow package.
package cpio

import (
	"fmt"
	"io"
	"io/fs"
	"strings"
)

// Mode bits of the newc format (the same as Linux's st_mode).
const (
	typeDir  = 0o040000
	typeReg  = 0o100000
	typeLink = 0o120000
	typeChar = 0o020000
	typeBlk  = 0o060000
)

// Writer writes one archive. Call Close to write the trailer; the underlying
// writer is not closed. Not safe for concurrent use.
type Writer struct {
	w   io.Writer
	off int64
	ino uint32
	err error
}

// NewWriter returns a Writer that writes to w.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: w}
}

// Dir adds a directory with permissions perm.
func (w *Writer) Dir(name string, perm fs.FileMode) error {
	return w.entry(name, typeDir|uint32(perm.Perm()), 0, 0, nil, 0)
}

// File adds a regular file with permissions perm and size bytes read from r.
func (w *Writer) File(name string, perm fs.FileMode, size int64, r io.Reader) error {
	return w.entry(name, typeReg|uint32(perm.Perm()), 0, 0, r, size)
}

// Symlink adds a symbolic link name pointing at target.
func (w *Writer) Symlink(name, target string) error {
	return w.entry(name, typeLink|0o777, 0, 0, strings.NewReader(target), int64(len(target)))
}

// CharDev adds a character device node (e.g. dev/console, 5, 1).
func (w *Writer) CharDev(name string, perm fs.FileMode, major, minor uint32) error {
	return w.entry(name, typeChar|uint32(perm.Perm()), major, minor, nil, 0)
}

// BlockDev adds a block device node.
func (w *Writer) BlockDev(name string, perm fs.FileMode, major, minor uint32) error {
	return w.entry(name, typeBlk|uint32(perm.Perm()), major, minor, nil, 0)
}

// Close writes the trailer that ends the archive.
func (w *Writer) Close() error {
	return w.entry("TRAILER!!!", 0, 0, 0, nil, 0)
}

func (w *Writer) entry(name string, mode, rmajor, rminor uint32, data io.Reader, size int64) error {
	if w.err != nil {
		return w.err
	}
	if size > 0xffffffff {
		return fmt.Errorf("cpio: %s: %d bytes is too large for newc", name, size)
	}
	w.ino++
	nlink := uint32(1)
	if mode&0o170000 == typeDir {
		nlink = 2
	}
	hdr := fmt.Sprintf("070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x",
		w.ino, mode, 0, 0, nlink, 0, size, 0, 0, rmajor, rminor, len(name)+1, 0)
	w.write([]byte(hdr))
	w.write([]byte(name))
	w.write([]byte{0})
	w.pad()
	if data != nil && w.err == nil {
		n, err := io.CopyN(w.w, data, size)
		w.off += n
		if err != nil {
			w.err = fmt.Errorf("cpio: write %s: %w", name, err)
		}
	}
	w.pad()
	return w.err
}

func (w *Writer) write(b []byte) {
	if w.err != nil {
		return
	}
	n, err := w.w.Write(b)
	w.off += int64(n)
	if err != nil {
		w.err = fmt.Errorf("cpio: %w", err)
	}
}

// pad aligns the output to 4 bytes, as newc requires after names and data.
func (w *Writer) pad() {
	if n := w.off % 4; n != 0 {
		w.write(make([]byte, 4-n))
	}
}
