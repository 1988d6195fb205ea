package main

import (
	"context"
	"fmt"

	"github.com/nicflow/nicflow/cmd/internal/version"
)

func runVersion(_ context.Context, e *env, args []string) error {
	args, err := e.parse(e.flags("version"), args)
	if err != nil {
		return err
	}
	if len(args) > 0 {
		return fmt.Errorf("version takes no arguments")
	}
	if e.json() {
		return e.printJSON(map[string]string{"version": version.String()})
	}
	_, err = fmt.Fprintln(e.stdout, version.String())
	return err
}
