package soap

import (
	"encoding/xml"
	"errors"
	"mime"
	"strings"

	"tokenadmin"
)

// Version is a SOAP version. A response is always in the version of its
// request.
type Version uint8

// SOAP versions.
const (
	SOAP11 Version = 1 // SOAP 1.1 (W3C Note, 2000): text/xml, SOAPAction header
	SOAP12 Version = 2 // SOAP 1.2 (W3C Recommendation, 2007): application/soap+xml
)

func (v Version) String() string {
	switch v {
	case SOAP11:
		return "SOAP 1.1"
	case SOAP12:
		return "SOAP 1.2"
	}
	return "SOAP ?"
}

// Envelope namespaces and the URIs that target a header block at us.
const (
	ns11 = "http://schemas.xmlsoap.org/soap/envelope/"
	ns12 = "http://www.w3.org/2003/05/soap-envelope"

	// SOAP 1.1 §4.2.2: this actor URI means "the first SOAP application
	// that processes the message"; no actor means the ultimate recipient.
	actorNext11 = "http://schemas.xmlsoap.org/soap/actor/next"
	// SOAP 1.2 part 1 §2.2, Table 2.
	roleNext             = ns12 + "/role/next"
	roleNone             = ns12 + "/role/none"
	roleUltimateReceiver = ns12 + "/role/ultimateReceiver"

	contentType11 = "text/xml; charset=utf-8"
	contentType12 = "application/soap+xml; charset=utf-8"
)

// vocab holds the names one version writes, so that the hot path does not
// concatenate prefixes.
type vocab struct {
	ns, prefix, contentType string
	envelope, header, body  string
	fault                   string
	client, server          string // fault code QNames
	versionMismatch         string
	mustUnderstand          string
}

var vocabs = [...]vocab{
	SOAP11: {
		ns: ns11, prefix: "soap", contentType: contentType11,
		envelope: "soap:Envelope", header: "soap:Header", body: "soap:Body", fault: "soap:Fault",
		client: "soap:Client", server: "soap:Server",
		versionMismatch: "soap:VersionMismatch", mustUnderstand: "soap:MustUnderstand",
	},
	SOAP12: {
		ns: ns12, prefix: "env", contentType: contentType12,
		envelope: "env:Envelope", header: "env:Header", body: "env:Body", fault: "env:Fault",
		client: "env:Sender", server: "env:Receiver",
		versionMismatch: "env:VersionMismatch", mustUnderstand: "env:MustUnderstand",
	},
}

func (v Version) vocab() *vocab { return &vocabs[v] }

// requestVersion reads the SOAP version and the action from the request's
// media type: text/xml is SOAP 1.1 (SOAP 1.1 §6.1.1), whose action is the
// SOAPAction header; application/soap+xml is SOAP 1.2 (RFC 3902; SOAP 1.2
// part 2 §7.1.4), whose action is the media type's action parameter. ok is
// false for any other media type (HTTP 415). A charset other than UTF-8 is
// an InvalidRequest error in the version found.
func requestVersion(contentType, soapAction string) (v Version, action string, ok bool, err error) {
	var (
		mt     string
		params map[string]string
		perr   error
	)
	if contentType == contentType11 {
		// What nearly every SOAP 1.1 client sends, and what the parse
		// below makes of it, without the map it allocates.
		mt = "text/xml"
	} else {
		mt, params, perr = mime.ParseMediaType(contentType)
	}
	if errors.Is(perr, mime.ErrInvalidMediaParameter) {
		// Clients often send action=urn:x:y unquoted, which RFC 2045 does
		// not allow (':' needs quoting); read the parameters leniently.
		params, perr = lenientParams(contentType)
	}
	if perr != nil {
		return 0, "", false, nil
	}
	switch mt {
	case "text/xml":
		v = SOAP11
		action = soapAction
		// WS-I BP 1.1 R2744 wants the value quoted; we accept both.
		if len(action) >= 2 && action[0] == '"' && action[len(action)-1] == '"' {
			action = action[1 : len(action)-1]
		}
	case "application/soap+xml":
		v = SOAP12
		action = params["action"]
	default:
		return 0, "", false, nil
	}
	if cs, has := params["charset"]; has && !strings.EqualFold(cs, "utf-8") {
		return v, action, true, tokenadmin.Errorf(tokenadmin.CodeInvalid, "unsupported charset %s: requests must be UTF-8", quoteName(cs))
	}
	return v, action, true, nil
}

// lenientParams splits the parameters of a media type on ';' and '=',
// unquoting quoted values, for clients whose parameters are not RFC 2045
// tokens. Names are lower-cased; the first of a repeated name wins. A
// parameter without '=' is still malformed.
func lenientParams(contentType string) (map[string]string, error) {
	params := map[string]string{}
	parts := strings.Split(contentType, ";")
	for _, p := range parts[1:] {
		name, value, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok {
			return nil, mime.ErrInvalidMediaParameter
		}
		name = strings.ToLower(strings.TrimSpace(name))
		value = strings.TrimSpace(value)
		if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
			value = value[1 : len(value)-1]
		}
		if _, seen := params[name]; !seen {
			params[name] = value
		}
	}
	return params, nil
}

// envelope is a request envelope whose structure has been checked.
type envelope struct {
	header *Element // nil when absent
	body   *Element // the one child of Body
}

var errVersionMismatch = &tokenadmin.Error{
	Code:    CodeVersionMismatch,
	Message: "the root element is not a SOAP 1.1 or SOAP 1.2 Envelope",
}

// envelopeVersion is the version of a request's root element, which must
// be Envelope in the SOAP 1.1 or 1.2 envelope namespace, or it is a
// VersionMismatch fault (SOAP 1.1 §4.4.1; SOAP 1.2 part 1 §5.4.7).
func envelopeVersion(root *Element) (Version, error) {
	if root.Name.Local == "Envelope" {
		switch root.Name.Space {
		case ns11:
			return SOAP11, nil
		case ns12:
			return SOAP12, nil
		}
	}
	return 0, errVersionMismatch
}

// readEnvelope checks the structure of a request envelope of version v.
// The Envelope's children are an optional Header, then exactly one Body
// and nothing after it (SOAP 1.2 part 1 §5.1; WS-I Basic Profile 1.1 R1011
// forbids SOAP 1.1's trailing elements). The Body must hold exactly one
// element, the operation's wrapper (document/literal wrapped; WS-I BP 1.1
// R2712 and R2201).
func readEnvelope(root *Element, v Version) (envelope, error) {
	var env envelope
	ns := v.vocab().ns
	if !isXMLSpace(root.Text) {
		return env, invalid("Envelope must not contain text")
	}
	var body *Element
	for i, c := range root.Children {
		switch {
		case c.Name.Space == ns && c.Name.Local == "Header":
			if body != nil {
				return env, invalid("Header must come before Body")
			}
			if i != 0 {
				return env, invalid("Envelope has more than one Header")
			}
			if !isXMLSpace(c.Text) {
				return env, invalid("Header must not contain text")
			}
			env.header = c
		case c.Name.Space == ns && c.Name.Local == "Body":
			if body != nil {
				return env, invalid("Envelope has more than one Body")
			}
			body = c
		case body != nil:
			return env, invalid("Envelope has element %s after Body", quoteName(c.Name.Local))
		default:
			return env, invalid("Envelope has unexpected element %s", quoteName(c.Name.Local))
		}
	}
	if body == nil {
		return env, invalid("Envelope has no Body")
	}
	if len(body.Children) != 1 || !isXMLSpace(body.Text) {
		return env, invalid("Body must contain exactly one element")
	}
	env.body = body.Children[0]
	return env, nil
}

func invalid(format string, args ...any) error {
	return tokenadmin.Errorf(tokenadmin.CodeInvalid, format, args...)
}

// Targeted reports whether header block h is addressed to us, the ultimate
// receiver: SOAP 1.1 §4.2.2 (actor absent or .../actor/next), SOAP 1.2
// part 1 §5.2.2 (role absent, next or ultimateReceiver; never none).
func Targeted(v Version, h *Element) bool {
	if v == SOAP11 {
		a, ok := h.AttrValue(ns11, "actor")
		a = strings.TrimSpace(a)
		return !ok || a == "" || a == actorNext11
	}
	r, ok := h.AttrValue(ns12, "role")
	r = strings.TrimSpace(r)
	return !ok || r == "" || r == roleNext || r == roleUltimateReceiver
}

// mandatory reports whether header block h has mustUnderstand set. SOAP
// 1.1 §4.2.3 defines the values "1" and "0", SOAP 1.2 part 1 §5.2.3 the
// xs:boolean ones; both versions accept all four here, because treating a
// "true" as optional would silently skip a header the sender requires.
func mandatory(v Version, h *Element) (bool, error) {
	s, ok := h.AttrValue(v.vocab().ns, "mustUnderstand")
	if !ok {
		return false, nil
	}
	switch collapse(s) {
	case "1", "true":
		return true, nil
	case "0", "false":
		return false, nil
	}
	return false, invalid("header block %s has an invalid mustUnderstand value", quoteName(h.Name.Local))
}

// mustUnderstandError is the MustUnderstand fault: mandatory header blocks
// addressed to us that no HeaderFunc processes (SOAP 1.1 §4.4.1, SOAP 1.2
// part 1 §5.4.8).
type mustUnderstandError struct {
	headers []xml.Name
}

func (e *mustUnderstandError) Error() string { return e.public().Error() }

func (e *mustUnderstandError) Unwrap() error { return e.public() }

func (e *mustUnderstandError) public() *tokenadmin.Error {
	var b strings.Builder
	b.WriteString("header block")
	if len(e.headers) > 1 {
		b.WriteString("s")
	}
	for i, n := range e.headers {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(" {")
		b.WriteString(shorten(n.Space))
		b.WriteString("}")
		b.WriteString(shorten(n.Local))
	}
	b.WriteString(" not understood")
	return &tokenadmin.Error{Code: CodeMustUnderstand, Message: b.String()}
}
