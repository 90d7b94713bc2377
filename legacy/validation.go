package legacy

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"tokenadmin"
	"tokenadmin/soap"
)

// OAuth2TokenValidationService is served under /services/ too.
const OAuth2TokenValidationService = "OAuth2TokenValidationService"

// Namespaces of OAuth2TokenValidationService (WIRE.md §2.2): its wrappers
// are in nsAxis2 like OAuthAdminService's; its DTOs in nsOAuth2DTO.
const (
	nsOAuth2DTO     = "http://dto.oauth2.identity.carbon.wso2.org/xsd"
	prefixOAuth2DTO = "ax2341" // arbitrary, as Axis2's are
)

// WSO2's errorMsg texts of TokenValidationHandler (IS 5.x). They are not in
// WIRE.md; they are the messages of WSO2's validation handler as we know
// them, and clients that display errorMsg show them.
const (
	msgNoAccessToken    = "Access Token is not present in the validation request"
	msgNoTokenID        = "Access token identifier is not present in the validation request"
	msgUnsupportedType  = "Unsupported access token type"
	msgInvalidToken     = "Invalid access token"
	msgExpiredToken     = "Access token has expired"
	msgValidationServer = "Server error occurred while validating the OAuth2 access token"
)

// TokenLookup finds a token by value in any state, with its State at the
// store's clock (tokenadmin.OAuthStore's LookupToken; unknown values are
// tokenadmin.CodeTokenNotFound).
//
// OAuth2TokenValidationService needs it: the AppReader given to NewHandler
// must also be a TokenLookup (store.DB is); otherwise validate answers
// valid=false with the server-error message, and logs why.
type TokenLookup interface {
	LookupToken(ctx context.Context, value string) (*tokenadmin.Token, error)
}

func (h *Handler) tokenValidationService() *service {
	s := &service{name: OAuth2TokenValidationService, wrapperNS: nsAxis2, h: h, wsdl: profileWSDL(h.profile, OAuth2TokenValidationService)}
	s.add(&operation{name: "validate", handle: h.validate})
	s.add(&operation{name: "findOAuthConsumerIfTokenIsValid", handle: h.findOAuthConsumerIfTokenIsValid})
	return s
}

// validation is the outcome of one validation request:
// OAuth2TokenValidationResponseDTO plus the consumer key.
type validation struct {
	valid    bool
	user     string
	errorMsg string
	expiry   int64 // seconds left; 0 when not valid
	scopes   []string
	clientID string
}

// requireAdmin: the validation service is for resource servers and
// gateways, which call it with an administrator's credentials (Basic or a
// session), or an auditor's (it only reads); anyone else gets Carbon's
// authorization fault 50978.
func requireAdmin(c tokenadmin.Caller) error {
	if c.Role != tokenadmin.RoleAdmin && c.Role != tokenadmin.RoleAuditor {
		return tokenadmin.Errorf(tokenadmin.CodeForbidden, "the token validation service is for administrators")
	}
	return nil
}

// validateRequest runs WSO2's TokenValidationHandler checks, in its order,
// on the validationReqDTO child of wrapper:
//
//   - no accessToken, or no identifier: valid=false with WSO2's message;
//   - tokenType other than "bearer" (any case; empty is taken as bearer):
//     "Unsupported access token type";
//   - unknown value, a refresh token, or a revoked token: "Invalid access
//     token" (WSO2 looks among ACTIVE access tokens only);
//   - expired (by the store's clock): "Access token has expired";
//   - otherwise valid, with the user, the scopes and the seconds left.
//
// A store failure is logged and answered valid=false with WSO2's
// server-error message, as OAuth2TokenValidationService does; validate
// declares no fault.
func (h *Handler) validateRequest(ctx context.Context, wrapper *soap.Element) validation {
	dto := childByName(wrapper, "validationReqDTO")
	at := childByName(dto, "accessToken")
	if at == nil || at.IsNil() { // also: no or nil validationReqDTO
		return validation{errorMsg: msgNoAccessToken}
	}
	id := childByName(at, "identifier")
	if id == nil || id.IsNil() || id.Text == "" {
		return validation{errorMsg: msgNoTokenID}
	}
	if tt := childByName(at, "tokenType"); tt != nil && !tt.IsNil() && tt.Text != "" && !strings.EqualFold(tt.Text, "bearer") {
		return validation{errorMsg: msgUnsupportedType}
	}
	lookup, ok := h.apps.(TokenLookup)
	if !ok {
		h.logger().LogAttrs(ctx, slog.LevelError, "legacy: internal error",
			slog.String("operation", "validate"), slog.String("error", "the app reader cannot look tokens up"))
		return validation{errorMsg: msgValidationServer}
	}
	t, err := lookup.LookupToken(ctx, id.Text)
	switch tokenadmin.ErrorCode(err) {
	case "":
	case tokenadmin.CodeTokenNotFound:
		return validation{errorMsg: msgInvalidToken}
	default:
		h.logger().LogAttrs(ctx, slog.LevelError, "legacy: internal error",
			slog.String("operation", "validate"), slog.String("error", err.Error()))
		return validation{errorMsg: msgValidationServer}
	}
	switch {
	case t.Type != tokenadmin.AccessToken, t.State == tokenadmin.StateRevoked:
		return validation{errorMsg: msgInvalidToken}
	case t.State != tokenadmin.StateActive:
		return validation{errorMsg: msgExpiredToken}
	}
	// WSO2 answers the milliseconds left divided by 1000: seconds, as
	// API Manager reads it (expiryTime * 1000 is its validity period).
	left := t.ExpiresAt.Sub(h.sessions.now()) / time.Second
	return validation{valid: true, user: t.User, expiry: max(int64(left), 0), scopes: t.Scopes, clientID: t.ClientID}
}

// validate answers OAuth2TokenValidationResponseDTO, 2016-03 field set:
// authorizationContextToken (nil: no JWT is generated), authorizedUser,
// errorMsg, expiryTime, scope[], valid.
func (h *Handler) validate(ctx context.Context, x *call, wrapper *soap.Element, w *soap.Writer) error {
	if err := requireAdmin(x.caller); err != nil {
		return err
	}
	v := h.validateRequest(ctx, wrapper)
	w.Raw(`<ns:validateResponse xmlns:ns="` + nsAxis2 + `">`)
	w.Raw(`<ns:return xmlns:` + prefixOAuth2DTO + `="` + nsOAuth2DTO + `" xmlns:xsi="` + nsXSI +
		`" xsi:type="` + prefixOAuth2DTO + `:OAuth2TokenValidationResponseDTO">`)
	writeValidation(w, v)
	w.Raw(`</ns:return></ns:validateResponse>`)
	return nil
}

// findOAuthConsumerIfTokenIsValid answers OAuth2ClientApplicationDTO:
// accessTokenValidationResponse (the validate answer) and consumerKey,
// the token's client ID when valid, nil otherwise.
func (h *Handler) findOAuthConsumerIfTokenIsValid(ctx context.Context, x *call, wrapper *soap.Element, w *soap.Writer) error {
	if err := requireAdmin(x.caller); err != nil {
		return err
	}
	v := h.validateRequest(ctx, wrapper)
	p := prefixOAuth2DTO
	w.Raw(`<ns:findOAuthConsumerIfTokenIsValidResponse xmlns:ns="` + nsAxis2 + `">`)
	w.Raw(`<ns:return xmlns:` + p + `="` + nsOAuth2DTO + `" xmlns:xsi="` + nsXSI + `" xsi:type="` + p + `:OAuth2ClientApplicationDTO">`)
	w.Raw(`<` + p + `:accessTokenValidationResponse xsi:type="` + p + `:OAuth2TokenValidationResponseDTO">`)
	writeValidation(w, v)
	w.Raw(`</` + p + `:accessTokenValidationResponse>`)
	if v.valid {
		w.Elem(p+":consumerKey", v.clientID)
	} else {
		w.Raw(`<` + p + `:consumerKey xsi:nil="true"/>`)
	}
	w.Raw(`</ns:return></ns:findOAuthConsumerIfTokenIsValidResponse>`)
	return nil
}

// writeValidation writes the properties of OAuth2TokenValidationResponseDTO
// in the WSDL's order. Nulls are nil elements; scope is null (one nil
// element) when not valid and an empty array (no element) for a valid
// token without scopes (WIRE.md §8.1).
func writeValidation(w *soap.Writer, v validation) {
	p := prefixOAuth2DTO
	nil2 := func(name string) { w.Raw(`<` + p + `:` + name + ` xsi:nil="true"/>`) }
	str := func(name, s string) {
		if s == "" {
			nil2(name)
			return
		}
		w.Elem(p+":"+name, s)
	}
	nil2("authorizationContextToken")
	str("authorizedUser", v.user)
	str("errorMsg", v.errorMsg)
	w.ElemInt(p+":expiryTime", v.expiry)
	if !v.valid {
		nil2("scope")
	}
	for _, s := range v.scopes {
		w.Elem(p+":scope", s)
	}
	w.ElemBool(p+":valid", v.valid)
}
