package legacy

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"tokenadmin"
	"tokenadmin/soap"
)

// Profile is the WSO2 generation whose wire the legacy services speak: it
// fixes DTO field sets and order and the behaviour of void operations.
type Profile string

// Profiles; profile.go has what each one changes.
const (
	IS50 Profile = "is-5.0" // IS 5.0, 2014
	IS53 Profile = "is-5.3" // IS 5.3, stub WSDL of 2016-12
	IS55 Profile = "is-5.5" // IS 5.5, 2017-12
	IS57 Profile = "is-5.7" // IS 5.7, 2018-08

	DefaultProfile = IS53
)

// ParseProfile checks a --legacy-profile value.
func ParseProfile(s string) (Profile, error) {
	p := Profile(s)
	if profiles[p] != nil {
		return p, nil
	}
	switch p {
	case IS50, IS53, IS55, IS57:
		return "", fmt.Errorf("legacy: profile %s is not supported yet (supported: %s)", s, supportedProfiles())
	}
	return "", fmt.Errorf("legacy: unknown profile %q (supported: %s)", s, supportedProfiles())
}

// Tokens is what the legacy services need of tokenadmin.Service.
type Tokens interface {
	// ListAuthorizedApps: see tokenadmin.Service. With user "" it lists
	// the caller's own apps, for admins too.
	ListAuthorizedApps(ctx context.Context, c tokenadmin.Caller, user string) ([]*tokenadmin.AuthorizedApp, error)
	// RevokeTokens: see tokenadmin.Service.
	RevokeTokens(ctx context.Context, c tokenadmin.Caller, r tokenadmin.BulkRevoke) (int, error)
}

// AppReader reads an app's registration (owner, grant types) for the DTOs
// of apps a user has authorized. It is the store's, not AppService's: a
// user may see the public registration of an app they authorized without
// managing it. Unknown apps are tokenadmin.CodeNotFound.
type AppReader interface {
	GetApp(ctx context.Context, clientID string) (*tokenadmin.App, error)
}

var _ Tokens = (*tokenadmin.Service)(nil)

// DefaultRealm is the realm of the Basic challenge.
const DefaultRealm = "tokenadmin"

// Services are the names of the services served, under /services/.
const (
	OAuthAdminService   = "OAuthAdminService"
	AuthenticationAdmin = "AuthenticationAdmin"
)

// endpointSuffixes are Axis2's per-port path forms (WIRE.md §4):
// /services/<Service>.<Service><suffix>/.
var endpointSuffixes = []string{"HttpsSoap11Endpoint", "HttpsSoap12Endpoint", "HttpsEndpoint"}

// Handler serves the legacy WSO2 admin services under /services/. Create
// it with NewHandler and set the optional fields before it serves.
type Handler struct {
	Logger *slog.Logger // slog.Default() when nil
	// MaxBodyBytes caps a request body; soap.DefaultMaxBodyBytes when zero.
	MaxBodyBytes int64
	Limits       soap.Limits
	Realm        string // of the Basic challenge; DefaultRealm when empty
	// TrustForwardedHeaders: the WSDL address and the cookie's Secure flag
	// follow X-Forwarded-Proto/Host of a proxy you control.
	TrustForwardedHeaders bool
	// AppAdmin manages apps for OAuthAdminService's application
	// operations (oauthapps.go); without it they answer a Server fault.
	AppAdmin AppAdmin
	// WSSecurity, when set, accepts a WS-Security UsernameToken instead of
	// HTTP Basic or the session cookie, and makes wsse:Security header
	// blocks understood (wssecurity.go).
	WSSecurity *soap.WSSecurity

	profile  Profile
	spec     *profileSpec
	tokens   Tokens
	apps     AppReader
	auth     soap.Authenticator
	sessions *Sessions
	services map[string]*service
	secrets  pendingSecrets // new client secrets awaiting their one read
}

// NewHandler returns the legacy services of profile p over tokens, apps
// and auth, with login sessions kept in sessions (a new Sessions when nil).
func NewHandler(p Profile, tokens Tokens, apps AppReader, auth soap.Authenticator, sessions *Sessions) (*Handler, error) {
	if _, err := ParseProfile(string(p)); err != nil {
		return nil, err
	}
	if sessions == nil {
		sessions = &Sessions{}
	}
	h := &Handler{profile: p, spec: profiles[p], tokens: tokens, apps: apps, auth: auth, sessions: sessions}
	h.services = map[string]*service{
		OAuthAdminService:   h.oauthAdminService(),
		AuthenticationAdmin: h.authenticationAdmin(),
		// validation.go, apikeymgt.go
		OAuth2TokenValidationService: h.tokenValidationService(),
		APIKeyMgtSubscriberService:   h.apiKeyMgtSubscriberService(),
	}
	return h, nil
}

// Register mounts the handler on mux at every path form of every service
// (exact paths, so that no ServeMux redirect answers a POST).
func (h *Handler) Register(mux *http.ServeMux) {
	for name := range h.services {
		p := "/services/" + name
		mux.Handle(p, h)
		mux.Handle(p+"/", h)
		for _, s := range endpointSuffixes {
			mux.Handle(p+"."+name+s, h)
			mux.Handle(p+"."+name+s+"/", h)
		}
	}
}

// ServeHTTP routes /services/<Service>[.<Endpoint>][/] to the service,
// ignoring the endpoint suffix as Axis2's RequestURIBasedDispatcher does.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/services/")
	if ok {
		rest = strings.TrimSuffix(rest, "/")
		name, _, _ := strings.Cut(rest, ".")
		if s := h.services[name]; s != nil && !strings.Contains(rest, "/") {
			s.ServeHTTP(w, r)
			return
		}
	}
	http.NotFound(w, r)
}

func (h *Handler) maxBodyBytes() int64 {
	if h.MaxBodyBytes > 0 {
		return h.MaxBodyBytes
	}
	return soap.DefaultMaxBodyBytes
}

// authenticate is Carbon's AuthenticationHandler (WIRE.md §6): a live
// session (cookie) first; then HTTP Basic. No usable Basic header is a
// 401 challenge (status set on the fault); wrong credentials are the 50977
// fault. A successful Basic call starts a session and sets its cookie, as
// Carbon does.
func (h *Handler) authenticate(w http.ResponseWriter, r *http.Request) (tokenadmin.Caller, *fault) {
	for _, c := range r.CookiesNamed(SessionCookie) {
		if caller, ok := h.sessions.Get(c.Value); ok {
			return caller, nil
		}
	}
	user, password, ok := r.BasicAuth()
	if !ok || user == "" || password == "" || h.auth == nil {
		return tokenadmin.Caller{}, &fault{status: http.StatusUnauthorized}
	}
	caller, err := h.auth.Authenticate(r.Context(), user, password)
	switch tokenadmin.ErrorCode(err) {
	case "":
	case tokenadmin.CodeUnauthenticated:
		return tokenadmin.Caller{}, &fault{code: code50977, message: msgInvalidCredentials}
	default:
		h.logger().LogAttrs(r.Context(), slog.LevelError, "legacy: authentication failed",
			slog.String("error", err.Error()))
		return tokenadmin.Caller{}, &fault{code: code50976, message: msgAuthFailed}
	}
	if err := h.startSession(w, r, caller); err != nil {
		h.logger().LogAttrs(r.Context(), slog.LevelError, "legacy: session", slog.String("error", err.Error()))
	}
	return caller, nil
}

// startSession creates a session for caller and sets its cookie:
// JSESSIONID=<id>; Path=/services/ (the legacy services only); Secure over
// TLS; HttpOnly.
func (h *Handler) startSession(w http.ResponseWriter, r *http.Request, caller tokenadmin.Caller) error {
	id, err := h.sessions.Create(caller)
	if err != nil {
		return err
	}
	c := SessionCookie + "=" + id + "; Path=/services/"
	if h.secure(r) {
		c += "; Secure"
	}
	w.Header().Add("Set-Cookie", c+"; HttpOnly")
	return nil
}

func (h *Handler) secure(r *http.Request) bool {
	return strings.HasPrefix(soap.BaseURL(r, h.TrustForwardedHeaders), "https:")
}
