package oauth

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"tokenadmin"
)

// TestErrorFor pins the one mapping from the error vocabulary to the
// wire; the package documentation has the same table.
func TestErrorFor(t *testing.T) {
	for _, tc := range []struct {
		name   string
		err    error
		status int
		code   string
		desc   string
	}{
		{name: "invalid", err: tokenadmin.Errorf(tokenadmin.CodeInvalid, "bad"), status: 400, code: "invalid_request", desc: "bad"},
		{name: "method", err: tokenadmin.Errorf(codeMethodNotAllowed, "post"), status: 405, code: "invalid_request", desc: "post"},
		{name: "no such endpoint", err: tokenadmin.Errorf(codeNoSuchEndpoint, "none"), status: 404, code: "invalid_request", desc: "none"},
		{name: "unauthenticated", err: tokenadmin.Errorf(tokenadmin.CodeUnauthenticated, "who"), status: 401, code: "invalid_client", desc: "who"},
		{name: "app not found", err: tokenadmin.Errorf(tokenadmin.CodeNotFound, `app "x" not found`), status: 401, code: "invalid_client", desc: "client authentication failed"},
		{name: "invalid grant", err: tokenadmin.Errorf(tokenadmin.CodeInvalidGrant, "g"), status: 400, code: "invalid_grant", desc: "g"},
		{name: "token not found", err: tokenadmin.Errorf(tokenadmin.CodeTokenNotFound, "t"), status: 400, code: "invalid_grant", desc: "t"},
		{name: "invalid scope", err: tokenadmin.Errorf(tokenadmin.CodeInvalidScope, "s"), status: 400, code: "invalid_scope", desc: "s"},
		{name: "unauthorized client", err: tokenadmin.Errorf(tokenadmin.CodeUnauthorizedClient, "u"), status: 400, code: "unauthorized_client", desc: "u"},
		{name: "unsupported grant type", err: tokenadmin.Errorf(codeUnsupportedGrantType, "x"), status: 400, code: "unsupported_grant_type", desc: "x"},
		{name: "forbidden", err: tokenadmin.Errorf(tokenadmin.CodeForbidden, "f"), status: 403, code: "insufficient_scope", desc: "f"},
		{name: "wrapped code", err: fmt.Errorf("ctx: %w", tokenadmin.Errorf(tokenadmin.CodeInvalidGrant, "g")), status: 400, code: "invalid_grant", desc: "g"},
		{name: "internal code", err: tokenadmin.Errorf(tokenadmin.CodeInternal, "secret detail"), status: 500, code: "server_error", desc: "internal server error"},
		{name: "conflict is unexpected", err: tokenadmin.Errorf(tokenadmin.CodeConflict, "c"), status: 500, code: "server_error", desc: "internal server error"},
		{name: "plain error", err: errInternal, status: 500, code: "server_error", desc: "internal server error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := errorFor(tc.err)
			if got.status != tc.status || got.code != tc.code || got.description != tc.desc || got.internal != (tc.status == 500) {
				t.Errorf("errorFor = %+v, want %d %s %q", got, tc.status, tc.code, tc.desc)
			}
		})
	}
}

func TestDescription(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{name: "plain", in: "client authentication failed", want: "client authentication failed"},
		{name: "double quotes", in: `scope "x" is not allowed`, want: "scope 'x' is not allowed"},
		{name: "backslash and controls", in: "a\\b\nc\td\x7f", want: "a?b?c?d?"},
		{name: "non-ASCII", in: "héllo", want: "h?llo"},
		{name: "long", in: strings.Repeat("x", 300), want: strings.Repeat("x", maxDescription)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := description(tc.in); got != tc.want {
				t.Errorf("description(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestParseForm(t *testing.T) {
	for _, tc := range []struct {
		name    string
		body    string
		want    form
		wantErr bool
	}{
		{name: "empty", body: "", want: form{}},
		{name: "pairs", body: "a=1&b=2", want: form{"a": "1", "b": "2"}},
		{name: "plus and percent", body: "a=x+y%2Bz%20%C3%A9", want: form{"a": "x y+z é"}},
		{name: "empty pairs skipped", body: "&a=1&&b=2&", want: form{"a": "1", "b": "2"}},
		{name: "no equals sign", body: "a&b=", want: form{"a": "", "b": ""}},
		{name: "equals sign in value", body: "a=b=c", want: form{"a": "b=c"}},
		{name: "semicolon is no separator", body: "a=1;b=2", want: form{"a": "1;b=2"}},
		{name: "encoded name", body: "client%5Fid=x", want: form{"client_id": "x"}},
		{name: "duplicate", body: "a=1&a=2", wantErr: true},
		{name: "duplicate after decoding", body: "client_id=x&client%5Fid=x", wantErr: true},
		{name: "duplicate empty", body: "a&a", wantErr: true},
		{name: "bad escape", body: "a=%2", wantErr: true},
		{name: "bad escape in name", body: "%zz=1", wantErr: true},
		{name: "invalid UTF-8", body: "a=%C3%28", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseForm(tc.body)
			if tc.wantErr {
				if tokenadmin.ErrorCode(err) != tokenadmin.CodeInvalid {
					t.Errorf("parseForm(%q) = %v, %v; want a CodeInvalid error", tc.body, got, err)
				}
				return
			}
			if err != nil || len(got) != len(tc.want) {
				t.Fatalf("parseForm(%q) = %v, %v; want %v", tc.body, got, err, tc.want)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("parseForm(%q)[%q] = %q, want %q", tc.body, k, got[k], v)
				}
			}
		})
	}
}

// TestInternalErrors: a failing store or user store is a 500
// server_error with a generic description; the cause is logged, the
// secrets are not.
func TestInternalErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		call  call
		setup func(fx *fixture)
	}{
		{name: "client authentication", call: call{auth: basic(webID, webSecret), body: "grant_type=client_credentials"},
			setup: func(fx *fixture) { fx.store.failErr = errInternal }},
		{name: "password check", call: call{auth: basic(webID, webSecret), body: params("grant_type", "password", "username", "alice", "password", alicePassword)},
			setup: func(fx *fixture) { fx.users.failErr = errInternal }},
		{name: "introspection by a user", call: call{path: IntrospectPath, auth: rawBasic("root", rootPassword), body: "token=access-1"},
			setup: func(fx *fixture) { fx.users.failErr = errInternal }},
		{name: "revocation", call: call{path: RevokePath, auth: basic(webID, webSecret), body: "token=access-1"},
			setup: func(fx *fixture) { fx.h.Store = failingAfterAuth{fx.store} }},
		{name: "introspection", call: call{path: IntrospectPath, auth: basic(rsID, rsSecret), body: "token=access-1"},
			setup: func(fx *fixture) { fx.h.Store = failingAfterAuth{fx.store} }},
		{name: "issuance", call: call{auth: basic(webID, webSecret), body: "grant_type=client_credentials"},
			setup: func(fx *fixture) { fx.h.Store = failingAfterAuth{fx.store} }},
		{name: "refresh", call: call{auth: basic(webID, webSecret), body: "grant_type=refresh_token&refresh_token=refresh-2"},
			setup: func(fx *fixture) { fx.h.Store = failingAfterAuth{fx.store} }},
		{name: "panic", call: call{path: IntrospectPath, auth: basic(rsID, rsSecret), body: "token=access-1"},
			setup: func(fx *fixture) { fx.h.Store = panicking{fx.store} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fx := newFixture(t)
			preissue(t, fx)
			tc.setup(fx)
			res := serve(t, fx.h, tc.call)
			checkError(t, res, http.StatusInternalServerError, errServerError)
			if strings.Contains(string(res.body), "disk") || !strings.Contains(string(res.body), `"internal server error"`) {
				t.Errorf("body = %s, want the generic description", res.body)
			}
			log := fx.log.String()
			if !strings.Contains(log, "level=ERROR") || !(strings.Contains(log, "disk I/O error") || strings.Contains(log, "oauth: panic")) {
				t.Errorf("the cause was not logged:\n%s", log)
			}
			fx.checkLogClean(t, "access-1", "refresh-2")
		})
	}
}

// failingAfterAuth authenticates clients, then fails.
type failingAfterAuth struct{ *fakeStore }

func (failingAfterAuth) IssueTokens(context.Context, tokenadmin.IssueRequest) (*tokenadmin.Issued, error) {
	return nil, errInternal
}

func (failingAfterAuth) RefreshTokens(context.Context, tokenadmin.RefreshRequest) (*tokenadmin.Issued, error) {
	return nil, errInternal
}

func (failingAfterAuth) LookupToken(context.Context, string) (*tokenadmin.Token, error) {
	return nil, errInternal
}

func (failingAfterAuth) RevokeToken(context.Context, tokenadmin.RevokeRequest) (*tokenadmin.RevokeResult, error) {
	return nil, errInternal
}

type panicking struct{ *fakeStore }

func (panicking) LookupToken(context.Context, string) (*tokenadmin.Token, error) {
	panic("boom")
}

func TestUnknownPath(t *testing.T) {
	fx := newFixture(t)
	res := serve(t, fx.h, call{method: http.MethodGet, path: "/oauth2/authorize"})
	checkError(t, res, http.StatusNotFound, errInvalidRequest)
}

// TestBodyLimit: MaxBodyBytes is honoured, with or without a
// Content-Length.
func TestBodyLimit(t *testing.T) {
	fx := newFixture(t)
	fx.h.MaxBodyBytes = 64
	body := "grant_type=client_credentials&pad=" + strings.Repeat("x", 64)
	checkError(t, serve(t, fx.h, call{auth: basic(svcID, svcSecret), body: body}), http.StatusBadRequest, errInvalidRequest)

	// Without a Content-Length, as a chunked request arrives.
	req := httptest.NewRequest(http.MethodPost, TokenPath, io.MultiReader(strings.NewReader(body)))
	req.ContentLength = -1
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", basic(svcID, svcSecret))
	rec := httptest.NewRecorder()
	fx.h.ServeHTTP(rec, req)
	checkError(t, response{status: rec.Code, header: rec.Result().Header, body: rec.Body.Bytes()}, http.StatusBadRequest, errInvalidRequest)

	decode(t, serve(t, fx.h, call{auth: basic(svcID, svcSecret), body: "grant_type=client_credentials"}))
}
