package oauth

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"tokenadmin"
)

// preissue gives every fixture the same tokens, so that tables can name
// them: access-1 and refresh-2 for alice at web (scope read write), and
// access-3 for svc (client_credentials, scope read).
func preissue(t testing.TB, fx *fixture) {
	t.Helper()
	fx.store.issue(t, tokenadmin.IssueRequest{ClientID: webID, User: "alice", Scopes: []string{"read", "write"},
		GrantType: tokenadmin.GrantPassword, AccessTTL: time.Hour, RefreshTTL: 24 * time.Hour})
	fx.store.issue(t, tokenadmin.IssueRequest{ClientID: svcID, Scopes: []string{"read"},
		GrantType: tokenadmin.GrantClientCredentials, AccessTTL: time.Hour})
}

// TestTokenErrors covers every error of the token endpoint: RFC 6749 §5.2
// shapes, status codes and headers. Cases with a golden name pin the
// whole response, one per error code.
func TestTokenErrors(t *testing.T) {
	web := basic(webID, webSecret)
	cc := params("grant_type", "client_credentials")
	for _, tc := range []struct {
		name   string
		call   call
		status int
		code   string
		golden string
		check  func(t *testing.T, fx *fixture)
	}{
		// The request itself.
		{name: "GET is 405", call: call{method: http.MethodGet, auth: web}, status: 405, code: errInvalidRequest, golden: "token-method"},
		{name: "PUT is 405", call: call{method: http.MethodPut, auth: web, body: cc}, status: 405, code: errInvalidRequest},
		{name: "JSON body", call: call{auth: web, contentType: "application/json", body: `{"grant_type":"client_credentials"}`}, status: 400, code: errInvalidRequest},
		{name: "no Content-Type", call: call{auth: web, contentType: "-", body: cc}, status: 400, code: errInvalidRequest},
		{name: "malformed Content-Type", call: call{auth: web, contentType: "application/x-www-form-urlencoded; charset", body: cc}, status: 400, code: errInvalidRequest},
		{name: "charset other than UTF-8", call: call{auth: web, contentType: "application/x-www-form-urlencoded; charset=ISO-8859-1", body: cc}, status: 400, code: errInvalidRequest},
		{name: "body over the limit", call: call{auth: web, body: cc + "&pad=" + strings.Repeat("a", DefaultMaxBodyBytes)}, status: 400, code: errInvalidRequest},
		{name: "malformed percent-encoding", call: call{auth: web, body: cc + "&scope=%zz"}, status: 400, code: errInvalidRequest},
		{name: "value not UTF-8", call: call{auth: web, body: cc + "&scope=%ff"}, status: 400, code: errInvalidRequest},
		{name: "name not UTF-8", call: call{auth: web, body: cc + "&%c3=1"}, status: 400, code: errInvalidRequest},
		{name: "duplicate grant_type", call: call{auth: web, body: cc + "&grant_type=client_credentials"}, status: 400, code: errInvalidRequest, golden: "token-invalid_request"},
		{name: "duplicate unknown parameter", call: call{auth: web, body: cc + "&x=1&x=2"}, status: 400, code: errInvalidRequest},
		{name: "duplicate empty parameter", call: call{auth: web, body: cc + "&scope=&scope=read"}, status: 400, code: errInvalidRequest},
		{name: "duplicate client_id", call: call{body: params("grant_type", "client_credentials", "client_id", svcID, "client_id", svcID, "client_secret", svcSecret)}, status: 400, code: errInvalidRequest},

		// Client authentication (RFC 6749 §2.3).
		{name: "two Authorization headers", call: call{header: http.Header{"Authorization": {web, web}}, body: cc}, status: 400, code: errInvalidRequest},
		{name: "Basic and client_secret_post together", call: call{auth: web, body: cc + "&" + params("client_id", webID, "client_secret", webSecret)}, status: 400, code: errInvalidRequest},
		{name: "client_id other than the Basic one", call: call{auth: web, body: cc + "&client_id=" + svcID}, status: 400, code: errInvalidRequest},
		{name: "client_secret without client_id", call: call{body: cc + "&client_secret=" + webSecret}, status: 400, code: errInvalidRequest},
		{name: "no client authentication", call: call{body: cc}, status: 401, code: errInvalidClient, golden: "token-invalid_client"},
		{name: "client_id alone", call: call{body: cc + "&client_id=" + webID}, status: 401, code: errInvalidClient},
		{name: "wrong secret with Basic", call: call{auth: basic(webID, "nope"), body: cc}, status: 401, code: errInvalidClient},
		{name: "wrong secret with post", call: call{body: cc + "&" + params("client_id", webID, "client_secret", "nope")}, status: 401, code: errInvalidClient},
		{name: "empty secret with Basic", call: call{auth: basic(webID, ""), body: cc}, status: 401, code: errInvalidClient},
		{name: "unknown client", call: call{auth: basic("nobody", webSecret), body: cc}, status: 401, code: errInvalidClient},
		{name: "disabled client", call: call{auth: basic(disabledID, disabledSecret), body: cc}, status: 401, code: errInvalidClient},
		{name: "Bearer scheme", call: call{auth: "Bearer access-1", body: cc}, status: 401, code: errInvalidClient},
		{name: "Basic not base64", call: call{auth: "Basic ***", body: cc}, status: 401, code: errInvalidClient},
		{name: "Basic without colon", call: call{auth: "Basic d2Vi", body: cc}, status: 401, code: errInvalidClient},
		{name: "Basic not form-encoded", call: call{auth: rawBasic("web%zz", webSecret), body: cc}, status: 401, code: errInvalidClient},
		{name: "Basic without form-encoding of a special secret", call: call{auth: rawBasic(oddID, oddSecret), body: cc}, status: 401, code: errInvalidClient},

		// Grant types.
		{name: "missing grant_type", call: call{auth: web, body: "scope=read"}, status: 400, code: errInvalidRequest},
		{name: "empty grant_type", call: call{auth: web, body: "grant_type="}, status: 400, code: errInvalidRequest},
		{name: "authorization_code grant", call: call{auth: web, body: params("grant_type", "authorization_code", "code", "x")}, status: 400, code: errUnsupportedGrantType, golden: "token-unsupported_grant_type"},
		{name: "grant type with other case", call: call{auth: web, body: "grant_type=Password"}, status: 400, code: errUnsupportedGrantType},
		{name: "grant the app may not use", call: call{auth: basic(svcID, svcSecret), body: params("grant_type", "password", "username", "alice", "password", alicePassword)}, status: 400, code: errUnauthorizedClient, golden: "token-unauthorized_client",
			check: func(t *testing.T, fx *fixture) {
				if fx.users.calls != 0 {
					t.Errorf("the password was checked %d times for a client that may not use the grant", fx.users.calls)
				}
			}},

		// password (RFC 6749 §4.3).
		{name: "password without username", call: call{auth: web, body: params("grant_type", "password", "password", alicePassword)}, status: 400, code: errInvalidRequest},
		{name: "password without password", call: call{auth: web, body: params("grant_type", "password", "username", "alice")}, status: 400, code: errInvalidRequest},
		{name: "wrong password", call: call{auth: web, body: params("grant_type", "password", "username", "alice", "password", "nope")}, status: 400, code: errInvalidGrant, golden: "token-invalid_grant"},
		{name: "unknown user", call: call{auth: web, body: params("grant_type", "password", "username", "mallory", "password", alicePassword)}, status: 400, code: errInvalidGrant},
		{name: "scope the app does not allow", call: call{auth: web, body: params("grant_type", "password", "username", "alice", "password", alicePassword, "scope", "read delete")}, status: 400, code: errInvalidScope, golden: "token-invalid_scope",
			check: func(t *testing.T, fx *fixture) {
				if fx.users.calls != 0 {
					t.Errorf("the password was checked %d times for a request with a bad scope", fx.users.calls)
				}
			}},
		{name: "scope with two spaces", call: call{auth: web, body: params("grant_type", "password", "username", "alice", "password", alicePassword, "scope", "read  write")}, status: 400, code: errInvalidScope},
		{name: "scope with a tab", call: call{auth: web, body: params("grant_type", "password", "username", "alice", "password", alicePassword, "scope", "read\twrite")}, status: 400, code: errInvalidScope},
		{name: "scope with a quote", call: call{auth: web, body: params("grant_type", "client_credentials", "scope", `re"ad`)}, status: 400, code: errInvalidScope},
		{name: "scope with a trailing space", call: call{auth: web, body: params("grant_type", "client_credentials", "scope", "read ")}, status: 400, code: errInvalidScope},

		// client_credentials (RFC 6749 §4.4).
		{name: "client_credentials with a scope the app does not allow", call: call{auth: basic(svcID, svcSecret), body: params("grant_type", "client_credentials", "scope", "write")}, status: 400, code: errInvalidScope},
		{name: "client_credentials the app may not use", call: call{auth: basic(rsID, rsSecret), body: cc}, status: 400, code: errUnauthorizedClient},

		// refresh_token (RFC 6749 §6).
		{name: "refresh without refresh_token", call: call{auth: web, body: "grant_type=refresh_token"}, status: 400, code: errInvalidRequest},
		{name: "unknown refresh token", call: call{auth: web, body: params("grant_type", "refresh_token", "refresh_token", "nope")}, status: 400, code: errInvalidGrant},
		{name: "another client's refresh token", call: call{auth: basic(noRotateID, noRotateSecret), body: params("grant_type", "refresh_token", "refresh_token", "refresh-2")}, status: 400, code: errInvalidGrant,
			check: func(t *testing.T, fx *fixture) {
				if got := fx.store.token(t, "refresh-2").State; got != tokenadmin.StateActive {
					t.Errorf("web's refresh token is %s after another client presented it", got)
				}
			}},
		{name: "access token as refresh token", call: call{auth: web, body: params("grant_type", "refresh_token", "refresh_token", "access-1")}, status: 400, code: errInvalidGrant},
		{name: "refresh scope the app does not allow", call: call{auth: web, body: params("grant_type", "refresh_token", "refresh_token", "refresh-2", "scope", "delete")}, status: 400, code: errInvalidScope,
			check: func(t *testing.T, fx *fixture) {
				if len(fx.store.refreshes) != 0 {
					t.Errorf("the store was asked to refresh: %+v", fx.store.refreshes)
				}
			}},
		{name: "refresh scope beyond the original grant", call: call{auth: web, body: params("grant_type", "refresh_token", "refresh_token", "refresh-2", "scope", "read admin")}, status: 400, code: errInvalidScope},
		{name: "refresh for an app without the grant", call: call{auth: basic(noRefreshID, noRefreshSecret), body: params("grant_type", "refresh_token", "refresh_token", "refresh-2")}, status: 400, code: errUnauthorizedClient},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fx := newFixture(t)
			preissue(t, fx)
			res := serve(t, fx.h, tc.call)
			checkError(t, res, tc.status, tc.code)
			if tc.status == http.StatusMethodNotAllowed {
				if got := res.header.Get("Allow"); got != http.MethodPost {
					t.Errorf("Allow = %q, want POST", got)
				}
			}
			if len(fx.store.issues) != 0 {
				t.Errorf("tokens were issued: %+v", fx.store.issues)
			}
			if tc.check != nil {
				tc.check(t, fx)
			}
			if tc.golden != "" {
				golden(t, tc.golden, res)
			}
			fx.checkLogClean(t)
		})
	}
}

// TestTokenGrants covers the successful grants and what they ask of the
// store.
func TestTokenGrants(t *testing.T) {
	pw := func(extra ...string) string {
		return params(append([]string{"grant_type", "password", "username", "alice", "password", alicePassword}, extra...)...)
	}
	for _, tc := range []struct {
		name   string
		call   call
		want   map[string]any // the whole response
		issue  tokenadmin.IssueRequest
		golden string
	}{
		{
			name: "password with client_secret_basic",
			call: call{auth: basic(webID, webSecret), body: pw()},
			want: map[string]any{"access_token": "access-4", "token_type": "Bearer", "expires_in": 3600.0,
				"refresh_token": "refresh-5", "scope": "read write admin"},
			issue: tokenadmin.IssueRequest{ClientID: webID, User: "alice", Scopes: []string{"read", "write", "admin"},
				GrantType: "password", AccessTTL: time.Hour, RefreshTTL: 24 * time.Hour},
			golden: "token-password",
		},
		{
			name: "password with client_secret_post and a scope",
			call: call{body: pw("client_id", webID, "client_secret", webSecret, "scope", "write read")},
			want: map[string]any{"access_token": "access-4", "token_type": "Bearer", "expires_in": 3600.0,
				"refresh_token": "refresh-5", "scope": "write read"},
			issue: tokenadmin.IssueRequest{ClientID: webID, User: "alice", Scopes: []string{"write", "read"},
				GrantType: "password", AccessTTL: time.Hour, RefreshTTL: 24 * time.Hour},
		},
		{
			name: "password with a repeated scope",
			call: call{auth: basic(webID, webSecret), body: pw("scope", "read read")},
			want: map[string]any{"access_token": "access-4", "token_type": "Bearer", "expires_in": 3600.0,
				"refresh_token": "refresh-5", "scope": "read"},
			issue: tokenadmin.IssueRequest{ClientID: webID, User: "alice", Scopes: []string{"read"},
				GrantType: "password", AccessTTL: time.Hour, RefreshTTL: 24 * time.Hour},
		},
		{
			name: "password with the app's lifetimes",
			call: call{auth: basic(noRotateID, noRotateSecret), body: pw()},
			want: map[string]any{"access_token": "access-4", "token_type": "Bearer", "expires_in": 600.0,
				"refresh_token": "refresh-5", "scope": "read"},
			issue: tokenadmin.IssueRequest{ClientID: noRotateID, User: "alice", Scopes: []string{"read"},
				GrantType: "password", AccessTTL: 10 * time.Minute, RefreshTTL: time.Hour},
		},
		{
			name: "empty parameters count as omitted",
			call: call{auth: basic(webID, webSecret), body: pw("scope", "", "client_id", "")},
			want: map[string]any{"access_token": "access-4", "token_type": "Bearer", "expires_in": 3600.0,
				"refresh_token": "refresh-5", "scope": "read write admin"},
			issue: tokenadmin.IssueRequest{ClientID: webID, User: "alice", Scopes: []string{"read", "write", "admin"},
				GrantType: "password", AccessTTL: time.Hour, RefreshTTL: 24 * time.Hour},
		},
		{
			name: "client_credentials has no refresh token and no user",
			call: call{auth: basic(svcID, svcSecret), body: "grant_type=client_credentials"},
			want: map[string]any{"access_token": "access-4", "token_type": "Bearer", "expires_in": 3600.0, "scope": "read"},
			issue: tokenadmin.IssueRequest{ClientID: svcID, Scopes: []string{"read"},
				GrantType: "client_credentials", AccessTTL: time.Hour},
			golden: "token-client_credentials",
		},
		{
			name: "client_credentials of an app that may refresh",
			call: call{auth: basic(webID, webSecret), body: "grant_type=client_credentials&scope=admin"},
			want: map[string]any{"access_token": "access-4", "token_type": "Bearer", "expires_in": 3600.0, "scope": "admin"},
			issue: tokenadmin.IssueRequest{ClientID: webID, Scopes: []string{"admin"},
				GrantType: "client_credentials", AccessTTL: time.Hour},
		},
		{
			name: "Basic credentials form-encoded per RFC 6749 §2.3.1",
			call: call{auth: basic(oddID, oddSecret), body: "grant_type=client_credentials"},
			want: map[string]any{"access_token": "access-4", "token_type": "Bearer", "expires_in": 3600.0},
			issue: tokenadmin.IssueRequest{ClientID: oddID, Scopes: []string{},
				GrantType: "client_credentials", AccessTTL: time.Hour},
		},
		{
			name: "client_secret_post of the same special credentials",
			call: call{body: params("grant_type", "client_credentials", "client_id", oddID, "client_secret", oddSecret)},
			want: map[string]any{"access_token": "access-4", "token_type": "Bearer", "expires_in": 3600.0},
			issue: tokenadmin.IssueRequest{ClientID: oddID, Scopes: []string{},
				GrantType: "client_credentials", AccessTTL: time.Hour},
		},
		{
			name: "Basic with the same client_id in the body, lower-case scheme, UTF-8 charset, unknown parameters and a query",
			call: call{auth: "basic " + strings.TrimPrefix(basic(svcID, svcSecret), "Basic "), path: TokenPath + "?grant_type=password",
				contentType: "application/x-www-form-urlencoded; charset=UTF-8", body: params("grant_type", "client_credentials", "client_id", svcID, "foo", "bar")},
			want: map[string]any{"access_token": "access-4", "token_type": "Bearer", "expires_in": 3600.0, "scope": "read"},
			issue: tokenadmin.IssueRequest{ClientID: svcID, Scopes: []string{"read"},
				GrantType: "client_credentials", AccessTTL: time.Hour},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fx := newFixture(t)
			preissue(t, fx)
			res := serve(t, fx.h, tc.call)
			got := decode(t, res)
			if !equalJSON(got, tc.want) {
				t.Errorf("response = %s, want %v", res.body, tc.want)
			}
			if len(fx.store.issues) != 1 {
				t.Fatalf("store got %d issue requests, want 1", len(fx.store.issues))
			}
			if got := fx.store.issues[0]; !equalIssue(got, tc.issue) {
				t.Errorf("IssueRequest = %+v, want %+v", got, tc.issue)
			}
			if tc.golden != "" {
				golden(t, tc.golden, res)
			}
			fx.checkLogClean(t, "access-4", "refresh-5")
		})
	}
}

func equalIssue(a, b tokenadmin.IssueRequest) bool {
	return a.ClientID == b.ClientID && a.User == b.User && slices.Equal(a.Scopes, b.Scopes) &&
		a.GrantType == b.GrantType && a.AccessTTL == b.AccessTTL && a.RefreshTTL == b.RefreshTTL
}

func equalJSON(a, b map[string]any) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestRefreshGrant covers RFC 6749 §6 with and without rotation, and
// reuse of a rotated refresh token (RFC 9700 §4.14.2) as the store
// reports it.
func TestRefreshGrant(t *testing.T) {
	t.Run("rotation returns a new refresh token and retires the old one", func(t *testing.T) {
		fx := newFixture(t)
		preissue(t, fx)
		res := serve(t, fx.h, call{auth: basic(webID, webSecret), body: params("grant_type", "refresh_token", "refresh_token", "refresh-2")})
		want := map[string]any{"access_token": "access-4", "token_type": "Bearer", "expires_in": 3600.0,
			"refresh_token": "refresh-5", "scope": "read write"}
		if got := decode(t, res); !equalJSON(got, want) {
			t.Errorf("response = %s, want %v", res.body, want)
		}
		wantReq := tokenadmin.RefreshRequest{ClientID: webID, Value: "refresh-2", AccessTTL: time.Hour, RefreshTTL: 24 * time.Hour, Rotate: true}
		if len(fx.store.refreshes) != 1 || !equalRefresh(fx.store.refreshes[0], wantReq) {
			t.Errorf("RefreshRequests = %+v, want [%+v]", fx.store.refreshes, wantReq)
		}
		if got := fx.store.token(t, "refresh-2"); got.RevokeReason != tokenadmin.ReasonRotated {
			t.Errorf("old refresh token: state %s, reason %q; want revoked, rotated", got.State, got.RevokeReason)
		}

		// Reuse: invalid_grant, and the store revoked the family.
		res = serve(t, fx.h, call{auth: basic(webID, webSecret), body: params("grant_type", "refresh_token", "refresh_token", "refresh-2")})
		checkError(t, res, http.StatusBadRequest, errInvalidGrant)
		for _, v := range []string{"access-1", "access-4", "refresh-5"} {
			if got := fx.store.token(t, v); got.State != tokenadmin.StateRevoked {
				t.Errorf("%s is %s after reuse, want revoked", v, got.State)
			}
		}
		fx.checkLogClean(t, "refresh-2", "access-4", "refresh-5")
	})
	t.Run("without rotation the client keeps its refresh token", func(t *testing.T) {
		fx := newFixture(t)
		iss := fx.store.issue(t, tokenadmin.IssueRequest{ClientID: noRotateID, User: "alice", Scopes: []string{"read"},
			GrantType: "password", AccessTTL: time.Minute, RefreshTTL: time.Hour})
		for i := range 2 {
			res := serve(t, fx.h, call{auth: basic(noRotateID, noRotateSecret), body: params("grant_type", "refresh_token", "refresh_token", iss.RefreshValue)})
			body := decode(t, res)
			if _, ok := body["refresh_token"]; ok {
				t.Errorf("refresh %d returned a refresh token without rotation: %s", i, res.body)
			}
			if body["expires_in"] != 600.0 {
				t.Errorf("expires_in = %v, want the app's 600", body["expires_in"])
			}
		}
		if got := fx.store.refreshes[0]; got.Rotate || got.AccessTTL != 10*time.Minute || got.RefreshTTL != time.Hour {
			t.Errorf("RefreshRequest = %+v, want Rotate false and the app's lifetimes", got)
		}
	})
	t.Run("a narrower scope", func(t *testing.T) {
		fx := newFixture(t)
		preissue(t, fx)
		res := serve(t, fx.h, call{auth: basic(webID, webSecret), body: params("grant_type", "refresh_token", "refresh_token", "refresh-2", "scope", "write")})
		if got := decode(t, res); got["scope"] != "write" {
			t.Errorf("scope = %v, want write", got["scope"])
		}
		if got := fx.store.refreshes[0].Scopes; !slices.Equal(got, []string{"write"}) {
			t.Errorf("RefreshRequest.Scopes = %q, want [write]", got)
		}
	})
	t.Run("an expired refresh token", func(t *testing.T) {
		fx := newFixture(t)
		preissue(t, fx)
		fx.store.advance(25 * time.Hour)
		res := serve(t, fx.h, call{auth: basic(webID, webSecret), body: params("grant_type", "refresh_token", "refresh_token", "refresh-2")})
		checkError(t, res, http.StatusBadRequest, errInvalidGrant)
	})
}

func equalRefresh(a, b tokenadmin.RefreshRequest) bool {
	return a.ClientID == b.ClientID && a.Value == b.Value && slices.Equal(a.Scopes, b.Scopes) &&
		a.AccessTTL == b.AccessTTL && a.RefreshTTL == b.RefreshTTL && a.Rotate == b.Rotate
}

// TestRefreshDisabled: the refresh grant switched off for one app, or for
// the server: no refresh token is issued, and a refresh request is
// unauthorized_client without reaching the store.
func TestRefreshDisabled(t *testing.T) {
	for _, tc := range []struct {
		name     string
		clientID string
		secret   string
		policy   func(p *tokenadmin.Policy)
	}{
		{name: "for the app", clientID: noRefreshID, secret: noRefreshSecret},
		{name: "for the server", clientID: webID, secret: webSecret, policy: func(p *tokenadmin.Policy) { p.DisableRefreshGrant = true }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fx := newFixture(t)
			if tc.policy != nil {
				tc.policy(&fx.h.Policy)
			}
			auth := basic(tc.clientID, tc.secret)
			res := serve(t, fx.h, call{auth: auth, body: params("grant_type", "password", "username", "alice", "password", alicePassword)})
			if body := decode(t, res); body["refresh_token"] != nil {
				t.Errorf("a refresh token was issued: %s", res.body)
			}
			if got := fx.store.issues[0].RefreshTTL; got != 0 {
				t.Errorf("IssueRequest.RefreshTTL = %v, want 0", got)
			}
			// A refresh token from before the switch.
			old := fx.store.issue(t, tokenadmin.IssueRequest{ClientID: tc.clientID, User: "alice", GrantType: "password",
				AccessTTL: time.Hour, RefreshTTL: time.Hour})
			res = serve(t, fx.h, call{auth: auth, body: params("grant_type", "refresh_token", "refresh_token", old.RefreshValue)})
			checkError(t, res, http.StatusBadRequest, errUnauthorizedClient)
			if len(fx.store.refreshes) != 0 {
				t.Errorf("the store was asked to refresh: %+v", fx.store.refreshes)
			}
		})
	}
}

// TestPolicyDefaults: a zero Policy means the default lifetimes.
func TestPolicyDefaults(t *testing.T) {
	fx := newFixture(t)
	fx.h.Policy = tokenadmin.Policy{}
	res := serve(t, fx.h, call{auth: basic(webID, webSecret), body: params("grant_type", "password", "username", "alice", "password", alicePassword)})
	decode(t, res)
	got := fx.store.issues[0]
	if got.AccessTTL != tokenadmin.DefaultPolicy.AccessTTL || got.RefreshTTL != tokenadmin.DefaultPolicy.RefreshTTL {
		t.Errorf("lifetimes = %v, %v; want the defaults %v, %v", got.AccessTTL, got.RefreshTTL,
			tokenadmin.DefaultPolicy.AccessTTL, tokenadmin.DefaultPolicy.RefreshTTL)
	}
}

// TestPasswordGrantWithoutUsers: without an Authenticator the password
// grant is not supported.
func TestPasswordGrantWithoutUsers(t *testing.T) {
	fx := newFixture(t)
	fx.h.Users = nil
	res := serve(t, fx.h, call{auth: basic(webID, webSecret), body: params("grant_type", "password", "username", "alice", "password", alicePassword)})
	checkError(t, res, http.StatusBadRequest, errUnsupportedGrantType)
}
