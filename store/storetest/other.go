package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"tokenadmin"
)

func testListAuthorizedApps(t *testing.T, h Harness) {
	e := h.env(t)
	// Client IDs sort against the names, so that name order shows.
	e.appNamed("a", "Zeta")
	e.appNamed("z", "Alpha")
	e.appNamed("m", "Mid")
	e.appNamed("b", "Other")
	t0 := e.clock.Now()
	zeta := e.grant("a", "alice")
	e.clock.Advance(time.Minute)
	e.grant("a", "alice")
	e.revoke(tokenadmin.RevokeRequest{TokenID: zeta.Access.ID, Actor: "admin"}) // Zeta keeps 3
	e.clock.Advance(time.Minute)
	e.access("z", "alice", accessTTL)
	mid := e.grant("m", "alice")
	e.revoke(tokenadmin.RevokeRequest{TokenID: mid.Refresh.ID, Actor: "admin"}) // Mid: a revoked family
	e.access("m", "alice", time.Minute)                                         // and an expiring token
	e.grant("z", "bob")
	e.grant("b", "bob")
	e.access("m", "carol", time.Minute)
	e.clock.Advance(time.Minute)

	for _, tc := range []struct {
		name string
		user string
		at   time.Duration // clock, from t0
		want []tokenadmin.AuthorizedApp
	}{
		{name: "apps with active tokens in name order, without revoked, expired or other users' tokens", user: "alice", at: 3 * time.Minute,
			want: []tokenadmin.AuthorizedApp{
				{ClientID: "z", AppName: "Alpha", ActiveTokens: 1, LastIssuedAt: t0.Add(2 * time.Minute)},
				{ClientID: "a", AppName: "Zeta", ActiveTokens: 3, LastIssuedAt: t0.Add(time.Minute)},
			}},
		{name: "another user's apps", user: "bob", at: 3 * time.Minute,
			want: []tokenadmin.AuthorizedApp{
				{ClientID: "z", AppName: "Alpha", ActiveTokens: 2, LastIssuedAt: t0.Add(2 * time.Minute)},
				{ClientID: "b", AppName: "Other", ActiveTokens: 2, LastIssuedAt: t0.Add(2 * time.Minute)},
			}},
		{name: "a user whose tokens all expired has none", user: "carol", at: 3 * time.Minute, want: nil},
		{name: "unknown user has none", user: "nobody", at: 3 * time.Minute, want: nil},
		{name: "access tokens expired, refresh tokens still count", user: "alice", at: 2*time.Minute + accessTTL,
			want: []tokenadmin.AuthorizedApp{
				{ClientID: "a", AppName: "Zeta", ActiveTokens: 2, LastIssuedAt: t0.Add(time.Minute)},
			}},
		{name: "everything expired", user: "alice", at: 2*time.Minute + refreshTTL, want: nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := e.with(t)
			e.clock.Set(t0.Add(tc.at))
			got, err := e.store.ListAuthorizedApps(e.ctx, tc.user)
			if err != nil {
				t.Fatalf("ListAuthorizedApps(%q): %v", tc.user, err)
			}
			same := len(got) == len(tc.want)
			for i := 0; same && i < len(got); i++ {
				g, w := got[i], tc.want[i]
				same = g.ClientID == w.ClientID && g.AppName == w.AppName && g.ActiveTokens == w.ActiveTokens && g.LastIssuedAt.Equal(w.LastIssuedAt)
			}
			if !same {
				t.Errorf("ListAuthorizedApps(%q) =\n%s\nwant\n%s", tc.user, fmtApps(got), fmtApps(tc.want))
			}
		})
	}
}

func fmtApps[A tokenadmin.AuthorizedApp | *tokenadmin.AuthorizedApp](apps []A) string {
	s := ""
	for _, a := range apps {
		s += fmt.Sprintf("\t%+v\n", a)
	}
	if s == "" {
		return "\t(none)"
	}
	return s
}

func testGetToken(t *testing.T, h Harness) {
	e := h.env(t)
	n := seedFamilies(e)
	n.addIssued("short", e.access("a1", "alice", time.Minute))
	e.revoke(tokenadmin.RevokeRequest{TokenID: n.id("g2/refresh"), Actor: "admin", Reason: "why"})
	e.clock.Advance(time.Minute)

	for _, tc := range []struct {
		name   string
		target string
		want   tokenadmin.TokenState
	}{
		{name: "active token", target: "g1/access", want: tokenadmin.StateActive},
		{name: "revoked token", target: "g2/refresh", want: tokenadmin.StateRevoked},
		{name: "token revoked with its refresh token", target: "g2/access", want: tokenadmin.StateRevoked},
		{name: "expired token", target: "short/access", want: tokenadmin.StateExpired},
	} {
		t.Run("returns an "+tc.name, func(t *testing.T) {
			tok := e.with(t).get(n.id(tc.target))
			if st := tok.StateAt(e.clock.Now()); st != tc.want || tok.ID != n.id(tc.target) {
				t.Errorf("GetToken(%s) = %s token %q, want %s token %q", tc.target, st, tok.ID, tc.want, n.id(tc.target))
			}
		})
	}
	for _, tc := range []struct {
		name string
		id   string
	}{
		{name: "unknown ID", id: "no-such-token"},
		{name: "empty ID", id: ""},
		{name: "a token's value", id: n.value("g1/access")},
	} {
		t.Run(tc.name+" is CodeTokenNotFound", func(t *testing.T) {
			_, err := e.store.GetToken(t.Context(), tc.id)
			wantCode(t, "GetToken", err, tokenadmin.CodeTokenNotFound)
		})
	}
}

func testConcurrency(t *testing.T, h Harness) {
	const workers = 16

	t.Run("each token is revoked exactly once", func(t *testing.T) {
		t.Parallel()
		e := h.env(t)
		e.app("a1")
		n := newNamed()
		for w := range workers {
			n.addIssued(fmt.Sprintf("own#%02d", w), e.access("a1", fmt.Sprintf("user%02d", w), accessTTL))
		}
		n.addIssued("shared", e.grant("a1", "alice"))
		shared := []string{"shared/refresh", "shared/access"}
		for i := range 8 {
			name := fmt.Sprintf("shared#%d", i)
			n.addIssued(name, e.access("a1", "alice", accessTTL))
			shared = append(shared, name+"/access")
		}

		type outcome struct {
			target string
			res    *tokenadmin.RevokeResult
			err    error
		}
		var (
			mu       sync.Mutex
			outcomes []outcome
			wg       sync.WaitGroup
			start    = make(chan struct{})
		)
		for w := range workers {
			wg.Go(func() {
				// Each worker revokes its own token, then every shared token
				// in its own order, half of them by value.
				targets := []string{fmt.Sprintf("own#%02d/access", w)}
				for i := range shared {
					targets = append(targets, shared[(i+w)%len(shared)])
				}
				<-start
				for i, target := range targets {
					r := n.request(target, by((i+w)%2))
					r.Actor = fmt.Sprintf("worker%02d", w)
					res, err := e.store.RevokeToken(t.Context(), r)
					mu.Lock()
					outcomes = append(outcomes, outcome{target: target, res: res, err: err})
					mu.Unlock()
				}
			})
		}
		close(start)
		wg.Wait()

		revoked, changed := map[string]int{}, 0
		for _, o := range outcomes {
			if o.err != nil {
				t.Errorf("RevokeToken(%s): %v", o.target, o.err)
				continue
			}
			if o.res.TokenID != n.id(o.target) {
				t.Errorf("RevokeToken(%s).TokenID = %q, want %q", o.target, o.res.TokenID, n.id(o.target))
			}
			if o.res.Revoked {
				revoked[o.target]++
			}
			changed += o.res.Count
		}
		for _, name := range n.order {
			want := 1
			if name == "shared/access" && revoked[name] == 0 {
				want = 0 // revoked with its refresh token instead
			}
			if revoked[name] != want {
				t.Errorf("%s: %d calls report Revoked=true, want %d", name, revoked[name], want)
			}
		}
		if changed != len(n.order) {
			t.Errorf("Counts add up to %d, want one per token: %d", changed, len(n.order))
		}
		e.checkStates(n, n.order)
	})

	t.Run("bulk and single revocations count each token once", func(t *testing.T) {
		t.Parallel()
		e := h.envChunked(t, 3)
		e.app("a1")
		n := newNamed()
		var alices []string
		for i := range 10 {
			n.addIssued(fmt.Sprintf("alice#%d", i), e.grant("a1", "alice"))
			alices = append(alices, fmt.Sprintf("alice#%d/access", i), fmt.Sprintf("alice#%d/refresh", i))
		}
		n.addIssued("bob", e.grant("a1", "bob"))

		var (
			mu      sync.Mutex
			changed int
			wg      sync.WaitGroup
			start   = make(chan struct{})
		)
		add := func(k int) {
			mu.Lock()
			changed += k
			mu.Unlock()
		}
		for w := range workers {
			wg.Go(func() {
				<-start
				if w%2 == 0 {
					k, err := e.store.RevokeTokens(t.Context(), tokenadmin.BulkRevoke{User: "alice", Actor: "bulk"})
					if err != nil {
						t.Errorf("RevokeTokens: %v", err)
					}
					add(k)
					return
				}
				for i := range alices {
					target := alices[(i+w)%len(alices)]
					res, err := e.store.RevokeToken(t.Context(), tokenadmin.RevokeRequest{TokenID: n.id(target), Actor: "single"})
					if err != nil {
						t.Errorf("RevokeToken(%s): %v", target, err)
						continue
					}
					add(res.Count)
				}
			})
		}
		close(start)
		wg.Wait()
		if changed != len(alices) {
			t.Errorf("counts add up to %d, want one per token of alice: %d", changed, len(alices))
		}
		e.checkStates(n, alices)
	})
}
