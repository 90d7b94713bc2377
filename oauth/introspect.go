package oauth

import (
	"errors"
	"net/http"
	"strings"

	"tokenadmin"
)

// inactive is the whole answer for a token that is not active. RFC 7662
// §2.2: "If the introspection call is properly authorized but the token
// is not active, does not exist on this server, or the protected resource
// is not allowed to introspect this particular token, then the
// authorization server MUST return an introspection response with the
// "active" field set to "false"" and "SHOULD NOT include any additional
// information about an inactive token".
var inactive = []byte(`{"active":false}`)

// introspection is the answer for an active token (RFC 7662 §2.2).
type introspection struct {
	Active   bool   `json:"active"`
	Scope    string `json:"scope"`
	ClientID string `json:"client_id"`
	Username string `json:"username,omitempty"`
	// TokenType is the token type of RFC 6749 §5.1, as RFC 7662 §2.2
	// defines it: "Bearer" for every token we issue.
	TokenType string `json:"token_type"`
	// TokenUse says which kind of token this is, with the names of
	// token_type_hint (RFC 7009 §2.1): "access_token" or "refresh_token".
	TokenUse string `json:"token_use"`
	Exp      int64  `json:"exp"`
	Iat      int64  `json:"iat"`
	// Sub is the user, or the client for a client_credentials token.
	Sub string `json:"sub"`
}

// introspect serves the introspection endpoint (RFC 7662 §2). Who may call
// it, and the status codes of those who may not, are in the package
// documentation. token_type_hint is accepted and ignored (§2.1: the server
// "MAY ignore this parameter"): one lookup by value finds either type.
//
// The store is asked every time; nothing is cached, so a revocation by any
// path shows at the very next introspection.
func (h *Handler) introspect(x *exchange) error {
	ctx := x.r.Context()
	in, err := h.authenticateIntrospector(ctx, x.r, x.form)
	if in.app != nil {
		x.clientID = in.app.ClientID
	}
	if err != nil {
		return err
	}
	value := x.form.get("token")
	if value == "" {
		return tokenadmin.Errorf(tokenadmin.CodeInvalid, "token is required")
	}
	tok, err := h.Store.LookupToken(ctx, value)
	if tokenadmin.ErrorCode(err) == tokenadmin.CodeTokenNotFound {
		x.send(http.StatusOK, inactive)
		return nil
	}
	if err != nil {
		return err
	}
	if tok == nil {
		return errors.New("oauth: the store returned no token")
	}
	// Only the store's word "active" makes a token active: a state we do
	// not know is not.
	if tok.State != tokenadmin.StateActive {
		x.send(http.StatusOK, inactive)
		return nil
	}
	typ := "access_token"
	if tok.Type == tokenadmin.RefreshToken {
		typ = "refresh_token"
	}
	sub := tok.User
	if sub == "" {
		sub = tok.ClientID
	}
	return x.sendJSON(introspection{
		Active:    true,
		Scope:     strings.Join(tok.Scopes, " "),
		ClientID:  tok.ClientID,
		Username:  tok.User,
		TokenType: "Bearer",
		TokenUse:  typ,
		Exp:       tok.ExpiresAt.Unix(),
		Iat:       tok.IssuedAt.Unix(),
		Sub:       sub,
	})
}
