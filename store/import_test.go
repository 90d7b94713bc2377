package store_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"reflect"
	"slices"
	"testing"
	"time"

	"tokenadmin"
	"tokenadmin/store"
)

func wso2Hash(v string) string {
	sum := sha256.Sum256([]byte(v))
	return hex.EncodeToString(sum[:])
}

func TestImportTokens(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := newFixedClock(epoch)
	db := openDB(t, store.Options{Now: clock.Now})
	mustApp(t, db, "ck1")

	created := epoch.Add(-10 * time.Minute)
	rows := []store.ImportedToken{
		{ClientID: "ck1", User: "alice", Scopes: []string{"read"}, GrantType: "password", State: "ACTIVE",
			Value: "plain-active", IssuedAt: created, Validity: time.Hour},
		{ClientID: "ck1", User: "bob", State: "ACTIVE", ExtHash: wso2Hash("hashed-active"), IssuedAt: created, Validity: time.Hour,
			RefreshExtHash: wso2Hash("hashed-refresh"), RefreshValidity: 24 * time.Hour},
		{ClientID: "ck1", User: "carol", State: "REVOKED", Value: "revoked", IssuedAt: created, Validity: time.Hour},
		{ClientID: "ck1", User: "carol", State: "INACTIVE", Value: "inactive", IssuedAt: created, Validity: time.Hour},
		{ClientID: "ck1", User: "dave", State: "EXPIRED", Value: "expired", IssuedAt: created, Validity: time.Hour,
			RefreshValue: "expired-row-refresh", RefreshValidity: 24 * time.Hour},
		{ClientID: "ck1", User: "dave", State: "ACTIVE", Value: "timed-out", IssuedAt: created, Validity: time.Minute},
		{ClientID: "ck1", User: "erin", State: "ACTIVE", Value: "forever", IssuedAt: created, Validity: -1},
		{ClientID: "ck1", User: "frank", State: "ACTIVE", Value: "plain-access", IssuedAt: created, Validity: time.Hour,
			RefreshValue: "plain-refresh", RefreshValidity: 24 * time.Hour},
		{ClientID: "nope", User: "x", Value: "unknown-app", IssuedAt: created, Validity: time.Hour},
		{ClientID: "ck1", User: "x", Value: "odd-state", State: "WHATEVER", IssuedAt: created, Validity: time.Hour},
		{ClientID: "ck1", User: "x", ExtHash: "not-hex", IssuedAt: created, Validity: time.Hour},
	}
	res, err := db.ImportTokens(ctx, rows)
	if err != nil {
		t.Fatal(err)
	}
	want := store.ImportResult{Imported: 8, Refresh: 3, Skipped: map[string]int{
		store.SkipUnknownApp: 1, store.SkipUnknownState: 1, store.SkipBadHash: 1}}
	if !reflect.DeepEqual(res, want) {
		t.Errorf("first import: %+v, want %+v", res, want)
	}

	lookup := func(value string) *tokenadmin.Token {
		t.Helper()
		tok, err := db.LookupToken(ctx, value)
		if err != nil {
			t.Fatalf("LookupToken(%q): %v", value, err)
		}
		return tok
	}
	for _, tc := range []struct {
		value string
		state tokenadmin.TokenState
	}{
		{value: "plain-active", state: tokenadmin.StateActive},
		{value: "hashed-active", state: tokenadmin.StateActive},
		{value: "hashed-refresh", state: tokenadmin.StateActive},
		{value: "revoked", state: tokenadmin.StateRevoked},
		{value: "inactive", state: tokenadmin.StateRevoked},
		{value: "expired", state: tokenadmin.StateExpired},
		{value: "expired-row-refresh", state: tokenadmin.StateActive}, // WSO2 refreshes EXPIRED rows
		{value: "timed-out", state: tokenadmin.StateExpired},
		{value: "forever", state: tokenadmin.StateActive},
	} {
		if got := lookup(tc.value).State; got != tc.state {
			t.Errorf("%s: state %s, want %s", tc.value, got, tc.state)
		}
	}
	if tok := lookup("plain-active"); tok.User != "alice" || tok.ClientID != "ck1" || !reflect.DeepEqual(tok.Scopes, []string{"read"}) ||
		!tok.IssuedAt.Equal(created) || !tok.ExpiresAt.Equal(created.Add(time.Hour)) {
		t.Errorf("plain-active: %+v", tok)
	}
	if tok := lookup("revoked"); tok.RevokedBy != store.ImportActor || tok.RevokeReason != store.ReasonImportedRevoke {
		t.Errorf("revoked: by %q reason %q", tok.RevokedBy, tok.RevokeReason)
	}
	if tok := lookup("forever"); tok.ExpiresAt.Before(created.Add(99 * 365 * 24 * time.Hour)) {
		t.Errorf("negative validity: expires %v", tok.ExpiresAt)
	}
	if _, err := db.LookupToken(ctx, "unknown-app"); tokenadmin.ErrorCode(err) != tokenadmin.CodeTokenNotFound {
		t.Errorf("skipped token found: %v", err)
	}

	t.Run("hash-only token revoked by value", func(t *testing.T) {
		r, err := db.RevokeToken(ctx, tokenadmin.RevokeRequest{Value: "hashed-active", Actor: "admin", Reason: "test"})
		if err != nil || !r.Revoked {
			t.Fatalf("RevokeToken: %+v, %v", r, err)
		}
		if got := lookup("hashed-active").State; got != tokenadmin.StateRevoked {
			t.Errorf("state %s, want revoked", got)
		}
	})
	t.Run("hash-only refresh token refreshes", func(t *testing.T) {
		iss, err := db.RefreshTokens(ctx, tokenadmin.RefreshRequest{ClientID: "ck1", Value: "hashed-refresh", AccessTTL: time.Hour})
		if err != nil {
			t.Fatalf("RefreshTokens: %v", err)
		}
		if iss.Access.User != "bob" {
			t.Errorf("refreshed for %q, want bob", iss.Access.User)
		}
	})
	t.Run("revoking the refresh revokes its access token", func(t *testing.T) {
		r, err := db.RevokeToken(ctx, tokenadmin.RevokeRequest{Value: "plain-refresh", Actor: "admin"})
		if err != nil || r.Count != 2 {
			t.Fatalf("RevokeToken: %+v, %v; want 2 revoked", r, err)
		}
		if got := lookup("plain-access").State; got != tokenadmin.StateRevoked {
			t.Errorf("access token: %s, want revoked", got)
		}
	})
	t.Run("re-run imports nothing", func(t *testing.T) {
		res, err := db.ImportTokens(ctx, rows)
		if err != nil {
			t.Fatal(err)
		}
		want := store.ImportResult{Skipped: map[string]int{store.SkipExists: 8,
			store.SkipUnknownApp: 1, store.SkipUnknownState: 1, store.SkipBadHash: 1}}
		if !reflect.DeepEqual(res, want) {
			t.Errorf("second import: %+v, want %+v", res, want)
		}
	})
	t.Run("value of a token imported as a hash is a duplicate", func(t *testing.T) {
		res, err := db.ImportTokens(ctx, []store.ImportedToken{{ClientID: "ck1", User: "bob", Value: "hashed-active", IssuedAt: created, Validity: time.Hour}})
		if err != nil {
			t.Fatal(err)
		}
		if res.Imported != 0 || res.Skipped[store.SkipExists] != 1 {
			t.Errorf("got %+v", res)
		}
	})
}

func TestSetClientSecret(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t, store.Options{})
	mustApp(t, db, "ck1")
	if err := db.SetClientSecret(ctx, "ck1", "wso2-secret"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AuthenticateClient(ctx, "ck1", "wso2-secret"); err != nil {
		t.Errorf("AuthenticateClient: %v", err)
	}
	wantCode(t, "unknown app", db.SetClientSecret(ctx, "nope", "s"), tokenadmin.CodeNotFound)
}

// TestImportTokenBatch: one batch is one transaction with its checkpoint
// and one audit record counting the access and refresh tokens imported;
// each row gets its outcome, skips with their reason and detail.
func TestImportTokenBatch(t *testing.T) {
	t.Parallel()
	clock := newFixedClock(epoch)
	db := openDB(t, store.Options{Now: clock.Now})
	mustApp(t, db, "ck1")
	created := epoch.Add(-time.Minute)
	rows := []store.ImportedToken{
		{ClientID: "ck1", User: "alice", Value: "a1", IssuedAt: created, Validity: time.Hour,
			RefreshValue: "r1", RefreshValidity: time.Hour},
		{ClientID: "nope", User: "bob", Value: "a2", IssuedAt: created, Validity: time.Hour},
		{ClientID: "ck1", User: "carol", Value: "a3", State: "ODD", IssuedAt: created, Validity: time.Hour},
		{ClientID: "ck1", User: "dave", Value: "a4", IssuedAt: created, Validity: time.Hour},
	}
	var seen []store.ImportOutcome
	cp := &store.ImportCheckpoint{Key: "wso2", Value: func(out []store.ImportOutcome) string {
		seen = out
		return "after batch"
	}}
	ctx := auditCtx(tokenadmin.AuditImport, "tokens.csv", "")
	out, err := db.ImportTokenBatch(ctx, rows, cp)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.ImportOutcome{
		{Status: store.RowImported},
		{Status: store.RowSkipped, Reason: store.SkipUnknownApp, Detail: `CONSUMER_KEY "nope"`},
		{Status: store.RowSkipped, Reason: store.SkipUnknownState, Detail: `TOKEN_STATE "ODD"`},
		{Status: store.RowImported},
	}
	if !reflect.DeepEqual(out, want) || !reflect.DeepEqual(seen, want) {
		t.Errorf("outcomes %+v (checkpoint saw %+v), want %+v", out, seen, want)
	}
	if v, err := db.ImportCheckpointValue(t.Context(), "wso2"); err != nil || v != "after batch" {
		t.Errorf("checkpoint %q, %v", v, err)
	}
	if tok, err := db.LookupToken(t.Context(), "r1"); err != nil || tok.Type != tokenadmin.RefreshToken {
		t.Errorf("refresh token: %+v, %v", tok, err)
	}

	// Again: every token is already imported, and the checkpoint goes.
	cp.Value = func([]store.ImportOutcome) string { return "" }
	out, err = db.ImportTokenBatch(ctx, rows[:1], cp)
	if err != nil || len(out) != 1 || out[0].Reason != store.SkipExists || out[0].Detail != `app "ck1", user "alice"` {
		t.Errorf("second batch: %+v, %v; want the token already imported", out, err)
	}
	if v, err := db.ImportCheckpointValue(t.Context(), "wso2"); err != nil || v != "" {
		t.Errorf("checkpoint after the last batch %q, %v; want none", v, err)
	}
	var counts []int
	for _, e := range allAudit(t, db) {
		counts = append(counts, e.Count)
	}
	if !slices.Equal(counts, []int{3, 0}) {
		t.Errorf("audit counts %v, want [3 0] (an access and a refresh token, and one more access token; then none)", counts)
	}
}
