package tokenadmin_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tokenadmin"
	"tokenadmin/auth"
	"tokenadmin/legacy"
	"tokenadmin/store"
)

// legacyDir holds the recorded requests to the legacy services, written
// the way Axis2 ADB stubs send them (ns1-style prefixes, quoted
// SOAPAction, xsi:nil="1", chunked bodies), and our golden responses; the
// format is testdata/envelopes/README.md's. Cases named fault-internal-*
// run over a token service that fails, to pin the typed business fault.
// One folder per profile, testdata/legacy/<profile>/; the folder's name
// is the profile the stack speaks.
const legacyRoot = "testdata/legacy"

// legacyApps: two apps share the name "Customer Portal"; portal has its
// own access-token lifetime (2017-12 DTOs show it, in ms), the others the
// server's defaults (0).
var legacyApps = []tokenadmin.App{
	{ClientID: "portal", Name: "Customer Portal", Owner: "admin", GrantTypes: []string{"password", "refresh_token"}, AccessTTL: 2 * time.Hour},
	{ClientID: "portal-eu", Name: "Customer Portal", Owner: "bob", GrantTypes: []string{"client_credentials"}},
	{ClientID: "mobile", Name: "Mobile App"},
	{ClientID: "reports", Name: "Reports Dashboard", Owner: "bob", GrantTypes: []string{"password"}},
}

var legacyGrants = []struct{ name, clientID, user string }{
	{"alice-portal", "portal", "alice"},
	{"alice-portal-eu", "portal-eu", "alice"},
	{"alice-mobile", "mobile", "alice"},
	{"bob-portal", "portal", "bob"},
	{"bob-reports", "reports", "bob"},
}

type legacyStack struct {
	db     *store.DB
	h      *legacy.Handler
	srv    *httptest.Server
	tokens map[string]issuedToken
	log    *syncBuffer
	clk    *clock
}

type failingTokens struct{}

func (failingTokens) ListAuthorizedApps(context.Context, tokenadmin.Caller, string) ([]*tokenadmin.AuthorizedApp, error) {
	return nil, errors.New("store: database is locked")
}

func (failingTokens) RevokeTokens(context.Context, tokenadmin.Caller, tokenadmin.BulkRevoke) (int, error) {
	return 0, errors.New("store: database is locked")
}

func newLegacyStack(t testing.TB, failing bool) *legacyStack {
	t.Helper()
	return newLegacyStackProfile(t, legacy.IS53, failing)
}

func newLegacyStackProfile(t testing.TB, profile legacy.Profile, failing bool) *legacyStack {
	t.Helper()
	ctx := context.Background()
	hashes, err := passwordHashes()
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: replayNow.Add(-time.Hour)}
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "tokenadmin.db"), store.Options{
		Now: clk.Now, Rand: &lockedReader{r: rand.NewChaCha8(replaySeed)},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, u := range replayUsers {
		if err := db.CreateUser(ctx, tokenadmin.User{Name: u.name, Role: u.role, PasswordHash: hashes[u.name]}); err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range legacyApps {
		if _, err := db.CreateApp(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	tokens := map[string]issuedToken{}
	for _, g := range legacyGrants {
		iss, err := db.IssueTokens(ctx, tokenadmin.IssueRequest{ClientID: g.clientID, User: g.user,
			GrantType: "password", AccessTTL: 2 * time.Hour, RefreshTTL: 24 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		tokens[g.name+"-access"] = issuedToken{iss.Access.ID, iss.AccessValue}
		tokens[g.name+"-refresh"] = issuedToken{iss.Refresh.ID, iss.RefreshValue}
	}
	clk.Set(replayNow)
	authn := auth.NewAuthenticator(db)
	authn.Now = clk.Now
	var svc legacy.Tokens = &tokenadmin.Service{Tokens: db}
	if failing {
		svc = failingTokens{}
	}
	sessions := &legacy.Sessions{Users: db, Now: clk.Now, Rand: &lockedReader{r: rand.NewChaCha8([32]byte([]byte("tokenadmin legacy session ids 01")))}}
	h, err := legacy.NewHandler(profile, svc, db, authn, sessions)
	if err != nil {
		t.Fatal(err)
	}
	h.AppAdmin = &tokenadmin.AppService{Apps: db}
	log := new(syncBuffer)
	h.Logger = slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	mux := http.NewServeMux()
	h.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &legacyStack{db: db, h: h, srv: srv, tokens: tokens, log: log, clk: clk}
}

var legacyGoldenHeaders = []string{"Content-Type", "WWW-Authenticate", "Set-Cookie", "Allow"}

// TestLegacyReplay sends every recorded legacy request to the real stack
// over HTTP, each on a fresh database, and compares the response with its
// golden byte for byte (the Date header aside; nothing is normalised: the
// clock, token values and session ids are seeded).
func TestLegacyReplay(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join(legacyRoot, "*"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no profile folders in %s (%v)", legacyRoot, err)
	}
	for _, dir := range dirs {
		profile, err := legacy.ParseProfile(filepath.Base(dir))
		if err != nil {
			t.Errorf("%s: %v", dir, err)
			continue
		}
		t.Run(string(profile), func(t *testing.T) {
			t.Parallel()
			replayLegacyDir(t, profile, dir)
		})
	}
}

func replayLegacyDir(t *testing.T, profile legacy.Profile, legacyDir string) {
	paths, err := filepath.Glob(filepath.Join(legacyDir, "*.http"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no recorded requests in %s (%v)", legacyDir, err)
	}
	for _, p := range paths {
		name := strings.TrimSuffix(filepath.Base(p), ".http")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			rec, err := readRecordedRequest(p)
			if err != nil {
				t.Fatal(err)
			}
			st := newLegacyStackProfile(t, profile, strings.HasPrefix(name, "fault-internal-"))
			legacyCaseSetup(t, st, name) // legacy_validation_test.go
			out, err := http.NewRequestWithContext(t.Context(), rec.req.Method, st.srv.URL+rec.req.RequestURI, bytes.NewReader(rec.body))
			if err != nil {
				t.Fatal(err)
			}
			out.Header = rec.req.Header.Clone()
			out.Header.Del("Content-Length")
			out.Host = rec.req.Host
			out.ContentLength = int64(len(rec.body))
			if rec.chunked {
				out.ContentLength = -1
				out.TransferEncoding = []string{"chunked"}
			}
			resp, err := st.srv.Client().Do(out)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			fmt.Fprintf(&got, "%s %s\n", resp.Proto, resp.Status)
			for _, k := range legacyGoldenHeaders {
				for _, v := range resp.Header.Values(k) {
					fmt.Fprintf(&got, "%s: %s\n", k, v)
				}
			}
			got.WriteString("\n")
			got.Write(body)
			golden := filepath.Join(legacyDir, name+".golden")
			if *update {
				if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run TestLegacyReplay -update, then review the goldens)", err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Errorf("response differs from %s (-want +got):\n%s%s", golden,
					lineDiff(displayLines(want), displayLines(got.Bytes())), firstDifference(want, got.Bytes()))
			}
			if l := st.log.String(); strings.Contains(l, "level=ERROR") != strings.HasPrefix(name, "fault-internal-") {
				t.Errorf("unexpected internal-error logging:\n%s", l)
			}
		})
	}
}

// legacyPost sends one SOAP call; cookie and basic are optional.
func legacyPost(t *testing.T, st *legacyStack, path string, soap12 bool, action, body, basicUser, basicPass string, cookies ...*http.Cookie) (*http.Response, string) {
	t.Helper()
	ns := "http://schemas.xmlsoap.org/soap/envelope/"
	if soap12 {
		ns = "http://www.w3.org/2003/05/soap-envelope"
	}
	env := `<soapenv:Envelope xmlns:soapenv="` + ns + `"><soapenv:Body>` + body + `</soapenv:Body></soapenv:Envelope>`
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, st.srv.URL+path, strings.NewReader(env))
	if err != nil {
		t.Fatal(err)
	}
	if soap12 {
		req.Header.Set("Content-Type", `application/soap+xml; charset=UTF-8; action="`+action+`"`)
	} else {
		req.Header.Set("Content-Type", "text/xml; charset=UTF-8")
		req.Header.Set("SOAPAction", `"`+action+`"`)
	}
	if basicUser != "" {
		req.SetBasicAuth(basicUser, basicPass)
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	resp, err := st.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

const (
	getAppsBody = `<ns1:getAppsAuthorizedByUser xmlns:ns1="http://org.apache.axis2/xsd"/>`
	logoutBody  = `<ns1:logout xmlns:ns1="http://authentication.services.core.carbon.wso2.org"/>`
)

func loginBody(user, password string) string {
	return `<ns1:login xmlns:ns1="http://authentication.services.core.carbon.wso2.org"><ns1:username>` + user +
		`</ns1:username><ns1:password>` + password + `</ns1:password><ns1:remoteAddress xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:nil="1"/></ns1:login>`
}

func revokeBody(apps ...string) string {
	var b strings.Builder
	b.WriteString(`<ns1:revokeAuthzForAppsByResoureOwner xmlns:ns1="http://org.apache.axis2/xsd"><ns1:revokeRequestDTO>`)
	for _, a := range apps {
		b.WriteString(`<ns2:apps xmlns:ns2="http://dto.oauth.identity.carbon.wso2.org/xsd">` + a + `</ns2:apps>`)
	}
	b.WriteString(`<ns2:authzUser xmlns:ns2="http://dto.oauth.identity.carbon.wso2.org/xsd">bob</ns2:authzUser></ns1:revokeRequestDTO></ns1:revokeAuthzForAppsByResoureOwner>`)
	return b.String()
}

// TestLegacySessionFlow: login sets a session cookie; calls carrying it
// need no Basic header; logout ends it, and the cookie then gets the 401
// challenge. In both SOAP versions.
func TestLegacySessionFlow(t *testing.T) {
	for _, v12 := range []bool{false, true} {
		t.Run(fmt.Sprintf("soap12=%v", v12), func(t *testing.T) {
			st := newLegacyStack(t, false)
			resp, body := legacyPost(t, st, "/services/AuthenticationAdmin", v12, "urn:login", loginBody("alice", "alice-secret"), "", "")
			if resp.StatusCode != http.StatusOK || !strings.Contains(body, "<ns:return>true</ns:return>") {
				t.Fatalf("login: %d %s", resp.StatusCode, body)
			}
			cookies := resp.Cookies()
			if len(cookies) != 1 || cookies[0].Name != legacy.SessionCookie || !cookies[0].HttpOnly || cookies[0].Path != "/services/" || len(cookies[0].Value) != 32 {
				t.Fatalf("login cookie: %+v", cookies)
			}
			resp, body = legacyPost(t, st, "/services/OAuthAdminService", v12, "urn:getAppsAuthorizedByUser", getAppsBody, "", "", cookies[0])
			if resp.StatusCode != http.StatusOK || strings.Count(body, "<ns:return ") != 3 {
				t.Fatalf("call with the cookie: %d %s", resp.StatusCode, body)
			}
			if len(resp.Cookies()) != 0 {
				t.Errorf("a call with a live session got a new cookie: %v", resp.Cookies())
			}
			resp, body = legacyPost(t, st, "/services/AuthenticationAdmin", v12, "urn:logout", logoutBody, "", "", cookies[0])
			if resp.StatusCode != http.StatusAccepted || body != "" {
				t.Fatalf("logout: %d %q", resp.StatusCode, body)
			}
			resp, _ = legacyPost(t, st, "/services/OAuthAdminService", v12, "urn:getAppsAuthorizedByUser", getAppsBody, "", "", cookies[0])
			if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" {
				t.Fatalf("call after logout: %d", resp.StatusCode)
			}
			resp, body = legacyPost(t, st, "/services/AuthenticationAdmin", v12, "urn:login", loginBody("alice", "wrong"), "", "")
			if !strings.Contains(body, "<ns:return>false</ns:return>") || len(resp.Cookies()) != 0 {
				t.Fatalf("wrong login: %s %v", body, resp.Cookies())
			}
		})
	}
}

// TestLegacyRevocationIsNative: what revokeAuthzForAppsByResoureOwner
// revokes is revoked for the native API (getToken) and for introspection
// (LookupToken); the request's authzUser is ignored; both apps named
// "Customer Portal" lose alice's tokens, and nobody else's are touched.
func TestLegacyRevocationIsNative(t *testing.T) {
	for _, v12 := range []bool{false, true} {
		t.Run(fmt.Sprintf("soap12=%v", v12), func(t *testing.T) {
			st := newLegacyStack(t, false)
			resp, body := legacyPost(t, st, "/services/OAuthAdminService.OAuthAdminServiceHttpsSoap11Endpoint/", v12,
				"urn:revokeAuthzForAppsByResoureOwner", revokeBody("Customer Portal"), "alice", "alice-secret")
			if resp.StatusCode != http.StatusOK || !strings.Contains(body, "<ax2393:error>false</ax2393:error>") {
				t.Fatalf("revoke: %d %s", resp.StatusCode, body)
			}
			svc := &tokenadmin.Service{Tokens: st.db}
			admin := tokenadmin.Caller{Name: "admin", Role: tokenadmin.RoleAdmin}
			for name, want := range map[string]tokenadmin.TokenState{
				"alice-portal-access": tokenadmin.StateRevoked, "alice-portal-refresh": tokenadmin.StateRevoked,
				"alice-portal-eu-access": tokenadmin.StateRevoked, "alice-mobile-access": tokenadmin.StateActive,
				"bob-portal-access": tokenadmin.StateActive, "bob-portal-refresh": tokenadmin.StateActive,
			} {
				tok, err := svc.GetToken(t.Context(), admin, st.tokens[name].id)
				if err != nil || tok.State != want {
					t.Errorf("getToken %s: %v, %v; want %s", name, tok, err, want)
				}
				if want == tokenadmin.StateRevoked && tok != nil && tok.RevokeReason != legacy.ReasonRevokedByOwner {
					t.Errorf("%s: reason %q", name, tok.RevokeReason)
				}
				lt, err := st.db.LookupToken(t.Context(), st.tokens[name].value)
				if err != nil || lt.State != want {
					t.Errorf("introspection %s: %v, %v; want %s", name, lt, err, want)
				}
			}
			_, body = legacyPost(t, st, "/services/OAuthAdminService", v12, "urn:getAppsAuthorizedByUser", getAppsBody, "alice", "alice-secret")
			if strings.Contains(body, "Customer Portal") || !strings.Contains(body, "Mobile App") {
				t.Errorf("apps after revocation: %s", body)
			}
		})
	}
}

// TestLegacyWSDL: ?wsdl serves our description with the addresses of the
// host asked, on every path form, without credentials.
func TestLegacyWSDL(t *testing.T) {
	st := newLegacyStack(t, false)
	for _, p := range []string{"/services/OAuthAdminService?wsdl", "/services/OAuthAdminService.OAuthAdminServiceHttpsSoap12Endpoint/?wsdl"} {
		resp, err := st.srv.Client().Get(st.srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		host := strings.TrimPrefix(st.srv.URL, "http://")
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `location="http://`+host+`/services/OAuthAdminService.OAuthAdminServiceHttpsSoap11Endpoint/"`) ||
			!strings.Contains(string(b), `name="revokeAuthzForAppsByResoureOwner"`) || strings.Contains(string(b), "localhost:9443") {
			t.Errorf("%s: %d\n%s", p, resp.StatusCode, b)
		}
	}
}
