// Command tokenadmin runs the token administration service and the admin
// commands that work on its database, also while the server runs.
//
// Usage: tokenadmin <command> [flags]; tokenadmin help lists the commands.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
