package storetest

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"tokenadmin"
)

// refreshReq asks to refresh value as clientID, with the suite's lifetimes.
func refreshReq(clientID, value string, rotate bool) tokenadmin.RefreshRequest {
	return tokenadmin.RefreshRequest{ClientID: clientID, Value: value, AccessTTL: accessTTL, RefreshTTL: refreshTTL, Rotate: rotate}
}

func (e *env) refresh(r tokenadmin.RefreshRequest) *tokenadmin.Issued {
	e.t.Helper()
	iss, err := e.oauth.RefreshTokens(e.ctx, r)
	if err != nil {
		e.t.Fatalf("RefreshTokens(client %s, rotate %v, scopes %v): %v", r.ClientID, r.Rotate, r.Scopes, err)
	}
	return iss
}

// checkRefreshed checks what a refresh of from issued at the store's clock:
// an access token and, with rotation only, a refresh token, of from's
// client and user with scopes, stored as returned and found by value.
func (e *env) checkRefreshed(iss *tokenadmin.Issued, from *tokenadmin.Token, scopes []string, rotate bool) {
	e.t.Helper()
	now := e.clock.Now()
	check := func(what string, got *tokenadmin.Token, value string, typ tokenadmin.TokenType, ttl time.Duration) {
		e.t.Helper()
		if got == nil || got.ID == "" || value == "" {
			e.t.Errorf("refresh issued no %s token (%+v, value %q)", what, got, value)
			return
		}
		want := tokenadmin.Token{ID: got.ID, Type: typ, ClientID: from.ClientID, AppName: from.AppName, User: from.User,
			Scopes: scopes, GrantType: got.GrantType, IssuedAt: now, ExpiresAt: now.Add(ttl)}
		if diffs := sameToken(got, &want); len(diffs) > 0 {
			e.t.Errorf("refreshed %s token as returned:\n\t%s", what, strings.Join(diffs, "\n\t"))
		}
		stored := e.get(got.ID)
		if diffs := sameToken(stored, got); len(diffs) > 0 || stored.State != tokenadmin.StateActive {
			e.t.Errorf("refreshed %s token from GetToken is %s, differs from the returned one: %v", what, stored.State, diffs)
		}
		looked, err := e.oauth.LookupToken(e.ctx, value)
		if err != nil || looked.ID != got.ID {
			e.t.Errorf("LookupToken(refreshed %s value) = %+v, %v; want token %s", what, looked, err, got.ID)
		}
	}
	check("access", iss.Access, iss.AccessValue, tokenadmin.AccessToken, accessTTL)
	if !rotate {
		if iss.Refresh != nil || iss.RefreshValue != "" {
			e.t.Errorf("refresh without rotation issued a refresh token: %+v", iss.Refresh)
		}
		return
	}
	check("refresh", iss.Refresh, iss.RefreshValue, tokenadmin.RefreshToken, refreshTTL)
}

// snapshot is every named token as GetToken reports it now.
func (e *env) snapshot(n *named) map[string]*tokenadmin.Token {
	e.t.Helper()
	s := map[string]*tokenadmin.Token{}
	for _, name := range n.order {
		s[name] = e.get(n.id(name))
	}
	return s
}

// unchanged checks that the tokens of before are still as they were, and
// that no token outside them is active.
func (e *env) unchanged(n *named, before map[string]*tokenadmin.Token) {
	e.t.Helper()
	names := slices.Sorted(maps.Keys(before))
	for _, name := range names {
		tok := e.get(n.id(name))
		if diffs := sameToken(tok, before[name]); len(diffs) > 0 || tok.State != before[name].State {
			e.t.Errorf("%s changed: %s → %s %v", name, before[name].State, tok.State, diffs)
		}
	}
	n.checkIDs(e.t, "active tokens", e.activeIDs(tokenadmin.TokenFilter{}), n.where(func(name string) bool {
		b, ok := before[name]
		return ok && b.State == tokenadmin.StateActive
	}))
}

// wantRecord checks the revocation record of the tokens named.
func (e *env) wantRecord(n *named, names []string, at time.Time, reason string) {
	e.t.Helper()
	for _, name := range names {
		tok := e.get(n.id(name))
		if tok.State != tokenadmin.StateRevoked || !tok.RevokedAt.Equal(at) || tok.RevokeReason != reason {
			e.t.Errorf("%s is %s, RevokedAt %v, RevokeReason %q; want revoked at %v, reason %q",
				name, tok.State, tok.RevokedAt, tok.RevokeReason, at, reason)
		}
	}
}

// oauthApps registers apps a1 and a2, each with the suite's grant
// scopes, and returns their secrets.
func (e *env) oauthApps() map[string]string {
	e.t.Helper()
	secrets := map[string]string{}
	for _, id := range []string{"a1", "a2"} {
		a := policyApp(id, "owner")
		a.Scopes = []string{"read", "write"}
		_, secrets[id] = e.register(a)
	}
	return secrets
}

func testAuthenticateClient(t *testing.T, h Harness) {
	e := h.env(t)
	app, secret := e.register(policyApp("app", "alice"))
	_, otherSecret := e.register(policyApp("other", "alice"))
	if _, err := e.fix.CreateApp(e.ctx, tokenadmin.App{ClientID: "bare", Name: "Bare", Owner: "alice"}); err != nil {
		t.Fatal(err)
	}
	_, offSecret := e.register(policyApp("off", "alice"))
	e.setState("off", tokenadmin.AppDisabled, "admin")
	_, goneSecret := e.register(policyApp("gone", "alice"))
	e.deleteApp("gone", "admin")

	t.Run("the app's secret returns the app", func(t *testing.T) {
		e.with(t).authenticates("app", secret, app)
	})

	// Every failure looks the same, so that a caller cannot tell an
	// unknown client from a wrong secret.
	wrong := secret[:len(secret)-1] + "A"
	if strings.HasSuffix(secret, "A") {
		wrong = secret[:len(secret)-1] + "B"
	}
	messages := map[string]string{}
	for _, tc := range []struct {
		name     string
		clientID string
		secret   string
	}{
		{name: "a wrong secret", clientID: "app", secret: wrong},
		{name: "the secret without its last character", clientID: "app", secret: secret[:len(secret)-1]},
		{name: "the secret with a character more", clientID: "app", secret: secret + "A"},
		{name: "an empty secret", clientID: "app", secret: ""},
		{name: "another app's secret", clientID: "app", secret: otherSecret},
		{name: "the client ID in other case", clientID: "APP", secret: secret},
		{name: "an unknown client", clientID: "nope", secret: secret},
		{name: "an unknown client without a secret", clientID: "nope", secret: ""},
		{name: "an empty client ID", clientID: "", secret: ""},
		{name: "an app made without a secret, with an empty secret", clientID: "bare", secret: ""},
		{name: "an app made without a secret, with some secret", clientID: "bare", secret: secret},
		{name: "a disabled app with its secret", clientID: "off", secret: offSecret},
		{name: "a deleted app with its last secret", clientID: "gone", secret: goneSecret},
	} {
		t.Run(tc.name+" is CodeUnauthenticated", func(t *testing.T) {
			e := e.with(t)
			a, err := e.oauth.AuthenticateClient(e.ctx, tc.clientID, tc.secret)
			wantCode(t, "AuthenticateClient", err, tokenadmin.CodeUnauthenticated)
			if a != nil {
				t.Errorf("AuthenticateClient returned an app with its error: %+v", a)
			}
			messages[tc.name] = tokenadmin.ErrorMessage(err)
		})
	}
	t.Run("every failure has the same message", func(t *testing.T) {
		if distinct := slices.Compact(slices.Sorted(maps.Values(messages))); len(distinct) != 1 {
			t.Errorf("failures have %d messages: %q", len(distinct), messages)
		}
	})
	t.Run("the app's secret still works after failures", func(t *testing.T) {
		e.with(t).authenticates("app", secret, app)
	})
}

func testLookupToken(t *testing.T, h Harness) {
	e := h.env(t)
	e.app("a1")
	n := newNamed()
	n.addIssued("g1", e.grant("a1", "alice"))
	n.addIssued("g2", e.grant("a1", "bob"))
	e.revoke(tokenadmin.RevokeRequest{TokenID: n.id("g2/refresh"), Actor: "admin", Reason: "why"})
	n.addIssued("short", e.access("a1", "alice", time.Minute))
	e.clock.Advance(time.Minute)

	for _, tc := range []struct {
		name   string
		at     time.Duration // clock, from epoch
		target string
		want   tokenadmin.TokenState
	}{
		{name: "an active access token", at: time.Minute, target: "g1/access", want: tokenadmin.StateActive},
		{name: "an active refresh token", at: time.Minute, target: "g1/refresh", want: tokenadmin.StateActive},
		{name: "a revoked refresh token", at: time.Minute, target: "g2/refresh", want: tokenadmin.StateRevoked},
		{name: "an access token revoked with its family", at: time.Minute, target: "g2/access", want: tokenadmin.StateRevoked},
		{name: "a token at its ExpiresAt is expired", at: time.Minute, target: "short/access", want: tokenadmin.StateExpired},
		{name: "a token the millisecond before ExpiresAt is active", at: accessTTL - time.Millisecond, target: "g1/access", want: tokenadmin.StateActive},
		{name: "a token long after ExpiresAt is expired", at: 2 * refreshTTL, target: "g1/refresh", want: tokenadmin.StateExpired},
		{name: "a revoked token stays revoked after ExpiresAt", at: 2 * refreshTTL, target: "g2/refresh", want: tokenadmin.StateRevoked},
	} {
		t.Run("finds "+tc.name, func(t *testing.T) {
			e := e.with(t)
			e.clock.Set(epoch.Add(tc.at))
			tok, err := e.oauth.LookupToken(e.ctx, n.value(tc.target))
			if err != nil {
				t.Fatalf("LookupToken(%s): %v", tc.target, err)
			}
			if tok.State != tc.want {
				t.Errorf("LookupToken(%s).State = %s, want %s", tc.target, tok.State, tc.want)
			}
			if diffs := sameToken(tok, e.get(n.id(tc.target))); len(diffs) > 0 {
				t.Errorf("LookupToken(%s) disagrees with GetToken:\n\t%s", tc.target, strings.Join(diffs, "\n\t"))
			}
		})
	}
	for _, tc := range []struct {
		name  string
		value string
	}{
		{name: "an unknown value", value: "no-such-value"},
		{name: "an empty value", value: ""},
		{name: "a token's ID", value: n.id("g1/access")},
		{name: "a value with one byte changed", value: n.value("g1/access")[1:] + "x"},
		{name: "a value with a byte more", value: n.value("g1/access") + "x"},
	} {
		t.Run(tc.name+" is CodeTokenNotFound", func(t *testing.T) {
			tok, err := e.oauth.LookupToken(t.Context(), tc.value)
			wantCode(t, "LookupToken", err, tokenadmin.CodeTokenNotFound)
			if tok != nil {
				t.Errorf("LookupToken returned a token with its error: %+v", tok)
			}
		})
	}
}

func testRefreshTokens(t *testing.T, h Harness) {
	t.Run("with rotation issues an access and a refresh token of the same family and retires the old refresh token", func(t *testing.T) {
		t.Parallel()
		e := h.env(t)
		e.oauthApps()
		n := newNamed()
		n.addIssued("g", e.grant("a1", "alice"))
		e.clock.Advance(time.Minute)
		at := e.clock.Now()
		r1 := e.refresh(refreshReq("a1", n.value("g/refresh"), true))
		n.addIssued("r1", r1)
		e.checkRefreshed(r1, n.token("g/refresh"), []string{"read"}, true)
		if r1.RefreshValue == n.value("g/refresh") || r1.AccessValue == n.value("g/access") {
			t.Errorf("refresh returned a value it had issued before")
		}
		e.wantRecord(n, []string{"g/refresh"}, at, tokenadmin.ReasonRotated)
		if st := e.state(n.id("g/access")); st != tokenadmin.StateActive {
			t.Errorf("the grant's access token is %s after a refresh; rotation retires only the refresh token", st)
		}

		// The new refresh token works in turn.
		e.clock.Advance(time.Minute)
		r2 := e.refresh(refreshReq("a1", r1.RefreshValue, true))
		n.addIssued("r2", r2)
		e.checkRefreshed(r2, n.token("r1/refresh"), []string{"read"}, true)
		e.wantRecord(n, []string{"r1/refresh"}, e.clock.Now(), tokenadmin.ReasonRotated)

		// One family: revoking the newest refresh token revokes every
		// active token the grant and its refreshes issued.
		res := e.revoke(tokenadmin.RevokeRequest{Value: r2.RefreshValue, Actor: "admin"})
		if want := (tokenadmin.RevokeResult{Revoked: true, TokenID: r2.Refresh.ID, Count: 4}); *res != want {
			t.Errorf("RevokeToken(r2/refresh) = %+v, want %+v (g, r1 and r2 access, r2 refresh)", *res, want)
		}
		e.checkStates(n, n.order)
	})

	t.Run("without rotation issues only an access token and the refresh token stays usable", func(t *testing.T) {
		t.Parallel()
		e := h.env(t)
		e.oauthApps()
		n := newNamed()
		n.addIssued("g", e.grant("a1", "alice"))
		for i := range 3 {
			e.clock.Advance(time.Minute)
			iss := e.refresh(refreshReq("a1", n.value("g/refresh"), false))
			n.addIssued(fmt.Sprintf("r%d", i), iss)
			e.checkRefreshed(iss, n.token("g/refresh"), []string{"read"}, false)
		}
		e.checkStates(n, nil)
		res := e.revoke(tokenadmin.RevokeRequest{Value: n.value("g/refresh"), Actor: "admin"})
		if want := (tokenadmin.RevokeResult{Revoked: true, TokenID: n.id("g/refresh"), Count: 5}); *res != want {
			t.Errorf("RevokeToken(g/refresh) = %+v, want %+v (its own family's four access tokens too)", *res, want)
		}
		e.checkStates(n, n.order)
	})

	t.Run("a retired refresh token presented again revokes its whole family and is CodeInvalidGrant", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			name    string
			present string
		}{
			{name: "the grant's refresh token", present: "g/refresh"},
			{name: "the latest retired refresh token", present: "r1/refresh"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				e := h.env(t)
				e.oauthApps()
				n := newNamed()
				n.addIssued("g", e.grant("a1", "alice"))
				n.addIssued("other", e.grant("a1", "alice")) // another family of the same user and app
				n.addIssued("a2", e.grant("a2", "alice"))
				e.clock.Advance(time.Minute)
				n.addIssued("r1", e.refresh(refreshReq("a1", n.value("g/refresh"), true)))
				e.clock.Advance(time.Minute)
				n.addIssued("r2", e.refresh(refreshReq("a1", n.value("r1/refresh"), true)))
				retired := e.snapshot(n)

				e.clock.Advance(time.Minute)
				at := e.clock.Now()
				iss, err := e.oauth.RefreshTokens(e.ctx, refreshReq("a1", n.value(tc.present), true))
				wantCode(t, "RefreshTokens with a retired refresh token", err, tokenadmin.CodeInvalidGrant)
				if iss != nil {
					t.Errorf("RefreshTokens returned tokens with its error: %+v", iss)
				}
				family := []string{"g/access", "r1/access", "r2/access", "r2/refresh"}
				e.wantRecord(n, family, at, tokenadmin.ReasonRefreshReuse)
				for _, name := range []string{"g/refresh", "r1/refresh"} { // retired, keep that record
					if diffs := sameToken(e.get(n.id(name)), retired[name]); len(diffs) > 0 {
						t.Errorf("%s's record changed: %v", name, diffs)
					}
				}
				e.checkStates(n, append(family, "g/refresh", "r1/refresh"))

				// The family's newest refresh token is dead too, and
				// presenting it changes nothing more.
				after := e.snapshot(n)
				e.clock.Advance(time.Minute)
				_, err = e.oauth.RefreshTokens(e.ctx, refreshReq("a1", n.value("r2/refresh"), true))
				wantCode(t, "RefreshTokens with the family's newest refresh token", err, tokenadmin.CodeInvalidGrant)
				e.unchanged(n, after)
			})
		}
	})

	t.Run("an invalid refresh token is CodeInvalidGrant and changes nothing", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			name     string
			clientID string
			// value returns the value to present, after setting up.
			value func(e *env, n *named) string
		}{
			{name: "another client's refresh token", clientID: "a1",
				value: func(e *env, n *named) string { return n.value("a2/refresh") }},
			{name: "an access token", clientID: "a1",
				value: func(e *env, n *named) string { return n.value("g/access") }},
			{name: "a refresh token's ID", clientID: "a1",
				value: func(e *env, n *named) string { return n.id("r1/refresh") }},
			{name: "an unknown value", clientID: "a1",
				value: func(e *env, n *named) string { return "no-such-value" }},
			{name: "an empty value", clientID: "a1",
				value: func(e *env, n *named) string { return "" }},
			{name: "an expired refresh token", clientID: "a1",
				value: func(e *env, n *named) string {
					// Its access token outlives it: expiry revokes nothing.
					n.addIssued("brief", e.issue(tokenadmin.IssueRequest{ClientID: "a1", User: "bob", Scopes: []string{"read"},
						GrantType: "authorization_code", AccessTTL: accessTTL, RefreshTTL: time.Minute}))
					e.clock.Advance(time.Minute)
					return n.value("brief/refresh")
				}},
			{name: "a refresh token an admin revoked", clientID: "a1",
				value: func(e *env, n *named) string {
					e.revoke(tokenadmin.RevokeRequest{Value: n.value("r1/refresh"), Actor: "admin", Reason: "compromised"})
					return n.value("r1/refresh")
				}},
			{name: "a refresh token revoked by a bulk revocation", clientID: "a1",
				value: func(e *env, n *named) string {
					if _, err := e.store.RevokeTokens(e.ctx, tokenadmin.BulkRevoke{User: "alice", ClientID: "a1", Actor: "admin", Reason: "offboarding"}); err != nil {
						e.t.Fatal(err)
					}
					return n.value("r1/refresh")
				}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				e := h.env(t)
				e.oauthApps()
				n := newNamed()
				n.addIssued("g", e.grant("a1", "alice"))
				n.addIssued("a2", e.grant("a2", "alice"))
				e.clock.Advance(time.Minute)
				n.addIssued("r1", e.refresh(refreshReq("a1", n.value("g/refresh"), true)))
				value := tc.value(e, n)
				before := e.snapshot(n)
				e.clock.Advance(time.Millisecond)
				for _, rotate := range []bool{true, false} {
					iss, err := e.oauth.RefreshTokens(e.ctx, refreshReq(tc.clientID, value, rotate))
					wantCode(t, fmt.Sprintf("RefreshTokens (rotate %v)", rotate), err, tokenadmin.CodeInvalidGrant)
					if iss != nil {
						t.Errorf("RefreshTokens returned tokens with its error: %+v", iss)
					}
				}
				e.unchanged(n, before)
			})
		}
	})

	t.Run("scopes", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			name   string
			scopes []string
			want   []string // the new access token's scopes
			code   tokenadmin.Code
		}{
			{name: "none asked keeps the grant's scopes", scopes: nil, want: []string{"read", "write"}},
			{name: "all of the grant's scopes", scopes: []string{"read", "write"}, want: []string{"read", "write"}},
			{name: "a subset narrows the access token", scopes: []string{"write"}, want: []string{"write"}},
			{name: "a scope beyond the grant is CodeInvalidScope", scopes: []string{"read", "admin"}, code: tokenadmin.CodeInvalidScope},
			{name: "a superset is CodeInvalidScope", scopes: []string{"read", "write", "admin"}, code: tokenadmin.CodeInvalidScope},
		} {
			for _, rotate := range []bool{true, false} {
				t.Run(fmt.Sprintf("%s/rotate %v", tc.name, rotate), func(t *testing.T) {
					t.Parallel()
					e := h.env(t)
					e.oauthApps()
					n := newNamed()
					n.addIssued("g", e.issue(tokenadmin.IssueRequest{ClientID: "a1", User: "alice", Scopes: []string{"read", "write"},
						GrantType: "authorization_code", AccessTTL: accessTTL, RefreshTTL: refreshTTL}))
					before := e.snapshot(n)
					e.clock.Advance(time.Minute)
					r := refreshReq("a1", n.value("g/refresh"), rotate)
					r.Scopes = tc.scopes
					iss, err := e.oauth.RefreshTokens(e.ctx, r)
					wantCode(t, "RefreshTokens", err, tc.code)
					if tc.code != "" {
						if iss != nil {
							t.Errorf("RefreshTokens returned tokens with its error: %+v", iss)
						}
						e.unchanged(n, before)
						return
					}
					if iss == nil {
						t.Fatal("RefreshTokens returned no tokens")
					}
					if !slices.Equal(iss.Access.Scopes, tc.want) {
						t.Errorf("access token scopes %v, want %v", iss.Access.Scopes, tc.want)
					}
					if got := e.get(iss.Access.ID).Scopes; !slices.Equal(got, tc.want) {
						t.Errorf("GetToken(access).Scopes = %v, want %v", got, tc.want)
					}
				})
			}
		}
	})

	t.Run("a rotated refresh token keeps the grant's scope (RFC 6749 §6)", func(t *testing.T) {
		t.Parallel()
		e := h.env(t)
		e.oauthApps()
		g := e.issue(tokenadmin.IssueRequest{ClientID: "a1", User: "alice", Scopes: []string{"read", "write"},
			GrantType: "authorization_code", AccessTTL: accessTTL, RefreshTTL: refreshTTL})
		e.clock.Advance(time.Minute)
		r := refreshReq("a1", g.RefreshValue, true)
		r.Scopes = []string{"read"}
		narrow := e.refresh(r)
		if narrow.Refresh == nil {
			t.Fatal("no rotated refresh token")
		}
		// "If a new refresh token is issued, the refresh token scope MUST
		// be identical to that of the refresh token included by the
		// client in the request."
		if got := e.get(narrow.Refresh.ID).Scopes; !slices.Equal(got, []string{"read", "write"}) {
			t.Errorf("rotated refresh token's scopes = %v, want the grant's [read write]", got)
		}
		e.clock.Advance(time.Minute)
		r = refreshReq("a1", narrow.RefreshValue, true)
		r.Scopes = []string{"write"}
		if _, err := e.oauth.RefreshTokens(e.ctx, r); err != nil {
			t.Errorf("refreshing the rotated token for a scope of the original grant: %v", err)
		}
	})

	t.Run("a refresh token of a disabled or deleted app is CodeInvalidGrant", func(t *testing.T) {
		t.Parallel()
		e := h.env(t)
		e.oauthApps()
		n := newNamed()
		n.addIssued("g", e.grant("a1", "alice"))
		n.addIssued("a2", e.grant("a2", "alice"))
		e.setState("a1", tokenadmin.AppDisabled, "ops")
		disabled := e.snapshot(n)
		e.clock.Advance(time.Minute)
		for _, rotate := range []bool{true, false} {
			_, err := e.oauth.RefreshTokens(e.ctx, refreshReq("a1", n.value("g/refresh"), rotate))
			wantCode(t, fmt.Sprintf("RefreshTokens for a disabled app (rotate %v)", rotate), err, tokenadmin.CodeInvalidGrant)
		}
		e.unchanged(n, disabled) // not reuse: the app_disabled records stay

		// Enabling the app does not bring its refresh tokens back; a new
		// grant refreshes again.
		e.setState("a1", tokenadmin.AppActive, "ops")
		_, err := e.oauth.RefreshTokens(e.ctx, refreshReq("a1", n.value("g/refresh"), true))
		wantCode(t, "RefreshTokens after enabling the app again", err, tokenadmin.CodeInvalidGrant)
		n.addIssued("again", e.grant("a1", "alice"))
		e.checkRefreshed(e.refresh(refreshReq("a1", n.value("again/refresh"), true)), n.token("again/refresh"), []string{"read"}, true)

		deleted := n.value("a2/refresh")
		e.deleteApp("a2", "ops")
		_, err = e.oauth.RefreshTokens(e.ctx, refreshReq("a2", deleted, true))
		wantCode(t, "RefreshTokens for a deleted app", err, tokenadmin.CodeInvalidGrant)
	})

	t.Run("concurrent refreshes of one token", func(t *testing.T) {
		t.Parallel()
		const workers = 8
		run := func(e *env, value string, rotate bool) (wins []*tokenadmin.Issued, codes map[tokenadmin.Code]int) {
			e.t.Helper()
			var (
				mu    sync.Mutex
				wg    sync.WaitGroup
				start = make(chan struct{})
			)
			codes = map[tokenadmin.Code]int{}
			for range workers {
				wg.Go(func() {
					<-start
					iss, err := e.oauth.RefreshTokens(e.ctx, refreshReq("a1", value, rotate))
					mu.Lock()
					defer mu.Unlock()
					if err == nil {
						wins = append(wins, iss)
					} else {
						codes[tokenadmin.ErrorCode(err)]++
					}
				})
			}
			close(start)
			wg.Wait()
			return wins, codes
		}

		t.Run("with rotation exactly one succeeds and the others are reuse", func(t *testing.T) {
			t.Parallel()
			e := h.env(t)
			e.oauthApps()
			n := newNamed()
			n.addIssued("g", e.grant("a1", "alice"))
			n.addIssued("other", e.grant("a1", "alice"))
			e.clock.Advance(time.Minute)
			wins, codes := run(e, n.value("g/refresh"), true)
			if len(wins) != 1 || codes[tokenadmin.CodeInvalidGrant] != workers-1 {
				t.Fatalf("%d refreshes succeeded and the others failed with %v; want 1, and %d CodeInvalidGrant", len(wins), codes, workers-1)
			}
			n.addIssued("winner", wins[0])
			// The losers presented a token the winner had retired: the
			// family is revoked, the winner's new tokens included.
			e.wantRecord(n, []string{"g/access", "winner/access", "winner/refresh"}, e.clock.Now(), tokenadmin.ReasonRefreshReuse)
			e.wantRecord(n, []string{"g/refresh"}, e.clock.Now(), tokenadmin.ReasonRotated)
			e.checkStates(n, []string{"g/access", "g/refresh", "winner/access", "winner/refresh"})
		})

		t.Run("without rotation every one succeeds", func(t *testing.T) {
			t.Parallel()
			e := h.env(t)
			e.oauthApps()
			n := newNamed()
			n.addIssued("g", e.grant("a1", "alice"))
			e.clock.Advance(time.Minute)
			wins, codes := run(e, n.value("g/refresh"), false)
			if len(wins) != workers {
				t.Fatalf("%d refreshes succeeded and the others failed with %v; want all %d", len(wins), codes, workers)
			}
			want := []string{n.id("g/access"), n.id("g/refresh")}
			for _, iss := range wins {
				if slices.Contains(want, iss.Access.ID) {
					t.Errorf("access token %s issued twice", iss.Access.ID)
				}
				want = append(want, iss.Access.ID)
				if st := e.state(iss.Access.ID); st != tokenadmin.StateActive {
					t.Errorf("refreshed access token %s is %s", iss.Access.ID, st)
				}
			}
			// The winners' order is the scheduler's: compare as sets.
			if got := e.activeIDs(tokenadmin.TokenFilter{}); !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))) {
				t.Errorf("active tokens %v, want the grant's and the %d refreshed ones %v", got, workers, want)
			}
		})
	})
}

// testRevokeTokenAsClient covers RevokeToken with ClientID set, as the
// revocation endpoint calls it (RFC 7009 §2.1: a client revokes only its
// own tokens).
func testRevokeTokenAsClient(t *testing.T, h Harness) {
	seed := func(e *env) *named {
		e.t.Helper()
		e.oauthApps()
		n := newNamed()
		n.addIssued("a1", e.grant("a1", "alice"))
		n.addIssued("a2", e.grant("a2", "alice"))
		e.clock.Advance(time.Minute)
		n.addIssued("a1 rotated", e.refresh(refreshReq("a1", n.value("a1/refresh"), true)))
		return n
	}

	t.Run("another client's token is CodeTokenNotFound and stays active", func(t *testing.T) {
		t.Parallel()
		e := h.env(t)
		n := seed(e)
		before := e.snapshot(n)
		for _, target := range []string{"a2/access", "a2/refresh"} {
			for _, how := range []by{byID, byValue} {
				t.Run(target+" "+how.String(), func(t *testing.T) {
					r := n.request(target, how)
					r.ClientID, r.Actor, r.Reason = "a1", "a1", "client revocation"
					res, err := e.oauth.RevokeToken(t.Context(), r)
					wantCode(t, "RevokeToken", err, tokenadmin.CodeTokenNotFound)
					if res != nil {
						t.Errorf("RevokeToken returned %+v with its error", *res)
					}
				})
			}
		}
		e.unchanged(n, before)
	})

	t.Run("a client revokes its own tokens", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			name      string
			target    string
			by        by
			wantCount int
			revoked   []string
		}{
			{name: "an access token revokes only itself", target: "a1 rotated/access", by: byValue,
				wantCount: 1, revoked: []string{"a1/refresh", "a1 rotated/access"}},
			{name: "a refresh token revokes its family", target: "a1 rotated/refresh", by: byValue,
				wantCount: 3, revoked: []string{"a1/access", "a1/refresh", "a1 rotated/access", "a1 rotated/refresh"}},
			{name: "a refresh token by ID revokes its family", target: "a1 rotated/refresh", by: byID,
				wantCount: 3, revoked: []string{"a1/access", "a1/refresh", "a1 rotated/access", "a1 rotated/refresh"}},
			{name: "a retired refresh token is already revoked", target: "a1/refresh", by: byValue,
				wantCount: 0, revoked: []string{"a1/refresh"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				e := h.env(t)
				n := seed(e)
				r := n.request(tc.target, tc.by)
				r.ClientID, r.Actor, r.Reason = "a1", "a1", "client revocation"
				res, err := e.oauth.RevokeToken(e.ctx, r)
				if err != nil {
					t.Fatalf("RevokeToken: %v", err)
				}
				want := tokenadmin.RevokeResult{Revoked: tc.wantCount > 0, TokenID: n.id(tc.target), Count: tc.wantCount}
				if *res != want {
					t.Errorf("RevokeToken = %+v, want %+v", *res, want)
				}
				e.checkStates(n, tc.revoked)
			})
		}
	})

	t.Run("an unknown token is CodeTokenNotFound", func(t *testing.T) {
		t.Parallel()
		e := h.env(t)
		n := seed(e)
		before := e.snapshot(n)
		for _, r := range []tokenadmin.RevokeRequest{
			{Value: "no-such-value", ClientID: "a1", Actor: "a1"},
			{TokenID: "no-such-token", ClientID: "a1", Actor: "a1"},
			{Value: n.value("a2/refresh"), ClientID: "nope", Actor: "nope"},
		} {
			_, err := e.oauth.RevokeToken(e.ctx, r)
			wantCode(t, fmt.Sprintf("RevokeToken(%+v)", r), err, tokenadmin.CodeTokenNotFound)
		}
		e.unchanged(n, before)
	})
}
