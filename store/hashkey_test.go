package store

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"tokenadmin"
)

// hashKeyDB opens a database with an app c1 and returns it with a function
// that issues alice a grant (with a refresh token when refreshTTL > 0).
func hashKeyDB(t *testing.T) (*DB, func(refreshTTL time.Duration) *tokenadmin.Issued) {
	t.Helper()
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "tokens.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.CreateApp(ctx, tokenadmin.App{ClientID: "c1", Name: "One"}); err != nil {
		t.Fatal(err)
	}
	return db, func(refreshTTL time.Duration) *tokenadmin.Issued {
		t.Helper()
		iss, err := db.IssueTokens(ctx, tokenadmin.IssueRequest{ClientID: "c1", User: "alice", GrantType: "password",
			AccessTTL: time.Hour, RefreshTTL: refreshTTL})
		if err != nil {
			t.Fatal(err)
		}
		return iss
	}
}

// Issued values are stored keyed by their time prefix (hashValue), and
// tokens stored by earlier versions, keyed by the HMAC alone, are still
// found by value: introspection, refresh and revocation.
func TestTokenValuesStoredBeforePrefixedKeysStillWork(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, issueGrant := hashKeyDB(t)
	issue := func() *tokenadmin.Issued { return issueGrant(24 * time.Hour) }
	storedHash := func(id string) []byte {
		t.Helper()
		var h []byte
		if err := db.read.QueryRowContext(ctx, `SELECT hash FROM tokens WHERE token_id = ?`, id).Scan(&h); err != nil {
			t.Fatal(err)
		}
		return h
	}

	fresh := issue()
	for _, tk := range []struct{ id, value string }{{fresh.Access.ID, fresh.AccessValue}, {fresh.Refresh.ID, fresh.RefreshValue}} {
		if h := storedHash(tk.id); !bytes.Equal(h[:7], []byte(tk.value[:7])) || len(h) != 39 ||
			!bytes.Equal(h[7:], db.plainHash(tk.value)) {
			t.Errorf("token %s: stored hash %x, want its value's first 7 characters and the HMAC", tk.id, h)
		}
		if tk.value[:7] != tk.id[:7] {
			t.Errorf("value %q and id %q were made in the same millisecond but start differently", tk.value[:7], tk.id[:7])
		}
	}

	// Store another grant's tokens as an earlier version did.
	old := issue()
	for _, tk := range []struct{ id, value string }{{old.Access.ID, old.AccessValue}, {old.Refresh.ID, old.RefreshValue}} {
		if err := db.update(ctx, func(ctx context.Context, c conn) error {
			_, err := c.ExecContext(ctx, `UPDATE tokens SET hash = ? WHERE token_id = ?`, db.plainHash(tk.value), tk.id)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	for _, iss := range []*tokenadmin.Issued{fresh, old} {
		got, err := db.LookupToken(ctx, iss.AccessValue)
		if err != nil || got.ID != iss.Access.ID {
			t.Fatalf("LookupToken(access of %s) = %+v, %v", iss.Access.ID, got, err)
		}
		next, err := db.RefreshTokens(ctx, tokenadmin.RefreshRequest{ClientID: "c1", Value: iss.RefreshValue,
			AccessTTL: time.Hour, RefreshTTL: time.Hour, Rotate: true})
		if err != nil {
			t.Fatalf("RefreshTokens(refresh of %s): %v", iss.Refresh.ID, err)
		}
		res, err := db.RevokeToken(ctx, tokenadmin.RevokeRequest{Value: iss.AccessValue, Actor: "root"})
		if err != nil || !res.Revoked || res.TokenID != iss.Access.ID {
			t.Fatalf("RevokeToken(access value of %s) = %+v, %v", iss.Access.ID, res, err)
		}
		res, err = db.RevokeToken(ctx, tokenadmin.RevokeRequest{Value: next.RefreshValue, Actor: "root"})
		if err != nil || !res.Revoked || res.TokenID != next.Refresh.ID {
			t.Fatalf("RevokeToken(new refresh value) = %+v, %v", res, err)
		}
	}
	// A value that is no token: both keys miss, and nothing is found.
	if _, err := db.LookupToken(ctx, "OhwRds7qB7ukgzKqlJDZznN5GuumSFlagYsrBfj_gB0"); tokenadmin.ErrorCode(err) != tokenadmin.CodeTokenNotFound {
		t.Errorf("LookupToken(unknown) = %v, want TokenNotFound", err)
	}
}

// Imports recognise a value however it is stored: issued before prefixed
// keys (the HMAC alone) or after (prefixed); a re-import never stores the
// token a second time. An imported value is not ours: its first
// characters are no time but part of the secret, and are not stored.
func TestImportFindsValuesStoredEitherWay(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, issueGrant := hashKeyDB(t)
	issue := func() *tokenadmin.Issued { return issueGrant(0) }
	count := func() int {
		t.Helper()
		var n int
		if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM tokens`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	fresh, old := issue(), issue()
	if err := db.update(ctx, func(ctx context.Context, c conn) error { // as an earlier version stored it
		_, err := c.ExecContext(ctx, `UPDATE tokens SET hash = ? WHERE token_id = ?`, db.plainHash(old.AccessValue), old.Access.ID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	before := count()
	for _, iss := range []*tokenadmin.Issued{fresh, old} {
		out, err := db.ImportTokenRows(ctx, []ImportedTokenRow{{Value: iss.AccessValue, Type: tokenadmin.AccessToken,
			ClientID: "c1", User: "alice", IssuedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}}, &ImportGrant{}, nil)
		if err != nil || out[0].Status != RowPresent {
			t.Errorf("ImportTokenRows(value of %s) = %+v, %v; want RowPresent", iss.Access.ID, out, err)
		}
		res, err := db.ImportTokens(ctx, []ImportedToken{{ClientID: "c1", User: "alice", Value: iss.AccessValue,
			IssuedAt: time.Now(), Validity: time.Hour}})
		if err != nil || res.Imported != 0 || res.Skipped[SkipExists] != 1 {
			t.Errorf("ImportTokens(value of %s) = %+v, %v; want skipped as existing", iss.Access.ID, res, err)
		}
	}
	if n := count(); n != before {
		t.Errorf("%d tokens after re-importing stored values, want %d", n, before)
	}

	// A foreign value of the issued form: stored as the HMAC alone, found
	// by value, and a re-import finds it.
	const foreign = "Zq3xW9bT0sLk2P7yN4vR8mC1hJ6dF5gA-_eUoIiYtQw"
	for i, want := range []ImportResult{{Imported: 1, Skipped: map[string]int{}}, {Skipped: map[string]int{SkipExists: 1}}} {
		res, err := db.ImportTokens(ctx, []ImportedToken{{ClientID: "c1", User: "bob", Value: foreign,
			IssuedAt: time.Now(), Validity: time.Hour}})
		if err != nil || res.Imported != want.Imported || res.Skipped[SkipExists] != want.Skipped[SkipExists] {
			t.Errorf("import %d of a foreign value = %+v, %v; want %+v", i+1, res, err, want)
		}
	}
	var h []byte
	if err := db.read.QueryRowContext(ctx, `SELECT hash FROM tokens WHERE user_name = 'bob'`).Scan(&h); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(h, db.plainHash(foreign)) {
		t.Errorf("imported value stored as %q, want the HMAC alone (no characters of the value)", h)
	}
	if got, err := db.LookupToken(ctx, foreign); err != nil || got.User != "bob" {
		t.Errorf("LookupToken(imported) = %+v, %v", got, err)
	}
	if n := count(); n != before+1 {
		t.Errorf("%d tokens after importing one foreign value twice, want %d", n, before+1)
	}
}
