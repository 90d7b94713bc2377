package tokenadmin_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"tokenadmin"
	"tokenadmin/legacy"
	"tokenadmin/store"
)

// The production wiring (cmd/tokenadmin) passes NewHandler a
// tokenadmin.Service as Tokens and the store as AppReader: they must also
// revoke one token and look tokens up.
var (
	_ legacy.TokenRevoker = (*tokenadmin.Service)(nil)
	_ legacy.TokenLookup  = (*store.DB)(nil)
)

// legacyCaseSetup prepares the state the recorded cases of
// OAuth2TokenValidationService and APIKeyMgtSubscriberService need, after
// newLegacyStack and before the request. It draws from the store's seeded
// stream only for these cases, so the other cases' values do not move:
//
//   - every case of these services gets two more tokens of alice:
//     "alice-scoped" (Customer Portal "portal", scopes read and write,
//     30 minutes left) and "alice-expired" (Mobile App, expired an hour
//     before the replay clock);
//   - cases named *-revoked* also have alice-portal-access revoked
//     natively, before the request.
func legacyCaseSetup(t testing.TB, st *legacyStack, name string) {
	t.Helper()
	op, _ := strings.CutPrefix(name, "fault-internal-")
	mine := false
	for _, p := range []string{"validate-", "findOAuthConsumerIfTokenIsValid-", "revokeAccessToken-", "revokeTokensOfUserByApp-"} {
		mine = mine || strings.HasPrefix(op, p)
	}
	if !mine {
		return
	}
	ctx := t.Context()
	iss, err := st.db.IssueTokens(ctx, tokenadmin.IssueRequest{ClientID: "portal", User: "alice",
		Scopes: []string{"read", "write"}, GrantType: "password", AccessTTL: 30 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	st.tokens["alice-scoped-access"] = issuedToken{iss.Access.ID, iss.AccessValue}
	now := st.clk.Now()
	st.clk.Set(now.Add(-3 * time.Hour))
	iss, err = st.db.IssueTokens(ctx, tokenadmin.IssueRequest{ClientID: "mobile", User: "alice",
		GrantType: "password", AccessTTL: 2 * time.Hour})
	st.clk.Set(now)
	if err != nil {
		t.Fatal(err)
	}
	st.tokens["alice-expired-access"] = issuedToken{iss.Access.ID, iss.AccessValue}
	if strings.Contains(name, "-revoked") {
		if _, err := st.db.RevokeToken(ctx, tokenadmin.RevokeRequest{TokenID: st.tokens["alice-portal-access"].id, Actor: "admin"}); err != nil {
			t.Fatal(err)
		}
	}
}

func validateBody(op, token string) string {
	return `<ns1:` + op + ` xmlns:ns1="http://org.apache.axis2/xsd"><ns1:validationReqDTO><ns2:accessToken xmlns:ns2="http://dto.oauth2.identity.carbon.wso2.org/xsd">` +
		`<ns2:identifier>` + token + `</ns2:identifier><ns2:tokenType>bearer</ns2:tokenType></ns2:accessToken></ns1:validationReqDTO></ns1:` + op + `>`
}

func revokeAccessTokenBody(key, consumerKey, user string) string {
	return `<ns1:revokeAccessToken xmlns:ns1="http://org.apache.axis2/xsd"><ns1:key>` + key + `</ns1:key><ns1:consumerKey>` + consumerKey +
		`</ns1:consumerKey><ns1:authorizedUser>` + user + `</ns1:authorizedUser></ns1:revokeAccessToken>`
}

func revokeTokensOfUserByAppBody(user, app string) string {
	return `<ns1:revokeTokensOfUserByApp xmlns:ns1="http://org.apache.axis2/xsd"><ns1:userName>` + user + `</ns1:userName><ns1:appName>` + app +
		`</ns1:appName></ns1:revokeTokensOfUserByApp>`
}

const (
	validationPath = "/services/OAuth2TokenValidationService"
	keyMgtPath     = "/services/APIKeyMgtSubscriberService"
	validTrue      = "<ax2341:valid>true</ax2341:valid>"
	validFalse     = "<ax2341:valid>false</ax2341:valid>"
)

// TestLegacyKeyMgtRevocationIsNative: what APIKeyMgtSubscriberService
// revokes is revoked for the native API (getToken), introspection
// (LookupToken) and validate; users revoke only their own tokens.
func TestLegacyKeyMgtRevocationIsNative(t *testing.T) {
	for _, v12 := range []bool{false, true} {
		t.Run(fmt.Sprintf("soap12=%v", v12), func(t *testing.T) {
			st := newLegacyStack(t, false)
			svc := &tokenadmin.Service{Tokens: st.db}
			admin := tokenadmin.Caller{Name: "admin", Role: tokenadmin.RoleAdmin}
			check := func(name string, want tokenadmin.TokenState) {
				t.Helper()
				tok, err := svc.GetToken(t.Context(), admin, st.tokens[name].id)
				if err != nil || tok.State != want {
					t.Errorf("getToken %s: %v, %v; want %s", name, tok, err, want)
				} else if want == tokenadmin.StateRevoked && tok.RevokeReason != legacy.ReasonRevokedByKeyManager {
					t.Errorf("%s: reason %q", name, tok.RevokeReason)
				}
				lt, err := st.db.LookupToken(t.Context(), st.tokens[name].value)
				if err != nil || lt.State != want {
					t.Errorf("introspection %s: %v, %v; want %s", name, lt, err, want)
				}
				if want == tokenadmin.StateRevoked || strings.HasSuffix(name, "-access") {
					_, body := legacyPost(t, st, validationPath, v12, "urn:validate", validateBody("validate", st.tokens[name].value), "admin", "admin-secret")
					if wantValid := want == tokenadmin.StateActive; strings.Contains(body, validTrue) != wantValid {
						t.Errorf("validate %s: want valid=%v: %s", name, wantValid, body)
					}
				}
			}

			// alice cannot revoke bob's token: 202, and nothing happens.
			resp, body := legacyPost(t, st, keyMgtPath, v12, "urn:revokeAccessToken",
				revokeAccessTokenBody(st.tokens["bob-portal-access"].value, "portal", ""), "alice", "alice-secret")
			if resp.StatusCode != http.StatusAccepted || body != "" {
				t.Fatalf("revokeAccessToken of another's token: %d %q", resp.StatusCode, body)
			}
			check("bob-portal-access", tokenadmin.StateActive)
			// ... and naming bob is the authorization fault.
			_, body = legacyPost(t, st, keyMgtPath, v12, "urn:revokeAccessToken",
				revokeAccessTokenBody(st.tokens["bob-portal-access"].value, "portal", "bob"), "alice", "alice-secret")
			if !strings.Contains(body, "50978") {
				t.Errorf("revokeAccessToken naming bob: %s", body)
			}

			// alice revokes her own token through the endpoint path form.
			resp, body = legacyPost(t, st, keyMgtPath+".APIKeyMgtSubscriberServiceHttpsSoap12Endpoint/", v12, "urn:revokeAccessToken",
				revokeAccessTokenBody(st.tokens["alice-mobile-access"].value, "mobile", "alice"), "alice", "alice-secret")
			if resp.StatusCode != http.StatusAccepted || body != "" {
				t.Fatalf("revokeAccessToken: %d %q", resp.StatusCode, body)
			}
			check("alice-mobile-access", tokenadmin.StateRevoked)
			check("alice-mobile-refresh", tokenadmin.StateActive)

			// bob may not revoke alice's tokens by app; the admin may.
			_, body = legacyPost(t, st, keyMgtPath, v12, "urn:revokeTokensOfUserByApp", revokeTokensOfUserByAppBody("alice", "Customer Portal"), "bob", "bob-secret")
			if !strings.Contains(body, "50978") {
				t.Errorf("revokeTokensOfUserByApp by bob for alice: %s", body)
			}
			check("alice-portal-access", tokenadmin.StateActive)
			resp, body = legacyPost(t, st, keyMgtPath, v12, "urn:revokeTokensOfUserByApp", revokeTokensOfUserByAppBody("alice", "Customer Portal"), "admin", "admin-secret")
			if resp.StatusCode != http.StatusOK || !strings.Contains(body, "<ns:return>true</ns:return>") {
				t.Fatalf("revokeTokensOfUserByApp: %d %s", resp.StatusCode, body)
			}
			for _, n := range []string{"alice-portal-access", "alice-portal-refresh", "alice-portal-eu-access", "alice-portal-eu-refresh"} {
				check(n, tokenadmin.StateRevoked)
			}
			for _, n := range []string{"bob-portal-access", "bob-portal-refresh", "bob-reports-access"} {
				check(n, tokenadmin.StateActive)
			}
		})
	}
}

// TestLegacyNativeRevocationFailsValidation: a token revoked through the
// native API is valid=false through validate and has no consumer through
// findOAuthConsumerIfTokenIsValid.
func TestLegacyNativeRevocationFailsValidation(t *testing.T) {
	for _, v12 := range []bool{false, true} {
		t.Run(fmt.Sprintf("soap12=%v", v12), func(t *testing.T) {
			st := newLegacyStack(t, false)
			tok := st.tokens["bob-reports-access"]
			_, body := legacyPost(t, st, validationPath, v12, "urn:validate", validateBody("validate", tok.value), "admin", "admin-secret")
			if !strings.Contains(body, validTrue) || !strings.Contains(body, "<ax2341:authorizedUser>bob</ax2341:authorizedUser>") ||
				!strings.Contains(body, "<ax2341:expiryTime>3600</ax2341:expiryTime>") {
				t.Fatalf("validate before revocation: %s", body)
			}
			svc := &tokenadmin.Service{Tokens: st.db}
			if _, err := svc.RevokeToken(t.Context(), tokenadmin.Caller{Name: "bob", Role: tokenadmin.RoleUser},
				tokenadmin.RevokeRequest{TokenID: tok.id}); err != nil {
				t.Fatal(err)
			}
			_, body = legacyPost(t, st, validationPath, v12, "urn:validate", validateBody("validate", tok.value), "admin", "admin-secret")
			if !strings.Contains(body, validFalse) || !strings.Contains(body, "<ax2341:errorMsg>Invalid access token</ax2341:errorMsg>") {
				t.Errorf("validate after revocation: %s", body)
			}
			_, body = legacyPost(t, st, validationPath, v12, "urn:findOAuthConsumerIfTokenIsValid",
				validateBody("findOAuthConsumerIfTokenIsValid", tok.value), "admin", "admin-secret")
			if !strings.Contains(body, validFalse) || !strings.Contains(body, `<ax2341:consumerKey xsi:nil="true"/>`) {
				t.Errorf("findOAuthConsumerIfTokenIsValid after revocation: %s", body)
			}
		})
	}
}

// TestLegacyValidationSession: an admin's AuthenticationAdmin session is
// enough to call validate; a user's session gets 50978.
func TestLegacyValidationSession(t *testing.T) {
	st := newLegacyStack(t, false)
	for _, u := range []struct{ name, password, want string }{{"admin", "admin-secret", validTrue}, {"alice", "alice-secret", "50978"}} {
		resp, body := legacyPost(t, st, "/services/AuthenticationAdmin", false, "urn:login", loginBody(u.name, u.password), "", "")
		if len(resp.Cookies()) != 1 {
			t.Fatalf("login %s: %s", u.name, body)
		}
		_, body = legacyPost(t, st, validationPath, true, "urn:validate", validateBody("validate", st.tokens["bob-portal-access"].value), "", "", resp.Cookies()[0])
		if !strings.Contains(body, u.want) {
			t.Errorf("validate with %s's session: want %s: %s", u.name, u.want, body)
		}
	}
}

// TestLegacyValidationWSDL: both services describe themselves at ?wsdl
// with the requested host.
func TestLegacyValidationWSDL(t *testing.T) {
	st := newLegacyStack(t, false)
	host := strings.TrimPrefix(st.srv.URL, "http://")
	for svc, op := range map[string]string{legacy.OAuth2TokenValidationService: "findOAuthConsumerIfTokenIsValid", legacy.APIKeyMgtSubscriberService: "revokeTokensOfUserByApp"} {
		for _, p := range []string{"/services/" + svc + "?wsdl", "/services/" + svc + "." + svc + "HttpsEndpoint/?wsdl"} {
			resp, err := st.srv.Client().Get(st.srv.URL + p)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `location="http://`+host+`/services/`+svc+`.`+svc+`HttpsSoap12Endpoint/"`) ||
				!strings.Contains(string(b), `name="`+op+`"`) || strings.Contains(string(b), "localhost:9443") {
				t.Errorf("%s: %d\n%s", p, resp.StatusCode, b)
			}
		}
	}
}
