package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"tokenadmin"
	"tokenadmin/oauth"
)

// oauthRevoke posts an RFC 7009 revocation of token as clientID.
func oauthRevoke(t *testing.T, f *oauthFixture, clientID, secret, token string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, f.URL()+oauth.RevokePath,
		strings.NewReader(url.Values{"token": {token}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(clientID, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("revoke as %s: HTTP %d %s", clientID, resp.StatusCode, body)
	}
}

// revocationRecords are the audit log's token.revoke records, as
// "actor/role/target/outcome/count/reason".
func revocationRecords(t *testing.T, f *oauthFixture) []string {
	t.Helper()
	var out []string
	for _, e := range auditEvents(t, f.db, tokenadmin.AuditTokenRevoke) {
		if e.ClientAddr != "127.0.0.1" || e.RequestID == "" {
			t.Errorf("revocation record without the request's address or id: %+v", e)
		}
		out = append(out, fmt.Sprintf("%s/%s/%s/%s/%d/%s", e.Actor, e.Role, e.Target, e.Outcome, e.Count, e.Reason))
	}
	return out
}

// TestOAuthRevocationsAudited: RFC 7009 revocations are audited as the
// client (no role), refused ones too, and the family revocation of a
// reused refresh token as "system"; an ordinary refresh is no record, no
// token value is ever in the log, and the chain verifies.
func TestOAuthRevocationsAudited(t *testing.T) {
	f := newOAuthFixture(t, tokenadmin.Policy{}, nil)
	other := tokenadmin.NewApp("Other")
	other.ClientID = "other"
	_, otherSecret, err := f.db.RegisterApp(t.Context(), other)
	if err != nil {
		t.Fatal(err)
	}
	var values []string
	idOf := func(value string) string {
		t.Helper()
		tok, err := f.db.LookupToken(t.Context(), value)
		if err != nil {
			t.Fatal(err)
		}
		return tok.ID
	}

	// The client revokes its refresh token (and with it the access
	// token), then the same token again: a success that changed nothing.
	tok, err := f.conf.PasswordCredentialsToken(t.Context(), "alice", alicePassword)
	if err != nil {
		t.Fatal(err)
	}
	values = append(values, tok.AccessToken, tok.RefreshToken)
	oauthRevoke(t, f, "shop", f.secret, tok.RefreshToken)
	oauthRevoke(t, f, "shop", f.secret, tok.RefreshToken)
	refreshID := idOf(tok.RefreshToken)

	// Another client's attempt: 200 as RFC 7009 §2.2 wants, the token
	// stays active, and the log has the failed attempt, without target.
	tok2, err := f.conf.PasswordCredentialsToken(t.Context(), "alice", alicePassword)
	if err != nil {
		t.Fatal(err)
	}
	values = append(values, tok2.AccessToken, tok2.RefreshToken)
	oauthRevoke(t, f, "other", otherSecret, tok2.AccessToken)
	if got := f.introspect(t, tok2.AccessToken); got["active"] != true {
		t.Fatalf("shop's token after other's revocation: %v", got)
	}

	// An ordinary refresh (rotation) is no revocation record; presenting
	// the retired refresh token again revokes the grant as "system".
	next, err := f.refresh(t, tok2.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	values = append(values, next.AccessToken, next.RefreshToken)
	before := len(revocationRecords(t, f))
	if _, err := f.refresh(t, tok2.RefreshToken); oauthErrorCode(err) != "invalid_grant" {
		t.Fatalf("reusing a retired refresh token: %v, want invalid_grant", err)
	}
	if got := f.introspect(t, next.AccessToken); got["active"] != false {
		t.Fatalf("the family's newest access token is still active after reuse: %v", got)
	}

	got := revocationRecords(t, f)
	want := []string{
		"client:shop//" + refreshID + "/success/2/" + oauth.RevokeReason,
		"client:shop//" + refreshID + "/success/0/" + oauth.RevokeReason,
		"client:other///failed/0/token not found",
		// tok2's access token, and next's access and refresh tokens.
		"system//" + idOf(tok2.RefreshToken) + "/success/3/" + tokenadmin.ReasonRefreshReuse,
	}
	if before != 3 || strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%d records before the reuse, want 3; token.revoke records:\n%s\nwant:\n%s", before, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	for _, e := range auditEvents(t, f.db, "") {
		s := fmt.Sprintf("%+v", *e)
		for _, v := range values {
			if strings.Contains(s, v) {
				t.Errorf("a token value is in the audit log: %s", s)
			}
		}
		if strings.Contains(s, f.secret) || strings.Contains(s, otherSecret) {
			t.Errorf("a client secret is in the audit log: %s", s)
		}
	}
	if res, err := f.db.VerifyAudit(t.Context()); err != nil || !res.OK {
		t.Errorf("VerifyAudit = %+v, %v", res, err)
	}
}
