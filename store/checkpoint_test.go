package store_test

import (
	"context"
	"database/sql"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

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
	// Writes go on past the restart size, for ten checkpoint rounds.
	grown := waitFor(func() bool {
		fi, err := os.Stat(path + "-wal")
		return err == nil && fi.Size() > 4<<20
	})
	time.Sleep(time.Second)
	if !grown {
		stop()
		t.Fatal("the WAL did not grow past 4 MiB in a minute")
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
