package obs

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"time"

	"tokenadmin"
)

// Healthz answers 200 "ok" while the process runs: a liveness probe. It
// checks nothing else, so that a slow database never gets a live process
// restarted.
func Healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	io.WriteString(w, "ok\n") //nolint:errcheck // the client hung up
}

// ReadyChecker is what Readyz asks.
type ReadyChecker interface {
	// Ready returns nil when the service can serve: the database answers
	// and its schema is the one this binary expects. The error's text is
	// shown to the probe; it must carry no secrets.
	Ready(ctx context.Context) error
}

// readyTimeout bounds one readiness check.
const readyTimeout = 2 * time.Second

// Readyz returns the readiness probe: 200 "ready" when c is ready, else
// 503 with "not ready: " and the reason. Failures are logged at Warn.
func Readyz(c ReadyChecker, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		err := c.Ready(ctx)
		ri := tokenadmin.RequestInfoFrom(r.Context())
		if err != nil {
			if ri != nil {
				ri.Outcome = "not_ready"
			}
			if log == nil {
				log = slog.Default()
			}
			log.LogAttrs(r.Context(), slog.LevelWarn, "not ready", slog.String("error", err.Error()))
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, "not ready: "+err.Error()+"\n") //nolint:errcheck // the client hung up
			return
		}
		if ri != nil {
			ri.Outcome = "ok"
		}
		io.WriteString(w, "ready\n") //nolint:errcheck // the client hung up
	})
}
