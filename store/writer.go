package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/mattn/go-sqlite3"
)

// errClosed is returned for writes submitted after Close.
var errClosed = errors.New("store: closed")

// conn is what a write runs against: the writer's connection, inside the
// batch transaction (and, for updateMulti, the write's own savepoint).
type conn interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

type writeOp struct {
	ctx       context.Context
	fn        func(ctx context.Context, c conn) error
	savepoint bool       // run fn inside a savepoint of its own
	done      chan error // buffered, receives exactly one result
}

// committed is a batch whose transaction has ended, on its way to the
// syncer, which answers its writes once the WAL is on disk.
type committed struct {
	ops     []*writeOp
	results []error
	synced  bool // nothing to sync: the transaction failed, or was synced inline
}

// update runs fn in a write transaction and returns once that transaction
// is durably committed (or has failed). Concurrent updates share one
// transaction and one fsync, so an error from fn must not undo the others'
// changes: fn may read freely but make at most ONE change (one INSERT,
// UPDATE or DELETE statement, triggers included), which SQLite applies
// atomically or not at all. Use updateMulti for more than one change.
func (db *DB) update(ctx context.Context, fn func(ctx context.Context, c conn) error) error {
	return db.countErr(ErrWrite, db.submit(&writeOp{ctx: ctx, fn: fn, done: make(chan error, 1)}))
}

// updateMulti is update for fn that makes several changes: it runs inside
// a savepoint of its own, so an error from fn undoes all of fn's changes
// and nothing else. The savepoint costs two statements more.
func (db *DB) updateMulti(ctx context.Context, fn func(ctx context.Context, c conn) error) error {
	return db.countErr(ErrWrite, db.submit(&writeOp{ctx: ctx, fn: fn, savepoint: true, done: make(chan error, 1)}))
}

func (db *DB) submit(op *writeOp) error {
	if err := db.failure(); err != nil {
		return err
	}
	select {
	case db.writes <- op:
	case <-db.closed:
		return errClosed
	case <-op.ctx.Done():
		return op.ctx.Err()
	}
	// Once queued the write is either run or failed; waiting for it keeps
	// "acknowledged" meaning "durably committed" even if ctx ends.
	select {
	case err := <-op.done:
		return err
	case <-db.stopped:
		select {
		case err := <-op.done:
			return err
		default:
			return errClosed // queued after the writer's last drain
		}
	}
}

// writer owns the single write connection and commits queued writes in
// batches until Close, then runs what is still queued and stops. It hands
// each committed batch to the syncer and goes on with the next one while
// the WAL is being synced, so an fsync never holds the write lock.
func (db *DB) writer() {
	defer close(db.syncs)
	batch := make([]*writeOp, 0, db.maxBatch)
	for {
		select {
		case op := <-db.writes:
			batch = append(batch, op)
		case release := <-db.hold:
			// The checkpointer restarts the WAL while no transaction is
			// open (checkpoint.go's restartWAL).
			<-release
			continue
		case <-db.closed:
			for {
				select {
				case op := <-db.writes:
					db.syncs <- db.runBatch([]*writeOp{op})
				default:
					return
				}
			}
		}
	fill:
		for len(batch) < db.maxBatch {
			select {
			case op := <-db.writes:
				batch = append(batch, op)
			default:
				break fill
			}
		}
		db.syncs <- db.runBatch(batch)
		batch = make([]*writeOp, 0, db.maxBatch)
	}
}

// syncer answers committed batches once the WAL holding them is on disk:
// one fsync covers every batch committed before it. After the writer has
// stopped it answers writes that raced with Close, then marks the store
// stopped.
func (db *DB) syncer() {
	defer close(db.stopped)
	defer func() {
		if db.wal != nil {
			db.wal.Close()
		}
	}()
	for c := range db.syncs {
		pending := []*committed{c}
	drain:
		for {
			select {
			case c, ok := <-db.syncs:
				if !ok {
					break drain
				}
				pending = append(pending, c)
			default:
				break drain
			}
		}
		syncErr := db.failure()
		for _, c := range pending {
			if !c.synced && syncErr == nil {
				if syncErr = db.syncWAL(); syncErr != nil {
					db.fail(syncErr)
				}
				break
			}
		}
		for _, c := range pending {
			for i, op := range c.ops {
				err := c.results[i]
				if err == nil && !c.synced && syncErr != nil {
					err = syncErr
				}
				op.done <- err
			}
		}
	}
	for {
		select {
		case op := <-db.writes:
			op.done <- errClosed
		default:
			return
		}
	}
}

// fail marks the store failed after a sync error (of the WAL, or of the
// database file in a checkpoint, checkpoint.go). Linux reports a
// failed fsync once and may drop the unwritten pages, so a later fsync that
// succeeds proves nothing about them: no write may be acknowledged any
// more, and the process must restart (SQLite recovers from the WAL).
func (db *DB) fail(err error) {
	db.countErr(ErrSync, err)
	if db.failed.CompareAndSwap(nil, err) && db.log != nil {
		db.log("sync failed: refusing every write until restart", err)
	}
}

// failure returns the error that failed the store, or nil.
func (db *DB) failure() error {
	if err, _ := db.failed.Load().(error); err != nil {
		return fmt.Errorf("store: failed earlier, restart needed: %w", err)
	}
	return nil
}

// syncWAL makes every committed transaction durable by syncing the WAL
// file. The writer's connection runs with synchronous=NORMAL, under which
// SQLite itself syncs the WAL only before a checkpoint (and the database
// file after one); this fsync, after every commit and before any write is
// acknowledged, is what makes an acknowledged write survive a power cut.
func (db *DB) syncWAL() error {
	if db.syncHook != nil {
		if err := db.syncHook(); err != nil {
			return err
		}
	}
	name := db.path + "-wal"
	if db.wal != nil {
		// SQLite deletes the WAL when the last connection to the database
		// closes; another process may then have made a new one.
		a, errA := os.Stat(name)
		b, errB := db.wal.Stat()
		if errA != nil || errB != nil || !os.SameFile(a, b) {
			db.wal.Close()
			db.wal = nil
		}
	}
	if db.wal == nil {
		f, err := os.Open(name)
		if err != nil {
			return fmt.Errorf("store: sync: %w", err)
		}
		// The WAL's directory entry must be durable too.
		if err := syncDir(filepath.Dir(name)); err != nil {
			f.Close()
			return err
		}
		db.wal = f
	}
	if err := datasync(db.wal); err != nil {
		return fmt.Errorf("store: sync: %w", err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("store: sync: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("store: sync: %w", err)
	}
	return nil
}

// runBatch runs a batch in one transaction.
func (db *DB) runBatch(batch []*writeOp) *committed {
	c := &committed{ops: batch, results: make([]error, len(batch)), synced: db.syncInline}
	if err := db.runTx(context.Background(), batch, c.results); err != nil {
		for i := range c.results {
			if c.results[i] == nil {
				c.results[i] = err
			}
		}
		c.synced = true // nothing was committed
	}
	return c
}

func (db *DB) runTx(ctx context.Context, batch []*writeOp, results []error) (err error) {
	c, err := db.write.Conn(ctx)
	if err != nil {
		return fmt.Errorf("store: writer connection: %w", err)
	}
	defer c.Close()
	if db.stats.track {
		if err := db.hookLive(ctx, c); err != nil {
			return err
		}
	}
	if _, err := c.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	defer func() {
		if err != nil {
			c.ExecContext(ctx, "ROLLBACK")
		}
	}()
	for i, op := range batch {
		if err := op.ctx.Err(); err != nil {
			results[i] = err
			continue
		}
		if !op.savepoint {
			if results[i] = db.runOp(ctx, c, op); results[i] != nil && !inTransaction(c) {
				// SQLite rolled the whole transaction back (SQLITE_FULL,
				// IOERR, …): the batch's earlier writes are gone, and later
				// ones would run outside any transaction.
				return fmt.Errorf("store: transaction rolled back: %w", results[i])
			}
			continue
		}
		if _, err := c.ExecContext(ctx, "SAVEPOINT w"); err != nil {
			return fmt.Errorf("store: savepoint: %w", err)
		}
		if results[i] = db.runOp(ctx, c, op); results[i] != nil {
			if _, err := c.ExecContext(ctx, "ROLLBACK TO w"); err != nil {
				return fmt.Errorf("store: rollback to savepoint: %w", err)
			}
		}
		if _, err := c.ExecContext(ctx, "RELEASE w"); err != nil {
			return fmt.Errorf("store: release savepoint: %w", err)
		}
	}
	if err := db.commit(ctx, c); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

// inTransaction reports whether c still has a transaction open.
func inTransaction(c *sql.Conn) bool {
	open := false
	c.Raw(func(dc any) error {
		if sc, ok := dc.(*sqlite3.SQLiteConn); ok {
			open = !sc.AutoCommit()
		}
		return nil
	})
	return open
}

// runOp runs one write, turning a panic into an error so that one bad
// write cannot take the writer (and every later write) down.
func (db *DB) runOp(ctx context.Context, c conn, op *writeOp) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("store: panic in write: %v", r)
		}
	}()
	return op.fn(ctx, c)
}
