package oauth

import (
	"net/http"
	"strings"

	"tokenadmin"
)

// Codes of this package, for the outcomes that have no domain code. Like
// the domain's, they never reach the wire as such: errorFor maps them.
const (
	// codeUnsupportedGrantType: a grant_type the server does not support
	// (RFC 6749 §5.2 unsupported_grant_type).
	codeUnsupportedGrantType tokenadmin.Code = "UnsupportedGrantType"
	// codeMethodNotAllowed: anything but POST (RFC 6749 §3.2).
	codeMethodNotAllowed tokenadmin.Code = "MethodNotAllowed"
	// codeNoSuchEndpoint: a path the Handler does not serve.
	codeNoSuchEndpoint tokenadmin.Code = "NoSuchEndpoint"
)

// The "error" values we send. RFC 6749 §5.2 defines all but
// insufficient_scope (RFC 6750 §3.1) and server_error (RFC 6749 §4.1.2.1,
// used by the token endpoint in practice for what §5.2 has no code for).
const (
	errInvalidRequest       = "invalid_request"
	errInvalidClient        = "invalid_client"
	errInvalidGrant         = "invalid_grant"
	errUnauthorizedClient   = "unauthorized_client"
	errUnsupportedGrantType = "unsupported_grant_type"
	errInvalidScope         = "invalid_scope"
	errInsufficientScope    = "insufficient_scope"
	errServerError          = "server_error"
)

// wireError is an error response as it goes on the wire (RFC 6749 §5.2).
type wireError struct {
	status      int
	code        string // the "error" member
	description string // the "error_description" member
	internal    bool   // the cause must be logged; the client sees a generic text
}

// errorFor maps an error to its response. It is the one place where the
// error vocabulary meets the OAuth wire (house style #5); the table in the
// package documentation mirrors it. Codes the endpoints never produce on
// purpose, tokenadmin.CodeInternal and errors that are not a
// *tokenadmin.Error all become a 500 server_error with a fixed description.
func errorFor(err error) wireError {
	msg := tokenadmin.ErrorMessage(err)
	switch tokenadmin.ErrorCode(err) {
	case tokenadmin.CodeInvalid:
		return wireError{status: http.StatusBadRequest, code: errInvalidRequest, description: msg}
	case codeMethodNotAllowed:
		return wireError{status: http.StatusMethodNotAllowed, code: errInvalidRequest, description: msg}
	case codeNoSuchEndpoint:
		return wireError{status: http.StatusNotFound, code: errInvalidRequest, description: msg}
	case tokenadmin.CodeUnauthenticated:
		return wireError{status: http.StatusUnauthorized, code: errInvalidClient, description: msg}
	case tokenadmin.CodeNotFound:
		// The only app lookups after authentication are the store's; an
		// app deleted in between is a client that no longer exists.
		return wireError{status: http.StatusUnauthorized, code: errInvalidClient, description: "client authentication failed"}
	case tokenadmin.CodeInvalidGrant, tokenadmin.CodeTokenNotFound:
		// TokenNotFound reaches here only from the refresh grant: the
		// revocation and introspection endpoints answer it themselves.
		return wireError{status: http.StatusBadRequest, code: errInvalidGrant, description: msg}
	case tokenadmin.CodeInvalidScope:
		return wireError{status: http.StatusBadRequest, code: errInvalidScope, description: msg}
	case tokenadmin.CodeUnauthorizedClient:
		return wireError{status: http.StatusBadRequest, code: errUnauthorizedClient, description: msg}
	case codeUnsupportedGrantType:
		return wireError{status: http.StatusBadRequest, code: errUnsupportedGrantType, description: msg}
	case tokenadmin.CodeForbidden:
		return wireError{status: http.StatusForbidden, code: errInsufficientScope, description: msg}
	default:
		return wireError{status: http.StatusInternalServerError, code: errServerError, description: "internal server error", internal: true}
	}
}

// maxDescription bounds an error_description, in bytes.
const maxDescription = 256

// description returns s as RFC 6749 §5.2 allows error_description to be:
// "Values for the "error_description" parameter MUST NOT include
// characters outside the set %x20-21 / %x23-5B / %x5D-7E." Double quotes
// become single quotes, other characters outside the set '?'.
func description(s string) string {
	if len(s) > maxDescription {
		s = s[:maxDescription]
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r == '"':
			return '\''
		case r == '\\' || r < 0x20 || r > 0x7e:
			return '?'
		}
		return r
	}, s)
}
