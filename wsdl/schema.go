package wsdl

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/beevik/etree"
)

// Namespaces of the WSDL 1.1 vocabulary used by tokenadmin.wsdl.
const (
	nsWSDL   = "http://schemas.xmlsoap.org/wsdl/"
	nsSOAP11 = "http://schemas.xmlsoap.org/wsdl/soap/"
	nsSOAP12 = "http://schemas.xmlsoap.org/wsdl/soap12/"
	nsXSD    = "http://www.w3.org/2001/XMLSchema"
)

// parsed is WSDL parsed once. Callers work on a Copy, so WSDL and this
// document are never modified.
var parsed = sync.OnceValues(func() (*etree.Document, error) {
	doc := etree.NewDocument()
	// Canonical escaping writes the document back as it was read (the
	// WSDL keeps its start tags on one line for this), so a rewritten
	// WSDL differs from WSDL only where it was changed.
	doc.WriteSettings.CanonicalText = true
	doc.WriteSettings.CanonicalAttrVal = true
	if err := doc.ReadFromBytes(WSDL); err != nil {
		return nil, fmt.Errorf("wsdl: parse tokenadmin.wsdl: %w", err)
	}
	if root := doc.Root(); root == nil || !is(root, nsWSDL, "definitions") {
		return nil, errors.New("wsdl: tokenadmin.wsdl: root is not wsdl:definitions")
	}
	return doc, nil
})

// Schema returns the XML Schema embedded in the WSDL's wsdl:types as a
// standalone XSD document, for validating message bodies (xmllint
// --schema) and for clients that want the types without the WSDL. The
// namespace declarations the schema relies on, which the WSDL makes on
// wsdl:definitions, are copied onto xs:schema.
func Schema() ([]byte, error) {
	doc, err := parsed()
	if err != nil {
		return nil, err
	}
	types := childElement(doc.Root(), nsWSDL, "types")
	if types == nil {
		return nil, errors.New("wsdl: tokenadmin.wsdl has no wsdl:types")
	}
	schema := childElement(types, nsXSD, "schema")
	if schema == nil {
		return nil, errors.New("wsdl: tokenadmin.wsdl has no xs:schema in wsdl:types")
	}

	out := schema.Copy()
	var decls []etree.Attr
	for _, prefix := range usedPrefixes(schema) {
		if declares(schema, prefix) {
			continue
		}
		uri, ok := lookupNamespace(schema.Parent(), prefix)
		if !ok {
			return nil, fmt.Errorf("wsdl: schema uses undeclared namespace prefix %q", prefix)
		}
		switch {
		case prefix == "" && uri == "":
			// Unprefixed names in no namespace: nothing to declare.
		case prefix == "":
			decls = append(decls, etree.Attr{Key: "xmlns", Value: uri})
		default:
			decls = append(decls, etree.Attr{Space: "xmlns", Key: prefix, Value: uri})
		}
	}
	// Declarations first, as a person would write them.
	for _, a := range decls {
		out.CreateAttr(a.FullKey(), a.Value)
	}
	n := len(out.Attr) - len(decls)
	out.Attr = append(out.Attr[n:], out.Attr[:n]...)

	xsd := etree.NewDocument()
	xsd.WriteSettings = doc.WriteSettings
	xsd.CreateProcInst("xml", `version="1.0" encoding="UTF-8"`)
	xsd.SetRoot(out)
	xsd.Indent(2)
	return xsd.WriteToBytes()
}

// WithAddress returns the WSDL with the location of every soap:address and
// soap12:address replaced by location, so that GET ?wsdl can advertise the
// address the client actually used. location must be an absolute http or
// https URL. WSDL itself is not modified.
func WithAddress(location string) ([]byte, error) {
	u, err := url.Parse(location)
	if err != nil {
		return nil, fmt.Errorf("wsdl: address %q: %w", location, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("wsdl: address %q is not an absolute http(s) URL", location)
	}
	orig, err := parsed()
	if err != nil {
		return nil, err
	}
	doc := orig.Copy()

	n := 0
	for _, service := range childElements(doc.Root(), nsWSDL, "service") {
		for _, port := range childElements(service, nsWSDL, "port") {
			for _, addr := range port.ChildElements() {
				if is(addr, nsSOAP11, "address") || is(addr, nsSOAP12, "address") {
					addr.CreateAttr("location", location) // replaces the existing value
					n++
				}
			}
		}
	}
	if n == 0 {
		return nil, errors.New("wsdl: tokenadmin.wsdl has no soap:address or soap12:address")
	}
	return doc.WriteToBytes()
}

// is reports whether e is the element {ns}local.
func is(e *etree.Element, ns, local string) bool {
	return e.Tag == local && e.NamespaceURI() == ns
}

func childElement(e *etree.Element, ns, local string) *etree.Element {
	for _, c := range e.ChildElements() {
		if is(c, ns, local) {
			return c
		}
	}
	return nil
}

func childElements(e *etree.Element, ns, local string) []*etree.Element {
	var out []*etree.Element
	for _, c := range e.ChildElements() {
		if is(c, ns, local) {
			out = append(out, c)
		}
	}
	return out
}

// qnameAttrs are the XML Schema attributes whose values are QNames (or, for
// memberTypes, lists of QNames), so their prefixes must stay declared.
var qnameAttrs = map[string]bool{
	"type": true, "base": true, "ref": true, "itemType": true,
	"memberTypes": true, "substitutionGroup": true, "refer": true,
}

// usedPrefixes returns, sorted, the namespace prefixes that e and its
// descendants use in element and attribute names and in QName-valued
// schema attributes ("" for the default namespace).
func usedPrefixes(e *etree.Element) []string {
	seen := map[string]bool{}
	var walk func(*etree.Element)
	walk = func(e *etree.Element) {
		seen[e.Space] = true
		for _, a := range e.Attr {
			switch {
			case a.Space == "xmlns" || (a.Space == "" && a.Key == "xmlns"):
				// A declaration, not a use.
			case a.Space != "":
				seen[a.Space] = true
			case qnameAttrs[a.Key]:
				for _, qname := range strings.Fields(a.Value) {
					prefix, _, ok := strings.Cut(qname, ":")
					if !ok {
						prefix = ""
					}
					seen[prefix] = true
				}
			}
		}
		for _, c := range e.ChildElements() {
			walk(c)
		}
	}
	walk(e)
	delete(seen, "xml") // bound by definition, never declared
	prefixes := make([]string, 0, len(seen))
	for p := range seen {
		prefixes = append(prefixes, p)
	}
	slices.Sort(prefixes)
	return prefixes
}

// declares reports whether e itself declares prefix ("" for the default
// namespace).
func declares(e *etree.Element, prefix string) bool {
	for _, a := range e.Attr {
		if (prefix == "" && a.Space == "" && a.Key == "xmlns") || (a.Space == "xmlns" && a.Key == prefix) {
			return true
		}
	}
	return false
}

// lookupNamespace resolves prefix on e and its ancestors. An undeclared
// default namespace is "no namespace", which needs no declaration.
func lookupNamespace(e *etree.Element, prefix string) (string, bool) {
	for ; e != nil; e = e.Parent() {
		for _, a := range e.Attr {
			if (prefix == "" && a.Space == "" && a.Key == "xmlns") || (a.Space == "xmlns" && a.Key == prefix) {
				return a.Value, true
			}
		}
	}
	return "", prefix == ""
}
