package tokenadmin

import "context"

// RequestInfo describes the request being served, for the access log,
// the metrics and the audit log. The HTTP layer creates it (request id,
// client address) and puts it in the request's context; handlers fill in
// what they learn (operation, caller, outcome) as they go. It is used by
// one goroutine at a time: the one serving the request.
type RequestInfo struct {
	// ID identifies the request in logs and audit records: the client's
	// X-Request-Id when it is sane, otherwise a generated one.
	ID string
	// ClientAddr is the client's IP address (the peer, or the forwarded
	// client when forwarded headers are trusted). The CLI uses "local".
	ClientAddr string
	// Operation is what was asked, such as "revokeToken" or
	// "oauth2/token"; empty until a handler knows it.
	Operation string
	// Caller is the authenticated caller; zero until authenticated.
	Caller Caller
	// Outcome is "ok" or the error code or fault that ended the request;
	// empty until a handler sets it.
	Outcome string
}

type requestInfoKey struct{}

// WithRequestInfo returns a context carrying ri.
func WithRequestInfo(ctx context.Context, ri *RequestInfo) context.Context {
	return context.WithValue(ctx, requestInfoKey{}, ri)
}

// RequestInfoFrom returns the RequestInfo in ctx, or nil.
func RequestInfoFrom(ctx context.Context) *RequestInfo {
	ri, _ := ctx.Value(requestInfoKey{}).(*RequestInfo)
	return ri
}

// MaxRequestIDLength bounds a request id taken from a client.
const MaxRequestIDLength = 64

// ValidRequestID reports whether a client's X-Request-Id may be used as
// the request's id: 1 to MaxRequestIDLength characters of [A-Za-z0-9._-],
// which is safe in logs, headers and audit records.
func ValidRequestID(s string) bool {
	if s == "" || len(s) > MaxRequestIDLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}
