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
	// walRestartFrames is the WAL size (in frames) from which a completely
	// copied WAL is restarted by a RESTART checkpoint (see restart). Each
	// RESTART holds the writer for 40–60 ms on the 2-core VM, which is
	// most of the requests' p99 under load (docs/stalls.md, 2026-11-29):
	// at 256 MiB there are sixteen times fewer of them than at 16 MiB
	// (under 4k revocations a second, one every 3 s or so). Past it, bulk
	// work also pauses until a round copies the WAL completely, so that
	// the RESTART can happen. After a restart the writer's
	// journal_size_limit truncates the file back to 64 MiB.
	walRestartFrames = 65536 // 256 MiB
	// checkpointBusy is the checkpointer's busy timeout (db.go's DSN), and
	// restartBusy the shorter one of a RESTART checkpoint, which holds
	// the writer while it waits.
	checkpointBusy = 100 * time.Millisecond
	restartBusy    = 5 * time.Millisecond
	// restartSlack is how many WAL frames may have come in since the last
	// passive checkpoint for a RESTART to follow it: the RESTART copies
	// them, and syncs the database file, while holding the writer.
	restartSlack = 64
)

// ckptTuning is how the checkpointer works. Production uses
// defaultCkptTuning; BenchmarkStalls swaps in others to compare within one
// run (docs/stalls.md).
type ckptTuning struct {
	// off: no checkpoints at all, to measure what the background work
	// costs requests without them (a benchmark's diagnosis only: the WAL
	// grows without bound).
	off bool
	// restart: RESTART a big WAL once a passive round copied it (restart).
	restart bool
	// restartFrames: the WAL size (in frames) from which a completely
	// copied WAL is restarted.
	restartFrames int
	// restartBusy is the RESTART's busy timeout: how long it may wait for
	// the write lock and for the readers of old frames.
	restartBusy time.Duration
	// backlogFrames: a round that found at least this many frames new
	// since the previous one brings the next round forward to
	// backlogInterval, so that each round copies (and its database fsync
	// writes back) less. 0: every round is checkpointInterval apart.
	backlogFrames   int
	backlogInterval time.Duration
	// softFrames is how far (in frames) the checkpoint may lag before bulk
	// work pauses (walBehind).
	softFrames int
}

// defaultCkptTuning is the checkpointer's production tuning.
var defaultCkptTuning = ckptTuning{
	restart:       true,
	restartFrames: walRestartFrames,
	restartBusy:   restartBusy,
	softFrames:    walSoftFrames,
}

// ckptState is what the checkpointer has seen, for benchmarks, and the
// tuning they set.
type ckptState struct {
	pending atomic.Int64 // WAL frames not yet in the database file, at the last checkpoint
	longest atomic.Int64 // the longest checkpoint so far, in ns
	// the longest RESTART so far (in ns), which holds the writer
	longestRestart atomic.Int64
	// tune, when set, replaces defaultCkptTuning (benchmarks only).
	tune atomic.Pointer[ckptTuning]
}

func (s *ckptState) tuning() *ckptTuning {
	if t := s.tune.Load(); t != nil {
		return t
	}
	return &defaultCkptTuning
}

func (s *ckptState) record(d time.Duration) { raise(&s.longest, d) }

// raise makes v at least d.
func raise(v *atomic.Int64, d time.Duration) {
	for {
		old := v.Load()
		if int64(d) <= old || v.CompareAndSwap(old, int64(d)) {
			return
		}
	}
}

// checkpointer runs passive checkpoints until Close. A passive checkpoint
// never blocks the writer or readers (SQLite's WAL design); it copies what
// no reader still needs, and once everything is copied the writer starts
// the WAL over. Under a continuous stream of writes it never gets to
// "everything", so it raises walBehind for bulk work to pause on; and a
// WAL it did copy completely is restarted by restart, since the writer
// rarely gets to.
func (db *DB) checkpointer(cp *sql.DB) {
	defer close(db.checkpointDone)
	defer cp.Close()
	last := 0 // the WAL's frames at the previous round
	timer := time.NewTimer(checkpointInterval)
	defer timer.Stop()
	for {
		select {
		case <-db.closed:
			return
		case <-timer.C:
		}
		t := db.ckpt.tuning()
		if t.off {
			timer.Reset(checkpointInterval)
			continue
		}
		logFrames, err := db.checkpointRound(cp, t)
		if err != nil && db.log != nil {
			db.log("WAL checkpoint failed", err)
		}
		fresh := logFrames - last
		if logFrames < last { // the WAL started over
			fresh = logFrames
		}
		last = logFrames
		next := checkpointInterval
		if t.backlogFrames > 0 && fresh >= t.backlogFrames {
			next = t.backlogInterval
		}
		timer.Reset(next)
	}
}

// checkpointRound runs one round: a passive checkpoint (TRUNCATE past
// walHardLimit), then, for a big WAL that it copied completely, restart.
// It returns the WAL's size in frames at the first checkpoint.
func (db *DB) checkpointRound(cp *sql.DB, t *ckptTuning) (int, error) {
	mode := "PASSIVE"
	if fi, err := os.Stat(db.path + "-wal"); err == nil && fi.Size() > walHardLimit {
		mode = "TRUNCATE"
	}
	began := time.Now()
	logFrames, done, err := checkpoint(cp, mode)
	db.ckpt.record(time.Since(began))
	first := logFrames
	// A big WAL, completely copied: copy again what came in
	// meanwhile until that is little, then restart the WAL.
	for i, copied := 0, logFrames; err == nil && mode == "PASSIVE" && t.restart && logFrames >= t.restartFrames && i < 4; i++ {
		if logFrames == done && copied <= restartSlack {
			began = time.Now()
			var restarted bool
			restarted, err = restart(cp, t.restartBusy)
			db.ckpt.record(time.Since(began))
			if restarted {
				raise(&db.ckpt.longestRestart, time.Since(began))
			}
			break
		}
		prev := logFrames
		began = time.Now()
		logFrames, done, err = checkpoint(cp, mode)
		db.ckpt.record(time.Since(began))
		copied = logFrames - prev
	}
	db.countErr(ErrCheckpoint, err)
	if err == nil {
		db.ckpt.pending.Store(int64(logFrames - done))
		soft := t.softFrames
		db.walBehind.Store(logFrames-done > soft || (logFrames > t.restartFrames && done < logFrames))
	}
	return first, err
}

// restart runs a RESTART checkpoint on a WAL that the last passive one
// copied completely, so that the next write starts the WAL over instead of
// appending to it. SQLite restarts the WAL by itself only when a write
// transaction begins after a complete checkpoint with no reader left on
// the old frames; under a steady stream of writes (group commit begins the
// next batch at once) that moment never comes, and the WAL grows to
// walHardLimit, whose TRUNCATE checkpoint then held the writer for 0.7 s
// (docs/stalls.md). RESTART holds the writer lock while it waits for the
// readers of old frames, so it waits at most restartBusy for them and
// otherwise gives up until the next round (restarted is false then).
func restart(cp *sql.DB, busyTimeout time.Duration) (restarted bool, err error) {
	ctx := context.Background()
	c, err := cp.Conn(ctx)
	if err != nil {
		return false, fmt.Errorf("store: RESTART checkpoint: %w", err)
	}
	defer c.Close()
	var busy, logFrames, done int
	_, err = c.ExecContext(ctx, fmt.Sprintf(`PRAGMA busy_timeout = %d`, busyTimeout.Milliseconds()))
	if err == nil {
		err = c.QueryRowContext(ctx, `PRAGMA wal_checkpoint(RESTART)`).Scan(&busy, &logFrames, &done)
	}
	if _, rerr := c.ExecContext(ctx, fmt.Sprintf(`PRAGMA busy_timeout = %d`, checkpointBusy.Milliseconds())); err == nil {
		err = rerr
	}
	if err != nil {
		return false, fmt.Errorf("store: RESTART checkpoint: %w", err)
	}
	return busy == 0, nil
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
