package soap

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Element is one element of a parsed request: its expanded name, its
// attributes (namespace declarations included, names resolved), its child
// elements and the character data directly inside it. Comments and
// processing instructions are not kept.
type Element struct {
	Name     xml.Name
	Attr     []xml.Attr
	Children []*Element
	// Text is the character data directly inside the element (CDATA
	// sections included), concatenated, exactly as the parser reported it
	// (line ends normalised, entities and character references replaced).
	Text string
}

// AttrValue returns the value of the attribute {space}local.
func (e *Element) AttrValue(space, local string) (string, bool) {
	for i := range e.Attr {
		if e.Attr[i].Name.Local == local && e.Attr[i].Name.Space == space {
			return e.Attr[i].Value, true
		}
	}
	return "", false
}

// IsNil reports whether e carries xsi:nil="true" (or "1"), the XML Schema
// way of saying "no value" (XML Schema part 1 §2.6.2). Optional request
// fields that are nil are treated as absent.
func (e *Element) IsNil() bool {
	v, ok := e.AttrValue(xsiNS, "nil")
	if !ok {
		return false
	}
	v = collapse(v)
	return v == "true" || v == "1"
}

// Limits bound the resources one request may use while it is parsed. The
// zero value of a field means its default.
type Limits struct {
	MaxDepth      int // element nesting; DefaultMaxDepth
	MaxElements   int // elements in the document; DefaultMaxElements
	MaxAttributes int // attributes per element, namespace declarations included; DefaultMaxAttributes
	MaxTextBytes  int // character data directly inside one element; DefaultMaxTextBytes
}

// Default parsing limits. A TokenAdmin request is a handful of elements a
// few levels deep; the limits leave room for WS-Security headers.
const (
	DefaultMaxDepth      = 32
	DefaultMaxElements   = 10000
	DefaultMaxAttributes = 32
	DefaultMaxTextBytes  = 64 << 10
)

func (l Limits) withDefaults() Limits {
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.MaxElements <= 0 {
		l.MaxElements = DefaultMaxElements
	}
	if l.MaxAttributes <= 0 {
		l.MaxAttributes = DefaultMaxAttributes
	}
	if l.MaxTextBytes <= 0 {
		l.MaxTextBytes = DefaultMaxTextBytes
	}
	return l
}

const (
	xmlNS   = "http://www.w3.org/XML/1998/namespace"
	xmlnsNS = "http://www.w3.org/2000/xmlns/"
	xsiNS   = "http://www.w3.org/2001/XMLSchema-instance"
)

// errEncoding is returned by the decoder's CharsetReader: requests must be
// UTF-8 (WS-I Basic Profile 1.1 R4003 allows UTF-8 or UTF-16; we take
// UTF-8 only, and say so with a Client fault).
var errEncoding = errors.New("soap: only UTF-8 is accepted")

func rejectCharset(string, io.Reader) (io.Reader, error) { return nil, errEncoding }

var errMalformed = invalid("malformed XML")

// binding is one namespace declaration in scope.
type binding struct {
	prefix, uri string
	depth       int
}

// frame is an open element: the raw (prefixed) name to match its end tag
// against, and the element being built.
type frame struct {
	raw  xml.Name
	el   *Element
	text int // bytes of character data so far
	// buf collects the character data once it comes in more than one run
	// (split by comments, CDATA sections, references or child elements);
	// el.Text is set from it at the end tag. Appending to el.Text instead
	// would copy the text so far for every run: quadratic in the text.
	buf []byte
}

// parser turns an untrusted document into a tree of Elements. It uses the
// raw token stream of encoding/xml and resolves namespaces itself, so that
// an undeclared prefix is an error rather than a namespace named after the
// prefix (which is what Decoder.Token does), and so that end tags are
// checked against start tags.
type parser struct {
	lim      Limits
	bindings []binding
	stack    []frame
	elements int
	spare    []byte // a closed element's buf, for the next one to reuse
}

// parse parses doc, which must be UTF-8, into a tree. It rejects document
// type declarations (so no DTD, no entity definitions: SOAP 1.1 §3, SOAP 1.2
// part 1 §5 "A SOAP message MUST NOT contain a Document Type Declaration"),
// any declared encoding but UTF-8, invalid UTF-8, and documents beyond lim.
// Every error is a *tokenadmin.Error with code InvalidRequest whose message
// is safe to show.
func parse(doc []byte, lim Limits) (*Element, error) {
	lim = lim.withDefaults()
	doc = bytes.TrimPrefix(doc, []byte("\xef\xbb\xbf")) // XML 1.0 §4.3.3: a UTF-8 BOM is allowed
	if !utf8.Valid(doc) {
		return nil, invalid("request is not valid UTF-8")
	}
	d := xml.NewDecoder(bytes.NewReader(doc))
	d.Strict = true
	d.CharsetReader = rejectCharset
	p := parser{lim: lim, stack: make([]frame, 0, 8), bindings: make([]binding, 0, 8)}
	var root *Element
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			if len(p.stack) > 0 || root == nil {
				return nil, errMalformed
			}
			return root, nil
		}
		if err != nil {
			return nil, syntaxFault(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if root != nil && len(p.stack) == 0 {
				return nil, invalid("malformed XML: more than one root element")
			}
			el, err := p.start(t)
			if err != nil {
				return nil, err
			}
			if root == nil {
				root = el
			}
		case xml.EndElement:
			if err := p.end(t); err != nil {
				return nil, err
			}
		case xml.CharData:
			if len(p.stack) == 0 {
				if !isXMLSpace(t) {
					return nil, invalid("malformed XML: text outside the root element")
				}
				continue
			}
			if err := p.text(t); err != nil {
				return nil, err
			}
		case xml.Directive:
			return nil, invalid("document type declarations are not allowed")
		case xml.Comment, xml.ProcInst:
			// SOAP 1.2 part 1 §5: a receiver ignores processing
			// instructions; comments carry nothing.
		}
	}
}

func syntaxFault(err error) error {
	if errors.Is(err, errEncoding) {
		return invalid("unsupported encoding: requests must be UTF-8")
	}
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		return invalid("malformed XML at line %d", se.Line)
	}
	return errMalformed
}

// text adds a run of character data to the open element, enforcing
// MaxTextBytes as it goes.
func (p *parser) text(t xml.CharData) error {
	f := &p.stack[len(p.stack)-1]
	f.text += len(t)
	if f.text > p.lim.MaxTextBytes {
		return invalid("element %s has more than %d bytes of text", quoteName(f.el.Name.Local), p.lim.MaxTextBytes)
	}
	switch {
	case f.text == len(t): // the first run, and for most elements the only one
		f.el.Text = internSpace(t)
	case f.buf == nil:
		f.buf = append(append(p.spare, f.el.Text...), t...)
		p.spare = nil
	default:
		f.buf = append(f.buf, t...)
	}
	return nil
}

func (p *parser) start(t xml.StartElement) (*Element, error) {
	depth := len(p.stack) + 1
	if depth > p.lim.MaxDepth {
		return nil, invalid("elements are nested more than %d deep", p.lim.MaxDepth)
	}
	p.elements++
	if p.elements > p.lim.MaxElements {
		return nil, invalid("request has more than %d elements", p.lim.MaxElements)
	}
	if len(t.Attr) > p.lim.MaxAttributes {
		return nil, invalid("element %s has more than %d attributes", quoteName(t.Name.Local), p.lim.MaxAttributes)
	}
	// Namespace declarations apply to the element's own name and
	// attributes, so bind them first (Namespaces in XML 1.0 §6.1).
	for _, a := range t.Attr {
		switch {
		case a.Name.Space == "xmlns":
			if a.Value == "" || a.Name.Local == "xmlns" || (a.Name.Local == "xml") != (a.Value == xmlNS) || a.Value == xmlnsNS {
				return nil, invalid("malformed XML: bad declaration of namespace prefix %s", quoteName(a.Name.Local))
			}
			p.bindings = append(p.bindings, binding{prefix: a.Name.Local, uri: a.Value, depth: depth})
		case a.Name.Space == "" && a.Name.Local == "xmlns":
			if a.Value == xmlNS || a.Value == xmlnsNS {
				return nil, errMalformed
			}
			p.bindings = append(p.bindings, binding{prefix: "", uri: a.Value, depth: depth})
		}
	}
	el := &Element{Attr: t.Attr}
	var ok bool
	if el.Name.Space, ok = p.resolve(t.Name.Space, true); !ok {
		return nil, invalid("malformed XML: undeclared namespace prefix %s", quoteName(t.Name.Space))
	}
	el.Name.Local = t.Name.Local
	for i := range el.Attr {
		n := &el.Attr[i].Name
		switch {
		case n.Space == "xmlns" || (n.Space == "" && n.Local == "xmlns"):
			// A declaration: keep as encoding/xml reports it.
		case n.Space == "":
			// Unprefixed attributes are in no namespace.
		default:
			if n.Space, ok = p.resolve(n.Space, false); !ok {
				return nil, invalid("malformed XML: undeclared namespace prefix %s", quoteName(n.Space))
			}
		}
		for j := range i {
			if el.Attr[j].Name == *n {
				return nil, invalid("malformed XML: repeated attribute %s", quoteName(n.Local))
			}
		}
	}
	if len(p.stack) > 0 {
		parent := p.stack[len(p.stack)-1].el
		parent.Children = append(parent.Children, el)
	}
	p.stack = append(p.stack, frame{raw: t.Name, el: el})
	return el, nil
}

func (p *parser) end(t xml.EndElement) error {
	if len(p.stack) == 0 {
		return errMalformed
	}
	top := p.stack[len(p.stack)-1]
	if top.raw != t.Name {
		return invalid("malformed XML: element %s closed by %s", quoteName(top.raw.Local), quoteName(t.Name.Local))
	}
	if top.buf != nil {
		top.el.Text = internSpace(top.buf)
		p.spare = top.buf[:0]
	}
	depth := len(p.stack)
	p.stack[depth-1] = frame{} // drop the references to el and buf
	p.stack = p.stack[:depth-1]
	i := len(p.bindings)
	for i > 0 && p.bindings[i-1].depth == depth {
		i--
	}
	p.bindings = p.bindings[:i]
	return nil
}

// resolve maps a prefix to its namespace name. The empty prefix of an
// element is the default namespace; of an attribute, no namespace.
func (p *parser) resolve(prefix string, element bool) (string, bool) {
	if prefix == "xml" {
		return xmlNS, true
	}
	if prefix == "" && !element {
		return "", true
	}
	for i := len(p.bindings) - 1; i >= 0; i-- {
		if p.bindings[i].prefix == prefix {
			return p.bindings[i].uri, true
		}
	}
	if prefix == "" {
		return "", true
	}
	return "", false
}

// isXMLSpace reports whether b is only XML white space (XML 1.0 §2.3 S).
func isXMLSpace[T ~[]byte | ~string](b T) bool {
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
		default:
			return false
		}
	}
	return true
}

// internSpace returns string(b), without allocating for the short runs of
// white space that indent most requests.
func internSpace(b []byte) string {
	if len(b) <= len(spaces) && isXMLSpace(b) {
		if i := strings.Index(spaces, string(b)); i >= 0 {
			return spaces[i : i+len(b)]
		}
	}
	return string(b)
}

const spaces = "\n                                \t\t\t\t\t\t\t\t\r\n        "

// collapse applies the XML Schema whiteSpace="collapse" facet (XML Schema
// part 2 §4.3.6) to the value of a numeric, boolean or enumerated field:
// leading and trailing white space goes, inner runs become one space.
func collapse(s string) string {
	if !strings.ContainsAny(s, " \t\r\n") {
		return s
	}
	f := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '\t' || r == '\r' || r == '\n' })
	return strings.Join(f, " ")
}

// quoteName quotes an untrusted name for a fault message, shortened so a
// hostile request cannot make us echo megabytes.
func quoteName(s string) string { return strconv.Quote(shorten(s)) }

// shorten cuts an untrusted string to at most 128 bytes for a message;
// namespace names are rarely longer.
func shorten(s string) string {
	const max = 128
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
