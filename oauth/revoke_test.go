package oauth

import (
	"net/http"
	"testing"
	"time"

	"tokenadmin"
)

// TestRevoke covers RFC 7009: 200 with an empty body for the client's own
// tokens and, without revoking anything, for unknown, foreign and already
// invalid ones.
func TestRevoke(t *testing.T) {
	web := basic(webID, webSecret)
	for _, tc := range []struct {
		name        string
		call        call
		wantRequest tokenadmin.RevokeRequest
		revoked     []string // tokens revoked afterwards
		active      []string // tokens still active afterwards
	}{
		{
			name:        "own access token",
			call:        call{auth: web, body: params("token", "access-1")},
			wantRequest: tokenadmin.RevokeRequest{Value: "access-1", ClientID: webID, Actor: "client:web", Reason: "rfc7009"},
			revoked:     []string{"access-1"},
			active:      []string{"refresh-2", "access-3"},
		},
		{
			name:        "own access token with client_secret_post",
			call:        call{body: params("token", "access-1", "client_id", webID, "client_secret", webSecret)},
			wantRequest: tokenadmin.RevokeRequest{Value: "access-1", ClientID: webID, Actor: "client:web", Reason: "rfc7009"},
			revoked:     []string{"access-1"},
		},
		{
			name:        "own refresh token revokes its family",
			call:        call{auth: web, body: params("token", "refresh-2", "token_type_hint", "refresh_token")},
			wantRequest: tokenadmin.RevokeRequest{Value: "refresh-2", TypeHint: tokenadmin.RefreshToken, ClientID: webID, Actor: "client:web", Reason: "rfc7009"},
			revoked:     []string{"refresh-2", "access-1"},
			active:      []string{"access-3"},
		},
		{
			name:        "access_token hint",
			call:        call{auth: web, body: params("token", "access-1", "token_type_hint", "access_token")},
			wantRequest: tokenadmin.RevokeRequest{Value: "access-1", TypeHint: tokenadmin.AccessToken, ClientID: webID, Actor: "client:web", Reason: "rfc7009"},
			revoked:     []string{"access-1"},
		},
		{
			name:        "unknown hint is ignored",
			call:        call{auth: web, body: params("token", "access-1", "token_type_hint", "id_token")},
			wantRequest: tokenadmin.RevokeRequest{Value: "access-1", ClientID: webID, Actor: "client:web", Reason: "rfc7009"},
			revoked:     []string{"access-1"},
		},
		{
			name:        "another client's token is not revoked",
			call:        call{auth: web, body: params("token", "access-3")},
			wantRequest: tokenadmin.RevokeRequest{Value: "access-3", ClientID: webID, Actor: "client:web", Reason: "rfc7009"},
			active:      []string{"access-3", "access-1", "refresh-2"},
		},
		{
			name:        "unknown token",
			call:        call{auth: web, body: params("token", "no-such-token")},
			wantRequest: tokenadmin.RevokeRequest{Value: "no-such-token", ClientID: webID, Actor: "client:web", Reason: "rfc7009"},
			active:      []string{"access-1", "refresh-2", "access-3"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fx := newFixture(t)
			preissue(t, fx)
			tc.call.path = RevokePath
			res := serve(t, fx.h, tc.call)
			checkRevoked(t, res)
			if len(fx.store.revokes) != 1 || fx.store.revokes[0] != tc.wantRequest {
				t.Errorf("RevokeRequests = %+v, want [%+v]", fx.store.revokes, tc.wantRequest)
			}
			for _, v := range tc.revoked {
				if got := fx.store.token(t, v); got.State != tokenadmin.StateRevoked || got.RevokeReason != RevokeReason {
					t.Errorf("%s: state %s, reason %q; want revoked, %s", v, got.State, got.RevokeReason, RevokeReason)
				}
			}
			for _, v := range tc.active {
				if got := fx.store.token(t, v); got.State != tokenadmin.StateActive {
					t.Errorf("%s is %s, want active", v, got.State)
				}
			}
			fx.checkLogClean(t, "access-1", "refresh-2", "access-3")
		})
	}
}

// checkRevoked checks RFC 7009 §2.2's answer: 200 and no body.
func checkRevoked(t *testing.T, res response) {
	t.Helper()
	checkNoStore(t, res)
	if res.status != http.StatusOK || len(res.body) != 0 {
		t.Errorf("response = %d %q, want 200 with an empty body", res.status, res.body)
	}
}

// TestRevokeAlreadyInvalid: revoking a token twice, or an expired one,
// is 200 too (RFC 7009 §2.2: "invalid tokens do not cause an error
// response").
func TestRevokeAlreadyInvalid(t *testing.T) {
	fx := newFixture(t)
	preissue(t, fx)
	web := basic(webID, webSecret)
	for range 2 {
		checkRevoked(t, serve(t, fx.h, call{path: RevokePath, auth: web, body: "token=access-1"}))
	}
	fx.store.advance(48 * time.Hour)
	checkRevoked(t, serve(t, fx.h, call{path: RevokePath, auth: web, body: "token=refresh-2"}))
	if got := fx.store.token(t, "refresh-2"); got.State != tokenadmin.StateExpired {
		t.Errorf("expired refresh token is %s after revocation, want expired (nothing to revoke)", got.State)
	}
}

func TestRevokeErrors(t *testing.T) {
	web := basic(webID, webSecret)
	for _, tc := range []struct {
		name   string
		call   call
		status int
		code   string
		golden string
	}{
		{name: "missing token", call: call{auth: web, body: "token_type_hint=access_token"}, status: 400, code: errInvalidRequest, golden: "revoke-invalid_request"},
		{name: "duplicate token", call: call{auth: web, body: "token=access-1&token=access-3"}, status: 400, code: errInvalidRequest},
		{name: "no client authentication", call: call{body: "token=access-1"}, status: 401, code: errInvalidClient, golden: "revoke-invalid_client"},
		{name: "wrong secret", call: call{auth: basic(webID, "nope"), body: "token=access-1"}, status: 401, code: errInvalidClient},
		{name: "disabled client", call: call{auth: basic(disabledID, disabledSecret), body: "token=access-1"}, status: 401, code: errInvalidClient},
		{name: "user credentials are not client credentials", call: call{auth: rawBasic("root", rootPassword), body: "token=access-1"}, status: 401, code: errInvalidClient},
		{name: "Basic and client_secret_post together", call: call{auth: web, body: params("token", "access-1", "client_id", webID, "client_secret", webSecret)}, status: 400, code: errInvalidRequest},
		{name: "GET is 405", call: call{method: http.MethodGet, auth: web}, status: 405, code: errInvalidRequest},
		{name: "JSON body", call: call{auth: web, contentType: "application/json", body: `{"token":"access-1"}`}, status: 400, code: errInvalidRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fx := newFixture(t)
			preissue(t, fx)
			tc.call.path = RevokePath
			res := serve(t, fx.h, tc.call)
			checkError(t, res, tc.status, tc.code)
			if len(fx.store.revokes) != 0 {
				t.Errorf("the store was asked to revoke: %+v", fx.store.revokes)
			}
			if got := fx.store.token(t, "access-1"); got.State != tokenadmin.StateActive {
				t.Errorf("access-1 is %s, want active", got.State)
			}
			if tc.golden != "" {
				golden(t, tc.golden, res)
			}
		})
	}
}
