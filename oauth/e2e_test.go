package oauth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"tokenadmin"
	"tokenadmin/auth"
	"tokenadmin/oauth"
	"tokenadmin/store"
)

// The end-to-end tests run the Handler on the real SQLite store and the
// real user Authenticator, behind an HTTP server, with golang.org/x/oauth2
// as the client.

var _ tokenadmin.OAuthStore = (*store.DB)(nil)

// e2e is one server with its apps and users.
type e2e struct {
	t      *testing.T
	ctx    context.Context
	db     *store.DB
	srv    *httptest.Server
	log    *bytes.Buffer
	app    client // the client under test: every grant, rotation on
	rs     client // a resource server that may introspect
	policy tokenadmin.Policy
}

type client struct{ id, secret string }

const (
	e2eUser, e2ePassword   = "alice", "alice-e2e-password"
	e2eAdmin, e2eAdminPass = "root", "root-e2e-password"
)

// passwordHashes memoises the argon2id hashes, which cost tens of
// milliseconds each.
var passwordHashes sync.Map

func hashOf(t *testing.T, password string) string {
	t.Helper()
	if h, ok := passwordHashes.Load(password); ok {
		return h.(string)
	}
	h, err := auth.HashPassword(password)
	if err != nil {
		t.Fatal(err)
	}
	passwordHashes.Store(password, h)
	return h
}

// openE2EStore opens a new database with the end-to-end tests' user and
// admin; it is closed when the test ends.
func openE2EStore(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "tokenadmin.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, u := range []tokenadmin.User{
		{Name: e2eUser, Role: tokenadmin.RoleUser, PasswordHash: hashOf(t, e2ePassword)},
		{Name: e2eAdmin, Role: tokenadmin.RoleAdmin, PasswordHash: hashOf(t, e2eAdminPass)},
	} {
		if err := db.CreateUser(t.Context(), u); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

func newE2E(t *testing.T, policy tokenadmin.Policy, app tokenadmin.App) *e2e {
	t.Helper()
	ctx := t.Context()
	db := openE2EStore(t)
	e := &e2e{t: t, ctx: ctx, db: db, log: new(bytes.Buffer), policy: policy}
	e.app = e.register(app)
	e.rs = e.register(tokenadmin.App{Name: "resource server", Introspect: true, State: tokenadmin.AppActive})
	logger := slog.New(slog.NewTextHandler(e.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h := oauth.NewHandler(db, auth.NewAuthenticator(db), policy, logger)
	e.srv = httptest.NewServer(h)
	t.Cleanup(e.srv.Close)
	return e
}

func webApp() tokenadmin.App {
	a := tokenadmin.NewApp("web")
	a.Scopes = []string{"read", "write"}
	return a
}

func (e *e2e) register(a tokenadmin.App) client {
	e.t.Helper()
	got, secret, err := e.db.RegisterApp(e.ctx, a)
	if err != nil {
		e.t.Fatal(err)
	}
	return client{id: got.ClientID, secret: secret}
}

func (e *e2e) config(c client, style oauth2.AuthStyle, scopes ...string) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     c.id,
		ClientSecret: c.secret,
		Endpoint:     oauth2.Endpoint{TokenURL: e.srv.URL + oauth.TokenPath, AuthStyle: style},
		Scopes:       scopes,
	}
}

// clientCtx makes golang.org/x/oauth2 use the test server's client.
func (e *e2e) clientCtx() context.Context {
	return context.WithValue(e.ctx, oauth2.HTTPClient, e.srv.Client())
}

func (e *e2e) passwordToken(conf *oauth2.Config) *oauth2.Token {
	e.t.Helper()
	tok, err := conf.PasswordCredentialsToken(e.clientCtx(), e2eUser, e2ePassword)
	if err != nil {
		e.t.Fatalf("password grant: %v", err)
	}
	return tok
}

// refresh refreshes tok's refresh token as x/oauth2 does when the access
// token has expired.
func (e *e2e) refresh(conf *oauth2.Config, refreshToken string) (*oauth2.Token, error) {
	expired := &oauth2.Token{AccessToken: "expired", RefreshToken: refreshToken, Expiry: time.Now().Add(-time.Hour)}
	return conf.TokenSource(e.clientCtx(), expired).Token()
}

// post sends a form to an endpoint with client_secret_basic credentials.
func (e *e2e) post(path string, c client, form url.Values) (int, []byte) {
	e.t.Helper()
	req, err := http.NewRequestWithContext(e.ctx, http.MethodPost, e.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(c.id), url.QueryEscape(c.secret))
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	if got := res.Header.Get("Cache-Control"); got != "no-store" {
		e.t.Errorf("%s: Cache-Control = %q, want no-store", path, got)
	}
	return res.StatusCode, body
}

// introspect asks the resource server's question about a token.
func (e *e2e) introspect(token string) map[string]any {
	e.t.Helper()
	status, body := e.post(oauth.IntrospectPath, e.rs, url.Values{"token": {token}})
	if status != http.StatusOK {
		e.t.Fatalf("introspection: %d %s", status, body)
	}
	var v map[string]any
	if err := json.Unmarshal(body, &v); err != nil {
		e.t.Fatalf("introspection: %v: %s", err, body)
	}
	if v["active"] == false && string(body) != `{"active":false}` {
		e.t.Errorf("inactive introspection = %s, want exactly {\"active\":false}", body)
	}
	return v
}

func (e *e2e) checkActive(what, token string, want bool) {
	e.t.Helper()
	if got := e.introspect(token)["active"] == true; got != want {
		e.t.Errorf("%s: active = %v, want %v", what, got, want)
	}
}

// checkLogClean fails if a secret reached the log.
func (e *e2e) checkLogClean(values ...string) {
	e.t.Helper()
	log := e.log.String()
	for _, s := range append(values, e.app.secret, e.rs.secret, e2ePassword, e2eAdminPass) {
		if s != "" && strings.Contains(log, s) {
			e.t.Errorf("the log contains a secret:\n%s", log)
		}
	}
}

func retrieveErrorCode(err error) string {
	if re, ok := errors.AsType[*oauth2.RetrieveError](err); ok {
		return re.ErrorCode
	}
	return ""
}

// TestE2EPasswordRefreshReuse: password grant, a refresh that rotates,
// then reuse of the retired refresh token: invalid_grant, and the whole
// family revoked (RFC 9700 §4.14.2), for both client authentication
// methods.
func TestE2EPasswordRefreshReuse(t *testing.T) {
	for _, tc := range []struct {
		name  string
		style oauth2.AuthStyle
	}{
		{name: "client_secret_basic", style: oauth2.AuthStyleInHeader},
		{name: "client_secret_post", style: oauth2.AuthStyleInParams},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newE2E(t, tokenadmin.DefaultPolicy, webApp())
			conf := e.config(e.app, tc.style, "read")
			tok := e.passwordToken(conf)
			if tok.AccessToken == "" || tok.RefreshToken == "" || tok.TokenType != "Bearer" {
				t.Fatalf("password grant returned %+v", tok)
			}
			if got := tok.Extra("scope"); got != "read" {
				t.Errorf("scope = %v, want read", got)
			}
			if left := time.Until(tok.Expiry); left < 59*time.Minute || left > time.Hour+time.Minute {
				t.Errorf("the access token expires in %v, want an hour", left)
			}
			info := e.introspect(tok.AccessToken)
			for k, want := range map[string]any{"active": true, "scope": "read", "client_id": e.app.id,
				"username": e2eUser, "sub": e2eUser, "token_type": "Bearer", "token_use": "access_token"} {
				if info[k] != want {
					t.Errorf("introspection %s = %v, want %v", k, info[k], want)
				}
			}

			refreshed, err := e.refresh(conf, tok.RefreshToken)
			if err != nil {
				t.Fatalf("refresh: %v", err)
			}
			if refreshed.RefreshToken == "" || refreshed.RefreshToken == tok.RefreshToken || refreshed.AccessToken == tok.AccessToken {
				t.Fatalf("rotation did not return new tokens: %+v", refreshed)
			}
			e.checkActive("the rotated refresh token", tok.RefreshToken, false)
			e.checkActive("the new refresh token", refreshed.RefreshToken, true)

			// Reuse of the retired refresh token.
			_, err = e.refresh(conf, tok.RefreshToken)
			if code := retrieveErrorCode(err); code != "invalid_grant" {
				t.Fatalf("reuse: error %v (code %q), want invalid_grant", err, code)
			}
			for what, v := range map[string]string{"first access token": tok.AccessToken,
				"new access token": refreshed.AccessToken, "new refresh token": refreshed.RefreshToken} {
				e.checkActive(what+" after reuse", v, false)
			}
			got, err := e.db.LookupToken(e.ctx, refreshed.RefreshToken)
			if err != nil || got.RevokeReason != tokenadmin.ReasonRefreshReuse {
				t.Errorf("new refresh token after reuse: %+v, %v; want reason %s", got, err, tokenadmin.ReasonRefreshReuse)
			}
			if _, err := e.refresh(conf, refreshed.RefreshToken); retrieveErrorCode(err) != "invalid_grant" {
				t.Errorf("refresh with the revoked family's token: %v, want invalid_grant", err)
			}
			e.checkLogClean(tok.AccessToken, tok.RefreshToken, refreshed.AccessToken, refreshed.RefreshToken)
		})
	}
}

// TestE2EConcurrentRefresh: several refreshes with one refresh token at
// once; exactly one succeeds, the others are invalid_grant.
func TestE2EConcurrentRefresh(t *testing.T) {
	const n = 8
	e := newE2E(t, tokenadmin.DefaultPolicy, webApp())
	conf := e.config(e.app, oauth2.AuthStyleInHeader)
	tok := e.passwordToken(conf)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		wins int
		errs []error
	)
	start := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-start
			_, err := e.refresh(conf, tok.RefreshToken)
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				wins++
			} else {
				errs = append(errs, err)
			}
		})
	}
	close(start)
	wg.Wait()
	if wins != 1 {
		t.Errorf("%d of %d concurrent refreshes succeeded, want exactly 1", wins, n)
	}
	for _, err := range errs {
		if code := retrieveErrorCode(err); code != "invalid_grant" {
			t.Errorf("a losing refresh failed with %v, want invalid_grant", err)
		}
	}
}

// TestE2ERevoke: RFC 7009 revocation, then introspection says inactive.
func TestE2ERevoke(t *testing.T) {
	e := newE2E(t, tokenadmin.DefaultPolicy, webApp())
	conf := e.config(e.app, oauth2.AuthStyleInHeader)
	first, second := e.passwordToken(conf), e.passwordToken(conf)

	// Another client's revocation is a 200 that changes nothing.
	if status, body := e.post(oauth.RevokePath, e.rs, url.Values{"token": {first.AccessToken}}); status != http.StatusOK || len(body) != 0 {
		t.Errorf("foreign revocation: %d %q, want 200 and no body", status, body)
	}
	e.checkActive("a token another client tried to revoke", first.AccessToken, true)

	// The access token alone.
	if status, body := e.post(oauth.RevokePath, e.app, url.Values{"token": {first.AccessToken}, "token_type_hint": {"access_token"}}); status != http.StatusOK || len(body) != 0 {
		t.Errorf("revocation: %d %q, want 200 and no body", status, body)
	}
	e.checkActive("the revoked access token", first.AccessToken, false)
	e.checkActive("its refresh token", first.RefreshToken, true)

	// A refresh token takes its family along.
	if status, _ := e.post(oauth.RevokePath, e.app, url.Values{"token": {second.RefreshToken}}); status != http.StatusOK {
		t.Errorf("revocation of a refresh token: %d, want 200", status)
	}
	e.checkActive("the access token of a revoked refresh token", second.AccessToken, false)
	if _, err := e.refresh(conf, second.RefreshToken); retrieveErrorCode(err) != "invalid_grant" {
		t.Errorf("refresh with a revoked refresh token: %v, want invalid_grant", err)
	}
	got, err := e.db.LookupToken(e.ctx, second.AccessToken)
	if err != nil || got.RevokeReason != oauth.RevokeReason || got.RevokedBy != "client:"+e.app.id {
		t.Errorf("revoked token: %+v, %v; want reason %s by client:%s", got, err, oauth.RevokeReason, e.app.id)
	}

	// Unknown and already revoked tokens: 200 too.
	for _, v := range []string{"no-such-token", first.AccessToken} {
		if status, _ := e.post(oauth.RevokePath, e.app, url.Values{"token": {v}}); status != http.StatusOK {
			t.Errorf("revocation of an unknown or revoked token: %d, want 200", status)
		}
	}
	e.checkLogClean(first.AccessToken, first.RefreshToken, second.AccessToken, second.RefreshToken)
}

// TestE2EIntrospectionAccess: who may introspect, with the real user
// store.
func TestE2EIntrospectionAccess(t *testing.T) {
	e := newE2E(t, tokenadmin.DefaultPolicy, webApp())
	tok := e.passwordToken(e.config(e.app, oauth2.AuthStyleInHeader))
	for _, tc := range []struct {
		name   string
		user   string
		pass   string
		status int
	}{
		{name: "admin user", user: e2eAdmin, pass: e2eAdminPass, status: http.StatusOK},
		{name: "user who is not an admin", user: e2eUser, pass: e2ePassword, status: http.StatusForbidden},
		{name: "client without the permission", user: e.app.id, pass: e.app.secret, status: http.StatusForbidden},
		{name: "wrong password", user: e2eAdmin, pass: "nope", status: http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := e.post(oauth.IntrospectPath, client{id: tc.user, secret: tc.pass}, url.Values{"token": {tok.AccessToken}})
			if status != tc.status {
				t.Errorf("status = %d %s, want %d", status, body, tc.status)
			}
		})
	}
}

// TestE2ERefreshSwitches: the refresh grant off for an app or for the
// server: no refresh token, and a refresh is unauthorized_client.
func TestE2ERefreshSwitches(t *testing.T) {
	noRefresh := webApp()
	noRefresh.GrantTypes = []string{tokenadmin.GrantPassword}
	serverOff := tokenadmin.DefaultPolicy
	serverOff.DisableRefreshGrant = true
	for _, tc := range []struct {
		name   string
		policy tokenadmin.Policy
		app    tokenadmin.App
	}{
		{name: "for the app", policy: tokenadmin.DefaultPolicy, app: noRefresh},
		{name: "for the server", policy: serverOff, app: webApp()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newE2E(t, tc.policy, tc.app)
			conf := e.config(e.app, oauth2.AuthStyleInHeader)
			tok := e.passwordToken(conf)
			if tok.RefreshToken != "" {
				t.Errorf("a refresh token was issued")
			}
			// A refresh token issued by an earlier configuration.
			iss, err := e.db.IssueTokens(e.ctx, tokenadmin.IssueRequest{ClientID: e.app.id, User: e2eUser,
				GrantType: tokenadmin.GrantPassword, AccessTTL: time.Hour, RefreshTTL: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.refresh(conf, iss.RefreshValue); retrieveErrorCode(err) != "unauthorized_client" {
				t.Errorf("refresh: %v, want unauthorized_client", err)
			}
		})
	}
}
