package store

import (
	"fmt"
	"slices"
	"time"
)

// CheckpointPending returns how many WAL frames the last checkpoint left
// outside the database file (-1 before the first checkpoint completes is
// not distinguished: 0).
func (db *DB) CheckpointPending() int64 { return db.ckpt.pending.Load() }

// LongestCheckpoint returns the longest checkpoint since Open and resets it.
func (db *DB) LongestCheckpoint() time.Duration { return time.Duration(db.ckpt.longest.Swap(0)) }

// LongestRestart returns the longest hold of the writer for a WAL restart
// since Open (or the last call), and resets it.
func (db *DB) LongestRestart() time.Duration {
	return time.Duration(db.ckpt.longestHold.Swap(0))
}

// stallVariants are the checkpointer tunings BenchmarkStalls compares
// (docs/stalls.md), by name; "default" is production's.
var stallVariants = map[string]ckptTuning{
	"default":   defaultCkptTuning,
	"norestart": func() ckptTuning { t := defaultCkptTuning; t.restart = false; return t }(),
	"off":       func() ckptTuning { t := defaultCkptTuning; t.off = true; return t }(),
	"restart16": func() ckptTuning { t := defaultCkptTuning; t.restartFrames = 4096; return t }(),
	"restart64": func() ckptTuning { t := defaultCkptTuning; t.restartFrames = 16384; return t }(),
	"soft":      func() ckptTuning { t := defaultCkptTuning; t.softFrames = 2048; return t }(),
}

// StallVariants returns the names of the tunings SetStallVariant knows.
func StallVariants() []string {
	names := make([]string, 0, len(stallVariants))
	for name := range stallVariants {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// SetStallVariant makes the checkpointer work as the named variant.
func (db *DB) SetStallVariant(name string) error {
	t, ok := stallVariants[name]
	if !ok {
		return fmt.Errorf("no stall variant %q (have %v)", name, StallVariants())
	}
	db.ckpt.tune.Store(&t)
	return nil
}
