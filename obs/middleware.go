package obs

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"tokenadmin"
)

// RequestIDHeader carries the request id, both ways.
const RequestIDHeader = "X-Request-Id"

// maxLoggedPath bounds the path in an access-log line.
const maxLoggedPath = 256

// Middleware is the access log and the request metrics around a handler.
// Set its fields before it serves; it is safe for concurrent use.
type Middleware struct {
	// Next serves the requests.
	Next http.Handler
	// Logger receives the access log; slog.Default() when nil.
	Logger *slog.Logger
	// Metrics, when set, records every request.
	Metrics *Metrics
	// TrustForwardedHeaders takes the client's address from the last
	// X-Forwarded-For entry, the one a reverse proxy you control added.
	// Leave it off unless such a proxy sets it: clients can send anything.
	TrustForwardedHeaders bool
	// Now is the clock of durations; time.Now when nil.
	Now func() time.Time
	// Rand makes request ids; crypto/rand.Reader when nil.
	Rand io.Reader
}

// exchange is one request as the middleware follows it: its RequestInfo,
// and the response as written. It is the ResponseWriter the handler gets,
// so a request costs one allocation for both.
type exchange struct {
	ri     tokenadmin.RequestInfo
	api    string
	w      http.ResponseWriter
	status int
	bytes  int64
}

type exchangeKey struct{}

// exchangeFrom returns the middleware's state of the request in ctx, or nil.
func exchangeFrom(ctx context.Context) *exchange {
	x, _ := ctx.Value(exchangeKey{}).(*exchange)
	return x
}

func (x *exchange) Header() http.Header { return x.w.Header() }

func (x *exchange) WriteHeader(status int) {
	if x.status == 0 && status >= 200 {
		x.status = status
	}
	x.w.WriteHeader(status)
}

func (x *exchange) Write(b []byte) (int, error) {
	if x.status == 0 {
		x.status = http.StatusOK
	}
	n, err := x.w.Write(b)
	x.bytes += int64(n)
	return n, err
}

// Flush passes a flush through, for handlers that stream.
func (x *exchange) Flush() {
	if f, ok := x.w.(http.Flusher); ok {
		if x.status == 0 {
			x.status = http.StatusOK
		}
		f.Flush()
	}
}

// Unwrap gives http.ResponseController the underlying writer.
func (x *exchange) Unwrap() http.ResponseWriter { return x.w }

// ServeHTTP serves r through Next, then logs and counts it.
func (m *Middleware) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := time.Now
	if m.Now != nil {
		now = m.Now
	}
	start := now()
	x := &exchange{w: w, api: apiOf(r.URL.Path)}
	x.ri.ID = m.requestID(r.Header.Get(RequestIDHeader))
	x.ri.ClientAddr = m.clientAddr(r)
	if x.api == APIOps {
		x.ri.Operation = strings.TrimPrefix(r.URL.Path, "/")
	}
	w.Header().Set(RequestIDHeader, x.ri.ID)
	ctx := context.WithValue(tokenadmin.WithRequestInfo(r.Context(), &x.ri), exchangeKey{}, x)

	defer func() {
		// A panic the handler did not turn into a response (net/http
		// aborts the connection) is still a request to account for.
		v := recover()
		if v != nil && x.status == 0 {
			x.status = http.StatusInternalServerError
		}
		m.finish(r, x, now().Sub(start))
		if v != nil {
			panic(v)
		}
	}()
	m.Next.ServeHTTP(x, r.WithContext(ctx))
}

// finish writes the access-log line and records the metrics.
func (m *Middleware) finish(r *http.Request, x *exchange, d time.Duration) {
	if x.status == 0 {
		x.status = http.StatusOK // nothing written: net/http answers 200
	}
	operation := x.ri.Operation
	if operation == "" {
		operation = labelUnknown
		if x.api == APIOther {
			operation = labelOther
		}
	}
	outcome := x.ri.Outcome
	if outcome == "" {
		outcome = statusOutcome(x.status)
	}
	if m.Metrics != nil {
		m.Metrics.observe(x.api, operation, outcome, x.status, d)
	}
	log := m.Logger
	if log == nil {
		log = slog.Default()
	}
	level := slog.LevelInfo
	if x.api == APIOps {
		level = slog.LevelDebug // probes and scrapes would drown the rest
	}
	ctx := r.Context()
	if !log.Enabled(ctx, level) {
		return
	}
	path := r.URL.Path
	if len(path) > maxLoggedPath {
		path = path[:maxLoggedPath]
	}
	log.LogAttrs(ctx, level, "request",
		slog.String("request_id", x.ri.ID),
		slog.String("method", r.Method),
		slog.String("path", path),
		slog.String("operation", operation),
		slog.String("caller", x.ri.Caller.Name),
		slog.String("role", string(x.ri.Caller.Role)),
		slog.String("outcome", outcome),
		slog.Int("status", x.status),
		slog.Int64("bytes", x.bytes),
		slog.Float64("duration_ms", float64(d.Microseconds())/1000),
		slog.String("client", x.ri.ClientAddr))
}

// statusOutcome is the outcome of a request no handler named one for.
func statusOutcome(status int) string {
	if status < 400 {
		return "ok"
	}
	return httpOutcomes[status/100-4]
}

// httpOutcomes name what the handlers answered without a code of theirs
// (404 of an unknown path, 405, 413, …) by status class, which is bounded.
var httpOutcomes = [...]string{"http_4xx", "http_5xx"}

// apiOf classifies a path into the api label. The paths are those
// cmd/tokenadmin mounts.
func apiOf(path string) string {
	switch {
	case path == "/services/TokenAdmin":
		return APINative
	case strings.HasPrefix(path, "/services/"):
		return APILegacy
	case strings.HasPrefix(path, "/oauth2/"):
		return APIOAuth
	case path == "/healthz" || path == "/readyz" || path == "/metrics":
		return APIOps
	}
	return APIOther
}

// requestID returns the client's id when it is 1 to 64 characters of
// [A-Za-z0-9._-], which is safe in logs and headers, otherwise a new
// random one (96 bits, base64url).
func (m *Middleware) requestID(client string) string {
	if tokenadmin.ValidRequestID(client) {
		return client
	}
	var b [12]byte
	r := m.Rand
	if r == nil {
		r = rand.Reader
	}
	if _, err := io.ReadFull(r, b[:]); err != nil {
		// crypto/rand does not fail; an injected reader might.
		return "noid"
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// clientAddr is the peer's IP or, when forwarded headers are trusted, the
// last X-Forwarded-For entry: our proxy appends the address it saw, and
// the entries before it are whatever the client sent.
func (m *Middleware) clientAddr(r *http.Request) string {
	if m.TrustForwardedHeaders {
		if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
			last := xff[len(xff)-1]
			if i := strings.LastIndexByte(last, ','); i >= 0 {
				last = last[i+1:]
			}
			if a, err := netip.ParseAddr(strings.TrimSpace(last)); err == nil {
				return a.Unmap().String()
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
