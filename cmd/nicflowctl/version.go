package main

import (
	"context"
	"fmt"
	"io"

	"github.com/nicflow/nicflow/cmd/internal/version"
)

func runVersion(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) > 0 {
		return fmt.Errorf("version takes no arguments")
	}
	_, err := fmt.Fprintln(stdout, version.String())
	return err
}
