package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/mattn/go-sqlite3"
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
	// it copies. Restarting the WAL (restartWAL) keeps it far below that;
	// reaching it takes a reader that never lets go.
	walHardLimit = 1 << 30
	// walRestartFrames is the WAL size (in frames) from which the
	// checkpointer restarts the WAL (restartWAL). Each restart costs one
	// write-back of the database file and a hold of the writer of 1–4 ms;
	// at 256 MiB there is one every 3 s or so under full revocation load,
	// and requests' p99 was lower than at 64 MiB (docs/stalls.md). While
	// the WAL is past it, bulk work pauses so that the writer gets between
	// two short transactions. The WAL file keeps its size after a restart
	// (the writer's journal_size_limit, db.go).
	walRestartFrames = 65536 // 256 MiB
	// checkpointBusy is the checkpointer's busy timeout (db.go's DSN).
	checkpointBusy = 100 * time.Millisecond
	// restartSlack is how many WAL frames restartWAL copies (and writes
	// back) while holding the writer at most; with more it lets go.
	restartSlack = 64
	// restartHoldWait is how long restartWAL waits for the writer to get
	// between two transactions (a batch of requests takes well under a
	// millisecond; a bulk chunk longer), and restartTries how often it
	// tries, and how often it checks for readers on the old frames while
	// holding the writer (100 µs apart).
	restartHoldWait = 2 * time.Millisecond
	restartTries    = 4
)

// ckptTuning is how the checkpointer works. Production uses
// defaultCkptTuning; BenchmarkStalls swaps in others to compare within one
// run (docs/stalls.md).
type ckptTuning struct {
	// off: no checkpoints at all, to measure what the background work
	// costs requests without them (a benchmark's diagnosis only: the WAL
	// grows without bound).
	off bool
	// restart: restart a big WAL (restartWAL).
	restart bool
	// restartFrames: the WAL size (in frames) from which it is restarted.
	restartFrames int
	// softFrames is how far (in frames) the checkpoint may lag before bulk
	// work pauses (walBehind).
	softFrames int
}

// defaultCkptTuning is the checkpointer's production tuning.
var defaultCkptTuning = ckptTuning{
	restart:       true,
	restartFrames: walRestartFrames,
	softFrames:    walSoftFrames,
}

// ckptState is what the checkpointer has seen, for monitoring and
// benchmarks, and the tuning benchmarks set.
type ckptState struct {
	pending atomic.Int64 // WAL frames not yet in the database file, at the last checkpoint
	longest atomic.Int64 // the longest checkpoint so far, in ns
	// restarts counts WAL restarts; held is the time restart attempts held
	// the writer (ns), longestHold the longest such hold (ns, benchmarks
	// reset it).
	restarts    atomic.Int64
	held        atomic.Int64
	longestHold atomic.Int64
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
// no reader still needs. Under a continuous stream of writes it never
// catches up, so it raises walBehind for bulk work to pause on, and
// restarts a big WAL itself (restartWAL).
func (db *DB) checkpointer(cp *sql.DB) {
	defer close(db.checkpointDone)
	defer cp.Close()
	ticker := time.NewTicker(checkpointInterval)
	defer ticker.Stop()
	for {
		select {
		case <-db.closed:
			return
		case <-ticker.C:
		}
		t := db.ckpt.tuning()
		if t.off {
			continue
		}
		if err := db.checkpointRound(cp, t); err != nil && db.log != nil {
			db.log("WAL checkpoint failed", err)
		}
	}
}

// checkpointRound runs one round: a passive checkpoint (TRUNCATE past
// walHardLimit), then, for a big WAL, restartWAL.
func (db *DB) checkpointRound(cp *sql.DB, t *ckptTuning) error {
	mode := "PASSIVE"
	if fi, err := os.Stat(db.path + "-wal"); err == nil && fi.Size() > walHardLimit {
		mode = "TRUNCATE"
	}
	began := time.Now()
	logFrames, done, err := checkpoint(cp, mode)
	db.ckpt.record(time.Since(began))
	restarted := false
	if err == nil && mode == "PASSIVE" && t.restart && logFrames >= t.restartFrames && done == logFrames {
		restarted, err = db.restartWAL(cp)
		if restarted {
			db.ckpt.restarts.Add(1)
		}
	}
	db.countErr(ErrCheckpoint, err)
	if syncFailed(err) {
		// A checkpoint whose sync failed may have lost pages that only the
		// WAL still holds; a later checkpoint whose sync succeeds would
		// let the WAL restart without them (DB.fail).
		db.fail(err)
	}
	if err == nil {
		db.ckpt.pending.Store(int64(logFrames - done))
		// Bulk work pauses while the checkpoint lags, and while a big WAL
		// waits for its restart (which needs the writer between two short
		// transactions).
		db.walBehind.Store(logFrames-done > t.softFrames || (t.restart && logFrames > t.restartFrames && !restarted))
	}
	return err
}

// restartWAL starts a big WAL over, holding the writer for 1–4 ms.
//
// SQLite starts the WAL over when a write transaction begins on a WAL that
// is completely copied into the database file and has no reader left on
// its frames. Under a steady stream of writes that moment never comes
// (group commit begins the next batch at once): the WAL grew to the 1 GiB
// TRUNCATE, which held the writer for 0.5–0.7 s. A RESTART checkpoint
// holds the write lock until the WAL is completely copied, and completely
// includes synced: a passive round that did not catch up with the writer
// copies pages without syncing the database file, so the first complete
// one writes back all the pages the cycle copied, 40–60 ms on the 2-core
// VM (docs/stalls.md). So instead:
//
//  1. flushDB writes the database file back while the writer runs, until
//     little is left to write (otherwise it starts over);
//  2. holdWriter stops the writer between two transactions;
//  3. if the writer committed more than restartSlack frames since step 1
//     (a NOOP checkpoint tells), their pages would have to be written back
//     while holding it: it lets the writer go on and starts over;
//  4. a passive checkpoint copies the few frames committed since, and
//     syncs: the WAL is now completely copied;
//  5. a RESTART checkpoint, which has nothing left to copy or sync, checks
//     that no reader is on the old frames (readers that begin from now on
//     read the database file), a few times, 100 µs apart;
//  6. the writer goes on, and its next transaction starts the WAL over.
//
// It gives up after restartTries attempts (bulk work keeps the writer
// busy, or a reader stays on the old frames); the next round tries again.
// Every hold of the writer, whether it restarted the WAL or not, counts
// in ckptState's held and longestHold.
func (db *DB) restartWAL(cp *sql.DB) (restarted bool, err error) {
	for range restartTries {
		select {
		case <-db.closed:
			return false, nil
		default:
		}
		quick, err := db.flushDB(cp)
		if err != nil {
			return false, err
		}
		if !quick {
			continue
		}
		release := db.holdWriter(restartHoldWait)
		if release == nil {
			continue
		}
		restarted, held, err := restartHeld(cp)
		close(release)
		db.ckpt.held.Add(int64(held))
		raise(&db.ckpt.longestHold, held)
		if restarted || err != nil {
			return restarted, err
		}
	}
	return false, nil
}

// restartHeld is restartWAL's steps 3 to 5, with the writer held.
func restartHeld(cp *sql.DB) (restarted bool, held time.Duration, err error) {
	began := time.Now()
	logFrames, done, err := checkpoint(cp, "NOOP")
	if err != nil || logFrames-done > restartSlack {
		return false, time.Since(began), err
	}
	logFrames, done, err = checkpoint(cp, "PASSIVE")
	for try := 0; err == nil && logFrames == done && !restarted && try < restartTries; try++ {
		if try > 0 {
			time.Sleep(100 * time.Microsecond)
		}
		restarted, err = restartNoWait(cp)
	}
	return restarted, time.Since(began), err
}

// restartNoWait runs a RESTART checkpoint that does not wait for readers:
// with a zero busy timeout it reports busy at once if one is still on the
// old frames (restarted is false then).
func restartNoWait(cp *sql.DB) (restarted bool, err error) {
	ctx := context.Background()
	c, err := cp.Conn(ctx)
	if err != nil {
		return false, fmt.Errorf("store: RESTART checkpoint: %w", err)
	}
	defer c.Close()
	var busy, logFrames, done int
	_, err = c.ExecContext(ctx, `PRAGMA busy_timeout = 0`)
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

// flushDB writes the database file's dirty pages back (fdatasync) and
// copies what the writer committed meanwhile, a few times, until a round
// is quick: each sync writes back what the round before copied. It syncs
// through db.file, never a descriptor of its own (Open says why).
//
// quick is false when even the last round was slow: what it copied would
// then be written back while holding the writer, so restartWAL does not
// hold it. A failed sync fails the store, as a failed WAL sync does
// (DB.fail): the kernel may have dropped the pages it could not write, and
// a later sync that succeeds would let the WAL restart without them.
func (db *DB) flushDB(cp *sql.DB) (quick bool, err error) {
	for range 4 {
		began := time.Now()
		if err := datasync(db.file); err != nil {
			err = fmt.Errorf("store: flush database file: %w", err)
			db.fail(err)
			return false, err
		}
		if _, _, err := checkpoint(cp, "PASSIVE"); err != nil {
			return false, err
		}
		if time.Since(began) < 2*time.Millisecond {
			return true, nil
		}
	}
	return false, nil
}

// holdWriter stops the writer between two transactions, waiting at most
// wait for it to get there, and returns the channel to close to let it go
// on; nil if it did not stop in time.
func (db *DB) holdWriter(wait time.Duration) chan struct{} {
	release := make(chan struct{})
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case db.hold <- release:
		return release
	case <-timer.C:
	case <-db.closed:
	}
	return nil
}

// syncFailed reports whether err is SQLite failing to sync a file.
func syncFailed(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && (se.ExtendedCode == sqlite3.ErrIoErrFsync || se.ExtendedCode == sqlite3.ErrIoErrDirFsync)
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
