// Package oauth serves tokenadmin's OAuth 2.0 endpoints over HTTP:
//
//   - POST /oauth2/token (TokenPath): the token endpoint of RFC 6749 §3.2,
//     with the password (§4.3), client_credentials (§4.4) and
//     refresh_token (§6) grants;
//   - POST /oauth2/revoke (RevokePath): token revocation, RFC 7009;
//   - POST /oauth2/introspect (IntrospectPath): token introspection,
//     RFC 7662.
//
// Handler is an adapter like soap's: it parses and checks the HTTP
// request, then speaks to the store (tokenadmin.OAuthStore) and the user
// Authenticator in domain terms. Policy (which grants an app may use, its
// scopes, lifetimes and refresh rotation) comes from the tokenadmin.App
// that client authentication returns and from the server-wide
// tokenadmin.Policy.
//
// # Requests
//
// Every endpoint takes the same steps, and refuses a request at the first
// that fails:
//
//  1. Method POST (RFC 6749 §3.2); anything else is 405 with Allow: POST.
//  2. Content-Type application/x-www-form-urlencoded, charset UTF-8 if
//     any (RFC 6749 Appendix B).
//  3. The body, at most MaxBodyBytes, parsed as a form. A parameter that
//     occurs twice is refused, whatever its name (RFC 6749 §3.1, §3.2:
//     "Request and response parameters MUST NOT be included more than
//     once"); an empty one counts as omitted (same sections); unknown ones
//     are ignored. The query string is ignored.
//  4. Client authentication (RFC 6749 §2.3.1): client_secret_basic, whose
//     id and secret are form-urlencoded inside the Basic credentials, or
//     client_secret_post, never both (§2.3: "MUST NOT use more than one
//     authentication method"). The introspection endpoint also accepts an
//     admin's or an auditor's Basic credentials.
//  5. The endpoint's own parameters.
//
// # Errors
//
// Errors are the JSON objects of RFC 6749 §5.2, which RFC 7009 §2.2.1 and
// RFC 7662 §2.3 reuse: {"error": ..., "error_description": ...}. The
// handlers return domain errors (tokenadmin.Error codes, plus three codes
// of this package for what the domain has no code for); errorFor, in
// errors.go, is the one place that maps them to the wire:
//
//	code                        status  error
//	CodeInvalid                 400     invalid_request
//	(wrong method)              405     invalid_request, with Allow: POST
//	(unknown path)              404     invalid_request
//	CodeUnauthenticated         401     invalid_client, with WWW-Authenticate
//	CodeNotFound (the app)      401     invalid_client, with WWW-Authenticate
//	CodeInvalidGrant            400     invalid_grant
//	CodeTokenNotFound           400     invalid_grant
//	CodeInvalidScope            400     invalid_scope
//	CodeUnauthorizedClient      400     unauthorized_client
//	(unsupported grant type)    400     unsupported_grant_type
//	CodeForbidden               403     insufficient_scope (introspection)
//	anything else               500     server_error, generic description
//
// §5.2 lets invalid_client be 400 when the client did not try HTTP
// authentication; it is always 401 with WWW-Authenticate: Basic
// realm="tokenadmin" here, which the RFC also allows and which tells every
// client how to retry. A request body over MaxBodyBytes is invalid_request
// (400). Internal errors are logged with the endpoint, the client id and
// the grant type; secrets, passwords and token values are never logged.
//
// Every response, errors included, carries Cache-Control: no-store and
// Pragma: no-cache (RFC 6749 §5.1).
//
// # Introspection access
//
// RFC 7662 §2.1 leaves it to the server who may introspect. Here it is a
// client whose app has Introspect set, or a user with the admin or the
// auditor role (auditors read everything; introspection only reads):
//
//   - Basic credentials are first tried as client credentials (§2.3.1
//     decoding); if they do not authenticate a client, as a user's name
//     and password. A client secret in the body (client_secret_post)
//     authenticates a client only.
//   - No credentials, or credentials that authenticate neither: 401
//     invalid_client with WWW-Authenticate (RFC 7662 §2.3 points to RFC
//     6749 §5.2 for this).
//   - An authenticated client without the permission, or a user who is
//     neither an admin nor an auditor: 403 {"error": "insufficient_scope"}, the status and code
//     RFC 6750 §3.1 gives a caller whose credentials are good but not
//     sufficient (RFC 7662 §2.3 refers to RFC 6750 for callers that use a
//     bearer token).
//
// A token that is unknown, expired or revoked gets exactly
// {"active":false} (RFC 7662 §2.2). Nothing is cached: every request asks
// the store, so a revocation by any path is visible to the very next
// introspection.
package oauth
