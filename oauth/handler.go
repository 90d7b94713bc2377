package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"

	"tokenadmin"
)

// The endpoints' paths.
const (
	TokenPath      = "/oauth2/token"      // RFC 6749 §3.2
	RevokePath     = "/oauth2/revoke"     // RFC 7009 §2
	IntrospectPath = "/oauth2/introspect" // RFC 7662 §2
)

// DefaultMaxBodyBytes bounds a request body when Handler.MaxBodyBytes is
// not set. Every legitimate request is a few hundred bytes.
const DefaultMaxBodyBytes = 64 << 10

// Realm is the realm of the WWW-Authenticate challenge sent with every
// invalid_client response.
const Realm = "tokenadmin"

// Authenticator checks a user's name and password: the resource owner's
// credentials of the password grant (RFC 6749 §4.3) and an admin's Basic
// credentials at the introspection endpoint. *auth.Authenticator is one.
type Authenticator interface {
	// Authenticate returns the caller that user and password identify.
	// Wrong credentials (unknown user, wrong or empty password) are an
	// error with code tokenadmin.CodeUnauthenticated; any other error is
	// internal.
	Authenticate(ctx context.Context, user, password string) (tokenadmin.Caller, error)
}

// Handler serves the OAuth 2.0 endpoints: TokenPath, RevokePath and
// IntrospectPath, as ServeHTTP routes them or through the methods of the
// same names. Set its fields before the first request; it is safe for
// concurrent use.
type Handler struct {
	// Store issues, refreshes, looks up and revokes tokens, and
	// authenticates clients.
	Store tokenadmin.OAuthStore
	// Users checks user credentials. Without it the password grant is
	// unsupported_grant_type and only clients may introspect.
	Users Authenticator
	// Policy holds the server-wide settings; zero lifetimes mean those of
	// tokenadmin.DefaultPolicy.
	Policy tokenadmin.Policy
	// Logger receives internal errors (and, at debug level, the errors
	// sent to clients); nil means slog.Default().
	Logger *slog.Logger
	// MaxBodyBytes bounds a request body; zero means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Clients throttles failed client authentications; nil throttles
	// none.
	Clients ClientLimiter
	// Audit, when set, records revocations in the audit log, each in the
	// revocation's own transaction (tokenadmin.WithAudit): the
	// revocation endpoint's, by actor "client:<client_id>" with no role,
	// refused or failed ones included; and the grant family revoked when
	// a retired refresh token comes back (RFC 9700 §4.14.2), by actor
	// SystemActor. nil records nothing.
	Audit tokenadmin.AuditLog
}

// SystemActor is the audit actor of what the server revokes by itself:
// a grant whose retired refresh token was presented again.
const SystemActor = "system"

// ClientLimiter throttles failed client authentications per client id
// and client address (RFC 6749 §2.3.1). A throttled client is answered
// invalid_client like a wrong secret. *auth.Limiter is one. Its methods
// cannot fail.
type ClientLimiter interface {
	// Allowed reports whether clientID's credentials, in the request of
	// ctx, may be checked now; false while the client id or the
	// request's address is locked.
	Allowed(ctx context.Context, clientID string) bool
	// Failed counts checked, wrong credentials for clientID (unknown
	// client ids count too).
	Failed(ctx context.Context, clientID string)
	// Succeeded records checked, right credentials for clientID.
	Succeeded(clientID string)
}

// NewHandler returns a Handler with the given dependencies.
func NewHandler(store tokenadmin.OAuthStore, users Authenticator, policy tokenadmin.Policy, logger *slog.Logger) *Handler {
	return &Handler{Store: store, Users: users, Policy: policy, Logger: logger}
}

// ServeHTTP routes TokenPath, RevokePath and IntrospectPath to their
// endpoints; any other path is 404.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case TokenPath:
		h.ServeToken(w, r)
	case RevokePath:
		h.ServeRevoke(w, r)
	case IntrospectPath:
		h.ServeIntrospect(w, r)
	default:
		h.newExchange(w, r, "").fail(tokenadmin.Errorf(codeNoSuchEndpoint, "no such endpoint"))
	}
}

// ServeToken serves the token endpoint (RFC 6749 §3.2), whatever the path.
func (h *Handler) ServeToken(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, "token", h.token)
}

// ServeRevoke serves the revocation endpoint (RFC 7009 §2), whatever the
// path.
func (h *Handler) ServeRevoke(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, "revoke", h.revoke)
}

// ServeIntrospect serves the introspection endpoint (RFC 7662 §2),
// whatever the path.
func (h *Handler) ServeIntrospect(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, "introspect", h.introspect)
}

func (h *Handler) logger() *slog.Logger {
	if h.Logger != nil {
		return h.Logger
	}
	return slog.Default()
}

func (h *Handler) maxBody() int64 {
	if h.MaxBodyBytes > 0 {
		return h.MaxBodyBytes
	}
	return DefaultMaxBodyBytes
}

// policy returns h.Policy with its zero lifetimes defaulted.
func (h *Handler) policy() tokenadmin.Policy {
	p := h.Policy
	if p.AccessTTL <= 0 {
		p.AccessTTL = tokenadmin.DefaultPolicy.AccessTTL
	}
	if p.RefreshTTL <= 0 {
		p.RefreshTTL = tokenadmin.DefaultPolicy.RefreshTTL
	}
	return p
}

// exchange is one request and its response.
type exchange struct {
	h        *Handler
	w        http.ResponseWriter
	r        *http.Request
	endpoint string
	form     form
	clientID string // the authenticated client, for the log
	grant    string // a supported grant type, for the log
	done     bool   // the response has been written
}

// serve runs the steps every endpoint shares (see the package
// documentation) and then fn, which writes the success response or
// returns the error to answer.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request, endpoint string, fn func(x *exchange) error) {
	x := h.newExchange(w, r, endpoint)
	defer x.recoverPanic()
	if err := x.prepare(); err != nil {
		x.fail(err)
		return
	}
	if err := fn(x); err != nil {
		x.fail(err)
	}
}

// newExchange starts a response. RFC 6749 §5.1: "Cache-Control"
// "no-store" and "Pragma" "no-cache"; set first, so that every response
// has them, errors included.
func (h *Handler) newExchange(w http.ResponseWriter, r *http.Request, endpoint string) *exchange {
	hdr := w.Header()
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("Pragma", "no-cache")
	return &exchange{h: h, w: w, r: r, endpoint: endpoint}
}

// prepare checks the method and media type and reads the form.
func (x *exchange) prepare() error {
	if x.r.Method != http.MethodPost {
		// RFC 6749 §3.2: "The client MUST use the HTTP "POST" method";
		// RFC 9110 §15.5.6 wants Allow with a 405.
		x.w.Header().Set("Allow", http.MethodPost)
		return tokenadmin.Errorf(codeMethodNotAllowed, "the method must be POST")
	}
	if err := checkContentType(x.r); err != nil {
		return err
	}
	f, err := readForm(x.w, x.r, x.h.maxBody())
	if err != nil {
		return err
	}
	x.form = f
	return nil
}

// errorBody is an error response (RFC 6749 §5.2).
type errorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

// fail answers err, logging it when it is internal.
func (x *exchange) fail(err error) {
	we := errorFor(err)
	ctx := x.r.Context()
	if we.internal {
		x.h.logger().LogAttrs(ctx, slog.LevelError, "oauth: internal error",
			slog.String("endpoint", x.endpoint),
			slog.String("client_id", x.clientID),
			slog.String("grant_type", x.grant),
			slog.String("error", err.Error()))
	} else if l := x.h.logger(); l.Enabled(ctx, slog.LevelDebug) {
		l.LogAttrs(ctx, slog.LevelDebug, "oauth: error response",
			slog.String("endpoint", x.endpoint),
			slog.String("client_id", x.clientID),
			slog.String("error", we.code),
			slog.String("description", description(we.description)))
	}
	x.sendError(we)
}

// sendError writes an error response (RFC 6749 §5.2).
func (x *exchange) sendError(we wireError) {
	if ri := tokenadmin.RequestInfoFrom(x.r.Context()); ri != nil {
		ri.Outcome = we.code // one of the RFC 6749 §5.2 codes above
	}
	if we.status == http.StatusUnauthorized {
		// RFC 6749 §5.2: invalid_client with 401 "MUST include the
		// "WWW-Authenticate" response header field".
		x.w.Header().Set("WWW-Authenticate", `Basic realm="`+Realm+`"`)
	}
	body, merr := json.Marshal(errorBody{Error: we.code, Description: description(we.description)})
	if merr != nil { // cannot happen: two strings
		body = []byte(`{"error":"server_error"}`)
	}
	x.send(we.status, body)
}

// sendJSON answers 200 with v as JSON.
func (x *exchange) sendJSON(v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("oauth: encode response: %w", err)
	}
	x.send(http.StatusOK, body)
	return nil
}

// send writes the response; an empty body goes without a Content-Type.
func (x *exchange) send(status int, body []byte) {
	x.fillRequestInfo(status)
	hdr := x.w.Header()
	if len(body) > 0 {
		hdr.Set("Content-Type", "application/json;charset=UTF-8")
	}
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	x.done = true
	x.w.WriteHeader(status)
	x.w.Write(body) //nolint:errcheck // the client hung up; nothing to do
}

// fillRequestInfo tells the access log what the request was: the
// endpoint (and, for the token endpoint, a supported grant type, so the
// set stays bounded), the authenticated client, and "ok" unless an error
// code is already there.
func (x *exchange) fillRequestInfo(status int) {
	ri := tokenadmin.RequestInfoFrom(x.r.Context())
	if ri == nil {
		return
	}
	if x.endpoint != "" {
		ri.Operation = "oauth2/" + x.endpoint
		if x.grant != "" {
			ri.Operation += ":" + x.grant
		}
	}
	if x.clientID != "" {
		ri.Caller = tokenadmin.Caller{Name: x.clientID}
	}
	if ri.Outcome == "" && status < 400 {
		ri.Outcome = "ok"
	}
}

// errPanic stands for a panic, already logged, in the error response.
var errPanic = errors.New("oauth: panic")

// recoverPanic turns a panic into a server_error, unless the response is
// already on its way. http.ErrAbortHandler keeps its meaning.
func (x *exchange) recoverPanic() {
	v := recover()
	if v == nil {
		return
	}
	if v == http.ErrAbortHandler { //nolint:errorlint // sentinel compared as net/http does
		panic(v)
	}
	x.h.logger().LogAttrs(x.r.Context(), slog.LevelError, "oauth: panic",
		slog.String("endpoint", x.endpoint),
		slog.String("client_id", x.clientID),
		slog.String("panic", fmt.Sprint(v)),
		slog.String("stack", string(debug.Stack())))
	if !x.done {
		x.sendError(errorFor(errPanic))
	}
}
