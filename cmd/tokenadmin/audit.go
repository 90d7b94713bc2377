package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"text/tabwriter"
	"time"

	"tokenadmin"
	"tokenadmin/store"
)

// withCLIRequest gives the command's context the RequestInfo that audit
// records read: client address "local" and a random request id, one per
// command run, so that the records of one run can be told apart.
func withCLIRequest(ctx context.Context) context.Context {
	if tokenadmin.RequestInfoFrom(ctx) != nil {
		return ctx
	}
	var b [8]byte
	rand.Read(b[:])
	return tokenadmin.WithRequestInfo(ctx, &tokenadmin.RequestInfo{ID: "cli-" + hex.EncodeToString(b[:]), ClientAddr: "local"})
}

// audit returns e's context carrying the audit event of the CLI caller
// doing action on target (see tokenadmin.StartAudit): the store records it
// with the change. Pair it with tokenadmin.EndAudit for failures.
func (e *env) audit(s *store.DB, action tokenadmin.AuditAction, target, reason string) context.Context {
	return tokenadmin.StartAudit(e.ctx, s, cliCaller(), action, target, reason)
}

func init() {
	register(&command{
		name: "audit verify", summary: "check the audit log's hash chain: exit 0 if intact, 1 at the first altered, inserted or deleted record",
		usage: "[--db FILE]",
		flags: func(fs *flag.FlagSet) func(*env, []string) error {
			db := dbFlag(fs)
			return func(e *env, args []string) error {
				if len(args) != 0 {
					return usagef("unexpected argument %q", args[0])
				}
				s, err := openStore(e, *db)
				if err != nil {
					return err
				}
				defer s.Close()
				res, err := s.VerifyAudit(e.ctx)
				if err != nil {
					return err
				}
				if !res.OK {
					return fmt.Errorf("audit log broken at record %d: %s (%d records intact before it)", res.BrokenSeq, res.Problem, res.Records)
				}
				fmt.Fprintf(e.stdout, "audit log intact: %d records, last hash %s\n", res.Records, res.LastHash)
				return nil
			}
		},
	})
	register(&command{
		name: "audit list", summary: "list audit records, oldest first",
		usage: "[--actor NAME] [--action ACTION] [--since RFC3339] [--until RFC3339] [--limit N] [--json] [--db FILE]",
		flags: func(fs *flag.FlagSet) func(*env, []string) error {
			db := dbFlag(fs)
			actor := fs.String("actor", "", "only records of this `actor`")
			action := fs.String("action", "", "only records of this `action` (token.revoke, tokens.revoke, app.create, app.update, app.delete, app.secret, user.create, user.password, user.role, login, import, …)")
			since := fs.String("since", "", "only records at or after this `time` (RFC 3339)")
			until := fs.String("until", "", "only records before this `time` (RFC 3339)")
			limit := fs.Int("limit", 0, "print at most `N` records (default: all)")
			asJSON := fs.Bool("json", false, "print JSON, one array")
			return func(e *env, args []string) error {
				if len(args) != 0 {
					return usagef("unexpected argument %q", args[0])
				}
				f := tokenadmin.AuditFilter{Actor: *actor, Action: tokenadmin.AuditAction(*action), PageSize: tokenadmin.MaxAuditPageSize}
				var err error
				if f.Since, err = parseTimeFlag("--since", *since); err != nil {
					return err
				}
				if f.Until, err = parseTimeFlag("--until", *until); err != nil {
					return err
				}
				if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
					return usagef("--since must be before --until")
				}
				if *limit < 0 {
					return usagef("--limit must be 0 (all) or more")
				}
				s, err := openStore(e, *db)
				if err != nil {
					return err
				}
				defer s.Close()
				svc := &tokenadmin.AuditService{Log: s}
				events := []auditJSON{}
				tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
				if !*asJSON {
					fmt.Fprintln(tw, "SEQ\tTIME\tACTOR\tROLE\tFROM\tACTION\tTARGET\tOUTCOME\tCOUNT\tREASON")
				}
				n := 0
			pages:
				for {
					page, err := svc.ListAuditEvents(e.ctx, cliCaller(), f)
					if err != nil {
						return err
					}
					for _, ev := range page.Events {
						if *limit > 0 && n == *limit {
							break pages
						}
						n++
						if *asJSON {
							events = append(events, toAuditJSON(ev))
							continue
						}
						fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", ev.Seq, ev.Time.Format(time.RFC3339),
							orDash(ev.Actor), orDash(string(ev.Role)), orDash(ev.ClientAddr), ev.Action, orDash(ev.Target),
							ev.Outcome, ev.Count, oneLine(ev.Reason))
					}
					if f.PageToken = page.NextPageToken; f.PageToken == "" {
						break
					}
				}
				if *asJSON {
					return writeJSON(e.stdout, events)
				}
				return tw.Flush()
			}
		},
	})
}

func parseTimeFlag(name, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, usagef("%s: want an RFC 3339 time such as 2030-01-02T15:04:05Z", name)
	}
	return t, nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// oneLine keeps a reason (which may hold line breaks) on its table row.
func oneLine(s string) string {
	out := []rune{}
	for _, r := range s {
		if r == '\n' || r == '\r' || r == '\t' {
			r = ' '
		}
		out = append(out, r)
	}
	return orDash(string(out))
}

// auditJSON is one record in `audit list --json`.
type auditJSON struct {
	Seq        int64     `json:"seq"`
	Time       time.Time `json:"time"`
	Actor      string    `json:"actor"`
	Role       string    `json:"role"`
	ClientAddr string    `json:"client_addr"`
	RequestID  string    `json:"request_id"`
	Action     string    `json:"action"`
	Target     string    `json:"target"`
	Outcome    string    `json:"outcome"`
	Count      int       `json:"count"`
	Reason     string    `json:"reason"`
	PrevHash   string    `json:"prev_hash"`
	Hash       string    `json:"hash"`
}

func toAuditJSON(e *tokenadmin.AuditEvent) auditJSON {
	return auditJSON{Seq: e.Seq, Time: e.Time, Actor: e.Actor, Role: string(e.Role), ClientAddr: e.ClientAddr,
		RequestID: e.RequestID, Action: string(e.Action), Target: e.Target, Outcome: string(e.Outcome),
		Count: e.Count, Reason: e.Reason, PrevHash: e.PrevHash, Hash: e.Hash}
}
