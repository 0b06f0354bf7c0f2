// Command scimd is a SCIM 2.0 provisioning server; see internal/cli for its commands.
package main

import (
	"context"
	"os"

	"github.com/scimd/scimd/internal/cli"
)

func main() {
	os.Exit(cli.Main(context.Background(), os.Args[1:], cli.Env{
		Stdin:            os.Stdin,
		Stdout:           os.Stdout,
		Stderr:           os.Stderr,
		Getenv:           os.Getenv,
		IsTerminal:       func() bool { return cli.IsTerminal(os.Stdout) },
		StderrIsTerminal: func() bool { return cli.IsTerminal(os.Stderr) },
	}))
}
