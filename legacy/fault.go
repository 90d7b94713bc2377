package legacy

import (
	"errors"
	"log/slog"
	"net/http"

	"tokenadmin"
	"tokenadmin/soap"
)

// Fault codes as Axis2 writes them (WIRE.md §6, §8.2). Carbon's own codes
// are namespace-less QNames that Axiom prefixes with a generated
// "axis2nsN"; N is a process-wide counter in Axis2, fixed at 1 here so the
// bytes are stable (clients read the local part only).
const (
	codeServer          = "Server" // soapenv:Server, soapenv:Receiver in 1.2
	codeVersionMismatch = "VersionMismatch"
	codeMustUnderstand  = "MustUnderstand" // soapenv:MustUnderstand (addressing.go)
	codeClient          = "Client"         // operation not found: axis2ns1:Client
	code50976           = "50976"          // authentication failed for another reason
	code50977           = "50977"          // wrong credentials, or no session
	code50978           = "50978"          // authorization (permission) failure
)

// Carbon's fault strings (AuthenticationHandler, AuthorizationHandler).
const (
	msgInvalidCredentials = "Access Denied. Authentication failed - Invalid credentials provided."
	msgAuthFailed         = "Access Denied. Authentication failed - System error occurred."
	msgAccessDenied       = "Access Denied."
)

// fault is a SOAP fault as Axis2 writes it.
type fault struct {
	code    string
	message string
	// detail writes the detail entry; nil for an empty detail.
	detail func(w *soap.Writer)
	// status is an HTTP status that replaces the fault (401).
	status int
	// wsse is set for WS-Security faults (wssecurity.go): the code is
	// then wsse:<wsse> in SOAP 1.1, env:Sender with that subcode in 1.2.
	wsse soap.SecurityFaultCode
}

func genericFault(msg string) *fault { return &fault{code: codeServer, message: msg} }

// businessError is a declared service exception (IdentityOAuthAdminException):
// a Server fault whose detail is the typed exception element.
type businessError struct {
	message string
	detail  func(w *soap.Writer)
	// oauthAdmin: an OAuthAdminService exception, whose detail the
	// profile and operation decide (Handler.oauthAdminDetail); detail
	// is unused.
	oauthAdmin bool
	cause      error // logged, never sent
}

func (e *businessError) Error() string {
	if e.cause != nil {
		return e.message + ": " + e.cause.Error()
	}
	return e.message
}

func (e *businessError) Unwrap() error { return e.cause }

// faultFor maps an operation's error to its fault, in one place (house
// style #5):
//   - a *businessError is the declared exception, Server/Receiver with the
//     typed detail (WIRE.md §8.2); its cause, if any, is logged;
//   - tokenadmin.CodeForbidden is Carbon's authorization fault 50978 and
//     CodeUnauthenticated its 50977;
//   - any other *tokenadmin.Error is a generic fault with its public message
//     (Axis2's AxisFault.makeFault: the message, an empty detail);
//   - anything else is logged and answered "internal error".
func (h *Handler) faultFor(r *http.Request, op string, err error) *fault {
	var be *businessError
	if errors.As(err, &be) {
		if be.cause != nil {
			h.logger().LogAttrs(r.Context(), slog.LevelError, "legacy: internal error",
				slog.String("operation", op), slog.String("error", be.cause.Error()))
		}
		detail := be.detail
		if be.oauthAdmin {
			detail = h.oauthAdminDetail(op, be.message)
		}
		return &fault{code: codeServer, message: be.message, detail: detail}
	}
	switch tokenadmin.ErrorCode(err) {
	case tokenadmin.CodeForbidden:
		return &fault{code: code50978, message: msgAccessDenied}
	case tokenadmin.CodeUnauthenticated:
		return &fault{code: code50977, message: msgInvalidCredentials}
	case tokenadmin.CodeInternal:
		h.logger().LogAttrs(r.Context(), slog.LevelError, "legacy: internal error",
			slog.String("operation", op), slog.String("error", err.Error()))
		return genericFault("internal error")
	}
	return genericFault(tokenadmin.ErrorMessage(err))
}

// writeFault writes f as Axis2 does (WIRE.md §8.2), always HTTP 500:
//
//	1.1: <soapenv:Fault><faultcode>soapenv:Server</faultcode><faultstring>…</faultstring><detail>…</detail></soapenv:Fault>
//	1.2: <soapenv:Fault><soapenv:Code><soapenv:Value>soapenv:Receiver</soapenv:Value></soapenv:Code>
//	     <soapenv:Reason><soapenv:Text xml:lang="en-US">…</soapenv:Text></soapenv:Reason><soapenv:Detail>…</soapenv:Detail></soapenv:Fault>
//
// The detail element is always there, empty when there is nothing in it.
func (h *Handler) writeFault(w http.ResponseWriter, r *http.Request, v version, f *fault) {
	h.writeFaultWSA(w, r, v, nil, f)
}

// writeFaultWSA is writeFault for a request whose WS-Addressing headers
// were read (nil: none): the fault then carries a soapenv:Header with
// the WS-Addressing fault action (addressing.go), which a SOAP 1.2 media
// type also names.
func (h *Handler) writeFaultWSA(w http.ResponseWriter, r *http.Request, v version, wsa *addressing, f *fault) {
	if ri := tokenadmin.RequestInfoFrom(r.Context()); ri != nil {
		ri.Outcome = f.code // for the access log: one of our fixed codes
	}
	var b soap.Writer
	b.Raw(`<?xml version='1.0' encoding='UTF-8'?><soapenv:Envelope xmlns:soapenv="`)
	b.Raw(v.ns())
	b.Raw(`">`)
	action := ""
	if wsa != nil {
		action = wsa.faultAction()
		wsa.writeHeader(&b, action)
	}
	b.Raw(`<soapenv:Body>`)
	var code string
	switch {
	case f.wsse != "":
		b.Begin("soapenv:Fault")
		b.Attr("xmlns:wsse", soap.NSWSSE)
		b.EndAttrs()
		code = "wsse:" + string(f.wsse)
		if v == soap12 {
			code = "soapenv:Sender"
		}
	case f.code == codeServer:
		b.Raw(`<soapenv:Fault>`)
		code = "soapenv:Server"
		if v == soap12 {
			code = "soapenv:Receiver"
		}
	case f.code == codeVersionMismatch, f.code == codeMustUnderstand:
		b.Raw(`<soapenv:Fault>`)
		code = "soapenv:" + f.code
	default:
		b.Begin("soapenv:Fault")
		b.Attr("xmlns:axis2ns1", v.ns())
		b.EndAttrs()
		code = "axis2ns1:" + f.code
	}
	if v == soap11 {
		b.Elem("faultcode", code)
		b.Elem("faultstring", f.message)
		writeDetail(&b, "detail", f.detail)
	} else {
		b.Raw(`<soapenv:Code>`)
		b.Elem("soapenv:Value", code)
		if f.wsse != "" {
			b.Raw(`<soapenv:Subcode>`)
			b.Elem("soapenv:Value", "wsse:"+string(f.wsse))
			b.Raw(`</soapenv:Subcode>`)
		}
		b.Raw(`</soapenv:Code><soapenv:Reason><soapenv:Text xml:lang="en-US">`)
		b.Text(f.message)
		b.Raw(`</soapenv:Text></soapenv:Reason>`)
		writeDetail(&b, "soapenv:Detail", f.detail)
	}
	b.Raw(`</soapenv:Fault></soapenv:Body></soapenv:Envelope>`)
	status := http.StatusInternalServerError
	if f.wsse != "" && v == soap12 {
		status = http.StatusBadRequest // AxisServlet: a SOAP 1.2 Sender fault is 400 (WIRE.md §8.2)
	}
	send(w, r, status, contentType(v, action), b.Bytes())
}

func writeDetail(b *soap.Writer, name string, detail func(*soap.Writer)) {
	if detail == nil {
		b.Begin(name)
		b.SelfClose()
		return
	}
	b.Open(name)
	detail(b)
	b.Close(name)
}

// challenge answers a request without usable credentials as Carbon's
// BasicAccessAuthenticator does: HTTP 401, a Basic challenge, no SOAP.
func (h *Handler) challenge(w http.ResponseWriter) {
	realm := h.Realm
	if realm == "" {
		realm = DefaultRealm
	}
	w.Header().Set("WWW-Authenticate", `Basic realm="`+realm+`"`)
	w.Header().Set("Content-Type", "text/html")
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusUnauthorized)
}
