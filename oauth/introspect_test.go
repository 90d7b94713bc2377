package oauth

import (
	"net/http"
	"testing"
	"time"

	"tokenadmin"
)

// TestIntrospect covers RFC 7662 for the callers that may introspect.
func TestIntrospect(t *testing.T) {
	rs := basic(rsID, rsSecret)
	iat := testNow.Unix()
	aliceAccess := map[string]any{"active": true, "scope": "read write", "client_id": webID, "username": "alice",
		"token_type": "Bearer", "token_use": "access_token", "exp": float64(iat + 3600), "iat": float64(iat), "sub": "alice"}
	for _, tc := range []struct {
		name   string
		call   call
		want   map[string]any
		golden string
	}{
		{name: "client with the permission, Basic", call: call{auth: rs, body: "token=access-1"}, want: aliceAccess, golden: "introspect-active"},
		{name: "client with the permission, client_secret_post", call: call{body: params("token", "access-1", "client_id", rsID, "client_secret", rsSecret)}, want: aliceAccess},
		{name: "admin user", call: call{auth: rawBasic("root", rootPassword), body: "token=access-1"}, want: aliceAccess},
		{name: "hint is ignored", call: call{auth: rs, body: "token=access-1&token_type_hint=refresh_token"}, want: aliceAccess},
		{name: "refresh token", call: call{auth: rs, body: "token=refresh-2"}, want: map[string]any{"active": true, "scope": "read write",
			"client_id": webID, "username": "alice", "token_type": "Bearer", "token_use": "refresh_token", "exp": float64(iat + 86400), "iat": float64(iat), "sub": "alice"}},
		{name: "client_credentials token has no username", call: call{auth: basic(svcID, svcSecret), body: "token=access-3"}, want: map[string]any{"active": true,
			"scope": "read", "client_id": svcID, "token_type": "Bearer", "token_use": "access_token", "exp": float64(iat + 3600), "iat": float64(iat), "sub": svcID}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fx := newFixture(t)
			preissue(t, fx)
			tc.call.path = IntrospectPath
			res := serve(t, fx.h, tc.call)
			if got := decode(t, res); !equalJSON(got, tc.want) {
				t.Errorf("response = %s, want %v", res.body, tc.want)
			}
			if tc.golden != "" {
				golden(t, tc.golden, res)
			}
			fx.checkLogClean(t, "access-1", "refresh-2", "access-3")
		})
	}
}

// TestIntrospectInactive: anything not active is exactly {"active":false}
// (RFC 7662 §2.2).
func TestIntrospectInactive(t *testing.T) {
	rs := basic(rsID, rsSecret)
	for _, tc := range []struct {
		name  string
		token string
		setup func(t *testing.T, fx *fixture)
	}{
		{name: "unknown", token: "no-such-token"},
		{name: "revoked", token: "access-1", setup: func(t *testing.T, fx *fixture) {
			checkRevoked(t, serve(t, fx.h, call{path: RevokePath, auth: basic(webID, webSecret), body: "token=access-1"}))
		}},
		{name: "family revoked with its refresh token", token: "access-1", setup: func(t *testing.T, fx *fixture) {
			checkRevoked(t, serve(t, fx.h, call{path: RevokePath, auth: basic(webID, webSecret), body: "token=refresh-2"}))
		}},
		{name: "expired", token: "access-1", setup: func(t *testing.T, fx *fixture) { fx.store.advance(time.Hour) }},
		{name: "rotated refresh token", token: "refresh-2", setup: func(t *testing.T, fx *fixture) {
			decode(t, serve(t, fx.h, call{auth: basic(webID, webSecret), body: "grant_type=refresh_token&refresh_token=refresh-2"}))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fx := newFixture(t)
			preissue(t, fx)
			if tc.setup != nil {
				tc.setup(t, fx)
			}
			res := serve(t, fx.h, call{path: IntrospectPath, auth: rs, body: "token=" + tc.token})
			checkNoStore(t, res)
			if res.status != http.StatusOK || string(res.body) != `{"active":false}` {
				t.Errorf("response = %d %s, want 200 {\"active\":false}", res.status, res.body)
			}
			if tc.name == "unknown" {
				golden(t, "introspect-inactive", res)
			}
		})
	}
}

// TestIntrospectNoCache: every introspection asks the store, so a
// revocation by any path shows at once.
func TestIntrospectNoCache(t *testing.T) {
	fx := newFixture(t)
	preissue(t, fx)
	rs := basic(rsID, rsSecret)
	introspect := func() bool {
		return decode(t, serve(t, fx.h, call{path: IntrospectPath, auth: rs, body: "token=access-1"}))["active"] == true
	}
	if !introspect() || !introspect() {
		t.Fatal("access-1 is not active")
	}
	// Another path (SOAP, the CLI) revokes it in the store.
	if _, err := fx.store.RevokeToken(t.Context(), tokenadmin.RevokeRequest{Value: "access-1", Actor: "root", Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	if introspect() {
		t.Error("access-1 is still active after its revocation")
	}
	if fx.store.lookups != 3 {
		t.Errorf("the store was asked %d times for 3 introspections", fx.store.lookups)
	}
}

func TestIntrospectErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		call   call
		status int
		code   string
		golden string
	}{
		{name: "client without the permission", call: call{auth: basic(webID, webSecret), body: "token=access-1"}, status: 403, code: errInsufficientScope, golden: "introspect-insufficient_scope"},
		{name: "client without the permission, client_secret_post", call: call{body: params("token", "access-1", "client_id", webID, "client_secret", webSecret)}, status: 403, code: errInsufficientScope},
		{name: "user who is not an admin", call: call{auth: rawBasic("alice", alicePassword), body: "token=access-1"}, status: 403, code: errInsufficientScope},
		{name: "wrong user password", call: call{auth: rawBasic("root", "nope"), body: "token=access-1"}, status: 401, code: errInvalidClient, golden: "introspect-invalid_client"},
		{name: "wrong client secret", call: call{auth: basic(rsID, "nope"), body: "token=access-1"}, status: 401, code: errInvalidClient},
		{name: "wrong client secret, client_secret_post", call: call{body: params("token", "access-1", "client_id", rsID, "client_secret", "nope")}, status: 401, code: errInvalidClient},
		{name: "admin password in client_secret_post", call: call{body: params("token", "access-1", "client_id", "root", "client_secret", rootPassword)}, status: 401, code: errInvalidClient},
		{name: "disabled client with the permission", call: call{auth: basic(disabledID, disabledSecret), body: "token=access-1"}, status: 401, code: errInvalidClient},
		{name: "no credentials", call: call{body: "token=access-1"}, status: 401, code: errInvalidClient},
		{name: "client_id alone", call: call{body: "token=access-1&client_id=" + rsID}, status: 401, code: errInvalidClient},
		{name: "Bearer scheme", call: call{auth: "Bearer access-1", body: "token=access-1"}, status: 401, code: errInvalidClient},
		{name: "Basic and client_secret_post together", call: call{auth: basic(rsID, rsSecret), body: params("token", "access-1", "client_id", rsID, "client_secret", rsSecret)}, status: 400, code: errInvalidRequest},
		{name: "missing token", call: call{auth: basic(rsID, rsSecret), body: "token_type_hint=access_token"}, status: 400, code: errInvalidRequest},
		{name: "duplicate token", call: call{auth: basic(rsID, rsSecret), body: "token=access-1&token=access-3"}, status: 400, code: errInvalidRequest},
		{name: "GET is 405", call: call{method: http.MethodGet, auth: basic(rsID, rsSecret)}, status: 405, code: errInvalidRequest},
		{name: "wrong content type", call: call{auth: basic(rsID, rsSecret), contentType: "text/plain", body: "token=access-1"}, status: 400, code: errInvalidRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fx := newFixture(t)
			preissue(t, fx)
			tc.call.path = IntrospectPath
			res := serve(t, fx.h, tc.call)
			checkError(t, res, tc.status, tc.code)
			if fx.store.lookups != 0 {
				t.Errorf("the store looked up a token for a refused caller")
			}
			if tc.golden != "" {
				golden(t, tc.golden, res)
			}
			fx.checkLogClean(t, "access-1")
		})
	}
}
