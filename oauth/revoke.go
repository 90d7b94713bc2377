package oauth

import (
	"net/http"

	"tokenadmin"
)

// RevokeReason is recorded on tokens revoked through the revocation
// endpoint; the actor is "client:" and the client id.
const RevokeReason = "rfc7009"

// revoke serves the revocation endpoint (RFC 7009 §2). The client
// authenticates as at the token endpoint (§2.1: "The client also includes
// its authentication credentials as described in Section 2.3. of
// [RFC6749]") and may revoke only its own tokens: the store reports
// another client's token as not found (§2.1: the server "verifies whether
// the token was issued to the client making the revocation request").
//
// §2.2: "The authorization server responds with HTTP status code 200 if
// the token has been revoked successfully or if the client submitted an
// invalid token", so unknown, foreign, expired and already revoked tokens
// all get 200 with an empty body, like a revocation: a client learns
// nothing about tokens that are not its own. Revoking a refresh token
// revokes its family's access tokens too (§2.1 "SHOULD"; the store does
// it).
//
// token_type_hint is passed on as a lookup hint; an unknown value is
// ignored. §2.1: "If the server is unable to locate the token using the
// given hint, it MUST extend its search across all of its supported token
// types. An authorization server MAY ignore this parameter". We support
// revoking both types, so unsupported_token_type (§2.2.1) never applies.
func (h *Handler) revoke(x *exchange) error {
	ctx := x.r.Context()
	app, err := h.authenticateClient(ctx, x.r, x.form)
	if err != nil {
		return err
	}
	x.clientID = app.ClientID
	value := x.form.get("token")
	if value == "" {
		return tokenadmin.Errorf(tokenadmin.CodeInvalid, "token is required")
	}
	// Audited like the SOAP revocations: the store records a success in
	// the revocation's transaction (by the token's ID, never its value);
	// EndAudit records a refusal (another client's or an unknown token)
	// or a failure, although the client gets 200 for the former.
	actor := tokenadmin.Caller{Name: "client:" + app.ClientID}
	ctx = tokenadmin.StartAudit(ctx, h.Audit, actor, tokenadmin.AuditTokenRevoke, "", RevokeReason)
	res, err := h.Store.RevokeToken(ctx, tokenadmin.RevokeRequest{
		Value:    value,
		TypeHint: typeHint(x.form.get("token_type_hint")),
		Reason:   RevokeReason,
		Actor:    actor.Name,
		ClientID: app.ClientID,
	})
	count := 0
	if res != nil {
		count = res.Count
	}
	tokenadmin.EndAudit(ctx, h.Audit, count, err)
	if err != nil && tokenadmin.ErrorCode(err) != tokenadmin.CodeTokenNotFound {
		return err
	}
	x.send(http.StatusOK, nil)
	return nil
}

// typeHint maps a token_type_hint (RFC 7009 §2.1, RFC 7662 §2.1) to a
// token type; unknown values are no hint.
func typeHint(hint string) tokenadmin.TokenType {
	switch hint {
	case "access_token":
		return tokenadmin.AccessToken
	case "refresh_token":
		return tokenadmin.RefreshToken
	}
	return ""
}
