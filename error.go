package tokenadmin

import (
	"errors"
	"fmt"
)

// Code is a machine-readable error code. It is part of the public contract:
// adapters put it on the wire (the SOAP fault detail, later OAuth errors),
// so existing codes never change meaning.
type Code string

// The error vocabulary. Every adapter maps these codes, and only these, to
// its wire format in one place.
const (
	CodeInvalid          Code = "InvalidRequest"   // malformed or out-of-range input
	CodeInvalidPageToken Code = "InvalidPageToken" // a pageToken we did not issue for this query
	CodeTokenNotFound    Code = "TokenNotFound"    // no such token (or not visible to the caller)
	CodeNotFound         Code = "NotFound"         // no such app or user
	CodeConflict         Code = "Conflict"         // the object already exists
	CodeUnauthenticated  Code = "Unauthenticated"  // missing or wrong credentials
	CodeForbidden        Code = "Forbidden"        // authenticated, but not allowed
	CodeInternal         Code = "InternalError"    // anything else; details are logged, never sent

	// OAuth 2.0 outcomes (RFC 6749 §5.2) that other wires report too.
	CodeInvalidGrant       Code = "InvalidGrant"       // a grant or refresh token that is not valid
	CodeInvalidScope       Code = "InvalidScope"       // a scope the client may not have
	CodeUnauthorizedClient Code = "UnauthorizedClient" // the client may not use this grant
)

// Error is an error whose code and message may be shown to the caller.
// Anything that is not an *Error is internal: its text is logged and the
// caller sees only a generic message.
type Error struct {
	Code    Code
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("tokenadmin: %s: %s", e.Code, e.Message) }

// Errorf returns an *Error with a formatted public message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err, CodeInternal for errors that are not
// an *Error, and "" for nil.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// ErrorMessage returns the public message of err. Internal errors get a
// generic text so that SQL, paths or stack details never reach a caller.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
