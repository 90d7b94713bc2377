package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"tokenadmin"
)

func init() {
	register(&command{
		name: "token issue", summary: "issue an access token (and a refresh token) and print the values once",
		usage: "--client ID --user USER [--scope \"a b\"] [--ttl 1h] [--refresh [--refresh-ttl 24h]] [--json] [--db FILE]",
		flags: func(fs *flag.FlagSet) func(*env, []string) error {
			db := dbFlag(fs)
			client := fs.String("client", "", "client `id` of the app (required)")
			user := fs.String("user", "", "the `user` the token is for (required)")
			scope := fs.String("scope", "", "space-separated `scopes`")
			grant := fs.String("grant-type", "password", "grant `type` recorded with the token")
			ttl := fs.Duration("ttl", time.Hour, "access token `lifetime`")
			refresh := fs.Bool("refresh", false, "also issue a refresh token")
			refreshTTL := fs.Duration("refresh-ttl", 24*time.Hour, "refresh token `lifetime`")
			asJSON := fs.Bool("json", false, "print JSON")
			return func(e *env, args []string) error {
				if len(args) != 0 {
					return usagef("unexpected argument %q", args[0])
				}
				if *client == "" || *user == "" {
					return usagef("--client and --user are required")
				}
				if err := positive("--ttl", *ttl); err != nil {
					return err
				}
				req := tokenadmin.IssueRequest{ClientID: *client, User: *user, Scopes: strings.Fields(*scope), GrantType: *grant, AccessTTL: *ttl}
				if *refresh {
					if err := positive("--refresh-ttl", *refreshTTL); err != nil {
						return err
					}
					req.RefreshTTL = *refreshTTL
				}
				s, err := openStore(e, *db)
				if err != nil {
					return err
				}
				defer s.Close()
				iss, err := s.IssueTokens(e.ctx, req)
				if err != nil {
					return err
				}
				out := issueOutput{
					AccessToken: iss.AccessValue, TokenID: iss.Access.ID, TokenType: "Bearer",
					ExpiresIn: int64(req.AccessTTL / time.Second), Scope: strings.Join(req.Scopes, " "),
				}
				if iss.Refresh != nil {
					out.RefreshToken, out.RefreshTokenID = iss.RefreshValue, iss.Refresh.ID
				}
				if *asJSON {
					return writeJSON(e.stdout, out)
				}
				tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintf(tw, "access_token\t%s\ntoken_id\t%s\nexpires_in\t%d\n", out.AccessToken, out.TokenID, out.ExpiresIn)
				if out.RefreshToken != "" {
					fmt.Fprintf(tw, "refresh_token\t%s\nrefresh_token_id\t%s\n", out.RefreshToken, out.RefreshTokenID)
				}
				return tw.Flush()
			}
		},
	})
	register(&command{
		name: "token list", summary: "list active tokens (like SOAP listActiveTokens)",
		usage: "[--user USER] [--client ID] [--type access|refresh] [--page-size N] [--page-token T | --all] [--json] [--db FILE]",
		flags: func(fs *flag.FlagSet) func(*env, []string) error {
			db := dbFlag(fs)
			var f tokenadmin.TokenFilter
			fs.StringVar(&f.User, "user", "", "only tokens of this `user`")
			fs.StringVar(&f.ClientID, "client", "", "only tokens of this app (client `id`)")
			typ := fs.String("type", "", "only `access` or refresh tokens")
			fs.IntVar(&f.PageSize, "page-size", tokenadmin.DefaultPageSize, "tokens per `page` (1-1000)")
			fs.StringVar(&f.PageToken, "page-token", "", "continue from this `token` (printed after a page)")
			all := fs.Bool("all", false, "print every page")
			asJSON := fs.Bool("json", false, "print JSON (one object per page, with next_page_token)")
			return func(e *env, args []string) error {
				if len(args) != 0 {
					return usagef("unexpected argument %q", args[0])
				}
				f.Type = tokenadmin.TokenType(*typ)
				if f.Type != "" && !f.Type.Valid() {
					return usagef("--type must be access or refresh")
				}
				if f.PageSize < 1 || f.PageSize > tokenadmin.MaxPageSize {
					return usagef("--page-size must be between 1 and %d", tokenadmin.MaxPageSize)
				}
				s, err := openStore(e, *db)
				if err != nil {
					return err
				}
				defer s.Close()
				svc := &tokenadmin.Service{Tokens: s}
				tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
				if !*asJSON {
					fmt.Fprintln(tw, "TOKEN ID\tTYPE\tCLIENT\tAPP\tUSER\tSCOPE\tISSUED\tEXPIRES")
				}
				for {
					page, err := svc.ListActiveTokens(e.ctx, cliCaller(), f)
					if err != nil {
						return err
					}
					if *asJSON {
						if err := writeJSON(e.stdout, listOutput(page)); err != nil {
							return err
						}
					} else {
						for _, t := range page.Tokens {
							fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Type, t.ClientID, t.AppName, t.User,
								strings.Join(t.Scopes, " "), t.IssuedAt.Format(time.RFC3339), t.ExpiresAt.Format(time.RFC3339))
						}
					}
					if page.NextPageToken == "" || !*all {
						if err := tw.Flush(); err != nil {
							return err
						}
						if page.NextPageToken != "" && !*asJSON {
							fmt.Fprintf(e.stdout, "\nmore: --page-token %s\n", page.NextPageToken)
						}
						return nil
					}
					f.PageToken = page.NextPageToken
				}
			}
		},
	})
	register(&command{
		name: "token revoke", summary: "revoke one token, or every token of a user and/or app",
		usage: "(--id TOKEN_ID | --token VALUE|- | --user USER [--client ID] | --client ID) [--reason TEXT] [--json] [--db FILE]",
		flags: func(fs *flag.FlagSet) func(*env, []string) error {
			db := dbFlag(fs)
			id := fs.String("id", "", "public token `id` to revoke")
			value := fs.String("token", "", "token `value` to revoke; - reads it from stdin (keeps it out of shell history)")
			user := fs.String("user", "", "revoke every active token of this `user`")
			client := fs.String("client", "", "revoke every active token of this app (client `id`)")
			reason := fs.String("reason", "", "why, recorded with the revocation")
			asJSON := fs.Bool("json", false, "print JSON")
			return func(e *env, args []string) error {
				if len(args) != 0 {
					return usagef("unexpected argument %q", args[0])
				}
				single, bulk := *id != "" || *value != "", *user != "" || *client != ""
				if single == bulk || (*id != "" && *value != "") {
					return usagef("give one of --id, --token, or --user/--client")
				}
				if *value == "-" {
					v, err := bufio.NewReader(io.LimitReader(e.stdin, 4096)).ReadString('\n')
					if err != nil && err != io.EOF {
						return fmt.Errorf("read token from stdin: %w", err)
					}
					if *value = strings.TrimSpace(v); *value == "" {
						return usagef("no token on stdin")
					}
				}
				s, err := openStore(e, *db)
				if err != nil {
					return err
				}
				defer s.Close()
				svc := &tokenadmin.Service{Tokens: s, Audit: s}
				if bulk {
					n, err := svc.RevokeTokens(e.ctx, cliCaller(), tokenadmin.BulkRevoke{User: *user, ClientID: *client, Reason: *reason})
					if err != nil {
						return err
					}
					if *asJSON {
						return writeJSON(e.stdout, map[string]int{"revoked_count": n})
					}
					fmt.Fprintf(e.stdout, "revoked %d tokens\n", n)
					return nil
				}
				res, err := svc.RevokeToken(e.ctx, cliCaller(), tokenadmin.RevokeRequest{TokenID: *id, Value: *value, Reason: *reason})
				if err != nil {
					return err
				}
				if *asJSON {
					return writeJSON(e.stdout, map[string]any{"revoked": res.Revoked, "token_id": res.TokenID, "revoked_count": res.Count})
				}
				if res.Revoked {
					fmt.Fprintf(e.stdout, "revoked %s (%d tokens including its grant family)\n", res.TokenID, res.Count)
				} else {
					fmt.Fprintf(e.stdout, "%s was already revoked or expired; nothing changed\n", res.TokenID)
				}
				return nil
			}
		},
	})
	register(&command{
		name: "token show", summary: "show one token in any state, with why it stopped working (like SOAP getToken)",
		usage: "TOKEN_ID [--json] [--db FILE]",
		flags: func(fs *flag.FlagSet) func(*env, []string) error {
			db := dbFlag(fs)
			asJSON := fs.Bool("json", false, "print JSON")
			return func(e *env, args []string) error {
				if len(args) != 1 {
					return usagef("want exactly one token id")
				}
				s, err := openStore(e, *db)
				if err != nil {
					return err
				}
				defer s.Close()
				t, err := (&tokenadmin.Service{Tokens: s}).GetToken(e.ctx, cliCaller(), args[0])
				if err != nil {
					return err
				}
				out := tokenJSON(t)
				out.State = string(t.State)
				if !t.RevokedAt.IsZero() {
					out.RevokedAt, out.RevokedBy, out.RevokeReason = t.RevokedAt.Format(time.RFC3339), t.RevokedBy, t.RevokeReason
				}
				if *asJSON {
					return writeJSON(e.stdout, out)
				}
				tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
				for _, kv := range [][2]string{
					{"token_id", out.TokenID}, {"type", out.TokenType}, {"state", out.State},
					{"client_id", out.ClientID}, {"app", out.AppName}, {"user", out.User},
					{"scope", out.Scope}, {"grant_type", out.GrantType},
					{"issued_at", out.IssuedAt}, {"expires_at", out.ExpiresAt},
					{"revoked_at", out.RevokedAt}, {"revoked_by", out.RevokedBy}, {"revoke_reason", out.RevokeReason},
				} {
					if kv[1] != "" {
						fmt.Fprintf(tw, "%s\t%s\n", kv[0], kv[1])
					}
				}
				return tw.Flush()
			}
		},
	})
}

type issueOutput struct {
	AccessToken    string `json:"access_token"`
	TokenID        string `json:"token_id"`
	TokenType      string `json:"token_type"`
	ExpiresIn      int64  `json:"expires_in"`
	Scope          string `json:"scope,omitempty"`
	RefreshToken   string `json:"refresh_token,omitempty"`
	RefreshTokenID string `json:"refresh_token_id,omitempty"`
}

type tokenOutput struct {
	TokenID      string `json:"token_id"`
	TokenType    string `json:"token_type"`
	ClientID     string `json:"client_id"`
	AppName      string `json:"app_name"`
	User         string `json:"user"`
	Scope        string `json:"scope"`
	GrantType    string `json:"grant_type"`
	IssuedAt     string `json:"issued_at"`
	ExpiresAt    string `json:"expires_at"`
	State        string `json:"state,omitempty"`
	RevokedAt    string `json:"revoked_at,omitempty"`
	RevokedBy    string `json:"revoked_by,omitempty"`
	RevokeReason string `json:"revoke_reason,omitempty"`
}

func tokenJSON(t *tokenadmin.Token) tokenOutput {
	return tokenOutput{
		TokenID: t.ID, TokenType: string(t.Type), ClientID: t.ClientID, AppName: t.AppName, User: t.User,
		Scope: strings.Join(t.Scopes, " "), GrantType: t.GrantType,
		IssuedAt: t.IssuedAt.Format(time.RFC3339), ExpiresAt: t.ExpiresAt.Format(time.RFC3339),
	}
}

func listOutput(p *tokenadmin.TokenPage) any {
	tokens := make([]tokenOutput, len(p.Tokens))
	for i, t := range p.Tokens {
		tokens[i] = tokenJSON(t)
	}
	return struct {
		Tokens        []tokenOutput `json:"tokens"`
		NextPageToken string        `json:"next_page_token,omitempty"`
	}{tokens, p.NextPageToken}
}
