package store_test

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/mattn/go-sqlite3"

	"tokenadmin"
	"tokenadmin/store"
)

// walSequence reads the checkpoint sequence number from the WAL file's
// header, which SQLite increments each time it starts the WAL over.
func walSequence(t *testing.T, path string) uint32 {
	t.Helper()
	f, err := os.Open(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	hdr := make([]byte, 16)
	if _, err := io.ReadFull(f, hdr); err != nil {
		t.Fatalf("WAL header: %v", err)
	}
	return binary.BigEndian.Uint32(hdr[12:])
}

// writeLoad issues tokens from 8 goroutines until stop is called, which
// returns the IDs of every issued (acknowledged) access token.
func writeLoad(t *testing.T, db *store.DB) (stop func() []string) {
	t.Helper()
	var (
		mu   sync.Mutex
		ids  []string
		wg   sync.WaitGroup
		done = make(chan struct{})
	)
	r := tokenadmin.IssueRequest{ClientID: "c1", User: "alice", GrantType: "authorization_code", AccessTTL: time.Hour}
	for range 8 {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				iss, err := db.IssueTokens(context.Background(), r)
				if err != nil {
					t.Errorf("IssueTokens: %v", err)
					return
				}
				mu.Lock()
				ids = append(ids, iss.Access.ID)
				mu.Unlock()
			}
		})
	}
	return func() []string {
		close(done)
		wg.Wait()
		return ids
	}
}

// waitFor polls cond every millisecond for up to a minute.
func waitFor(cond func() bool) bool {
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if cond() {
			return true
		}
	}
	return false
}

// Under writes that never pause (group commit begins the next batch at
// once) SQLite never starts the WAL over by itself: the checkpointer must,
// holding the writer between two transactions, and without losing an
// acknowledged write.
func TestWALRestartsUnderSteadyWrites(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "tokens.db")
	db := openAt(t, path, store.Options{})
	mustApp(t, db, "c1")
	db.SetRestartFrames(256) // 1 MiB
	seq0 := walSequence(t, path)

	stop := writeLoad(t, db)
	restarted := waitFor(func() bool { return db.Stats().WALRestarts >= 3 })
	ids := stop()
	if !restarted {
		t.Fatalf("%d WAL restarts in a minute of steady writes (%d tokens issued), want 3", db.Stats().WALRestarts, len(ids))
	}
	// SQLite writes the new header with the first frame after a restart,
	// so the last one may not show yet.
	if seq := walSequence(t, path); seq < seq0+2 {
		t.Errorf("WAL checkpoint sequence went from %d to %d after %d restarts: the WAL did not start over", seq0, seq, db.Stats().WALRestarts)
	}
	st := db.Stats()
	t.Logf("%d tokens, %d restarts holding the writer %v in all", len(ids), st.WALRestarts, st.WALRestartHold)
	if st.WALRestartHold <= 0 {
		t.Errorf("WALRestartHold = %v after %d restarts, want > 0", st.WALRestartHold, st.WALRestarts)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	raw, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var check string
	if err := raw.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check = %q, %v", check, err)
	}
	want := make(map[string]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	rows, err := raw.Query(`SELECT token_id FROM tokens`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		if want[id] {
			n++
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n != len(ids) {
		t.Errorf("%d of the %d acknowledged tokens are in the database after the restarts", n, len(ids))
	}
}

// A reader on old frames keeps the WAL from starting over (the frames it
// reads would be overwritten): the checkpointer waits for it without
// holding up writes, and restarts the WAL once it is gone.
func TestWALRestartWaitsForOldReaders(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "tokens.db")
	db := openAt(t, path, store.Options{})
	mustApp(t, db, "c1")
	mustIssue(t, db, "c1", "alice", false)

	raw, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	reader, err := raw.BeginTx(context.Background(), &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var before int
	if err := reader.QueryRow(`SELECT count(*) FROM tokens`).Scan(&before); err != nil {
		t.Fatal(err)
	}

	db.SetRestartFrames(256)
	stop := writeLoad(t, db)
	// Writes go on until a checkpoint round finds the WAL past the
	// restart size and could copy only what the reader's snapshot holds.
	grown := waitFor(func() bool { return db.Stats().WALPendingFrames > 1024 })
	if !grown {
		stop()
		t.Fatalf("no checkpoint round left more than 1,024 frames behind the reader in a minute (%d)", db.Stats().WALPendingFrames)
	}
	if n := db.Stats().WALRestarts; n != 0 {
		t.Errorf("%d WAL restarts while a reader was on old frames, want 0", n)
	}
	var still int
	if err := reader.QueryRow(`SELECT count(*) FROM tokens`).Scan(&still); err != nil || still != before {
		t.Errorf("the reader's snapshot changed: %d tokens, then %d (%v)", before, still, err)
	}
	if err := reader.Rollback(); err != nil {
		t.Fatal(err)
	}
	restarted := waitFor(func() bool { return db.Stats().WALRestarts >= 1 })
	ids := stop()
	if !restarted {
		t.Fatalf("no WAL restart in a minute after the reader ended (%d tokens issued)", len(ids))
	}
}

// What TestOtherProcess, run in a process of its own, is to do: open the
// database at otherProcessDB, and either find the token otherProcessToken
// with the store as an admin command would, or (otherProcessExclusive set)
// fail to take the database for itself with locking_mode=EXCLUSIVE.
const (
	otherProcessDB        = "TOKENADMIN_TEST_OTHER_PROCESS_DB"
	otherProcessToken     = "TOKENADMIN_TEST_OTHER_PROCESS_TOKEN"
	otherProcessExclusive = "TOKENADMIN_TEST_OTHER_PROCESS_EXCLUSIVE"
)

// TestOtherProcess is not a test of its own: runOtherProcess runs it in a
// new process, as another program opening the database a server has open.
func TestOtherProcess(t *testing.T) {
	path := os.Getenv(otherProcessDB)
	if path == "" {
		t.Skip("run by runOtherProcess in a process of its own")
	}
	ctx := context.Background()
	if os.Getenv(otherProcessExclusive) != "" {
		raw, err := sql.Open("sqlite3", "file:"+path+"?_locking_mode=EXCLUSIVE&_busy_timeout=0")
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		var n int
		err = raw.QueryRowContext(ctx, `SELECT count(*) FROM tokens`).Scan(&n)
		var se sqlite3.Error
		if !errors.As(err, &se) || se.Code != sqlite3.ErrBusy {
			t.Errorf("reading with locking_mode=EXCLUSIVE while the server has the database open: %d tokens, %v; want SQLITE_BUSY", n, err)
		}
		return
	}
	db, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.GetToken(ctx, os.Getenv(otherProcessToken)); err != nil {
		t.Errorf("GetToken: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// runOtherProcess runs TestOtherProcess in a new process of this test
// binary, with env added to its environment.
func runOtherProcess(t *testing.T, path string, env ...string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestOtherProcess$", "-test.count=1")
	cmd.Env = append(append(os.Environ(), otherProcessDB+"="+path), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("the other process (%q): %v\n%s", env, err, out)
	}
}

// SQLite locks the database file with POSIX advisory locks, which a
// process loses, all of them, when it closes any descriptor of the file
// (sqlite.org/howtocorrupt.html §2.2). A WAL restart writes the database
// file back through a descriptor of its own (flushDB): were that closed,
// the server would keep the file open without its lock, and a process
// that takes the database for itself (locking_mode=EXCLUSIVE, which
// bypasses the -shm file that otherwise still guards it) would read and
// write it alongside the server, and on closing checkpoint and delete the
// WAL the server still writes to.
func TestWALRestartKeepsTheDatabaseLocked(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "tokens.db")
	db := openAt(t, path, store.Options{})
	mustApp(t, db, "c1")
	db.SetRestartFrames(256)
	stop := writeLoad(t, db)
	restarted := waitFor(func() bool { return db.Stats().WALRestarts >= 1 })
	ids := stop()
	if !restarted {
		t.Fatalf("no WAL restart in a minute of steady writes (%d tokens issued)", len(ids))
	}

	runOtherProcess(t, path, otherProcessExclusive+"=1")
	iss, err := db.IssueTokens(context.Background(), tokenadmin.IssueRequest{ClientID: "c1", User: "bob", GrantType: "authorization_code", AccessTTL: time.Hour})
	if err != nil {
		t.Fatalf("IssueTokens after the other process: %v", err)
	}
	runOtherProcess(t, path, otherProcessToken+"="+iss.Access.ID)
}

// restartWAL checks with a NOOP checkpoint, holding the writer, how much
// is left to copy. The driver's SQLite must know the mode: an older one
// takes an unknown mode for PASSIVE, which would copy (and sync) while the
// writer waits.
func TestWALCheckpointNOOPCopiesNothing(t *testing.T) {
	t.Parallel()
	raw := rawDB(t, filepath.Join(t.TempDir(), "noop.db"))
	raw.SetMaxOpenConns(1)
	if _, err := raw.Exec(`PRAGMA wal_autocheckpoint = 0; CREATE TABLE t (v); INSERT INTO t VALUES (1), (2)`); err != nil {
		t.Fatal(err)
	}
	ckpt := func(mode string) (busy, logFrames, done int) {
		t.Helper()
		if err := raw.QueryRow(`PRAGMA wal_checkpoint(`+mode+`)`).Scan(&busy, &logFrames, &done); err != nil {
			t.Fatalf("wal_checkpoint(%s): %v", mode, err)
		}
		return busy, logFrames, done
	}
	for range 2 {
		if busy, logFrames, done := ckpt("NOOP"); busy != 0 || logFrames == 0 || done != 0 {
			t.Fatalf("NOOP on a WAL nothing was copied from = (%d, %d, %d), want (0, >0, 0)", busy, logFrames, done)
		}
	}
	if _, logFrames, done := ckpt("PASSIVE"); done != logFrames {
		t.Fatalf("PASSIVE with no reader copied %d of %d frames", done, logFrames)
	}
}

// A checkpoint whose fsync failed fails the store (checkpointRound), as a
// failed WAL sync does; other checkpoint errors do not.
func TestSyncFailedKnowsSQLiteSyncErrors(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("store: PASSIVE checkpoint: %w", sqlite3.Error{Code: sqlite3.ErrIoErr, ExtendedCode: sqlite3.ErrIoErrFsync}), true},
		{fmt.Errorf("store: PASSIVE checkpoint: %w", sqlite3.Error{Code: sqlite3.ErrIoErr, ExtendedCode: sqlite3.ErrIoErrDirFsync}), true},
		{fmt.Errorf("store: PASSIVE checkpoint: %w", sqlite3.Error{Code: sqlite3.ErrIoErr, ExtendedCode: sqlite3.ErrIoErrWrite}), false},
		{fmt.Errorf("store: RESTART checkpoint: %w", sqlite3.Error{Code: sqlite3.ErrBusy, ExtendedCode: sqlite3.ErrBusy.Extend(0)}), false},
		{errors.New("fsync"), false},
		{nil, false},
	} {
		if got := store.SyncFailed(c.err); got != c.want {
			t.Errorf("SyncFailed(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
