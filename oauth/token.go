package oauth

import (
	"errors"
	"strings"
	"time"

	"tokenadmin"
)

// tokenResponse is a successful access token response (RFC 6749 §5.1).
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"` // RFC 6750 §4: "Bearer"
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	// §5.1: "OPTIONAL, if identical to the scope requested by the client;
	// otherwise, REQUIRED." Sent whenever the grant has a scope; empty
	// only when the client asked for none and the app has none.
	Scope string `json:"scope,omitempty"`
}

// token serves the token endpoint (RFC 6749 §3.2). The client is
// authenticated first (§3.2.1: confidential clients "MUST authenticate
// with the authorization server"), then the grant type is checked:
// missing is invalid_request, unknown unsupported_grant_type, and one the
// app may not use unauthorized_client (§5.2).
func (h *Handler) token(x *exchange) error {
	ctx := x.r.Context()
	app, err := h.authenticateClient(ctx, x.r, x.form)
	if err != nil {
		return err
	}
	x.clientID = app.ClientID
	grant := x.form.get("grant_type")
	switch grant {
	case "":
		return tokenadmin.Errorf(tokenadmin.CodeInvalid, "grant_type is required")
	case tokenadmin.GrantPassword:
		if h.Users == nil {
			return tokenadmin.Errorf(codeUnsupportedGrantType, "the password grant is not supported")
		}
	case tokenadmin.GrantClientCredentials, tokenadmin.GrantRefreshToken:
	default:
		return tokenadmin.Errorf(codeUnsupportedGrantType, "unsupported grant_type")
	}
	x.grant = grant
	if !app.Allows(grant) {
		return tokenadmin.Errorf(tokenadmin.CodeUnauthorizedClient, "the client may not use the %s grant", grant)
	}
	requested, err := parseScope(x.form.get("scope"))
	if err != nil {
		return err
	}
	p := h.policy()
	var issued *tokenadmin.Issued
	switch grant {
	case tokenadmin.GrantPassword:
		issued, err = h.passwordGrant(x, app, p, requested)
	case tokenadmin.GrantClientCredentials:
		issued, err = h.clientCredentialsGrant(x, app, p, requested)
	case tokenadmin.GrantRefreshToken:
		issued, err = h.refreshGrant(x, app, p, requested)
	}
	if err != nil {
		return err
	}
	if issued == nil || issued.Access == nil || issued.AccessValue == "" {
		return errors.New("oauth: the store issued no access token")
	}
	return x.sendJSON(tokenResponse{
		AccessToken:  issued.AccessValue,
		TokenType:    "Bearer",
		ExpiresIn:    expiresIn(issued.Access, p.AccessTTLFor(app)),
		RefreshToken: issued.RefreshValue,
		Scope:        strings.Join(issued.Access.Scopes, " "),
	})
}

// passwordGrant: the resource owner password credentials grant (RFC 6749
// §4.3). username and password are REQUIRED (§4.3.2); wrong credentials
// are invalid_grant (§5.2: "the provided authorization grant (e.g., ...
// resource owner credentials) ... is invalid"), never invalid_client.
// The scope is checked first, so that a request bound to fail costs no
// password verification.
func (h *Handler) passwordGrant(x *exchange, app *tokenadmin.App, p tokenadmin.Policy, requested []string) (*tokenadmin.Issued, error) {
	user, password := x.form.get("username"), x.form.get("password")
	switch {
	case user == "":
		return nil, tokenadmin.Errorf(tokenadmin.CodeInvalid, "username is required")
	case password == "":
		return nil, tokenadmin.Errorf(tokenadmin.CodeInvalid, "password is required")
	}
	scopes, err := app.GrantScope(requested)
	if err != nil {
		return nil, err
	}
	ctx := x.r.Context()
	caller, err := h.Users.Authenticate(ctx, user, password)
	if tokenadmin.ErrorCode(err) == tokenadmin.CodeUnauthenticated {
		return nil, tokenadmin.Errorf(tokenadmin.CodeInvalidGrant, "invalid resource owner credentials")
	}
	if err != nil {
		return nil, err
	}
	var refreshTTL time.Duration
	if p.RefreshAllowed(app) {
		refreshTTL = p.RefreshTTLFor(app)
	}
	return h.Store.IssueTokens(ctx, tokenadmin.IssueRequest{
		ClientID:   app.ClientID,
		User:       caller.Name,
		Scopes:     scopes,
		GrantType:  tokenadmin.GrantPassword,
		AccessTTL:  p.AccessTTLFor(app),
		RefreshTTL: refreshTTL,
	})
}

// clientCredentialsGrant: the client credentials grant (RFC 6749 §4.4).
// The token has no user, and no refresh token (§4.4.3: "A refresh token
// SHOULD NOT be included").
func (h *Handler) clientCredentialsGrant(x *exchange, app *tokenadmin.App, p tokenadmin.Policy, requested []string) (*tokenadmin.Issued, error) {
	scopes, err := app.GrantScope(requested)
	if err != nil {
		return nil, err
	}
	return h.Store.IssueTokens(x.r.Context(), tokenadmin.IssueRequest{
		ClientID:  app.ClientID,
		Scopes:    scopes,
		GrantType: tokenadmin.GrantClientCredentials,
		AccessTTL: p.AccessTTLFor(app),
	})
}

// refreshGrant: refreshing an access token (RFC 6749 §6). refresh_token
// is REQUIRED. The grant switched off for the app or the whole server is
// unauthorized_client. A requested scope must be one the app still allows
// (invalid_scope otherwise) and, the store checks, part of the original
// grant (§6: "MUST NOT include any scope not originally granted"); none
// means the original scope. With the app's rotation on, the store issues
// a new refresh token and retires the old one (RFC 9700 §4.14.2).
func (h *Handler) refreshGrant(x *exchange, app *tokenadmin.App, p tokenadmin.Policy, requested []string) (*tokenadmin.Issued, error) {
	if !p.RefreshAllowed(app) {
		return nil, tokenadmin.Errorf(tokenadmin.CodeUnauthorizedClient, "the refresh_token grant is disabled")
	}
	value := x.form.get("refresh_token")
	if value == "" {
		return nil, tokenadmin.Errorf(tokenadmin.CodeInvalid, "refresh_token is required")
	}
	var scopes []string
	if len(requested) > 0 {
		var err error
		if scopes, err = app.GrantScope(requested); err != nil {
			return nil, err
		}
	}
	// The store records this event only if the token is a retired one
	// presented again, with the family it then revokes.
	ctx := tokenadmin.StartAudit(x.r.Context(), h.Audit, tokenadmin.Caller{Name: SystemActor}, tokenadmin.AuditTokenRevoke, "", tokenadmin.ReasonRefreshReuse)
	return h.Store.RefreshTokens(ctx, tokenadmin.RefreshRequest{
		ClientID:   app.ClientID,
		Value:      value,
		Scopes:     scopes,
		AccessTTL:  p.AccessTTLFor(app),
		RefreshTTL: p.RefreshTTLFor(app),
		Rotate:     app.RotateRefresh,
	})
}

// expiresIn is the lifetime of t in seconds (RFC 6749 §5.1), from its
// timestamps as the store set them, or ttl if they are not usable.
func expiresIn(t *tokenadmin.Token, ttl time.Duration) int64 {
	d := t.ExpiresAt.Sub(t.IssuedAt)
	if t.IssuedAt.IsZero() || d <= 0 {
		d = ttl
	}
	return int64((d + time.Second/2) / time.Second)
}

// parseScope splits a scope parameter (RFC 6749 §3.3):
//
//	scope       = scope-token *( SP scope-token )
//	scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
//
// A scope that does not match is invalid_scope ("malformed", §5.2).
func parseScope(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	scopes := strings.Split(s, " ")
	for _, t := range scopes {
		if t == "" || strings.ContainsFunc(t, func(r rune) bool {
			return r < 0x21 || r == '"' || r == '\\' || r > 0x7e
		}) {
			return nil, tokenadmin.Errorf(tokenadmin.CodeInvalidScope, "malformed scope")
		}
	}
	return scopes, nil
}
