package tokenadmin_test

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"tokenadmin"
	"tokenadmin/legacy"
)

const (
	nsAxis2Wrap = `xmlns:ns1="http://org.apache.axis2/xsd"`
	dtoNS       = `xmlns:ns2="http://dto.oauth.identity.carbon.wso2.org/xsd"`
)

func appsCall(t *testing.T, st *legacyStack, v12 bool, op, inner string) (*http.Response, string) {
	t.Helper()
	body := `<ns1:` + op + ` ` + nsAxis2Wrap + `>` + inner + `</ns1:` + op + `>`
	return legacyPost(t, st, "/services/OAuthAdminService", v12, "urn:"+op, body, "admin", "admin-secret")
}

func dtoField(name, value string) string {
	return `<ns2:` + name + ` ` + dtoNS + `>` + value + `</ns2:` + name + `>`
}

var secretRE = regexp.MustCompile(`<ax2393:oauthConsumerSecret>([^<]+)</ax2393:oauthConsumerSecret>`)

// TestLegacyAppLifecycle drives the application operations as a WSO2
// portal does (register, read back for key and secret, switch the
// refresh grant off, revoke, regenerate the secret, remove) and checks
// each step through the native store.
func TestLegacyAppLifecycle(t *testing.T) {
	for _, v12 := range []bool{false, true} {
		t.Run(fmt.Sprintf("soap12=%v", v12), func(t *testing.T) {
			st := newLegacyStack(t, false)
			ctx := t.Context()
			ok := func(resp *http.Response, body string) {
				t.Helper()
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("%d %s", resp.StatusCode, body)
				}
			}

			ok(appsCall(t, st, v12, "registerOAuthApplicationData", `<ns1:application>`+
				dtoField("OAuthVersion", "OAuth-2.0")+dtoField("applicationName", "Partner Portal")+
				dtoField("grantTypes", "password refresh_token")+`</ns1:application>`))

			// The first read back reveals the new secret, once.
			resp, body := appsCall(t, st, v12, "getOAuthApplicationDataByAppName", `<ns1:appName>Partner Portal</ns1:appName>`)
			ok(resp, body)
			m := secretRE.FindStringSubmatch(body)
			if m == nil {
				t.Fatalf("no secret on the first read: %s", body)
			}
			key := regexp.MustCompile(`<ax2393:oauthConsumerKey>([^<]+)<`).FindStringSubmatch(body)[1]
			if a, err := st.db.AuthenticateClient(ctx, key, m[1]); err != nil || a.Owner != "admin" ||
				!slices.Equal(a.GrantTypes, []string{"password", "refresh_token"}) {
				t.Fatalf("registered app: %+v, %v", a, err)
			}
			_, body = appsCall(t, st, v12, "getOAuthApplicationData", `<ns1:consumerKey>`+key+`</ns1:consumerKey>`)
			if !strings.Contains(body, `<ax2393:oauthConsumerSecret xsi:nil="true"/>`) {
				t.Errorf("second read shows a secret: %s", body)
			}

			// A portal switches the refresh grant off for one app.
			ok(appsCall(t, st, v12, "updateConsumerApplication", `<ns1:consumerAppDTO>`+
				dtoField("OAuthVersion", "OAuth-2.0")+dtoField("applicationName", "Customer Portal")+
				dtoField("grantTypes", "password")+dtoField("oauthConsumerKey", "portal")+`</ns1:consumerAppDTO>`))
			a, err := st.db.GetApp(ctx, "portal")
			if err != nil || !slices.Equal(a.GrantTypes, []string{"password"}) || tokenadmin.DefaultPolicy.RefreshAllowed(a) {
				t.Fatalf("after update: %+v, %v", a, err)
			}

			// REVOKED disables the app and revokes its tokens.
			ok(appsCall(t, st, v12, "updateConsumerAppState", `<ns1:consumerKey>portal</ns1:consumerKey><ns1:newState>REVOKED</ns1:newState>`))
			_, body = appsCall(t, st, v12, "getOauthApplicationState", `<ns1:consumerKey>portal</ns1:consumerKey>`)
			if !strings.Contains(body, `<ns:return>REVOKED</ns:return>`) {
				t.Errorf("state: %s", body)
			}
			for _, name := range []string{"alice-portal-access", "bob-portal-refresh"} {
				if tok, err := st.db.LookupToken(ctx, st.tokens[name].value); err != nil || tok.State != tokenadmin.StateRevoked {
					t.Errorf("%s after REVOKED: %+v, %v", name, tok, err)
				}
			}
			ok(appsCall(t, st, v12, "updateConsumerAppState", `<ns1:consumerKey>portal</ns1:consumerKey><ns1:newState>active</ns1:newState>`))
			if a, _ := st.db.GetApp(ctx, "portal"); a.State != tokenadmin.AppActive {
				t.Errorf("state after ACTIVE: %s", a.State)
			}

			// A new secret is readable once, and the old one stops working.
			ok(appsCall(t, st, v12, "updateOauthSecretKey", `<ns1:consumerKey>`+key+`</ns1:consumerKey>`))
			_, body = appsCall(t, st, v12, "getOAuthApplicationData", `<ns1:consumerKey>`+key+`</ns1:consumerKey>`)
			m2 := secretRE.FindStringSubmatch(body)
			if m2 == nil || m2[1] == m[1] {
				t.Fatalf("regenerated secret: %s", body)
			}
			if _, err := st.db.AuthenticateClient(ctx, key, m2[1]); err != nil {
				t.Errorf("new secret: %v", err)
			}
			if _, err := st.db.AuthenticateClient(ctx, key, m[1]); err == nil {
				t.Errorf("old secret still works")
			}

			// registerOAuthConsumer returns a working [key, secret].
			resp, body = appsCall(t, st, v12, "registerOAuthConsumer", "")
			ok(resp, body)
			kv := regexp.MustCompile(`<ns:return>([^<]+)</ns:return>`).FindAllStringSubmatch(body, -1)
			if len(kv) != 2 {
				t.Fatalf("registerOAuthConsumer: %s", body)
			}
			if _, err := st.db.AuthenticateClient(ctx, kv[0][1], kv[1][1]); err != nil {
				t.Errorf("consumer credentials: %v", err)
			}

			// Remove deletes the app and revokes its tokens.
			ok(appsCall(t, st, v12, "removeOAuthApplicationData", `<ns1:consumerKey>reports</ns1:consumerKey>`))
			if _, err := st.db.GetApp(ctx, "reports"); tokenadmin.ErrorCode(err) != tokenadmin.CodeNotFound {
				t.Errorf("removed app: %v", err)
			}
			if tok, err := st.db.LookupToken(ctx, st.tokens["bob-reports-access"].value); err != nil || tok.State != tokenadmin.StateRevoked {
				t.Errorf("token of the removed app: %+v, %v", tok, err)
			}

			// getAll lists the caller's own apps only.
			_, body = appsCall(t, st, v12, "getAllOAuthApplicationData", "")
			if n := strings.Count(body, "<ns:return "); n != 3 || strings.Contains(body, "portal-eu") {
				t.Errorf("getAll: %d apps: %s", n, body)
			}
			if st.log.String() != "" && strings.Contains(st.log.String(), "level=ERROR") {
				t.Errorf("errors logged: %s", st.log.String())
			}
		})
	}
}

// TestLegacyAppSecretNotChosen: a client-chosen secret cannot be stored,
// and is refused rather than silently replaced.
func TestLegacyAppSecretNotChosen(t *testing.T) {
	st := newLegacyStack(t, false)
	resp, body := appsCall(t, st, false, "registerOAuthApplicationData", `<ns1:application>`+
		dtoField("OAuthVersion", "OAuth-2.0")+dtoField("applicationName", "Imported")+
		dtoField("grantTypes", "password")+dtoField("oauthConsumerKey", "imported")+
		dtoField("oauthConsumerSecret", "s3cret")+`</ns1:application>`)
	if resp.StatusCode != http.StatusInternalServerError || !strings.Contains(body, "OAuthAdminServiceIdentityOAuthAdminException") {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	if _, err := st.db.GetApp(t.Context(), "imported"); tokenadmin.ErrorCode(err) != tokenadmin.CodeNotFound {
		t.Errorf("app registered anyway: %v", err)
	}
}

// TestLegacyLifetimesMapToPolicy: in the generations whose DTO has token
// lifetimes, updateConsumerApplication sets the app's policy (ms →
// whole seconds; 0 keeps the server's default).
func TestLegacyLifetimesMapToPolicy(t *testing.T) {
	for _, p := range []legacy.Profile{legacy.IS55, legacy.IS57} {
		t.Run(string(p), func(t *testing.T) {
			path := filepath.Join(legacyRoot, string(p), "apps-updateConsumerApplication-soap11-lifetimes.http")
			if _, err := os.Stat(path); err != nil {
				t.Skipf("%v", err)
			}
			rec, err := readRecordedRequest(path)
			if err != nil {
				t.Fatal(err)
			}
			st := newLegacyStackProfile(t, p, false)
			req, err := http.NewRequestWithContext(t.Context(), rec.req.Method, st.srv.URL+rec.req.RequestURI, bytes.NewReader(rec.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header = rec.req.Header.Clone()
			req.Header.Del("Content-Length")
			resp, err := st.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			a, err := st.db.GetApp(t.Context(), "portal")
			if err != nil {
				t.Fatal(err)
			}
			if a.AccessTTL != 15*time.Minute || a.RefreshTTL != 7*24*time.Hour {
				t.Errorf("lifetimes: access %v, refresh %v; want 15m, 168h", a.AccessTTL, a.RefreshTTL)
			}
		})
	}
}
