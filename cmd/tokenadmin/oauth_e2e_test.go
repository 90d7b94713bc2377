package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"tokenadmin"
	"tokenadmin/store"
	"tokenadmin/wsdl"
)

// oauthFixture is a running server with alice (role user), an app that
// may use every grant and introspect, and an x/oauth2 config for it.
type oauthFixture struct {
	*fixture
	conf   *oauth2.Config
	secret string
}

func newOAuthFixture(t *testing.T, policy tokenadmin.Policy, edit func(*tokenadmin.App)) *oauthFixture {
	t.Helper()
	t.Setenv("TOKENADMIN_ADMIN_PASSWORD", adminPassword)
	ts := startTestServer(t, serveConfig{Policy: policy})
	f := &fixture{testServer: ts, db: openTestStore(t, ts.path, store.Options{})}
	createUser(t, f.db, "alice", tokenadmin.RoleUser, aliceHash())
	a := tokenadmin.NewApp("Web Shop")
	a.ClientID, a.Scopes, a.Introspect = "shop", []string{"openid", "orders"}, true
	if edit != nil {
		edit(&a)
	}
	app, secret, err := f.db.RegisterApp(t.Context(), a)
	if err != nil {
		t.Fatal(err)
	}
	return &oauthFixture{fixture: f, secret: secret, conf: &oauth2.Config{
		ClientID: app.ClientID, ClientSecret: secret, Scopes: []string{"openid", "orders"},
		Endpoint: oauth2.Endpoint{TokenURL: ts.URL() + "/oauth2/token", AuthStyle: oauth2.AuthStyleInHeader},
	}}
}

// introspect asks the server about a token as the app.
func (f *oauthFixture) introspect(t *testing.T, token string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest("POST", f.URL()+"/oauth2/introspect", strings.NewReader(url.Values{"token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(f.conf.ClientID, f.secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &out) != nil {
		t.Fatalf("introspect: HTTP %d %s", resp.StatusCode, body)
	}
	return out
}

// refresh exchanges a refresh token through x/oauth2.
func (f *oauthFixture) refresh(t *testing.T, refreshToken string) (*oauth2.Token, error) {
	t.Helper()
	expired := &oauth2.Token{RefreshToken: refreshToken, Expiry: time.Now().Add(-time.Hour)}
	return f.conf.TokenSource(t.Context(), expired).Token()
}

// oauthErrorCode is the RFC 6749 §5.2 error code x/oauth2 reports.
func oauthErrorCode(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return re.ErrorCode
	}
	return ""
}

// TestOAuthEndToEnd is the issue's scenario with golang.org/x/oauth2 as
// the client: password grant, refresh, then SOAP revokeToken of the
// refresh token, after which introspection says inactive and the refresh
// fails with invalid_grant.
func TestOAuthEndToEnd(t *testing.T) {
	f := newOAuthFixture(t, tokenadmin.Policy{}, nil)
	ctx := t.Context()

	tok, err := f.conf.PasswordCredentialsToken(ctx, "alice", alicePassword)
	if err != nil {
		t.Fatalf("password grant: %v", err)
	}
	if tok.AccessToken == "" || tok.RefreshToken == "" || tok.Extra("scope") != "openid orders" || time.Until(tok.Expiry) < 59*time.Minute {
		t.Fatalf("password grant token = %+v, scope %v", tok, tok.Extra("scope"))
	}
	if got := f.introspect(t, tok.AccessToken); got["active"] != true || got["username"] != "alice" || got["client_id"] != "shop" {
		t.Errorf("introspection of a fresh access token = %v", got)
	}

	refreshed, err := f.refresh(t, tok.RefreshToken)
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if refreshed.AccessToken == tok.AccessToken || refreshed.RefreshToken == "" || refreshed.RefreshToken == tok.RefreshToken {
		t.Fatalf("refresh with rotation = %+v; want new access and refresh tokens", refreshed)
	}

	// The admin revokes the current refresh token over SOAP.
	found, err := f.db.LookupToken(ctx, refreshed.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	admin, _ := f.admin(t)
	resp, err := admin.RevokeToken(&wsdl.RevokeToken{TokenSelector: &wsdl.TokenSelector{TokenId: found.ID}, Reason: ptr(wsdl.Reason("stolen device"))})
	if err != nil || !resp.Revoked || resp.RevokedCount < 2 {
		t.Fatalf("SOAP revokeToken = %+v, %v; want the refresh token and its access token revoked", resp, err)
	}

	for name, value := range map[string]string{"refreshed access": refreshed.AccessToken, "refresh": refreshed.RefreshToken, "first access": tok.AccessToken} {
		if got := f.introspect(t, value); len(got) != 1 || got["active"] != false {
			t.Errorf("introspection of the %s token after the SOAP revocation = %v, want exactly {\"active\":false}", name, got)
		}
	}
	if _, err := f.refresh(t, refreshed.RefreshToken); oauthErrorCode(err) != "invalid_grant" {
		t.Errorf("refresh after the SOAP revocation: %v, want invalid_grant", err)
	}
}

// TestOAuthRefreshReuseRevokesTheFamily presents a refresh token that
// rotation retired: every token of the grant is revoked, and getToken over
// SOAP says why.
func TestOAuthRefreshReuseRevokesTheFamily(t *testing.T) {
	f := newOAuthFixture(t, tokenadmin.Policy{}, nil)
	tok, err := f.conf.PasswordCredentialsToken(t.Context(), "alice", alicePassword)
	if err != nil {
		t.Fatal(err)
	}
	next, err := f.refresh(t, tok.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.refresh(t, tok.RefreshToken); oauthErrorCode(err) != "invalid_grant" {
		t.Fatalf("reusing a retired refresh token: %v, want invalid_grant", err)
	}
	if got := f.introspect(t, next.AccessToken); got["active"] != false {
		t.Errorf("the family's newest access token is still active after reuse: %v", got)
	}
	found, err := f.db.LookupToken(t.Context(), next.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	admin, _ := f.admin(t)
	got := getToken(t, admin, found.ID)
	if state(got) != wsdl.TokenStateRevoked || got.RevokeReason != tokenadmin.ReasonRefreshReuse {
		t.Errorf("getToken of the family's refresh token = state %v, reason %q; want revoked, %s", state(got), got.RevokeReason, tokenadmin.ReasonRefreshReuse)
	}
}

// TestOAuthRefreshSwitches turns the refresh grant off for one app and for
// the whole server: no refresh token is issued, and a refresh request is
// unauthorized_client.
func TestOAuthRefreshSwitches(t *testing.T) {
	for _, tc := range []struct {
		name   string
		policy tokenadmin.Policy
		edit   func(*tokenadmin.App)
	}{
		{name: "off for the app", edit: func(a *tokenadmin.App) {
			a.GrantTypes = []string{tokenadmin.GrantPassword, tokenadmin.GrantClientCredentials}
		}},
		{name: "off for the server", policy: tokenadmin.Policy{AccessTTL: time.Hour, RefreshTTL: time.Hour, DisableRefreshGrant: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newOAuthFixture(t, tc.policy, tc.edit)
			tok, err := f.conf.PasswordCredentialsToken(t.Context(), "alice", alicePassword)
			if err != nil {
				t.Fatal(err)
			}
			if tok.RefreshToken != "" {
				t.Errorf("a refresh token was issued although the refresh grant is off")
			}
			// A refresh token from before the switch cannot be used either.
			old, err := f.db.IssueTokens(t.Context(), tokenadmin.IssueRequest{ClientID: "shop", User: "alice",
				GrantType: tokenadmin.GrantPassword, AccessTTL: time.Hour, RefreshTTL: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.refresh(t, old.RefreshValue); oauthErrorCode(err) != "unauthorized_client" {
				t.Errorf("refresh with the grant off: %v, want unauthorized_client", err)
			}
		})
	}
}

// TestOAuthAppChangesRevoke disables the app over SOAP, and regenerates a
// secret and deletes an app through the CLI: each revokes the app's tokens,
// visibly to the very next introspection.
func TestOAuthAppChangesRevoke(t *testing.T) {
	f := newOAuthFixture(t, tokenadmin.Policy{}, nil)
	ctx := context.Background()
	tok, err := f.conf.PasswordCredentialsToken(ctx, "alice", alicePassword)
	if err != nil {
		t.Fatal(err)
	}
	// An admin user may introspect too; use that, since the app's own
	// credentials stop working once it is disabled.
	asAdmin := func(token string) map[string]any {
		req, _ := http.NewRequest("POST", f.URL()+"/oauth2/introspect", strings.NewReader(url.Values{"token": {token}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("admin", adminPassword)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return out
	}
	admin, _ := f.admin(t)
	resp, err := admin.UpdateApp(&wsdl.UpdateApp{ClientId: "shop", State: ptr(wsdl.AppStateDisabled)})
	if err != nil || resp.RevokedCount != 2 {
		t.Fatalf("SOAP updateApp(state=disabled) = %+v, %v; want 2 tokens revoked", resp, err)
	}
	if got := asAdmin(tok.AccessToken); got["active"] != false {
		t.Errorf("introspection after disabling the app = %v", got)
	}
	if _, err := f.conf.PasswordCredentialsToken(ctx, "alice", alicePassword); oauthErrorCode(err) != "invalid_client" {
		t.Errorf("password grant for a disabled app: %v, want invalid_client", err)
	}
	if _, err := admin.UpdateApp(&wsdl.UpdateApp{ClientId: "shop", State: ptr(wsdl.AppStateActive)}); err != nil {
		t.Fatal(err)
	}

	tok, err = f.conf.PasswordCredentialsToken(ctx, "alice", alicePassword)
	if err != nil {
		t.Fatal(err)
	}
	out := mustRun(t, "", "app", "rotate-secret", "shop", "--json", "--db", f.path)
	var rotated struct {
		Secret  string `json:"client_secret"`
		Revoked int    `json:"revoked_count"`
	}
	if err := json.Unmarshal([]byte(out), &rotated); err != nil || rotated.Secret == "" || rotated.Revoked != 2 {
		t.Fatalf("app rotate-secret = %s (%v)", out, err)
	}
	if got := asAdmin(tok.AccessToken); got["active"] != false {
		t.Errorf("introspection after regenerating the secret = %v", got)
	}
	if _, err := f.conf.PasswordCredentialsToken(ctx, "alice", alicePassword); oauthErrorCode(err) != "invalid_client" {
		t.Errorf("the old secret still works: %v", err)
	}
	f.conf.ClientSecret = rotated.Secret
	if tok, err = f.conf.PasswordCredentialsToken(ctx, "alice", alicePassword); err != nil {
		t.Fatalf("the new secret: %v", err)
	}
	mustRun(t, "", "app", "delete", "shop", "--db", f.path)
	if got := asAdmin(tok.AccessToken); got["active"] != false {
		t.Errorf("introspection after deleting the app = %v", got)
	}
}
