package store_test

import (
	"context"
	"testing"
	"time"

	"tokenadmin"
	"tokenadmin/store"
)

// RefreshTokens records the event its context carries only when a retired
// refresh token comes back, in the family revocation's transaction, by
// the retired token's ID and with the tokens revoked as count.
func TestRefreshReuseAudited(t *testing.T) {
	db := openDB(t, store.Options{})
	if _, err := db.CreateApp(context.Background(), tokenadmin.App{ClientID: "shop", Name: "Shop", Owner: "admin"}); err != nil {
		t.Fatal(err)
	}
	iss, err := db.IssueTokens(context.Background(), tokenadmin.IssueRequest{ClientID: "shop", User: "alice", GrantType: "password", AccessTTL: time.Hour, RefreshTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx := auditCtx(tokenadmin.AuditTokenRevoke, "", tokenadmin.ReasonRefreshReuse)
	refresh := tokenadmin.RefreshRequest{ClientID: "shop", Value: iss.RefreshValue, AccessTTL: time.Hour, RefreshTTL: time.Hour, Rotate: true}
	if _, err := db.RefreshTokens(ctx, refresh); err != nil {
		t.Fatal(err)
	}
	if got := allAudit(t, db); len(got) != 0 {
		t.Fatalf("an ordinary refresh was recorded: %+v", got[0])
	}
	if _, err := db.RefreshTokens(ctx, refresh); tokenadmin.ErrorCode(err) != tokenadmin.CodeInvalidGrant {
		t.Fatalf("reuse: %v, want invalid_grant", err)
	}
	got := allAudit(t, db)
	if len(got) != 1 {
		t.Fatalf("%d records after reuse, want 1", len(got))
	}
	// The first access token and the rotation's access and refresh tokens.
	if e := got[0]; e.Target != iss.Refresh.ID || e.Count != 3 || e.Outcome != tokenadmin.AuditSuccess ||
		e.Reason != tokenadmin.ReasonRefreshReuse || e.Actor != "root" {
		t.Errorf("reuse record = %+v", e)
	}
	// Without an event the reuse still revokes, and records nothing.
	iss2, err := db.IssueTokens(context.Background(), tokenadmin.IssueRequest{ClientID: "shop", User: "bob", GrantType: "password", AccessTTL: time.Hour, RefreshTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	refresh.Value = iss2.RefreshValue
	for range 2 {
		_, _ = db.RefreshTokens(context.Background(), refresh)
	}
	if tok, err := db.LookupToken(context.Background(), iss2.AccessValue); err != nil || tok.RevokeReason != tokenadmin.ReasonRefreshReuse {
		t.Errorf("bob's access token after reuse: %+v, %v", tok, err)
	}
	if n := len(allAudit(t, db)); n != 1 {
		t.Errorf("%d records, want still 1", n)
	}
}
