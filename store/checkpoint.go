package store

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"time"
)

const (
	// checkpointInterval is how often the checkpointer copies committed
	// WAL frames back into the database file.
	checkpointInterval = 250 * time.Millisecond
	// walHardLimit bounds the WAL. Passive checkpoints keep it small under
	// any ordinary load; only a write load faster than the disk can absorb
	// (or a reader that never lets go) outgrows it, and then the
	// checkpointer makes the writer wait for one full checkpoint.
	walHardLimit = 256 << 20
)

// checkpointer runs passive checkpoints until Close. A passive checkpoint
// never blocks the writer or readers (SQLite's WAL design); it only copies
// what no reader still needs, and the writer then reuses the WAL from the
// start.
func (db *DB) checkpointer(cp *sql.DB) {
	defer close(db.checkpointDone)
	defer cp.Close()
	t := time.NewTicker(checkpointInterval)
	defer t.Stop()
	for {
		select {
		case <-db.closed:
			return
		case <-t.C:
			mode := "PASSIVE"
			if fi, err := os.Stat(db.path + "-wal"); err == nil && fi.Size() > walHardLimit {
				mode = "TRUNCATE"
			}
			if err := checkpoint(cp, mode); err != nil && db.log != nil {
				db.log("WAL checkpoint failed", err)
			}
		}
	}
}

// checkpoint runs one checkpoint: PASSIVE, or TRUNCATE, which waits for the
// writer and readers (up to the busy timeout) and empties the WAL.
func checkpoint(cp *sql.DB, mode string) error {
	var busy, logFrames, done int
	err := cp.QueryRowContext(context.Background(), `PRAGMA wal_checkpoint(`+mode+`)`).Scan(&busy, &logFrames, &done)
	if err != nil {
		return fmt.Errorf("store: %s checkpoint: %w", mode, err)
	}
	return nil
}
