package oauth

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"

	"tokenadmin"
)

// basicCredentials are the user-id and password of an Authorization:
// Basic header (RFC 7617 §2), as sent: not yet form-decoded.
type basicCredentials struct {
	user, password string
}

// basicAuth returns the request's Basic credentials; ok is false when
// there is no Authorization header. More than one Authorization header is
// invalid_request; another scheme than Basic, or a malformed Basic value,
// is invalid_client (RFC 6749 §5.2: "unsupported authentication method").
func basicAuth(r *http.Request) (c basicCredentials, ok bool, err error) {
	v := r.Header.Values("Authorization")
	switch len(v) {
	case 0:
		return c, false, nil
	case 1:
	default:
		return c, false, tokenadmin.Errorf(tokenadmin.CodeInvalid, "more than one Authorization header")
	}
	scheme, param, _ := strings.Cut(v[0], " ")
	if !strings.EqualFold(scheme, "Basic") {
		return c, false, tokenadmin.Errorf(tokenadmin.CodeUnauthenticated, "unsupported client authentication method")
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(param))
	if err != nil {
		return c, false, errMalformedBasic()
	}
	user, password, found := strings.Cut(string(raw), ":")
	if !found {
		return c, false, errMalformedBasic()
	}
	return basicCredentials{user: user, password: password}, true, nil
}

func errMalformedBasic() error {
	return tokenadmin.Errorf(tokenadmin.CodeUnauthenticated, "malformed Basic credentials")
}

func errClientAuthFailed() error {
	return tokenadmin.Errorf(tokenadmin.CodeUnauthenticated, "client authentication failed")
}

// clientCredentials are a client's id and secret, decoded.
type clientCredentials struct {
	id, secret string
}

// client decodes client credentials sent with client_secret_basic. RFC
// 6749 §2.3.1: "The client identifier is encoded using the
// application/x-www-form-urlencoded encoding algorithm per Appendix B, and
// the encoded value is used as the username; the client password is
// encoded using the same algorithm and used as the password."
func (b basicCredentials) client() (clientCredentials, bool) {
	id, err1 := url.QueryUnescape(b.user)
	secret, err2 := url.QueryUnescape(b.password)
	if err1 != nil || err2 != nil {
		return clientCredentials{}, false
	}
	return clientCredentials{id: id, secret: secret}, true
}

// clientAuth is how a request authenticates its client, before the
// credentials are checked.
type clientAuth struct {
	basic    basicCredentials
	hasBasic bool
	post     clientCredentials // client_secret_post; post.secret != "" when used
}

// readClientAuth collects the client credentials of a request and checks
// that it uses at most one method. RFC 6749 §2.3: "The client MUST NOT use
// more than one authentication method in each request." A client_id
// parameter beside Basic credentials is allowed (§3.2.1 lets clients send
// it) if it names the same client.
func readClientAuth(r *http.Request, f form) (clientAuth, error) {
	var a clientAuth
	var err error
	if a.basic, a.hasBasic, err = basicAuth(r); err != nil {
		return a, err
	}
	a.post = clientCredentials{id: f.get("client_id"), secret: f.get("client_secret")}
	switch {
	case a.hasBasic && a.post.secret != "":
		return a, tokenadmin.Errorf(tokenadmin.CodeInvalid, "the request uses more than one client authentication method")
	case a.post.secret != "" && a.post.id == "":
		return a, tokenadmin.Errorf(tokenadmin.CodeInvalid, "client_secret without client_id")
	}
	return a, nil
}

// authenticateClient authenticates the request's client with
// client_secret_basic or client_secret_post (RFC 6749 §2.3.1) and returns
// its app. No client authentication at all is invalid_client (§5.2: "no
// client authentication included"); so is a client_id alone, as every
// client here is confidential (§2.1).
func (h *Handler) authenticateClient(ctx context.Context, r *http.Request, f form) (*tokenadmin.App, error) {
	a, err := readClientAuth(r, f)
	if err != nil {
		return nil, err
	}
	var c clientCredentials
	switch {
	case a.hasBasic:
		var ok bool
		if c, ok = a.basic.client(); !ok {
			return nil, errMalformedBasic()
		}
		if a.post.id != "" && a.post.id != c.id {
			return nil, tokenadmin.Errorf(tokenadmin.CodeInvalid, "client_id does not match the authenticated client")
		}
	case a.post.secret != "":
		c = a.post
	default:
		return nil, tokenadmin.Errorf(tokenadmin.CodeUnauthenticated, "client authentication required")
	}
	return h.checkClient(ctx, c, true)
}

// checkClient checks client credentials against the store. Every failure
// has the same public text, so that unknown clients, wrong secrets and
// disabled apps cannot be told apart; neither can a throttled client
// (RFC 6749 §2.3.1: the server "MUST protect any endpoint utilizing it
// against brute force attacks"), whose credentials are then not checked
// at all. count is false when a failure is not yet a failed client
// authentication (Basic credentials at introspection, which may be a
// user's).
func (h *Handler) checkClient(ctx context.Context, c clientCredentials, count bool) (*tokenadmin.App, error) {
	if c.id == "" || c.secret == "" {
		return nil, errClientAuthFailed()
	}
	if h.Clients != nil && !h.Clients.Allowed(ctx, c.id) {
		return nil, errClientAuthFailed()
	}
	app, err := h.Store.AuthenticateClient(ctx, c.id, c.secret)
	switch tokenadmin.ErrorCode(err) {
	case "":
	case tokenadmin.CodeUnauthenticated, tokenadmin.CodeNotFound:
		if h.Clients != nil && count {
			h.Clients.Failed(ctx, c.id)
		}
		return nil, errClientAuthFailed()
	default:
		return nil, err
	}
	// The store refuses disabled apps; checking again costs nothing.
	if app == nil || app.State != tokenadmin.AppActive {
		return nil, errClientAuthFailed()
	}
	if h.Clients != nil {
		h.Clients.Succeeded(c.id)
	}
	return app, nil
}

// introspector is who calls the introspection endpoint: an app or a user.
type introspector struct {
	app  *tokenadmin.App   // nil for a user
	user tokenadmin.Caller // zero for an app
}

// authenticateIntrospector authenticates the caller of the introspection
// endpoint and checks that it may introspect (see "Introspection access"
// in the package documentation). Basic credentials are tried as a
// client's first: a client's introspection is the hot path, and a failed
// password verification is deliberately slow.
func (h *Handler) authenticateIntrospector(ctx context.Context, r *http.Request, f form) (introspector, error) {
	a, err := readClientAuth(r, f)
	if err != nil {
		return introspector{}, err
	}
	var in introspector
	switch {
	case a.post.secret != "":
		if in.app, err = h.checkClient(ctx, a.post, true); err != nil {
			return in, err
		}
	case a.hasBasic:
		if c, ok := a.basic.client(); ok {
			// Not counted: the user check below counts the name and
			// the address if these are nobody's credentials.
			in.app, err = h.checkClient(ctx, c, false)
			if err != nil && tokenadmin.ErrorCode(err) != tokenadmin.CodeUnauthenticated {
				return in, err
			}
		}
		if in.app == nil {
			if in.user, err = h.authenticateUser(ctx, a.basic.user, a.basic.password); err != nil {
				if tokenadmin.ErrorCode(err) == tokenadmin.CodeUnauthenticated {
					return in, errClientAuthFailed()
				}
				return in, err
			}
		}
	default:
		return in, tokenadmin.Errorf(tokenadmin.CodeUnauthenticated, "client authentication required")
	}
	switch {
	case in.app != nil && !in.app.Introspect:
		return in, tokenadmin.Errorf(tokenadmin.CodeForbidden, "the client may not introspect tokens")
	case in.app == nil && in.user.Role != tokenadmin.RoleAdmin && in.user.Role != tokenadmin.RoleAuditor:
		return in, tokenadmin.Errorf(tokenadmin.CodeForbidden, "only admins and auditors may introspect tokens")
	}
	return in, nil
}

// authenticateUser checks a user's name and password. Without an
// Authenticator no user authenticates.
func (h *Handler) authenticateUser(ctx context.Context, user, password string) (tokenadmin.Caller, error) {
	if h.Users == nil {
		return tokenadmin.Caller{}, tokenadmin.Errorf(tokenadmin.CodeUnauthenticated, "invalid user name or password")
	}
	return h.Users.Authenticate(ctx, user, password)
}
