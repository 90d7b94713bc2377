package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// checkpointInterval is how often the checkpointer copies committed WAL
// frames back into the database file.
const checkpointInterval = 250 * time.Millisecond

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
			if err := checkpoint(cp); err != nil && db.log != nil {
				db.log("WAL checkpoint failed", err)
			}
		}
	}
}

func checkpoint(cp *sql.DB) error {
	var busy, logFrames, done int
	err := cp.QueryRowContext(context.Background(), `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &logFrames, &done)
	if err != nil {
		return fmt.Errorf("store: checkpoint: %w", err)
	}
	return nil
}
