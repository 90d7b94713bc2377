package legacy

import (
	"errors"
	"log/slog"
	"net/http"

	"tokenadmin"
	"tokenadmin/soap"
)

// WS-Security UsernameToken on the legacy services, as Carbon offers it
// next to Basic and the session ("HTTP basic authentication over SSL,
// WS-Security username token, Session based authentication", WIRE.md §6).
// The token is read and verified by package soap (the same rules as the
// native API: PasswordText through the Authenticator, PasswordDigest
// against the digest credential, Created within five minutes, nonces not
// replayed). What is legacy here is the wire of a failure, which follows
// Rampart's (Axis2's WS-Security module) [D]: Axis2's fault layout
// (writeFaultWSA) with the wsse fault code of WSS 1.1 §12 and its fault
// string, i.e.
//
//	1.1: <soapenv:Fault xmlns:wsse="…secext-1.0.xsd"><faultcode>wsse:FailedAuthentication</faultcode>
//	     <faultstring>The security token could not be authenticated or authorized</faultstring><detail/></soapenv:Fault>   HTTP 500
//	1.2: <soapenv:Code><soapenv:Value>soapenv:Sender</soapenv:Value><soapenv:Subcode><soapenv:Value>wsse:…</soapenv:Value>
//	     </soapenv:Subcode></soapenv:Code>…   HTTP 400 (AxisServlet answers a Sender fault with 400)
//
// A UsernameToken does not start a session (each message carries its
// credentials, and Rampart creates none).

// wsSecurity authenticates call x with the request's wsse:Security block.
// authenticated tells whether the session or HTTP Basic already did: a
// token naming someone else is then InvalidSecurity. Without either, the
// answer is the 401 challenge (status set on the fault).
func (h *Handler) wsSecurity(r *http.Request, v version, header *soap.Element, x *call, authenticated bool) *fault {
	sv := soap.SOAP11
	if v == soap12 {
		sv = soap.SOAP12
	}
	sec, err := soap.ParseSecurity(sv, header)
	var caller tokenadmin.Caller
	ok := false
	if err == nil {
		caller, ok, err = h.WSSecurity.Authenticate(r.Context(), sec)
	}
	var se *soap.SecurityError
	switch {
	case errors.As(err, &se):
		return &fault{wsse: se.Code, message: se.Message()}
	case err != nil:
		h.logger().LogAttrs(r.Context(), slog.LevelError, "legacy: WS-Security", slog.String("error", err.Error()))
		return &fault{code: code50976, message: msgAuthFailed}
	case ok && authenticated && caller.Name != x.caller.Name:
		se = &soap.SecurityError{Code: soap.FaultInvalidSecurity}
		return &fault{wsse: se.Code, message: se.Message()}
	case ok:
		x.caller = caller
	case !authenticated:
		return &fault{status: http.StatusUnauthorized}
	}
	return nil
}
