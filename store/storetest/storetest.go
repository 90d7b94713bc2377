// Package storetest is the conformance suite for the storage contracts:
// tokenadmin.TokenStore, tokenadmin.AppStore and tokenadmin.OAuthStore.
// Every backend (SQLite today, PostgreSQL next) runs the same Run from its
// own tests, so that the contracts documented on those interfaces mean the
// same thing everywhere:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, storetest.Harness{New: func(t *testing.T, c storetest.Config) (storetest.Store, storetest.Fixture) {
//			db := openTestDB(t, c) // a fresh, empty store on c.Now, closed in t.Cleanup
//			return db, db
//		}})
//	}
//
// Beyond the interface comments, the suite pins down what clients rely on:
// listings are in issuance order (access before refresh of the same grant),
// so tokens issued while a client pages appear at the end; expiry is judged
// by the store's clock with ExpiresAt itself already expired; and a
// revocation is visible to the very next read.
package storetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"tokenadmin"
)

// Harness is what a backend provides to the suite.
type Harness struct {
	// New returns a fresh, empty store configured by c, and a Fixture that
	// seeds it. It must be safe to call from parallel tests, and release
	// the store in t.Cleanup.
	New func(t *testing.T, c Config) (Store, Fixture)
}

// Store is every storage contract a backend implements. The suite calls
// each method through the interface that documents it; one value serves
// all three, as one database does.
type Store interface {
	tokenadmin.TokenStore
	tokenadmin.AppStore
	tokenadmin.OAuthStore
}

// Config is how the suite wants a store built.
type Config struct {
	// Now is the store's clock; the store must call it whenever it needs
	// the time (the suite moves it to expire tokens).
	Now func() time.Time
	// ChunkSize, when positive, is how many tokens one bulk-revocation
	// transaction should revoke; 0 means the backend's default. Backends
	// without such a knob may ignore it.
	ChunkSize int
}

// Fixture seeds a store, in domain terms. *store.DB implements it.
type Fixture interface {
	// CreateApp registers an app; the suite always sets ClientID.
	CreateApp(ctx context.Context, a tokenadmin.App) (*tokenadmin.App, error)
	// IssueTokens issues an access token and, when RefreshTTL > 0, a
	// refresh token of the same family, at the store's clock.
	IssueTokens(ctx context.Context, r tokenadmin.IssueRequest) (*tokenadmin.Issued, error)
}

// Run runs the suite against h.
func Run(t *testing.T, h Harness) {
	if h.New == nil {
		t.Fatal("storetest: Harness.New is nil")
	}
	t.Run("ListActiveTokens", func(t *testing.T) { t.Parallel(); testListActiveTokens(t, h) })
	t.Run("RevokeToken", func(t *testing.T) { t.Parallel(); testRevokeToken(t, h) })
	t.Run("RevokeTokens", func(t *testing.T) { t.Parallel(); testRevokeTokens(t, h) })
	t.Run("ListAuthorizedApps", func(t *testing.T) { t.Parallel(); testListAuthorizedApps(t, h) })
	t.Run("GetToken", func(t *testing.T) { t.Parallel(); testGetToken(t, h) })
	t.Run("Concurrency", func(t *testing.T) { t.Parallel(); testConcurrency(t, h) })

	t.Run("RegisterApp", func(t *testing.T) { t.Parallel(); testRegisterApp(t, h) })
	t.Run("ListApps", func(t *testing.T) { t.Parallel(); testListApps(t, h) })
	t.Run("UpdateApp", func(t *testing.T) { t.Parallel(); testUpdateApp(t, h) })
	t.Run("AppLifecycle", func(t *testing.T) { t.Parallel(); testAppLifecycle(t, h) })
	t.Run("SetAppState", func(t *testing.T) { t.Parallel(); testSetAppState(t, h) })
	t.Run("DeleteApp", func(t *testing.T) { t.Parallel(); testDeleteApp(t, h) })
	t.Run("RegenerateSecret", func(t *testing.T) { t.Parallel(); testRegenerateSecret(t, h) })

	t.Run("AuthenticateClient", func(t *testing.T) { t.Parallel(); testAuthenticateClient(t, h) })
	t.Run("LookupToken", func(t *testing.T) { t.Parallel(); testLookupToken(t, h) })
	t.Run("RefreshTokens", func(t *testing.T) { t.Parallel(); testRefreshTokens(t, h) })
	t.Run("RevokeTokenAsClient", func(t *testing.T) { t.Parallel(); testRevokeTokenAsClient(t, h) })
}

// epoch is where every store's clock starts. It is a whole millisecond, as
// is every step the suite takes, so stored times compare exactly.
var epoch = time.Date(2030, time.January, 2, 3, 4, 5, 0, time.UTC)

// Token lifetimes the suite issues with unless a test says otherwise.
const (
	accessTTL  = time.Hour
	refreshTTL = 24 * time.Hour
)

// clock is a store clock that tests move by hand; safe for concurrent use.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := new(clock)
	c.ns.Store(epoch.UnixNano())
	return c
}

func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }
func (c *clock) Set(t time.Time)         { c.ns.Store(t.UnixNano()) }

// env is one fresh store with its clock and fixture.
type env struct {
	t     *testing.T
	ctx   context.Context
	clock *clock
	store tokenadmin.TokenStore
	apps  tokenadmin.AppStore
	oauth tokenadmin.OAuthStore
	fix   Fixture
}

func (h Harness) env(t *testing.T) *env { return h.envChunked(t, 0) }

// with returns e reporting to t, for a subtest sharing e's store.
func (e *env) with(t *testing.T) *env {
	c := *e
	c.t, c.ctx = t, t.Context()
	return &c
}

func (h Harness) envChunked(t *testing.T, chunkSize int) *env {
	t.Helper()
	c := newClock()
	s, fix := h.New(t, Config{Now: c.Now, ChunkSize: chunkSize})
	return &env{t: t, ctx: t.Context(), clock: c, store: s, apps: s, oauth: s, fix: fix}
}

// app registers an app whose name is derived from its client ID.
func (e *env) app(clientID string) {
	e.t.Helper()
	e.appNamed(clientID, "App "+clientID)
}

func (e *env) appNamed(clientID, name string) {
	e.t.Helper()
	if _, err := e.fix.CreateApp(e.ctx, tokenadmin.App{ClientID: clientID, Name: name, Owner: "owner"}); err != nil {
		e.t.Fatalf("CreateApp(%q): %v", clientID, err)
	}
}

func (e *env) issue(r tokenadmin.IssueRequest) *tokenadmin.Issued {
	e.t.Helper()
	iss, err := e.fix.IssueTokens(e.ctx, r)
	if err != nil {
		e.t.Fatalf("IssueTokens(%+v): %v", r, err)
	}
	return iss
}

// grant issues an access token and a refresh token of one family.
func (e *env) grant(clientID, user string) *tokenadmin.Issued {
	e.t.Helper()
	return e.issue(tokenadmin.IssueRequest{ClientID: clientID, User: user, Scopes: []string{"read"},
		GrantType: "authorization_code", AccessTTL: accessTTL, RefreshTTL: refreshTTL})
}

// access issues an access token alone, living ttl.
func (e *env) access(clientID, user string, ttl time.Duration) *tokenadmin.Issued {
	e.t.Helper()
	return e.issue(tokenadmin.IssueRequest{ClientID: clientID, User: user, Scopes: []string{"read"},
		GrantType: "client_credentials", AccessTTL: ttl})
}

func (e *env) revoke(r tokenadmin.RevokeRequest) *tokenadmin.RevokeResult {
	e.t.Helper()
	res, err := e.store.RevokeToken(e.ctx, r)
	if err != nil {
		e.t.Fatalf("RevokeToken(%+v): %v", r, err)
	}
	return res
}

func (e *env) get(id string) *tokenadmin.Token {
	e.t.Helper()
	tok, err := e.store.GetToken(e.ctx, id)
	if err != nil {
		e.t.Fatalf("GetToken(%q): %v", id, err)
	}
	return tok
}

// state returns a token's State as the store reports it, which must be
// the state at the store's clock.
func (e *env) state(id string) tokenadmin.TokenState {
	e.t.Helper()
	tok := e.get(id)
	if want := tok.StateAt(e.clock.Now()); tok.State != want {
		e.t.Errorf("GetToken(%q).State = %q, want %q (judged by the store's clock)", id, tok.State, want)
	}
	return tok.State
}

func (e *env) list(f tokenadmin.TokenFilter) *tokenadmin.TokenPage {
	e.t.Helper()
	p, err := e.store.ListActiveTokens(e.ctx, f)
	if err != nil {
		e.t.Fatalf("ListActiveTokens(%+v): %v", f, err)
	}
	return p
}

// listAll pages through f (f.PageSize must be set) and returns the IDs in
// order, checking the paging invariants on the way: full pages carry a
// page token, the last page does not and is not empty (unless nothing
// matches), and no page is longer than asked for.
func (e *env) listAll(f tokenadmin.TokenFilter) []string {
	e.t.Helper()
	var ids []string
	for pages := 1; ; pages++ {
		p := e.list(f)
		if len(p.Tokens) > f.PageSize {
			e.t.Fatalf("page %d of %+v has %d tokens, more than pageSize", pages, f, len(p.Tokens))
		}
		ids = append(ids, tokenIDs(p.Tokens)...)
		if p.NextPageToken == "" {
			if len(p.Tokens) == 0 && pages > 1 {
				e.t.Errorf("listing %+v ended with an empty page %d; the previous page should have had no pageToken", f, pages)
			}
			return ids
		}
		if len(p.Tokens) != f.PageSize {
			e.t.Fatalf("page %d of %+v has %d tokens and a pageToken; want exactly pageSize (%d)", pages, f, len(p.Tokens), f.PageSize)
		}
		if pages > 10000 {
			e.t.Fatalf("listing %+v does not end", f)
		}
		f.PageToken = p.NextPageToken
	}
}

// activeIDs lists every active token of f in one page.
func (e *env) activeIDs(f tokenadmin.TokenFilter) []string {
	e.t.Helper()
	f.PageSize = tokenadmin.MaxPageSize
	return e.listAll(f)
}

func tokenIDs(ts []*tokenadmin.Token) []string {
	ids := make([]string, len(ts))
	for i, t := range ts {
		ids[i] = t.ID
	}
	return ids
}

// named gives seeded tokens readable names for table tests and messages.
type named struct {
	tokens map[string]*tokenadmin.Token // name → token as issued
	values map[string]string            // name → token value
	names  map[string]string            // ID → name
	order  []string                     // names in issuance order
}

func newNamed() *named {
	return &named{tokens: map[string]*tokenadmin.Token{}, values: map[string]string{}, names: map[string]string{}}
}

func (n *named) add(name string, t *tokenadmin.Token, value string) {
	if t == nil {
		return
	}
	if _, dup := n.tokens[name]; dup {
		panic("storetest: token name used twice: " + name)
	}
	n.tokens[name], n.values[name], n.names[t.ID] = t, value, name
	n.order = append(n.order, name)
}

// addIssued names the access token name+"/access" and the refresh token
// name+"/refresh".
func (n *named) addIssued(name string, iss *tokenadmin.Issued) {
	n.add(name+"/access", iss.Access, iss.AccessValue)
	n.add(name+"/refresh", iss.Refresh, iss.RefreshValue)
}

func (n *named) token(name string) *tokenadmin.Token {
	t, ok := n.tokens[name]
	if !ok {
		panic("storetest: no token named " + name)
	}
	return t
}

func (n *named) value(name string) string {
	n.token(name)
	return n.values[name]
}

func (n *named) id(name string) string { return n.token(name).ID }

func (n *named) idsOf(names []string) []string {
	out := make([]string, len(names))
	for i, name := range names {
		out[i] = n.id(name)
	}
	return out
}

func (n *named) namesOf(ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		if name, ok := n.names[id]; ok {
			out[i] = name
		} else {
			out[i] = "?" + id
		}
	}
	return out
}

// except returns the names in issuance order, without drop.
func (n *named) except(drop ...string) []string {
	var out []string
	for _, name := range n.order {
		if !slices.Contains(drop, name) {
			out = append(out, name)
		}
	}
	return out
}

// where returns the names in issuance order that keep accepts.
func (n *named) where(keep func(name string) bool) []string {
	var out []string
	for _, name := range n.order {
		if keep(name) {
			out = append(out, name)
		}
	}
	return out
}

// checkIDs reports got (IDs) against want (names), in order, by name.
func (n *named) checkIDs(t *testing.T, what string, got []string, want []string) {
	t.Helper()
	if g := n.namesOf(got); !slices.Equal(g, want) {
		t.Errorf("%s:\n got  %s\n want %s", what, fmtNames(g), fmtNames(want))
	}
}

func fmtNames(names []string) string {
	if len(names) == 0 {
		return "[]"
	}
	return "[" + strings.Join(names, " ") + "]"
}

// wantCode fails t unless err carries code.
func wantCode(t *testing.T, what string, err error, code tokenadmin.Code) {
	t.Helper()
	if got := tokenadmin.ErrorCode(err); got != code {
		t.Errorf("%s: error code %q (err %v), want %q", what, got, err, code)
	}
}

// sameToken reports the fields of got that differ from want.
func sameToken(got, want *tokenadmin.Token) []string {
	var diffs []string
	check := func(field string, ok bool, g, w any) {
		if !ok {
			diffs = append(diffs, fmt.Sprintf("%s = %v, want %v", field, g, w))
		}
	}
	check("ID", got.ID == want.ID, got.ID, want.ID)
	check("Type", got.Type == want.Type, got.Type, want.Type)
	check("ClientID", got.ClientID == want.ClientID, got.ClientID, want.ClientID)
	check("AppName", got.AppName == want.AppName, got.AppName, want.AppName)
	check("User", got.User == want.User, got.User, want.User)
	check("Scopes", slices.Equal(got.Scopes, want.Scopes), got.Scopes, want.Scopes)
	check("GrantType", got.GrantType == want.GrantType, got.GrantType, want.GrantType)
	check("IssuedAt", got.IssuedAt.Equal(want.IssuedAt), got.IssuedAt, want.IssuedAt)
	check("ExpiresAt", got.ExpiresAt.Equal(want.ExpiresAt), got.ExpiresAt, want.ExpiresAt)
	check("RevokedAt", got.RevokedAt.Equal(want.RevokedAt), got.RevokedAt, want.RevokedAt)
	check("RevokedBy", got.RevokedBy == want.RevokedBy, got.RevokedBy, want.RevokedBy)
	check("RevokeReason", got.RevokeReason == want.RevokeReason, got.RevokeReason, want.RevokeReason)
	return diffs
}
