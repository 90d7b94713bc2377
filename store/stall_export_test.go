package store

import "time"

// CheckpointPending returns how many WAL frames the last checkpoint left
// outside the database file (-1 before the first checkpoint completes is
// not distinguished: 0).
func (db *DB) CheckpointPending() int64 { return db.ckpt.pending.Load() }

// LongestCheckpoint returns the longest checkpoint since Open and resets it.
func (db *DB) LongestCheckpoint() time.Duration { return time.Duration(db.ckpt.longest.Swap(0)) }

// SetWALRestart turns the checkpointer's RESTART of a big, completely
// copied WAL on (the default) or off, for BenchmarkStalls to compare.
func (db *DB) SetWALRestart(on bool) { db.ckpt.noRestart.Store(!on) }
