package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"tokenadmin"
	"tokenadmin/auth"
)

func init() {
	register(&command{
		name: "user add", summary: "add a user who may call the admin API (password on stdin)",
		usage: "NAME --role admin|user [--db FILE]",
		flags: func(fs *flag.FlagSet) func(*env, []string) error {
			db := dbFlag(fs)
			role := fs.String("role", "user", "`role`: admin (everything) or user (own tokens only)")
			return func(e *env, args []string) error {
				if len(args) != 1 {
					return usagef("want exactly one user name")
				}
				if !tokenadmin.Role(*role).Valid() {
					return usagef("--role must be admin or user")
				}
				hash, err := readPasswordHash(e)
				if err != nil {
					return err
				}
				s, err := openStore(e, *db)
				if err != nil {
					return err
				}
				defer s.Close()
				ctx := e.audit(s, tokenadmin.AuditUserCreate, args[0], "role "+*role)
				if err := s.CreateUser(ctx, tokenadmin.User{Name: args[0], Role: tokenadmin.Role(*role), PasswordHash: hash}); err != nil {
					tokenadmin.EndAudit(ctx, s, 0, err)
					return err
				}
				fmt.Fprintf(e.stdout, "added user %s (role %s)\n", args[0], *role)
				return nil
			}
		},
	})
	register(&command{
		name: "user passwd", summary: "set a user's password (new password on stdin)",
		usage: "NAME [--db FILE]",
		flags: func(fs *flag.FlagSet) func(*env, []string) error {
			db := dbFlag(fs)
			return func(e *env, args []string) error {
				if len(args) != 1 {
					return usagef("want exactly one user name")
				}
				hash, err := readPasswordHash(e)
				if err != nil {
					return err
				}
				s, err := openStore(e, *db)
				if err != nil {
					return err
				}
				defer s.Close()
				ctx := e.audit(s, tokenadmin.AuditUserPassword, args[0], "")
				if err := s.SetPassword(ctx, args[0], hash); err != nil {
					tokenadmin.EndAudit(ctx, s, 0, err)
					return err
				}
				fmt.Fprintf(e.stdout, "password of %s changed\n", args[0])
				return nil
			}
		},
	})
}

// readPasswordHash reads one line from stdin as a password and hashes it.
func readPasswordHash(e *env) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(e.stdin, auth.MaxPasswordLen+2)).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", fmt.Errorf("read password from stdin: %w", err)
	}
	password := strings.TrimRight(line, "\r\n")
	if password == "" {
		return "", usagef("give the password on stdin, e.g. printf '%%s\\n' \"$PASSWORD\" | tokenadmin user add ...")
	}
	return auth.HashPassword(password)
}

// positive checks a duration flag.
func positive(name string, d time.Duration) error {
	if d <= 0 {
		return usagef("%s must be positive", name)
	}
	return nil
}
