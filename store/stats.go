package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mattn/go-sqlite3"

	"tokenadmin"
)

// Error kinds counted by Stats().Errors: which part of the store failed.
const (
	ErrRead       = "read"       // a token read (list, get, lookup, authorized apps)
	ErrWrite      = "write"      // a write (any of them: they all go through the writer)
	ErrSync       = "sync"       // a WAL fsync; the store refuses writes afterwards
	ErrCheckpoint = "checkpoint" // a background WAL checkpoint
	ErrCount      = "count"      // a re-count of the active tokens
)

// ErrorKinds lists every kind Stats().Errors reports, in a fixed order.
var ErrorKinds = []string{ErrRead, ErrWrite, ErrSync, ErrCheckpoint, ErrCount}

// Stats is a snapshot of the store's counters, for monitoring. Reading it
// costs no query.
type Stats struct {
	// ActiveTokens is the number of tokens neither revoked nor swept as
	// expired, when ActiveTokensKnown (see Options.ActiveResync). It is
	// approximate: tokens that expired since the last sweep still count
	// until the sweep (at most SweepInterval), and changes made by other
	// processes on the same file (the admin commands) show only at the
	// next re-count.
	ActiveTokens      int64
	ActiveTokensKnown bool
	// Errors counts internal errors by kind (ErrorKinds) since Open.
	// Errors a caller caused (not found, invalid, …) are not counted.
	Errors map[string]uint64
	// WALRestarts counts the times the checkpointer started the WAL over
	// (checkpoint.go's restartWAL), and WALRestartHold is the total time
	// restarts (including attempts that found a reader still on old
	// frames) held the writer.
	WALRestarts    uint64
	WALRestartHold time.Duration
	// WALPendingFrames is how many WAL frames (4 KiB pages) the last
	// checkpoint left to copy into the database file.
	WALPendingFrames int64
}

// stats is the DB's monitoring state.
type stats struct {
	track bool // Options.ActiveResync > 0

	// mu orders the writer's commits against the moment a re-count takes
	// its snapshot, so each committed change is counted exactly once:
	// either in the snapshot or in applied after it.
	mu      sync.Mutex
	applied atomic.Int64 // sum of the live-token deltas committed since Open
	base    atomic.Int64 // count at the last re-count's snapshot, minus applied then
	known   atomic.Bool
	hooked  *sqlite3.SQLiteConn // the writer connection that has the triggers

	onRevoke func(ctx context.Context, reason string, n int) // Options.OnRevoke

	errs [5]atomic.Uint64 // by ErrorKinds index
	done chan struct{}    // closed when the re-count loop has stopped
}

// Stats returns the store's counters. It is cheap: no query runs.
func (db *DB) Stats() Stats {
	s := Stats{
		Errors:           make(map[string]uint64, len(ErrorKinds)),
		WALRestarts:      uint64(db.ckpt.restarts.Load()),
		WALRestartHold:   time.Duration(db.ckpt.held.Load()),
		WALPendingFrames: db.ckpt.pending.Load(),
	}
	for i, k := range ErrorKinds {
		s.Errors[k] = db.stats.errs[i].Load()
	}
	if db.stats.known.Load() {
		s.ActiveTokens, s.ActiveTokensKnown = db.stats.base.Load()+db.stats.applied.Load(), true
	}
	return s
}

// countErr counts err under kind when it is an internal error (not one the
// caller caused, nor the end of the caller's context or of the store),
// and returns it.
func (db *DB) countErr(kind string, err error) error {
	if err == nil || tokenadmin.ErrorCode(err) != tokenadmin.CodeInternal ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, errClosed) {
		return err
	}
	for i, k := range ErrorKinds {
		if k == kind {
			db.stats.errs[i].Add(1)
		}
	}
	return err
}

// revoked reports n durably revoked tokens to Options.OnRevoke.
func (db *DB) revoked(ctx context.Context, reason string, n int) {
	if n > 0 && db.stats.onRevoke != nil {
		db.stats.onRevoke(ctx, reason, n)
	}
}

// liveTriggers keep, on the writer's connection only, a running delta of
// the live tokens (neither revoked nor swept: the condition of the
// tokens_live index) that every write changes, whatever the statement.
// They are TEMP objects, so they live in the connection, not in the
// database file, and cost no migration; the delta is transactional like
// the change that made it, so a rolled-back write leaves it alone.
const liveTriggers = `
CREATE TEMP TABLE IF NOT EXISTS live_delta (n INTEGER NOT NULL);
INSERT INTO temp.live_delta (n) SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM temp.live_delta);
CREATE TEMP TRIGGER IF NOT EXISTS live_insert AFTER INSERT ON main.tokens
	WHEN new.revoked_at IS NULL AND new.expired = 0
	BEGIN UPDATE temp.live_delta SET n = n + 1; END;
CREATE TEMP TRIGGER IF NOT EXISTS live_update AFTER UPDATE OF revoked_at, expired ON main.tokens
	WHEN (old.revoked_at IS NULL AND old.expired = 0) <> (new.revoked_at IS NULL AND new.expired = 0)
	BEGIN UPDATE temp.live_delta SET n = n + CASE WHEN new.revoked_at IS NULL AND new.expired = 0 THEN 1 ELSE -1 END; END;
CREATE TEMP TRIGGER IF NOT EXISTS live_delete AFTER DELETE ON main.tokens
	WHEN old.revoked_at IS NULL AND old.expired = 0
	BEGIN UPDATE temp.live_delta SET n = n - 1; END;`

// hookLive installs liveTriggers on c, the writer's connection, unless it
// has them. It runs outside any transaction.
func (db *DB) hookLive(ctx context.Context, c *sql.Conn) error {
	var sc *sqlite3.SQLiteConn
	c.Raw(func(dc any) error {
		sc, _ = dc.(*sqlite3.SQLiteConn)
		return nil
	})
	if sc == nil || sc == db.stats.hooked {
		return nil
	}
	if _, err := c.ExecContext(ctx, liveTriggers); err != nil {
		return fmt.Errorf("store: live-token triggers: %w", err)
	}
	db.stats.hooked = sc
	return nil
}

// takeLiveDelta reads and resets the batch's delta, inside its
// transaction, before COMMIT.
func takeLiveDelta(ctx context.Context, c *sql.Conn) (int64, error) {
	var n int64
	if err := c.QueryRowContext(ctx, `SELECT n FROM temp.live_delta`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: live-token delta: %w", err)
	}
	if n != 0 {
		if _, err := c.ExecContext(ctx, `UPDATE temp.live_delta SET n = 0`); err != nil {
			return 0, fmt.Errorf("store: live-token delta: %w", err)
		}
	}
	return n, nil
}

// commit commits the writer's transaction and, when tracking, applies the
// batch's delta in the same critical section as the COMMIT (see stats.mu).
func (db *DB) commit(ctx context.Context, c *sql.Conn) error {
	if !db.stats.track {
		_, err := c.ExecContext(ctx, "COMMIT")
		return err
	}
	delta, err := takeLiveDelta(ctx, c)
	if err != nil {
		return err
	}
	db.stats.mu.Lock()
	defer db.stats.mu.Unlock()
	if _, err := c.ExecContext(ctx, "COMMIT"); err != nil {
		return err
	}
	db.stats.applied.Add(delta)
	return nil
}

// RecountActive counts the active tokens now, over the tokens_live index
// on a read connection, and makes that the base of Stats().ActiveTokens,
// as the background loop of Options.ActiveResync does. On ten million
// tokens this takes a while: the server runs it in the background, never
// on the write path. Without ActiveResync it only counts once: the writes
// after it are not followed.
func (db *DB) RecountActive(ctx context.Context) error {
	return db.countErr(ErrCount, db.recountLive(ctx))
}

func (db *DB) recountLive(ctx context.Context) error {
	c, err := db.read.Conn(ctx)
	if err != nil {
		return fmt.Errorf("store: count active tokens: %w", err)
	}
	defer c.Close()
	if _, err := c.ExecContext(ctx, "BEGIN"); err != nil {
		return fmt.Errorf("store: count active tokens: %w", err)
	}
	defer c.ExecContext(context.Background(), "ROLLBACK") //nolint:errcheck // read-only
	// The first read fixes the transaction's snapshot (WAL): take it
	// while no commit is between its COMMIT and its delta.
	db.stats.mu.Lock()
	var one int
	err = c.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&one)
	appliedAtSnapshot := db.stats.applied.Load()
	db.stats.mu.Unlock()
	if err != nil {
		return fmt.Errorf("store: count active tokens: %w", err)
	}
	var n int64
	if err := c.QueryRowContext(ctx, `SELECT count(*) FROM tokens INDEXED BY tokens_live WHERE `+live).Scan(&n); err != nil {
		return fmt.Errorf("store: count active tokens: %w", err)
	}
	db.stats.base.Store(n - appliedAtSnapshot)
	db.stats.known.Store(true)
	return nil
}

// recountLoop counts the live tokens once at once, then every interval
// until Close, correcting the drift from other processes' writes.
func (db *DB) recountLoop(interval time.Duration) {
	defer close(db.stats.done)
	recount := db.RecountActive
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		select {
		case <-db.closed:
		case <-ctx.Done():
		}
		cancel()
	}()
	err := recount(ctx)
	cancel()
	if err != nil && db.log != nil && !errors.Is(err, context.Canceled) {
		db.log("counting active tokens failed", err)
	}
	db.every(interval, "counting active tokens failed", recount)
}

// latestMigration is the name of the newest embedded migration.
func latestMigration() (string, error) {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil || len(names) == 0 {
		return "", fmt.Errorf("store: no embedded migrations: %v", err)
	}
	sort.Strings(names)
	return names[len(names)-1], nil
}

// Ready reports whether the database answers on the read pool and its
// schema is at the newest migration this binary knows, for a readiness
// probe. The error says which is not the case; it carries no secrets.
func (db *DB) Ready(ctx context.Context) error {
	want, err := latestMigration()
	if err != nil {
		return err
	}
	var have sql.NullString
	if err := db.read.QueryRowContext(ctx, `SELECT max(name) FROM schema_migrations`).Scan(&have); err != nil {
		return db.countErr(ErrRead, fmt.Errorf("store: database unreachable: %w", err))
	}
	if have.String != want {
		return fmt.Errorf("store: schema at %q, want %q", have.String, want)
	}
	return nil
}
