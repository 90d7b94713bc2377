package soap

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"tokenadmin"
)

// Authenticator checks HTTP Basic credentials.
type Authenticator interface {
	// Authenticate returns the caller that user and password identify.
	// Wrong credentials (unknown user, bad password, disabled account) are
	// an error with code tokenadmin.CodeUnauthenticated, whose public
	// message the client sees; any other error is internal: it is logged
	// and the client gets a Server fault.
	Authenticate(ctx context.Context, user, password string) (tokenadmin.Caller, error)
}

// Request is what an operation or header processor sees of a request.
type Request struct {
	Version Version
	// Action is the SOAPAction (SOAP 1.1) or action parameter (SOAP 1.2),
	// quotes stripped; empty when the client sent none.
	Action string
	// Caller is the authenticated caller; zero when the Server has no
	// Authenticator. A HeaderFunc (WS-Security, say) may set it.
	Caller tokenadmin.Caller
	// Header is the SOAP Header, nil when the request has none.
	Header *Element
	// Body is the one child of the SOAP Body: the operation's wrapper
	// element.
	Body *Element
}

// Operation is one operation of a document/literal wrapped service.
type Operation struct {
	// Name is the wrapper element's expanded name, {namespace}localName,
	// that requests for this operation carry in the Body.
	Name xml.Name
	// Action is the operation's soapAction. A request that names a
	// non-empty action other than this one is an ActionMismatch fault.
	Action string
	// Handle serves one request, writing the response wrapper element
	// (only the Body's child) to w. On error, whatever it wrote is
	// discarded and the error becomes a fault: a *tokenadmin.Error of a
	// client code is reported with its code and message, anything else
	// as a generic Server fault (see Faults in the package
	// documentation). A panic is a Server fault too.
	Handle func(ctx context.Context, req *Request, w *Writer) error
}

// HeaderFunc processes a header block addressed to this node (SOAP 1.1
// §4.2.2, SOAP 1.2 part 1 §2.2). Registering one for a block's name is what
// "understanding" it means for mustUnderstand. It runs before the
// operation, in document order, and may set req.Caller; an error is a
// fault, mapped like an operation's error.
type HeaderFunc func(ctx context.Context, req *Request, block *Element) error

// Namespace is a prefix declared on every response Envelope.
type Namespace struct {
	Prefix, URI string
}

// DefaultMaxBodyBytes caps a request body unless Server.MaxBodyBytes says
// otherwise.
const DefaultMaxBodyBytes = 1 << 20

// Server is a SOAP 1.1 and 1.2 endpoint over HTTP: an http.Handler that
// checks, parses and dispatches document/literal wrapped requests to its
// Operations and answers in the request's SOAP version. See the package
// documentation for the order of checks.
//
// Set the fields and register operations and header processors before
// the Server serves its first request; it is then safe for concurrent use.
type Server struct {
	// Auth authenticates every POST with HTTP Basic (RFC 7617) before the
	// body is read. Nil means anonymous access: Request.Caller is zero.
	Auth Authenticator
	// Realm is the realm of the WWW-Authenticate challenge; "soap" when
	// empty.
	Realm string
	// Logger receives internal errors and panics, with a request id;
	// slog.Default() when nil.
	Logger *slog.Logger
	// MaxBodyBytes caps a request body (HTTP 413 beyond);
	// DefaultMaxBodyBytes when zero.
	MaxBodyBytes int64
	// Limits bound the parse of a request.
	Limits Limits
	// Namespaces are declared on every response Envelope, so that
	// operations and FaultDetail can write their prefixes.
	Namespaces []Namespace
	// FaultDetail, when set, writes the detail entry of every fault (the
	// content of SOAP 1.1 detail or SOAP 1.2 env:Detail), except SOAP 1.1
	// MustUnderstand faults, whose detail SOAP 1.1 §4.4 forbids.
	FaultDetail func(w *Writer, code tokenadmin.Code, message string)

	// WSDL, when set, serves the service description at GET ?wsdl: it
	// returns the description with its endpoint addresses set to location.
	WSDL func(location string) ([]byte, error)
	// Path is the endpoint's path in the addresses given to WSDL, such as
	// "/services/TokenAdmin"; the request's path when empty.
	Path string
	// TrustForwardedHeaders makes the WSDL address follow the
	// X-Forwarded-Proto and X-Forwarded-Host headers of a reverse proxy.
	// Leave it off unless a proxy you control sets them.
	TrustForwardedHeaders bool
	// WSSecurity, when set, makes wsse:Security header blocks understood
	// and lets a request without an Authorization header authenticate
	// with a UsernameToken (wssecurity.go); the body is then read before
	// the caller is known. A request with neither is still a 401.
	WSSecurity *WSSecurity

	ops     map[xml.Name]*Operation
	headers map[xml.Name]HeaderFunc

	envOnce  sync.Once
	envStart [len(vocabs)]string

	wsdlMu    sync.Mutex
	wsdlCache map[string][]byte

	ids atomic.Uint64
}

// Register adds an operation. It panics if the name is taken or the
// operation has no handler, which is a programming error.
func (s *Server) Register(op Operation) {
	if op.Handle == nil {
		panic("soap: Register: operation " + op.Name.Local + " has no handler")
	}
	if _, dup := s.ops[op.Name]; dup {
		panic("soap: Register: operation {" + op.Name.Space + "}" + op.Name.Local + " registered twice")
	}
	if s.ops == nil {
		s.ops = make(map[xml.Name]*Operation)
	}
	s.ops[op.Name] = &op
}

// HandleHeader registers fn for header blocks named name.
func (s *Server) HandleHeader(name xml.Name, fn HeaderFunc) {
	if s.headers == nil {
		s.headers = make(map[xml.Name]HeaderFunc)
	}
	s.headers[name] = fn
}

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// envelopeStart returns the XML declaration and Envelope start tag of
// version v, with our namespaces declared.
func (s *Server) envelopeStart(v Version) string {
	s.envOnce.Do(func() {
		for _, v := range []Version{SOAP11, SOAP12} {
			var w Writer
			w.Raw(`<?xml version="1.0" encoding="UTF-8"?>`)
			vc := v.vocab()
			w.Begin(vc.envelope)
			w.Attr("xmlns:"+vc.prefix, vc.ns)
			for _, n := range s.Namespaces {
				w.Attr("xmlns:"+n.Prefix, n.URI)
			}
			w.EndAttrs()
			s.envStart[v] = string(w.Bytes())
		}
	})
	return s.envStart[v]
}

// exchange is the state of one request.
type exchange struct {
	s    *Server
	w    http.ResponseWriter
	r    *http.Request
	v    Version // the version answers are written in
	op   string  // for logs
	done bool    // a response has been written
	// ri is the request's RequestInfo (the access log's), nil when no
	// middleware made one: handlers fill it in as they learn.
	ri *tokenadmin.RequestInfo
}

// ServeHTTP serves one request. The checks run in a fixed order (house
// style #7), each refusing the request before the next, costlier, one:
// method, media type, credentials, body size, XML well-formedness and
// limits, envelope, mandatory headers, operation and action, and only then
// the operation's own decoding.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	x := exchange{s: s, w: w, r: r, v: SOAP11, ri: tokenadmin.RequestInfoFrom(r.Context())}
	defer x.recoverPanic()

	switch r.Method {
	case http.MethodPost:
	case http.MethodGet, http.MethodHead:
		if s.WSDL != nil && WantsWSDL(r.URL.RawQuery) {
			if x.ri != nil {
				x.ri.Operation, x.ri.Outcome = "wsdl", "ok"
			}
			s.serveWSDL(&x)
			return
		}
		fallthrough
	default:
		allow := http.MethodPost
		if s.WSDL != nil {
			allow = "GET, POST"
		}
		w.Header().Set("Allow", allow)
		x.fail(&fault{class: classClient, code: tokenadmin.CodeInvalid, status: http.StatusMethodNotAllowed,
			message: "method not allowed: use POST, or GET ?wsdl for the service description"})
		return
	}

	// SOAP version, from the media type (SOAP 1.1 §6.1.1, SOAP 1.2 part 2 §7.1.4).
	v, action, ok, err := requestVersion(r.Header.Get("Content-Type"), r.Header.Get("SOAPAction"))
	if !ok {
		x.fail(&fault{class: classClient, code: tokenadmin.CodeInvalid, status: http.StatusUnsupportedMediaType,
			message: "unsupported media type: use text/xml (SOAP 1.1) or application/soap+xml (SOAP 1.2)"})
		return
	}
	x.v = v
	if err != nil {
		x.fail(faultFor(err))
		return
	}
	req := Request{Version: v, Action: action}

	// Credentials, before the body is read, so that anonymous clients
	// cannot make us parse anything; unless WS-Security is on and the
	// request has no Authorization header: its credentials may be in the
	// SOAP header.
	basic := false
	if s.Auth != nil && (s.WSSecurity == nil || r.Header.Get("Authorization") != "") {
		caller, f := x.authenticate()
		if f != nil {
			x.fail(f)
			return
		}
		req.Caller, basic = caller, true
	}

	// The body, capped.
	limit := s.MaxBodyBytes
	if limit <= 0 {
		limit = DefaultMaxBodyBytes
	}
	if r.ContentLength > limit {
		x.fail(tooLarge(limit))
		return
	}
	buf := getBody()
	defer putBody(buf)
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit)); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			x.fail(tooLarge(limit))
			return
		}
		// The client went away or sent a broken chunked body.
		x.fail(&fault{class: classClient, code: tokenadmin.CodeInvalid, status: http.StatusBadRequest,
			message: "could not read the request body"})
		return
	}

	// Parse and check the envelope.
	root, err := parse(buf.Bytes(), s.Limits)
	if err != nil {
		x.fail(faultFor(err))
		return
	}
	ev, err := envelopeVersion(root)
	if err != nil {
		x.fail(faultFor(err))
		return
	}
	if ev != v {
		// Answer in the envelope's version: that is what the client
		// will parse.
		x.v = ev
		x.fail(faultFor(invalid("the %s envelope does not match the media type of %s", ev, v)))
		return
	}
	env, err := readEnvelope(root, v)
	if err != nil {
		x.fail(faultFor(err))
		return
	}
	req.Header, req.Body = env.header, env.body

	ctx := r.Context()
	if s.WSSecurity != nil {
		if f, err := x.wsSecurity(ctx, &req, basic); f != nil || err != nil {
			if f != nil {
				x.fail(f)
			} else {
				x.failErr(err)
			}
			return
		}
	}

	// Headers: all mandatory blocks must be understood before any is
	// processed (SOAP 1.2 part 1 §2.6).
	if err := s.checkHeaders(&req); err != nil {
		x.fail(faultFor(err))
		return
	}

	// Dispatch on the wrapper's expanded name, then the action.
	op := s.ops[env.body.Name]
	if op == nil {
		x.fail(faultFor(tokenadmin.Errorf(CodeUnknownOperation, "unknown operation {%s}%s",
			shorten(env.body.Name.Space), shorten(env.body.Name.Local))))
		return
	}
	x.op = op.Name.Local
	if x.ri != nil {
		x.ri.Operation = x.op // registered names only: a bounded set
	}
	if req.Action != "" && req.Action != op.Action {
		x.fail(faultFor(tokenadmin.Errorf(CodeActionMismatch, "action %s does not match operation %s",
			quoteName(req.Action), op.Name.Local)))
		return
	}

	if err := s.processHeaders(ctx, &req); err != nil {
		x.failErr(err)
		return
	}
	if x.ri != nil {
		x.ri.Caller = req.Caller // a HeaderFunc may have authenticated
	}

	out := getWriter()
	defer putWriter(out)
	vc := v.vocab()
	out.Raw(s.envelopeStart(v))
	out.Open(vc.body)
	if err := op.Handle(ctx, &req, out); err != nil {
		x.failErr(err)
		return
	}
	out.Close(vc.body)
	out.Close(vc.envelope)
	if x.ri != nil {
		x.ri.Outcome = "ok"
	}
	x.send(http.StatusOK, out.Bytes())
}

// authenticate checks HTTP Basic credentials. Missing, malformed or wrong
// credentials are 401 with a challenge (RFC 9110 §11.6.1, RFC 7617).
func (x *exchange) authenticate() (tokenadmin.Caller, *fault) {
	user, password, ok := x.r.BasicAuth()
	if !ok || user == "" {
		return tokenadmin.Caller{}, x.unauthenticated("authentication required")
	}
	caller, err := x.s.Auth.Authenticate(x.r.Context(), user, password)
	switch code := tokenadmin.ErrorCode(err); code {
	case "":
		return caller, nil
	case tokenadmin.CodeUnauthenticated:
		return tokenadmin.Caller{}, x.unauthenticated(tokenadmin.ErrorMessage(err))
	default:
		x.logInternal(err)
		return tokenadmin.Caller{}, faultFor(err)
	}
}

// wsSecurity authenticates the request with its wsse:Security header
// block, if it has one for us. basic tells whether HTTP Basic already
// authenticated req.Caller: a UsernameToken naming someone else is then
// InvalidSecurity, and a token of the same user must verify too. Without
// either, the request gets the 401 challenge, as without WS-Security.
func (x *exchange) wsSecurity(ctx context.Context, req *Request, basic bool) (*fault, error) {
	sec, err := ParseSecurity(req.Version, req.Header)
	if err != nil {
		return nil, err
	}
	caller, ok, err := x.s.WSSecurity.Authenticate(ctx, sec)
	switch {
	case err != nil:
		return nil, err
	case ok && basic && caller.Name != req.Caller.Name:
		return nil, securityErr(FaultInvalidSecurity, "the UsernameToken and HTTP Basic name different users")
	case ok:
		req.Caller = caller
	case !basic && x.s.Auth != nil:
		return x.unauthenticated("authentication required"), nil
	}
	return nil, nil
}

func (x *exchange) unauthenticated(msg string) *fault {
	realm := x.s.Realm
	if realm == "" {
		realm = "soap"
	}
	x.w.Header().Set("WWW-Authenticate", `Basic realm="`+realm+`"`)
	return &fault{class: classClient, code: tokenadmin.CodeUnauthenticated, message: msg, status: http.StatusUnauthorized}
}

func tooLarge(limit int64) *fault {
	return &fault{class: classClient, code: tokenadmin.CodeInvalid, status: http.StatusRequestEntityTooLarge,
		message: fmt.Sprintf("request body is larger than %d bytes", limit)}
}

// checkHeaders raises the MustUnderstand fault for mandatory header blocks
// addressed to us that nobody registered to process.
func (s *Server) checkHeaders(req *Request) error {
	if req.Header == nil {
		return nil
	}
	var missing []xml.Name
	for _, h := range req.Header.Children {
		if h.Name.Space == "" {
			// SOAP 1.1 §4.2.1, SOAP 1.2 part 1 §5.2.1.
			return invalid("header block %s is not namespace-qualified", quoteName(h.Name.Local))
		}
		must, err := mandatory(req.Version, h)
		if err != nil {
			return err
		}
		if !must || !Targeted(req.Version, h) {
			continue
		}
		if _, ok := s.headers[h.Name]; !ok && (s.WSSecurity == nil || h.Name != SecurityHeaderName) {
			missing = append(missing, h.Name)
		}
	}
	if len(missing) > 0 {
		return &mustUnderstandError{headers: missing}
	}
	return nil
}

// processHeaders runs the registered HeaderFuncs on the blocks addressed
// to us.
func (s *Server) processHeaders(ctx context.Context, req *Request) error {
	if req.Header == nil || len(s.headers) == 0 {
		return nil
	}
	for _, h := range req.Header.Children {
		fn, ok := s.headers[h.Name]
		if !ok || !Targeted(req.Version, h) {
			continue
		}
		if err := fn(ctx, req, h); err != nil {
			return err
		}
	}
	return nil
}

// failErr answers err as a fault, logging it when it is internal.
func (x *exchange) failErr(err error) {
	f := faultFor(err)
	if f.class == classServer {
		x.logInternal(err)
	}
	x.fail(f)
}

// fail writes a fault response in x.v.
func (x *exchange) fail(f *fault) {
	if x.ri != nil {
		x.ri.Outcome = string(f.code)
	}
	if f.class != classServer {
		if l := x.s.logger(); l.Enabled(x.r.Context(), slog.LevelDebug) {
			l.LogAttrs(x.r.Context(), slog.LevelDebug, "soap: fault",
				slog.String("operation", x.op),
				slog.String("code", string(f.code)),
				slog.String("message", f.message))
		}
	}
	out := getWriter()
	defer putWriter(out)
	x.s.writeFault(out, x.v, f)
	x.send(f.httpStatus(x.v), out.Bytes())
}

// Header values send sets, shared by every response. net/http never
// modifies a header's value slice, and Header.Add appends to a full one,
// which copies it.
var (
	contentTypeValues = [...][]string{SOAP11: {contentType11}, SOAP12: {contentType12}}
	noStoreValue      = []string{"no-store"}
	noCacheValue      = []string{"no-cache"}
)

func (x *exchange) send(status int, body []byte) {
	h := x.w.Header()
	// The fixed values are shared slices: Set would allocate one each.
	h["Content-Type"] = contentTypeValues[x.v]
	h.Set("Content-Length", strconv.Itoa(len(body)))
	// Responses carry tokens' metadata and, for registerApp and
	// regenerateSecret, client secrets: no cache may keep them.
	h["Cache-Control"] = noStoreValue
	h["Pragma"] = noCacheValue
	x.done = true
	x.w.WriteHeader(status)
	if x.r.Method != http.MethodHead {
		x.w.Write(body) //nolint:errcheck // the client hung up; nothing to do
	}
}

// logInternal logs an error the client sees only as "internal error", and
// gives the response the same request id so the two can be matched.
func (x *exchange) logInternal(err error) {
	id := x.requestID()
	x.w.Header().Set("X-Request-Id", id)
	x.s.logger().LogAttrs(x.r.Context(), slog.LevelError, "soap: internal error",
		slog.String("request_id", id),
		slog.String("operation", x.op),
		slog.String("error", err.Error()))
}

// recoverPanic turns a panic into a Server fault, unless the response is
// already on its way. http.ErrAbortHandler keeps its meaning.
func (x *exchange) recoverPanic() {
	v := recover()
	if v == nil {
		return
	}
	if v == http.ErrAbortHandler { //nolint:errorlint // sentinel compared as net/http does
		panic(v)
	}
	id := x.requestID()
	x.s.logger().LogAttrs(x.r.Context(), slog.LevelError, "soap: panic",
		slog.String("request_id", id),
		slog.String("operation", x.op),
		slog.Any("panic", v),
		slog.String("stack", string(debug.Stack())))
	if x.done {
		return
	}
	x.w.Header().Set("X-Request-Id", id)
	x.fail(&fault{class: classServer, code: tokenadmin.CodeInternal, message: "internal error"})
}

// requestID names a request in logs: the client's or proxy's X-Request-Id
// when it looks like one, otherwise a fresh one.
func (x *exchange) requestID() string {
	if x.ri != nil && x.ri.ID != "" {
		return x.ri.ID // the access log's
	}
	if id := x.r.Header.Get("X-Request-Id"); tokenadmin.ValidRequestID(id) {
		return id
	}
	return idPrefix + strconv.FormatUint(x.s.ids.Add(1), 36)
}

// idPrefix tells request ids of different process runs apart.
var idPrefix = strconv.FormatInt(time.Now().UnixNano()/1e6, 36) + "-"

// Request bodies are read into pooled buffers; parse copies what it keeps.
var bodyPool = sync.Pool{New: func() any { return bytes.NewBuffer(make([]byte, 0, 4<<10)) }}

func getBody() *bytes.Buffer { return bodyPool.Get().(*bytes.Buffer) }

func putBody(b *bytes.Buffer) {
	if b.Cap() > maxPooled {
		return
	}
	b.Reset()
	bodyPool.Put(b)
}

// Parse parses an untrusted request document into an Element tree with the
// checks every request gets here (UTF-8 only, no DTD, the limits of lim),
// for adapters that speak another SOAP dialect over the same parser (the
// legacy Axis2 services). Errors are *tokenadmin.Error with code
// InvalidRequest and a message safe to show.
func Parse(doc []byte, lim Limits) (*Element, error) { return parse(doc, lim) }
