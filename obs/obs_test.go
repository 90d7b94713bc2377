package obs

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"tokenadmin"
)

// serve runs one request through a Middleware around next on a real
// loopback server and returns the response and the access-log line.
func serve(t *testing.T, m *Middleware, next http.HandlerFunc, edit func(*http.Request)) (*http.Response, map[string]any) {
	t.Helper()
	var buf bytes.Buffer
	m.Next, m.Logger = next, slog.New(slog.NewJSONHandler(&buf, nil))
	srv := httptest.NewServer(m)
	defer srv.Close()
	req, err := http.NewRequest("POST", srv.URL+"/services/TokenAdmin?wsdl", strings.NewReader("<x/>"))
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	srv.Close() // the handler has returned and logged
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("access log %q: %v", buf.String(), err)
	}
	return resp, line
}

func TestRequestID(t *testing.T) {
	for _, c := range []struct {
		name, sent string
		kept       bool
	}{
		{name: "safe id kept", sent: "abc-123_X.y", kept: true},
		{name: "64 characters kept", sent: strings.Repeat("a", 64), kept: true},
		{name: "65 characters replaced", sent: strings.Repeat("a", 65)},
		{name: "spaces replaced", sent: "a b"},
		{name: "newline replaced", sent: "a%0Ab"},
		{name: "quotes replaced", sent: `a"b`},
		{name: "none generated", sent: ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			var seen string
			resp, line := serve(t, &Middleware{}, func(w http.ResponseWriter, r *http.Request) {
				seen = tokenadmin.RequestInfoFrom(r.Context()).ID
			}, func(r *http.Request) {
				if c.sent != "" {
					r.Header.Set(RequestIDHeader, c.sent)
				}
			})
			got := resp.Header.Get(RequestIDHeader)
			if c.kept && got != c.sent {
				t.Errorf("X-Request-Id = %q, want %q", got, c.sent)
			}
			if !c.kept && (got == c.sent || len(got) != 16 || !tokenadmin.ValidRequestID(got)) {
				t.Errorf("X-Request-Id = %q, want a new 16-character id", got)
			}
			if seen != got || line["request_id"] != got {
				t.Errorf("handler saw %q, log has %v, response has %q", seen, line["request_id"], got)
			}
		})
	}
}

func TestClientAddr(t *testing.T) {
	for _, c := range []struct {
		name  string
		trust bool
		xff   []string
		want  string
	}{
		{name: "peer", want: "127.0.0.1"},
		{name: "forwarded ignored when not trusted", xff: []string{"203.0.113.7"}, want: "127.0.0.1"},
		{name: "last forwarded entry when trusted", trust: true, xff: []string{"198.51.100.1, 203.0.113.7"}, want: "203.0.113.7"},
		{name: "last header when trusted", trust: true, xff: []string{"198.51.100.1", "2001:db8::1"}, want: "2001:db8::1"},
		{name: "garbage falls back to the peer", trust: true, xff: []string{"not-an-ip"}, want: "127.0.0.1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var seen string
			_, line := serve(t, &Middleware{TrustForwardedHeaders: c.trust}, func(w http.ResponseWriter, r *http.Request) {
				seen = tokenadmin.RequestInfoFrom(r.Context()).ClientAddr
			}, func(r *http.Request) {
				for _, v := range c.xff {
					r.Header.Add("X-Forwarded-For", v)
				}
			})
			if seen != c.want || line["client"] != c.want {
				t.Errorf("client = %q (log %v), want %q", seen, line["client"], c.want)
			}
		})
	}
}

func TestAccessLogFields(t *testing.T) {
	m := &Middleware{Metrics: NewMetrics(Sources{})}
	_, line := serve(t, m, func(w http.ResponseWriter, r *http.Request) {
		ri := tokenadmin.RequestInfoFrom(r.Context())
		ri.Operation, ri.Outcome = "getToken", "TokenNotFound"
		ri.Caller = tokenadmin.Caller{Name: "bob", Role: tokenadmin.RoleAdmin}
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, "12345")
	}, func(r *http.Request) { r.SetBasicAuth("bob", "s3cret-password") })
	for k, v := range map[string]any{"msg": "request", "level": "INFO", "method": "POST", "path": "/services/TokenAdmin",
		"operation": "getToken", "caller": "bob", "role": "admin", "outcome": "TokenNotFound", "status": 500.0, "bytes": 5.0, "client": "127.0.0.1"} {
		if line[k] != v {
			t.Errorf("%s = %#v, want %#v", k, line[k], v)
		}
	}
	if _, ok := line["duration_ms"].(float64); !ok {
		t.Errorf("duration_ms = %#v", line["duration_ms"])
	}
	if s := fmt.Sprint(line); strings.Contains(s, "s3cret") || strings.Contains(s, "wsdl") {
		t.Errorf("the log line carries the password or the query: %s", s)
	}
	if n := testutil.ToFloat64(m.Metrics.requests.WithLabelValues(APINative, "getToken", "TokenNotFound")); n != 1 {
		t.Errorf("requests_total = %v, want 1", n)
	}
}

func TestRequestInfoCrashFreeWithoutHandlersSettingIt(t *testing.T) {
	m := &Middleware{Metrics: NewMetrics(Sources{})}
	_, line := serve(t, m, func(w http.ResponseWriter, r *http.Request) {}, nil)
	if line["operation"] != "unknown" || line["outcome"] != "ok" || line["status"] != 200.0 {
		t.Errorf("log line %v, want operation unknown, outcome ok, status 200", line)
	}
}

func TestLabelSetCap(t *testing.T) {
	m := NewMetrics(Sources{})
	for i := range 1000 {
		m.observe(APINative, fmt.Sprintf("op%d", i), fmt.Sprintf("out%d", i), 200, 0)
	}
	m.observe(APINative, "bad label\n", "out0", 200, 0) // out0: among the outcomes kept
	if n := testutil.CollectAndCount(m.requests); n > maxOperations+2 {
		t.Errorf("%d request series after 1000 distinct operations, want at most %d", n, maxOperations+2)
	}
	if n := testutil.ToFloat64(m.requests.WithLabelValues(APINative, labelUnknown, labelUnknown)); n != 1000-maxOperations {
		t.Errorf("unknown/unknown = %v, want %d", n, 1000-maxOperations)
	}
	if n := testutil.ToFloat64(m.requests.WithLabelValues(APINative, labelUnknown, "out0")); n != 1 {
		t.Errorf("unsafe operation label counted as %v under unknown/out0, want 1", n)
	}
}

func TestRevoked(t *testing.T) {
	m := NewMetrics(Sources{})
	inRequest := func(api string) context.Context {
		return context.WithValue(context.Background(), exchangeKey{}, &exchange{api: api})
	}
	m.Revoked(inRequest(APINative), "lost phone", 2)
	m.Revoked(inRequest(APINative), "", 1)
	m.Revoked(inRequest(APILegacy), "revoked_by_resource_owner", 3)
	m.Revoked(inRequest(APIOAuth), tokenadmin.ReasonRefreshReuse, 2)
	m.Revoked(inRequest(APINative), tokenadmin.ReasonAppDisabled, 5)
	m.Revoked(context.Background(), "whatever", 1)
	m.Revoked(context.Background(), "nothing", 0)
	for _, c := range []struct {
		path, reason string
		want         float64
	}{
		{PathNative, "other", 2},
		{PathNative, "unspecified", 1},
		{PathLegacy, "revoked_by_resource_owner", 3},
		{PathOAuth, tokenadmin.ReasonRefreshReuse, 2},
		{PathAppChange, tokenadmin.ReasonAppDisabled, 5},
		{PathCLI, "other", 1},
	} {
		if got := testutil.ToFloat64(m.revocations.WithLabelValues(c.path, c.reason)); got != c.want {
			t.Errorf("revocations{%s,%s} = %v, want %v", c.path, c.reason, got, c.want)
		}
	}
	if n := testutil.CollectAndCount(m.revocations); n != 6 {
		t.Errorf("%d revocation series, want 6", n)
	}
}
