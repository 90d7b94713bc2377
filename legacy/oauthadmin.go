package legacy

import (
	"context"
	"slices"
	"strings"

	"tokenadmin"
	"tokenadmin/soap"
)

// Namespaces of OAuthAdminService's types (WIRE.md §3).
const (
	nsDTO        = "http://dto.oauth.identity.carbon.wso2.org/xsd"
	nsOAuthXSD   = "http://oauth.identity.carbon.wso2.org/xsd"
	nsIdentity   = "http://base.identity.carbon.wso2.org/xsd"
	prefixDTO    = "ax2393" // Axis2 numbers these per build; clients must not care
	prefixOAuth  = "ax2389"
	prefixIdBase = "ax2390"
)

// ReasonRevokedByOwner is the revocation reason recorded for tokens that
// revokeAuthzForAppsByResoureOwner revokes.
const ReasonRevokedByOwner = "revoked_by_resource_owner"

func (h *Handler) oauthAdminService() *service {
	s := &service{name: OAuthAdminService, wrapperNS: nsAxis2, h: h, wsdl: oauthAdminWSDL(h.profile)}
	s.add(&operation{name: "getAppsAuthorizedByUser", handle: h.getAppsAuthorizedByUser})
	s.add(&operation{name: "revokeAuthzForAppsByResoureOwner", changes: true, handle: h.revokeAuthzForAppsByResoureOwner})
	h.registerAppOperations(s) // oauthapps.go
	return s
}

// authorizedApp is one row of getAppsAuthorizedByUser: the app and, when
// it still exists, its registration.
type authorizedApp struct {
	*tokenadmin.AuthorizedApp
	app *tokenadmin.App // nil if deleted meanwhile
}

// authorizedApps lists the caller's authorized apps, always the caller's
// own whatever their role (WIRE.md §6: the user is the authenticated one).
//
// Unlike WSO2, which lists apps with ACTIVE or EXPIRED tokens, this lists
// apps with active tokens: an expired token authorizes nothing here, and
// revoking it would change nothing.
func (h *Handler) authorizedApps(ctx context.Context, c tokenadmin.Caller) ([]authorizedApp, error) {
	list, err := h.tokens.ListAuthorizedApps(ctx, c, "")
	if err != nil {
		return nil, err
	}
	out := make([]authorizedApp, 0, len(list))
	for _, a := range list {
		app, err := h.apps.GetApp(ctx, a.ClientID)
		switch tokenadmin.ErrorCode(err) {
		case "":
		case tokenadmin.CodeNotFound:
			app = nil
		default:
			return nil, err
		}
		out = append(out, authorizedApp{AuthorizedApp: a, app: app})
	}
	return out, nil
}

// getAppsAuthorizedByUser (WIRE.md §7.1): one OAuthConsumerAppDTO per app
// the caller holds tokens of, with the profile's field set: key, name,
// owner, grant types, lifetimes; OAuthVersion, secret and state nil. Order: by name,
// then client ID (WSO2's is undefined).
func (h *Handler) getAppsAuthorizedByUser(ctx context.Context, x *call, _ *soap.Element, w *soap.Writer) error {
	apps, err := h.authorizedApps(ctx, x.caller)
	if err != nil {
		return oauthAdminError("Error occurred while retrieving apps authorized by User ID : "+x.caller.Name, err)
	}
	if len(apps) == 0 {
		w.Raw(`<ns:getAppsAuthorizedByUserResponse xmlns:ns="` + nsAxis2 + `"/>`)
		return nil
	}
	w.Raw(`<ns:getAppsAuthorizedByUserResponse xmlns:ns="` + nsAxis2 + `">`)
	for _, a := range apps {
		app := tokenadmin.App{Name: a.AppName, ClientID: a.ClientID}
		if a.app != nil {
			app.GrantTypes, app.Owner = a.app.GrantTypes, a.app.Owner
			app.AccessTTL, app.RefreshTTL = a.app.AccessTTL, a.app.RefreshTTL
		}
		h.spec.writeAppDTO(w, newAppView(&app, "", false))
	}
	w.Raw(`</ns:getAppsAuthorizedByUserResponse>`)
	return nil
}

// revokeAuthzForAppsByResoureOwner (WIRE.md §7.2; the misspelling is the
// wire name). The request's authzUser, consumerKey and consumerSecret are
// never read: the caller revokes their own grants. Apps are matched by
// exact, case-sensitive name against the caller's authorized apps; every
// app of that name is revoked (names are not unique here, and WSO2 also
// revokes every authorized app whose name matches). Unknown names are
// ignored, and the answer is the same whether anything was revoked or not.
// An empty app list is not a fault but error=true, invalid_request.
func (h *Handler) revokeAuthzForAppsByResoureOwner(ctx context.Context, x *call, wrapper *soap.Element, w *soap.Writer) error {
	dto := childByName(wrapper, "revokeRequestDTO")
	if dto == nil || dto.IsNil() {
		// WSO2 fails with a NullPointerException here: a generic fault.
		return tokenadmin.Errorf(tokenadmin.CodeInvalid, "revokeRequestDTO is required")
	}
	var names []string
	for _, c := range dto.Children {
		if strings.EqualFold(c.Name.Local, "apps") && !c.IsNil() {
			names = append(names, c.Text)
		}
	}
	if len(names) == 0 {
		writeRevocationResponse(w, true, "invalid_request", "Invalid revocation request")
		return nil
	}
	apps, err := h.authorizedApps(ctx, x.caller)
	if err != nil {
		return oauthAdminError("Error occurred while revoking OAuth2 authorization grant(s)", err)
	}
	for _, a := range apps {
		if !contains(names, a.AppName) {
			continue
		}
		if _, err := h.tokens.RevokeTokens(ctx, x.caller, tokenadmin.BulkRevoke{
			User: x.caller.Name, ClientID: a.ClientID, Reason: ReasonRevokedByOwner,
		}); err != nil {
			return oauthAdminError("Error occurred while revoking OAuth2 authorization grant(s)", err)
		}
	}
	writeRevocationResponse(w, false, "", "")
	return nil
}

func writeRevocationResponse(w *soap.Writer, isErr bool, code, msg string) {
	w.Raw(`<ns:revokeAuthzForAppsByResoureOwnerResponse xmlns:ns="` + nsAxis2 + `">`)
	beginBean(w, "OAuthRevocationResponseDTO")
	w.ElemBool(prefixDTO+":error", isErr)
	strElem(w, "errorCode", code)
	strElem(w, "errorMsg", msg)
	w.Close("ns:return")
	w.Raw(`</ns:revokeAuthzForAppsByResoureOwnerResponse>`)
}

// oauthAdminError is the declared IdentityOAuthAdminException with WSO2's
// message; the cause is logged. Forbidden and unauthenticated keep their
// Carbon faults.
func oauthAdminError(msg string, cause error) error {
	switch tokenadmin.ErrorCode(cause) {
	case tokenadmin.CodeForbidden, tokenadmin.CodeUnauthenticated:
		return cause
	}
	return &businessError{message: msg, cause: cause, oauthAdmin: true}
}

// oauthAdminDetail is the typed detail of OAuthAdminService's declared
// exception for op in this profile (WIRE.md §5, §5.6, §8.2):
//   - void operations of a robust in-only generation: none (Axis2's
//     AxisFault.makeFault);
//   - application operations of 2014: OAuthAdminServiceException, an
//     Exception bean with its Message;
//   - otherwise IdentityOAuthAdminException, with errorCode nil from
//     2016-12 on and empty before.
func (h *Handler) oauthAdminDetail(op, message string) func(*soap.Writer) {
	spec := h.spec
	switch {
	case spec.inOnlyVoid && slices.Contains(voidOps, op):
		return nil
	case spec.appException == excOAuthAdminService && slices.Contains(spec.appOps, op):
		return func(w *soap.Writer) {
			w.Raw(`<ns:OAuthAdminServiceException xmlns:ns="` + nsAxis2 + `">`)
			w.Raw(`<ns:OAuthAdminServiceException xmlns:xsi="` + nsXSI + `" xsi:type="ns:Exception">`)
			w.Elem("ns:Message", message)
			w.Raw(`</ns:OAuthAdminServiceException></ns:OAuthAdminServiceException>`)
		}
	}
	errorCode := spec.errorCode
	return func(w *soap.Writer) {
		w.Raw(`<ns:OAuthAdminServiceIdentityOAuthAdminException xmlns:ns="` + nsAxis2 + `">`)
		w.Raw(`<ns:IdentityOAuthAdminException xmlns:` + prefixOAuth + `="` + nsOAuthXSD + `" xmlns:` + prefixIdBase + `="` + nsIdentity +
			`" xmlns:xsi="` + nsXSI + `" xsi:type="` + prefixOAuth + `:IdentityOAuthAdminException">`)
		if errorCode {
			w.Raw(`<` + prefixIdBase + `:errorCode xsi:nil="true"/>`)
		}
		w.Raw(`</ns:IdentityOAuthAdminException></ns:OAuthAdminServiceIdentityOAuthAdminException>`)
	}
}

// beginBean opens <ns:return> for a bean of the DTO namespace, with the
// declarations and xsi:type Axis2's BeanUtil writes (WIRE.md §8.1).
func beginBean(w *soap.Writer, typ string) {
	w.Raw(`<ns:return xmlns:` + prefixDTO + `="` + nsDTO + `" xmlns:xsi="` + nsXSI + `" xsi:type="` + prefixDTO + ":" + typ + `">`)
}

// strElem writes a nillable string property: nil when empty, never
// omitted (WIRE.md §8.1).
func strElem(w *soap.Writer, name, v string) {
	if v == "" {
		nilElem(w, name)
		return
	}
	w.Elem(prefixDTO+":"+name, v)
}

func nilElem(w *soap.Writer, name string) {
	w.Raw(`<` + prefixDTO + `:` + name + ` xsi:nil="true"/>`)
}

// childByName is the first child of e whose local name is name, any case,
// any namespace: Axis2's BeanUtil matching (WIRE.md §8.3).
func childByName(e *soap.Element, name string) *soap.Element {
	if e == nil {
		return nil
	}
	for _, c := range e.Children {
		if strings.EqualFold(c.Name.Local, name) {
			return c
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
