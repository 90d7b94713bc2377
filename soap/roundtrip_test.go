package soap

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	gowsdlsoap "github.com/hooklift/gowsdl/soap"

	"tokenadmin"
	"tokenadmin/wsdl"
)

// TestGeneratedClient talks to the endpoint with the client gowsdl
// generates from the WSDL: a different SOAP stack's idea of the contract
// (default-namespace requests, unquoted SOAPAction, charset in quotes).
func TestGeneratedClient(t *testing.T) {
	svc := &fakeService{
		page:   &tokenadmin.TokenPage{Tokens: []*tokenadmin.Token{sampleToken(), revokedToken()}, NextPageToken: "p2"},
		result: &tokenadmin.RevokeResult{Revoked: true, TokenID: "tok-1", Count: 2},
		token:  revokedToken(),
	}
	srv := httptest.NewServer(newHandler(svc, nil))
	defer srv.Close()
	client := wsdl.NewTokenAdmin(gowsdlsoap.NewClient(srv.URL+TokenAdminPath,
		gowsdlsoap.WithBasicAuth(adminUser, adminPassword),
		gowsdlsoap.WithHTTPClient(srv.Client())))

	t.Run("listActiveTokens", func(t *testing.T) {
		user, typ, size := "alice", wsdl.TokenTypeRefresh, wsdl.PageSize(20)
		res, err := client.ListActiveTokens(&wsdl.ListActiveTokens{User: &user, TokenType: &typ, PageSize: &size})
		if err != nil {
			t.Fatal(err)
		}
		want := tokenadmin.TokenFilter{User: "alice", Type: tokenadmin.RefreshToken, PageSize: 20}
		if svc.filter != want {
			t.Errorf("filter = %+v, want %+v", svc.filter, want)
		}
		if len(res.Token) != 2 || res.NextPageToken != "p2" {
			t.Fatalf("response = %+v", res)
		}
		tok := res.Token[0]
		if tok.TokenId != "tok-1" || *tok.TokenType != wsdl.TokenTypeAccess || tok.AppName != "App <A> & Co" ||
			strings.Join(tok.Scope, " ") != "openid profile" {
			t.Errorf("token = %+v", tok)
		}
		if got := tok.IssuedAt.ToGoTime(); !got.Equal(sampleToken().IssuedAt.Truncate(1e9)) {
			t.Errorf("issuedAt = %v", got)
		}
	})
	t.Run("revokeToken", func(t *testing.T) {
		hint := wsdl.TokenTypeHintAccess_token
		res, err := client.RevokeToken(&wsdl.RevokeToken{TokenSelector: &wsdl.TokenSelector{TokenId: "tok-1"}, TokenTypeHint: &hint})
		if err != nil {
			t.Fatal(err)
		}
		if !res.Revoked || res.TokenId != "tok-1" || res.RevokedCount != 2 {
			t.Errorf("response = %+v", res)
		}
		if want := (tokenadmin.RevokeRequest{TokenID: "tok-1", TypeHint: tokenadmin.AccessToken}); svc.revoke != want {
			t.Errorf("request = %+v, want %+v", svc.revoke, want)
		}
	})
	t.Run("getToken", func(t *testing.T) {
		res, err := client.GetToken(&wsdl.GetToken{TokenId: "tok-2"})
		if err != nil {
			t.Fatal(err)
		}
		if res.Token.TokenId != "tok-2" || *res.State != wsdl.TokenStateRevoked || res.RevokedBy != "admin" {
			t.Errorf("response = %+v", res)
		}
	})
	t.Run("fault", func(t *testing.T) {
		_, err := client.GetToken(&wsdl.GetToken{})
		// gowsdl v0.5.0 reports any status >= 400 as an HTTPError, fault
		// or not; the body is still ours.
		var he *gowsdlsoap.HTTPError
		if !errors.As(err, &he) || he.StatusCode != http.StatusInternalServerError ||
			!strings.Contains(string(he.ResponseBody), "<tns:code>InvalidRequest</tns:code>") {
			t.Errorf("err = %v", err)
		}
	})
}
