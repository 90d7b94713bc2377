package store_test

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"tokenadmin"
	"tokenadmin/store"
)

func TestStatsActiveTokensFollowEveryWrite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tokens.db")
	clock := newFixedClock(epoch)
	var (
		mu      sync.Mutex
		revoked = map[string]int{}
	)
	db := openAt(t, path, store.Options{Now: clock.Now, ChunkSize: 2, ActiveResync: time.Hour,
		OnRevoke: func(_ context.Context, reason string, n int) {
			mu.Lock()
			revoked[reason] += n
			mu.Unlock()
		}})
	raw := rawDB(t, path)
	mustApp(t, db, "a1")
	mustApp(t, db, "a2")
	for range 3 {
		mustIssue(t, db, "a1", "alice", true)
	}
	mustIssue(t, db, "a2", "bob", false)
	if err := db.RecountActive(ctx); err != nil {
		t.Fatal(err)
	}
	check := func(step string) {
		t.Helper()
		var want int64
		if err := raw.QueryRow(`SELECT count(*) FROM tokens WHERE revoked_at IS NULL AND expired = 0`).Scan(&want); err != nil {
			t.Fatal(err)
		}
		s := db.Stats()
		if !s.ActiveTokensKnown || s.ActiveTokens != want {
			t.Errorf("%s: ActiveTokens = %d (known %v), want %d", step, s.ActiveTokens, s.ActiveTokensKnown, want)
		}
	}
	check("after the count")

	iss := mustIssue(t, db, "a2", "bob", true)
	check("issue")
	if _, err := db.RevokeToken(ctx, tokenadmin.RevokeRequest{TokenID: iss.Refresh.ID, Actor: "bob", Reason: "lost phone"}); err != nil {
		t.Fatal(err)
	}
	check("revoke a family")
	if _, err := db.RevokeToken(ctx, tokenadmin.RevokeRequest{TokenID: iss.Refresh.ID, Actor: "bob"}); err != nil {
		t.Fatal(err)
	}
	check("revoke again")
	if n, err := db.RevokeTokens(ctx, tokenadmin.BulkRevoke{User: "alice", Actor: "admin"}); err != nil || n != 6 {
		t.Fatalf("RevokeTokens = %d, %v; want 6", n, err)
	}
	check("bulk revoke")
	if _, err := db.SetAppState(ctx, "a2", tokenadmin.AppDisabled, "admin"); err != nil {
		t.Fatal(err)
	}
	check("app disabled")

	mustApp(t, db, "a3")
	mustIssue(t, db, "a3", "carol", true)
	clock.ns.Add(int64(48 * time.Hour))
	if _, err := db.SweepExpired(ctx); err != nil {
		t.Fatal(err)
	}
	check("sweep")

	// Another process's writes show at the next count.
	if _, err := raw.Exec(`UPDATE tokens SET expired = 0, revoked_at = NULL`); err != nil {
		t.Fatal(err)
	}
	if err := db.RecountActive(ctx); err != nil {
		t.Fatal(err)
	}
	check("recount after another process's write")

	mu.Lock()
	defer mu.Unlock()
	want := map[string]int{"lost phone": 2, "": 6, tokenadmin.ReasonAppDisabled: 1}
	if len(revoked) != len(want) {
		t.Errorf("OnRevoke saw %v, want %v", revoked, want)
	}
	for k, n := range want {
		if revoked[k] != n {
			t.Errorf("OnRevoke saw %v, want %v", revoked, want)
			break
		}
	}
}

func TestStatsActiveTokensUnknownWithoutTracking(t *testing.T) {
	t.Parallel()
	db := openDB(t, store.Options{})
	mustApp(t, db, "a1")
	mustIssue(t, db, "a1", "alice", true)
	if s := db.Stats(); s.ActiveTokensKnown {
		t.Errorf("Stats() = %+v, want ActiveTokens unknown", s)
	}
}

func TestReady(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tokens.db")
	db := openAt(t, path, store.Options{})
	if err := db.Ready(ctx); err != nil {
		t.Fatalf("Ready on a fresh database: %v", err)
	}
	raw := rawDB(t, path)
	if _, err := raw.Exec(`DELETE FROM schema_migrations WHERE name = (SELECT max(name) FROM schema_migrations)`); err != nil {
		t.Fatal(err)
	}
	if err := db.Ready(ctx); err == nil || !strings.Contains(err.Error(), "schema at") {
		t.Errorf("Ready at an older schema = %v, want a schema error", err)
	}
	db.Close()
	if err := db.Ready(ctx); err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Errorf("Ready after Close = %v, want unreachable", err)
	}
	if got := db.Stats().Errors[store.ErrRead]; got != 1 {
		t.Errorf("read errors = %d, want 1", got)
	}
	if _, err := db.ListActiveTokens(ctx, tokenadmin.TokenFilter{PageSize: 10}); err == nil {
		t.Fatal("ListActiveTokens after Close: no error")
	}
	if got := db.Stats().Errors[store.ErrRead]; got != 2 {
		t.Errorf("read errors = %d, want 2", got)
	}
	// A write after Close is the caller's mistake, not a store failure.
	if _, err := db.IssueTokens(ctx, tokenadmin.IssueRequest{ClientID: "x", User: "u", AccessTTL: time.Hour}); err == nil {
		t.Fatal("IssueTokens after Close: no error")
	}
	if got := db.Stats().Errors[store.ErrWrite]; got != 0 {
		t.Errorf("write errors = %d, want 0", got)
	}
}
