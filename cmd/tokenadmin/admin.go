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
		usage: "NAME --role admin|auditor|user [--wss-digest] [--db FILE]",
		flags: func(fs *flag.FlagSet) func(*env, []string) error {
			db := dbFlag(fs)
			role := fs.String("role", "user", "`role`: admin (everything), auditor (reads everything, changes nothing) or user (own tokens and own apps)")
			digest := wssDigestFlag(fs)
			return func(e *env, args []string) error {
				if len(args) != 1 {
					return usagef("want exactly one user name")
				}
				if !tokenadmin.Role(*role).Valid() {
					return usagef("--role must be admin, auditor or user")
				}
				password, hash, err := readPasswordAndHash(e)
				if err != nil {
					return err
				}
				s, err := openStore(e, *db)
				if err != nil {
					return err
				}
				defer s.Close()
				ctx := e.audit(s, tokenadmin.AuditUserCreate, args[0], "role "+*role)
				u := tokenadmin.User{Name: args[0], Role: tokenadmin.Role(*role), PasswordHash: hash}
				if *digest {
					err = s.CreateUserWithDigest(ctx, u, []byte(password))
				} else {
					err = s.CreateUser(ctx, u)
				}
				if err != nil {
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
		usage: "NAME [--wss-digest] [--db FILE]",
		flags: func(fs *flag.FlagSet) func(*env, []string) error {
			db := dbFlag(fs)
			digest := wssDigestFlag(fs)
			return func(e *env, args []string) error {
				if len(args) != 1 {
					return usagef("want exactly one user name")
				}
				password, hash, err := readPasswordAndHash(e)
				if err != nil {
					return err
				}
				s, err := openStore(e, *db)
				if err != nil {
					return err
				}
				defer s.Close()
				ctx := e.audit(s, tokenadmin.AuditUserPassword, args[0], "")
				if *digest {
					err = s.SetPasswordAndDigest(ctx, args[0], hash, []byte(password))
				} else {
					err = s.SetPassword(ctx, args[0], hash)
				}
				if err != nil {
					tokenadmin.EndAudit(ctx, s, 0, err)
					return err
				}
				fmt.Fprintf(e.stdout, "password of %s changed\n", args[0])
				return nil
			}
		},
	})
}

// readPasswordAndHash reads one line from stdin as a password and returns
// it with its hash.
func readPasswordAndHash(e *env) (password, hash string, err error) {
	line, err := bufio.NewReader(io.LimitReader(e.stdin, auth.MaxPasswordLen+2)).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", "", fmt.Errorf("read password from stdin: %w", err)
	}
	password = strings.TrimRight(line, "\r\n")
	if password == "" {
		return "", "", usagef("give the password on stdin, e.g. printf '%%s\\n' \"$PASSWORD\" | tokenadmin user add ...")
	}
	hash, err = auth.HashPassword(password)
	return password, hash, err
}

// wssDigestFlag is --wss-digest of user add and user passwd.
func wssDigestFlag(fs *flag.FlagSet) *bool {
	return fs.Bool("wss-digest", false, "also keep the password, encrypted under the database key, for WS-Security PasswordDigest logins "+
		"(without it, user passwd removes any such copy)")
}

// positive checks a duration flag.
func positive(name string, d time.Duration) error {
	if d <= 0 {
		return usagef("%s must be positive", name)
	}
	return nil
}
