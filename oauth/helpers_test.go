package oauth

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"tokenadmin"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// testNow is the fake store's clock at the start of every test.
var testNow = time.Date(2025, 6, 7, 8, 9, 10, 0, time.UTC)

// fakeStore is an in-memory tokenadmin.OAuthStore that keeps the
// contract of the interface (families, rotation, reuse detection,
// RFC 7009 ownership) and records every request.
type fakeStore struct {
	mu      sync.Mutex
	now     time.Time
	apps    map[string]*fakeApp
	tokens  map[string]*fakeToken // by value
	seq     int
	failErr error // when set, every method fails with it

	issues    []tokenadmin.IssueRequest
	refreshes []tokenadmin.RefreshRequest
	revokes   []tokenadmin.RevokeRequest
	lookups   int
}

type fakeApp struct {
	app    tokenadmin.App
	secret string
}

type fakeToken struct {
	tok    tokenadmin.Token
	family int
}

var _ tokenadmin.OAuthStore = (*fakeStore)(nil)

func newFakeStore() *fakeStore {
	return &fakeStore{now: testNow, apps: map[string]*fakeApp{}, tokens: map[string]*fakeToken{}}
}

func (s *fakeStore) addApp(a tokenadmin.App, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a.State == "" {
		a.State = tokenadmin.AppActive
	}
	s.apps[a.ClientID] = &fakeApp{app: a, secret: secret}
}

func (s *fakeStore) advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = s.now.Add(d)
}

func (s *fakeStore) AuthenticateClient(_ context.Context, clientID, secret string) (*tokenadmin.App, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failErr != nil {
		return nil, s.failErr
	}
	a, ok := s.apps[clientID]
	if !ok || a.secret == "" || a.secret != secret || a.app.State != tokenadmin.AppActive {
		return nil, tokenadmin.Errorf(tokenadmin.CodeUnauthenticated, "invalid client credentials")
	}
	app := a.app
	return &app, nil
}

// newTokenLocked stores a new token and returns its value.
func (s *fakeStore) newTokenLocked(typ tokenadmin.TokenType, clientID, user, grant string, scopes []string, ttl time.Duration, family int) (*tokenadmin.Token, string) {
	s.seq++
	value := fmt.Sprintf("%s-%d", typ, s.seq)
	t := &fakeToken{family: family, tok: tokenadmin.Token{
		ID:        fmt.Sprintf("id-%d", s.seq),
		Type:      typ,
		ClientID:  clientID,
		User:      user,
		Scopes:    slices.Clone(scopes),
		GrantType: grant,
		IssuedAt:  s.now,
		ExpiresAt: s.now.Add(ttl),
	}}
	if family == 0 {
		t.family = s.seq
	}
	s.tokens[value] = t
	tok := t.tok
	tok.State = tok.StateAt(s.now)
	return &tok, value
}

func (s *fakeStore) IssueTokens(_ context.Context, r tokenadmin.IssueRequest) (*tokenadmin.Issued, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.issues = append(s.issues, r)
	if s.failErr != nil {
		return nil, s.failErr
	}
	if _, ok := s.apps[r.ClientID]; !ok {
		return nil, tokenadmin.Errorf(tokenadmin.CodeNotFound, "app %q not found", r.ClientID)
	}
	out := new(tokenadmin.Issued)
	out.Access, out.AccessValue = s.newTokenLocked(tokenadmin.AccessToken, r.ClientID, r.User, r.GrantType, r.Scopes, r.AccessTTL, 0)
	if r.RefreshTTL > 0 {
		family := s.tokens[out.AccessValue].family
		out.Refresh, out.RefreshValue = s.newTokenLocked(tokenadmin.RefreshToken, r.ClientID, r.User, r.GrantType, r.Scopes, r.RefreshTTL, family)
	}
	return out, nil
}

func (s *fakeStore) revokeFamilyLocked(family int, actor, reason string) {
	for _, t := range s.tokens {
		if t.family == family && t.tok.StateAt(s.now) == tokenadmin.StateActive {
			t.tok.RevokedAt, t.tok.RevokedBy, t.tok.RevokeReason = s.now, actor, reason
		}
	}
}

func (s *fakeStore) RefreshTokens(_ context.Context, r tokenadmin.RefreshRequest) (*tokenadmin.Issued, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refreshes = append(s.refreshes, r)
	if s.failErr != nil {
		return nil, s.failErr
	}
	invalid := tokenadmin.Errorf(tokenadmin.CodeInvalidGrant, "invalid refresh token")
	old, ok := s.tokens[r.Value]
	if !ok || old.tok.Type != tokenadmin.RefreshToken || old.tok.ClientID != r.ClientID {
		return nil, invalid
	}
	if old.tok.RevokeReason == tokenadmin.ReasonRotated {
		s.revokeFamilyLocked(old.family, "system", tokenadmin.ReasonRefreshReuse)
		return nil, invalid
	}
	if old.tok.StateAt(s.now) != tokenadmin.StateActive {
		return nil, invalid
	}
	scopes := old.tok.Scopes
	if len(r.Scopes) > 0 {
		for _, sc := range r.Scopes {
			if !slices.Contains(old.tok.Scopes, sc) {
				return nil, tokenadmin.Errorf(tokenadmin.CodeInvalidScope, "scope %q was not granted", sc)
			}
		}
		scopes = r.Scopes
	}
	out := new(tokenadmin.Issued)
	out.Access, out.AccessValue = s.newTokenLocked(tokenadmin.AccessToken, r.ClientID, old.tok.User, tokenadmin.GrantRefreshToken, scopes, r.AccessTTL, old.family)
	if r.Rotate {
		out.Refresh, out.RefreshValue = s.newTokenLocked(tokenadmin.RefreshToken, r.ClientID, old.tok.User, tokenadmin.GrantRefreshToken, old.tok.Scopes, r.RefreshTTL, old.family)
		old.tok.RevokedAt, old.tok.RevokedBy, old.tok.RevokeReason = s.now, "system", tokenadmin.ReasonRotated
	}
	return out, nil
}

func (s *fakeStore) LookupToken(_ context.Context, value string) (*tokenadmin.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lookups++
	if s.failErr != nil {
		return nil, s.failErr
	}
	t, ok := s.tokens[value]
	if !ok {
		return nil, tokenadmin.Errorf(tokenadmin.CodeTokenNotFound, "token not found")
	}
	tok := t.tok
	tok.State = tok.StateAt(s.now)
	return &tok, nil
}

func (s *fakeStore) RevokeToken(_ context.Context, r tokenadmin.RevokeRequest) (*tokenadmin.RevokeResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.revokes = append(s.revokes, r)
	if s.failErr != nil {
		return nil, s.failErr
	}
	t, ok := s.tokens[r.Value]
	if !ok || (r.ClientID != "" && t.tok.ClientID != r.ClientID) {
		return nil, tokenadmin.Errorf(tokenadmin.CodeTokenNotFound, "token not found")
	}
	res := &tokenadmin.RevokeResult{TokenID: t.tok.ID}
	if t.tok.StateAt(s.now) != tokenadmin.StateActive {
		return res, nil
	}
	if t.tok.Type == tokenadmin.RefreshToken {
		s.revokeFamilyLocked(t.family, r.Actor, r.Reason)
	} else {
		t.tok.RevokedAt, t.tok.RevokedBy, t.tok.RevokeReason = s.now, r.Actor, r.Reason
	}
	res.Revoked = true
	return res, nil
}

// token returns the stored token of a value.
func (s *fakeStore) token(t *testing.T, value string) tokenadmin.Token {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	ft, ok := s.tokens[value]
	if !ok {
		t.Fatalf("no token %q in the fake store", value)
	}
	tok := ft.tok
	tok.State = tok.StateAt(s.now)
	return tok
}

// issue stores tokens directly, as an earlier grant would have.
func (s *fakeStore) issue(t testing.TB, r tokenadmin.IssueRequest) *tokenadmin.Issued {
	t.Helper()
	iss, err := s.IssueTokens(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	s.issues = nil
	s.mu.Unlock()
	return iss
}

// fakeUsers is an in-memory Authenticator.
type fakeUsers struct {
	mu      sync.Mutex
	users   map[string]fakeUser
	calls   int
	failErr error
}

type fakeUser struct {
	password string
	role     tokenadmin.Role
}

var _ Authenticator = (*fakeUsers)(nil)

func (u *fakeUsers) Authenticate(_ context.Context, user, password string) (tokenadmin.Caller, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.calls++
	if u.failErr != nil {
		return tokenadmin.Caller{}, u.failErr
	}
	fu, ok := u.users[user]
	if !ok || password == "" || fu.password != password {
		return tokenadmin.Caller{}, tokenadmin.Errorf(tokenadmin.CodeUnauthenticated, "invalid user name or password")
	}
	return tokenadmin.Caller{Name: user, Role: fu.role}, nil
}

// Fixture clients and users. Secrets and passwords are distinctive so
// that the tests can check that none of them reaches the log.
const (
	webID, webSecret             = "web", "web-secret-3f9a"
	noRotateID, noRotateSecret   = "norotate", "norotate-secret-77c1"
	noRefreshID, noRefreshSecret = "norefresh", "norefresh-secret-0b2e"
	svcID, svcSecret             = "svc", "svc-secret-a51d"
	rsID, rsSecret               = "rs", "rs-secret-c0de"
	disabledID, disabledSecret   = "disabled", "disabled-secret-9e9e"
	oddID, oddSecret             = "odd client:1", "p@ss w+rd:%/é"
	alicePassword, rootPassword  = "alice-pw-6d1f", "root-pw-e2a4"
)

type fixture struct {
	store *fakeStore
	users *fakeUsers
	h     *Handler
	log   *bytes.Buffer
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	s := newFakeStore()
	all := []string{tokenadmin.GrantPassword, tokenadmin.GrantClientCredentials, tokenadmin.GrantRefreshToken}
	s.addApp(tokenadmin.App{ClientID: webID, Name: "Web", GrantTypes: all, Scopes: []string{"read", "write", "admin"}, RotateRefresh: true}, webSecret)
	s.addApp(tokenadmin.App{ClientID: noRotateID, Name: "No rotation", GrantTypes: all, Scopes: []string{"read"}, AccessTTL: 10 * time.Minute, RefreshTTL: time.Hour}, noRotateSecret)
	s.addApp(tokenadmin.App{ClientID: noRefreshID, Name: "No refresh", GrantTypes: all[:2], Scopes: []string{"read"}, RotateRefresh: true}, noRefreshSecret)
	s.addApp(tokenadmin.App{ClientID: svcID, Name: "Service", GrantTypes: all[1:2], Scopes: []string{"read"}, Introspect: true}, svcSecret)
	s.addApp(tokenadmin.App{ClientID: rsID, Name: "Resource server", Introspect: true}, rsSecret)
	s.addApp(tokenadmin.App{ClientID: disabledID, Name: "Disabled", GrantTypes: all, State: tokenadmin.AppDisabled, Introspect: true}, disabledSecret)
	s.addApp(tokenadmin.App{ClientID: oddID, Name: "Odd", GrantTypes: all[1:2]}, oddSecret)
	u := &fakeUsers{users: map[string]fakeUser{
		"alice": {password: alicePassword, role: tokenadmin.RoleUser},
		"root":  {password: rootPassword, role: tokenadmin.RoleAdmin},
	}}
	log := new(bytes.Buffer)
	logger := slog.New(slog.NewTextHandler(&lockedWriter{w: log}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h := NewHandler(s, u, tokenadmin.Policy{AccessTTL: time.Hour, RefreshTTL: 24 * time.Hour}, logger)
	return &fixture{store: s, users: u, h: h, log: log}
}

// checkLogClean fails if the log holds any secret, password or token
// value of the fixture or of the given values.
func (fx *fixture) checkLogClean(t *testing.T, values ...string) {
	t.Helper()
	log := fx.log.String()
	for _, s := range append(values, webSecret, noRotateSecret, noRefreshSecret, svcSecret, rsSecret,
		disabledSecret, oddSecret, alicePassword, rootPassword) {
		if s != "" && strings.Contains(log, s) {
			t.Errorf("the log contains the secret %q:\n%s", s, log)
		}
	}
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// call is one request to the handler.
type call struct {
	method      string // default POST
	path        string // default TokenPath
	contentType string // default the form type; "-" for none
	auth        string // the Authorization header, if any
	body        string
	header      http.Header // more headers
}

// response is what the handler answered.
type response struct {
	status int
	header http.Header
	body   []byte
}

func serve(t testing.TB, h http.Handler, c call) response {
	t.Helper()
	if c.method == "" {
		c.method = http.MethodPost
	}
	if c.path == "" {
		c.path = TokenPath
	}
	req := httptest.NewRequest(c.method, c.path, strings.NewReader(c.body))
	switch c.contentType {
	case "":
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	case "-":
	default:
		req.Header.Set("Content-Type", c.contentType)
	}
	if c.auth != "" {
		req.Header.Set("Authorization", c.auth)
	}
	for k, vs := range c.header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return response{status: rec.Code, header: rec.Result().Header, body: rec.Body.Bytes()}
}

// basic returns client_secret_basic credentials: RFC 6749 §2.3.1 form-
// encodes id and secret before they go into Basic, as golang.org/x/oauth2
// does.
func basic(id, secret string) string {
	return rawBasic(url.QueryEscape(id), url.QueryEscape(secret))
}

// rawBasic returns Basic credentials without form-encoding (RFC 7617),
// as a user's are sent.
func rawBasic(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

// params encodes name/value pairs in order (duplicates allowed, unlike
// url.Values).
func params(kv ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(kv[i]) + "=" + url.QueryEscape(kv[i+1]))
	}
	return b.String()
}

// checkNoStore checks the headers every response carries.
func checkNoStore(t testing.TB, res response) {
	t.Helper()
	if got := res.header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", got)
	}
	if got := res.header.Get("Pragma"); got != "no-cache" {
		t.Errorf("Pragma = %q, want no-cache", got)
	}
}

// checkError checks an error response against RFC 6749 §5.2: the status,
// a JSON object with exactly "error" and "error_description", the
// description's characters, WWW-Authenticate on 401 and only then, and
// the no-store headers.
func checkError(t testing.TB, res response, status int, code string) {
	t.Helper()
	checkNoStore(t, res)
	if res.status != status {
		t.Errorf("status = %d, want %d (body %s)", res.status, status, res.body)
	}
	if ct := res.header.Get("Content-Type"); ct != "application/json;charset=UTF-8" {
		t.Errorf("Content-Type = %q, want application/json;charset=UTF-8", ct)
	}
	var body map[string]any
	if err := json.Unmarshal(res.body, &body); err != nil {
		t.Fatalf("body is not a JSON object: %v: %s", err, res.body)
	}
	if body["error"] != code {
		t.Errorf("error = %v, want %s (body %s)", body["error"], code, res.body)
	}
	desc, ok := body["error_description"].(string)
	if !ok || desc == "" {
		t.Errorf("error_description missing or empty: %s", res.body)
	}
	for _, r := range desc {
		if r < 0x20 || r == '"' || r == '\\' || r > 0x7e {
			t.Errorf("error_description has %q, outside %%x20-21 / %%x23-5B / %%x5D-7E", r)
		}
	}
	if len(body) != 2 {
		t.Errorf("body has members besides error and error_description: %s", res.body)
	}
	wa := res.header.Get("WWW-Authenticate")
	switch {
	case status == http.StatusUnauthorized && wa != `Basic realm="tokenadmin"`:
		t.Errorf(`WWW-Authenticate = %q, want Basic realm="tokenadmin"`, wa)
	case status != http.StatusUnauthorized && wa != "":
		t.Errorf("WWW-Authenticate = %q on a %d", wa, status)
	}
}

// decode checks a 200 JSON response and decodes it.
func decode(t testing.TB, res response) map[string]any {
	t.Helper()
	checkNoStore(t, res)
	if res.status != http.StatusOK {
		t.Fatalf("status = %d, want 200: %s", res.status, res.body)
	}
	if ct := res.header.Get("Content-Type"); ct != "application/json;charset=UTF-8" {
		t.Errorf("Content-Type = %q, want application/json;charset=UTF-8", ct)
	}
	var body map[string]any
	if err := json.Unmarshal(res.body, &body); err != nil {
		t.Fatalf("body is not a JSON object: %v: %s", err, res.body)
	}
	return body
}

// golden compares a response's wire form with testdata/<name>.golden, or
// rewrites that file with -update. Only the headers that are part of the
// contract are kept; nothing is volatile, since the fake store's clock
// and token values are fixed.
func golden(t *testing.T, name string, res response) {
	t.Helper()
	var b bytes.Buffer
	fmt.Fprintf(&b, "%d %s\n", res.status, http.StatusText(res.status))
	var names []string
	for k := range res.header {
		switch k {
		case "Allow", "Cache-Control", "Content-Type", "Pragma", "Www-Authenticate":
			names = append(names, k)
		}
	}
	sort.Strings(names)
	for _, k := range names {
		fmt.Fprintf(&b, "%s: %s\n", k, strings.Join(res.header[k], ", "))
	}
	b.WriteString("\n")
	b.Write(res.body)
	b.WriteString("\n")
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(b.Bytes(), want) {
		t.Errorf("%s differs from the golden file:\n got:\n%s\nwant:\n%s", name, b.Bytes(), want)
	}
}

// errInternal stands for a store failure: not a *tokenadmin.Error.
var errInternal = errors.New("store: disk I/O error at /var/lib/tokenadmin.db")
