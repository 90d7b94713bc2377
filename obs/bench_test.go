package obs

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"tokenadmin"
)

// BenchmarkMiddleware is the middleware's cost per request, around a
// handler that only fills in the RequestInfo: id, context, JSON access
// line (to io.Discard) and metrics.
//
//	go test ./obs -run '^$' -bench Middleware -benchmem
func BenchmarkMiddleware(b *testing.B) {
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ri := tokenadmin.RequestInfoFrom(r.Context()); ri != nil {
			ri.Operation, ri.Outcome, ri.Caller = "listActiveTokens", "ok", tokenadmin.Caller{Name: "alice", Role: tokenadmin.RoleUser}
		}
		w.WriteHeader(http.StatusOK)
	})
	req := httptest.NewRequest("POST", "/services/TokenAdmin", nil)
	for _, c := range []struct {
		name string
		h    http.Handler
	}{
		{name: "bare", h: next},
		{name: "middleware", h: &Middleware{Next: next, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), Metrics: NewMetrics(Sources{})}},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			w := httptest.NewRecorder()
			for b.Loop() {
				c.h.ServeHTTP(w, req)
			}
		})
	}
}
