package store

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"sync/atomic"
	"time"
)

const (
	// checkpointInterval is how often the checkpointer copies committed
	// WAL frames back into the database file.
	checkpointInterval = 100 * time.Millisecond
	// walSoftFrames is how far (in WAL frames, 4 KiB pages) the checkpoint
	// may fall behind before bulk work (chunked revocations, the expiry
	// sweep, seeding) pauses between chunks to let it catch up. Requests
	// never wait for it: a passive checkpoint does not block the writer.
	walSoftFrames = 16384 // 64 MiB
	// walHardLimit is the WAL size at which the checkpointer stops being
	// polite and runs a TRUNCATE checkpoint, which holds the writer while
	// it copies. Bulk work pausing at the soft limit keeps the WAL far
	// below it; reaching it takes a reader that never lets go.
	walHardLimit = 1 << 30
)

// ckptState is what the checkpointer has seen, for benchmarks.
type ckptState struct {
	pending atomic.Int64 // WAL frames not yet in the database file, at the last checkpoint
	longest atomic.Int64 // the longest checkpoint so far, in ns
}

func (s *ckptState) record(d time.Duration) {
	for {
		old := s.longest.Load()
		if int64(d) <= old || s.longest.CompareAndSwap(old, int64(d)) {
			return
		}
	}
}

// checkpointer runs passive checkpoints until Close. A passive checkpoint
// never blocks the writer or readers (SQLite's WAL design); it copies what
// no reader still needs, and once everything is copied the writer starts
// the WAL over. Under a continuous stream of writes it never gets to
// "everything", so it raises walBehind for bulk work to pause on.
func (db *DB) checkpointer(cp *sql.DB) {
	defer close(db.checkpointDone)
	defer cp.Close()
	db.every(checkpointInterval, "WAL checkpoint failed", func(context.Context) error {
		mode := "PASSIVE"
		if fi, err := os.Stat(db.path + "-wal"); err == nil && fi.Size() > walHardLimit {
			mode = "TRUNCATE"
		}
		began := time.Now()
		logFrames, done, err := checkpoint(cp, mode)
		db.ckpt.record(time.Since(began))
		db.countErr(ErrCheckpoint, err)
		if err == nil {
			db.ckpt.pending.Store(int64(logFrames - done))
			db.walBehind.Store(logFrames-done > walSoftFrames || (logFrames > walSoftFrames && done < logFrames))
		}
		return err
	})
}

// checkpoint runs one checkpoint and reports the WAL's frames and how many
// of them are now in the database file.
func checkpoint(cp *sql.DB, mode string) (logFrames, done int, err error) {
	var busy int
	err = cp.QueryRowContext(context.Background(), `PRAGMA wal_checkpoint(`+mode+`)`).Scan(&busy, &logFrames, &done)
	if err != nil {
		return 0, 0, fmt.Errorf("store: %s checkpoint: %w", mode, err)
	}
	return logFrames, done, nil
}

// yieldToCheckpoint is called by bulk work between chunks: while the WAL
// is far ahead of the checkpoint it waits (up to a few checkpoint rounds),
// leaving the writer idle so that the checkpoint completes and the WAL
// starts over. Requests are never made to wait.
func (db *DB) yieldToCheckpoint(ctx context.Context) error {
	for i := 0; db.walBehind.Load() && i < 50; i++ {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-db.closed:
			return errClosed
		case <-time.After(checkpointInterval / 4):
		}
	}
	return nil
}
