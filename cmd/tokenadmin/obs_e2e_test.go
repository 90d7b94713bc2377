package main

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"tokenadmin"
)

// obsFixture is a running server with alice (role user) holding one
// access token of app "shop", whose secret it knows.
type obsFixture struct {
	*testServer
	secret string
	access *tokenadmin.Issued
}

func newObsFixture(t *testing.T) *obsFixture {
	t.Helper()
	t.Setenv("TOKENADMIN_ADMIN_PASSWORD", adminPassword)
	ts := startTestServer(t, serveConfig{})
	// Setup goes through the server's own store, so that its counter of
	// active tokens sees it as it sees requests.
	createUser(t, ts.db, "alice", tokenadmin.RoleUser, aliceHash())
	a := tokenadmin.NewApp("Web Shop")
	a.ClientID, a.Scopes = "shop", []string{"openid"}
	_, secret, err := ts.db.RegisterApp(t.Context(), a)
	if err != nil {
		t.Fatal(err)
	}
	iss := issue(t, ts.db, tokenadmin.IssueRequest{ClientID: "shop", User: "alice", Scopes: []string{"openid"}, AccessTTL: time.Hour})
	if err := ts.db.RecountActive(t.Context()); err != nil {
		t.Fatal(err)
	}
	return &obsFixture{testServer: ts, secret: secret, access: iss}
}

// do sends a request and returns the response's status, request id and body.
func (f *obsFixture) do(t *testing.T, method, path, contentType, body string, hdr map[string]string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(method, f.URL()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if u, p, ok := strings.Cut(hdr["basic"], ":"); ok {
		req.Header.Del("basic")
		req.SetBasicAuth(u, p)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("X-Request-Id"), string(b)
}

// soapCall calls a native operation with SOAP 1.1.
func (f *obsFixture) soapCall(t *testing.T, user, password, op, inner, requestID string) (int, string, string) {
	t.Helper()
	env := `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:t="urn:tokenadmin:v1"><soap:Body><t:` +
		op + `>` + inner + `</t:` + op + `></soap:Body></soap:Envelope>`
	return f.do(t, "POST", "/services/TokenAdmin", "text/xml; charset=utf-8", env, map[string]string{
		"SOAPAction": `"urn:tokenadmin:v1:` + op + `"`, "basic": user + ":" + password, "X-Request-Id": requestID})
}

// accessLog returns the access-log lines written so far, by request id.
func accessLog(t *testing.T, stderr string) map[string]map[string]any {
	t.Helper()
	lines := map[string]map[string]any{}
	for _, l := range strings.Split(strings.TrimSpace(stderr), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", l)
		}
		if m["msg"] == "request" {
			lines[m["request_id"].(string)] = m
		}
	}
	return lines
}

// scrape reads /metrics over HTTP and parses it.
func (f *obsFixture) scrape(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(f.URL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mf, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return mf
}

// value returns the value of the series of family name with exactly the
// given labels, and whether there is one.
func value(mf map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	fam := mf[name]
	if fam == nil {
		return 0, false
	}
next:
	for _, m := range fam.GetMetric() {
		if len(m.GetLabel())*2 != len(labels) {
			continue
		}
		for i, lp := range m.GetLabel() {
			if lp.GetName() != labels[2*i] || lp.GetValue() != labels[2*i+1] {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

func wantValue(t *testing.T, mf map[string]*dto.MetricFamily, want float64, name string, labels ...string) {
	t.Helper()
	got, ok := value(mf, name, labels...)
	if !ok || got != want {
		t.Errorf("%s%v = %v (present %v), want %v", name, labels, got, ok, want)
	}
}

func TestAccessLogAndMetrics(t *testing.T) {
	f := newObsFixture(t)
	active0, ok := value(f.scrape(t), "tokenadmin_active_tokens")
	if !ok || active0 != 1 {
		t.Fatalf("tokenadmin_active_tokens = %v (present %v), want 1", active0, ok)
	}

	// A SOAP listing, with the client's request id.
	status, id, _ := f.soapCall(t, "alice", alicePassword, "listActiveTokens", `<t:pageSize>20</t:pageSize>`, "list-1")
	if status != http.StatusOK || id != "list-1" {
		t.Fatalf("listActiveTokens: status %d, X-Request-Id %q; want 200, list-1", status, id)
	}
	// A SOAP fault (wrong password), with an id the server must replace.
	status, badID, _ := f.soapCall(t, "alice", "wrong-password", "getToken", `<t:tokenId>x</t:tokenId>`, "has spaces and\"quotes")
	if status != http.StatusUnauthorized || len(badID) != 16 || strings.ContainsAny(badID, " \"") {
		t.Fatalf("wrong password: status %d, X-Request-Id %q; want 401 and a generated id", status, badID)
	}
	// A revocation with a free-text reason.
	status, _, body := f.soapCall(t, "alice", alicePassword, "revokeToken",
		`<t:tokenId>`+f.access.Access.ID+`</t:tokenId><t:reason>lost phone</t:reason>`, "revoke-1")
	if status != http.StatusOK || !strings.Contains(body, "revokedCount>1<") {
		t.Fatalf("revokeToken: %d %s", status, body)
	}
	if got, _ := value(f.scrape(t), "tokenadmin_active_tokens"); got != active0-1 {
		t.Errorf("tokenadmin_active_tokens after a revocation = %v, want %v", got, active0-1)
	}
	// An OAuth token request.
	status, _, body = f.do(t, "POST", "/oauth2/token", "application/x-www-form-urlencoded",
		url.Values{"grant_type": {"client_credentials"}}.Encode(), map[string]string{"basic": "shop:" + f.secret, "X-Request-Id": "oauth-1"})
	if status != http.StatusOK {
		t.Fatalf("client_credentials: %d %s", status, body)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal([]byte(body), &tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("client_credentials: %s", body)
	}
	if got, _ := value(f.scrape(t), "tokenadmin_active_tokens"); got != active0 {
		t.Errorf("tokenadmin_active_tokens after an issue = %v, want %v", got, active0)
	}
	// A legacy call.
	status, _, body = f.do(t, "POST", "/services/OAuthAdminService", "text/xml; charset=UTF-8",
		`<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><xsd:getAppsAuthorizedByUser xmlns:xsd="http://org.apache.axis2/xsd"/></soapenv:Body></soapenv:Envelope>`,
		map[string]string{"SOAPAction": "urn:getAppsAuthorizedByUser", "basic": "alice:" + alicePassword, "X-Request-Id": "legacy-1"})
	if status != http.StatusOK {
		t.Fatalf("legacy getAppsAuthorizedByUser: %d %s", status, body)
	}
	// A path nobody serves.
	if status, _, _ := f.do(t, "GET", "/no/such/path", "", "", map[string]string{"X-Request-Id": "nope-1"}); status != http.StatusNotFound {
		t.Fatalf("GET /no/such/path: %d", status)
	}

	logs := accessLog(t, f.stderr.String())
	for _, c := range []struct {
		id   string
		want map[string]any
	}{
		{id: "list-1", want: map[string]any{"method": "POST", "path": "/services/TokenAdmin", "operation": "listActiveTokens",
			"caller": "alice", "role": "user", "outcome": "ok", "status": 200.0, "client": "127.0.0.1"}},
		{id: badID, want: map[string]any{"operation": "unknown", "caller": "", "outcome": "Unauthenticated", "status": 401.0}},
		{id: "revoke-1", want: map[string]any{"operation": "revokeToken", "caller": "alice", "outcome": "ok"}},
		{id: "oauth-1", want: map[string]any{"path": "/oauth2/token", "operation": "oauth2/token:client_credentials",
			"caller": "shop", "role": "", "outcome": "ok", "status": 200.0}},
		{id: "legacy-1", want: map[string]any{"path": "/services/OAuthAdminService", "operation": "getAppsAuthorizedByUser",
			"caller": "alice", "outcome": "ok", "status": 200.0}},
		{id: "nope-1", want: map[string]any{"method": "GET", "operation": "other", "outcome": "http_4xx", "status": 404.0}},
	} {
		line := logs[c.id]
		if line == nil {
			t.Errorf("no access-log line for request %s in:\n%s", c.id, f.stderr)
			continue
		}
		if line["level"] != "INFO" {
			t.Errorf("request %s: level %v, want INFO", c.id, line["level"])
		}
		for k, v := range c.want {
			if line[k] != v {
				t.Errorf("request %s: %s = %#v, want %#v", c.id, k, line[k], v)
			}
		}
		if b, ok := line["bytes"].(float64); !ok || b <= 0 {
			t.Errorf("request %s: bytes = %v, want > 0", c.id, line["bytes"])
		}
		if d, ok := line["duration_ms"].(float64); !ok || d < 0 {
			t.Errorf("request %s: duration_ms = %v", c.id, line["duration_ms"])
		}
	}
	for _, secret := range []string{alicePassword, f.secret, tok.AccessToken, "Authorization", "Basic "} {
		if strings.Contains(f.stderr.String(), secret) {
			t.Errorf("the log contains %q", secret)
		}
	}

	mf := f.scrape(t)
	wantValue(t, mf, 1, "tokenadmin_requests_total", "api", "native", "operation", "listActiveTokens", "outcome", "ok")
	wantValue(t, mf, 1, "tokenadmin_requests_total", "api", "native", "operation", "unknown", "outcome", "Unauthenticated")
	wantValue(t, mf, 1, "tokenadmin_requests_total", "api", "native", "operation", "revokeToken", "outcome", "ok")
	wantValue(t, mf, 1, "tokenadmin_requests_total", "api", "oauth", "operation", "oauth2/token:client_credentials", "outcome", "ok")
	wantValue(t, mf, 1, "tokenadmin_requests_total", "api", "legacy", "operation", "getAppsAuthorizedByUser", "outcome", "ok")
	wantValue(t, mf, 1, "tokenadmin_requests_total", "api", "other", "operation", "other", "outcome", "http_4xx")
	wantValue(t, mf, 1, "tokenadmin_request_duration_seconds", "api", "native", "operation", "listActiveTokens")
	wantValue(t, mf, 1, "tokenadmin_auth_failures_total", "api", "native")
	wantValue(t, mf, 1, "tokenadmin_revocations_total", "path", "native", "reason", "other")
	wantValue(t, mf, 0, "tokenadmin_store_errors_total", "op", "write")
	wantValue(t, mf, active0, "tokenadmin_active_tokens")
	// A handful of writes: the WAL is far from its restart size.
	wantValue(t, mf, 0, "tokenadmin_wal_restarts_total")
	wantValue(t, mf, 0, "tokenadmin_wal_restart_hold_seconds_total")
	if _, ok := mf["tokenadmin_wal_pending_frames"]; !ok {
		t.Error("no tokenadmin_wal_pending_frames")
	}
	if _, ok := mf["go_goroutines"]; !ok {
		t.Error("no Go collector metrics")
	}
}

func TestMetricLabelsStayBounded(t *testing.T) {
	f := newObsFixture(t)
	rnd := rand.New(rand.NewPCG(1, 2))
	for i := range 1000 {
		word := fmt.Sprintf("x%08x", rnd.Uint32())
		switch i % 3 {
		case 0: // a random path
			f.do(t, "POST", "/"+word+"/"+fmt.Sprint(i), "text/plain", "", nil)
		case 1: // a random SOAP operation
			f.soapCall(t, "admin", adminPassword, word, "", "")
		case 2: // a random legacy service and action
			f.do(t, "POST", "/services/"+word, "text/xml", "<x/>", map[string]string{"SOAPAction": "urn:" + word})
		}
	}
	mf := f.scrape(t)
	for name, max := range map[string]int{"tokenadmin_requests_total": 5, "tokenadmin_request_duration_seconds": 5} {
		if n := len(mf[name].GetMetric()); n == 0 || n > max {
			t.Errorf("%s has %d series after 1000 random requests, want 1 to %d", name, n, max)
		}
	}
	wantValue(t, mf, 334, "tokenadmin_requests_total", "api", "other", "operation", "other", "outcome", "http_4xx")
	wantValue(t, mf, 333, "tokenadmin_requests_total", "api", "native", "operation", "unknown", "outcome", string("UnknownOperation"))
}

func TestReadyz(t *testing.T) {
	f := newObsFixture(t)
	for _, path := range []string{"/healthz", "/readyz"} {
		if status, _, body := f.do(t, "GET", path, "", "", nil); status != http.StatusOK {
			t.Errorf("GET %s: %d %s", path, status, body)
		}
	}
	// A schema older than the binary's: not ready, alive all the same.
	raw, err := sql.Open("sqlite3", "file:"+f.path+"?_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`DELETE FROM schema_migrations WHERE name = (SELECT max(name) FROM schema_migrations)`); err != nil {
		t.Fatal(err)
	}
	if status, _, body := f.do(t, "GET", "/readyz", "", "", nil); status != http.StatusServiceUnavailable || !strings.HasPrefix(body, "not ready: ") {
		t.Errorf("GET /readyz at an old schema: %d %q, want 503 not ready", status, body)
	}
	if status, _, _ := f.do(t, "GET", "/healthz", "", "", nil); status != http.StatusOK {
		t.Errorf("GET /healthz at an old schema: %d, want 200", status)
	}
	wantValue(t, f.scrape(t), 1, "tokenadmin_requests_total", "api", "ops", "operation", "readyz", "outcome", "not_ready")
}

func TestServeLogLevel(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
	}{
		{name: "unknown level", args: []string{"serve", "--log-level", "loud"}},
		{name: "numeric level", args: []string{"serve", "--log-level", "debug+2"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := runMain(t, "", c.args...)
			if r.code != 2 || !strings.Contains(r.stderr, "--log-level") {
				t.Errorf("%v: exit %d, stderr %q; want 2 and a message about --log-level", c.args, r.code, r.stderr)
			}
		})
	}
}
