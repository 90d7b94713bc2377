package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"tokenadmin"
)

// policyApp is an app with a value in every policy field.
func policyApp(clientID, owner string) tokenadmin.App {
	return tokenadmin.App{
		ClientID:      clientID,
		Name:          "App " + clientID,
		Owner:         owner,
		GrantTypes:    []string{tokenadmin.GrantPassword, tokenadmin.GrantRefreshToken},
		Scopes:        []string{"read", "write"},
		AccessTTL:     10 * time.Minute,
		RefreshTTL:    48 * time.Hour,
		RotateRefresh: true,
		Introspect:    true,
	}
}

// register registers a and returns the app and its secret.
func (e *env) register(a tokenadmin.App) (*tokenadmin.App, string) {
	e.t.Helper()
	got, secret, err := e.apps.RegisterApp(e.ctx, a)
	if err != nil {
		e.t.Fatalf("RegisterApp(%q): %v", a.ClientID, err)
	}
	return got, secret
}

func (e *env) getApp(clientID string) *tokenadmin.App {
	e.t.Helper()
	a, err := e.apps.GetApp(e.ctx, clientID)
	if err != nil {
		e.t.Fatalf("GetApp(%q): %v", clientID, err)
	}
	return a
}

func (e *env) setState(clientID string, state tokenadmin.AppState, actor string) int {
	e.t.Helper()
	n, err := e.apps.SetAppState(e.ctx, clientID, state, actor)
	if err != nil {
		e.t.Fatalf("SetAppState(%q, %s): %v", clientID, state, err)
	}
	return n
}

func (e *env) deleteApp(clientID, actor string) int {
	e.t.Helper()
	n, err := e.apps.DeleteApp(e.ctx, clientID, actor)
	if err != nil {
		e.t.Fatalf("DeleteApp(%q): %v", clientID, err)
	}
	return n
}

// authenticates checks that secret authenticates clientID, as want.
func (e *env) authenticates(clientID, secret string, want *tokenadmin.App) {
	e.t.Helper()
	a, err := e.oauth.AuthenticateClient(e.ctx, clientID, secret)
	if err != nil {
		e.t.Errorf("AuthenticateClient(%q) with its secret: %v", clientID, err)
		return
	}
	wantApp(e.t, "AuthenticateClient("+clientID+")", a, want)
}

// rejects checks that secret does not authenticate clientID.
func (e *env) rejects(what, clientID, secret string) {
	e.t.Helper()
	a, err := e.oauth.AuthenticateClient(e.ctx, clientID, secret)
	wantCode(e.t, what, err, tokenadmin.CodeUnauthenticated)
	if a != nil {
		e.t.Errorf("%s: AuthenticateClient returned an app with its error: %+v", what, a)
	}
}

// wantApp reports the fields of got that differ from want.
func wantApp(t *testing.T, what string, got, want *tokenadmin.App) {
	t.Helper()
	if got == nil {
		t.Errorf("%s: no app, want %+v", what, want)
		return
	}
	if diffs := sameApp(got, want); len(diffs) > 0 {
		t.Errorf("%s:\n\t%s", what, strings.Join(diffs, "\n\t"))
	}
}

// sameApp reports the fields of got that differ from want. Lists compare
// by their elements: no grant types is no grant types, nil or empty.
func sameApp(got, want *tokenadmin.App) []string {
	var diffs []string
	check := func(field string, ok bool, g, w any) {
		if !ok {
			diffs = append(diffs, fmt.Sprintf("%s = %v, want %v", field, g, w))
		}
	}
	check("ClientID", got.ClientID == want.ClientID, got.ClientID, want.ClientID)
	check("Name", got.Name == want.Name, got.Name, want.Name)
	check("Owner", got.Owner == want.Owner, got.Owner, want.Owner)
	check("CreatedAt", got.CreatedAt.Equal(want.CreatedAt), got.CreatedAt, want.CreatedAt)
	check("GrantTypes", slices.Equal(got.GrantTypes, want.GrantTypes), got.GrantTypes, want.GrantTypes)
	check("Scopes", slices.Equal(got.Scopes, want.Scopes), got.Scopes, want.Scopes)
	check("AccessTTL", got.AccessTTL == want.AccessTTL, got.AccessTTL, want.AccessTTL)
	check("RefreshTTL", got.RefreshTTL == want.RefreshTTL, got.RefreshTTL, want.RefreshTTL)
	check("RotateRefresh", got.RotateRefresh == want.RotateRefresh, got.RotateRefresh, want.RotateRefresh)
	check("Introspect", got.Introspect == want.Introspect, got.Introspect, want.Introspect)
	check("State", got.State == want.State, got.State, want.State)
	check("HasSecret", got.HasSecret == want.HasSecret, got.HasSecret, want.HasSecret)
	return diffs
}

// checkSecret checks that a client secret looks like 256 random bits in
// base64url: at least 43 characters of that alphabet.
func checkSecret(t *testing.T, what, secret string) {
	t.Helper()
	if len(secret) < 43 {
		t.Errorf("%s %q has %d characters, want at least 43 (256 bits in base64url)", what, secret, len(secret))
	}
	if strings.ContainsFunc(secret, func(r rune) bool {
		return !('A' <= r && r <= 'Z' || 'a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '-' || r == '_')
	}) {
		t.Errorf("%s %q is not base64url", what, secret)
	}
}

func appIDs(apps []*tokenadmin.App) []string {
	ids := make([]string, len(apps))
	for i, a := range apps {
		ids[i] = a.ClientID
	}
	return ids
}

func testRegisterApp(t *testing.T, h Harness) {
	t.Run("returns the active app with its policy and a new secret", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			name string
			app  tokenadmin.App
		}{
			{name: "every policy field set", app: policyApp("c1", "alice")},
			{name: "no grant types or scopes, the server's lifetimes, rotation and introspection off",
				app: tokenadmin.App{ClientID: "c1", Name: "Bare", Owner: "bob"}},
			{name: "one grant type, lifetimes of odd whole seconds",
				app: tokenadmin.App{ClientID: "c1", Name: "Odd", Owner: "carol", GrantTypes: []string{tokenadmin.GrantClientCredentials},
					Scopes: []string{"urn:x:read", "a/b"}, AccessTTL: 61 * time.Second, RefreshTTL: 30*24*time.Hour + time.Second, Introspect: true}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				e := h.env(t)
				e.clock.Advance(1500 * time.Millisecond)
				want := tc.app
				want.CreatedAt, want.State, want.HasSecret = e.clock.Now(), tokenadmin.AppActive, true
				got, secret := e.register(tc.app)
				wantApp(t, "RegisterApp", got, &want)
				checkSecret(t, "RegisterApp's secret", secret)
				e.clock.Advance(time.Minute)
				wantApp(t, "GetApp", e.getApp("c1"), &want)
				e.authenticates("c1", secret, &want)
			})
		}
	})

	t.Run("a new app is active whatever State the request carries", func(t *testing.T) {
		t.Parallel()
		e := h.env(t)
		a := policyApp("c1", "alice")
		a.State = tokenadmin.AppDisabled
		got, secret := e.register(a)
		if got.State != tokenadmin.AppActive {
			t.Errorf("RegisterApp returned State %q, want %q", got.State, tokenadmin.AppActive)
		}
		if st := e.getApp("c1").State; st != tokenadmin.AppActive {
			t.Errorf("GetApp State = %q, want %q", st, tokenadmin.AppActive)
		}
		if _, err := e.oauth.AuthenticateClient(e.ctx, "c1", secret); err != nil {
			t.Errorf("AuthenticateClient: %v", err)
		}
	})

	t.Run("an empty ClientID gets a random one", func(t *testing.T) {
		t.Parallel()
		e := h.env(t)
		ids, secrets := map[string]bool{}, map[string]bool{}
		for range 3 {
			a, secret := e.register(tokenadmin.App{Name: "Anonymous", Owner: "alice"})
			if a.ClientID == "" || ids[a.ClientID] {
				t.Errorf("ClientID %q: empty or repeated", a.ClientID)
			}
			if secrets[secret] {
				t.Errorf("secret %q repeated", secret)
			}
			ids[a.ClientID], secrets[secret] = true, true
			if got := e.getApp(a.ClientID); got.Name != "Anonymous" {
				t.Errorf("GetApp(%q).Name = %q, want %q", a.ClientID, got.Name, "Anonymous")
			}
			e.authenticates(a.ClientID, secret, a)
		}
	})

	t.Run("an existing ClientID is CodeConflict and changes nothing", func(t *testing.T) {
		t.Parallel()
		e := h.env(t)
		orig, secret := e.register(policyApp("c1", "alice"))
		if _, err := e.fix.CreateApp(e.ctx, tokenadmin.App{ClientID: "bare", Name: "Bare", Owner: "alice"}); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name     string
			clientID string
		}{
			{name: "a registered app", clientID: "c1"},
			{name: "an app made without a secret", clientID: "bare"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				e := e.with(t)
				before := e.getApp(tc.clientID)
				impostor := policyApp(tc.clientID, "mallory")
				impostor.Name, impostor.Scopes = "Impostor", []string{"admin"}
				got, s, err := e.apps.RegisterApp(e.ctx, impostor)
				wantCode(t, "RegisterApp", err, tokenadmin.CodeConflict)
				if got != nil || s != "" {
					t.Errorf("RegisterApp returned %+v and secret %q with its error", got, s)
				}
				wantApp(t, "GetApp after the conflict", e.getApp(tc.clientID), before)
			})
		}
		e.authenticates("c1", secret, orig)
		if apps, err := e.apps.ListApps(e.ctx, "mallory"); err != nil || len(apps) != 0 {
			t.Errorf("ListApps(mallory) = %v, %v; want none", appIDs(apps), err)
		}
	})

	t.Run("GetApp of an unknown client is CodeNotFound", func(t *testing.T) {
		t.Parallel()
		e := h.env(t)
		e.register(policyApp("c1", "alice"))
		for _, id := range []string{"nope", "C1", ""} {
			a, err := e.apps.GetApp(e.ctx, id)
			wantCode(t, fmt.Sprintf("GetApp(%q)", id), err, tokenadmin.CodeNotFound)
			if a != nil {
				t.Errorf("GetApp(%q) returned %+v with its error", id, a)
			}
		}
	})
}

func testListApps(t *testing.T, h Harness) {
	e := h.env(t)
	// Client IDs sort against the names, so that name order shows.
	e.register(tokenadmin.App{ClientID: "a", Name: "Zeta", Owner: "alice"})
	alpha := policyApp("z", "alice")
	alpha.Name = "Alpha"
	e.register(alpha)
	e.register(tokenadmin.App{ClientID: "m", Name: "Mid", Owner: "bob"})
	e.setState("m", tokenadmin.AppDisabled, "admin")
	if _, err := e.fix.CreateApp(e.ctx, tokenadmin.App{ClientID: "b", Name: "Beta", Owner: "carol"}); err != nil {
		t.Fatal(err)
	}
	e.register(tokenadmin.App{ClientID: "g", Name: "Gone", Owner: "alice"})
	e.deleteApp("g", "admin")

	for _, tc := range []struct {
		name  string
		owner string
		want  []string // client IDs
	}{
		{name: "every app in name order, disabled and secretless ones too, deleted ones not", owner: "", want: []string{"z", "b", "m", "a"}},
		{name: "an owner's apps in name order", owner: "alice", want: []string{"z", "a"}},
		{name: "an owner's disabled app", owner: "bob", want: []string{"m"}},
		{name: "an unknown owner has none", owner: "nobody", want: nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := e.with(t)
			apps, err := e.apps.ListApps(e.ctx, tc.owner)
			if err != nil {
				t.Fatalf("ListApps(%q): %v", tc.owner, err)
			}
			if got := appIDs(apps); !slices.Equal(got, tc.want) {
				t.Errorf("ListApps(%q) = %v, want %v", tc.owner, got, tc.want)
			}
			for _, a := range apps {
				wantApp(t, "ListApps entry "+a.ClientID+" against GetApp", a, e.getApp(a.ClientID))
			}
		})
	}
	t.Run("an app made without a secret has none", func(t *testing.T) {
		if a := e.with(t).getApp("b"); a.HasSecret {
			t.Errorf("GetApp(b).HasSecret = true for an app made by CreateApp")
		}
	})
}

func testUpdateApp(t *testing.T, h Harness) {
	t.Run("changes exactly the fields set", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			name string
			u    tokenadmin.AppUpdate
			want func(a *tokenadmin.App)
		}{
			{name: "no field changes nothing", u: tokenadmin.AppUpdate{}, want: func(*tokenadmin.App) {}},
			{name: "name", u: tokenadmin.AppUpdate{Name: new("Renamed")},
				want: func(a *tokenadmin.App) { a.Name = "Renamed" }},
			{name: "owner", u: tokenadmin.AppUpdate{Owner: new("bob")},
				want: func(a *tokenadmin.App) { a.Owner = "bob" }},
			{name: "grant types", u: tokenadmin.AppUpdate{GrantTypes: new([]string{tokenadmin.GrantClientCredentials, tokenadmin.GrantPassword})},
				want: func(a *tokenadmin.App) {
					a.GrantTypes = []string{tokenadmin.GrantClientCredentials, tokenadmin.GrantPassword}
				}},
			{name: "grant types to none", u: tokenadmin.AppUpdate{GrantTypes: new([]string{})},
				want: func(a *tokenadmin.App) { a.GrantTypes = nil }},
			{name: "scopes", u: tokenadmin.AppUpdate{Scopes: new([]string{"admin", "read"})},
				want: func(a *tokenadmin.App) { a.Scopes = []string{"admin", "read"} }},
			{name: "scopes to none", u: tokenadmin.AppUpdate{Scopes: new([]string{})},
				want: func(a *tokenadmin.App) { a.Scopes = nil }},
			{name: "access lifetime", u: tokenadmin.AppUpdate{AccessTTL: new(90 * time.Second)},
				want: func(a *tokenadmin.App) { a.AccessTTL = 90 * time.Second }},
			{name: "access lifetime back to the server's default", u: tokenadmin.AppUpdate{AccessTTL: new(time.Duration(0))},
				want: func(a *tokenadmin.App) { a.AccessTTL = 0 }},
			{name: "refresh lifetime", u: tokenadmin.AppUpdate{RefreshTTL: new(7*24*time.Hour + time.Second)},
				want: func(a *tokenadmin.App) { a.RefreshTTL = 7*24*time.Hour + time.Second }},
			{name: "rotation off", u: tokenadmin.AppUpdate{RotateRefresh: new(false)},
				want: func(a *tokenadmin.App) { a.RotateRefresh = false }},
			{name: "introspection off", u: tokenadmin.AppUpdate{Introspect: new(false)},
				want: func(a *tokenadmin.App) { a.Introspect = false }},
			{name: "every field", u: tokenadmin.AppUpdate{
				Name: new("All"), Owner: new("carol"), GrantTypes: new([]string{tokenadmin.GrantRefreshToken}),
				Scopes: new([]string{"x"}), AccessTTL: new(time.Second), RefreshTTL: new(2 * time.Second),
				RotateRefresh: new(false), Introspect: new(false),
			}, want: func(a *tokenadmin.App) {
				a.Name, a.Owner, a.GrantTypes, a.Scopes = "All", "carol", []string{tokenadmin.GrantRefreshToken}, []string{"x"}
				a.AccessTTL, a.RefreshTTL, a.RotateRefresh, a.Introspect = time.Second, 2*time.Second, false, false
			}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				e := h.env(t)
				orig, secret := e.register(policyApp("c1", "alice"))
				other, _ := e.register(policyApp("c2", "alice"))
				e.clock.Advance(time.Minute)
				want := *orig
				tc.want(&want)
				got, err := e.apps.UpdateApp(e.ctx, "c1", tc.u)
				if err != nil {
					t.Fatalf("UpdateApp: %v", err)
				}
				wantApp(t, "UpdateApp", got, &want)
				wantApp(t, "GetApp after UpdateApp", e.getApp("c1"), &want)
				wantApp(t, "the other app", e.getApp("c2"), other)
				e.authenticates("c1", secret, &want) // the secret stays
			})
		}
	})

	t.Run("a renamed or given-away app moves in ListApps", func(t *testing.T) {
		t.Parallel()
		e := h.env(t)
		e.register(tokenadmin.App{ClientID: "c1", Name: "Beta", Owner: "alice"})
		e.register(tokenadmin.App{ClientID: "c2", Name: "Gamma", Owner: "alice"})
		e.register(tokenadmin.App{ClientID: "c3", Name: "Delta", Owner: "bob"})
		if _, err := e.apps.UpdateApp(e.ctx, "c2", tokenadmin.AppUpdate{Name: new("Alpha")}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.apps.UpdateApp(e.ctx, "c1", tokenadmin.AppUpdate{Owner: new("bob")}); err != nil {
			t.Fatal(err)
		}
		for owner, want := range map[string][]string{"": {"c2", "c1", "c3"}, "alice": {"c2"}, "bob": {"c1", "c3"}} {
			apps, err := e.apps.ListApps(e.ctx, owner)
			if got := appIDs(apps); err != nil || !slices.Equal(got, want) {
				t.Errorf("ListApps(%q) = %v, %v; want %v", owner, got, err, want)
			}
		}
	})
}

// seedAppTokens registers apps a1 and a2 (owner "owner") and issues,
// interleaved between them: grants of alice and bob for a1, a grant of
// alice and an access token of bob for a2, an a1 access token revoked
// earlier, and an a1 access token that has expired when it returns (the
// clock moves a minute). a1's active tokens are a1Active. It returns the
// apps' secrets.
func seedAppTokens(e *env) (*named, map[string]string) {
	e.t.Helper()
	secrets := map[string]string{}
	for _, id := range []string{"a1", "a2"} {
		_, secrets[id] = e.register(policyApp(id, "owner"))
	}
	n := newNamed()
	n.addIssued("a1 alice", e.grant("a1", "alice"))
	n.addIssued("a2 alice", e.grant("a2", "alice"))
	n.addIssued("a1 expired", e.access("a1", "carol", time.Minute))
	n.addIssued("a1 bob", e.grant("a1", "bob"))
	n.addIssued("a1 revoked", e.access("a1", "bob", accessTTL))
	e.revoke(tokenadmin.RevokeRequest{TokenID: n.id("a1 revoked/access"), Actor: "earlier", Reason: "earlier"})
	n.addIssued("a2 bob", e.access("a2", "bob", accessTTL))
	e.clock.Advance(time.Minute)
	return n, secrets
}

var a1Active = []string{"a1 alice/access", "a1 alice/refresh", "a1 bob/access", "a1 bob/refresh"}

// checkAppRevocation checks the tokens of seedAppTokens after an app-wide
// revocation at at: those named in revoked carry its record and are
// otherwise as issued, through GetToken and LookupToken; the one revoked
// earlier keeps its record; the expired one is expired and not revoked;
// every other token is active; and the listing agrees.
func (e *env) checkAppRevocation(n *named, revoked []string, at time.Time, actor, reason string) {
	e.t.Helper()
	for _, name := range n.order {
		issued := n.token(name)
		want := *issued
		wantState := tokenadmin.StateActive
		switch {
		case slices.Contains(revoked, name):
			want.RevokedAt, want.RevokedBy, want.RevokeReason = at, actor, reason
			wantState = tokenadmin.StateRevoked
		case name == "a1 revoked/access":
			want.RevokedBy, want.RevokeReason = "earlier", "earlier"
			wantState = tokenadmin.StateRevoked
		case name == "a1 expired/access":
			wantState = tokenadmin.StateExpired
		}
		tok := e.get(n.id(name))
		if name == "a1 revoked/access" {
			want.RevokedAt = tok.RevokedAt // when is not this test's business
		}
		if diffs := sameToken(tok, &want); len(diffs) > 0 {
			e.t.Errorf("GetToken(%s):\n\t%s", name, strings.Join(diffs, "\n\t"))
		}
		if tok.State != wantState {
			e.t.Errorf("GetToken(%s).State = %s, want %s", name, tok.State, wantState)
		}
		looked, err := e.oauth.LookupToken(e.ctx, n.value(name))
		if err != nil {
			e.t.Errorf("LookupToken(%s): %v", name, err)
			continue
		}
		if diffs := sameToken(looked, tok); len(diffs) > 0 || looked.State != tok.State {
			e.t.Errorf("LookupToken(%s) disagrees with GetToken: %v, State %s", name, diffs, looked.State)
		}
	}
	n.checkIDs(e.t, "active tokens", e.activeIDs(tokenadmin.TokenFilter{}), n.where(func(name string) bool {
		return !slices.Contains(revoked, name) && name != "a1 revoked/access" && name != "a1 expired/access"
	}))
}

// testAppLifecycle covers what SetAppState(disabled), DeleteApp and
// RegenerateSecret have in common: each revokes exactly the app's active
// tokens, recording the actor and its reason.
func testAppLifecycle(t *testing.T, h Harness) {
	ops := []struct {
		name   string
		reason string
		do     func(e *env, clientID, actor string) (int, error)
	}{
		{name: "SetAppState disabled", reason: tokenadmin.ReasonAppDisabled,
			do: func(e *env, clientID, actor string) (int, error) {
				return e.apps.SetAppState(e.ctx, clientID, tokenadmin.AppDisabled, actor)
			}},
		{name: "DeleteApp", reason: tokenadmin.ReasonAppDeleted,
			do: func(e *env, clientID, actor string) (int, error) { return e.apps.DeleteApp(e.ctx, clientID, actor) }},
		{name: "RegenerateSecret", reason: tokenadmin.ReasonSecretRotated,
			do: func(e *env, clientID, actor string) (int, error) {
				_, n, err := e.apps.RegenerateSecret(e.ctx, clientID, actor)
				return n, err
			}},
	}
	for _, op := range ops {
		for _, chunk := range []int{0, 1, 3} {
			t.Run(fmt.Sprintf("%s revokes exactly the app's active tokens/chunk size %d", op.name, chunk), func(t *testing.T) {
				t.Parallel()
				e := h.envChunked(t, chunk)
				n, _ := seedAppTokens(e)
				e.clock.Advance(7 * time.Millisecond)
				at := e.clock.Now()
				got, err := op.do(e, "a1", "ops")
				if err != nil || got != len(a1Active) {
					t.Fatalf("%s(a1) = %d, %v; want %d", op.name, got, err, len(a1Active))
				}
				e.clock.Advance(time.Minute)
				e.checkAppRevocation(n, a1Active, at, "ops", op.reason)
				if ids := e.activeIDs(tokenadmin.TokenFilter{ClientID: "a1"}); len(ids) != 0 {
					t.Errorf("a1 still lists active tokens %v", n.namesOf(ids))
				}
			})
		}
	}

	t.Run("an unknown or deleted app is CodeNotFound", func(t *testing.T) {
		t.Parallel()
		e := h.env(t)
		e.register(policyApp("gone", "alice"))
		e.deleteApp("gone", "admin")
		calls := []struct {
			name string
			call func(clientID string) error
		}{
			{name: "GetApp", call: func(id string) error {
				_, err := e.apps.GetApp(e.ctx, id)
				return err
			}},
			{name: "UpdateApp", call: func(id string) error {
				_, err := e.apps.UpdateApp(e.ctx, id, tokenadmin.AppUpdate{Name: new("New")})
				return err
			}},
			{name: "SetAppState disabled", call: func(id string) error {
				_, err := e.apps.SetAppState(e.ctx, id, tokenadmin.AppDisabled, "admin")
				return err
			}},
			{name: "SetAppState active", call: func(id string) error {
				_, err := e.apps.SetAppState(e.ctx, id, tokenadmin.AppActive, "admin")
				return err
			}},
			{name: "DeleteApp", call: func(id string) error {
				_, err := e.apps.DeleteApp(e.ctx, id, "admin")
				return err
			}},
			{name: "RegenerateSecret", call: func(id string) error {
				secret, _, err := e.apps.RegenerateSecret(e.ctx, id, "admin")
				if err != nil && secret != "" {
					t.Errorf("RegenerateSecret(%q) returned a secret with its error", id)
				}
				return err
			}},
		}
		for _, id := range []string{"nope", "gone"} {
			for _, c := range calls {
				t.Run(fmt.Sprintf("%s(%s)", c.name, id), func(t *testing.T) {
					wantCode(t, c.name, c.call(id), tokenadmin.CodeNotFound)
				})
			}
		}
		if _, err := e.apps.GetApp(e.ctx, "gone"); tokenadmin.ErrorCode(err) != tokenadmin.CodeNotFound {
			t.Errorf("the deleted app came back: GetApp = %v", err)
		}
	})
}

func testSetAppState(t *testing.T, h Harness) {
	t.Run("a disabled app gets no tokens until it is enabled again", func(t *testing.T) {
		t.Parallel()
		e := h.env(t)
		n, secrets := seedAppTokens(e)
		before := e.getApp("a1")
		e.setState("a1", tokenadmin.AppDisabled, "ops")
		at := e.clock.Now()
		disabled := *before
		disabled.State = tokenadmin.AppDisabled
		wantApp(t, "GetApp after disabling", e.getApp("a1"), &disabled)

		_, err := e.oauth.IssueTokens(e.ctx, tokenadmin.IssueRequest{ClientID: "a1", User: "alice", Scopes: []string{"read"},
			GrantType: "authorization_code", AccessTTL: accessTTL, RefreshTTL: refreshTTL})
		wantCode(t, "IssueTokens for a disabled app", err, tokenadmin.CodeUnauthorizedClient)
		e.rejects("AuthenticateClient of a disabled app", "a1", secrets["a1"])
		e.checkAppRevocation(n, a1Active, at, "ops", tokenadmin.ReasonAppDisabled)

		e.clock.Advance(time.Minute)
		if got := e.setState("a1", tokenadmin.AppActive, "ops"); got != 0 {
			t.Errorf("SetAppState(active) = %d, want 0", got)
		}
		wantApp(t, "GetApp after enabling", e.getApp("a1"), before)
		e.authenticates("a1", secrets["a1"], before)
		// Enabling does not bring revoked tokens back.
		e.checkAppRevocation(n, a1Active, at, "ops", tokenadmin.ReasonAppDisabled)
		iss, err := e.oauth.IssueTokens(e.ctx, tokenadmin.IssueRequest{ClientID: "a1", User: "alice", Scopes: []string{"read"},
			GrantType: "authorization_code", AccessTTL: accessTTL, RefreshTTL: refreshTTL})
		if err != nil {
			t.Fatalf("IssueTokens after enabling: %v", err)
		}
		if st := e.state(iss.Access.ID); st != tokenadmin.StateActive {
			t.Errorf("a token issued after enabling is %s", st)
		}
	})

	t.Run("setting the state an app has changes nothing", func(t *testing.T) {
		t.Parallel()
		e := h.env(t)
		n, _ := seedAppTokens(e)
		if got := e.setState("a1", tokenadmin.AppActive, "ops"); got != 0 {
			t.Errorf("SetAppState(active) of an active app = %d, want 0", got)
		}
		e.checkAppRevocation(n, nil, time.Time{}, "", "")
		at := e.clock.Now()
		e.setState("a1", tokenadmin.AppDisabled, "ops")
		e.clock.Advance(time.Minute)
		if got := e.setState("a1", tokenadmin.AppDisabled, "again"); got != 0 {
			t.Errorf("SetAppState(disabled) of a disabled app = %d, want 0", got)
		}
		e.checkAppRevocation(n, a1Active, at, "ops", tokenadmin.ReasonAppDisabled)
		if st := e.getApp("a1").State; st != tokenadmin.AppDisabled {
			t.Errorf("GetApp State = %q, want %q", st, tokenadmin.AppDisabled)
		}
	})
}

func testDeleteApp(t *testing.T, h Harness) {
	t.Run("a deleted app is gone, its tokens stay visible and its client ID is not reused", func(t *testing.T) {
		t.Parallel()
		e := h.env(t)
		n, secrets := seedAppTokens(e)
		at := e.clock.Now()
		if got := e.deleteApp("a1", "ops"); got != len(a1Active) {
			t.Errorf("DeleteApp = %d, want %d", got, len(a1Active))
		}
		_, err := e.apps.GetApp(e.ctx, "a1")
		wantCode(t, "GetApp of a deleted app", err, tokenadmin.CodeNotFound)
		for _, owner := range []string{"", "owner"} {
			apps, err := e.apps.ListApps(e.ctx, owner)
			if got := appIDs(apps); err != nil || !slices.Equal(got, []string{"a2"}) {
				t.Errorf("ListApps(%q) = %v, %v; want [a2]", owner, got, err)
			}
		}
		// checkAppRevocation checks the tokens still name the app.
		e.checkAppRevocation(n, a1Active, at, "ops", tokenadmin.ReasonAppDeleted)

		_, s, err := e.apps.RegisterApp(e.ctx, policyApp("a1", "mallory"))
		wantCode(t, "RegisterApp with a deleted app's client ID", err, tokenadmin.CodeConflict)
		if s != "" {
			t.Errorf("RegisterApp returned a secret with its error")
		}
		_, err = e.apps.GetApp(e.ctx, "a1")
		wantCode(t, "GetApp after registering the deleted client ID again", err, tokenadmin.CodeNotFound)
		e.rejects("AuthenticateClient of a deleted app", "a1", secrets["a1"])
		_, err = e.oauth.IssueTokens(e.ctx, tokenadmin.IssueRequest{ClientID: "a1", User: "alice", GrantType: "authorization_code", AccessTTL: accessTTL})
		wantCode(t, "IssueTokens for a deleted app", err, tokenadmin.CodeNotFound)
		e.checkAppRevocation(n, a1Active, at, "ops", tokenadmin.ReasonAppDeleted)
	})

	t.Run("deleting a disabled app keeps the tokens' first revocation", func(t *testing.T) {
		t.Parallel()
		e := h.env(t)
		n, _ := seedAppTokens(e)
		at := e.clock.Now()
		e.setState("a1", tokenadmin.AppDisabled, "ops")
		e.clock.Advance(time.Minute)
		if got := e.deleteApp("a1", "other"); got != 0 {
			t.Errorf("DeleteApp of a disabled app = %d, want 0", got)
		}
		e.checkAppRevocation(n, a1Active, at, "ops", tokenadmin.ReasonAppDisabled)
	})
}

func testRegenerateSecret(t *testing.T, h Harness) {
	t.Run("the new secret replaces the old one and later tokens stay active", func(t *testing.T) {
		t.Parallel()
		e := h.env(t)
		n, secrets := seedAppTokens(e)
		before := e.getApp("a1")
		at := e.clock.Now()
		secret, got, err := e.apps.RegenerateSecret(e.ctx, "a1", "ops")
		if err != nil || got != len(a1Active) {
			t.Fatalf("RegenerateSecret = %d, %v; want %d", got, err, len(a1Active))
		}
		checkSecret(t, "the regenerated secret", secret)
		if secret == secrets["a1"] {
			t.Fatalf("RegenerateSecret returned the old secret")
		}
		wantApp(t, "GetApp after RegenerateSecret", e.getApp("a1"), before)
		e.rejects("AuthenticateClient with the old secret", "a1", secrets["a1"])
		e.authenticates("a1", secret, before)
		e.authenticates("a2", secrets["a2"], e.getApp("a2"))

		e.clock.Advance(time.Minute)
		n.addIssued("after", e.grant("a1", "alice"))
		e.checkAppRevocation(n, a1Active, at, "ops", tokenadmin.ReasonSecretRotated)

		// A second regeneration revokes what was issued since the first.
		e.clock.Advance(time.Minute)
		again, got, err := e.apps.RegenerateSecret(e.ctx, "a1", "ops")
		if err != nil || got != 2 {
			t.Fatalf("second RegenerateSecret = %d, %v; want 2", got, err)
		}
		if again == secret || again == secrets["a1"] {
			t.Errorf("the second regeneration returned an earlier secret")
		}
		e.rejects("AuthenticateClient with the first regenerated secret", "a1", secret)
		e.authenticates("a1", again, before)
		for _, name := range []string{"after/access", "after/refresh"} {
			if tok := e.get(n.id(name)); tok.RevokeReason != tokenadmin.ReasonSecretRotated || tok.State != tokenadmin.StateRevoked {
				t.Errorf("%s after the second regeneration: %s, reason %q", name, tok.State, tok.RevokeReason)
			}
		}
	})
}
