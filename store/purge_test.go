package store_test

import (
	"context"
	"errors"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"tokenadmin"
	"tokenadmin/store"
)

const day = 24 * time.Hour

// issueTTL issues one access token of user with the given lifetime.
func issueTTL(t testing.TB, db *store.DB, user string, ttl time.Duration) *tokenadmin.Token {
	t.Helper()
	iss, err := db.IssueTokens(context.Background(), tokenadmin.IssueRequest{ClientID: "a1", User: user, AccessTTL: ttl})
	if err != nil {
		t.Fatalf("IssueTokens: %v", err)
	}
	return iss.Access
}

func mustRevoke(t testing.TB, db *store.DB, id string) {
	t.Helper()
	res, err := db.RevokeToken(context.Background(), tokenadmin.RevokeRequest{TokenID: id, Actor: "admin", Reason: "lost phone"})
	if err != nil || !res.Revoked {
		t.Fatalf("RevokeToken(%s) = %+v, %v", id, res, err)
	}
}

// wantGone and wantThere check GetToken after a purge.
func wantGone(t testing.TB, db *store.DB, what, id string) {
	t.Helper()
	_, err := db.GetToken(context.Background(), id)
	wantCode(t, what+" after the purge", err, tokenadmin.CodeTokenNotFound)
}

func wantThere(t testing.TB, db *store.DB, what, id string, state tokenadmin.TokenState) *tokenadmin.Token {
	t.Helper()
	tok, err := db.GetToken(context.Background(), id)
	if err != nil {
		t.Fatalf("%s: GetToken: %v", what, err)
	}
	if tok.State != state {
		t.Errorf("%s: state %s, want %s", what, tok.State, state)
	}
	return tok
}

func purge(t testing.TB, db *store.DB, opts store.PurgeOptions) store.PurgeResult {
	t.Helper()
	res, err := db.Purge(context.Background(), opts)
	if err != nil {
		t.Fatalf("Purge(%+v): %v", opts, err)
	}
	return res
}

// TestPurgeRetention walks the store clock across each retention boundary:
// a token is kept until its retention has passed to the millisecond, a dry
// run changes nothing, and getToken explains a revoked token until it is
// purged and then reports it not found.
func TestPurgeRetention(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := newFixedClock(epoch)
	path := filepath.Join(t.TempDir(), "tokens.db")
	db := openAt(t, path, store.Options{Now: clock.Now})
	mustApp(t, db, "a1")

	live := issueTTL(t, db, "alice", 30*day)
	revoked := issueTTL(t, db, "alice", 30*day)
	mustRevoke(t, db, revoked.ID)                       // revoked at epoch
	expiredSwept := issueTTL(t, db, "alice", time.Hour) // expires at epoch+1h
	expiredUnswept := issueTTL(t, db, "bob", time.Hour)
	// Revoked, then expired: it counts as revoked, kept a week from its
	// revocation however long ago it expired.
	revokedThenExpired := issueTTL(t, db, "bob", 2*time.Hour)
	mustRevoke(t, db, revokedThenExpired.ID)

	// Sweep alice's expired token only (bob's stays unswept): the purge
	// finds both kinds.
	clock.ns.Store(epoch.Add(time.Hour).UnixNano())
	if n, err := db.SweepExpired(ctx); err != nil || n != 2 { // alice's and bob's hourly tokens
		t.Fatalf("SweepExpired = %d, %v", n, err)
	}
	raw := rawDB(t, path)
	if _, err := raw.Exec(`UPDATE tokens SET expired = 0 WHERE token_id = ?`, expiredUnswept.ID); err != nil {
		t.Fatal(err)
	}

	at := func(d time.Duration) { clock.ns.Store(epoch.Add(d).UnixNano()) }
	steps := []struct {
		name string
		at   time.Duration
		want store.PurgeResult
	}{
		{name: "expired a millisecond short of a day: kept", at: time.Hour + day - time.Millisecond, want: store.PurgeResult{}},
		{name: "expired a day ago: purged", at: time.Hour + day, want: store.PurgeResult{Expired: 2}},
		{name: "revoked a millisecond short of a week: kept", at: 7*day - time.Millisecond, want: store.PurgeResult{}},
		{name: "revoked a week ago: purged", at: 7 * day, want: store.PurgeResult{Revoked: 2}},
		{name: "nothing left but the live token", at: 29 * day, want: store.PurgeResult{}},
	}
	for _, s := range steps {
		at(s.at)
		if s.want.Revoked > 0 {
			tok := wantThere(t, db, "revoked token inside its retention", revoked.ID, tokenadmin.StateRevoked)
			if tok.RevokedBy != "admin" || tok.RevokeReason != "lost phone" || !tok.RevokedAt.Equal(epoch) {
				t.Errorf("revoked token explained as %+v", tok)
			}
		}
		dry, err := db.Purge(ctx, store.PurgeOptions{DryRun: true})
		if err != nil || dry != s.want {
			t.Errorf("%s: dry run = %+v, %v; want %+v", s.name, dry, err, s.want)
		}
		count, err := db.CountPurgeable(ctx, store.PurgeOptions{})
		if err != nil || count != s.want {
			t.Errorf("%s: CountPurgeable = %+v, %v; want %+v", s.name, count, err, s.want)
		}
		if got := purge(t, db, store.PurgeOptions{}); got != s.want {
			t.Errorf("%s: Purge = %+v, want %+v", s.name, got, s.want)
		}
		if again := purge(t, db, store.PurgeOptions{}); again != (store.PurgeResult{}) {
			t.Errorf("%s: second Purge = %+v, want nothing", s.name, again)
		}
	}
	wantGone(t, db, "swept expired token", expiredSwept.ID)
	wantGone(t, db, "unswept expired token", expiredUnswept.ID)
	wantGone(t, db, "revoked token", revoked.ID)
	wantGone(t, db, "revoked, then expired token", revokedThenExpired.ID)
	wantThere(t, db, "live token", live.ID, tokenadmin.StateActive)
	page, err := db.ListActiveTokens(ctx, tokenadmin.TokenFilter{PageSize: 10})
	if err != nil || len(page.Tokens) != 1 || page.Tokens[0].ID != live.ID {
		t.Errorf("ListActiveTokens after the purges = %+v, %v; want the live token", page, err)
	}

	t.Run("dry run changes nothing", func(t *testing.T) {
		gone := issueTTL(t, db, "carol", time.Hour)
		at(29*day + time.Hour + day)
		want := store.PurgeResult{Expired: 1}
		for range 2 {
			if got, err := db.Purge(ctx, store.PurgeOptions{DryRun: true}); err != nil || got != want {
				t.Fatalf("dry run = %+v, %v; want %+v", got, err, want)
			}
		}
		wantThere(t, db, "token after a dry run", gone.ID, tokenadmin.StateExpired)
	})

	t.Run("retentions given", func(t *testing.T) {
		tok := issueTTL(t, db, "dave", time.Hour)
		mustRevoke(t, db, tok.ID)
		at(29*day + time.Hour + day + time.Minute)
		if got := purge(t, db, store.PurgeOptions{RevokedRetention: time.Minute, ExpiredRetention: time.Hour}); got.Revoked != 1 {
			t.Errorf("Purge with a one-minute retention = %+v, want the token revoked a minute ago", got)
		}
	})

	t.Run("negative retention is invalid", func(t *testing.T) {
		_, err := db.Purge(ctx, store.PurgeOptions{RevokedRetention: -time.Hour})
		wantCode(t, "Purge", err, tokenadmin.CodeInvalid)
		_, err = db.CountPurgeable(ctx, store.PurgeOptions{ExpiredRetention: -time.Hour})
		wantCode(t, "CountPurgeable", err, tokenadmin.CodeInvalid)
	})
}

// TestPurgeKeepsReuseDetection: a refresh token retired by rotation stays
// while its grant has a live token, so that presenting it again still
// revokes the grant (RFC 9700 §4.14.2); once nothing of the grant is live
// it is purged like any revoked token.
func TestPurgeKeepsReuseDetection(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := newFixedClock(epoch)
	db := openDB(t, store.Options{Now: clock.Now})
	mustApp(t, db, "a1")
	iss, err := db.IssueTokens(ctx, tokenadmin.IssueRequest{ClientID: "a1", User: "alice", AccessTTL: time.Hour, RefreshTTL: 30 * day})
	if err != nil {
		t.Fatal(err)
	}
	refresh := func(value string) (*tokenadmin.Issued, error) {
		return db.RefreshTokens(ctx, tokenadmin.RefreshRequest{ClientID: "a1", Value: value, AccessTTL: time.Hour, RefreshTTL: 30 * day, Rotate: true})
	}
	next, err := refresh(iss.RefreshValue) // retires iss.Refresh
	if err != nil {
		t.Fatal(err)
	}
	// An unrelated grant whose refresh token was revoked by hand: no
	// reason to keep it.
	other, err := db.IssueTokens(ctx, tokenadmin.IssueRequest{ClientID: "a1", User: "bob", AccessTTL: time.Hour, RefreshTTL: 30 * day})
	if err != nil {
		t.Fatal(err)
	}
	mustRevoke(t, db, other.Refresh.ID)

	clock.ns.Store(epoch.Add(8 * day).UnixNano())
	// Purged: alice's two expired access tokens and bob's revoked grant
	// (his access token went with his refresh token). Kept: the retired
	// refresh token, since next.Refresh is live.
	if got, want := purge(t, db, store.PurgeOptions{}), (store.PurgeResult{Revoked: 2, Expired: 2}); got != want {
		t.Fatalf("Purge = %+v, want %+v", got, want)
	}
	wantThere(t, db, "retired refresh token of a live grant", iss.Refresh.ID, tokenadmin.StateRevoked)
	wantThere(t, db, "the grant's current refresh token", next.Refresh.ID, tokenadmin.StateActive)
	wantGone(t, db, "hand-revoked refresh token", other.Refresh.ID)
	if n, err := db.CountPurgeable(ctx, store.PurgeOptions{}); err != nil || n != (store.PurgeResult{}) {
		t.Errorf("CountPurgeable after the purge = %+v, %v; want nothing (the retained token is not counted)", n, err)
	}

	// A thief presents the retired token: the grant is revoked.
	if _, err := refresh(iss.RefreshValue); tokenadmin.ErrorCode(err) != tokenadmin.CodeInvalidGrant {
		t.Fatalf("reuse of the retired refresh token: %v, want invalid_grant", err)
	}
	tok := wantThere(t, db, "current refresh token after reuse", next.Refresh.ID, tokenadmin.StateRevoked)
	if tok.RevokeReason != tokenadmin.ReasonRefreshReuse {
		t.Errorf("current refresh token revoked for %q, want %q", tok.RevokeReason, tokenadmin.ReasonRefreshReuse)
	}

	// Nothing of the grant is live any more: a week on, all of it goes.
	clock.ns.Store(epoch.Add(15 * day).UnixNano())
	if got, want := purge(t, db, store.PurgeOptions{}), (store.PurgeResult{Revoked: 2}); got != want {
		t.Fatalf("Purge of the dead grant = %+v, want %+v (the retired and the current refresh token)", got, want)
	}
	wantGone(t, db, "retired refresh token of a dead grant", iss.Refresh.ID)
	wantGone(t, db, "current refresh token", next.Refresh.ID)
	if _, err := refresh(iss.RefreshValue); tokenadmin.ErrorCode(err) != tokenadmin.CodeInvalidGrant {
		t.Errorf("purged refresh token presented: %v, want invalid_grant", err)
	}
}

// TestPurgeBatches checks that the purge deletes in batches of at most
// BatchSize, whether the tokens share their key (one revocation time, one
// expiry) or not, reports each committed batch, and stops between batches
// when its context ends, with exactly the committed batches' tokens gone.
func TestPurgeBatches(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := newFixedClock(epoch)
	path := filepath.Join(t.TempDir(), "tokens.db")
	db := openAt(t, path, store.Options{Now: clock.Now})
	mustApp(t, db, "a1")
	// alice: 10 tokens revoked at one instant. carol: 5 tokens expiring at
	// one instant, swept. bob: 7 tokens expiring a millisecond apart, not
	// swept. dave: one live token.
	issueMany(t, db, "a1", "alice", 10)
	if n, err := db.RevokeTokens(ctx, tokenadmin.BulkRevoke{User: "alice", Actor: "admin"}); err != nil || n != 10 {
		t.Fatalf("RevokeTokens = %d, %v", n, err)
	}
	issueMany(t, db, "a1", "carol", 5)
	clock.ns.Store(epoch.Add(2 * time.Hour).UnixNano())
	if n, err := db.SweepExpired(ctx); err != nil || n != 15 {
		t.Fatalf("SweepExpired = %d, %v", n, err)
	}
	for range 7 {
		issueTTL(t, db, "bob", time.Hour)
		clock.ns.Add(int64(time.Millisecond))
	}
	live := issueTTL(t, db, "dave", 30*day)
	raw := rawDB(t, path)
	count := func() int {
		var n int
		if err := raw.QueryRow(`SELECT count(*) FROM tokens`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	batches := func(t *testing.T, calls []int64) (sizes []int64) {
		t.Helper()
		for i, done := range calls {
			prev := int64(0)
			if i > 0 {
				prev = calls[i-1]
			}
			if done < prev || done-prev > 3 {
				t.Fatalf("progress %v: a batch of more than 3, or going back", calls)
			}
			if done > prev {
				sizes = append(sizes, done-prev)
			}
		}
		return sizes
	}

	clock.ns.Store(epoch.Add(8 * day).UnixNano())
	t.Run("cancelled between batches", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		var calls []int64
		res, err := db.Purge(cctx, store.PurgeOptions{BatchSize: 3, Progress: func(done int64) {
			calls = append(calls, done)
			if done >= 6 {
				cancel() // Ctrl-C after the second batch
			}
		}})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Purge with a cancelled context: %v, want context.Canceled", err)
		}
		if got := batches(t, calls); res != (store.PurgeResult{Revoked: 6}) || !equalInts(got, []int64{3, 3}) {
			t.Fatalf("Purge stopped with %+v after batches %v; want 6 revoked tokens in two batches", res, got)
		}
		if got := count(); got != 23-6 {
			t.Fatalf("%d tokens left, want %d: the committed batches and nothing else", got, 23-6)
		}
	})

	var calls []int64
	res := purge(t, db, store.PurgeOptions{BatchSize: 3, Progress: func(done int64) { calls = append(calls, done) }})
	if want := (store.PurgeResult{Revoked: 4, Expired: 12}); res != want {
		t.Fatalf("Purge = %+v, want %+v", res, want)
	}
	// Revoked: 3 + 1. Swept: 3 + 2. Unswept, one key each: fewer than 3
	// before the third key, then that key, and so on.
	if got := batches(t, calls); len(got) < 2+2+3 || calls[len(calls)-1] != 16 {
		t.Errorf("progress %v: batches %v, want at least 7 ending at 16", calls, got)
	}
	if got := count(); got != 1 {
		t.Errorf("%d tokens left, want dave's live one", got)
	}
	wantThere(t, db, "live token", live.ID, tokenadmin.StateActive)
}

func equalInts(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestJanitor runs the janitor in the background and checks its report,
// its counters, and that Close stops it.
func TestJanitor(t *testing.T) {
	t.Parallel()
	clock := newFixedClock(epoch)
	runs := make(chan store.JanitorRun, 100)
	db := openDB(t, store.Options{Now: clock.Now, Janitor: store.JanitorOptions{
		Interval:  5 * time.Millisecond,
		BatchSize: 2,
		Report: func(r store.JanitorRun) {
			select {
			case runs <- r:
			default:
			}
		},
	}})
	if s := db.JanitorStats(); s.PurgedRevoked+s.PurgedExpired != 0 || s.LastError != nil {
		t.Fatalf("stats before any purge: %+v", s)
	}
	mustApp(t, db, "a1")
	revoked := issueTTL(t, db, "alice", 30*day)
	mustRevoke(t, db, revoked.ID)
	for range 3 {
		issueTTL(t, db, "alice", time.Hour)
	}
	clock.ns.Store(epoch.Add(8 * day).UnixNano())

	var total store.PurgeResult
	for deadline := time.After(10 * time.Second); total != (store.PurgeResult{Revoked: 1, Expired: 3}); {
		select {
		case r := <-runs:
			if r.Err != nil {
				t.Fatalf("janitor run failed: %v", r.Err)
			}
			if !r.Started.Equal(clock.Now()) && !r.Started.Equal(epoch) {
				t.Errorf("run started at %v by the store clock", r.Started)
			}
			total.Revoked += r.Purged.Revoked
			total.Expired += r.Purged.Expired
		case <-deadline:
			t.Fatalf("the janitor purged %+v within 10s, want 1 revoked and 3 expired", total)
		}
	}
	wantGone(t, db, "revoked token", revoked.ID)
	s := db.JanitorStats()
	if s.PurgedRevoked != 1 || s.PurgedExpired != 3 || s.Runs < 1 || !s.LastRun.Equal(clock.Now()) || s.LastError != nil {
		t.Errorf("JanitorStats = %+v, want 1 revoked and 3 expired purged in at least one run at %v", s, clock.Now())
	}

	closed := make(chan error, 1)
	go func() { closed <- db.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not stop the janitor within 10s")
	}
	after := db.JanitorStats().Runs
	if _, err := db.Purge(context.Background(), store.PurgeOptions{}); err == nil {
		t.Error("Purge after Close succeeded")
	}
	if got := db.JanitorStats().Runs; got != after {
		t.Errorf("janitor runs went from %d to %d after Close", after, got)
	}
}

// TestPurgeQueryPlans checks that every purge statement searches tokens
// through its partial index: no scan of the table, at any size.
func TestPurgeQueryPlans(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "tokens.db")
	openAt(t, path, store.Options{})
	raw := rawDB(t, path)
	for _, s := range store.PurgeSources() {
		for name, q := range s.Statements {
			args := []any{1, 2, 3, 4, 5}[:strings.Count(q, "?")]
			rows, err := raw.Query("EXPLAIN QUERY PLAN "+q, args...)
			if err != nil {
				t.Fatalf("EXPLAIN QUERY PLAN: %v\n%s", err, q)
			}
			var details []string
			for rows.Next() {
				var id, parent, unused int
				var detail string
				if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
					t.Fatal(err)
				}
				details = append(details, detail)
			}
			rows.Close()
			// A range of the key, or one key value and a range of ids.
			want := regexp.MustCompile(`^SEARCH tokens USING (COVERING )?INDEX ` + s.Index + ` \((` + s.Key + `[<>]|` + s.Key + `=\? AND rowid>)`)
			searched := false
			for _, d := range details {
				if strings.HasPrefix(d, "SCAN ") || strings.HasPrefix(d, "USE TEMP B-TREE") {
					t.Errorf("%s %s: plan %q", s.Index, name, d)
				}
				if want.MatchString(d) {
					searched = true
				}
			}
			if !searched {
				t.Errorf("%s %s does not search a range of %s:\n\t%s\n%s", s.Index, name, s.Index, strings.Join(details, "\n\t"), q)
			}
		}
	}
}
