package main

import (
	"bytes"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"tokenadmin/auth"
	"tokenadmin/legacy"
	"tokenadmin/soap"
)

// Secrets hygiene (issue 5): token values, client secrets, passwords and
// session ids never appear in logs, faults, audit records or listings.
// TestSecretsNeverLeak runs one scenario through every API of the real
// server and every command of the real CLI with the logger at debug level,
// keeps everything observable (each HTTP response's status line, headers
// and body; each command's stdout and stderr; the server's log and
// stdout; the audit log by CLI and SOAP; config print; /metrics; the
// WSDLs), then searches all of it for every secret the scenario used, in
// the forms a leak would take (plain, base64, URL-, JSON-, XML- and
// Go-quoted, Basic credentials, a prefix of random values). A secret may
// appear in exactly one place: the response that hands it out (the token
// endpoint's, registerApp's or regenerateSecret's, app create's or
// rotate-secret's stdout, token issue's, the login's Set-Cookie). Last,
// the database file and its WAL must not hold any of them in plain text.

// artifact is one thing the scenario could observe.
type artifact struct {
	label string
	text  string
}

// secretValue is a secret the scenario used, and the artifact that
// legitimately hands it out (-1: none may show it).
type secretValue struct {
	name      string
	value     string
	handedOut int
	extra     []string // further forms, such as Basic credentials
	nearMiss  bool     // derived from another secret: shares its prefix
}

// leakHunt drives the scenario and keeps what it observed.
type leakHunt struct {
	t      *testing.T
	ts     *testServer
	client *http.Client

	mu      sync.Mutex
	seen    []artifact
	secrets []secretValue
}

// observe keeps an artifact and returns its index.
func (h *leakHunt) observe(label, text string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seen = append(h.seen, artifact{label: label, text: text})
	return len(h.seen) - 1
}

// secret registers a secret handed out by artifact handedOut (-1: none).
func (h *leakHunt) secret(name, value string, handedOut int, extra ...string) {
	h.t.Helper()
	if len(value) < 8 {
		h.t.Fatalf("secret %s = %q: too short to search for", name, value)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.secrets = append(h.secrets, secretValue{name: name, value: value, handedOut: handedOut, extra: extra})
}

// nearMiss registers a wrong value made from a real secret (the secret
// and a character more, or less), which no artifact may show. Its prefix
// is the real one's, so it is searched for whole.
func (h *leakHunt) nearMiss(name, value string, extra ...string) {
	h.t.Helper()
	h.secret(name, value, -1, extra...)
	h.secrets[len(h.secrets)-1].nearMiss = true
}

// password registers a user's password (or a near miss of it), which no
// artifact may show; its HTTP Basic form is searched for too.
func (h *leakHunt) password(name, user, password string) {
	h.t.Helper()
	h.secret(name, password, -1, base64.StdEncoding.EncodeToString([]byte(user+":"+password)))
}

var sessionCookie = regexp.MustCompile(legacy.SessionCookie + `=([^;]+)`)

// do sends req and keeps the response: status line, every header, body.
// Every session id a response sets is registered as a secret that only
// that response may show.
func (h *leakHunt) do(req *http.Request) (int, http.Header, string, int) {
	h.t.Helper()
	resp, err := h.client.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s\r\n", resp.Proto, resp.Status)
	resp.Header.Write(&b)
	b.WriteString("\r\n")
	b.Write(body)
	idx := h.observe(fmt.Sprintf("response to %s %s", req.Method, req.URL.RequestURI()), b.String())
	for _, c := range resp.Header.Values("Set-Cookie") {
		if m := sessionCookie.FindStringSubmatch(c); m != nil {
			h.secret("session id", m[1], idx)
		}
	}
	return resp.StatusCode, resp.Header, string(body), idx
}

// get fetches a path of the server.
func (h *leakHunt) get(path string) (int, string) {
	h.t.Helper()
	req, err := http.NewRequestWithContext(h.t.Context(), http.MethodGet, h.ts.URL()+path, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	status, _, body, _ := h.do(req)
	return status, body
}

// creds are the credentials of a request: HTTP Basic, a session cookie,
// or a SOAP header (WS-Security) for SOAP requests.
type creds struct {
	user, password string
	cookie         string
	header         string
}

func basic(user, password string) creds { return creds{user: user, password: password} }

// soapCall posts a SOAP 1.1 envelope with the given body content.
func (h *leakHunt) soapCall(path, action string, c creds, envelope string) (int, http.Header, string, int) {
	h.t.Helper()
	req, err := http.NewRequestWithContext(h.t.Context(), http.MethodPost, h.ts.URL()+path, strings.NewReader(envelope))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("SOAPAction", `"`+action+`"`)
	if c.user != "" {
		req.SetBasicAuth(c.user, c.password)
	}
	if c.cookie != "" {
		req.AddCookie(&http.Cookie{Name: legacy.SessionCookie, Value: c.cookie})
	}
	return h.do(req)
}

// native calls a TokenAdmin operation; inner is the operation's content.
func (h *leakHunt) native(c creds, op, inner string) (int, string, int) {
	h.t.Helper()
	env := `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:t="urn:tokenadmin:v1"><soap:Header>` + c.header +
		`</soap:Header><soap:Body><t:` + op + `>` + inner + `</t:` + op + `></soap:Body></soap:Envelope>`
	status, _, body, idx := h.soapCall(soap.TokenAdminPath, "urn:tokenadmin:v1:"+op, c, env)
	return status, body, idx
}

// legacyCall calls a WSO2 service operation in Axis2's wrapper namespace.
func (h *leakHunt) legacyCall(c creds, service, op, ns, inner string) (int, http.Header, string, int) {
	h.t.Helper()
	if ns == "" {
		ns = "http://org.apache.axis2/xsd"
	}
	env := `<?xml version='1.0' encoding='UTF-8'?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Header>` + c.header +
		`</soapenv:Header><soapenv:Body><ns1:` + op + ` xmlns:ns1="` + ns + `">` + inner + `</ns1:` + op + `></soapenv:Body></soapenv:Envelope>`
	return h.soapCall("/services/"+service, "urn:"+op, c, env)
}

// oauth posts a form to an OAuth endpoint with Basic client credentials
// (form-urlencoded first, RFC 6749 §2.3.1) when clientID is set.
func (h *leakHunt) oauth(endpoint, clientID, secret string, form url.Values) (int, string, int) {
	h.t.Helper()
	req, err := http.NewRequestWithContext(h.t.Context(), http.MethodPost, h.ts.URL()+"/oauth2/"+endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if clientID != "" {
		req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	}
	status, _, body, idx := h.do(req)
	return status, body, idx
}

// tokens asks the token endpoint for tokens and registers them as
// secrets handed out by that response.
func (h *leakHunt) tokens(name, clientID, secret string, form url.Values) (access, refresh string) {
	h.t.Helper()
	status, body, idx := h.oauth("token", clientID, secret, form)
	var out struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	if status != http.StatusOK || json.Unmarshal([]byte(body), &out) != nil || out.AccessToken == "" {
		h.t.Fatalf("%s: HTTP %d %s", name, status, body)
	}
	h.secret(name+" access token", out.AccessToken, idx)
	if out.RefreshToken != "" {
		h.secret(name+" refresh token", out.RefreshToken, idx)
	}
	return out.AccessToken, out.RefreshToken
}

// cli runs the real command line on the server's database and keeps its
// stdout and stderr; it returns the result and the stdout's index.
func (h *leakHunt) cli(stdin string, args ...string) (result, int) {
	h.t.Helper()
	r := runMain(h.t, stdin, append(args, "--db", h.ts.path)...)
	label := "tokenadmin " + strings.Join(args, " ")
	idx := h.observe(label+" (stdout)", r.stdout)
	h.observe(label+" (stderr)", r.stderr)
	return r, idx
}

// mustCLI is cli that fails the test unless the command succeeds.
func (h *leakHunt) mustCLI(stdin string, args ...string) (string, int) {
	h.t.Helper()
	r, idx := h.cli(stdin, args...)
	if r.code != 0 {
		h.t.Fatalf("tokenadmin %s: exit %d\n%s", strings.Join(args, " "), r.code, r.stderr)
	}
	return r.stdout, idx
}

// forms are the ways a secret could show up in text.
func forms(v string) map[string]string {
	m := map[string]string{
		"plain":            v,
		"base64":           base64.StdEncoding.EncodeToString([]byte(v)),
		"base64 raw url":   base64.RawURLEncoding.EncodeToString([]byte(v)),
		"URL query escape": url.QueryEscape(v),
		"URL path escape":  url.PathEscape(v),
	}
	j, _ := json.Marshal(v)
	m["JSON"] = string(j[1 : len(j)-1])
	var x bytes.Buffer
	xml.EscapeText(&x, []byte(v))
	m["XML"] = x.String()
	q := strconv.Quote(v)
	m["Go quoted"] = q[1 : len(q)-1]
	if len(v) >= 32 { // random values: a truncated one leaks too
		m["prefix"] = v[:16]
	}
	return m
}

// check asserts that each secret shows in its one handing-out artifact and
// nowhere else.
func (h *leakHunt) check() {
	h.t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, s := range h.secrets {
		if s.handedOut >= 0 && !strings.Contains(h.seen[s.handedOut].text, s.value) {
			h.t.Errorf("%s: not found in %s, which hands it out: the search is blind", s.name, h.seen[s.handedOut].label)
		}
		fs := forms(s.value)
		if s.nearMiss {
			delete(fs, "prefix")
		}
		for i, e := range s.extra {
			fs[fmt.Sprintf("extra form %d", i)] = e
		}
		for i, a := range h.seen {
			if i == s.handedOut {
				continue
			}
			for _, form := range slices.Sorted(maps.Keys(fs)) {
				v := fs[form]
				if at := strings.Index(a.text, v); at >= 0 {
					lo, hi := max(0, at-120), min(len(a.text), at+len(v)+120)
					h.t.Errorf("%s (%s form) leaks into %s:\n…%s…", s.name, form, a.label, a.text[lo:hi])
					break // one report per secret and artifact
				}
			}
		}
	}
}

// checkFiles asserts that no secret is in a file in plain text.
func (h *leakHunt) checkFiles(names ...string) {
	h.t.Helper()
	for _, name := range names {
		b, err := os.ReadFile(name)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			h.t.Fatal(err)
		}
		for _, s := range h.secrets {
			if bytes.Contains(b, []byte(s.value)) {
				h.t.Errorf("%s holds %s in plain text", filepath.Base(name), s.name)
			}
		}
	}
}

var (
	clientSecretJSON = regexp.MustCompile(`"client_secret":\s*"([^"]+)"`)
	clientSecretText = regexp.MustCompile(`client_secret\s+(\S+)`)
	clientSecretXML  = regexp.MustCompile(`clientSecret>([^<]+)<`)
	tokenIDXML       = regexp.MustCompile(`<tns:tokenId>([^<]+)</tns:tokenId>`)
	nativeFaultCode  = regexp.MustCompile(`<tns:code>([^<]*)</tns:code>`)
)

func submatch(t *testing.T, re *regexp.Regexp, s string) string {
	t.Helper()
	m := re.FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no %s in:\n%s", re, s)
	}
	return m[1]
}

// Passwords with characters that every encoding changes, so that the
// search covers the escaped forms too.
const (
	leakAdminPassword = `Adm1n&<pw>+/"q"%20é-bootstrap`
	leakAlicePassword = `al1ce&<pw>+/"q"%20é-user`
	leakCarolPassword = `car0l&<pw>+/"q"é-digest`
	leakDavePassword  = `dav3&<pw>+/"q"é-lockout`
	leakErinPassword  = `er1n,&<pw>+/"q"é-imported`
)

func TestSecretsNeverLeak(t *testing.T) {
	t.Setenv("TOKENADMIN_ADMIN_PASSWORD", leakAdminPassword)
	ts := startTestServer(t, serveConfig{
		LogLevel: slog.LevelDebug,
		// Every request comes from 127.0.0.1: the address must not lock
		// before the user names do.
		AddrThrottle: auth.NewThrottle(1000),
	})
	h := &leakHunt{t: t, ts: ts, client: &http.Client{Transport: &http.Transport{}}}
	t.Cleanup(h.client.CloseIdleConnections)
	admin := basic("admin", leakAdminPassword)
	alice := basic("alice", leakAlicePassword)
	h.password("admin password", "admin", leakAdminPassword)
	h.password("alice's password", "alice", leakAlicePassword)
	h.password("carol's password", "carol", leakCarolPassword)
	h.password("dave's password", "dave", leakDavePassword)
	h.password("erin's password", "erin", leakErinPassword)
	for _, u := range []struct{ user, pw string }{{"admin", leakAdminPassword}, {"alice", leakAlicePassword}, {"carol", leakCarolPassword}, {"dave", leakDavePassword}} {
		h.nearMiss(u.user+"'s password + x", u.pw+"x", base64.StdEncoding.EncodeToString([]byte(u.user+":"+u.pw+"x")))
		h.nearMiss(u.user+"'s password minus its last character", u.pw[:len(u.pw)-1])
	}

	// Users by CLI (one with a digest credential) and by import.
	h.mustCLI(leakAlicePassword+"\n", "user", "add", "alice", "--role", "user")
	h.mustCLI(leakCarolPassword+"\n", "user", "add", "carol", "--role", "user", "--wss-digest")
	h.mustCLI(leakDavePassword+"\n", "user", "add", "dave", "--role", "user")
	usersCSV := filepath.Join(t.TempDir(), "users.csv")
	writeCSV(t, usersCSV, [][]string{{"name", "role", "password"}, {"erin", "user", leakErinPassword}})
	h.mustCLI("", "import", "users", usersCSV)

	// Apps: by CLI (JSON and text), rotated by CLI, by SOAP, regenerated
	// by SOAP, imported with a secret.
	out, idx := h.mustCLI("", "app", "create", "--name", "Shop", "--client-id", "shop", "--owner", "alice", "--introspect", "--scopes", "openid orders", "--json")
	shopSecret := submatch(t, clientSecretJSON, out)
	h.secret("shop's secret (app create --json)", shopSecret, idx)
	out, idx = h.mustCLI("", "app", "create", "--name", "Batch", "--client-id", "batch", "--grant-types", "client_credentials")
	h.secret("batch's first secret (app create)", submatch(t, clientSecretText, out), idx)
	out, idx = h.mustCLI("", "app", "rotate-secret", "batch")
	batchSecret := submatch(t, clientSecretText, out)
	h.secret("batch's secret (rotate-secret)", batchSecret, idx)
	status, body, idx := h.native(admin, "registerApp", `<t:name>Partner</t:name><t:owner>alice</t:owner><t:clientId>partner</t:clientId>`)
	if status != http.StatusOK {
		t.Fatalf("registerApp: HTTP %d\n%s", status, body)
	}
	h.secret("partner's first secret (registerApp)", submatch(t, clientSecretXML, body), idx)
	status, body, idx = h.native(admin, "regenerateSecret", `<t:clientId>partner</t:clientId>`)
	if status != http.StatusOK {
		t.Fatalf("regenerateSecret: HTTP %d\n%s", status, body)
	}
	partnerSecret := submatch(t, clientSecretXML, body)
	h.secret("partner's secret (regenerateSecret)", partnerSecret, idx)
	const importedSecret = "imported-client-secret-0123456789abcdef"
	h.secret("imported app's secret", importedSecret, -1)
	appsCSV := filepath.Join(t.TempDir(), "apps.csv")
	writeCSV(t, appsCSV, [][]string{{"client_id", "name", "owner", "grant_types", "client_secret"}, {"legacyapp", "Legacy App", "alice", "client_credentials", importedSecret}})
	h.mustCLI("", "import", "apps", appsCSV)

	// OAuth: password grant, refresh with rotation, reuse, client
	// credentials (Basic and client_secret_post), failures.
	at1, rt1 := h.tokens("password grant", "shop", shopSecret, url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {leakAlicePassword}, "scope": {"openid orders"}})
	at2, rt2 := h.tokens("first refresh", "shop", shopSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt1}})
	if status, body, _ := h.oauth("token", "shop", shopSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt1}}); status != http.StatusBadRequest || !strings.Contains(body, "invalid_grant") {
		t.Errorf("refresh token reuse: HTTP %d %s", status, body)
	}
	h.tokens("client_credentials", "batch", batchSecret, url.Values{"grant_type": {"client_credentials"}})
	h.tokens("client_secret_post", "", "", url.Values{"grant_type": {"client_credentials"}, "client_id": {"partner"}, "client_secret": {partnerSecret}})
	h.tokens("imported app", "legacyapp", importedSecret, url.Values{"grant_type": {"client_credentials"}})
	if status, body, _ := h.oauth("token", "shop", shopSecret, url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {leakAlicePassword + "x"}}); status != http.StatusBadRequest {
		t.Errorf("password grant with a near-miss password: HTTP %d %s", status, body)
	}
	if status, body, _ := h.oauth("token", "shop", shopSecret+"x", url.Values{"grant_type": {"client_credentials"}}); status != http.StatusUnauthorized {
		t.Errorf("near-miss client secret: HTTP %d %s", status, body)
	}
	h.nearMiss("shop's secret + x", shopSecret+"x")

	// Introspection (the app, an admin; active and revoked) and RFC 7009
	// revocation.
	at3, rt3 := h.tokens("second password grant", "shop", shopSecret, url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {leakAlicePassword}})
	for _, tok := range []string{at1, at2, rt2, at3} {
		if status, body, _ := h.oauth("introspect", "shop", shopSecret, url.Values{"token": {tok}}); status != http.StatusOK {
			t.Errorf("introspect: HTTP %d %s", status, body)
		}
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, ts.URL()+"/oauth2/introspect", strings.NewReader(url.Values{"token": {at3}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("admin", leakAdminPassword) // a user's Basic credentials, as sent
	if status, _, body, _ := h.do(req); status != http.StatusOK || !strings.Contains(body, `"active":true`) {
		t.Errorf("admin introspection: HTTP %d %s", status, body)
	}
	if status, body, _ := h.oauth("revoke", "shop", shopSecret, url.Values{"token": {rt3}, "token_type_hint": {"refresh_token"}}); status != http.StatusOK {
		t.Errorf("RFC 7009 revoke: HTTP %d %s", status, body)
	}

	// The native API: listings, getToken, revokeToken by value (right and
	// wrong), and with Basic, WS-Security text and digest.
	at4, _ := h.tokens("third password grant", "shop", shopSecret, url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {leakAlicePassword}})
	status, body, _ = h.native(admin, "listActiveTokens", `<t:pageSize>2</t:pageSize>`)
	if status != http.StatusOK {
		t.Fatalf("listActiveTokens: HTTP %d\n%s", status, body)
	}
	pageToken := regexp.MustCompile(`nextPageToken>([^<]+)<`).FindStringSubmatch(body)
	if pageToken != nil {
		h.native(admin, "listActiveTokens", `<t:pageSize>2</t:pageSize><t:pageToken>`+pageToken[1]+`</t:pageToken>`)
	}
	status, body, _ = h.native(alice, "listActiveTokens", ``)
	if status != http.StatusOK {
		t.Fatalf("alice's listActiveTokens: HTTP %d\n%s", status, body)
	}
	for _, id := range tokenIDXML.FindAllStringSubmatch(body, -1) {
		h.native(alice, "getToken", `<t:tokenId>`+id[1]+`</t:tokenId>`)
	}
	h.native(alice, "listAuthorizedApps", ``)
	h.native(admin, "listApps", ``)
	h.native(admin, "getApp", `<t:clientId>shop</t:clientId>`)
	if status, body, _ := h.native(alice, "revokeToken", `<t:token>`+at4+`x</t:token>`); status == http.StatusOK || !strings.Contains(body, "TokenNotFound") {
		t.Errorf("revokeToken of a wrong value: HTTP %d\n%s", status, body)
	}
	h.nearMiss("a wrong token value", at4+"x")
	if status, body, _ := h.native(alice, "revokeToken", `<t:token>`+at4+`</t:token><t:reason>lost phone</t:reason>`); status != http.StatusOK || !strings.Contains(body, "<tns:revoked>true</tns:revoked>") {
		t.Errorf("revokeToken by value: HTTP %d\n%s", status, body)
	}
	at5, _ := h.tokens("fourth password grant", "shop", shopSecret, url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {leakAlicePassword}})
	textToken := func(user, password string) string {
		return `<wsse:Security xmlns:wsse="` + soap.NSWSSE + `" soap:mustUnderstand="1"><wsse:UsernameToken><wsse:Username>` + escapeXML(user) +
			`</wsse:Username><wsse:Password Type="` + soap.PasswordTextType + `">` + escapeXML(password) + `</wsse:Password></wsse:UsernameToken></wsse:Security>`
	}
	if status, body, _ := h.native(creds{header: textToken("alice", leakAlicePassword)}, "listActiveTokens", ``); status != http.StatusOK {
		t.Errorf("WS-Security text: HTTP %d\n%s", status, body)
	}
	if status, body, _ := h.native(creds{header: textToken("alice", leakAlicePassword+"x")}, "listActiveTokens", ``); status == http.StatusOK {
		t.Errorf("WS-Security text with a near-miss password: HTTP %d\n%s", status, body)
	}
	if status, body, _ := h.native(creds{header: digestHeader(t, "soap", "carol", leakCarolPassword)}, "listActiveTokens", ``); status != http.StatusOK {
		t.Errorf("WS-Security digest: HTTP %d\n%s", status, body)
	}
	if status, body, _ := h.native(creds{header: digestHeader(t, "soap", "carol", leakCarolPassword+"x")}, "listActiveTokens", ``); status == http.StatusOK {
		t.Errorf("WS-Security digest of a near-miss password: HTTP %d\n%s", status, body)
	}

	// Secrets in the wrong fields: faults must not echo them.
	wrongField := []struct {
		c          creds
		op, inner  string
		wantStatus int
	}{
		{alice, "getToken", `<t:tokenId>` + at5 + `</t:tokenId>`, http.StatusInternalServerError},
		{admin, "listActiveTokens", `<t:user>` + at5 + `</t:user>`, http.StatusOK},
		{alice, "listActiveTokens", `<t:user>` + at5 + `</t:user>`, http.StatusInternalServerError},
		{alice, "listActiveTokens", `<t:clientId>` + shopSecret + `</t:clientId>`, http.StatusOK},
		{alice, "listActiveTokens", `<t:tokenType>` + at5 + `</t:tokenType>`, http.StatusInternalServerError},
		{alice, "listActiveTokens", `<t:pageToken>` + at5 + `</t:pageToken>`, http.StatusInternalServerError},
		{alice, "revokeToken", `<t:tokenId>` + at5 + `</t:tokenId>`, http.StatusInternalServerError},
		{alice, "revokeToken", `<t:token>` + at5 + `</t:token><t:tokenTypeHint>` + at5 + `</t:tokenTypeHint>`, http.StatusInternalServerError},
		{alice, "revokeTokens", `<t:clientId>` + at5 + `</t:clientId>`, http.StatusOK},
		{admin, "getApp", `<t:clientId>` + shopSecret + `</t:clientId>`, http.StatusInternalServerError},
		{admin, "regenerateSecret", `<t:clientId>` + shopSecret + `</t:clientId>`, http.StatusInternalServerError},
		{admin, "listAuditEvents", `<t:actor>` + escapeXML(leakAlicePassword) + `</t:actor>`, http.StatusOK},
		{admin, "listAuditEvents", `<t:since>` + escapeXML(leakAlicePassword) + `</t:since>`, http.StatusInternalServerError},
		{admin, "listAuditEvents", `<t:pageToken>` + at5 + `</t:pageToken>`, http.StatusInternalServerError},
		{admin, "unknownOperation", `<t:token>` + at5 + `</t:token>`, http.StatusInternalServerError},
		{basic(leakAlicePassword, leakAlicePassword), "listActiveTokens", ``, http.StatusUnauthorized},
		{creds{header: textToken(leakAlicePassword, leakAlicePassword)}, "listActiveTokens", ``, http.StatusInternalServerError},
	}
	for _, w := range wrongField {
		if status, body, _ := h.native(w.c, w.op, w.inner); status != w.wantStatus {
			t.Errorf("%s with a secret in the wrong field: HTTP %d, want %d\n%s", w.op, status, w.wantStatus, body)
		} else if status == http.StatusInternalServerError && nativeFaultCode.FindString(body) == "" && !strings.Contains(body, "faultcode") {
			t.Errorf("%s: HTTP 500 without a fault\n%s", w.op, body)
		}
	}
	if status, body, _ := h.oauth("token", "shop", shopSecret, url.Values{"grant_type": {"client_credentials"}, "scope": {at5}}); status != http.StatusBadRequest {
		t.Errorf("a token value as scope: HTTP %d %s", status, body)
	}
	if status, body, _ := h.oauth("token", "shop", shopSecret, url.Values{"grant_type": {at5}}); status != http.StatusBadRequest {
		t.Errorf("a token value as grant_type: HTTP %d %s", status, body)
	}
	if status, body, _ := h.oauth("token", shopSecret, shopSecret, url.Values{"grant_type": {"client_credentials"}}); status != http.StatusUnauthorized {
		t.Errorf("a secret as client_id: HTTP %d %s", status, body)
	}
	if status, body, _ := h.oauth("introspect", "shop", shopSecret, url.Values{"token": {at5}, "token_type_hint": {at5}}); status != http.StatusOK {
		t.Errorf("a token value as token_type_hint: HTTP %d %s", status, body)
	}
	if status, body, _ := h.oauth("token", "shop", shopSecret, url.Values{"grant_type": {"password"}, "username": {leakAlicePassword}, "password": {leakAlicePassword}}); status != http.StatusBadRequest {
		t.Errorf("a password as username: HTTP %d %s", status, body)
	}

	// Brute force: near misses of dave's password lock his name; then
	// even the right one fails. (A repeated wrong password is answered
	// from the failure cache and is not a new guess: each differs.)
	for i := 0; i < 6; i++ {
		guess := leakDavePassword + string(rune('a'+i))
		h.nearMiss("a guess at dave's password", guess, base64.StdEncoding.EncodeToString([]byte("dave:"+guess)))
		if status, _, _ := h.native(basic("dave", guess), "listActiveTokens", ``); status != http.StatusUnauthorized {
			t.Fatalf("wrong password %d: HTTP %d", i, status)
		}
	}
	if status, _, _ := h.native(basic("dave", leakDavePassword), "listActiveTokens", ``); status != http.StatusUnauthorized {
		t.Errorf("the right password while locked: HTTP %d, want 401", status)
	}

	// The legacy services: login and a session, app data, validation
	// with a token value, revocation by value, near misses.
	const authNS = "http://authentication.services.core.carbon.wso2.org"
	loginBody := func(user, password string) string {
		return `<ns1:username>` + escapeXML(user) + `</ns1:username><ns1:password>` + escapeXML(password) + `</ns1:password><ns1:remoteAddress>10.0.0.7</ns1:remoteAddress>`
	}
	status, hdr, body, _ := h.legacyCall(creds{}, "AuthenticationAdmin", "login", authNS, loginBody("alice", leakAlicePassword))
	if status != http.StatusOK || !strings.Contains(body, ">true<") {
		t.Fatalf("legacy login: HTTP %d\n%s", status, body)
	}
	m := sessionCookie.FindStringSubmatch(hdr.Get("Set-Cookie"))
	if m == nil {
		t.Fatalf("legacy login set no session cookie: %v", hdr)
	}
	session := creds{cookie: m[1]}
	if status, _, body, _ := h.legacyCall(session, "OAuthAdminService", "getAppsAuthorizedByUser", "", ""); status != http.StatusOK || !strings.Contains(body, "Shop") {
		t.Errorf("getAppsAuthorizedByUser with the session: HTTP %d\n%s", status, body)
	}
	if status, _, body, _ := h.legacyCall(creds{}, "AuthenticationAdmin", "login", authNS, loginBody("alice", leakAlicePassword+"x")); status == http.StatusOK && strings.Contains(body, ">true<") {
		t.Errorf("legacy login with a near-miss password succeeded\n%s", body)
	}
	h.legacyCall(creds{}, "AuthenticationAdmin", "login", authNS, loginBody(leakAlicePassword, leakAlicePassword))
	h.legacyCall(basic("alice", leakAlicePassword+"x"), "OAuthAdminService", "getAppsAuthorizedByUser", "", "")
	h.legacyCall(session, "AuthenticationAdmin", "logout", authNS, "")
	for _, op := range []string{"getAllOAuthApplicationData", "getAllowedGrantTypes"} {
		h.legacyCall(admin, "OAuthAdminService", op, "", "")
	}
	for _, app := range []string{"shop", "batch", "partner", "legacyapp"} {
		h.legacyCall(admin, "OAuthAdminService", "getOAuthApplicationData", "", `<ns1:consumerKey>`+app+`</ns1:consumerKey>`)
	}
	h.legacyCall(admin, "OAuthAdminService", "getOAuthApplicationData", "", `<ns1:consumerKey>`+shopSecret+`</ns1:consumerKey>`)
	at6, _ := h.tokens("fifth password grant", "shop", shopSecret, url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {leakAlicePassword}})
	validate := func(c creds, op, value string) string {
		_, _, body, _ := h.legacyCall(c, "OAuth2TokenValidationService", op, "",
			`<ns1:validationReqDTO><ns2:accessToken xmlns:ns2="http://dto.oauth2.identity.carbon.wso2.org/xsd"><ns2:identifier>`+
				value+`</ns2:identifier><ns2:tokenType>bearer</ns2:tokenType></ns2:accessToken></ns1:validationReqDTO>`)
		return body
	}
	if body := validate(admin, "validate", at6); !strings.Contains(body, ":valid>true<") {
		t.Errorf("legacy validate:\n%s", body)
	}
	validate(admin, "findOAuthConsumerIfTokenIsValid", at6)
	validate(admin, "validate", at6+"x")
	h.legacyCall(alice, "APIKeyMgtSubscriberService", "revokeAccessToken", "", `<ns1:key>`+at6+`x</ns1:key><ns1:consumerKey>shop</ns1:consumerKey><ns1:authorizedUser>alice</ns1:authorizedUser>`)
	if status, _, body, _ := h.legacyCall(alice, "APIKeyMgtSubscriberService", "revokeAccessToken", "", `<ns1:key>`+at6+`</ns1:key><ns1:consumerKey>shop</ns1:consumerKey><ns1:authorizedUser>alice</ns1:authorizedUser>`); status != http.StatusAccepted && status != http.StatusOK {
		t.Errorf("legacy revokeAccessToken: HTTP %d\n%s", status, body)
	}
	h.nearMiss("a wrong token value (legacy)", at6+"x")
	h.legacyCall(creds{header: strings.ReplaceAll(digestHeader(t, "soap", "carol", leakCarolPassword), `soap:mustUnderstand`, `soapenv:mustUnderstand`)}, "OAuthAdminService", "getAppsAuthorizedByUser", "", "")

	// The CLI: tokens issued and revoked by value, imported with values.
	out, idx = h.mustCLI("", "token", "issue", "--client", "shop", "--user", "alice", "--scope", "openid", "--ttl", "1h", "--refresh", "--json")
	var issued struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.Unmarshal([]byte(out), &issued); err != nil || issued.AccessToken == "" {
		t.Fatalf("token issue --json: %v\n%s", err, out)
	}
	h.secret("token issue access token", issued.AccessToken, idx)
	h.secret("token issue refresh token", issued.RefreshToken, idx)
	h.mustCLI(issued.RefreshToken+"\n", "token", "revoke", "--token", "-")
	r, _ := h.cli(issued.AccessToken+"x\n", "token", "revoke", "--token", "-")
	if r.code == 0 {
		t.Errorf("token revoke of a wrong value succeeded:\n%s", r.stdout)
	}
	h.nearMiss("a wrong token value (CLI)", issued.AccessToken+"x")
	importedAT, importedRT := "imported-access-token-value-0123456789", "imported-refresh-token-value-0123456789"
	h.secret("imported access token", importedAT, -1)
	h.secret("imported refresh token", importedRT, -1)
	tokensCSV := filepath.Join(t.TempDir(), "tokens.csv")
	writeCSV(t, tokensCSV, [][]string{
		{"value", "type", "client_id", "user", "scopes", "issued_at", "expires_at", "grant"},
		{importedAT, "access", "shop", "alice", "openid", "2025-01-01T00:00:00Z", "2099-01-01T01:00:00Z", "g1"},
		{importedRT, "refresh", "shop", "alice", "openid", "2025-01-01T00:00:00Z", "2099-01-02T00:00:00Z", "g1"},
		{importedAT, "access", "shop", "bob", "openid", "2025-01-01T00:00:00Z", "2099-01-01T01:00:00Z", "g2"},
		{importedAT + "-bad", "nonsense", "shop", "alice", "openid", "yesterday", "2099-01-01T01:00:00Z", "g3"},
	})
	h.nearMiss("a rejected imported token", importedAT+"-bad")
	h.mustCLI("", "import", "tokens", tokensCSV)
	h.cli("", "import", "tokens", tokensCSV, "--json")
	if status, body, _ := h.oauth("introspect", "shop", shopSecret, url.Values{"token": {importedAT}}); status != http.StatusOK || !strings.Contains(body, `"active":true`) {
		t.Errorf("introspection of an imported token: HTTP %d %s", status, body)
	}
	h.tokens("refresh of an imported token", "shop", shopSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {importedRT}})
	h.mustCLI("", "token", "list", "--all", "--json")
	h.mustCLI("", "app", "list", "--json")
	h.mustCLI("", "app", "show", "shop")

	// What an operator reads: the audit log, the configuration, metrics,
	// probes and the WSDLs.
	h.mustCLI("", "audit", "list", "--json")
	h.mustCLI("", "audit", "list")
	h.mustCLI("", "audit", "verify")
	if status, body, _ := h.native(admin, "listAuditEvents", `<t:pageSize>1000</t:pageSize>`); status != http.StatusOK {
		t.Errorf("listAuditEvents: HTTP %d\n%s", status, body)
	}
	r = runMain(t, "", "config", "print", "--db", ts.path)
	h.observe("tokenadmin config print (stdout)", r.stdout)
	h.observe("tokenadmin config print (stderr)", r.stderr)
	if r.code != 0 || !strings.Contains(r.stdout, "********") {
		t.Errorf("config print: exit %d, does not mask TOKENADMIN_ADMIN_PASSWORD:\n%s", r.code, r.stdout)
	}
	for _, p := range []string{"/metrics", "/healthz", "/readyz", soap.TokenAdminPath + "?wsdl",
		"/services/OAuthAdminService?wsdl", "/services/AuthenticationAdmin?wsdl",
		"/services/OAuth2TokenValidationService?wsdl", "/services/APIKeyMgtSubscriberService?wsdl"} {
		if status, body := h.get(p); status != http.StatusOK {
			t.Errorf("GET %s: HTTP %d\n%.300s", p, status, body)
		}
	}

	// The database file and its WAL, while the server runs and after.
	dbFiles := []string{ts.path, ts.path + "-wal", ts.path + "-shm"}
	h.checkFiles(dbFiles...)
	ts.close(t)
	h.checkFiles(dbFiles...)
	h.observe("server log", ts.stderr.String())
	h.observe("server stdout", ts.stdout.String())
	if !strings.Contains(ts.stderr.String(), `"level":"DEBUG"`) {
		t.Error("the server log holds no debug lines: the scan misses what debug adds")
	}
	h.check()
}

// writeCSV writes rows to a CSV file.
func writeCSV(t *testing.T, name string, rows [][]string) {
	t.Helper()
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	if err := w.WriteAll(rows); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}
