package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"tokenadmin"
)

// Retention defaults of the janitor and of tokenadmin purge.
const (
	// DefaultRevokedRetention is how long a revoked token is kept after its
	// revocation, so that getToken can still say who revoked it and why.
	DefaultRevokedRetention = 7 * 24 * time.Hour
	// DefaultExpiredRetention is how long an expired (unrevoked) token is
	// kept after its expiry.
	DefaultExpiredRetention = 24 * time.Hour
	// DefaultPurgeBatch is how many tokens one purge transaction deletes at
	// most: some 5 ms of DELETE and about 1,000 WAL pages to commit (two
	// random index pages per token at scale). Larger batches made the
	// concurrent writes of BenchmarkPurge slower without purging faster.
	DefaultPurgeBatch = 500
)

// PurgeOptions configure Purge and CountPurgeable.
type PurgeOptions struct {
	// RevokedRetention: a revoked token is purged once its revocation is
	// at least this old; zero means DefaultRevokedRetention.
	RevokedRetention time.Duration
	// ExpiredRetention: a token that expired without being revoked is
	// purged once its expiry is at least this old; zero means
	// DefaultExpiredRetention.
	ExpiredRetention time.Duration
	// BatchSize bounds the tokens one transaction deletes; zero means
	// DefaultPurgeBatch.
	BatchSize int
	// DryRun makes Purge count what it would delete and change nothing.
	DryRun bool
	// Progress, when set, is called after every committed batch with the
	// number of tokens purged so far.
	Progress func(done int64)
}

// PurgeResult counts purged (or, in a dry run, purgeable) tokens by kind.
type PurgeResult struct {
	Revoked int64 // revoked tokens past RevokedRetention
	Expired int64 // unrevoked tokens expired for longer than ExpiredRetention
}

// Total is Revoked + Expired.
func (r PurgeResult) Total() int64 { return r.Revoked + r.Expired }

// purgeSource is one index that purge candidates are found through, walked
// in (key, id) order from a keyset cursor.
type purgeSource struct {
	revoked bool   // counts as Revoked, with RevokedRetention; else Expired
	index   string // a partial index on (key)
	partial string // the index's WHERE clause
	key     string // the indexed column, compared with the cutoff
	// filter is what a token found through the index must also satisfy
	// to be deleted; its "?" is the current time (ms), when it has one.
	filter    string
	filterNow bool
}

// retainedRotated is the condition of a revoked token that the purge keeps
// although its retention has passed: a refresh token retired by rotation
// whose grant still has a live token. Presenting such a token again is how
// RefreshTokens detects a stolen refresh token and revokes the grant (RFC
// 9700 §4.14.2); purged, it would be merely unknown and the grant would
// live on. Once nothing of the grant is live, reuse detection has nothing
// left to revoke, and the token goes. Its "?" is the current time (ms).
const retainedRotated = `type = 'refresh' AND revoke_reason = '` + tokenadmin.ReasonRotated + `' AND revoked_by = '` + systemActor + `'
	AND EXISTS (SELECT 1 FROM tokens f INDEXED BY tokens_unswept_family
		WHERE f.family_id = tokens.family_id AND f.expired = 0 AND f.revoked_at IS NULL AND f.expires_at > ?)`

// purgeSources are walked in this order. Every purgeable token is found
// through exactly one of them: revoked ones through tokens_revoked; the
// others through tokens_swept_expiry once the sweep marked them, or else
// through tokens_unswept_expiry (expired, but not yet swept).
var purgeSources = []purgeSource{
	{revoked: true, index: "tokens_revoked", partial: "revoked_at IS NOT NULL", key: "revoked_at",
		filter: "NOT (" + retainedRotated + ")", filterNow: true},
	{index: "tokens_swept_expiry", partial: "expired = 1 AND revoked_at IS NULL", key: "expires_at"},
	{index: "tokens_unswept_expiry", partial: "expired = 0", key: "expires_at", filter: "revoked_at IS NULL"},
}

// purgeStatements are a source's statements. The batches walk the index
// in (key, id) order from a keyset cursor, in two kinds of steps, so that
// each statement is a plain index range whatever the number of tokens that
// share one key value (a bulk revocation gives a thousand tokens one
// revoked_at; imported or seeded tokens may share one expires_at):
//   - range steps delete the entries after key k and before ek, the key of
//     the BatchSize-th entry after k (boundRange: k, cutoff, BatchSize-1;
//     delRange: k, ek[, now]);
//   - tie steps delete the entries of key k after id c, BatchSize at a time
//     (boundTie: k, c, BatchSize-1; delTie: k, c, end id[, now]).
//
// count counts the candidates (cutoff[, now]).
type purgeStatements struct {
	boundRange, delRange, boundTie, delTie, count string
}

func purgeQueries(s purgeSource) purgeStatements {
	filter := ""
	if s.filter != "" {
		filter = ` AND ` + s.filter
	}
	from := `FROM tokens INDEXED BY ` + s.index + ` WHERE ` + s.partial
	return purgeStatements{
		boundRange: `SELECT ` + s.key + ` ` + from + ` AND ` + s.key + ` > ? AND ` + s.key + ` <= ?
			ORDER BY ` + s.key + `, id LIMIT 1 OFFSET ?`,
		delRange: `DELETE ` + from + ` AND ` + s.key + ` > ? AND ` + s.key + ` < ?` + filter,
		boundTie: `SELECT id ` + from + ` AND ` + s.key + ` = ? AND id > ? ORDER BY id LIMIT 1 OFFSET ?`,
		delTie:   `DELETE ` + from + ` AND ` + s.key + ` = ? AND id > ? AND id <= ?` + filter,
		count:    `SELECT count(*) ` + from + ` AND ` + s.key + ` <= ?` + filter,
	}
}

// cutoffs returns, at now, the latest revocation and the latest expiry of
// a purgeable token (Unix ms), with the options' defaults filled in.
func (o *PurgeOptions) cutoffs(now time.Time) (revoked, expired int64, err error) {
	if o.RevokedRetention < 0 || o.ExpiredRetention < 0 {
		return 0, 0, tokenadmin.Errorf(tokenadmin.CodeInvalid, "retention periods must not be negative")
	}
	if o.RevokedRetention == 0 {
		o.RevokedRetention = DefaultRevokedRetention
	}
	if o.ExpiredRetention == 0 {
		o.ExpiredRetention = DefaultExpiredRetention
	}
	if o.BatchSize <= 0 {
		o.BatchSize = DefaultPurgeBatch
	}
	return ms(now.Add(-o.RevokedRetention)), ms(now.Add(-o.ExpiredRetention)), nil
}

// CountPurgeable counts the tokens Purge would delete now with opts: what
// a dry run reports, and the total of a progress bar. It only reads.
func (db *DB) CountPurgeable(ctx context.Context, opts PurgeOptions) (PurgeResult, error) {
	revokedCutoff, expiredCutoff, err := opts.cutoffs(db.now())
	if err != nil {
		return PurgeResult{}, err
	}
	var res PurgeResult
	now := ms(db.now())
	for _, s := range purgeSources {
		q := purgeQueries(s).count
		args := []any{expiredCutoff}
		if s.revoked {
			args[0] = revokedCutoff
		}
		if s.filterNow {
			args = append(args, now)
		}
		var n int64
		if err := db.read.QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
			return res, fmt.Errorf("store: count purgeable: %w", err)
		}
		if s.revoked {
			res.Revoked += n
		} else {
			res.Expired += n
		}
	}
	return res, nil
}

// Purge deletes revoked tokens whose revocation is older than
// RevokedRetention and unrevoked tokens that expired more than
// ExpiredRetention ago, except refresh tokens retired by rotation while
// their grant still has a live token (see retainedRotated). It works in
// keyset batches of at most BatchSize tokens, each a single DELETE through
// the writer, queued behind other writes and pausing while the WAL
// checkpoint lags, so it never holds the write lock for more than one
// batch, and after each batch it pauses as long as the batch took (see
// pause). Each batch is atomic: when ctx ends or the store closes, Purge
// stops between batches and returns what the committed batches deleted,
// with the error. With DryRun it returns CountPurgeable's count instead.
// Errors: CodeInvalid for a negative retention; otherwise internal ones.
func (db *DB) Purge(ctx context.Context, opts PurgeOptions) (PurgeResult, error) {
	if opts.DryRun {
		return db.CountPurgeable(ctx, opts)
	}
	return db.purge(ctx, opts, nil)
}

// purge is Purge, also telling onBatch what each committed batch deleted.
func (db *DB) purge(ctx context.Context, opts PurgeOptions, onBatch func(revoked bool, n int64)) (PurgeResult, error) {
	revokedCutoff, expiredCutoff, err := opts.cutoffs(db.now())
	if err != nil {
		return PurgeResult{}, err
	}
	var res PurgeResult
	for _, s := range purgeSources {
		cutoff := expiredCutoff
		if s.revoked {
			cutoff = revokedCutoff
		}
		q := purgeQueries(s)
		// The cursor: in a tie step, key k after id c; in a range step,
		// the keys after k. It starts with a range step from the start.
		var (
			k, c int64 = math.MinInt64, 0
			tie  bool
			last bool
		)
		for !last {
			if err := db.yieldToCheckpoint(ctx); err != nil {
				return res, fmt.Errorf("store: purge: %w", err)
			}
			var (
				n          int64
				nk, nc     = k, c
				ntie, done bool
			)
			began := time.Now()
			err := db.update(ctx, func(ctx context.Context, cn conn) error {
				var (
					del  string
					args []any
				)
				if tie {
					end := int64(math.MaxInt64)
					err := cn.QueryRowContext(ctx, q.boundTie, k, c, opts.BatchSize-1).Scan(&end)
					if err != nil && !errors.Is(err, sql.ErrNoRows) {
						return err
					}
					// A full batch of this key and then more of it, or
					// the rest of this key and then a range step.
					nk, nc, ntie, done = k, end, err == nil, false
					del, args = q.delTie, []any{k, c, end}
				} else {
					ek := cutoff + 1
					err := cn.QueryRowContext(ctx, q.boundRange, k, cutoff, opts.BatchSize-1).Scan(&ek)
					if err != nil && !errors.Is(err, sql.ErrNoRows) {
						return err
					}
					// Fewer than a batch before key ek, then ek's tie;
					// or everything up to the cutoff, and done.
					nk, nc, ntie, done = ek, math.MinInt64, err == nil, err != nil
					del, args = q.delRange, []any{k, ek}
				}
				if s.filterNow {
					args = append(args, ms(db.now()))
				}
				r, err := cn.ExecContext(ctx, del, args...)
				if err != nil {
					return err
				}
				n, err = r.RowsAffected()
				return err
			})
			if err != nil {
				return res, fmt.Errorf("store: purge: %w", err)
			}
			// Counted only once the batch is committed.
			k, c, tie, last = nk, nc, ntie, done

			if s.revoked {
				res.Revoked += n
			} else {
				res.Expired += n
			}
			if onBatch != nil {
				onBatch(s.revoked, n)
			}
			if opts.Progress != nil {
				opts.Progress(res.Total())
			}
			// Background work: leave the disk to requests for as long
			// as the batch took (see pause).
			if n > 0 && !last {
				if err := db.pause(ctx, time.Since(began)); err != nil {
					return res, fmt.Errorf("store: purge: %w", err)
				}
			}
		}
	}
	return res, nil
}

// pause waits for d, or until ctx ends or the store closes. Between two
// batches, the purge pauses as long as the last one took from submission
// to the durable commit: a batch writes a WAL page for about every token
// in each index it leaves (token_id and hash are random, so at scale one
// page per token each), which the checkpointer must then copy and sync
// into the database file. Left to run flat out, the purge saturates the
// disk with those writes and checkpoints, and requests' own WAL syncs
// queue behind them; at half duty it leaves the disk to them for half the
// time (BenchmarkPurge).
func (db *DB) pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-db.closed:
		return errClosed
	case <-t.C:
		return nil
	}
}
