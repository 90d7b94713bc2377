package legacy

import (
	"context"
	"errors"

	"tokenadmin"
	"tokenadmin/soap"
)

// APIKeyMgtSubscriberService is served under /services/ too.
const APIKeyMgtSubscriberService = "APIKeyMgtSubscriberService"

// Namespace of API Manager's APIManagementException, the declared fault of
// the revoke operations (WIRE.md §5.5).
const (
	nsAPIMgt     = "http://api.apimgt.carbon.wso2.org/xsd"
	prefixAPIMgt = "ax2105" // arbitrary, as Axis2's are
)

// ReasonRevokedByKeyManager is the revocation reason recorded for tokens
// that APIKeyMgtSubscriberService revokes.
const ReasonRevokedByKeyManager = "revoked_by_key_manager"

// TokenRevoker revokes one token (tokenadmin.Service's RevokeToken, with
// its access rules). revokeAccessToken needs it: the Tokens given to
// NewHandler must also be a TokenRevoker (tokenadmin.Service is);
// otherwise revokeAccessToken answers the internal-error fault.
type TokenRevoker interface {
	RevokeToken(ctx context.Context, c tokenadmin.Caller, r tokenadmin.RevokeRequest) (*tokenadmin.RevokeResult, error)
}

func (h *Handler) apiKeyMgtSubscriberService() *service {
	s := &service{name: APIKeyMgtSubscriberService, wrapperNS: nsAxis2, h: h, wsdl: profileWSDL(h.profile, APIKeyMgtSubscriberService)}
	s.add(&operation{name: "revokeAccessToken", inOnly: true, changes: true, handle: h.revokeAccessToken})
	s.add(&operation{name: "revokeTokensOfUserByApp", changes: true, handle: h.revokeTokensOfUserByApp})
	return s
}

// childText is the text of wrapper's child name, "" when absent or nil.
func childText(wrapper *soap.Element, name string) string {
	if c := childByName(wrapper, name); c != nil && !c.IsNil() {
		return c.Text
	}
	return ""
}

// revokeAccessToken(key, consumerKey, authorizedUser) revokes the token
// whose value is key. It is robust in-only (WIRE.md §5.5, §5.6): HTTP 202
// with no body on success, a fault otherwise.
//
//   - An admin may revoke any token; a user their own and those of the
//     apps they own (tokenadmin.Service's rules). A user who names
//     another user in authorizedUser gets the 50978 fault, unless
//     consumerKey is an app they own.
//   - A key that matches no token (or, for a user, another user's token),
//     or a token already revoked or expired, is 202 all the same: WSO2's
//     DAO runs an UPDATE that matches nothing, and the answer tells no one
//     whether a value exists.
//   - consumerKey and authorizedUser only name WSO2's cache entry to clear;
//     they do not select the token. A refresh token's value revokes its
//     family, as the native revokeToken does.
//   - A missing key is a generic fault. Store failures are the declared
//     APIManagementException fault, the cause logged.
func (h *Handler) revokeAccessToken(ctx context.Context, x *call, wrapper *soap.Element, _ *soap.Writer) error {
	key := childText(wrapper, "key")
	if key == "" {
		return tokenadmin.Errorf(tokenadmin.CodeInvalid, "key is required")
	}
	if u := childText(wrapper, "authorizedUser"); x.caller.Role != tokenadmin.RoleAdmin && u != "" && u != x.caller.Name &&
		!h.ownsApp(ctx, x.caller, childText(wrapper, "consumerKey")) {
		return tokenadmin.Errorf(tokenadmin.CodeForbidden, "users may revoke only their own tokens")
	}
	rv, ok := h.tokens.(TokenRevoker)
	if !ok {
		return apiMgtError("Error while revoking the access token", errors.New("legacy: the token service cannot revoke one token"))
	}
	_, err := rv.RevokeToken(ctx, x.caller, tokenadmin.RevokeRequest{Value: key, Reason: ReasonRevokedByKeyManager})
	switch tokenadmin.ErrorCode(err) {
	case "", tokenadmin.CodeTokenNotFound:
		return nil
	case tokenadmin.CodeInvalid:
		return err
	}
	return apiMgtError("Error while revoking the access token", err)
}

// ownsApp reports whether c owns the live app clientID; a failed lookup
// is no.
func (h *Handler) ownsApp(ctx context.Context, c tokenadmin.Caller, clientID string) bool {
	if clientID == "" || h.apps == nil {
		return false
	}
	a, err := h.apps.GetApp(ctx, clientID)
	return err == nil && a.Owner == c.Name
}

// revokeTokensOfUserByApp(userName, appName) revokes userName's active
// tokens of every app named appName (exact, case-sensitive; names are not
// unique) and answers return=true, also when nothing matched, as WSO2
// does. An empty userName means the caller. Admins may name anyone; a
// user may name only themselves (50978 otherwise).
func (h *Handler) revokeTokensOfUserByApp(ctx context.Context, x *call, wrapper *soap.Element, w *soap.Writer) error {
	user, appName := childText(wrapper, "userName"), childText(wrapper, "appName")
	if user == "" {
		user = x.caller.Name
	}
	const msg = "Error while revoking the tokens of the user for the application"
	apps, err := h.tokens.ListAuthorizedApps(ctx, x.caller, user)
	if err != nil {
		return apiMgtError(msg, err)
	}
	for _, a := range apps {
		if appName == "" || a.AppName != appName {
			continue
		}
		if _, err := h.tokens.RevokeTokens(ctx, x.caller, tokenadmin.BulkRevoke{
			User: user, ClientID: a.ClientID, Reason: ReasonRevokedByKeyManager,
		}); err != nil {
			return apiMgtError(msg, err)
		}
	}
	w.Raw(`<ns:revokeTokensOfUserByAppResponse xmlns:ns="` + nsAxis2 + `">`)
	w.ElemBool("ns:return", true)
	w.Raw(`</ns:revokeTokensOfUserByAppResponse>`)
	return nil
}

// apiMgtError is the declared APIKeyMgtSubscriberServiceAPIManagementException
// with msg; the cause is logged. Forbidden and unauthenticated keep their
// Carbon faults.
func apiMgtError(msg string, cause error) error {
	switch tokenadmin.ErrorCode(cause) {
	case tokenadmin.CodeForbidden, tokenadmin.CodeUnauthenticated:
		return cause
	}
	return &businessError{message: msg, cause: cause, detail: apiManagementExceptionDetail}
}

// apiManagementExceptionDetail is the typed fault detail: the exception
// bean, whose type has no properties.
func apiManagementExceptionDetail(w *soap.Writer) {
	w.Raw(`<ns:APIKeyMgtSubscriberServiceAPIManagementException xmlns:ns="` + nsAxis2 + `">`)
	w.Raw(`<ns:APIManagementException xmlns:` + prefixAPIMgt + `="` + nsAPIMgt + `" xmlns:xsi="` + nsXSI +
		`" xsi:type="` + prefixAPIMgt + `:APIManagementException"/>`)
	w.Raw(`</ns:APIKeyMgtSubscriberServiceAPIManagementException>`)
}

// profileWSDL is the description of service for profile p, nil if there
// is none. A profile's folder holds only the services that changed from
// is-5.3's: OAuth2TokenValidationService and APIKeyMgtSubscriberService
// did not (the 2016-03 validation DTOs serve every profile; WIRE.md §2.2,
// §5.5), so the other profiles share is-5.3's.
func profileWSDL(p Profile, service string) []byte {
	for _, dir := range []Profile{p, IS53} {
		if b, err := wsdlFS.ReadFile("wsdl/" + string(dir) + "/" + service + ".wsdl"); err == nil {
			return b
		}
	}
	return nil
}
