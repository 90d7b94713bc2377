package legacy

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"tokenadmin"
	"tokenadmin/soap"
)

// Namespaces of the Axis2/Carbon wire (WIRE.md §3).
const (
	nsSOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
	nsSOAP12 = "http://www.w3.org/2003/05/soap-envelope"
	nsXSI    = "http://www.w3.org/2001/XMLSchema-instance"

	// nsAxis2 is the namespace of every OAuthAdminService wrapper element
	// (services.xml schemaNamespace).
	nsAxis2 = "http://org.apache.axis2/xsd"
)

// version is a SOAP version; answers are always in the request's.
type version uint8

const (
	soap11 version = iota + 1
	soap12
)

func (v version) ns() string {
	if v == soap12 {
		return nsSOAP12
	}
	return nsSOAP11
}

// operation is one operation of an Axis2 service.
type operation struct {
	name string // wire name; the SOAPAction is "urn:" + name
	// inOnly operations answer HTTP 202 with no body on success
	// (Axis2 RPCInOnlyMessageReceiver; WIRE.md §5.6).
	inOnly bool
	// changes: the operation changes something (a revocation, an app
	// change), so an auditor gets Carbon's authorization fault 50978
	// before it runs; auditors read everything and change nothing.
	changes bool
	// handle serves one call. wrapper is the Body's child, nil for an
	// empty Body. It writes the response wrapper element to w (nothing
	// for inOnly operations). Errors: see faultFor.
	handle func(ctx context.Context, x *call, wrapper *soap.Element, w *soap.Writer) error
}

// call is the state of one request that operations may use.
type call struct {
	caller tokenadmin.Caller
	w      http.ResponseWriter
	r      *http.Request
}

// service is one Carbon admin service: Axis2's transport, dispatch,
// authentication and fault conventions around a set of operations.
type service struct {
	name      string // "OAuthAdminService"
	wrapperNS string // the namespace requests' wrapper elements must be in
	anonymous bool   // no operation needs authentication (AuthenticationAdmin)
	ops       map[string]*operation
	wsdl      []byte // nil: no ?wsdl
	h         *Handler
}

func (s *service) add(op *operation) {
	if s.ops == nil {
		s.ops = make(map[string]*operation)
	}
	s.ops[op.name] = op
}

// ServeHTTP serves one request to the service, in Axis2's order: the
// transport (method, media type), Carbon's AuthenticationHandler, the body,
// dispatch (SOAPAction, then the Body's first child), and the RPC message
// receiver's wrapper-namespace check.
func (s *service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ri := tokenadmin.RequestInfoFrom(r.Context()) // the access log's; nil without one
	switch r.Method {
	case http.MethodPost:
	case http.MethodGet, http.MethodHead:
		if s.wsdl != nil && soap.WantsWSDL(r.URL.RawQuery) {
			if ri != nil {
				ri.Operation, ri.Outcome = "wsdl", "ok"
			}
			s.serveWSDL(w, r)
			return
		}
		fallthrough
	default:
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	v, action, ok := requestVersion(r.Header.Get("Content-Type"), r.Header.Get("SOAPAction"))
	if !ok {
		http.Error(w, "unsupported media type: use text/xml (SOAP 1.1) or application/soap+xml (SOAP 1.2)", http.StatusUnsupportedMediaType)
		return
	}
	x := &call{w: w, r: r}

	// Carbon authenticates before anything is parsed (WIRE.md §6): the
	// session first, then HTTP Basic. With WS-Security on, a request
	// with neither and no Authorization header may carry a UsernameToken:
	// it is authenticated after the envelope is read (wssecurity.go).
	authenticated, deferred := false, false
	if !s.anonymous {
		caller, f := s.h.authenticate(w, r)
		switch {
		case f != nil && f.status == http.StatusUnauthorized && s.h.WSSecurity != nil && r.Header.Get("Authorization") == "":
			deferred = true
		case f != nil && f.status == http.StatusUnauthorized:
			s.h.challenge(w)
			return
		case f != nil:
			s.h.writeFault(w, r, v, f)
			return
		default:
			x.caller, authenticated = caller, true
		}
	}

	limit := s.h.maxBodyBytes()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit)); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "could not read the request body", http.StatusBadRequest)
		return
	}
	root, err := soap.Parse(buf.Bytes(), s.h.Limits)
	if err != nil {
		s.h.writeFault(w, r, v, genericFault(tokenadmin.ErrorMessage(err)))
		return
	}
	ev, header, body, f := readEnvelope(root)
	if f != nil {
		s.h.writeFault(w, r, v, f)
		return
	}
	if ev != v {
		s.h.writeFault(w, r, ev, &fault{code: codeVersionMismatch,
			message: "Transport level information does not match with SOAP Message namespace URI"})
		return
	}
	v = ev
	// WS-Addressing is read here (Axis2's Addressing phase); the
	// mustUnderstand check comes after dispatch, as in AxisEngine.
	wsa, muFault := readHeaders(v, header, s.h.WSSecurity != nil)

	// WS-Security comes next, as Rampart's Security phase does in
	// Carbon's axis2.xml (after Addressing, before Dispatch).
	if s.h.WSSecurity != nil && !s.anonymous {
		if f := s.h.wsSecurity(r, v, header, x, authenticated); f != nil {
			if f.status == http.StatusUnauthorized {
				s.h.challenge(w)
				return
			}
			s.h.writeFaultWSA(w, r, v, wsa, f)
			return
		}
	} else if deferred {
		s.h.challenge(w)
		return
	}
	if ri != nil {
		ri.Caller = x.caller // by Basic, the session or a UsernameToken
	}

	// Dispatch (WIRE.md §4): SOAPAction first, then the Body's first
	// child; the wrapper's namespace is checked only afterwards.
	var wrapper *soap.Element
	if len(body.Children) > 0 {
		wrapper = body.Children[0]
	}
	op := s.ops[strings.TrimPrefix(action, "urn:")]
	if op == nil && wrapper != nil {
		op = s.ops[wrapper.Name.Local]
	}
	if op != nil && ri != nil {
		ri.Operation = op.name // registered names only: a bounded set
	}
	if op == nil {
		wsaAction := action
		if r.Header.Get("SOAPAction") == "" && v == soap11 {
			wsaAction = "null"
		}
		s.h.writeFaultWSA(w, r, v, wsa, &fault{code: codeClient, message: "The endpoint reference (EPR) for the Operation not found is " +
			r.URL.Path + " and the WSA Action = " + wsaAction +
			". If this EPR was previously reachable, please contact the server administrator."})
		return
	}
	if muFault != nil {
		s.h.writeFaultWSA(w, r, v, wsa, muFault)
		return
	}
	if wrapper != nil && wrapper.Name.Space != s.wrapperNS {
		s.h.writeFaultWSA(w, r, v, wsa, genericFault("namespace mismatch require "+s.wrapperNS+" found "+wrapper.Name.Space))
		return
	}

	var out soap.Writer
	if op.changes && x.caller.Role == tokenadmin.RoleAuditor {
		s.h.writeFaultWSA(w, r, v, wsa, s.h.faultFor(r, op.name, tokenadmin.Errorf(tokenadmin.CodeForbidden, "auditors may read but not change anything")))
		return
	}
	if err := op.handle(r.Context(), x, wrapper, &out); err != nil {
		s.h.writeFaultWSA(w, r, v, wsa, s.h.faultFor(r, op.name, err))
		return
	}
	if ri != nil && ri.Outcome == "" {
		ri.Outcome = "ok"
	}
	if op.inOnly {
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusAccepted)
		return
	}
	var env soap.Writer
	env.Raw(`<?xml version='1.0' encoding='UTF-8'?><soapenv:Envelope xmlns:soapenv="`)
	env.Raw(v.ns())
	env.Raw(`">`)
	wsa.writeHeader(&env, "urn:"+op.name+"Response")
	env.Raw(`<soapenv:Body>`)
	env.Raw(string(out.Bytes()))
	env.Raw(`</soapenv:Body></soapenv:Envelope>`)
	send(w, r, http.StatusOK, contentType(v, "urn:"+op.name+"Response"), env.Bytes())
}

// contentType is Axis2's response media type (WIRE.md §4,
// SOAPMessageFormatter): SOAP 1.2 carries the action when there is one.
func contentType(v version, action string) string {
	if v == soap12 {
		ct := "application/soap+xml; charset=UTF-8"
		if action != "" {
			ct += `; action="` + action + `"`
		}
		return ct
	}
	return "text/xml; charset=UTF-8"
}

func send(w http.ResponseWriter, r *http.Request, status int, ct string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	// Responses carry client IDs and session state: no cache may keep them.
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(body) //nolint:errcheck // the client hung up
	}
}

// requestVersion reads the SOAP version from the media type and the
// action from SOAPAction (1.1, quotes stripped) or the action parameter
// (1.2). Axis2 accepts any charset parameter; the parser takes UTF-8 only.
func requestVersion(ct, soapAction string) (version, string, bool) {
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		// ADB stubs send action=urn:x unquoted, which RFC 2045 forbids.
		mt, _, _ = strings.Cut(ct, ";")
		mt = strings.ToLower(strings.TrimSpace(mt))
		params = map[string]string{}
		for _, p := range strings.Split(ct, ";")[1:] {
			k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
			params[strings.ToLower(strings.TrimSpace(k))] = strings.Trim(strings.TrimSpace(val), `"`)
		}
	}
	switch mt {
	case "text/xml":
		a := strings.TrimSpace(soapAction)
		if len(a) >= 2 && a[0] == '"' && a[len(a)-1] == '"' {
			a = a[1 : len(a)-1]
		}
		return soap11, a, true
	case "application/soap+xml":
		return soap12, params["action"], true
	}
	return 0, "", false
}

// readEnvelope checks the root is a SOAP Envelope with a Body, and returns
// its version, its Header (nil when absent) and the Body. Axis2 is lenient
// about the rest; header blocks are readHeaders'.
func readEnvelope(root *soap.Element) (version, *soap.Element, *soap.Element, *fault) {
	var v version
	switch {
	case root.Name.Local != "Envelope":
	case root.Name.Space == nsSOAP11:
		v = soap11
	case root.Name.Space == nsSOAP12:
		v = soap12
	}
	if v == 0 {
		return soap11, nil, nil, &fault{code: codeVersionMismatch, message: "Only SOAP 1.1 or SOAP 1.2 messages are supported in the system"}
	}
	var header *soap.Element
	for _, c := range root.Children {
		if c.Name.Space != root.Name.Space {
			continue
		}
		switch c.Name.Local {
		case "Header":
			if header == nil {
				header = c
			}
		case "Body":
			return v, header, c, nil
		}
	}
	return v, header, nil, genericFault("SOAP Body not found")
}

func (h *Handler) logger() *slog.Logger {
	if h.Logger != nil {
		return h.Logger
	}
	return slog.Default()
}
