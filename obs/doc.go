// Package obs is tokenadmin's observability: the access log, the
// Prometheus metrics and the health and readiness probes.
//
// Middleware wraps the server's whole mux. For every request it assigns a
// request id (the client's X-Request-Id when it is short and made of safe
// characters, otherwise a random one; echoed in the response), finds the
// client's address (the peer, or with TrustForwardedHeaders the last
// X-Forwarded-For entry, the one our proxy added), and puts a
// *tokenadmin.RequestInfo in the request's context. The handlers fill in
// the operation, the caller and the outcome as they learn them. When the
// handler returns, the middleware writes one access-log line (slog, Info,
// message "request"; probes and scrapes at Debug) and records the request
// in the metrics.
//
// Metrics live on a private registry (plus the Go and process collectors)
// served by Metrics.Handler at GET /metrics. Their labels come from
// bounded sets only, never from raw paths or other user input: an API
// from a fixed list, an operation or outcome that handlers set from their
// own vocabulary, and a cap on how many distinct values either label may
// ever take, beyond which values become "unknown". Requests to paths no
// handler serves have operation "other".
//
// The store reports what only it sees (active tokens, internal errors,
// revocations, the janitor's progress) through plain functions and
// counters (StoreStats, JanitorStats, Metrics.Revoked): the store does not
// import this package or Prometheus.
//
// Logs never carry token values, passwords, client secrets or
// Authorization headers: the access log has the path but not the query or
// the body, and the caller's name but not their credentials.
package obs
