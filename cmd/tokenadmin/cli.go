package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"tokenadmin"
	"tokenadmin/store"
)

// env is what a command runs with: its streams and the process context.
type env struct {
	ctx    context.Context
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// command is one CLI command. run gets the arguments after the command's
// name; a *usageError prints the command's usage.
type command struct {
	name    string // "token list"
	summary string
	usage   string // argument synopsis
	flags   func(fs *flag.FlagSet) func(e *env, args []string) error
}

var commands []*command

func register(c *command) { commands = append(commands, c) }

// usageError is a mistake in how a command was called: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// Main runs the command line and returns the exit status: 0 on success,
// 1 when the command failed, 2 for a usage mistake.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{ctx: withCLIRequest(ctx), stdin: stdin, stdout: stdout, stderr: stderr}
	if len(args) == 0 {
		printHelp(stderr)
		return 2
	}
	if args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		printHelp(stdout)
		return 0
	}
	cmd, rest := findCommand(args)
	if cmd == nil && isGroup(args[0]) {
		group := args[0]
		switch {
		case len(args) > 1 && (args[1] == "-h" || args[1] == "--help"):
			printGroupHelp(stdout, group)
			return 0
		case len(args) == 1:
			fmt.Fprintf(stderr, "tokenadmin %s: missing subcommand\n\n", group)
		default:
			fmt.Fprintf(stderr, "tokenadmin %s: unknown subcommand %q\n\n", group, args[1])
		}
		printGroupHelp(stderr, group)
		return 2
	}
	if cmd == nil {
		words := args[:1]
		if len(args) > 1 && !strings.HasPrefix(args[1], "-") {
			words = args[:2]
		}
		fmt.Fprintf(stderr, "tokenadmin: unknown command %q\n\n", strings.Join(words, " "))
		printHelp(stderr)
		return 2
	}
	fs := flag.NewFlagSet("tokenadmin "+cmd.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	run := cmd.flags(fs)
	positional, err := parseInterspersed(fs, rest)
	if errors.Is(err, flag.ErrHelp) {
		printUsage(stdout, cmd, fs)
		return 0
	}
	if err == nil {
		err = run(e, positional)
	}
	var ue *usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue) || isFlagError(err):
		fmt.Fprintf(stderr, "tokenadmin %s: %v\n\n", cmd.name, err)
		printUsage(stderr, cmd, fs)
		return 2
	default:
		fmt.Fprintf(stderr, "tokenadmin %s: %s\n", cmd.name, describe(err))
		return 1
	}
}

// describe turns an error into one line for a person: domain errors by
// their public message, others as they are (the CLI user owns the files
// and may see paths and SQLite errors).
func describe(err error) string {
	var de *tokenadmin.Error
	if errors.As(err, &de) {
		return fmt.Sprintf("%s (%s)", de.Message, de.Code)
	}
	return err.Error()
}

func isFlagError(err error) bool {
	var fe *flagError
	return errors.As(err, &fe)
}

type flagError struct{ err error }

func (e *flagError) Error() string { return e.err.Error() }

// parseInterspersed parses flags that may come before, between or after
// positional arguments ("user add alice --role admin"). "--" ends flags:
// everything after it is positional, even if it starts with "-".
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for len(args) > 0 {
		arg := args[0]
		if arg == "--" {
			return append(positional, args[1:]...), nil
		}
		if len(arg) < 2 || arg[0] != '-' {
			positional = append(positional, arg)
			args = args[1:]
			continue
		}
		// Hand the flag set one flag (with its value, if separate).
		n := 1
		name := strings.TrimLeft(arg, "-")
		if !strings.Contains(name, "=") {
			if f := fs.Lookup(name); f != nil && len(args) > 1 {
				if b, ok := f.Value.(interface{ IsBoolFlag() bool }); !ok || !b.IsBoolFlag() {
					n = 2
				}
			}
		}
		if err := fs.Parse(args[:n]); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, &flagError{err}
		}
		args = args[n:]
	}
	return positional, nil
}

func findCommand(args []string) (*command, []string) {
	for _, n := range []int{2, 1} {
		if len(args) < n {
			continue
		}
		name := strings.Join(args[:n], " ")
		for _, c := range commands {
			if c.name == name {
				return c, args[n:]
			}
		}
	}
	return nil, nil
}

func printHelp(w io.Writer) {
	fmt.Fprint(w, `tokenadmin: see and revoke the OAuth 2.0 tokens that apps hold for users, over SOAP.

Usage: tokenadmin <command> [flags]   (tokenadmin <command> --help for its flags)

Commands:
`)
	sorted := append([]*command(nil), commands...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].name < sorted[j].name })
	for _, c := range sorted {
		fmt.Fprintf(w, "  %-14s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
Every command takes --db (default ./tokenadmin.db, or $TOKENADMIN_DB).
Admin commands work on the database file while the server runs.
`)
}

// isGroup reports whether word is a command group: the first word of
// commands such as "token list".
func isGroup(word string) bool {
	for _, c := range commands {
		if g, _, ok := strings.Cut(c.name, " "); ok && g == word {
			return true
		}
	}
	return false
}

// printGroupHelp lists the subcommands of group with their summaries.
func printGroupHelp(w io.Writer, group string) {
	fmt.Fprintf(w, "Usage: tokenadmin %s <subcommand> [flags]   (tokenadmin %[1]s <subcommand> --help for its flags)\n\nSubcommands:\n", group)
	var subs []*command
	for _, c := range commands {
		if strings.HasPrefix(c.name, group+" ") {
			subs = append(subs, c)
		}
	}
	sort.Slice(subs, func(i, j int) bool { return subs[i].name < subs[j].name })
	for _, c := range subs {
		fmt.Fprintf(w, "  %-8s %s\n", strings.TrimPrefix(c.name, group+" "), c.summary)
	}
}

func printUsage(w io.Writer, c *command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: tokenadmin %s %s\n\n%s.\n", c.name, c.usage, c.summary)
	has := false
	fs.VisitAll(func(*flag.Flag) { has = true })
	if has {
		fmt.Fprint(w, "\nFlags:\n")
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
}

// dbFlag adds --db to fs.
func dbFlag(fs *flag.FlagSet) *string {
	def := os.Getenv("TOKENADMIN_DB")
	if def == "" {
		def = "./tokenadmin.db"
	}
	return fs.String("db", def, "database `file`; its token-hashing key is FILE.key beside it")
}

// openStore opens an existing database for an admin command. Only serve
// creates one, so a mistyped --db is an error rather than a new, empty
// database.
func openStore(e *env, path string) (*store.DB, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("database %s: %w (tokenadmin serve creates it)", path, err)
	}
	return store.Open(e.ctx, path, store.Options{})
}

// writeJSON prints v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// cliCaller is the identity that admin commands act as: whoever can open
// the database file is an administrator. Revocations record it as
// revokedBy, with the operating-system user for the audit trail.
func cliCaller() tokenadmin.Caller {
	name := "cli"
	if u := os.Getenv("USER"); u != "" {
		name += ":" + u
	}
	return tokenadmin.Caller{Name: name, Role: tokenadmin.RoleAdmin}
}
