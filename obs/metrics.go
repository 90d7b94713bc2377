package obs

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"tokenadmin"
)

// APIs: the values of the api label.
const (
	APINative = "native" // /services/TokenAdmin
	APILegacy = "legacy" // the other /services/ (WSO2 admin services)
	APIOAuth  = "oauth"  // /oauth2/
	APIOps    = "ops"    // /healthz, /readyz, /metrics
	APIOther  = "other"  // any other path
)

// Revocation paths: the values of the path label of
// tokenadmin_revocations_total.
const (
	PathNative    = "native"
	PathLegacy    = "legacy"
	PathOAuth     = "oauth"
	PathCLI       = "cli"        // no request: an admin command in this process
	PathAppChange = "app_change" // an app disabled, deleted or given a new secret
)

// Label values for what no handler named.
const (
	labelUnknown = "unknown" // a value beyond the caps, or not a safe label
	labelOther   = "other"   // the operation of a path no handler serves
)

// Caps on how many distinct values the operation and outcome labels take.
// Handlers name operations and outcomes from their own fixed vocabularies,
// so the caps are only ever reached by a bug; they keep one from growing
// the series without bound.
const (
	maxOperations = 200
	maxOutcomes   = 100
)

// durationBuckets span 0.1 ms (a cached read) to 10 s (a bulk revocation
// on a large table), in seconds.
var durationBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// appChangeReasons are the store's reasons for revocations by an app change.
var appChangeReasons = map[string]bool{
	tokenadmin.ReasonAppDisabled:   true,
	tokenadmin.ReasonAppDeleted:    true,
	tokenadmin.ReasonSecretRotated: true,
}

// fixedReasons are the revocation reasons our own code sets; the reason
// label keeps them. Any other (free text from a person) is "other", and no
// reason "unspecified".
var fixedReasons = map[string]bool{
	tokenadmin.ReasonRefreshReuse:  true,
	tokenadmin.ReasonRotated:       true,
	tokenadmin.ReasonAppDisabled:   true,
	tokenadmin.ReasonAppDeleted:    true,
	tokenadmin.ReasonSecretRotated: true,
	"rfc7009":                      true, // oauth.RevokeReason
	"revoked_by_resource_owner":    true, // legacy.ReasonRevokedByOwner
	"revoked_by_key_manager":       true, // legacy.ReasonRevokedByKeyManager
	"imported_revoked":             true, // store.ReasonImportedRevoke
}

// StoreStats is what the metrics read of the store at each scrape; the
// wiring converts the store's own Stats into it.
type StoreStats struct {
	// ActiveTokens is reported only when ActiveTokensKnown.
	ActiveTokens      int64
	ActiveTokensKnown bool
	// Errors counts internal errors by the part of the store that failed
	// (a small fixed set); monotonic.
	Errors map[string]uint64
	// WALRestarts counts WAL restarts and WALRestartHold the total time
	// they held the writer (monotonic); WALPendingFrames is what the last
	// checkpoint left to copy (4 KiB frames).
	WALRestarts      uint64
	WALRestartHold   time.Duration
	WALPendingFrames int64
}

// JanitorStats is the janitor's progress, read at each scrape.
type JanitorStats struct {
	// Purged counts what the janitor deleted, by kind (a small fixed
	// set, such as "tokens"); monotonic.
	Purged map[string]uint64
	// LastRun is when the last run ended; zero before the first.
	LastRun time.Time
}

// Sources feed the metrics that are read, not counted, at each scrape.
// Each must be cheap (no query) and safe for concurrent use; nil leaves
// its metrics out.
type Sources struct {
	Store   func() StoreStats
	Janitor func() JanitorStats
}

// Metrics are tokenadmin's Prometheus metrics on a private registry. It is
// safe for concurrent use.
type Metrics struct {
	reg          *prometheus.Registry
	requests     *prometheus.CounterVec
	duration     *prometheus.HistogramVec
	revocations  *prometheus.CounterVec
	authFailures *prometheus.CounterVec

	operations, outcomes labelSet

	// children caches each (api, operation, outcome)'s counter and
	// histogram: WithLabelValues hashes and looks up every label on every
	// call. The labels are bounded (labelSet), so is the cache.
	children sync.Map // requestLabels → *requestChildren
}

type requestLabels struct{ api, operation, outcome string }

type requestChildren struct {
	requests prometheus.Counter
	duration prometheus.Observer
}

// NewMetrics registers the metrics, the Go and process collectors, and
// collectors reading src, on a new registry.
func NewMetrics(src Sources) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tokenadmin_requests_total",
			Help: "Requests served, by API, operation and outcome (ok, or the fault or error code).",
		}, []string{"api", "operation", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tokenadmin_request_duration_seconds",
			Help:    "Time to serve a request, by API and operation.",
			Buckets: durationBuckets,
		}, []string{"api", "operation"}),
		revocations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tokenadmin_revocations_total",
			Help: "Tokens revoked, by path (native, legacy, oauth, cli, app_change) and reason (free-text reasons are \"other\").",
		}, []string{"path", "reason"}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tokenadmin_auth_failures_total",
			Help: "Requests refused for missing or wrong credentials, by API.",
		}, []string{"api"}),
		operations: labelSet{max: maxOperations},
		outcomes:   labelSet{max: maxOutcomes},
	}
	m.reg.MustRegister(m.requests, m.duration, m.revocations, m.authFailures,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if src.Store != nil {
		m.reg.MustRegister(&storeCollector{stats: src.Store})
	}
	if src.Janitor != nil {
		m.reg.MustRegister(&janitorCollector{stats: src.Janitor})
	}
	return m
}

// Registry returns the registry, for more collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Revoked counts n revoked tokens. Its signature is that of
// store.Options.OnRevoke: the path comes from the request in ctx (none:
// the CLI), or is app_change for the reasons of an app change.
func (m *Metrics) Revoked(ctx context.Context, reason string, n int) {
	if n <= 0 {
		return
	}
	path := PathCLI
	switch {
	case appChangeReasons[reason]:
		path = PathAppChange
	default:
		if x := exchangeFrom(ctx); x != nil {
			switch x.api {
			case APINative:
				path = PathNative
			case APILegacy:
				path = PathLegacy
			case APIOAuth:
				path = PathOAuth
			}
		}
	}
	label := "other"
	switch {
	case reason == "":
		label = "unspecified"
	case fixedReasons[reason]:
		label = reason
	}
	m.revocations.WithLabelValues(path, label).Add(float64(n))
}

// observe records one served request.
func (m *Metrics) observe(api, operation, outcome string, status int, d time.Duration) {
	operation = m.operations.bound(operation)
	outcome = m.outcomes.bound(outcome)
	key := requestLabels{api, operation, outcome}
	c, ok := m.children.Load(key)
	if !ok {
		c, _ = m.children.LoadOrStore(key, &requestChildren{
			requests: m.requests.WithLabelValues(api, operation, outcome),
			duration: m.duration.WithLabelValues(api, operation),
		})
	}
	rc := c.(*requestChildren)
	rc.requests.Inc()
	rc.duration.Observe(d.Seconds())
	if isAuthFailure(api, outcome, status) {
		m.authFailures.WithLabelValues(api).Inc()
	}
}

// isAuthFailure tells a request refused for its credentials: HTTP 401, or
// the API's own code for it (legacy answers wrong credentials with fault
// 50977 over HTTP 500, and a failed AuthenticationAdmin.login with false).
func isAuthFailure(api, outcome string, status int) bool {
	if status == http.StatusUnauthorized {
		return true
	}
	switch api {
	case APINative:
		return outcome == string(tokenadmin.CodeUnauthenticated)
	case APILegacy:
		return outcome == "50977" || outcome == "login_failed"
	case APIOAuth:
		return outcome == "invalid_client"
	}
	return false
}

// labelSet bounds a label's values: a value must be short and made of safe
// characters, and only the first max distinct values are kept; the rest
// are "unknown".
type labelSet struct {
	max  int
	seen sync.Map // string → struct{}
	n    atomic.Int64
	mu   sync.Mutex // serialises additions
}

func (s *labelSet) bound(v string) string {
	if _, ok := s.seen.Load(v); ok {
		return v
	}
	if !safeLabel(v) {
		return labelUnknown
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.seen.Load(v); ok {
		return v
	}
	if s.n.Load() >= int64(s.max) {
		return labelUnknown
	}
	s.seen.Store(v, struct{}{})
	s.n.Add(1)
	return v
}

// safeLabel: 1 to 64 characters of [A-Za-z0-9_.:/-].
func safeLabel(v string) bool {
	if v == "" || len(v) > 64 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == ':' || c == '/' || c == '-') {
			return false
		}
	}
	return true
}

var (
	activeTokensDesc = prometheus.NewDesc("tokenadmin_active_tokens",
		"Tokens neither revoked nor swept as expired (approximate: kept by this process's writes, re-counted every 10 minutes; absent until first counted).", nil, nil)
	storeErrorsDesc = prometheus.NewDesc("tokenadmin_store_errors_total",
		"Internal errors of the store, by the part that failed (read, write, sync, checkpoint, count).", []string{"op"}, nil)
	walRestartsDesc = prometheus.NewDesc("tokenadmin_wal_restarts_total",
		"Times the checkpointer started the write-ahead log over.", nil, nil)
	walRestartHoldDesc = prometheus.NewDesc("tokenadmin_wal_restart_hold_seconds_total",
		"Time WAL restarts held the writer (requests' writes wait meanwhile).", nil, nil)
	walPendingDesc = prometheus.NewDesc("tokenadmin_wal_pending_frames",
		"WAL frames (4 KiB pages) the last checkpoint left to copy into the database file.", nil, nil)
	janitorPurgedDesc = prometheus.NewDesc("tokenadmin_janitor_purged_total",
		"Rows the janitor purged, by kind.", []string{"kind"}, nil)
	janitorLastRunDesc = prometheus.NewDesc("tokenadmin_janitor_last_run_timestamp_seconds",
		"When the janitor's last run ended (Unix seconds); absent before the first.", nil, nil)
)

// storeCollector reads StoreStats at each scrape.
type storeCollector struct{ stats func() StoreStats }

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- activeTokensDesc
	ch <- storeErrorsDesc
	ch <- walRestartsDesc
	ch <- walRestartHoldDesc
	ch <- walPendingDesc
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	if s.ActiveTokensKnown {
		ch <- prometheus.MustNewConstMetric(activeTokensDesc, prometheus.GaugeValue, float64(s.ActiveTokens))
	}
	for op, n := range s.Errors {
		ch <- prometheus.MustNewConstMetric(storeErrorsDesc, prometheus.CounterValue, float64(n), op)
	}
	ch <- prometheus.MustNewConstMetric(walRestartsDesc, prometheus.CounterValue, float64(s.WALRestarts))
	ch <- prometheus.MustNewConstMetric(walRestartHoldDesc, prometheus.CounterValue, s.WALRestartHold.Seconds())
	ch <- prometheus.MustNewConstMetric(walPendingDesc, prometheus.GaugeValue, float64(s.WALPendingFrames))
}

// janitorCollector reads JanitorStats at each scrape.
type janitorCollector struct{ stats func() JanitorStats }

func (c *janitorCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- janitorPurgedDesc
	ch <- janitorLastRunDesc
}

func (c *janitorCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	for kind, n := range s.Purged {
		ch <- prometheus.MustNewConstMetric(janitorPurgedDesc, prometheus.CounterValue, float64(n), kind)
	}
	if !s.LastRun.IsZero() {
		ch <- prometheus.MustNewConstMetric(janitorLastRunDesc, prometheus.GaugeValue, float64(s.LastRun.UnixNano())/1e9)
	}
}
