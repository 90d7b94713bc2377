package store

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"tokenadmin"
)

// Issued values are stored keyed by their time prefix (hashValue), and
// tokens stored by earlier versions, keyed by the HMAC alone, are still
// found by value: introspection, refresh and revocation.
func TestTokenValuesStoredBeforePrefixedKeysStillWork(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "tokens.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.CreateApp(ctx, tokenadmin.App{ClientID: "c1", Name: "One"}); err != nil {
		t.Fatal(err)
	}
	issue := func() *tokenadmin.Issued {
		t.Helper()
		iss, err := db.IssueTokens(ctx, tokenadmin.IssueRequest{ClientID: "c1", User: "alice", GrantType: "password",
			AccessTTL: time.Hour, RefreshTTL: 24 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		return iss
	}
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
