// Command tokenadmin runs the token administration service and the admin
// commands that work on its database, also while the server runs.
//
// Usage: tokenadmin <command> [flags]; tokenadmin help lists the commands.
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

func main() {
	// The live heap is small (tens of MB) and serving allocates much
	// short-lived garbage: collecting at 5x the live heap instead of 2x
	// saves CPU, and a soft limit keeps the heap (and so RSS) bounded.
	// GOGC and GOMEMLIMIT in the environment take precedence.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(64 << 20)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
