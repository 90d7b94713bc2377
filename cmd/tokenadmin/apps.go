package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"tokenadmin"
	"tokenadmin/store"
)

// policyFlags are the app policy flags of app create and app update.
type policyFlags struct {
	name, owner, grantTypes, scopes string
	accessTTL, refreshTTL           time.Duration
	rotate, introspect              bool
}

func (p *policyFlags) add(fs *flag.FlagSet) {
	fs.StringVar(&p.name, "name", "", "the app's display `name`")
	fs.StringVar(&p.owner, "owner", "", "the `user` who manages the app")
	fs.StringVar(&p.grantTypes, "grant-types", strings.Join(tokenadmin.GrantTypes, " "), "space-separated grant `types` the app may use")
	fs.StringVar(&p.scopes, "scopes", "", "space-separated `scopes` the app may be granted")
	fs.DurationVar(&p.accessTTL, "access-ttl", 0, "access-token `lifetime` (0: the server's, 1h by default)")
	fs.DurationVar(&p.refreshTTL, "refresh-ttl", 0, "refresh-token `lifetime` (0: the server's, 24h by default)")
	fs.BoolVar(&p.rotate, "rotate-refresh", true, "issue a new refresh token on every refresh and detect reuse of old ones")
	fs.BoolVar(&p.introspect, "introspect", false, "allow the app to call the introspection endpoint")
}

// update returns the changes named by the flags set on fs.
func (p *policyFlags) update(fs *flag.FlagSet) (tokenadmin.AppUpdate, error) {
	var u tokenadmin.AppUpdate
	var err error
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "name":
			u.Name = &p.name
		case "owner":
			u.Owner = &p.owner
		case "grant-types":
			g := strings.Fields(p.grantTypes)
			u.GrantTypes = &g
		case "scopes":
			s := strings.Fields(p.scopes)
			u.Scopes = &s
		case "access-ttl":
			u.AccessTTL, err = wholeSeconds("--access-ttl", p.accessTTL, err)
		case "refresh-ttl":
			u.RefreshTTL, err = wholeSeconds("--refresh-ttl", p.refreshTTL, err)
		case "rotate-refresh":
			u.RotateRefresh = &p.rotate
		case "introspect":
			u.Introspect = &p.introspect
		}
	})
	return u, err
}

func wholeSeconds(name string, d time.Duration, prev error) (*time.Duration, error) {
	if prev != nil {
		return nil, prev
	}
	if d < 0 || d%time.Second != 0 {
		return nil, usagef("%s must be a whole number of seconds, 0 or more", name)
	}
	return &d, nil
}

// appCommand registers an app subcommand that works through AppService.
func appCommand(name, summary, usage string, flags func(fs *flag.FlagSet) func(e *env, apps *tokenadmin.AppService, args []string) error) {
	register(&command{
		name: "app " + name, summary: summary, usage: usage,
		flags: func(fs *flag.FlagSet) func(*env, []string) error {
			db := dbFlag(fs)
			run := flags(fs)
			return func(e *env, args []string) error {
				s, err := openStore(e, *db)
				if err != nil {
					return err
				}
				defer s.Close()
				return run(e, &tokenadmin.AppService{Apps: s, Audit: s}, args)
			}
		},
	})
}

// oneClientID checks that args is exactly one client ID.
func oneClientID(args []string) (string, error) {
	if len(args) != 1 {
		return "", usagef("want exactly one client id")
	}
	return args[0], nil
}

func init() {
	appCommand("create", "register an app (OAuth client) and print its client_id and client_secret (shown once)",
		"--name NAME [--owner USER] [--client-id ID] [policy flags] [--json] [--db FILE]",
		func(fs *flag.FlagSet) func(*env, *tokenadmin.AppService, []string) error {
			var p policyFlags
			p.add(fs)
			clientID := fs.String("client-id", "", "client `id` to use (default: a random one)")
			asJSON := fs.Bool("json", false, "print JSON")
			return func(e *env, apps *tokenadmin.AppService, args []string) error {
				if len(args) != 0 {
					return usagef("unexpected argument %q", args[0])
				}
				if p.name == "" {
					return usagef("--name is required")
				}
				a := tokenadmin.NewApp(p.name)
				u, err := p.update(fs)
				if err != nil {
					return err
				}
				a = u.Apply(a)
				a.ClientID = *clientID
				app, secret, err := apps.Register(e.ctx, cliCaller(), a)
				if err != nil {
					return err
				}
				out := appJSON(app)
				out.ClientSecret = secret
				if *asJSON {
					return writeJSON(e.stdout, out)
				}
				return printApp(e.stdout, out)
			}
		})
	appCommand("update", "change an app's name, owner or policy (new lifetimes apply to tokens issued afterwards)",
		"CLIENT_ID [--name NAME] [--owner USER] [policy flags] [--json] [--db FILE]",
		func(fs *flag.FlagSet) func(*env, *tokenadmin.AppService, []string) error {
			var p policyFlags
			p.add(fs)
			asJSON := fs.Bool("json", false, "print JSON")
			return func(e *env, apps *tokenadmin.AppService, args []string) error {
				id, err := oneClientID(args)
				if err != nil {
					return err
				}
				u, err := p.update(fs)
				if err != nil {
					return err
				}
				app, err := apps.Update(e.ctx, cliCaller(), id, u)
				if err != nil {
					return err
				}
				if *asJSON {
					return writeJSON(e.stdout, appJSON(app))
				}
				return printApp(e.stdout, appJSON(app))
			}
		})
	appCommand("show", "show an app and its policy", "CLIENT_ID [--json] [--db FILE]",
		func(fs *flag.FlagSet) func(*env, *tokenadmin.AppService, []string) error {
			asJSON := fs.Bool("json", false, "print JSON")
			return func(e *env, apps *tokenadmin.AppService, args []string) error {
				id, err := oneClientID(args)
				if err != nil {
					return err
				}
				app, err := apps.Get(e.ctx, cliCaller(), id)
				if err != nil {
					return err
				}
				if *asJSON {
					return writeJSON(e.stdout, appJSON(app))
				}
				return printApp(e.stdout, appJSON(app))
			}
		})
	appCommand("list", "list apps", "[--owner USER] [--json] [--db FILE]",
		func(fs *flag.FlagSet) func(*env, *tokenadmin.AppService, []string) error {
			owner := fs.String("owner", "", "only apps of this `user`")
			asJSON := fs.Bool("json", false, "print JSON")
			return func(e *env, apps *tokenadmin.AppService, args []string) error {
				if len(args) != 0 {
					return usagef("unexpected argument %q", args[0])
				}
				list, err := apps.List(e.ctx, cliCaller())
				if err != nil {
					return err
				}
				out := []appOutput{}
				for _, a := range list {
					if *owner == "" || a.Owner == *owner {
						out = append(out, appJSON(a))
					}
				}
				if *asJSON {
					return writeJSON(e.stdout, out)
				}
				tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "CLIENT ID\tNAME\tOWNER\tSTATE\tGRANT TYPES\tSCOPES")
				for _, a := range out {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", a.ClientID, a.Name, a.Owner, a.State, a.GrantTypes, a.Scopes)
				}
				return tw.Flush()
			}
		})
	for _, c := range []struct {
		name, summary string
		do            func(e *env, apps *tokenadmin.AppService, id string) (int, string, error)
	}{
		{"disable", "disable an app and revoke all its tokens", func(e *env, apps *tokenadmin.AppService, id string) (int, string, error) {
			n, err := apps.SetState(e.ctx, cliCaller(), id, tokenadmin.AppDisabled)
			return n, "", err
		}},
		{"enable", "enable a disabled app (its revoked tokens stay revoked)", func(e *env, apps *tokenadmin.AppService, id string) (int, string, error) {
			n, err := apps.SetState(e.ctx, cliCaller(), id, tokenadmin.AppActive)
			return n, "", err
		}},
		{"delete", "revoke all of an app's tokens and delete it", func(e *env, apps *tokenadmin.AppService, id string) (int, string, error) {
			n, err := apps.Delete(e.ctx, cliCaller(), id)
			return n, "", err
		}},
		{"rotate-secret", "give an app a new client secret (shown once) and revoke all its tokens", func(e *env, apps *tokenadmin.AppService, id string) (int, string, error) {
			secret, n, err := apps.RegenerateSecret(e.ctx, cliCaller(), id)
			return n, secret, err
		}},
	} {
		appCommand(c.name, c.summary, "CLIENT_ID [--json] [--db FILE]",
			func(fs *flag.FlagSet) func(*env, *tokenadmin.AppService, []string) error {
				asJSON := fs.Bool("json", false, "print JSON")
				return func(e *env, apps *tokenadmin.AppService, args []string) error {
					id, err := oneClientID(args)
					if err != nil {
						return err
					}
					n, secret, err := c.do(e, apps, id)
					if err != nil {
						return err
					}
					if *asJSON {
						out := map[string]any{"client_id": id, "revoked_count": n}
						if secret != "" {
							out["client_secret"] = secret
						}
						return writeJSON(e.stdout, out)
					}
					if secret != "" {
						fmt.Fprintf(e.stdout, "client_secret\t%s\n", secret)
					}
					fmt.Fprintf(e.stdout, "%s: %s done, %d tokens revoked\n", id, c.name, n)
					return nil
				}
			})
	}
}

type appOutput struct {
	ClientID      string `json:"client_id"`
	ClientSecret  string `json:"client_secret,omitempty"`
	Name          string `json:"name"`
	Owner         string `json:"owner"`
	State         string `json:"state"`
	GrantTypes    string `json:"grant_types"`
	Scopes        string `json:"scopes"`
	AccessTTL     int64  `json:"access_ttl"`  // seconds; 0: the server's default
	RefreshTTL    int64  `json:"refresh_ttl"` // seconds; 0: the server's default
	RotateRefresh bool   `json:"rotate_refresh"`
	Introspect    bool   `json:"introspect"`
	CreatedAt     string `json:"created_at"`
}

func appJSON(a *tokenadmin.App) appOutput {
	return appOutput{
		ClientID: a.ClientID, Name: a.Name, Owner: a.Owner, State: string(a.State),
		GrantTypes: strings.Join(a.GrantTypes, " "), Scopes: strings.Join(a.Scopes, " "),
		AccessTTL: int64(a.AccessTTL / time.Second), RefreshTTL: int64(a.RefreshTTL / time.Second),
		RotateRefresh: a.RotateRefresh, Introspect: a.Introspect, CreatedAt: a.CreatedAt.Format(time.RFC3339),
	}
}

func printApp(w io.Writer, a appOutput) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	rows := [][2]string{{"client_id", a.ClientID}}
	if a.ClientSecret != "" {
		rows = append(rows, [2]string{"client_secret", a.ClientSecret + "   (shown once: store it now)"})
	}
	rows = append(rows, [][2]string{
		{"name", a.Name}, {"owner", a.Owner}, {"state", a.State}, {"grant_types", a.GrantTypes},
		{"scopes", a.Scopes}, {"access_ttl", ttlText(a.AccessTTL)}, {"refresh_ttl", ttlText(a.RefreshTTL)},
		{"rotate_refresh", fmt.Sprint(a.RotateRefresh)}, {"introspect", fmt.Sprint(a.Introspect)}, {"created_at", a.CreatedAt},
	}...)
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\n", r[0], r[1])
	}
	return tw.Flush()
}

func ttlText(s int64) string {
	if s == 0 {
		return "server default"
	}
	return (time.Duration(s) * time.Second).String()
}

var _ tokenadmin.AppStore = (*store.DB)(nil)
