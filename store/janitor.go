package store

import (
	"context"
	"fmt"
	"sync"
	"time"

	"tokenadmin"
)

// JanitorOptions configure the janitor: a background Purge every Interval.
type JanitorOptions struct {
	// Interval between runs; zero (the default) runs no janitor. The
	// first run starts one Interval after Open.
	Interval time.Duration
	// RevokedRetention, ExpiredRetention and BatchSize are Purge's; zero
	// means its defaults (7 days, 1 day, DefaultPurgeBatch).
	RevokedRetention time.Duration
	ExpiredRetention time.Duration
	BatchSize        int
	// Report, when set, is called after every run with its summary (the
	// server logs it). Failures also go to Options.Log.
	Report func(JanitorRun)
}

// JanitorRun is the summary of one janitor run.
type JanitorRun struct {
	Started  time.Time     // by the store's clock
	Duration time.Duration // wall time
	Purged   PurgeResult   // what its committed batches deleted
	Err      error         // why it stopped early; nil when it finished
}

// JanitorStats are the janitor's counters since Open, for metrics.
type JanitorStats struct {
	Runs          int64         // finished runs, failed ones included
	PurgedRevoked int64         // revoked tokens purged, updated after every batch
	PurgedExpired int64         // expired tokens purged, updated after every batch
	LastRun       time.Time     // start of the last finished run (store clock); zero before the first
	LastDuration  time.Duration // how long the last finished run took
	LastError     error         // of the last finished run; nil when it succeeded
}

// janitorState is the janitor's part of DB.
type janitorState struct {
	done  chan struct{} // closed when the janitor loop has stopped
	mu    sync.Mutex
	stats JanitorStats
}

// JanitorStats returns the janitor's counters. They stay zero when the
// janitor is off; Purge called directly is not counted.
func (db *DB) JanitorStats() JanitorStats {
	db.janitor.mu.Lock()
	defer db.janitor.mu.Unlock()
	return db.janitor.stats
}

// startJanitor starts the janitor loop when o asks for one; Close stops it
// between two batches and waits for it.
func (db *DB) startJanitor(o JanitorOptions) {
	db.janitor.done = make(chan struct{})
	if o.Interval <= 0 {
		close(db.janitor.done)
		return
	}
	go func() {
		defer close(db.janitor.done)
		db.every(o.Interval, "janitor: purge failed", func(ctx context.Context) error {
			return db.janitorRun(ctx, o)
		})
	}()
}

// janitorRun runs one purge and records it.
func (db *DB) janitorRun(ctx context.Context, o JanitorOptions) error {
	run := JanitorRun{Started: db.now()}
	start := time.Now()
	run.Purged, run.Err = db.purge(ctx, PurgeOptions{
		RevokedRetention: o.RevokedRetention,
		ExpiredRetention: o.ExpiredRetention,
		BatchSize:        o.BatchSize,
	}, func(revoked bool, n int64) {
		db.janitor.mu.Lock()
		defer db.janitor.mu.Unlock()
		if revoked {
			db.janitor.stats.PurgedRevoked += n
		} else {
			db.janitor.stats.PurgedExpired += n
		}
	})
	run.Duration = time.Since(start)
	if ctx.Err() != nil {
		return nil // stopped by Close: not a run to report
	}
	db.janitor.mu.Lock()
	s := &db.janitor.stats
	s.Runs++
	s.LastRun, s.LastDuration, s.LastError = run.Started, run.Duration, run.Err
	db.janitor.mu.Unlock()
	if n := run.Purged.Total(); n > 0 || run.Err != nil {
		reason := fmt.Sprintf("janitor: %d revoked, %d expired", run.Purged.Revoked, run.Purged.Expired)
		err := tokenadmin.RecordAudit(ctx, db, tokenadmin.Caller{Name: "system"}, tokenadmin.AuditPurge, "tokens", reason, int(n), run.Err)
		if err != nil && db.log != nil {
			db.log("janitor: audit record failed", err)
		}
	}
	if o.Report != nil {
		o.Report(run)
	}
	return run.Err
}
