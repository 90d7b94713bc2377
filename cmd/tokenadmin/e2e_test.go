package main

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"tokenadmin"
	"tokenadmin/soap"
	"tokenadmin/store"
	"tokenadmin/wsdl"
)

// The end-to-end tests start the real server (startServer, as serve does)
// on 127.0.0.1:0 with a temporary database, change the database through a
// second store handle or the CLI while it runs, and drive every operation
// over HTTP through the gowsdl-generated client, as a customer's client
// would.

// fixture is a running server with a known population:
//
//	admin  (bootstrapped from $TOKENADMIN_ADMIN_PASSWORD)
//	alice  user: portal access+refresh, mobile access, an expired portal access
//	bob    user: portal access+refresh, mobile access
//
// That is six active tokens, listed in the order they were issued.
type fixture struct {
	*testServer
	db *store.DB // a second handle on the server's database

	alicePortal, aliceMobile, bobPortal, bobMobile *tokenadmin.Issued
	expired                                        *tokenadmin.Issued

	issuedAfter time.Time // no token was issued before this instant
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	t.Setenv("TOKENADMIN_ADMIN_PASSWORD", adminPassword)
	t.Setenv("USER", "tester") // the CLI records revocations as cli:$USER
	ts := startTestServer(t, serveConfig{})
	if !strings.Contains(ts.stdout.String(), "Created user admin with the password from TOKENADMIN_ADMIN_PASSWORD") {
		t.Fatalf("bootstrap message missing from stdout:\n%s", ts.stdout)
	}
	f := &fixture{testServer: ts, issuedAfter: time.Now().Truncate(time.Second)}

	// Seeding through a second handle while the server runs is what
	// admin commands do.
	f.db = openTestStore(t, ts.path, store.Options{})
	createUser(t, f.db, "alice", tokenadmin.RoleUser, aliceHash())
	createUser(t, f.db, "bob", tokenadmin.RoleUser, bobHash())
	createApp(t, f.db, "portal", "Portal")
	createApp(t, f.db, "mobile", "Mobile App")
	f.alicePortal = issue(t, f.db, tokenadmin.IssueRequest{ClientID: "portal", User: "alice", Scopes: []string{"openid", "profile"},
		GrantType: "password", AccessTTL: time.Hour, RefreshTTL: 24 * time.Hour})
	f.aliceMobile = issue(t, f.db, tokenadmin.IssueRequest{ClientID: "mobile", User: "alice", Scopes: []string{"read", "write"},
		GrantType: "authorization_code", AccessTTL: 2 * time.Hour})
	f.bobPortal = issue(t, f.db, tokenadmin.IssueRequest{ClientID: "portal", User: "bob", Scopes: []string{"openid"},
		GrantType: "password", AccessTTL: time.Hour, RefreshTTL: 24 * time.Hour})
	f.bobMobile = issue(t, f.db, tokenadmin.IssueRequest{ClientID: "mobile", User: "bob",
		GrantType: "authorization_code", AccessTTL: time.Hour})

	// A token that expired an hour ago: issued through a handle whose
	// clock is two hours behind.
	past := openTestStore(t, ts.path, store.Options{Now: func() time.Time { return time.Now().Add(-2 * time.Hour) }})
	f.expired = issue(t, past, tokenadmin.IssueRequest{ClientID: "portal", User: "alice", GrantType: "password", AccessTTL: time.Hour})
	return f
}

// active is every active token of the fixture, in listing order.
func (f *fixture) active() []*tokenadmin.Token {
	return []*tokenadmin.Token{
		f.alicePortal.Access, f.alicePortal.Refresh, f.aliceMobile.Access,
		f.bobPortal.Access, f.bobPortal.Refresh, f.bobMobile.Access,
	}
}

func (f *fixture) admin(t *testing.T) (wsdl.TokenAdmin, *recorder) {
	t.Helper()
	return f.client(t, "admin", adminPassword)
}

func ids(tokens ...*tokenadmin.Token) []string {
	out := make([]string, len(tokens))
	for i, tk := range tokens {
		out[i] = tk.ID
	}
	return out
}

func infoIDs(tokens []*wsdl.TokenInfo) []string {
	out := make([]string, len(tokens))
	for i, tk := range tokens {
		out[i] = tk.TokenId
	}
	return out
}

// listAll lists every page of a filter and returns the token ids and the
// number of pages.
func listAll(t *testing.T, c wsdl.TokenAdmin, req wsdl.ListActiveTokens) ([]string, int) {
	t.Helper()
	var (
		got   []string
		pages int
	)
	for {
		resp, err := c.ListActiveTokensContext(t.Context(), &req)
		if err != nil {
			t.Fatalf("listActiveTokens page %d: %v", pages+1, err)
		}
		pages++
		got = append(got, infoIDs(resp.Token)...)
		if resp.NextPageToken == "" {
			return got, pages
		}
		if pages > 100 {
			t.Fatal("listActiveTokens: more than 100 pages; is nextPageToken stuck?")
		}
		req.PageToken = ptr(resp.NextPageToken)
	}
}

func listIDs(t *testing.T, c wsdl.TokenAdmin, req wsdl.ListActiveTokens) []string {
	t.Helper()
	got, _ := listAll(t, c, req)
	return got
}

func getToken(t *testing.T, c wsdl.TokenAdmin, id string) *wsdl.GetTokenResponse {
	t.Helper()
	resp, err := c.GetTokenContext(t.Context(), &wsdl.GetToken{TokenId: id})
	if err != nil {
		t.Fatalf("getToken(%s): %v", id, err)
	}
	if resp.Token == nil || resp.Token.TokenId != id {
		t.Fatalf("getToken(%s) returned token %+v", id, resp.Token)
	}
	return resp
}

func state(r *wsdl.GetTokenResponse) wsdl.TokenState {
	if r.State == nil {
		return ""
	}
	return *r.State
}

func byID(id string) *wsdl.RevokeToken {
	return &wsdl.RevokeToken{TokenSelector: &wsdl.TokenSelector{TokenId: id}}
}

func byValue(value string) *wsdl.RevokeToken {
	return &wsdl.RevokeToken{TokenSelector: &wsdl.TokenSelector{Token: value}}
}

// wireHas checks that the last response on the wire contains every
// fragment, byte for byte.
func wireHas(t *testing.T, rec *recorder, fragments ...string) {
	t.Helper()
	_, _, body := rec.last()
	for _, frag := range fragments {
		if !strings.Contains(body, frag) {
			t.Errorf("response on the wire lacks %s:\n%s", frag, body)
		}
	}
}

func TestE2EListActiveTokens(t *testing.T) {
	f := newFixture(t)
	admin, rec := f.admin(t)

	t.Run("filters", func(t *testing.T) {
		tests := []struct {
			name string
			req  wsdl.ListActiveTokens
			want []*tokenadmin.Token
		}{
			{name: "no filter lists every active token", want: f.active()},
			{name: "user", req: wsdl.ListActiveTokens{User: ptr("alice")},
				want: []*tokenadmin.Token{f.alicePortal.Access, f.alicePortal.Refresh, f.aliceMobile.Access}},
			{name: "clientId", req: wsdl.ListActiveTokens{ClientId: ptr("portal")},
				want: []*tokenadmin.Token{f.alicePortal.Access, f.alicePortal.Refresh, f.bobPortal.Access, f.bobPortal.Refresh}},
			{name: "tokenType refresh", req: wsdl.ListActiveTokens{TokenType: ptr(wsdl.TokenTypeRefresh)},
				want: []*tokenadmin.Token{f.alicePortal.Refresh, f.bobPortal.Refresh}},
			{name: "tokenType access", req: wsdl.ListActiveTokens{TokenType: ptr(wsdl.TokenTypeAccess)},
				want: []*tokenadmin.Token{f.alicePortal.Access, f.aliceMobile.Access, f.bobPortal.Access, f.bobMobile.Access}},
			{name: "user, clientId and tokenType together",
				req:  wsdl.ListActiveTokens{User: ptr("bob"), ClientId: ptr("mobile"), TokenType: ptr(wsdl.TokenTypeAccess)},
				want: []*tokenadmin.Token{f.bobMobile.Access}},
			{name: "unknown user lists nothing", req: wsdl.ListActiveTokens{User: ptr("nobody")}},
			{name: "unknown clientId lists nothing", req: wsdl.ListActiveTokens{ClientId: ptr("nope")}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				resp, err := admin.ListActiveTokensContext(t.Context(), &tt.req)
				if err != nil {
					t.Fatalf("listActiveTokens: %v", err)
				}
				if got, want := infoIDs(resp.Token), ids(tt.want...); !slices.Equal(got, want) {
					t.Errorf("tokens = %q, want %q", got, want)
				}
				if resp.NextPageToken != "" {
					t.Errorf("nextPageToken = %q on a single page", resp.NextPageToken)
				}
			})
		}
	})

	t.Run("pages of 2 return every token exactly once", func(t *testing.T) {
		tests := []struct {
			name      string
			req       wsdl.ListActiveTokens
			want      []*tokenadmin.Token
			wantPages int
		}{
			{name: "all tokens", req: wsdl.ListActiveTokens{PageSize: ptr(wsdl.PageSize(2))}, want: f.active(), wantPages: 3},
			{name: "one user", req: wsdl.ListActiveTokens{User: ptr("bob"), PageSize: ptr(wsdl.PageSize(2))},
				want: []*tokenadmin.Token{f.bobPortal.Access, f.bobPortal.Refresh, f.bobMobile.Access}, wantPages: 2},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, pages := listAll(t, admin, tt.req)
				if want := ids(tt.want...); !slices.Equal(got, want) {
					t.Errorf("tokens over all pages = %q, want %q", got, want)
				}
				if pages != tt.wantPages {
					t.Errorf("%d pages, want %d", pages, tt.wantPages)
				}
			})
		}
	})

	t.Run("page token of another filter is InvalidPageToken", func(t *testing.T) {
		resp, err := admin.ListActiveTokensContext(t.Context(), &wsdl.ListActiveTokens{PageSize: ptr(wsdl.PageSize(2))})
		if err != nil {
			t.Fatal(err)
		}
		_, err = admin.ListActiveTokensContext(t.Context(), &wsdl.ListActiveTokens{User: ptr("alice"), PageSize: ptr(wsdl.PageSize(2)), PageToken: ptr(resp.NextPageToken)})
		wantFault(t, err, tokenadmin.CodeInvalidPageToken)
	})

	t.Run("invalid requests", func(t *testing.T) {
		tests := []struct {
			name string
			req  wsdl.ListActiveTokens
			want tokenadmin.Code
		}{
			{name: "garbage page token", req: wsdl.ListActiveTokens{PageToken: ptr("not-a-page-token")}, want: tokenadmin.CodeInvalidPageToken},
			{name: "pageSize 0", req: wsdl.ListActiveTokens{PageSize: ptr(wsdl.PageSize(0))}, want: tokenadmin.CodeInvalid},
			{name: "pageSize above 1000", req: wsdl.ListActiveTokens{PageSize: ptr(wsdl.PageSize(1001))}, want: tokenadmin.CodeInvalid},
			{name: "unknown tokenType", req: wsdl.ListActiveTokens{TokenType: ptr(wsdl.TokenType("id"))}, want: tokenadmin.CodeInvalid},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := admin.ListActiveTokensContext(t.Context(), &tt.req)
				wantFault(t, err, tt.want)
			})
		}
	})

	t.Run("fields match what was issued", func(t *testing.T) {
		resp, err := admin.ListActiveTokensContext(t.Context(), &wsdl.ListActiveTokens{User: ptr("alice")})
		if err != nil {
			t.Fatal(err)
		}
		want := []*tokenadmin.Token{f.alicePortal.Access, f.alicePortal.Refresh, f.aliceMobile.Access}
		if len(resp.Token) != len(want) {
			t.Fatalf("%d tokens, want %d", len(resp.Token), len(want))
		}
		for i, w := range want {
			checkTokenInfo(t, resp.Token[i], w, map[string]string{"portal": "Portal", "mobile": "Mobile App"}[w.ClientID])
		}
		// dateTimes on the wire: UTC, whole seconds, Z (the generated
		// client would silently decode an unparsable one as zero).
		_, _, body := rec.last()
		stamps := regexp.MustCompile(`<tns:(issuedAt|expiresAt)>([^<]*)</tns:`).FindAllStringSubmatch(body, -1)
		if len(stamps) != 2*len(want) {
			t.Fatalf("%d issuedAt/expiresAt elements on the wire, want %d:\n%s", len(stamps), 2*len(want), body)
		}
		for _, m := range stamps {
			if _, err := time.Parse("2006-01-02T15:04:05Z", m[2]); err != nil {
				t.Errorf("%s %q is not an xs:dateTime in UTC with whole seconds: %v", m[1], m[2], err)
			}
		}
	})
}

// checkTokenInfo compares a token on the wire with the issued one. Times
// go on the wire in whole seconds.
func checkTokenInfo(t *testing.T, got *wsdl.TokenInfo, want *tokenadmin.Token, appName string) {
	t.Helper()
	if got.TokenId != want.ID {
		t.Errorf("tokenId = %q, want %q", got.TokenId, want.ID)
	}
	if got.TokenType == nil || string(*got.TokenType) != string(want.Type) {
		t.Errorf("%s: tokenType = %v, want %s", want.ID, got.TokenType, want.Type)
	}
	if got.ClientId != want.ClientID || got.AppName != appName || got.User != want.User {
		t.Errorf("%s: clientId, appName, user = %q, %q, %q, want %q, %q, %q",
			want.ID, got.ClientId, got.AppName, got.User, want.ClientID, appName, want.User)
	}
	if !slices.Equal(got.Scope, want.Scopes) {
		t.Errorf("%s: scope = %q, want %q", want.ID, got.Scope, want.Scopes)
	}
	if got.GrantType != want.GrantType {
		t.Errorf("%s: grantType = %q, want %q", want.ID, got.GrantType, want.GrantType)
	}
	if g, w := got.IssuedAt.ToGoTime(), want.IssuedAt.Truncate(time.Second); !g.Equal(w) {
		t.Errorf("%s: issuedAt = %v, want %v", want.ID, g, w)
	}
	if g, w := got.ExpiresAt.ToGoTime(), want.ExpiresAt.Truncate(time.Second); !g.Equal(w) {
		t.Errorf("%s: expiresAt = %v, want %v", want.ID, g, w)
	}
}

func TestE2ERevokeToken(t *testing.T) {
	f := newFixture(t)
	admin, rec := f.admin(t)

	t.Run("refresh token by id revokes its family", func(t *testing.T) {
		req := byID(f.alicePortal.Refresh.ID)
		req.Reason = ptr(wsdl.Reason("device lost"))
		resp, err := admin.RevokeTokenContext(t.Context(), req)
		if err != nil {
			t.Fatal(err)
		}
		if !resp.Revoked || resp.RevokedCount != 2 || resp.TokenId != f.alicePortal.Refresh.ID {
			t.Errorf("revokeToken = %+v, want revoked, 2 tokens, tokenId %s", resp, f.alicePortal.Refresh.ID)
		}
		wireHas(t, rec, "<tns:revoked>true</tns:revoked>", "<tns:revokedCount>2</tns:revokedCount>")
		if got := listIDs(t, admin, wsdl.ListActiveTokens{User: ptr("alice")}); !slices.Equal(got, ids(f.aliceMobile.Access)) {
			t.Errorf("alice's active tokens after the cascade = %q, want only %s", got, f.aliceMobile.Access.ID)
		}
	})

	t.Run("again is revoked false and revokedCount 0 on the wire", func(t *testing.T) {
		resp, err := admin.RevokeTokenContext(t.Context(), byID(f.alicePortal.Refresh.ID))
		if err != nil {
			t.Fatal(err)
		}
		if resp.Revoked || resp.RevokedCount != 0 || resp.TokenId != f.alicePortal.Refresh.ID {
			t.Errorf("revokeToken = %+v, want not revoked, 0, tokenId %s", resp, f.alicePortal.Refresh.ID)
		}
		// The generated types are omitempty, so false and 0 decode the
		// same whether sent or not: the required elements must be on
		// the wire.
		wireHas(t, rec, "<tns:revoked>false</tns:revoked>", "<tns:revokedCount>0</tns:revokedCount>",
			"<tns:tokenId>"+f.alicePortal.Refresh.ID+"</tns:tokenId>")
	})

	t.Run("getToken shows who revoked it, when and why", func(t *testing.T) {
		after := time.Now()
		for _, tk := range []*tokenadmin.Token{f.alicePortal.Refresh, f.alicePortal.Access} {
			resp := getToken(t, admin, tk.ID)
			if state(resp) != wsdl.TokenStateRevoked {
				t.Errorf("%s: state %q, want revoked", tk.ID, state(resp))
			}
			if at := resp.RevokedAt.ToGoTime(); at.Before(f.issuedAfter) || at.After(after) {
				t.Errorf("%s: revokedAt %v, want between %v and %v", tk.ID, at, f.issuedAfter, after)
			}
			if resp.RevokedBy != "admin" || resp.RevokeReason != "device lost" {
				t.Errorf("%s: revokedBy %q, revokeReason %q, want admin, device lost", tk.ID, resp.RevokedBy, resp.RevokeReason)
			}
			checkTokenInfo(t, resp.Token, tk, "Portal")
		}
	})

	t.Run("access token by value", func(t *testing.T) {
		req := byValue(f.aliceMobile.AccessValue)
		req.TokenTypeHint = ptr(wsdl.TokenTypeHintAccess_token)
		resp, err := admin.RevokeTokenContext(t.Context(), req)
		if err != nil {
			t.Fatal(err)
		}
		if !resp.Revoked || resp.RevokedCount != 1 || resp.TokenId != f.aliceMobile.Access.ID {
			t.Errorf("revokeToken = %+v, want revoked, 1, tokenId %s", resp, f.aliceMobile.Access.ID)
		}
		wireHas(t, rec, "<tns:revokedCount>1</tns:revokedCount>")
	})

	t.Run("refresh token by value with the wrong hint", func(t *testing.T) {
		// RFC 7009 §2.1: the hint only speeds up the lookup.
		req := byValue(f.bobPortal.RefreshValue)
		req.TokenTypeHint = ptr(wsdl.TokenTypeHintAccess_token)
		resp, err := admin.RevokeTokenContext(t.Context(), req)
		if err != nil {
			t.Fatal(err)
		}
		if !resp.Revoked || resp.RevokedCount != 2 || resp.TokenId != f.bobPortal.Refresh.ID {
			t.Errorf("revokeToken = %+v, want revoked, 2, tokenId %s", resp, f.bobPortal.Refresh.ID)
		}
	})

	t.Run("expired token is revoked false", func(t *testing.T) {
		resp, err := admin.RevokeTokenContext(t.Context(), byID(f.expired.Access.ID))
		if err != nil {
			t.Fatal(err)
		}
		if resp.Revoked || resp.RevokedCount != 0 {
			t.Errorf("revokeToken = %+v, want not revoked, 0", resp)
		}
		wireHas(t, rec, "<tns:revoked>false</tns:revoked>", "<tns:revokedCount>0</tns:revokedCount>")
		if resp := getToken(t, admin, f.expired.Access.ID); state(resp) != wsdl.TokenStateExpired || !resp.RevokedAt.ToGoTime().IsZero() {
			t.Errorf("expired token: state %q, revokedAt %v; want expired and no revokedAt", state(resp), resp.RevokedAt.ToGoTime())
		}
	})

	t.Run("faults", func(t *testing.T) {
		tests := []struct {
			name string
			req  *wsdl.RevokeToken
			want tokenadmin.Code
		}{
			{name: "unknown tokenId", req: byID("no-such-token"), want: tokenadmin.CodeTokenNotFound},
			{name: "unknown value", req: byValue("no-such-value"), want: tokenadmin.CodeTokenNotFound},
			{name: "neither tokenId nor token", req: &wsdl.RevokeToken{}, want: tokenadmin.CodeInvalid},
			{name: "both tokenId and token",
				req:  &wsdl.RevokeToken{TokenSelector: &wsdl.TokenSelector{TokenId: f.bobMobile.Access.ID, Token: f.bobMobile.AccessValue}},
				want: tokenadmin.CodeInvalid},
			{name: "reason too long", req: &wsdl.RevokeToken{TokenSelector: &wsdl.TokenSelector{TokenId: f.bobMobile.Access.ID},
				Reason: ptr(wsdl.Reason(strings.Repeat("x", tokenadmin.MaxReasonLength+1)))}, want: tokenadmin.CodeInvalid},
			{name: "unknown tokenTypeHint", req: &wsdl.RevokeToken{TokenSelector: &wsdl.TokenSelector{TokenId: f.bobMobile.Access.ID},
				TokenTypeHint: ptr(wsdl.TokenTypeHint("id_token"))}, want: tokenadmin.CodeInvalid},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := admin.RevokeTokenContext(t.Context(), tt.req)
				wantFault(t, err, tt.want)
			})
		}
		// None of the refused requests revoked bob's mobile token.
		if resp := getToken(t, admin, f.bobMobile.Access.ID); state(resp) != wsdl.TokenStateActive {
			t.Errorf("bob's mobile token is %q after refused revocations, want active", state(resp))
		}
	})

	t.Run("getToken faults", func(t *testing.T) {
		_, err := admin.GetTokenContext(t.Context(), &wsdl.GetToken{TokenId: "no-such-token"})
		wantFault(t, err, tokenadmin.CodeTokenNotFound)
		_, err = admin.GetTokenContext(t.Context(), &wsdl.GetToken{})
		wantFault(t, err, tokenadmin.CodeInvalid)
	})

	t.Run("active token has no revocation record", func(t *testing.T) {
		resp := getToken(t, admin, f.bobMobile.Access.ID)
		if state(resp) != wsdl.TokenStateActive || !resp.RevokedAt.ToGoTime().IsZero() || resp.RevokedBy != "" || resp.RevokeReason != "" {
			t.Errorf("getToken = state %q, revokedAt %v, revokedBy %q, reason %q; want active and no revocation",
				state(resp), resp.RevokedAt.ToGoTime(), resp.RevokedBy, resp.RevokeReason)
		}
		checkTokenInfo(t, resp.Token, f.bobMobile.Access, "Mobile App")
	})
}

func TestE2ERevokeTokens(t *testing.T) {
	tests := []struct {
		name      string
		req       wsdl.RevokeTokens
		wantCount int32
		// stillActive lists the tokens the call must leave alone.
		stillActive func(f *fixture) []*tokenadmin.Token
	}{
		{
			name: "user and client", req: wsdl.RevokeTokens{User: ptr("alice"), ClientId: ptr("portal"), Reason: ptr(wsdl.Reason("offboarding"))},
			wantCount: 2,
			stillActive: func(f *fixture) []*tokenadmin.Token {
				return []*tokenadmin.Token{f.aliceMobile.Access, f.bobPortal.Access, f.bobPortal.Refresh, f.bobMobile.Access}
			},
		},
		{
			name: "user", req: wsdl.RevokeTokens{User: ptr("alice"), Reason: ptr(wsdl.Reason("offboarding"))},
			wantCount: 3,
			stillActive: func(f *fixture) []*tokenadmin.Token {
				return []*tokenadmin.Token{f.bobPortal.Access, f.bobPortal.Refresh, f.bobMobile.Access}
			},
		},
		{
			name: "client", req: wsdl.RevokeTokens{ClientId: ptr("portal"), Reason: ptr(wsdl.Reason("offboarding"))},
			wantCount: 4,
			stillActive: func(f *fixture) []*tokenadmin.Token {
				return []*tokenadmin.Token{f.aliceMobile.Access, f.bobMobile.Access}
			},
		},
		{
			name: "unknown client revokes nothing", req: wsdl.RevokeTokens{ClientId: ptr("nope")},
			wantCount:   0,
			stillActive: func(f *fixture) []*tokenadmin.Token { return f.active() },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			admin, rec := f.admin(t)
			resp, err := admin.RevokeTokensContext(t.Context(), &tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.RevokedCount != tt.wantCount {
				t.Errorf("revokedCount = %d, want %d", resp.RevokedCount, tt.wantCount)
			}
			wireHas(t, rec, "<tns:revokedCount>"+strconv.Itoa(int(tt.wantCount))+"</tns:revokedCount>")
			want := tt.stillActive(f)
			if got := listIDs(t, admin, wsdl.ListActiveTokens{}); !slices.Equal(got, ids(want...)) {
				t.Errorf("active after revokeTokens = %q, want %q", got, ids(want...))
			}
			// Every token that left the listing was revoked by admin, for
			// the reason given.
			for _, tk := range f.active() {
				if slices.Contains(want, tk) {
					continue
				}
				resp := getToken(t, admin, tk.ID)
				if state(resp) != wsdl.TokenStateRevoked || resp.RevokedBy != "admin" || resp.RevokeReason != "offboarding" {
					t.Errorf("%s: state %q, revokedBy %q, reason %q; want revoked by admin for offboarding",
						tk.ID, state(resp), resp.RevokedBy, resp.RevokeReason)
				}
			}
		})
	}

	t.Run("no user and no client is InvalidRequest", func(t *testing.T) {
		f := newFixture(t)
		admin, _ := f.admin(t)
		_, err := admin.RevokeTokensContext(t.Context(), &wsdl.RevokeTokens{Reason: ptr(wsdl.Reason("everything"))})
		wantFault(t, err, tokenadmin.CodeInvalid)
		if got := listIDs(t, admin, wsdl.ListActiveTokens{}); len(got) != len(f.active()) {
			t.Errorf("%d active tokens after a refused revokeTokens, want %d", len(got), len(f.active()))
		}
	})
}

func TestE2EListAuthorizedApps(t *testing.T) {
	f := newFixture(t)
	admin, _ := f.admin(t)
	alice, _ := f.client(t, "alice", alicePassword)

	aliceApps := []wsdl.AuthorizedApp{
		// Sorted by name; the expired portal token does not count.
		{ClientId: "mobile", AppName: "Mobile App", ActiveTokens: 1},
		{ClientId: "portal", AppName: "Portal", ActiveTokens: 2},
	}
	lastIssued := map[string]time.Time{
		"mobile": f.aliceMobile.Access.IssuedAt.Truncate(time.Second),
		"portal": f.alicePortal.Access.IssuedAt.Truncate(time.Second),
	}
	tests := []struct {
		name   string
		client wsdl.TokenAdmin
		user   *string
		want   []wsdl.AuthorizedApp
	}{
		{name: "admin names a user", client: admin, user: ptr("alice"), want: aliceApps},
		{name: "admin without user gets their own, none", client: admin},
		{name: "user without user gets their own", client: alice, want: aliceApps},
		{name: "user names themselves", client: alice, user: ptr("alice"), want: aliceApps},
		{name: "unknown user has none", client: admin, user: ptr("nobody")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := tt.client.ListAuthorizedAppsContext(t.Context(), &wsdl.ListAuthorizedApps{User: tt.user})
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.App) != len(tt.want) {
				t.Fatalf("%d apps, want %d: %+v", len(resp.App), len(tt.want), resp.App)
			}
			for i, w := range tt.want {
				g := resp.App[i]
				if g.ClientId != w.ClientId || g.AppName != w.AppName || g.ActiveTokens != w.ActiveTokens {
					t.Errorf("app %d = %s %q %d, want %s %q %d", i, g.ClientId, g.AppName, g.ActiveTokens, w.ClientId, w.AppName, w.ActiveTokens)
				}
				if at := g.LastIssuedAt.ToGoTime(); !at.Equal(lastIssued[w.ClientId]) {
					t.Errorf("%s: lastIssuedAt %v, want %v", w.ClientId, at, lastIssued[w.ClientId])
				}
			}
		})
	}
}

func TestE2ERoleRules(t *testing.T) {
	f := newFixture(t)
	alice, _ := f.client(t, "alice", alicePassword)
	admin, _ := f.admin(t)
	aliceActive := ids(f.alicePortal.Access, f.alicePortal.Refresh, f.aliceMobile.Access)

	t.Run("listActiveTokens shows only own tokens", func(t *testing.T) {
		for _, req := range []wsdl.ListActiveTokens{{}, {User: ptr("alice")}, {PageSize: ptr(wsdl.PageSize(2))}} {
			if got := listIDs(t, alice, req); !slices.Equal(got, aliceActive) {
				t.Errorf("listActiveTokens(user %v) as alice = %q, want %q", req.User, got, aliceActive)
			}
		}
		got := listIDs(t, alice, wsdl.ListActiveTokens{ClientId: ptr("portal")})
		if want := ids(f.alicePortal.Access, f.alicePortal.Refresh); !slices.Equal(got, want) {
			t.Errorf("listActiveTokens(clientId portal) as alice = %q, want %q", got, want)
		}
	})

	t.Run("getToken of own token", func(t *testing.T) {
		checkTokenInfo(t, getToken(t, alice, f.aliceMobile.Access.ID).Token, f.aliceMobile.Access, "Mobile App")
	})

	t.Run("faults", func(t *testing.T) {
		tests := []struct {
			name string
			call func(ctx context.Context) error
			want tokenadmin.Code
		}{
			{name: "listActiveTokens naming another user", want: tokenadmin.CodeForbidden, call: func(ctx context.Context) error {
				_, err := alice.ListActiveTokensContext(ctx, &wsdl.ListActiveTokens{User: ptr("bob")})
				return err
			}},
			{name: "revokeTokens naming another user", want: tokenadmin.CodeForbidden, call: func(ctx context.Context) error {
				_, err := alice.RevokeTokensContext(ctx, &wsdl.RevokeTokens{User: ptr("bob")})
				return err
			}},
			{name: "listAuthorizedApps naming another user", want: tokenadmin.CodeForbidden, call: func(ctx context.Context) error {
				_, err := alice.ListAuthorizedAppsContext(ctx, &wsdl.ListAuthorizedApps{User: ptr("bob")})
				return err
			}},
			{name: "getToken of another user's token", want: tokenadmin.CodeTokenNotFound, call: func(ctx context.Context) error {
				_, err := alice.GetTokenContext(ctx, &wsdl.GetToken{TokenId: f.bobMobile.Access.ID})
				return err
			}},
			{name: "revokeToken of another user's token by id", want: tokenadmin.CodeTokenNotFound, call: func(ctx context.Context) error {
				_, err := alice.RevokeTokenContext(ctx, byID(f.bobPortal.Refresh.ID))
				return err
			}},
			{name: "revokeToken of another user's token by value", want: tokenadmin.CodeTokenNotFound, call: func(ctx context.Context) error {
				_, err := alice.RevokeTokenContext(ctx, byValue(f.bobPortal.AccessValue))
				return err
			}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				flt := wantFault(t, tt.call(t.Context()), tt.want)
				if strings.Contains(flt.detail.Message, "bob") {
					t.Errorf("fault message %q names the other user", flt.detail.Message)
				}
			})
		}
		// Not found is the same answer as for a token that does not
		// exist, so token ids cannot be probed.
		_, err := alice.GetTokenContext(t.Context(), &wsdl.GetToken{TokenId: "no-such-token"})
		missing := wantFault(t, err, tokenadmin.CodeTokenNotFound)
		_, err = alice.GetTokenContext(t.Context(), &wsdl.GetToken{TokenId: f.bobMobile.Access.ID})
		if others := wantFault(t, err, tokenadmin.CodeTokenNotFound); others.detail != missing.detail {
			t.Errorf("another user's token gives %+v, a missing one %+v: want the same", others.detail, missing.detail)
		}
		if got := listIDs(t, admin, wsdl.ListActiveTokens{User: ptr("bob")}); !slices.Equal(got, ids(f.bobPortal.Access, f.bobPortal.Refresh, f.bobMobile.Access)) {
			t.Errorf("bob's tokens after alice's refused calls = %q, want all three", got)
		}
	})

	t.Run("revokeTokens naming only a client removes the app for oneself", func(t *testing.T) {
		resp, err := alice.RevokeTokensContext(t.Context(), &wsdl.RevokeTokens{ClientId: ptr("portal"), Reason: ptr(wsdl.Reason("remove app"))})
		if err != nil {
			t.Fatal(err)
		}
		if resp.RevokedCount != 2 {
			t.Errorf("revokedCount = %d, want 2 (alice's portal tokens only)", resp.RevokedCount)
		}
		if got, want := listIDs(t, admin, wsdl.ListActiveTokens{ClientId: ptr("portal")}), ids(f.bobPortal.Access, f.bobPortal.Refresh); !slices.Equal(got, want) {
			t.Errorf("portal tokens after alice removed the app = %q, want bob's %q", got, want)
		}
		if r := getToken(t, admin, f.alicePortal.Access.ID); r.RevokedBy != "alice" || r.RevokeReason != "remove app" {
			t.Errorf("revokedBy %q, reason %q; want alice, remove app", r.RevokedBy, r.RevokeReason)
		}
	})

	t.Run("revokeToken of own token", func(t *testing.T) {
		resp, err := alice.RevokeTokenContext(t.Context(), byValue(f.aliceMobile.AccessValue))
		if err != nil {
			t.Fatal(err)
		}
		if !resp.Revoked || resp.RevokedCount != 1 || resp.TokenId != f.aliceMobile.Access.ID {
			t.Errorf("revokeToken = %+v, want revoked, 1, %s", resp, f.aliceMobile.Access.ID)
		}
	})
}

func TestE2EHTTPAuthentication(t *testing.T) {
	f := newFixture(t)

	t.Run("wrong credentials", func(t *testing.T) {
		tests := []struct {
			name, user, password string
		}{
			{name: "wrong password", user: "admin", password: "not-the-password"},
			{name: "unknown user", user: "mallory", password: adminPassword},
			{name: "another user's password", user: "alice", password: bobPassword},
			{name: "empty password", user: "admin", password: ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				c, rec := f.client(t, tt.user, tt.password)
				_, err := c.ListActiveTokensContext(t.Context(), &wsdl.ListActiveTokens{})
				flt := faultOf(t, err)
				if flt.status != http.StatusUnauthorized || flt.detail.Code != string(tokenadmin.CodeUnauthenticated) {
					t.Errorf("HTTP %d, detail %+v; want 401 Unauthenticated", flt.status, flt.detail)
				}
				_, h, _ := rec.last()
				if got := h.Get("WWW-Authenticate"); !strings.HasPrefix(got, `Basic realm="tokenadmin"`) {
					t.Errorf("WWW-Authenticate = %q, want Basic realm=\"tokenadmin\"…", got)
				}
			})
		}
	})

	t.Run("missing credentials", func(t *testing.T) {
		body := `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:t="urn:tokenadmin:v1">` +
			`<soap:Body><t:listActiveTokens/></soap:Body></soap:Envelope>`
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, f.endpoint(), strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "text/xml; charset=utf-8")
		req.Header.Set("SOAPAction", `"urn:tokenadmin:v1:listActiveTokens"`)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("HTTP %d, want 401:\n%s", resp.StatusCode, out)
		}
		if got := resp.Header.Get("WWW-Authenticate"); !strings.HasPrefix(got, `Basic realm="tokenadmin"`) {
			t.Errorf("WWW-Authenticate = %q, want Basic realm=\"tokenadmin\"…", got)
		}
		if bytes.Contains(out, []byte("<tns:token>")) {
			t.Errorf("a 401 response lists tokens:\n%s", out)
		}
	})

	t.Run("right password after wrong ones", func(t *testing.T) {
		c, _ := f.admin(t)
		if _, err := c.ListActiveTokensContext(t.Context(), &wsdl.ListActiveTokens{}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestE2EWSDL(t *testing.T) {
	f := newFixture(t)
	resp, err := http.Get(f.endpoint() + "?wsdl") // public: no credentials
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/xml") {
		t.Fatalf("GET ?wsdl: HTTP %d, Content-Type %q, want 200 text/xml", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var locations []string
	d := xml.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("the WSDL is not well-formed: %v", err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Local != "address" {
			continue
		}
		if se.Name.Space != "http://schemas.xmlsoap.org/wsdl/soap/" && se.Name.Space != "http://schemas.xmlsoap.org/wsdl/soap12/" {
			continue
		}
		for _, a := range se.Attr {
			if a.Name.Local == "location" {
				locations = append(locations, a.Value)
			}
		}
	}
	want := []string{f.endpoint(), f.endpoint()} // soap:address and soap12:address
	if !slices.Equal(locations, want) {
		t.Errorf("WSDL address locations = %q, want %q", locations, want)
	}
}

func TestE2ECLIWhileServing(t *testing.T) {
	f := newFixture(t)
	admin, _ := f.admin(t)
	id := f.alicePortal.Access.ID

	// Read first, so that anything the server might cache is warm.
	if got := listIDs(t, admin, wsdl.ListActiveTokens{User: ptr("alice")}); !slices.Contains(got, id) {
		t.Fatalf("%s not listed before the revocation: %q", id, got)
	}
	if r := getToken(t, admin, id); state(r) != wsdl.TokenStateActive {
		t.Fatalf("%s is %q before the revocation", id, state(r))
	}

	t.Run("token revoke is visible to the next call", func(t *testing.T) {
		out := mustRun(t, "", "token", "revoke", "--db", f.path, "--id", id, "--reason", "revoked from the CLI")
		if !strings.Contains(out, "revoked "+id) {
			t.Errorf("token revoke printed %q", out)
		}
		if got := listIDs(t, admin, wsdl.ListActiveTokens{User: ptr("alice")}); slices.Contains(got, id) {
			t.Errorf("listActiveTokens still lists %s after the CLI revoked it: %q", id, got)
		}
		r := getToken(t, admin, id)
		if state(r) != wsdl.TokenStateRevoked || r.RevokedBy != "cli:tester" || r.RevokeReason != "revoked from the CLI" {
			t.Errorf("getToken: state %q, revokedBy %q, reason %q; want revoked by cli:tester from the CLI", state(r), r.RevokedBy, r.RevokeReason)
		}
	})

	t.Run("token issue is visible to the next call", func(t *testing.T) {
		out := mustRun(t, "", "token", "issue", "--db", f.path, "--client", "mobile", "--user", "bob", "--json")
		newID := regexp.MustCompile(`"token_id": "([^"]+)"`).FindStringSubmatch(out)
		if newID == nil {
			t.Fatalf("no token_id in %s", out)
		}
		if got := listIDs(t, admin, wsdl.ListActiveTokens{User: ptr("bob")}); !slices.Contains(got, newID[1]) {
			t.Errorf("listActiveTokens does not list %s issued by the CLI: %q", newID[1], got)
		}
	})

	t.Run("bulk token revoke is visible to the next call", func(t *testing.T) {
		out := mustRun(t, "", "token", "revoke", "--db", f.path, "--user", "bob", "--json")
		if !strings.Contains(out, `"revoked_count": 4`) {
			t.Errorf("token revoke --user bob printed %s, want revoked_count 4", out)
		}
		if got := listIDs(t, admin, wsdl.ListActiveTokens{User: ptr("bob")}); len(got) != 0 {
			t.Errorf("bob still has active tokens %q", got)
		}
	})
}

// TestE2EConcurrentWriters writes through the server and through CLI
// processes' handles at once: each has its own writer connection on the
// same file, so they contend for SQLite's write lock, which must wait
// (busy timeout), not fail.
func TestE2EConcurrentWriters(t *testing.T) {
	f := newFixture(t)
	admin, _ := f.admin(t)
	const n = 6
	issued := make([]*tokenadmin.Issued, n)
	for i := range issued {
		issued[i] = issue(t, f.db, tokenadmin.IssueRequest{ClientID: "mobile", User: "carol", AccessTTL: time.Hour, RefreshTTL: time.Hour})
	}

	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for _, iss := range issued {
		wg.Go(func() {
			resp, err := admin.RevokeTokenContext(t.Context(), byID(iss.Refresh.ID))
			if err == nil && (!resp.Revoked || resp.RevokedCount != 2) {
				err = fmt.Errorf("revokeToken(%s) = %+v, want revoked, 2", iss.Refresh.ID, resp)
			}
			if err != nil {
				errs <- err
			}
		})
		wg.Go(func() {
			var stdout, stderr bytes.Buffer
			code := Main(t.Context(), []string{"token", "issue", "--db", f.path, "--client", "portal", "--user", "dave"},
				strings.NewReader(""), &stdout, &stderr)
			if code != 0 {
				errs <- fmt.Errorf("token issue: exit %d: %s", code, stderr.String())
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := listIDs(t, admin, wsdl.ListActiveTokens{User: ptr("carol")}); len(got) != 0 {
		t.Errorf("carol still has %d active tokens", len(got))
	}
	if got := listIDs(t, admin, wsdl.ListActiveTokens{User: ptr("dave")}); len(got) != n {
		t.Errorf("dave has %d active tokens, want %d issued by the CLI", len(got), n)
	}
}

func TestE2EPasswordChangedByCLI(t *testing.T) {
	f := newFixture(t)
	old, _ := f.client(t, "alice", alicePassword)
	call := func(c wsdl.TokenAdmin) error {
		_, err := c.ListAuthorizedAppsContext(t.Context(), &wsdl.ListAuthorizedApps{})
		return err
	}
	if err := call(old); err != nil { // now remembered by the auth cache
		t.Fatal(err)
	}

	mustRun(t, "alice-new-password\n", "user", "passwd", "alice", "--db", f.path)
	changed := time.Now()

	// The cache re-reads the users epoch at most once per second.
	for {
		err := call(old)
		if err != nil {
			if flt := faultOf(t, err); flt.status != http.StatusUnauthorized {
				t.Fatalf("old password: HTTP %d %+v, want 401", flt.status, flt.detail)
			}
			t.Logf("old password refused %v after the change", time.Since(changed).Round(time.Millisecond))
			break
		}
		if time.Since(changed) > 3*time.Second {
			t.Fatal("the old password still works 3 s after user passwd")
		}
		time.Sleep(50 * time.Millisecond)
	}
	updated, _ := f.client(t, "alice", "alice-new-password")
	if err := call(updated); err != nil {
		t.Errorf("new password: %v", err)
	}
}

func TestE2EGracefulClose(t *testing.T) {
	f := newFixture(t)
	admin, _ := f.admin(t)
	req := byID(f.alicePortal.Refresh.ID)
	req.Reason = ptr(wsdl.Reason("before shutdown"))
	if _, err := admin.RevokeTokenContext(t.Context(), req); err != nil {
		t.Fatal(err)
	}
	url := f.endpoint()

	f.close(t)
	if resp, err := http.Get(url + "?wsdl"); err == nil {
		resp.Body.Close()
		t.Fatalf("GET after Close: HTTP %d, want a connection error", resp.StatusCode)
	}

	t.Run("the database reopens with the revocations", func(t *testing.T) {
		db := openTestStore(t, f.path, store.Options{})
		for _, id := range ids(f.alicePortal.Access, f.alicePortal.Refresh) {
			tk, err := db.GetToken(t.Context(), id)
			if err != nil {
				t.Fatal(err)
			}
			if tk.RevokedAt.IsZero() || tk.RevokedBy != "admin" || tk.RevokeReason != "before shutdown" {
				t.Errorf("%s after reopening: revokedAt %v, by %q, reason %q", id, tk.RevokedAt, tk.RevokedBy, tk.RevokeReason)
			}
		}
	})

	t.Run("a restarted server serves them", func(t *testing.T) {
		ts := startTestServer(t, serveConfig{DB: f.path})
		if out := ts.stdout.String(); out != "" {
			t.Errorf("a restart printed %q; the admin exists already", out)
		}
		c, _ := ts.client(t, "admin", adminPassword)
		if r := getToken(t, c, f.alicePortal.Access.ID); state(r) != wsdl.TokenStateRevoked {
			t.Errorf("state after restart %q, want revoked", state(r))
		}
		got := listIDs(t, c, wsdl.ListActiveTokens{})
		if want := ids(f.aliceMobile.Access, f.bobPortal.Access, f.bobPortal.Refresh, f.bobMobile.Access); !slices.Equal(got, want) {
			t.Errorf("active after restart = %q, want %q", got, want)
		}
	})
}

// soap12Envelope is a SOAP 1.2 response: the generated client speaks only
// SOAP 1.1, so these exchanges are done by hand.
type soap12Envelope struct {
	XMLName xml.Name `xml:"http://www.w3.org/2003/05/soap-envelope Envelope"`
	Body    struct {
		GetTokenResponse *wsdl.GetTokenResponse `xml:"urn:tokenadmin:v1 getTokenResponse"`
		Fault            *struct {
			Code   string `xml:"http://www.w3.org/2003/05/soap-envelope Code>Value"`
			Reason string `xml:"http://www.w3.org/2003/05/soap-envelope Reason>Text"`
			Detail struct {
				Fault wsdl.TokenAdminFault // {urn:tokenadmin:v1}tokenAdminFault
			} `xml:"http://www.w3.org/2003/05/soap-envelope Detail"`
		} `xml:"http://www.w3.org/2003/05/soap-envelope Fault"`
	} `xml:"http://www.w3.org/2003/05/soap-envelope Body"`
}

func TestE2ESOAP12(t *testing.T) {
	f := newFixture(t)
	admin, _ := f.admin(t)
	post := func(t *testing.T, action, tokenID string) (int, http.Header, *soap12Envelope) {
		t.Helper()
		body := `<?xml version="1.0" encoding="UTF-8"?>` +
			`<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" xmlns:t="urn:tokenadmin:v1">` +
			`<env:Body><t:getToken><t:tokenId>` + tokenID + `</t:tokenId></t:getToken></env:Body></env:Envelope>`
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, f.endpoint(), strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.SetBasicAuth("admin", adminPassword)
		req.Header.Set("Content-Type", `application/soap+xml; charset=utf-8; action="`+action+`"`)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		var env soap12Envelope
		if err := xml.Unmarshal(raw, &env); err != nil {
			t.Fatalf("HTTP %d: response is not a SOAP 1.2 envelope: %v\n%s", resp.StatusCode, err, raw)
		}
		return resp.StatusCode, resp.Header, &env
	}

	t.Run("getToken", func(t *testing.T) {
		status, h, env := post(t, "urn:tokenadmin:v1:getToken", f.aliceMobile.Access.ID)
		if status != http.StatusOK || h.Get("Content-Type") != "application/soap+xml; charset=utf-8" {
			t.Errorf("HTTP %d, Content-Type %q; want 200 application/soap+xml; charset=utf-8", status, h.Get("Content-Type"))
		}
		r := env.Body.GetTokenResponse
		if r == nil || r.Token == nil {
			t.Fatalf("no getTokenResponse in the body: %+v", env.Body)
		}
		checkTokenInfo(t, r.Token, f.aliceMobile.Access, "Mobile App")
		if state(r) != wsdl.TokenStateActive {
			t.Errorf("state %q, want active", state(r))
		}
	})

	t.Run("unknown token is a Sender fault with HTTP 400", func(t *testing.T) {
		status, _, env := post(t, "urn:tokenadmin:v1:getToken", "no-such-token")
		flt := env.Body.Fault
		if status != http.StatusBadRequest || flt == nil || flt.Code != "env:Sender" || flt.Detail.Fault.Code != string(tokenadmin.CodeTokenNotFound) {
			t.Errorf("HTTP %d, fault %+v; want 400 env:Sender TokenNotFound", status, flt)
		}
	})

	t.Run("action of another operation is ActionMismatch", func(t *testing.T) {
		status, _, env := post(t, "urn:tokenadmin:v1:revokeToken", f.aliceMobile.Access.ID)
		if flt := env.Body.Fault; status != http.StatusBadRequest || flt == nil || flt.Detail.Fault.Code != string(soap.CodeActionMismatch) {
			t.Errorf("HTTP %d, fault %+v; want 400 ActionMismatch", status, flt)
		}
		if r := getToken(t, admin, f.aliceMobile.Access.ID); state(r) != wsdl.TokenStateActive {
			t.Errorf("state %q after a mismatched action, want active", state(r))
		}
	})
}
