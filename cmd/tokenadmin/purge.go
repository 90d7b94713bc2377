package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"tokenadmin"
	"tokenadmin/store"
)

// purgeProgressHook, when set (tests only), runs after every committed
// purge batch with the count so far.
var purgeProgressHook func(done int64)

func init() {
	register(&command{
		name: "purge", summary: "delete revoked and expired tokens past their retention, as the server's janitor does",
		usage: "[--dry-run] [--revoked-after 168h] [--expired-after 24h] [--db FILE]",
		flags: func(fs *flag.FlagSet) func(*env, []string) error {
			db := dbFlag(fs)
			dryRun := fs.Bool("dry-run", false, "only count what would be purged; change nothing")
			revokedAfter := fs.Duration("revoked-after", store.DefaultRevokedRetention, "purge a revoked token this `long` after its revocation (getToken explains it until then)")
			expiredAfter := fs.Duration("expired-after", store.DefaultExpiredRetention, "purge an expired token this `long` after its expiry")
			return func(e *env, args []string) error {
				if len(args) != 0 {
					return usagef("unexpected argument %q", args[0])
				}
				if err := positive("--revoked-after", *revokedAfter); err != nil {
					return err
				}
				if err := positive("--expired-after", *expiredAfter); err != nil {
					return err
				}
				s, err := openStore(e, *db)
				if err != nil {
					return err
				}
				defer s.Close()
				opts := store.PurgeOptions{RevokedRetention: *revokedAfter, ExpiredRetention: *expiredAfter}
				total, err := s.CountPurgeable(e.ctx, opts)
				if err != nil {
					return err
				}
				if *dryRun {
					fmt.Fprintf(e.stdout, "would purge %d revoked and %d expired tokens\n", total.Revoked, total.Expired)
					return nil
				}
				// The progress goes to stderr, so that stdout is the one
				// summary line whatever the terminal.
				p := newProgress(e.stderr, "purging", total.Total())
				var last int64
				opts.Progress = func(done int64) {
					p.Add(done - last)
					last = done
					if purgeProgressHook != nil {
						purgeProgressHook(done)
					}
				}
				res, err := s.Purge(e.ctx, opts)
				p.Done()
				reason := fmt.Sprintf("%d revoked, %d expired", res.Revoked, res.Expired)
				if aerr := tokenadmin.RecordAudit(e.ctx, s, cliCaller(), tokenadmin.AuditPurge, "tokens", reason, int(res.Total()), err); aerr != nil {
					err = errors.Join(err, fmt.Errorf("audit record: %w", aerr))
				}
				if err != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
					// Every batch is its own transaction: what was
					// purged stays purged, and nothing is half done.
					fmt.Fprintf(e.stdout, "interrupted: purged %d revoked and %d expired tokens\n", res.Revoked, res.Expired)
					return errors.New("interrupted; run purge again to finish")
				}
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "purged %d revoked and %d expired tokens\n", res.Revoked, res.Expired)
				return nil
			}
		},
	})
}
