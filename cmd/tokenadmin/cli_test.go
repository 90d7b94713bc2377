package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"tokenadmin"
	"tokenadmin/auth"
	"tokenadmin/soap"
	"tokenadmin/store"
	"tokenadmin/wsdl"
)

// The command line tests run Main as a shell would, on temporary
// databases. TOKENADMIN_DB is pointed into the test's temporary directory
// so that no command ever touches ./tokenadmin.db here.

// cliDatabase is a database with an app "portal", users alice and bob,
// and no tokens; TOKENADMIN_DB points at it and USER is "tester".
func cliDatabase(t *testing.T) (string, *store.DB) {
	t.Helper()
	path := newDatabase(t)
	t.Setenv("TOKENADMIN_DB", path)
	t.Setenv("USER", "tester")
	db := openTestStore(t, path, store.Options{})
	createApp(t, db, "portal", "Portal")
	createUser(t, db, "alice", tokenadmin.RoleUser, aliceHash())
	createUser(t, db, "bob", tokenadmin.RoleUser, bobHash())
	return path, db
}

func TestCommandsAreRegistered(t *testing.T) {
	var got []string
	for _, c := range commands {
		got = append(got, c.name)
	}
	slices.Sort(got)
	want := []string{"app create", "app delete", "app disable", "app enable", "app list", "app rotate-secret", "app show", "app update",
		"audit list", "audit verify", "bench", "config print", "import apps", "import tokens", "import users",
		"import wso2", "purge", "serve", "token issue", "token list", "token revoke", "token show", "user add", "user passwd"}
	if !slices.Equal(got, want) {
		t.Errorf("commands = %q, want %q", got, want)
	}
}

func TestHelp(t *testing.T) {
	t.Setenv("TOKENADMIN_DB", filepath.Join(t.TempDir(), "none.db"))

	for _, c := range commands {
		for _, flag := range []string{"--help", "-h"} {
			t.Run(c.name+" "+flag+" prints usage", func(t *testing.T) {
				r := runMain(t, "", append(strings.Fields(c.name), flag)...)
				if r.code != 0 || r.stderr != "" {
					t.Fatalf("exit %d, stderr %q; want 0 and nothing", r.code, r.stderr)
				}
				for _, want := range []string{"Usage: tokenadmin " + c.name + " " + c.usage, c.summary, "Flags:", "-db file"} {
					if !strings.Contains(r.stdout, want) {
						t.Errorf("usage lacks %q:\n%s", want, r.stdout)
					}
				}
			})
		}
	}

	t.Run("help after a positional argument", func(t *testing.T) {
		r := runMain(t, "", "user", "add", "carol", "--help")
		if r.code != 0 || !strings.HasPrefix(r.stdout, "Usage: tokenadmin user add ") {
			t.Errorf("exit %d, stdout %q", r.code, r.stdout)
		}
	})

	for _, arg := range []string{"help", "-h", "--help"} {
		t.Run(arg+" lists every command", func(t *testing.T) {
			r := runMain(t, "", arg)
			if r.code != 0 || r.stderr != "" {
				t.Fatalf("exit %d, stderr %q; want 0 and nothing", r.code, r.stderr)
			}
			for _, c := range commands {
				if !strings.Contains(r.stdout, "  "+c.name+" ") || !strings.Contains(r.stdout, c.summary) {
					t.Errorf("help lacks %q:\n%s", c.name, r.stdout)
				}
			}
		})
	}

	// A command group is the first word of multi-word commands: token,
	// user, app, audit, import, config.
	groups := map[string][]*command{}
	for _, c := range commands {
		if group, _, ok := strings.Cut(c.name, " "); ok {
			groups[group] = append(groups[group], c)
		}
	}
	sortedGroups := slices.Sorted(maps.Keys(groups))
	if !slices.Equal(sortedGroups, []string{"app", "audit", "config", "import", "token", "user"}) {
		t.Errorf("command groups = %q", sortedGroups)
	}
	// listsGroup checks that out is the usage of group: its subcommands
	// with their summaries, and no other command.
	listsGroup := func(t *testing.T, out, group string) {
		t.Helper()
		if want := "Usage: tokenadmin " + group + " <subcommand>"; !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
		for _, c := range commands {
			sub, inGroup := strings.CutPrefix(c.name, group+" ")
			switch {
			case inGroup && !regexp.MustCompile(`(?m)^  `+regexp.QuoteMeta(sub)+` +`+regexp.QuoteMeta(c.summary)+`$`).MatchString(out):
				t.Errorf("output lacks subcommand %q with its summary:\n%s", sub, out)
			case !inGroup && strings.Contains(out, c.summary):
				t.Errorf("output lists %q, which is not in group %s:\n%s", c.name, group, out)
			}
		}
	}
	for _, group := range sortedGroups {
		for _, flag := range []string{"--help", "-h"} {
			t.Run(group+" "+flag+" lists its subcommands", func(t *testing.T) {
				r := runMain(t, "", group, flag)
				if r.code != 0 || r.stderr != "" {
					t.Fatalf("exit %d, stderr %q; want 0 and nothing", r.code, r.stderr)
				}
				listsGroup(t, r.stdout, group)
			})
		}
		t.Run(group+" alone is a usage error listing its subcommands", func(t *testing.T) {
			r := runMain(t, "", group)
			if r.code != 2 || r.stdout != "" {
				t.Fatalf("exit %d, stdout %q; want 2 and nothing", r.code, r.stdout)
			}
			if want := "tokenadmin " + group + ": missing subcommand\n"; !strings.HasPrefix(r.stderr, want) {
				t.Errorf("stderr does not start with %q:\n%s", want, r.stderr)
			}
			listsGroup(t, r.stderr, group)
		})
		t.Run(group+" with an unknown subcommand is a usage error listing its subcommands", func(t *testing.T) {
			r := runMain(t, "", group, "frob", "--help")
			if r.code != 2 || r.stdout != "" {
				t.Fatalf("exit %d, stdout %q; want 2 and nothing", r.code, r.stdout)
			}
			if want := "tokenadmin " + group + ": unknown subcommand \"frob\"\n"; !strings.HasPrefix(r.stderr, want) {
				t.Errorf("stderr does not start with %q:\n%s", want, r.stderr)
			}
			listsGroup(t, r.stderr, group)
		})
	}

	t.Run("no arguments is a usage error", func(t *testing.T) {
		r := runMain(t, "")
		if r.code != 2 || !strings.Contains(r.stdout+r.stderr, "Commands:") {
			t.Errorf("exit %d, output %q; want 2 and the command list", r.code, r.stdout+r.stderr)
		}
	})
}

func TestUsageErrors(t *testing.T) {
	_, db := cliDatabase(t)

	tests := []struct {
		name  string
		args  []string
		stdin string
		want  string // on stderr
	}{
		{name: "unknown command", args: []string{"frobnicate"}, want: `tokenadmin: unknown command "frobnicate"`},
		{name: "unknown command with a subcommand", args: []string{"frobnicate", "list"}, want: `tokenadmin: unknown command "frobnicate list"`},
		{name: "unknown subcommand", args: []string{"token", "frobnicate"}, want: `tokenadmin token: unknown subcommand "frobnicate"`},
		{name: "flag for a command group", args: []string{"token", "--db", "x.db", "list"}, want: `tokenadmin token: unknown subcommand "--db"`},
		{name: "command group alone", args: []string{"token"}, want: `tokenadmin token: missing subcommand`},
		{name: "undefined flag", args: []string{"token", "list", "--bogus"}, want: "flag provided but not defined: -bogus"},
		{name: "flag without its value", args: []string{"token", "show", "--db"}, want: "flag needs an argument: -db"},
		{name: "bad duration", args: []string{"token", "issue", "--client", "portal", "--user", "alice", "--ttl", "soon"},
			want: `invalid value "soon" for flag -ttl`},
		{name: "bad integer", args: []string{"token", "list", "--page-size", "many"}, want: `invalid value "many" for flag -page-size`},
		{name: "bad boolean", args: []string{"token", "list", "--json=maybe"}, want: `invalid boolean value "maybe" for -json`},

		{name: "user add without a name", args: []string{"user", "add", "--role", "admin"}, stdin: "pw\n", want: "want exactly one user name"},
		{name: "user add with two names", args: []string{"user", "add", "carol", "dave"}, stdin: "pw\n", want: "want exactly one user name"},
		{name: "user add with an unknown role", args: []string{"user", "add", "carol", "--role", "root"}, stdin: "pw\n",
			want: "--role must be admin, auditor or user"},
		{name: "user add with empty stdin", args: []string{"user", "add", "carol", "--role", "admin"}, want: "give the password on stdin"},
		{name: "user add with an empty line", args: []string{"user", "add", "carol"}, stdin: "\n", want: "give the password on stdin"},
		{name: "user passwd with empty stdin", args: []string{"user", "passwd", "alice"}, want: "give the password on stdin"},
		{name: "user passwd without a name", args: []string{"user", "passwd"}, stdin: "pw\n", want: "want exactly one user name"},

		{name: "app create without a name", args: []string{"app", "create"}, want: "--name is required"},
		{name: "app create with an argument", args: []string{"app", "create", "extra", "--name", "X"}, want: `unexpected argument "extra"`},

		{name: "token issue without client", args: []string{"token", "issue", "--user", "alice"}, want: "--client and --user are required"},
		{name: "token issue without user", args: []string{"token", "issue", "--client", "portal"}, want: "--client and --user are required"},
		{name: "token issue with negative ttl", args: []string{"token", "issue", "--client", "portal", "--user", "alice", "--ttl", "-1h"},
			want: "--ttl must be positive"},
		{name: "token issue with zero refresh ttl",
			args: []string{"token", "issue", "--client", "portal", "--user", "alice", "--refresh", "--refresh-ttl", "0s"},
			want: "--refresh-ttl must be positive"},
		{name: "token issue with an argument", args: []string{"token", "issue", "x", "--client", "portal", "--user", "alice"},
			want: `unexpected argument "x"`},

		{name: "token list with an argument", args: []string{"token", "list", "extra"}, want: `unexpected argument "extra"`},

		{name: "token revoke without a selector", args: []string{"token", "revoke", "--reason", "why"}, want: "give one of --id, --token, or --user/--client"},
		{name: "token revoke with id and token", args: []string{"token", "revoke", "--id", "a", "--token", "b"},
			want: "give one of --id, --token, or --user/--client"},
		{name: "token revoke with id and user", args: []string{"token", "revoke", "--id", "a", "--user", "alice"},
			want: "give one of --id, --token, or --user/--client"},
		{name: "token revoke with token and client", args: []string{"token", "revoke", "--token", "b", "--client", "portal"},
			want: "give one of --id, --token, or --user/--client"},
		{name: "token revoke with empty stdin", args: []string{"token", "revoke", "--token", "-"}, want: "no token on stdin"},
		{name: "token revoke with a blank line", args: []string{"token", "revoke", "--token", "-"}, stdin: " \n", want: "no token on stdin"},
		{name: "token revoke with an argument", args: []string{"token", "revoke", "x", "--user", "alice"}, want: `unexpected argument "x"`},

		{name: "token show without an id", args: []string{"token", "show"}, want: "want exactly one token id"},
		{name: "token show with two ids", args: []string{"token", "show", "a", "b"}, want: "want exactly one token id"},

		{name: "serve with an argument", args: []string{"serve", "extra", "--addr", "127.0.0.1:0"}, want: `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runMain(t, tt.stdin, tt.args...)
			if r.code != 2 {
				t.Errorf("exit %d, want 2; stderr:\n%s", r.code, r.stderr)
			}
			if r.stdout != "" {
				t.Errorf("stdout %q, want nothing", r.stdout)
			}
			if !strings.Contains(r.stderr, tt.want) {
				t.Errorf("stderr lacks %q:\n%s", tt.want, r.stderr)
			}
			if !strings.Contains(r.stderr, "Usage: tokenadmin") {
				t.Errorf("stderr lacks the usage:\n%s", r.stderr)
			}
		})
	}

	t.Run("nothing changed", func(t *testing.T) {
		if n, err := db.CountUsers(t.Context()); err != nil || n != 2 {
			t.Errorf("CountUsers = %d, %v; want alice and bob only", n, err)
		}
		if _, err := db.GetApp(t.Context(), "X"); tokenadmin.ErrorCode(err) != tokenadmin.CodeNotFound {
			t.Errorf("app X: %v, want not found", err)
		}
		if page, err := db.ListActiveTokens(t.Context(), tokenadmin.TokenFilter{PageSize: 10}); err != nil || len(page.Tokens) != 0 {
			t.Errorf("tokens after usage errors: %v, %v", page, err)
		}
	})
}

// Bad flag values are usage mistakes (exit 2, with the usage), whether
// the flag package or the domain notices them.
//
// BUG: token list passes --type and --page-size to the Service unchecked,
// so these exit 1 with a domain error and no usage; --page-size 0 is even
// taken as the default of 100, though the flag says 1-1000.
func TestTokenListFlagValues(t *testing.T) {
	cliDatabase(t)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "unknown type", args: []string{"--type", "bogus"}, want: "--type"},
		{name: "page size above 1000", args: []string{"--page-size", "5000"}, want: "--page-size"},
		{name: "negative page size", args: []string{"--page-size", "-3"}, want: "--page-size"},
		{name: "page size 0", args: []string{"--page-size", "0"}, want: "--page-size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runMain(t, "", append([]string{"token", "list"}, tt.args...)...)
			if r.code != 2 || r.stdout != "" || !strings.Contains(r.stderr, tt.want) || !strings.Contains(r.stderr, "Usage: tokenadmin token list") {
				t.Errorf("exit %d, stdout %q, stderr %q; want 2, nothing, a message about %s and the usage", r.code, r.stdout, r.stderr, tt.want)
			}
		})
	}
}

// "--" ends the flags (parseInterspersed's comment): what follows is
// positional even if it looks like a flag.
//
// BUG: flag.FlagSet.Parse consumes a leading "--" itself, so
// parseInterspersed never sees it and goes on parsing flags after the
// next positional argument: "user add -- carol --role admin" creates the
// admin carol instead of refusing three user names.
func TestDoubleDashEndsFlags(t *testing.T) {
	_, db := cliDatabase(t)
	r := runMain(t, "carol-password\n", "user", "add", "--", "carol", "--role", "admin")
	if r.code != 2 || !strings.Contains(r.stderr, "want exactly one user name") {
		t.Errorf("user add -- carol --role admin: exit %d, stdout %q, stderr %q; want 2, want exactly one user name", r.code, r.stdout, r.stderr)
	}
	if _, err := db.GetUser(t.Context(), "carol"); tokenadmin.ErrorCode(err) != tokenadmin.CodeNotFound {
		t.Errorf("user carol exists after a refused user add (%v)", err)
	}
}

func TestFailures(t *testing.T) {
	_, db := cliDatabase(t)
	iss := issue(t, db, tokenadmin.IssueRequest{ClientID: "portal", User: "alice", AccessTTL: time.Hour})

	tests := []struct {
		name  string
		args  []string
		stdin string
		want  string // the one line on stderr
	}{
		{name: "token show of an unknown id", args: []string{"token", "show", "no-such-id"},
			want: "tokenadmin token show: token not found (TokenNotFound)"},
		{name: "token revoke of an unknown id", args: []string{"token", "revoke", "--id", "no-such-id"},
			want: "tokenadmin token revoke: token not found (TokenNotFound)"},
		{name: "token revoke of an unknown value", args: []string{"token", "revoke", "--token", "-"}, stdin: "no-such-value\n",
			want: "tokenadmin token revoke: token not found (TokenNotFound)"},
		{name: "token issue for an unknown app", args: []string{"token", "issue", "--client", "nope", "--user", "alice"},
			want: `tokenadmin token issue: app not found (NotFound)`},
		{name: "user passwd of an unknown user", args: []string{"user", "passwd", "nobody"}, stdin: "pw\n",
			want: `tokenadmin user passwd: user "nobody" not found (NotFound)`},
		{name: "user add of an existing user", args: []string{"user", "add", "alice"}, stdin: "pw\n",
			want: `tokenadmin user add: user "alice" already exists (Conflict)`},
		{name: "app create of an existing client id", args: []string{"app", "create", "--name", "Again", "--client-id", "portal"},
			want: `tokenadmin app create: app "portal" already exists (Conflict)`},
		{name: "token list with a foreign page token", args: []string{"token", "list", "--page-token", "garbage"},
			want: "tokenadmin token list: pageToken is not valid for this query (InvalidPageToken)"},
		{name: "token revoke with a reason with control characters", args: []string{"token", "revoke", "--id", iss.Access.ID, "--reason", "a\x1bb"},
			want: "tokenadmin token revoke: reason contains control characters (InvalidRequest)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runMain(t, tt.stdin, tt.args...)
			if r.code != 1 || r.stdout != "" || r.stderr != tt.want+"\n" {
				t.Errorf("exit %d, stdout %q, stderr %q; want 1, nothing, %q", r.code, r.stdout, r.stderr, tt.want)
			}
		})
	}
	if tk, err := db.GetToken(t.Context(), iss.Access.ID); err != nil || !tk.RevokedAt.IsZero() {
		t.Errorf("token after refused revocations: %+v, %v; want active", tk, err)
	}
	if u, err := db.GetUser(t.Context(), "alice"); err != nil || u.PasswordHash != aliceHash() {
		t.Errorf("alice after a refused user add: %v, %v; want her password unchanged", u, err)
	}
}

func TestMissingDatabase(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name  string
		args  []string
		stdin string
	}{
		{name: "user add", args: []string{"user", "add", "carol", "--role", "admin"}, stdin: "carol-password\n"},
		{name: "user passwd", args: []string{"user", "passwd", "alice"}, stdin: "new-password\n"},
		{name: "app create", args: []string{"app", "create", "--name", "X"}},
		{name: "token issue", args: []string{"token", "issue", "--client", "portal", "--user", "alice"}},
		{name: "token list", args: []string{"token", "list"}},
		{name: "token revoke by id", args: []string{"token", "revoke", "--id", "x"}},
		{name: "token revoke by user", args: []string{"token", "revoke", "--user", "alice"}},
		{name: "token show", args: []string{"token", "show", "x"}},
	}
	for _, tt := range tests {
		for _, db := range []string{filepath.Join(dir, "typo.db"), filepath.Join(dir, "no", "such", "dir", "tokenadmin.db")} {
			t.Run(tt.name+" "+strings.TrimPrefix(db, dir), func(t *testing.T) {
				r := runMain(t, tt.stdin, append(tt.args, "--db", db)...)
				if r.code != 1 || r.stdout != "" {
					t.Errorf("exit %d, stdout %q; want 1 and nothing", r.code, r.stdout)
				}
				if want := "database " + db + ": "; !strings.Contains(r.stderr, want) || !strings.Contains(r.stderr, "(tokenadmin serve creates it)") ||
					strings.Count(r.stderr, "\n") != 1 {
					t.Errorf("stderr %q, want one line naming %s and serve", r.stderr, db)
				}
				for _, f := range []string{db, db + ".key", db + "-wal", db + "-shm", filepath.Dir(db)} {
					if _, err := os.Stat(f); !errors.Is(err, fs.ErrNotExist) && f != dir {
						t.Errorf("%s exists after the failed command (%v)", f, err)
					}
				}
			})
		}
	}

	t.Run("TOKENADMIN_DB is the default", func(t *testing.T) {
		missing := filepath.Join(dir, "from-env.db")
		t.Setenv("TOKENADMIN_DB", missing)
		r := runMain(t, "", "token", "list")
		if r.code != 1 || !strings.Contains(r.stderr, missing) {
			t.Errorf("exit %d, stderr %q; want 1 naming %s", r.code, r.stderr, missing)
		}
	})

	t.Run("not a database", func(t *testing.T) {
		junk := filepath.Join(dir, "junk.db")
		content := []byte("this is not an SQLite database, but it is long enough to have a header of one\n")
		if err := os.WriteFile(junk, content, 0o600); err != nil {
			t.Fatal(err)
		}
		r := runMain(t, "", "token", "list", "--db", junk)
		if r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, "tokenadmin token list: ") {
			t.Errorf("exit %d, stdout %q, stderr %q; want 1 and an error line", r.code, r.stdout, r.stderr)
		}
		if got, _ := os.ReadFile(junk); !bytes.Equal(got, content) {
			t.Error("the command changed a file that is not a database")
		}
		if _, err := os.Stat(junk + ".key"); err == nil {
			t.Error("the command created a key file beside a file that is not a database")
		}
	})

	t.Run("missing key file", func(t *testing.T) {
		path := newDatabase(t)
		if err := os.Remove(path + ".key"); err != nil {
			t.Fatal(err)
		}
		r := runMain(t, "", "token", "list", "--db", path)
		if r.code != 1 || !strings.Contains(r.stderr, "key file "+path+".key is missing") {
			t.Errorf("exit %d, stderr %q; want 1 and the missing key file", r.code, r.stderr)
		}
		if _, err := os.Stat(path + ".key"); err == nil {
			t.Error("an admin command made a new key file, which would orphan every stored token")
		}
	})
}

func TestUserAdd(t *testing.T) {
	path, db := cliDatabase(t)
	tests := []struct {
		name     string
		args     []string
		stdin    string
		user     string
		role     tokenadmin.Role
		password string
	}{
		{name: "admin with flags after the name, CRLF password", args: []string{"user", "add", "carol", "--role", "admin"},
			stdin: "carol's pass phrase\r\n", user: "carol", role: tokenadmin.RoleAdmin, password: "carol's pass phrase"},
		{name: "default role with flags before the name, no newline", args: []string{"user", "add", "--db", path, "dave"},
			stdin: "dave-password", user: "dave", role: tokenadmin.RoleUser, password: "dave-password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := mustRun(t, tt.stdin, tt.args...)
			if want := "added user " + tt.user + " (role " + string(tt.role) + ")\n"; out != want {
				t.Errorf("stdout %q, want %q", out, want)
			}
			u, err := db.GetUser(t.Context(), tt.user)
			if err != nil {
				t.Fatal(err)
			}
			if u.Role != tt.role {
				t.Errorf("role %q, want %q", u.Role, tt.role)
			}
			if ok, err := auth.VerifyPassword(u.PasswordHash, tt.password); !ok || err != nil {
				t.Errorf("the password read from stdin does not verify: %v, %v", ok, err)
			}
			if strings.Contains(u.PasswordHash, tt.password) {
				t.Error("the password is stored in clear")
			}
		})
	}
}

func TestAppCreate(t *testing.T) {
	_, db := cliDatabase(t)

	t.Run("json", func(t *testing.T) {
		out := mustRun(t, "", "app", "create", "--name", "My App", "--owner", "alice", "--json")
		var got map[string]any
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("stdout is not JSON: %v\n%s", err, out)
		}
		id, _ := got["client_id"].(string)
		secret, _ := got["client_secret"].(string)
		if id == "" || len(secret) < 43 || got["name"] != "My App" || got["owner"] != "alice" {
			t.Errorf("app create --json = %v", got)
		}
		a, err := db.GetApp(t.Context(), id)
		if err != nil || a.Name != "My App" || a.Owner != "alice" {
			t.Errorf("stored app %+v, %v", a, err)
		}
		if _, err := db.AuthenticateClient(t.Context(), id, secret); err != nil {
			t.Errorf("the printed secret does not authenticate: %v", err)
		}
	})

	t.Run("text with a chosen client id", func(t *testing.T) {
		if out := mustRun(t, "", "app", "create", "--name", "Fixed", "--client-id", "fixed-id"); !strings.HasPrefix(out, "client_id       fixed-id\nclient_secret   ") {
			t.Errorf("stdout %q, want the client id and secret first", out)
		}
		if a, err := db.GetApp(t.Context(), "fixed-id"); err != nil || a.Name != "Fixed" {
			t.Errorf("stored app %+v, %v", a, err)
		}
	})
}

func TestTokenIssue(t *testing.T) {
	_, db := cliDatabase(t)

	tests := []struct {
		name        string
		args        []string
		wantExpires float64
		wantScope   string
		refresh     bool
	}{
		{name: "access token", args: []string{"--scope", "openid  profile", "--ttl", "30m"}, wantExpires: 1800, wantScope: "openid profile"},
		{name: "with a refresh token", args: []string{"--refresh", "--refresh-ttl", "48h", "--grant-type", "authorization_code"},
			wantExpires: 3600, refresh: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := time.Now().Truncate(time.Millisecond)
			out := mustRun(t, "", append([]string{"token", "issue", "--client", "portal", "--user", "alice", "--json"}, tt.args...)...)
			var got map[string]any
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("stdout is not JSON: %v\n%s", err, out)
			}
			for _, k := range []string{"access_token", "token_id"} {
				if s, _ := got[k].(string); s == "" {
					t.Errorf("%s = %v, want a string", k, got[k])
				}
			}
			if got["expires_in"] != tt.wantExpires || got["token_type"] != "Bearer" {
				t.Errorf("expires_in %v, token_type %v; want %v, Bearer", got["expires_in"], got["token_type"], tt.wantExpires)
			}
			if scope, _ := got["scope"].(string); scope != tt.wantScope {
				t.Errorf("scope %q, want %q", scope, tt.wantScope)
			}
			_, hasRefresh := got["refresh_token"]
			_, hasRefreshID := got["refresh_token_id"]
			if hasRefresh != tt.refresh || hasRefreshID != tt.refresh {
				t.Errorf("refresh_token present %v, refresh_token_id present %v; want %v", hasRefresh, hasRefreshID, tt.refresh)
			}

			access, err := db.GetToken(t.Context(), got["token_id"].(string))
			if err != nil {
				t.Fatal(err)
			}
			if access.Type != tokenadmin.AccessToken || access.User != "alice" || access.ClientID != "portal" ||
				strings.Join(access.Scopes, " ") != tt.wantScope ||
				access.ExpiresAt.Sub(access.IssuedAt) != time.Duration(tt.wantExpires)*time.Second || access.IssuedAt.Before(before) {
				t.Errorf("stored access token %+v", access)
			}
			if !tt.refresh {
				return
			}
			refresh, err := db.GetToken(t.Context(), got["refresh_token_id"].(string))
			if err != nil {
				t.Fatal(err)
			}
			if refresh.Type != tokenadmin.RefreshToken || refresh.GrantType != "authorization_code" || refresh.ExpiresAt.Sub(refresh.IssuedAt) != 48*time.Hour {
				t.Errorf("stored refresh token %+v", refresh)
			}
			// One family: revoking the refresh token by its value
			// revokes both.
			res, err := db.RevokeToken(t.Context(), tokenadmin.RevokeRequest{Value: got["refresh_token"].(string), Actor: "test"})
			if err != nil || res.Count != 2 || res.TokenID != refresh.ID {
				t.Errorf("revoking the printed refresh token: %+v, %v; want 2 tokens", res, err)
			}
		})
	}

	t.Run("text", func(t *testing.T) {
		out := mustRun(t, "", "token", "issue", "--client", "portal", "--user", "bob", "--refresh")
		fields := map[string]string{}
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			k, v, _ := strings.Cut(line, " ")
			fields[k] = strings.TrimSpace(v)
		}
		if fields["access_token"] == "" || fields["token_id"] == "" || fields["expires_in"] != "3600" ||
			fields["refresh_token"] == "" || fields["refresh_token_id"] == "" {
			t.Errorf("token issue printed %q", out)
		}
		if _, err := db.GetToken(t.Context(), fields["refresh_token_id"]); err != nil {
			t.Errorf("refresh_token_id %q: %v", fields["refresh_token_id"], err)
		}
	})
}

// listPage is a page of token list --json.
type listPage struct {
	Tokens []struct {
		TokenID   string `json:"token_id"`
		TokenType string `json:"token_type"`
		ClientID  string `json:"client_id"`
		AppName   string `json:"app_name"`
		User      string `json:"user"`
		Scope     string `json:"scope"`
		GrantType string `json:"grant_type"`
		IssuedAt  string `json:"issued_at"`
		ExpiresAt string `json:"expires_at"`
	} `json:"tokens"`
	NextPageToken *string `json:"next_page_token"`
}

// decodePages decodes the JSON objects token list prints, one per page.
func decodePages(t *testing.T, out string) []listPage {
	t.Helper()
	var pages []listPage
	d := json.NewDecoder(strings.NewReader(out))
	for {
		var p listPage
		err := d.Decode(&p)
		if err == io.EOF {
			return pages
		}
		if err != nil {
			t.Fatalf("token list --json: %v\n%s", err, out)
		}
		pages = append(pages, p)
	}
}

func pageIDs(pages []listPage) []string {
	var out []string
	for _, p := range pages {
		for _, tk := range p.Tokens {
			out = append(out, tk.TokenID)
		}
	}
	return out
}

func TestTokenList(t *testing.T) {
	_, db := cliDatabase(t)
	createApp(t, db, "mobile", "Mobile App")
	a1 := issue(t, db, tokenadmin.IssueRequest{ClientID: "portal", User: "alice", Scopes: []string{"openid", "email"}, GrantType: "password", AccessTTL: time.Hour})
	a2 := issue(t, db, tokenadmin.IssueRequest{ClientID: "mobile", User: "alice", GrantType: "password", AccessTTL: time.Hour})
	a3 := issue(t, db, tokenadmin.IssueRequest{ClientID: "portal", User: "alice", GrantType: "password", AccessTTL: time.Hour})
	b := issue(t, db, tokenadmin.IssueRequest{ClientID: "portal", User: "bob", GrantType: "password", AccessTTL: time.Hour, RefreshTTL: time.Hour})
	all := ids(a1.Access, a2.Access, a3.Access, b.Access, b.Refresh)

	t.Run("json pages", func(t *testing.T) {
		tests := []struct {
			name      string
			args      []string
			want      []string
			wantPages int
			// lastHasNext: the last page printed says there is more.
			lastHasNext bool
		}{
			{name: "first page only", args: []string{"--page-size", "2"}, want: all[:2], wantPages: 1, lastHasNext: true},
			{name: "all pages", args: []string{"--page-size", "2", "--all"}, want: all, wantPages: 3},
			{name: "all pages of one user", args: []string{"--page-size", "2", "--all", "--user", "alice"}, want: all[:3], wantPages: 2},
			{name: "client and user", args: []string{"--client", "portal", "--user", "bob"}, want: all[3:], wantPages: 1},
			{name: "type", args: []string{"--type", "refresh"}, want: all[4:], wantPages: 1},
			{name: "unknown client", args: []string{"--client", "nope"}, wantPages: 1},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				pages := decodePages(t, mustRun(t, "", append([]string{"token", "list", "--json"}, tt.args...)...))
				if len(pages) != tt.wantPages {
					t.Fatalf("%d pages, want %d", len(pages), tt.wantPages)
				}
				if got := pageIDs(pages); !slices.Equal(got, tt.want) {
					t.Errorf("tokens %q, want %q", got, tt.want)
				}
				for i, p := range pages {
					wantNext := i < len(pages)-1 || tt.lastHasNext
					if (p.NextPageToken != nil) != wantNext {
						t.Errorf("page %d: next_page_token %v, want one: %v", i+1, p.NextPageToken, wantNext)
					}
				}
			})
		}
	})

	t.Run("json fields", func(t *testing.T) {
		pages := decodePages(t, mustRun(t, "", "token", "list", "--json", "--user", "alice", "--client", "portal", "--page-size", "1"))
		tk := pages[0].Tokens[0]
		if tk.TokenID != a1.Access.ID || tk.TokenType != "access" || tk.ClientID != "portal" || tk.AppName != "Portal" ||
			tk.User != "alice" || tk.Scope != "openid email" || tk.GrantType != "password" ||
			tk.IssuedAt != a1.Access.IssuedAt.Format(time.RFC3339) || tk.ExpiresAt != a1.Access.ExpiresAt.Format(time.RFC3339) {
			t.Errorf("token list --json = %+v, want %+v", tk, a1.Access)
		}
		if pages[0].NextPageToken == nil {
			t.Error("no next_page_token on a full page with more to come")
		}
	})

	t.Run("text continues with the printed page token", func(t *testing.T) {
		out := mustRun(t, "", "token", "list", "--page-size", "3")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if !strings.HasPrefix(lines[0], "TOKEN ID") {
			t.Errorf("no header: %q", lines[0])
		}
		m := regexp.MustCompile(`(?m)^more: --page-token (\S+)$`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no page token printed:\n%s", out)
		}
		for _, id := range all[:3] {
			if !strings.Contains(out, id) {
				t.Errorf("page 1 lacks %s:\n%s", id, out)
			}
		}
		out = mustRun(t, "", "token", "list", "--page-size", "3", "--page-token", m[1])
		for _, id := range all {
			if strings.Contains(out, id) != slices.Contains(all[3:], id) {
				t.Errorf("page 2 has %s: %v:\n%s", id, strings.Contains(out, id), out)
			}
		}
		if strings.Contains(out, "more:") {
			t.Errorf("the last page offers more:\n%s", out)
		}
	})
}

func TestTokenRevoke(t *testing.T) {
	path, db := cliDatabase(t)
	a := issue(t, db, tokenadmin.IssueRequest{ClientID: "portal", User: "alice", AccessTTL: time.Hour})
	b := issue(t, db, tokenadmin.IssueRequest{ClientID: "portal", User: "bob", AccessTTL: time.Hour, RefreshTTL: time.Hour})

	t.Run("by value from stdin", func(t *testing.T) {
		out := mustRun(t, a.AccessValue+"\n", "token", "revoke", "--token", "-", "--reason", "leaked in a log")
		if want := "revoked " + a.Access.ID + " (1 tokens including its grant family)\n"; out != want {
			t.Errorf("stdout %q, want %q", out, want)
		}
		if strings.Contains(out, a.AccessValue) {
			t.Error("the token value was echoed")
		}
	})

	t.Run("again changes nothing", func(t *testing.T) {
		out := mustRun(t, "", "token", "revoke", "--id", a.Access.ID, "--reason", "again")
		if want := a.Access.ID + " was already revoked or expired; nothing changed\n"; out != want {
			t.Errorf("stdout %q, want %q", out, want)
		}
		var got map[string]any
		out = mustRun(t, "", "token", "revoke", "--id", a.Access.ID, "--json")
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatal(err)
		}
		if got["revoked"] != false || got["revoked_count"] != float64(0) || got["token_id"] != a.Access.ID {
			t.Errorf("token revoke --json = %v, want revoked false, revoked_count 0", got)
		}
	})

	t.Run("show after the revocation", func(t *testing.T) {
		var got map[string]string
		out := mustRun(t, "", "token", "show", a.Access.ID, "--json")
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatal(err)
		}
		if got["state"] != "revoked" || got["revoke_reason"] != "leaked in a log" || got["revoked_by"] != "cli:tester" || got["token_id"] != a.Access.ID {
			t.Errorf("token show --json = %q", got)
		}
		at, err := time.Parse(time.RFC3339, got["revoked_at"])
		if err != nil || at.Before(a.Access.IssuedAt.Truncate(time.Second)) || at.After(time.Now()) {
			t.Errorf("revoked_at %q (%v), want a time since the issue", got["revoked_at"], err)
		}
		text := mustRun(t, "", "token", "show", a.Access.ID)
		for _, want := range []string{"state", "revoked", "revoke_reason", "leaked in a log", "revoked_by", "cli:tester"} {
			if !strings.Contains(text, want) {
				t.Errorf("token show lacks %q:\n%s", want, text)
			}
		}
	})

	t.Run("show of an active token", func(t *testing.T) {
		var got map[string]string
		if err := json.Unmarshal([]byte(mustRun(t, "", "token", "show", "--json", b.Access.ID)), &got); err != nil {
			t.Fatal(err)
		}
		if got["state"] != "active" || got["revoked_at"] != "" || got["revoked_by"] != "" {
			t.Errorf("token show --json = %q", got)
		}
	})

	t.Run("show of an expired token", func(t *testing.T) {
		past := openTestStore(t, path, store.Options{Now: func() time.Time { return time.Now().Add(-2 * time.Hour) }})
		old := issue(t, past, tokenadmin.IssueRequest{ClientID: "portal", User: "bob", AccessTTL: time.Hour})
		var got map[string]string
		if err := json.Unmarshal([]byte(mustRun(t, "", "token", "show", old.Access.ID, "--json")), &got); err != nil {
			t.Fatal(err)
		}
		if got["state"] != "expired" || got["revoked_at"] != "" {
			t.Errorf("token show --json = %q, want expired and not revoked", got)
		}
	})

	t.Run("refresh token by id revokes its family", func(t *testing.T) {
		var got map[string]any
		if err := json.Unmarshal([]byte(mustRun(t, "", "token", "revoke", "--id", b.Refresh.ID, "--json")), &got); err != nil {
			t.Fatal(err)
		}
		if got["revoked"] != true || got["revoked_count"] != float64(2) {
			t.Errorf("token revoke --json = %v, want revoked, 2", got)
		}
	})

	t.Run("bulk", func(t *testing.T) {
		issue(t, db, tokenadmin.IssueRequest{ClientID: "portal", User: "alice", AccessTTL: time.Hour})
		issue(t, db, tokenadmin.IssueRequest{ClientID: "portal", User: "alice", AccessTTL: time.Hour})
		if out := mustRun(t, "", "token", "revoke", "--user", "alice", "--client", "portal", "--json"); !strings.Contains(out, `"revoked_count": 2`) {
			t.Errorf("stdout %q, want revoked_count 2", out)
		}
		if out := mustRun(t, "", "token", "revoke", "--client", "portal"); out != "revoked 0 tokens\n" {
			t.Errorf("stdout %q, want revoked 0 tokens", out)
		}
	})
}

// A token id is 16 random bytes in base64url, so one in 64 begins with
// "-" and looks like a flag.
// TestTokenIDLikeAFlag: random bytes that would encode to an ID starting
// with '-' give one starting with '_', so an ID typed as an argument is
// never taken for a flag; "--" still ends flags.
func TestTokenIDLikeAFlag(t *testing.T) {
	path, _ := cliDatabase(t)
	// Random bytes that once made IDs starting with '-': a token ID now
	// starts with its time, never with '-'.
	dashes := openTestStore(t, path, store.Options{Rand: constReader(0xf8)})
	iss := issue(t, dashes, tokenadmin.IssueRequest{ClientID: "portal", User: "alice", AccessTTL: time.Hour})
	if strings.HasPrefix(iss.Access.ID, "-") || !strings.HasSuffix(iss.Access.ID, "sssssssssssssss") {
		t.Fatalf("token id %q, want a time prefix and then the random part", iss.Access.ID)
	}
	if out := mustRun(t, "", "token", "show", "--json", iss.Access.ID); !strings.Contains(out, `"token_id": "`+iss.Access.ID+`"`) {
		t.Errorf("token show %s printed %s", iss.Access.ID, out)
	}
	if out := mustRun(t, "", "token", "show", "--json", "--", iss.Access.ID); !strings.Contains(out, `"token_id": "`+iss.Access.ID+`"`) {
		t.Errorf("token show -- %s printed %s", iss.Access.ID, out)
	}
	if out := mustRun(t, "", "token", "revoke", "--id", iss.Access.ID); !strings.HasPrefix(out, "revoked "+iss.Access.ID) {
		t.Errorf("token revoke --id %s printed %q", iss.Access.ID, out)
	}
}

type constReader byte

func (c constReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(c)
	}
	return len(p), nil
}

// demoCurl is one curl call printed by serve --demo.
type demoCurl struct {
	user, password, url, body string
	header                    http.Header
}

var curlRE = regexp.MustCompile(`curl -s -u ([^:\s]+):(\S+) -H '([^']*)' \\\n\s+-H '([^']*)' (\S+) \\\n\s+--data '([^']*)'`)

func parseCurls(t *testing.T, out string) []demoCurl {
	t.Helper()
	var calls []demoCurl
	for _, m := range curlRE.FindAllStringSubmatch(out, -1) {
		c := demoCurl{user: m[1], password: m[2], url: m[5], body: m[6], header: http.Header{}}
		for _, h := range m[3:5] {
			k, v, ok := strings.Cut(h, ": ")
			if !ok {
				t.Fatalf("header %q", h)
			}
			c.header.Set(k, v)
		}
		calls = append(calls, c)
	}
	return calls
}

// run does what curl would.
func (c demoCurl) run(t *testing.T) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, c.url, strings.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = c.header.Clone()
	req.SetBasicAuth(c.user, c.password)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

func TestServeDemo(t *testing.T) {
	t.Setenv("TOKENADMIN_ADMIN_PASSWORD", adminPassword)
	ts := startTestServer(t, serveConfig{Demo: true})
	out := ts.stdout.String()
	calls := parseCurls(t, out)
	if len(calls) != 2 {
		t.Fatalf("serve --demo printed %d curl calls, want 2:\n%s", len(calls), out)
	}
	if !strings.Contains(out, "WSDL: "+ts.endpoint()+"?wsdl\n") {
		t.Errorf("serve --demo does not print the WSDL address %s?wsdl:\n%s", ts.endpoint(), out)
	}
	list, remove := calls[0], calls[1]
	if list.url != ts.endpoint() || list.user != demoUser || list.password != demoPassword {
		t.Errorf("printed call goes to %s as %s:%s, want %s as %s", list.url, list.user, list.password, ts.endpoint(), demoUser)
	}

	listed := func(t *testing.T) []string {
		t.Helper()
		status, body := list.run(t)
		if status != http.StatusOK {
			t.Fatalf("the printed listActiveTokens call: HTTP %d\n%s", status, body)
		}
		if n, m := strings.Count(body, "<tns:token>"), strings.Count(body, "<tns:user>alice</tns:user>"); n != m {
			t.Errorf("%d tokens, %d of them alice's:\n%s", n, m, body)
		}
		return regexp.MustCompile(`<tns:clientId>([^<]*)</tns:clientId>`).FindAllString(body, -1)
	}

	t.Run("the printed listActiveTokens call lists alice's tokens", func(t *testing.T) {
		got := listed(t)
		// Two grants of an access and a refresh token for each app.
		if len(got) != 8 || strings.Count(strings.Join(got, ""), "demo-portal") != 4 {
			t.Errorf("listed %q, want four tokens for each demo app", got)
		}
	})

	t.Run("the printed revokeTokens call removes the portal", func(t *testing.T) {
		status, body := remove.run(t)
		if status != http.StatusOK || !strings.Contains(body, "<tns:revokedCount>4</tns:revokedCount>") {
			t.Fatalf("HTTP %d, want 200 and 4 revoked:\n%s", status, body)
		}
		if got := listed(t); len(got) != 4 || strings.Contains(strings.Join(got, ""), "demo-portal") {
			t.Errorf("listed %q after removing the portal, want the mobile app's four", got)
		}
	})

	t.Run("a restart does not seed again", func(t *testing.T) {
		ts.close(t)
		again := startTestServer(t, serveConfig{DB: ts.path, Demo: true})
		if strings.Contains(again.stdout.String(), "Created user") {
			t.Errorf("restart bootstrapped again:\n%s", again.stdout)
		}
		calls := parseCurls(t, again.stdout.String())
		if len(calls) != 2 {
			t.Fatalf("restart printed %d curl calls, want 2", len(calls))
		}
		list = calls[0]
		if got := listed(t); len(got) != 4 {
			t.Errorf("listed %d tokens after a restart, want the 4 left", len(got))
		}
	})
}

func TestServeBootstrap(t *testing.T) {
	canList := func(t *testing.T, ts *testServer, password string) error {
		t.Helper()
		c, _ := ts.client(t, "admin", password)
		_, err := c.ListActiveTokensContext(t.Context(), &wsdl.ListActiveTokens{})
		return err
	}

	t.Run("generated password is printed once and works", func(t *testing.T) {
		t.Setenv("TOKENADMIN_ADMIN_PASSWORD", "")
		ts := startTestServer(t, serveConfig{})
		m := regexp.MustCompile(`^Created user admin with password ([A-Za-z0-9_-]{24})\n\(shown once; `).FindStringSubmatch(ts.stdout.String())
		if m == nil {
			t.Fatalf("stdout %q, want the generated password", ts.stdout)
		}
		if err := canList(t, ts, m[1]); err != nil {
			t.Fatalf("the printed password: %v", err)
		}
		if strings.Contains(ts.stderr.String(), m[1]) {
			t.Error("the password is in the log")
		}
		ts.close(t)

		again := startTestServer(t, serveConfig{DB: ts.path})
		if out := again.stdout.String(); strings.Contains(strings.ToLower(out), "password") {
			t.Errorf("a second start printed %q", out)
		}
		if err := canList(t, again, m[1]); err != nil {
			t.Errorf("the printed password after a restart: %v", err)
		}
	})

	t.Run("password from the environment", func(t *testing.T) {
		t.Setenv("TOKENADMIN_ADMIN_PASSWORD", adminPassword)
		ts := startTestServer(t, serveConfig{})
		if out := ts.stdout.String(); out != "Created user admin with the password from TOKENADMIN_ADMIN_PASSWORD\n" {
			t.Errorf("stdout %q", out)
		}
		if err := canList(t, ts, adminPassword); err != nil {
			t.Error(err)
		}
	})

	t.Run("a database with users gets no admin", func(t *testing.T) {
		t.Setenv("TOKENADMIN_ADMIN_PASSWORD", adminPassword)
		path := newDatabase(t)
		db, err := store.Open(t.Context(), path, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		createUser(t, db, "alice", tokenadmin.RoleAdmin, aliceHash())
		db.Close()
		ts := startTestServer(t, serveConfig{DB: path})
		if out := ts.stdout.String(); out != "" {
			t.Errorf("stdout %q, want nothing", out)
		}
		if err := canList(t, ts, adminPassword); faultOf(t, err).status != http.StatusUnauthorized {
			t.Errorf("admin: %v, want 401", err)
		}
	})
}

// TestServeCommand runs serve through Main, as main does, and stops it
// the way SIGTERM does: by ending its context.
func TestServeCommand(t *testing.T) {
	t.Setenv("TOKENADMIN_ADMIN_PASSWORD", adminPassword)
	path := filepath.Join(t.TempDir(), "served.db")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stdout, stderr syncBuffer
	exited := make(chan int, 1)
	go func() {
		exited <- Main(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--db", path, "--shutdown-grace", "5s"}, strings.NewReader(""), &stdout, &stderr)
	}()

	// The log's first line gives the address.
	var url string
	for deadline := time.Now().Add(10 * time.Second); url == ""; {
		select {
		case code := <-exited:
			t.Fatalf("serve exited with %d:\n%s", code, stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
		sc := bufio.NewScanner(strings.NewReader(stderr.String()))
		for sc.Scan() {
			var line struct{ Msg, URL string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "tokenadmin serving" {
				url = line.URL
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve logged no address in 10 s:\n%s", stderr.String())
		}
	}
	base, ok := strings.CutSuffix(url, soap.TokenAdminPath)
	if !ok {
		t.Fatalf("logged url %q", url)
	}
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "ok\n" {
		t.Errorf("GET /healthz: %d %q", resp.StatusCode, body)
	}

	cancel()
	select {
	case code := <-exited:
		if code != 0 {
			t.Errorf("serve exited with %d after its context ended:\n%s", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop within 10 s of its context ending")
	}
	if !strings.Contains(stderr.String(), "shutting down") {
		t.Errorf("no shutdown in the log:\n%s", stderr.String())
	}
	if conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://")); err == nil {
		conn.Close()
		t.Error("still listening after serve returned")
	}
	if !strings.Contains(stdout.String(), "Created user admin") {
		t.Errorf("stdout %q", stdout.String())
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("serve did not create its database: %v", err)
	}
}

// If serving stops on its own (here its listener is closed under it),
// serve must fail with exit status 1 rather than stay up serving nothing.
func TestServeExitsWhenServingFails(t *testing.T) {
	t.Setenv("TOKENADMIN_ADMIN_PASSWORD", adminPassword)
	listeners := make(chan net.Listener, 1)
	netListen := listen
	t.Cleanup(func() { listen = netListen })
	listen = func(network, addr string) (net.Listener, error) {
		ln, err := netListen(network, addr)
		if err == nil {
			listeners <- ln
		}
		return ln, err
	}
	path := filepath.Join(t.TempDir(), "served.db")
	ctx, cancel := context.WithCancel(t.Context())
	var stdout, stderr syncBuffer
	exited := make(chan int, 1)
	go func() {
		exited <- Main(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--db", path}, strings.NewReader(""), &stdout, &stderr)
	}()
	// stop ends serve the way SIGTERM does and waits for it, so that a
	// failing test does not leave it running over its temporary directory.
	stop := func() {
		cancel()
		<-exited
	}

	var ln net.Listener
	select {
	case ln = <-listeners:
	case code := <-exited:
		t.Fatalf("serve exited with %d before listening:\n%s", code, stderr.String())
	case <-time.After(10 * time.Second):
		stop()
		t.Fatalf("serve did not listen within 10 s:\n%s", stderr.String())
	}
	// Wait until it serves, then break the listener.
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(stderr.String(), "tokenadmin serving"); {
		if time.Now().After(deadline) {
			stop()
			t.Fatalf("serve logged no address in 10 s:\n%s", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	ln.Close()

	select {
	case code := <-exited:
		if code != 1 || !strings.Contains(stderr.String(), "tokenadmin serve: ") || !strings.Contains(stderr.String(), "use of closed network connection") {
			t.Errorf("exit %d, stderr:\n%s\nwant 1 and the error from serving", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		stop()
		t.Fatalf("serve was still running 10 s after serving failed:\n%s", stderr.String())
	}
	// The database was closed: another handle can write at once.
	db := openTestStore(t, path, store.Options{})
	createApp(t, db, "after", "After")
}

func TestServerCloseIsIdempotent(t *testing.T) {
	t.Setenv("TOKENADMIN_ADMIN_PASSWORD", adminPassword)
	ts := startTestServer(t, serveConfig{})
	ts.close(t)
	done := make(chan error, 1)
	go func() { done <- ts.Close(context.Background()) }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("second Close: %v; want the first one's result, nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("second Close blocked")
	}
}

func TestServeAddressInUse(t *testing.T) {
	t.Setenv("TOKENADMIN_ADMIN_PASSWORD", adminPassword)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	path := newDatabase(t)
	r := runMain(t, "", "serve", "--addr", ln.Addr().String(), "--db", path)
	if r.code != 1 || !strings.Contains(r.stderr, "tokenadmin serve: ") || !strings.Contains(r.stderr, "address already in use") {
		t.Errorf("exit %d, stderr %q; want 1 and address already in use", r.code, r.stderr)
	}
	// The database was closed: another handle can write at once.
	db := openTestStore(t, path, store.Options{})
	createApp(t, db, "after", "After")
}
