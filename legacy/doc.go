// Package legacy serves WSO2 Identity Server's Axis2 admin services over
// tokenadmin's store and authenticator, wire-compatible with portals built
// on the original ADB stubs (issue 4; the facts are in shared/legacy/WIRE.md).
//
// Served, for every profile (is-5.0, is-5.3, is-5.5, is-5.7; the
// differences between generations are data in profile.go):
// OAuthAdminService getAppsAuthorizedByUser and
// revokeAuthzForAppsByResoureOwner, its application operations
// (getAllOAuthApplicationData … isPKCESupportEnabled, admins only; their
// mapping onto tokenadmin.App and the one-time secret read are described
// in oauthapps.go), AuthenticationAdmin login and logout,
// OAuth2TokenValidationService validate and findOAuthConsumerIfTokenIsValid
// (validation.go), and APIKeyMgtSubscriberService revokeAccessToken and
// revokeTokensOfUserByApp (apikeymgt.go), each at /services/<Service> and
// its .<Service>HttpsSoap11Endpoint/, …HttpsSoap12Endpoint/ and
// …HttpsEndpoint/ forms, SOAP 1.1 and 1.2.
//
// This package is its own small Axis2 dialect rather than a mode of
// package soap: the envelope prefix (soapenv for both versions), the XML
// declaration, fault codes (axis2ns1:50977), the HTTP 401 without SOAP,
// HTTP 202 for in-only operations and the response media types all differ
// from the native service, whose goldens must not move. It shares soap's
// hardened parser (soap.Parse) and Writer.
//
// Decisions:
//   - The user is always the authenticated caller, admins included; the
//     request's authzUser, consumerKey and consumerSecret are ignored.
//   - Authorized apps are the apps with active tokens (WSO2 also counts
//     expired ones); the DTO carries key, name, owner, grant types and
//     PKCE flags (false), the rest nil, sorted by name then client ID.
//   - Revocation matches names exactly against the caller's authorized
//     apps and revokes the caller's tokens of every app of that name.
//   - A missing revokeRequestDTO is a generic Server fault (WSO2: an NPE).
//   - Internal errors are the declared IdentityOAuthAdminException fault
//     with WSO2's message; the cause is logged, never sent.
//   - Sessions are in memory (JSESSIONID, 128-bit, idle timeout, bounded,
//     LRU eviction); a successful Basic call starts one too, as in Carbon.
//   - WS-Addressing (2005/08 and 2004/08) is answered with a soapenv:Header
//     of wsa:To (anonymous), wsa:Action and wsa:RelatesTo, only when the
//     request carried wsa headers; the wsa headers are understood, any
//     other mandatory header block for us is Axis2's MustUnderstand fault
//     (addressing.go has the details).
//   - The axis2nsN and axNNNN prefixes are fixed (axis2ns1, ax2393…).
//   - ?wsdl serves our own description (legacy/wsdl/<profile>/) with the
//     request's host; Carbon would answer 403 by default.
package legacy
