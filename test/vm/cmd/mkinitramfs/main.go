// Command mkinitramfs packs a directory into the initramfs the VM kernel
// harness boots: a newc cpio archive, gzip-compressed unless -gzip=false,
// holding the directory's tree plus /dev/console, which the kernel opens as
// init's stdin, stdout and stderr before /dev is mounted.
//
//	mkinitramfs -o initramfs.cpio.gz ROOTDIR
//
// It must not import, directly or indirectly: github.com/nicflow/nicflow/...
// but github.com/nicflow/nicflow/test/vm/internal/cpio.
package main

import (
	"bufio"
	"compress/gzip"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/nicflow/nicflow/test/vm/internal/cpio"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "mkinitramfs:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fl := flag.NewFlagSet("mkinitramfs", flag.ContinueOnError)
	out := fl.String("o", "initramfs.cpio.gz", "output file")
	compress := fl.Bool("gzip", true, "gzip the archive (fastest level)")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if fl.NArg() != 1 {
		return fmt.Errorf("usage: mkinitramfs [-o FILE] [-gzip=false] ROOTDIR")
	}
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	var w io.Writer = bw
	var zw *gzip.Writer
	if *compress {
		// The VM decompresses under TCG emulation: a bigger archive that
		// inflates fast beats a smaller one.
		zw, err = gzip.NewWriterLevel(bw, gzip.BestSpeed)
		if err != nil {
			return err
		}
		w = zw
	}
	cw := cpio.NewWriter(w)
	if err := cw.Dir("dev", 0o755); err != nil {
		return err
	}
	if err := cw.CharDev("dev/console", 0o600, 5, 1); err != nil {
		return err
	}
	if err := cw.AddTree(fl.Arg(0)); err != nil {
		return fmt.Errorf("pack %s: %w", fl.Arg(0), err)
	}
	if err := cw.Close(); err != nil {
		return err
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return f.Close()
}
