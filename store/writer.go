package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// errClosed is returned for writes submitted after Close.
var errClosed = errors.New("store: closed")

// conn is what a write runs against: the writer's connection, inside the
// batch transaction and the write's own savepoint.
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

// update runs fn in a write transaction and returns once that transaction
// is durably committed (or has failed). Concurrent updates share one
// transaction and one fsync, so an error from fn must not undo the others'
// changes: fn may read freely but make at most ONE change (one INSERT,
// UPDATE or DELETE statement, triggers included), which SQLite applies
// atomically or not at all. Use updateMulti for more than one change.
func (db *DB) update(ctx context.Context, fn func(ctx context.Context, c conn) error) error {
	return db.submit(&writeOp{ctx: ctx, fn: fn, done: make(chan error, 1)})
}

// updateMulti is update for fn that makes several changes: it runs inside
// a savepoint of its own, so an error from fn undoes all of fn's changes
// and nothing else. The savepoint costs two statements more.
func (db *DB) updateMulti(ctx context.Context, fn func(ctx context.Context, c conn) error) error {
	return db.submit(&writeOp{ctx: ctx, fn: fn, savepoint: true, done: make(chan error, 1)})
}

func (db *DB) submit(op *writeOp) error {
	ctx := op.ctx
	select {
	case db.writes <- op:
	case <-db.closed:
		return errClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once queued the write is either run or failed by the writer; waiting
	// for it keeps "acknowledged" meaning "committed" even if ctx ends.
	select {
	case err := <-op.done:
		return err
	case <-db.writerDone:
		select {
		case err := <-op.done:
			return err
		default:
			return errClosed // queued after the writer's last drain
		}
	}
}

// writer owns the single write connection and commits queued writes in
// batches until Close, then runs what is still queued and stops.
func (db *DB) writer() {
	defer close(db.writerDone)
	batch := make([]*writeOp, 0, db.maxBatch)
	for {
		select {
		case op := <-db.writes:
			batch = append(batch, op)
		case <-db.closed:
			for {
				select {
				case op := <-db.writes:
					db.runBatch([]*writeOp{op})
				default:
					db.failQueued()
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
		db.runBatch(batch)
		clear(batch)
		batch = batch[:0]
	}
}

// failQueued answers writes that raced with Close; any queued later still
// return, because update also waits on writerDone.
func (db *DB) failQueued() {
	for {
		select {
		case op := <-db.writes:
			op.done <- errClosed
		default:
			return
		}
	}
}

func (db *DB) runBatch(batch []*writeOp) {
	ctx := context.Background()
	results := make([]error, len(batch))
	err := db.runTx(ctx, batch, results)
	for i, op := range batch {
		if err != nil && results[i] == nil {
			results[i] = err
		}
		op.done <- results[i]
	}
}

func (db *DB) runTx(ctx context.Context, batch []*writeOp, results []error) (err error) {
	c, err := db.write.Conn(ctx)
	if err != nil {
		return fmt.Errorf("store: writer connection: %w", err)
	}
	defer c.Close()
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
			results[i] = db.runOp(ctx, c, op)
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
	if _, err := c.ExecContext(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
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
