package store

import "time"

// CheckpointPending returns how many WAL frames the last checkpoint left
// outside the database file (-1 before the first checkpoint completes is
// not distinguished: 0).
func (db *DB) CheckpointPending() int64 { return db.ckpt.pending.Load() }

// LongestCheckpoint returns the longest checkpoint since Open and resets it.
func (db *DB) LongestCheckpoint() time.Duration { return time.Duration(db.ckpt.longest.Swap(0)) }
