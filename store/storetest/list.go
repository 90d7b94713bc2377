package storetest

import (
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"tokenadmin"
)

func testListActiveTokens(t *testing.T, h Harness) {
	t.Run("lists only tokens neither revoked nor expired at the store clock", func(t *testing.T) {
		t.Parallel()
		e := h.env(t)
		e.app("a1")
		n := newNamed()
		n.addIssued("alice", e.grant("a1", "alice"))
		n.addIssued("short", e.access("a1", "alice", 10*time.Minute))
		n.addIssued("bob", e.grant("a1", "bob"))
		e.revoke(tokenadmin.RevokeRequest{TokenID: n.id("bob/access"), Actor: "admin"})

		// One store, its clock moving forward from case to case.
		for _, tc := range []struct {
			name string
			at   time.Duration // clock, from issuance
			want []string
		}{
			{name: "revoked tokens are left out", at: 0,
				want: []string{"alice/access", "alice/refresh", "short/access", "bob/refresh"}},
			{name: "a token is listed until the millisecond before ExpiresAt", at: 10*time.Minute - time.Millisecond,
				want: []string{"alice/access", "alice/refresh", "short/access", "bob/refresh"}},
			{name: "a token is expired at ExpiresAt", at: 10 * time.Minute,
				want: []string{"alice/access", "alice/refresh", "bob/refresh"}},
			{name: "refresh tokens outlive their access tokens", at: accessTTL,
				want: []string{"alice/refresh", "bob/refresh"}},
			{name: "nothing is listed once every token expired", at: refreshTTL,
				want: nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				e := e.with(t)
				e.clock.Set(epoch.Add(tc.at))
				n.checkIDs(t, "active tokens", e.activeIDs(tokenadmin.TokenFilter{}), tc.want)
				// The listing and Token.State agree on what is active.
				for _, name := range n.order {
					if listed, active := slices.Contains(tc.want, name), e.state(n.id(name)) == tokenadmin.StateActive; listed != active {
						t.Errorf("%s: listed %v, but GetToken's state is %q", name, listed, e.state(n.id(name)))
					}
				}
			})
		}
	})

	t.Run("filters by user, clientId and type", func(t *testing.T) {
		t.Parallel()
		e := h.env(t)
		e.app("a1")
		e.app("a2")
		n := newNamed()
		n.addIssued("alice@a1", e.grant("a1", "alice"))
		n.addIssued("alice@a2", e.access("a2", "alice", accessTTL))
		n.addIssued("bob@a1", e.grant("a1", "bob"))
		n.addIssued("bob@a2", e.grant("a2", "bob"))
		n.addIssued("alice@a1 revoked", e.access("a1", "alice", accessTTL))
		e.revoke(tokenadmin.RevokeRequest{TokenID: n.id("alice@a1 revoked/access"), Actor: "admin"})
		n.addIssued("bob@a2 expired", e.access("a2", "bob", time.Minute))
		n.addIssued("carol@a2", e.grant("a2", "carol"))
		e.clock.Advance(time.Minute)

		for _, tc := range []struct {
			name string
			f    tokenadmin.TokenFilter
			want []string
		}{
			{name: "no filter lists every active token", f: tokenadmin.TokenFilter{},
				want: n.except("alice@a1 revoked/access", "bob@a2 expired/access")},
			{name: "user", f: tokenadmin.TokenFilter{User: "alice"},
				want: []string{"alice@a1/access", "alice@a1/refresh", "alice@a2/access"}},
			{name: "clientId", f: tokenadmin.TokenFilter{ClientID: "a2"},
				want: []string{"alice@a2/access", "bob@a2/access", "bob@a2/refresh", "carol@a2/access", "carol@a2/refresh"}},
			{name: "type access", f: tokenadmin.TokenFilter{Type: tokenadmin.AccessToken},
				want: []string{"alice@a1/access", "alice@a2/access", "bob@a1/access", "bob@a2/access", "carol@a2/access"}},
			{name: "type refresh", f: tokenadmin.TokenFilter{Type: tokenadmin.RefreshToken},
				want: []string{"alice@a1/refresh", "bob@a1/refresh", "bob@a2/refresh", "carol@a2/refresh"}},
			{name: "user and clientId", f: tokenadmin.TokenFilter{User: "alice", ClientID: "a2"},
				want: []string{"alice@a2/access"}},
			{name: "user and type", f: tokenadmin.TokenFilter{User: "bob", Type: tokenadmin.RefreshToken},
				want: []string{"bob@a1/refresh", "bob@a2/refresh"}},
			{name: "clientId and type", f: tokenadmin.TokenFilter{ClientID: "a1", Type: tokenadmin.AccessToken},
				want: []string{"alice@a1/access", "bob@a1/access"}},
			{name: "user, clientId and type", f: tokenadmin.TokenFilter{User: "bob", ClientID: "a2", Type: tokenadmin.AccessToken},
				want: []string{"bob@a2/access"}},
			{name: "unknown user gives an empty page", f: tokenadmin.TokenFilter{User: "nobody"},
				want: nil},
			{name: "unknown clientId gives an empty page", f: tokenadmin.TokenFilter{ClientID: "no-such-app"},
				want: nil},
			{name: "user with unknown clientId gives an empty page", f: tokenadmin.TokenFilter{User: "alice", ClientID: "no-such-app"},
				want: nil},
			{name: "user without tokens of that app gives an empty page", f: tokenadmin.TokenFilter{User: "carol", ClientID: "a1"},
				want: nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				e := e.with(t)
				f := tc.f
				f.PageSize = tokenadmin.MaxPageSize
				p := e.list(f)
				n.checkIDs(t, "one big page", tokenIDs(p.Tokens), tc.want)
				if p.NextPageToken != "" {
					t.Errorf("one big page: NextPageToken = %q, want empty", p.NextPageToken)
				}
				f.PageSize = 1
				n.checkIDs(t, "pages of one", e.listAll(f), tc.want)
			})
		}
	})

	t.Run("lists in issuance order, the same every time", func(t *testing.T) {
		t.Parallel()
		e := h.env(t)
		e.app("a1")
		e.app("a2")
		n := newNamed()
		n.addIssued("alice@a1", e.grant("a1", "alice"))
		n.addIssued("bob@a2", e.access("a2", "bob", accessTTL))
		n.addIssued("alice@a2", e.grant("a2", "alice"))
		n.addIssued("carol@a1", e.access("a1", "carol", accessTTL))
		n.addIssued("bob@a1", e.grant("a1", "bob"))
		for i := range 3 {
			n.checkIDs(t, fmt.Sprintf("listing %d", i+1), e.activeIDs(tokenadmin.TokenFilter{}), n.order)
		}
	})

	t.Run("pages hold every active token exactly once", func(t *testing.T) {
		t.Parallel()
		e := h.env(t)
		e.app("a1")
		e.app("a2")
		n := newNamed()
		var active []*tokenadmin.Token // in issuance order
		for i := range 21 {
			app := []string{"a1", "a2"}[i%2]
			iss := e.access(app, "alice", accessTTL)
			n.addIssued(fmt.Sprintf("alice#%02d", i), iss)
			active = append(active, iss.Access)
			if i%3 == 0 {
				iss := e.access("a1", "bob", accessTTL)
				n.addIssued(fmt.Sprintf("bob#%02d", i), iss)
				active = append(active, iss.Access)
			}
			if i%4 == 0 { // revoked tokens between active ones
				iss := e.access(app, "alice", accessTTL)
				n.addIssued(fmt.Sprintf("alice#%02d revoked", i), iss)
				e.revoke(tokenadmin.RevokeRequest{TokenID: iss.Access.ID, Actor: "admin"})
			}
			if i%5 == 0 { // and expired ones
				n.addIssued(fmt.Sprintf("alice#%02d expired", i), e.access(app, "alice", time.Minute))
			}
		}
		e.clock.Advance(time.Minute)

		for _, fc := range []struct {
			name string
			f    tokenadmin.TokenFilter
		}{
			{name: "no filter", f: tokenadmin.TokenFilter{}},
			{name: "user", f: tokenadmin.TokenFilter{User: "alice"}},
			{name: "clientId", f: tokenadmin.TokenFilter{ClientID: "a1"}},
			{name: "user and clientId", f: tokenadmin.TokenFilter{User: "alice", ClientID: "a2"}},
			{name: "type", f: tokenadmin.TokenFilter{Type: tokenadmin.AccessToken}},
		} {
			var want []string
			for _, tok := range active {
				if matches(fc.f, tok) {
					want = append(want, n.names[tok.ID])
				}
			}
			total := len(want)
			sizes := []int{1, 2, 7, tokenadmin.MaxPageSize, total - 1, total, total + 1}
			slices.Sort(sizes)
			for _, size := range slices.Compact(sizes) {
				t.Run(fmt.Sprintf("%s/page size %d of %d", fc.name, size, total), func(t *testing.T) {
					e := e.with(t)
					f := fc.f
					f.PageSize = size
					n.checkIDs(t, "all pages", e.listAll(f), want)
				})
			}
		}
	})

	t.Run("revocations between pages never skip or repeat a token", func(t *testing.T) {
		t.Parallel()
		const pageSize = 5
		for _, tc := range []struct {
			name   string
			revoke []int // positions in the full listing, revoked after page 1
			rest   bool  // revoke every token after page 1
		}{
			{name: "token already listed", revoke: []int{1}},
			{name: "token at the cursor", revoke: []int{pageSize - 1}},
			{name: "first token of the next page", revoke: []int{pageSize}},
			{name: "token inside the next page", revoke: []int{pageSize + 2}},
			{name: "cursor and the whole next page", revoke: []int{4, 5, 6, 7, 8, 9}},
			{name: "every token after the cursor", rest: true},
		} {
			for _, fc := range []struct {
				name string
				f    tokenadmin.TokenFilter
			}{
				{name: "no filter", f: tokenadmin.TokenFilter{}},
				{name: "user", f: tokenadmin.TokenFilter{User: "alice"}},
				{name: "clientId", f: tokenadmin.TokenFilter{ClientID: "a1"}},
			} {
				t.Run(tc.name+"/"+fc.name, func(t *testing.T) {
					t.Parallel()
					e := h.env(t)
					e.app("a1")
					e.app("a2")
					n := newNamed()
					for i := range 15 {
						n.addIssued(fmt.Sprintf("alice#%02d", i), e.access("a1", "alice", accessTTL))
						if i%2 == 0 {
							n.addIssued(fmt.Sprintf("bob#%02d", i), e.access("a2", "bob", accessTTL))
						}
					}
					all := n.where(func(name string) bool { return matches(fc.f, n.token(name)) })

					f := fc.f
					f.PageSize = pageSize
					first := e.list(f)
					n.checkIDs(t, "page 1", tokenIDs(first.Tokens), all[:pageSize])
					if first.NextPageToken == "" {
						t.Fatal("page 1 has no NextPageToken")
					}
					revoke := tc.revoke
					if tc.rest {
						for i := pageSize; i < len(all); i++ {
							revoke = append(revoke, i)
						}
					}
					var gone []string
					for _, i := range revoke {
						e.revoke(tokenadmin.RevokeRequest{TokenID: n.id(all[i]), Actor: "admin"})
						gone = append(gone, all[i])
					}
					var want []string
					for _, name := range all[pageSize:] {
						if !slices.Contains(gone, name) {
							want = append(want, name)
						}
					}
					f.PageToken = first.NextPageToken
					n.checkIDs(t, "pages after the revocations", e.listAll(f), want)
				})
			}
		}
	})

	t.Run("tokens issued between pages appear at the end", func(t *testing.T) {
		t.Parallel()
		for _, fc := range []struct {
			name string
			f    tokenadmin.TokenFilter
		}{
			{name: "no filter", f: tokenadmin.TokenFilter{}},
			{name: "user", f: tokenadmin.TokenFilter{User: "alice"}},
		} {
			t.Run(fc.name, func(t *testing.T) {
				t.Parallel()
				e := h.env(t)
				e.app("a1")
				n := newNamed()
				for i := range 6 {
					n.addIssued(fmt.Sprintf("old#%d", i), e.access("a1", "alice", accessTTL))
				}
				f := fc.f
				f.PageSize = 4
				first := e.list(f)
				n.checkIDs(t, "page 1", tokenIDs(first.Tokens), []string{"old#0/access", "old#1/access", "old#2/access", "old#3/access"})
				n.addIssued("new#0", e.grant("a1", "alice"))
				n.addIssued("new#1", e.access("a1", "alice", accessTTL))
				f.PageToken = first.NextPageToken
				n.checkIDs(t, "later pages", e.listAll(f),
					[]string{"old#4/access", "old#5/access", "new#0/access", "new#0/refresh", "new#1/access"})
			})
		}
	})

	t.Run("page token used with another filter is CodeInvalidPageToken", func(t *testing.T) {
		t.Parallel()
		e := h.env(t)
		e.app("a1")
		e.app("a2")
		e.grant("a1", "alice")
		e.grant("a2", "alice")
		e.grant("a1", "bob")
		e.grant("a2", "bob")
		for _, tc := range []struct {
			name     string
			from, to tokenadmin.TokenFilter
		}{
			{name: "user dropped", from: tokenadmin.TokenFilter{User: "alice"}, to: tokenadmin.TokenFilter{}},
			{name: "user added", from: tokenadmin.TokenFilter{}, to: tokenadmin.TokenFilter{User: "alice"}},
			{name: "another user", from: tokenadmin.TokenFilter{User: "alice"}, to: tokenadmin.TokenFilter{User: "bob"}},
			{name: "clientId added", from: tokenadmin.TokenFilter{User: "alice"}, to: tokenadmin.TokenFilter{User: "alice", ClientID: "a1"}},
			{name: "another clientId", from: tokenadmin.TokenFilter{ClientID: "a1"}, to: tokenadmin.TokenFilter{ClientID: "a2"}},
			{name: "clientId swapped for user", from: tokenadmin.TokenFilter{ClientID: "a1"}, to: tokenadmin.TokenFilter{User: "a1"}},
			{name: "type added", from: tokenadmin.TokenFilter{User: "alice"}, to: tokenadmin.TokenFilter{User: "alice", Type: tokenadmin.AccessToken}},
			{name: "another type", from: tokenadmin.TokenFilter{Type: tokenadmin.RefreshToken}, to: tokenadmin.TokenFilter{Type: tokenadmin.AccessToken}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				e := e.with(t)
				from := tc.from
				from.PageSize = 1
				p := e.list(from)
				if p.NextPageToken == "" {
					t.Fatalf("%+v: no NextPageToken", from)
				}
				to := tc.to
				to.PageSize, to.PageToken = 1, p.NextPageToken
				_, err := e.store.ListActiveTokens(e.ctx, to)
				wantCode(t, "ListActiveTokens", err, tokenadmin.CodeInvalidPageToken)
			})
		}
		t.Run("same filter with another page size continues", func(t *testing.T) {
			e := e.with(t)
			p := e.list(tokenadmin.TokenFilter{User: "alice", PageSize: 1})
			rest := e.listAll(tokenadmin.TokenFilter{User: "alice", PageSize: 2, PageToken: p.NextPageToken})
			all := e.activeIDs(tokenadmin.TokenFilter{User: "alice"})
			if got := append(tokenIDs(p.Tokens), rest...); !slices.Equal(got, all) {
				t.Errorf("pages of 1 then 2 = %v, want %v", got, all)
			}
		})
	})

	t.Run("malformed page token is CodeInvalidPageToken", func(t *testing.T) {
		t.Parallel()
		e := h.env(t)
		e.app("a1")
		for range 3 {
			e.grant("a1", "alice")
		}
		f := tokenadmin.TokenFilter{User: "alice", PageSize: 1}
		valid := e.list(f).NextPageToken
		if valid == "" {
			t.Fatal("no NextPageToken")
		}
		rng := rand.New(rand.NewPCG(1, 2))
		const urlAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
		randomString := func(alphabet string, n int) string {
			b := make([]byte, n)
			for i := range b {
				b[i] = alphabet[rng.IntN(len(alphabet))]
			}
			return string(b)
		}
		randomBase64 := func(n int) string {
			b := make([]byte, n)
			for i := range b {
				b[i] = byte(rng.Uint32())
			}
			return base64.RawURLEncoding.EncodeToString(b)
		}

		cases := map[string][]string{
			"random strings": nil,
			"random base64":  nil,
			"truncated":      nil,
			"too long": {
				valid + "AA", valid + "AAAA", valid + valid, valid + strings.Repeat("A", 100),
				strings.Repeat("A", 33), strings.Repeat("A", 1000), strings.Repeat(valid, 50),
			},
			"not base64": {
				"!", "****", "not a page token", "%00%00%00%00", valid + "=", valid + "==", "=" + valid,
				"ä" + valid[2:], strings.Repeat("\x00", len(valid)), valid[:len(valid)-1] + "*",
				"*" + valid[1:], valid[:2] + " " + valid[3:], valid[:2] + "." + valid[3:],
			},
		}
		for range 100 {
			cases["random strings"] = append(cases["random strings"], randomString(urlAlphabet, 1+rng.IntN(40)))
			cases["random base64"] = append(cases["random base64"], randomBase64(1+rng.IntN(24)))
		}
		for i := 1; i < len(valid); i++ {
			cases["truncated"] = append(cases["truncated"], valid[:i], valid[i:])
		}
		for _, name := range []string{"random strings", "random base64", "truncated", "too long", "not base64"} {
			t.Run(name, func(t *testing.T) {
				for _, tok := range cases[name] {
					if tok == valid {
						continue
					}
					f.PageToken = tok
					_, err := e.with(t).store.ListActiveTokens(t.Context(), f)
					wantCode(t, fmt.Sprintf("pageToken %q", tok), err, tokenadmin.CodeInvalidPageToken)
				}
			})
		}
		t.Run("the valid token still works", func(t *testing.T) {
			f.PageToken = valid
			if p := e.with(t).list(f); len(p.Tokens) != 1 {
				t.Errorf("page 2 has %d tokens, want 1", len(p.Tokens))
			}
		})
	})

	t.Run("page size out of range is CodeInvalid", func(t *testing.T) {
		t.Parallel()
		e := h.env(t)
		for _, size := range []int{0, -1, tokenadmin.MaxPageSize + 1} {
			_, err := e.store.ListActiveTokens(e.ctx, tokenadmin.TokenFilter{PageSize: size})
			wantCode(t, fmt.Sprintf("pageSize %d", size), err, tokenadmin.CodeInvalid)
		}
	})

	t.Run("token fields round-trip", func(t *testing.T) {
		t.Parallel()
		e := h.env(t)
		e.appNamed("rt", "Round Trip App")
		e.clock.Advance(1234 * time.Millisecond)
		now := e.clock.Now()
		full := tokenadmin.IssueRequest{ClientID: "rt", User: "alice", Scopes: []string{"openid", "profile", "tokens:read"},
			GrantType: "authorization_code", AccessTTL: 15 * time.Minute, RefreshTTL: 720 * time.Hour}
		bare := tokenadmin.IssueRequest{ClientID: "rt", User: "bob", AccessTTL: time.Minute}
		iss, bareIss := e.issue(full), e.issue(bare)
		if iss.Refresh == nil {
			t.Fatal("IssueTokens with RefreshTTL issued no refresh token")
		}
		if bareIss.Refresh != nil {
			t.Error("IssueTokens without RefreshTTL issued a refresh token")
		}
		want := []*tokenadmin.Token{
			{ID: iss.Access.ID, Type: tokenadmin.AccessToken, ClientID: "rt", AppName: "Round Trip App", User: "alice",
				Scopes: full.Scopes, GrantType: "authorization_code", IssuedAt: now, ExpiresAt: now.Add(15 * time.Minute)},
			{ID: iss.Refresh.ID, Type: tokenadmin.RefreshToken, ClientID: "rt", AppName: "Round Trip App", User: "alice",
				Scopes: full.Scopes, GrantType: "authorization_code", IssuedAt: now, ExpiresAt: now.Add(720 * time.Hour)},
			{ID: bareIss.Access.ID, Type: tokenadmin.AccessToken, ClientID: "rt", AppName: "Round Trip App", User: "bob",
				IssuedAt: now, ExpiresAt: now.Add(time.Minute)},
		}
		listed := e.list(tokenadmin.TokenFilter{PageSize: 10}).Tokens
		if len(listed) != len(want) {
			t.Fatalf("listed %d tokens, want %d", len(listed), len(want))
		}
		for i, w := range want {
			for _, got := range []struct {
				how string
				tok *tokenadmin.Token
			}{
				{how: "as issued", tok: []*tokenadmin.Token{iss.Access, iss.Refresh, bareIss.Access}[i]},
				{how: "listed", tok: listed[i]},
				{how: "from GetToken", tok: e.get(w.ID)},
			} {
				if diffs := sameToken(got.tok, w); len(diffs) > 0 {
					t.Errorf("token %d %s:\n\t%s", i, got.how, strings.Join(diffs, "\n\t"))
				}
			}
		}
		if iss.Access.ID == iss.Refresh.ID || iss.AccessValue == iss.RefreshValue || iss.AccessValue == iss.Access.ID {
			t.Errorf("IDs and values are not distinct: %+v", iss)
		}
	})
}

// matches reports whether f selects t, apart from its state.
func matches(f tokenadmin.TokenFilter, t *tokenadmin.Token) bool {
	return (f.User == "" || f.User == t.User) &&
		(f.ClientID == "" || f.ClientID == t.ClientID) &&
		(f.Type == "" || f.Type == t.Type)
}
