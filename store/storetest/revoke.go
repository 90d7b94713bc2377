package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"tokenadmin"
)

// how a test names the token to revoke.
type by int

const (
	byID by = iota
	byValue
)

func (b by) String() string { return [...]string{"by ID", "by value"}[b] }

// request names the token called name in n, by ID or by value.
func (n *named) request(name string, how by) tokenadmin.RevokeRequest {
	if how == byValue {
		return tokenadmin.RevokeRequest{Value: n.value(name)}
	}
	return tokenadmin.RevokeRequest{TokenID: n.id(name)}
}

// seedFamilies issues two grants of alice and one of bob, all for app a1.
func seedFamilies(e *env) *named {
	e.t.Helper()
	e.app("a1")
	n := newNamed()
	n.addIssued("g1", e.grant("a1", "alice"))
	n.addIssued("g2", e.grant("a1", "alice"))
	n.addIssued("bob", e.grant("a1", "bob"))
	return n
}

// checkStates checks that exactly the tokens named in revoked are revoked,
// that the others are active, and that the listing agrees.
func (e *env) checkStates(n *named, revoked []string) {
	e.t.Helper()
	for _, name := range n.order {
		want := tokenadmin.StateActive
		if slices.Contains(revoked, name) {
			want = tokenadmin.StateRevoked
		}
		if got := e.state(n.id(name)); got != want {
			e.t.Errorf("%s is %s, want %s", name, got, want)
		}
	}
	n.checkIDs(e.t, "active tokens", e.activeIDs(tokenadmin.TokenFilter{}), n.except(revoked...))
}

func testRevokeToken(t *testing.T, h Harness) {
	t.Run("revokes the named token and, for a refresh token, its family", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			name      string
			target    string
			by        by
			hint      tokenadmin.TokenType
			owner     string
			wantCount int
			revoked   []string
		}{
			{name: "access token by ID revokes only itself", target: "g1/access", by: byID,
				wantCount: 1, revoked: []string{"g1/access"}},
			{name: "access token by value revokes only itself", target: "g1/access", by: byValue,
				wantCount: 1, revoked: []string{"g1/access"}},
			{name: "refresh token by ID revokes its family", target: "g1/refresh", by: byID,
				wantCount: 2, revoked: []string{"g1/access", "g1/refresh"}},
			{name: "refresh token by value revokes its family", target: "g1/refresh", by: byValue,
				wantCount: 2, revoked: []string{"g1/access", "g1/refresh"}},
			{name: "a wrong type hint on a refresh token is only a hint", target: "g1/refresh", by: byValue, hint: tokenadmin.AccessToken,
				wantCount: 2, revoked: []string{"g1/access", "g1/refresh"}},
			{name: "a wrong type hint on an access token is only a hint", target: "g1/access", by: byValue, hint: tokenadmin.RefreshToken,
				wantCount: 1, revoked: []string{"g1/access"}},
			{name: "a matching type hint", target: "g2/refresh", by: byValue, hint: tokenadmin.RefreshToken,
				wantCount: 2, revoked: []string{"g2/access", "g2/refresh"}},
			{name: "owner revokes their own token", target: "g1/refresh", by: byID, owner: "alice",
				wantCount: 2, revoked: []string{"g1/access", "g1/refresh"}},
			{name: "owner revokes their own token by value", target: "bob/access", by: byValue, owner: "bob",
				wantCount: 1, revoked: []string{"bob/access"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				e := h.env(t)
				n := seedFamilies(e)
				r := n.request(tc.target, tc.by)
				r.TypeHint, r.Owner, r.Actor, r.Reason = tc.hint, tc.owner, "admin", "test"
				res := e.revoke(r)
				want := tokenadmin.RevokeResult{Revoked: true, TokenID: n.id(tc.target), Count: tc.wantCount}
				if *res != want {
					t.Errorf("RevokeToken = %+v, want %+v", *res, want)
				}
				e.checkStates(n, tc.revoked)
			})
		}
	})

	t.Run("a refresh token's Count leaves out family tokens that were no longer active", func(t *testing.T) {
		t.Parallel()
		t.Run("access token revoked before", func(t *testing.T) {
			t.Parallel()
			e := h.env(t)
			n := seedFamilies(e)
			e.revoke(tokenadmin.RevokeRequest{TokenID: n.id("g1/access"), Actor: "first"})
			res := e.revoke(tokenadmin.RevokeRequest{TokenID: n.id("g1/refresh"), Actor: "second"})
			if want := (tokenadmin.RevokeResult{Revoked: true, TokenID: n.id("g1/refresh"), Count: 1}); *res != want {
				t.Errorf("RevokeToken = %+v, want %+v", *res, want)
			}
			if by := e.get(n.id("g1/access")).RevokedBy; by != "first" {
				t.Errorf("g1/access RevokedBy = %q, want the first revocation's %q", by, "first")
			}
			e.checkStates(n, []string{"g1/access", "g1/refresh"})
		})
		t.Run("access token expired", func(t *testing.T) {
			t.Parallel()
			e := h.env(t)
			n := seedFamilies(e)
			e.clock.Advance(accessTTL)
			res := e.revoke(tokenadmin.RevokeRequest{TokenID: n.id("g1/refresh"), Actor: "admin"})
			if want := (tokenadmin.RevokeResult{Revoked: true, TokenID: n.id("g1/refresh"), Count: 1}); *res != want {
				t.Errorf("RevokeToken = %+v, want %+v", *res, want)
			}
			for name, want := range map[string]tokenadmin.TokenState{
				"g1/access": tokenadmin.StateExpired, "g1/refresh": tokenadmin.StateRevoked,
				"g2/access": tokenadmin.StateExpired, "g2/refresh": tokenadmin.StateActive,
				"bob/access": tokenadmin.StateExpired, "bob/refresh": tokenadmin.StateActive,
			} {
				if got := e.state(n.id(name)); got != want {
					t.Errorf("%s is %s, want %s", name, got, want)
				}
			}
		})
	})

	t.Run("already revoked token gives Revoked=false, Count=0 and no error", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			name   string
			first  string // revoked first, by ID
			target string
			by     by
		}{
			{name: "access token by ID", first: "g1/access", target: "g1/access", by: byID},
			{name: "access token by value", first: "g1/access", target: "g1/access", by: byValue},
			{name: "refresh token by ID", first: "g1/refresh", target: "g1/refresh", by: byID},
			{name: "refresh token by value", first: "g1/refresh", target: "g1/refresh", by: byValue},
			{name: "access token revoked with its refresh token", first: "g1/refresh", target: "g1/access", by: byID},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				e := h.env(t)
				n := seedFamilies(e)
				e.revoke(tokenadmin.RevokeRequest{TokenID: n.id(tc.first), Actor: "first", Reason: "first reason"})
				before := e.get(n.id(tc.target))
				e.clock.Advance(time.Minute)
				r := n.request(tc.target, tc.by)
				r.Actor, r.Reason = "second", "second reason"
				res := e.revoke(r)
				if want := (tokenadmin.RevokeResult{TokenID: n.id(tc.target)}); *res != want {
					t.Errorf("RevokeToken = %+v, want %+v", *res, want)
				}
				// The record of the revocation that happened is kept.
				if diffs := sameToken(e.get(n.id(tc.target)), before); len(diffs) > 0 {
					t.Errorf("revoking again changed the token: %v", diffs)
				}
			})
		}
	})

	t.Run("expired token gives Revoked=false, Count=0 and no error", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			name   string
			at     time.Duration
			target string
			by     by
		}{
			{name: "access token by ID at ExpiresAt", at: accessTTL, target: "g1/access", by: byID},
			{name: "access token by value long after", at: 30 * 24 * time.Hour, target: "g1/access", by: byValue},
			{name: "refresh token at ExpiresAt", at: refreshTTL, target: "g1/refresh", by: byID},
			{name: "refresh token by value", at: refreshTTL + time.Millisecond, target: "g1/refresh", by: byValue},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				e := h.env(t)
				n := seedFamilies(e)
				e.clock.Set(epoch.Add(tc.at))
				r := n.request(tc.target, tc.by)
				r.Actor = "admin"
				res := e.revoke(r)
				if want := (tokenadmin.RevokeResult{TokenID: n.id(tc.target)}); *res != want {
					t.Errorf("RevokeToken = %+v, want %+v", *res, want)
				}
				tok := e.get(n.id(tc.target))
				if st := tok.StateAt(e.clock.Now()); st != tokenadmin.StateExpired || tok.RevokedBy != "" {
					t.Errorf("token is %s, RevokedBy %q; want expired and never revoked", st, tok.RevokedBy)
				}
			})
		}
	})

	t.Run("unknown token is CodeTokenNotFound", func(t *testing.T) {
		t.Parallel()
		e := h.env(t)
		n := seedFamilies(e)
		for _, tc := range []struct {
			name string
			r    tokenadmin.RevokeRequest
		}{
			{name: "unknown ID", r: tokenadmin.RevokeRequest{TokenID: "no-such-token"}},
			{name: "unknown value", r: tokenadmin.RevokeRequest{Value: "no-such-value"}},
			{name: "unknown value with a type hint", r: tokenadmin.RevokeRequest{Value: "no-such-value", TypeHint: tokenadmin.RefreshToken}},
			{name: "a token's value given as its ID", r: tokenadmin.RevokeRequest{TokenID: n.value("g1/refresh")}},
			{name: "a token's ID given as its value", r: tokenadmin.RevokeRequest{Value: n.id("g1/refresh")}},
			{name: "a value with one byte changed", r: tokenadmin.RevokeRequest{Value: n.value("g1/access")[1:] + "x"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := tc.r
				r.Actor = "admin"
				_, err := e.store.RevokeToken(t.Context(), r)
				wantCode(t, "RevokeToken", err, tokenadmin.CodeTokenNotFound)
			})
		}
		e.checkStates(n, nil)
	})

	t.Run("another owner's token is CodeTokenNotFound and stays active", func(t *testing.T) {
		t.Parallel()
		e := h.env(t)
		n := seedFamilies(e)
		for _, target := range []string{"g1/access", "g1/refresh"} {
			for _, how := range []by{byID, byValue} {
				t.Run(target+" "+how.String(), func(t *testing.T) {
					r := n.request(target, how)
					r.Owner, r.Actor = "bob", "bob"
					_, err := e.store.RevokeToken(t.Context(), r)
					wantCode(t, "RevokeToken", err, tokenadmin.CodeTokenNotFound)
				})
			}
		}
		e.checkStates(n, nil)
	})

	t.Run("revocation record is visible through GetToken", func(t *testing.T) {
		t.Parallel()
		e := h.env(t)
		n := seedFamilies(e)
		e.clock.Advance(5*time.Minute + 7*time.Millisecond)
		at := e.clock.Now()
		e.revoke(tokenadmin.RevokeRequest{Value: n.value("g1/refresh"), Actor: "helpdesk", Reason: "lost phone\tticket 42"})
		e.clock.Advance(2 * refreshTTL) // revoked stays revoked after expiry
		for _, name := range []string{"g1/refresh", "g1/access"} {
			tok := e.get(n.id(name))
			if !tok.RevokedAt.Equal(at) || tok.RevokedBy != "helpdesk" || tok.RevokeReason != "lost phone\tticket 42" {
				t.Errorf("%s: RevokedAt %v, RevokedBy %q, RevokeReason %q; want %v, %q, %q",
					name, tok.RevokedAt, tok.RevokedBy, tok.RevokeReason, at, "helpdesk", "lost phone\tticket 42")
			}
			if st := tok.StateAt(e.clock.Now()); st != tokenadmin.StateRevoked {
				t.Errorf("%s is %s, want revoked", name, st)
			}
		}
		if tok := e.get(n.id("g2/refresh")); !tok.RevokedAt.IsZero() || tok.RevokedBy != "" || tok.RevokeReason != "" {
			t.Errorf("g2/refresh has a revocation record: %+v", tok)
		}
	})

	t.Run("revoked tokens leave listings at once", func(t *testing.T) {
		t.Parallel()
		e := h.env(t)
		e.app("a1")
		e.app("a2")
		n := newNamed()
		for i := range 12 {
			n.addIssued(fmt.Sprintf("g%02d", i), e.grant([]string{"a1", "a2"}[i%2], []string{"alice", "bob", "carol"}[i%3]))
		}
		var gone []string
		for i := range 12 {
			g := fmt.Sprintf("g%02d", i)
			steps := []struct {
				target string
				by     by
				drops  []string
			}{{target: g + "/refresh", by: byValue, drops: []string{g + "/access", g + "/refresh"}}}
			if i%2 == 0 {
				steps = []struct {
					target string
					by     by
					drops  []string
				}{
					{target: g + "/access", by: byValue, drops: []string{g + "/access"}},
					{target: g + "/refresh", by: byID, drops: []string{g + "/refresh"}},
				}
			}
			for _, s := range steps {
				r := n.request(s.target, s.by)
				r.Actor = "admin"
				if res := e.revoke(r); res.Count != len(s.drops) {
					t.Errorf("revoking %s: Count %d, want %d", s.target, res.Count, len(s.drops))
				}
				gone = append(gone, s.drops...)
				tok := n.token(s.target)
				for _, f := range []tokenadmin.TokenFilter{{}, {User: tok.User}, {ClientID: tok.ClientID}, {Type: tok.Type}} {
					want := n.where(func(name string) bool { return !slices.Contains(gone, name) && matches(f, n.token(name)) })
					n.checkIDs(t, fmt.Sprintf("after revoking %s, listing %+v", s.target, f), e.activeIDs(f), want)
				}
				apps, err := e.store.ListAuthorizedApps(e.ctx, tok.User)
				if err != nil {
					t.Fatal(err)
				}
				for _, a := range apps {
					want := len(n.where(func(name string) bool {
						t := n.token(name)
						return !slices.Contains(gone, name) && t.User == tok.User && t.ClientID == a.ClientID
					}))
					if a.ActiveTokens != want {
						t.Errorf("after revoking %s, ListAuthorizedApps(%s) counts %d for %s, want %d", s.target, tok.User, a.ActiveTokens, a.ClientID, want)
					}
				}
			}
		}
	})
}

func testRevokeTokens(t *testing.T, h Harness) {
	// seed issues, for each of alice and bob and each of apps a1 and a2,
	// four grants, one revoked token and one expired token, interleaved.
	seed := func(e *env) *named {
		e.t.Helper()
		e.app("a1")
		e.app("a2")
		n := newNamed()
		for i := range 4 {
			for _, u := range []string{"alice", "bob"} {
				for _, a := range []string{"a1", "a2"} {
					pair := u + "@" + a
					n.addIssued(fmt.Sprintf("%s#%d", pair, i), e.grant(a, u))
					switch i {
					case 1:
						n.addIssued(pair+" revoked", e.access(a, u, accessTTL))
						e.revoke(tokenadmin.RevokeRequest{TokenID: n.id(pair + " revoked/access"), Actor: "earlier", Reason: "earlier"})
					case 2:
						n.addIssued(pair+" expired", e.access(a, u, time.Minute))
					}
				}
			}
		}
		e.clock.Advance(time.Minute)
		return n
	}
	type bulkCase struct {
		name string
		r    tokenadmin.BulkRevoke
		want int
	}
	cases := []bulkCase{
		{name: "by user revokes the user's tokens of every app", r: tokenadmin.BulkRevoke{User: "alice"}, want: 16},
		{name: "by app revokes every user's tokens of the app", r: tokenadmin.BulkRevoke{ClientID: "a1"}, want: 16},
		{name: "by user and app revokes only that pair", r: tokenadmin.BulkRevoke{User: "alice", ClientID: "a2"}, want: 8},
		{name: "unknown app revokes nothing", r: tokenadmin.BulkRevoke{ClientID: "no-such-app"}, want: 0},
		{name: "unknown user revokes nothing", r: tokenadmin.BulkRevoke{User: "nobody"}, want: 0},
		{name: "user with unknown app revokes nothing", r: tokenadmin.BulkRevoke{User: "alice", ClientID: "no-such-app"}, want: 0},
	}
	for _, chunk := range []int{0, 1, 3} {
		for _, tc := range cases {
			t.Run(fmt.Sprintf("%s/chunk size %d", tc.name, chunk), func(t *testing.T) {
				t.Parallel()
				e := h.envChunked(t, chunk)
				n := seed(e)
				e.clock.Advance(time.Second)
				at := e.clock.Now()
				r := tc.r
				r.Actor, r.Reason = "bulk-admin", "offboarding"
				got, err := e.store.RevokeTokens(e.ctx, r)
				if err != nil || got != tc.want {
					t.Fatalf("RevokeTokens(%+v) = %d, %v; want %d", r, got, err, tc.want)
				}
				selected := func(tok *tokenadmin.Token) bool {
					return (r.User == "" || tok.User == r.User) && (r.ClientID == "" || tok.ClientID == r.ClientID)
				}
				for _, name := range n.order {
					tok, was := e.get(n.id(name)), n.token(name)
					var wantBy string
					switch {
					case strings.HasSuffix(name, " revoked/access"):
						wantBy = "earlier" // the first revocation's record stays
					case strings.HasSuffix(name, " expired/access"):
						wantBy = "" // expired tokens are not revoked
					case selected(was):
						wantBy = "bulk-admin"
						if !tok.RevokedAt.Equal(at) || tok.RevokeReason != "offboarding" {
							t.Errorf("%s: RevokedAt %v, RevokeReason %q; want %v, %q", name, tok.RevokedAt, tok.RevokeReason, at, "offboarding")
						}
					}
					if tok.RevokedBy != wantBy {
						t.Errorf("%s: RevokedBy %q, want %q", name, tok.RevokedBy, wantBy)
					}
				}
				// Only the revoked and expired tokens have a space in their names.
				n.checkIDs(t, "active tokens", e.activeIDs(tokenadmin.TokenFilter{}), n.where(func(name string) bool {
					return !strings.Contains(name, " ") && !selected(n.token(name))
				}))
				if again, err := e.store.RevokeTokens(e.ctx, r); err != nil || again != 0 {
					t.Errorf("RevokeTokens again = %d, %v; want 0", again, err)
				}
			})
		}
	}

	t.Run("neither user nor clientId is CodeInvalid", func(t *testing.T) {
		t.Parallel()
		e := h.env(t)
		n := seedFamilies(e)
		_, err := e.store.RevokeTokens(e.ctx, tokenadmin.BulkRevoke{Actor: "admin", Reason: "everything"})
		wantCode(t, "RevokeTokens", err, tokenadmin.CodeInvalid)
		e.checkStates(n, nil)
	})
}
