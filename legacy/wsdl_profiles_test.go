package legacy

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/beevik/etree"
)

// TestOAuthAdminWSDLMatchesGeneration holds each profile's own
// OAuthAdminService.wsdl (legacy/wsdl/<profile>/) against the original
// WSDL of that generation (../shared/legacy/wsdl beside the repository):
//
//	(a) every operation ours declares exists in the original, with the
//	    same soapAction in each SOAP binding, the same input/output
//	    presence (in the portType and in each binding) and the same
//	    declared faults;
//	(b) every operation the server serves under the profile (profiles'
//	    appOps plus getAppsAuthorizedByUser and
//	    revokeAuthzForAppsByResoureOwner) is declared, in the portType and
//	    in both SOAP bindings;
//	(c) OAuthConsumerAppDTO, OAuthRevocationRequestDTO and
//	    OAuthRevocationResponseDTO have the original's sequence (names,
//	    order, namespaces, types, nillable, min/maxOccurs), and
//	    OAuthConsumerAppDTO's is the profile's appFields;
//	(d) our schemas compile with xmllint, and every message part names a
//	    global element they declare.
func TestOAuthAdminWSDLMatchesGeneration(t *testing.T) {
	originals := map[Profile]string{
		IS50: "OAuthAdminService.IS-5.0.2014.wsdl",
		IS53: "OAuthAdminService.IS-5.3.2016-12.wsdl",
		IS55: "OAuthAdminService.IS-5.5.2017-12.wsdl",
		IS57: "OAuthAdminService.IS-5.7.2018-08.wsdl",
	}
	origDir := filepath.Join("..", "..", "shared", "legacy", "wsdl") // ../shared/legacy/wsdl from the repository root
	if _, err := os.Stat(origDir); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s: %v; CI must check out shared/ beside the repository", origDir, err)
		}
		t.Skipf("%s: %v (shared/ is not beside the repository)", origDir, err)
	}

	dirs, err := os.ReadDir("wsdl")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		p := Profile(d.Name())
		ourPath := filepath.Join("wsdl", d.Name(), "OAuthAdminService.wsdl")
		if _, err := os.Stat(ourPath); err != nil {
			continue // a profile directory without an OAuthAdminService description
		}
		checked++
		t.Run(d.Name(), func(t *testing.T) {
			spec := profiles[p]
			if spec == nil {
				t.Fatalf("%s: directory of profile %q, which profiles does not have", ourPath, p)
			}
			origName, ok := originals[p]
			if !ok {
				t.Fatalf("%s: no original WSDL is mapped for profile %q; add it to originals", ourPath, p)
			}
			origPath := filepath.Join(origDir, origName)
			ours := wpLoad(t, ourPath)
			orig := wpLoad(t, origPath)

			// (a) our operations against the original's.
			ourOps, origOps := wpOperations(ours), wpOperations(orig)
			for _, name := range wpSortedKeys(ourOps) {
				o := ourOps[name]
				g, ok := origOps[name]
				if !ok {
					t.Errorf("(a) %s declares operation %s, which %s does not have", ourPath, name, origName)
					continue
				}
				if o.input != g.input || o.output != g.output {
					t.Errorf("(a) %s: portType operation %s has input=%v output=%v; %s has input=%v output=%v",
						ourPath, name, o.input, o.output, origName, g.input, g.output)
				}
				if !slices.Equal(o.faults, g.faults) {
					t.Errorf("(a) %s: operation %s declares faults %q; %s declares %q", ourPath, name, o.faults, origName, g.faults)
				}
				for _, kind := range []string{"soap11", "soap12"} {
					ob, ok := o.bindings[kind]
					if !ok {
						continue // (b) reports missing bindings of served operations
					}
					gb, ok := g.bindings[kind]
					if !ok {
						t.Errorf("(a) %s: operation %s has a %s binding; %s has none", ourPath, name, kind, origName)
						continue
					}
					if ob.soapAction != gb.soapAction {
						t.Errorf("(a) %s: %s binding of %s has soapAction %q; %s has %q", ourPath, kind, name, ob.soapAction, origName, gb.soapAction)
					}
					if ob.input != gb.input || ob.output != gb.output {
						t.Errorf("(a) %s: %s binding of %s has input=%v output=%v; %s has input=%v output=%v",
							ourPath, kind, name, ob.input, ob.output, origName, gb.input, gb.output)
					}
					if ob.input != o.input || ob.output != o.output {
						t.Errorf("(a) %s: %s binding of %s has input=%v output=%v but its portType operation input=%v output=%v",
							ourPath, kind, name, ob.input, ob.output, o.input, o.output)
					}
				}
			}

			// (b) what the server serves is declared.
			served := append([]string{"getAppsAuthorizedByUser", "revokeAuthzForAppsByResoureOwner"}, spec.appOps...)
			for _, name := range served {
				o, ok := ourOps[name]
				if !ok {
					t.Errorf("(b) %s: operation %s is served under profile %s but not declared in the portType", ourPath, name, p)
					continue
				}
				for _, kind := range []string{"soap11", "soap12"} {
					if _, ok := o.bindings[kind]; !ok {
						t.Errorf("(b) %s: served operation %s has no %s binding", ourPath, name, kind)
					}
				}
				// The profile's void behaviour shows in the description: in-only
				// operations have no output message.
				if slices.Contains(voidOps, name) && o.output == spec.inOnlyVoid {
					t.Errorf("(b) %s: void operation %s has output=%v, but the profile answers it %s", ourPath, name, o.output,
						map[bool]string{true: "in-only (HTTP 202, no body)", false: "in-out (a nil return)"}[spec.inOnlyVoid])
				}
			}
			for _, name := range wpSortedKeys(ourOps) {
				if !slices.Contains(served, name) {
					t.Errorf("(b) %s declares operation %s, which the server does not serve under profile %s", ourPath, name, p)
				}
			}

			// (c) the DTO sequences.
			const nsDTO = "http://dto.oauth.identity.carbon.wso2.org/xsd"
			for _, typ := range []string{"OAuthConsumerAppDTO", "OAuthRevocationRequestDTO", "OAuthRevocationResponseDTO"} {
				ourSeq, err := wpSequence(ours, nsDTO, typ)
				if err != nil {
					t.Errorf("(c) %s: %v", ourPath, err)
					continue
				}
				origSeq, err := wpSequence(orig, nsDTO, typ)
				if err != nil {
					t.Errorf("(c) %s: %v", origName, err)
					continue
				}
				for i := 0; i < max(len(ourSeq), len(origSeq)); i++ {
					switch {
					case i >= len(ourSeq):
						t.Errorf("(c) %s: {%s}%s ends after %d elements; %s continues with #%d %s", ourPath, nsDTO, typ, len(ourSeq), origName, i+1, origSeq[i])
					case i >= len(origSeq):
						t.Errorf("(c) %s: {%s}%s has an extra #%d %s; %s ends after %d elements", ourPath, nsDTO, typ, i+1, ourSeq[i], origName, len(origSeq))
					case ourSeq[i] != origSeq[i]:
						t.Errorf("(c) %s: {%s}%s element #%d is\n\t%s\n%s has\n\t%s", ourPath, nsDTO, typ, i+1, ourSeq[i], origName, origSeq[i])
					}
				}
				if typ == "OAuthConsumerAppDTO" {
					var names []string
					for _, e := range ourSeq {
						names = append(names, e.name)
					}
					if !slices.Equal(names, spec.appFields) {
						t.Errorf("(c) %s: OAuthConsumerAppDTO is %q; profile %s writes appFields %q", ourPath, names, p, spec.appFields)
					}
				}
			}

			// (c) also the fault beans and the wrappers of every operation
			// both declare (an original output message without parts, as
			// 2016-12 has for void operations, has no wrapper to compare).
			type seqRef struct{ ns, name string }
			refs := []seqRef{{"http://base.identity.carbon.wso2.org/xsd", "IdentityException"}}
			if _, err := wpSequence(orig, nsAxis2, "Exception"); err == nil {
				refs = append(refs, seqRef{nsAxis2, "Exception"})
			}
			for _, r := range refs {
				wpCompareSeqs(t, ourPath, origName, "complexType {"+r.ns+"}"+r.name,
					func(d *etree.Element) ([]wpElem, error) { return wpSequence(d, r.ns, r.name) }, ours, orig)
			}
			for _, name := range wpSortedKeys(ourOps) {
				g, ok := origOps[name]
				if !ok {
					continue
				}
				for _, dir := range []string{"input", "output"} {
					ourEl, origEl := ourOps[name].parts[dir], g.parts[dir]
					if ourEl == "" || origEl == "" {
						continue
					}
					wpCompareSeqs(t, ourPath, origName, name+" "+dir+" wrapper", func(d *etree.Element) ([]wpElem, error) {
						q := ourEl
						if d == orig {
							q = origEl
						}
						return wpWrapperSequence(d, q)
					}, ours, orig)
				}
			}

			// (d) the schemas compile; message parts name declared elements.
			globals := map[string]bool{}
			for _, s := range wpSchemas(ours) {
				tns := s.SelectAttrValue("targetNamespace", "")
				for _, e := range s.SelectElements("element") {
					globals["{"+tns+"}"+e.SelectAttrValue("name", "")] = true
				}
			}
			for _, m := range ours.SelectElements("message") {
				for _, part := range m.SelectElements("part") {
					q := wpQName(part, part.SelectAttrValue("element", ""))
					if !globals[q] {
						t.Errorf("(d) %s: message %s part %s names element %s, which no schema declares",
							ourPath, m.SelectAttrValue("name", ""), part.SelectAttrValue("name", ""), q)
					}
				}
			}
			wpCompile(t, ourPath, ours)
		})
	}
	if checked == 0 {
		t.Fatal("no legacy/wsdl/<profile>/OAuthAdminService.wsdl found")
	}
}

const (
	wpNSWSDL   = "http://schemas.xmlsoap.org/wsdl/"
	wpNSSOAP11 = "http://schemas.xmlsoap.org/wsdl/soap/"
	wpNSSOAP12 = "http://schemas.xmlsoap.org/wsdl/soap12/"
	wpNSXS     = "http://www.w3.org/2001/XMLSchema"
)

// wpLoad reads a WSDL and returns its wsdl:definitions.
func wpLoad(t *testing.T, path string) *etree.Element {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromFile(path); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	defs := doc.Root()
	if defs == nil || defs.Tag != "definitions" || defs.NamespaceURI() != wpNSWSDL {
		t.Fatalf("%s: the root is not wsdl:definitions", path)
	}
	return defs
}

type wpBindingOp struct {
	soapAction    string
	input, output bool
}

type wpOp struct {
	input, output bool
	faults        []string               // names, sorted
	parts         map[string]string      // "input"/"output" → {ns}element of the message's part, "" without
	bindings      map[string]wpBindingOp // by "soap11" / "soap12"
}

// wpOperations reads the portType's operations and their SOAP bindings.
func wpOperations(defs *etree.Element) map[string]*wpOp {
	tns := defs.SelectAttrValue("targetNamespace", "")
	messages := map[string]string{} // {tns}message → {ns}element of its part
	for _, m := range defs.SelectElements("message") {
		if part := m.SelectElement("part"); part != nil {
			messages["{"+tns+"}"+m.SelectAttrValue("name", "")] = wpQName(part, part.SelectAttrValue("element", ""))
		}
	}
	ops := map[string]*wpOp{}
	for _, pt := range defs.SelectElements("portType") {
		for _, op := range pt.SelectElements("operation") {
			o := &wpOp{bindings: map[string]wpBindingOp{}, parts: map[string]string{}}
			o.input = op.SelectElement("input") != nil
			o.output = op.SelectElement("output") != nil
			for _, dir := range []string{"input", "output"} {
				if io := op.SelectElement(dir); io != nil {
					o.parts[dir] = messages[wpQName(io, io.SelectAttrValue("message", ""))]
				}
			}
			for _, f := range op.SelectElements("fault") {
				o.faults = append(o.faults, f.SelectAttrValue("name", ""))
			}
			slices.Sort(o.faults)
			ops[op.SelectAttrValue("name", "")] = o
		}
	}
	for _, b := range defs.SelectElements("binding") {
		kind := ""
		for _, c := range b.ChildElements() {
			if c.Tag == "binding" {
				switch c.NamespaceURI() {
				case wpNSSOAP11:
					kind = "soap11"
				case wpNSSOAP12:
					kind = "soap12"
				}
			}
		}
		if kind == "" {
			continue // the HTTP binding
		}
		for _, op := range b.SelectElements("operation") {
			o := ops[op.SelectAttrValue("name", "")]
			if o == nil {
				continue
			}
			var bo wpBindingOp
			for _, c := range op.ChildElements() {
				switch {
				case c.Tag == "operation" && c.NamespaceURI() != wpNSWSDL:
					bo.soapAction = c.SelectAttrValue("soapAction", "")
				case c.Tag == "input" && c.NamespaceURI() == wpNSWSDL:
					bo.input = true
				case c.Tag == "output" && c.NamespaceURI() == wpNSWSDL:
					bo.output = true
				}
			}
			o.bindings[kind] = bo
		}
	}
	return ops
}

func wpSchemas(defs *etree.Element) []*etree.Element {
	types := defs.SelectElement("types")
	if types == nil {
		return nil
	}
	var out []*etree.Element
	for _, s := range types.ChildElements() {
		if s.Tag == "schema" && s.NamespaceURI() == wpNSXS {
			out = append(out, s)
		}
	}
	return out
}

// wpElem is one xs:element of a sequence, every property that an ADB stub
// depends on, with defaults filled in and the type as a {ns}local QName.
type wpElem struct {
	name, ns, typ        string
	nillable             bool
	minOccurs, maxOccurs string
}

func (e wpElem) String() string {
	return fmt.Sprintf("{%s}%s type=%s nillable=%v minOccurs=%s maxOccurs=%s", e.ns, e.name, e.typ, e.nillable, e.minOccurs, e.maxOccurs)
}

// wpSequence is the xs:sequence of complexType name in the schema of
// namespace ns.
func wpSequence(defs *etree.Element, ns, name string) ([]wpElem, error) {
	for _, s := range wpSchemas(defs) {
		if s.SelectAttrValue("targetNamespace", "") != ns {
			continue
		}
		for _, ct := range s.SelectElements("complexType") {
			if ct.SelectAttrValue("name", "") != name {
				continue
			}
			return wpSeqOf(s, ct, ns, "complexType {"+ns+"}"+name)
		}
	}
	return nil, fmt.Errorf("no complexType {%s}%s", ns, name)
}

// wpWrapperSequence is the sequence of the anonymous complexType of the
// global element q ({ns}local).
func wpWrapperSequence(defs *etree.Element, q string) ([]wpElem, error) {
	ns, local, _ := strings.Cut(strings.TrimPrefix(q, "{"), "}")
	for _, s := range wpSchemas(defs) {
		if s.SelectAttrValue("targetNamespace", "") != ns {
			continue
		}
		for _, el := range s.SelectElements("element") {
			if el.SelectAttrValue("name", "") != local {
				continue
			}
			ct := el.SelectElement("complexType")
			if ct == nil {
				return nil, fmt.Errorf("element %s has no anonymous complexType", q)
			}
			return wpSeqOf(s, ct, ns, q)
		}
	}
	return nil, fmt.Errorf("no global element %s", q)
}

// wpCompareSeqs reports, element by element, where what's sequence in
// ours differs from the original's.
func wpCompareSeqs(t *testing.T, ourPath, origName, what string, get func(*etree.Element) ([]wpElem, error), ours, orig *etree.Element) {
	t.Helper()
	ourSeq, err := get(ours)
	if err != nil {
		t.Errorf("(c) %s: %s: %v", ourPath, what, err)
		return
	}
	origSeq, err := get(orig)
	if err != nil {
		t.Errorf("(c) %s: %s: %v", origName, what, err)
		return
	}
	for i := 0; i < max(len(ourSeq), len(origSeq)); i++ {
		switch {
		case i >= len(ourSeq):
			t.Errorf("(c) %s: %s ends after %d elements; %s continues with #%d %s", ourPath, what, len(ourSeq), origName, i+1, origSeq[i])
		case i >= len(origSeq):
			t.Errorf("(c) %s: %s has an extra #%d %s; %s ends after %d elements", ourPath, what, i+1, ourSeq[i], origName, len(origSeq))
		case ourSeq[i] != origSeq[i]:
			t.Errorf("(c) %s: %s element #%d is\n\t%s\n%s has\n\t%s", ourPath, what, i+1, ourSeq[i], origName, origSeq[i])
		}
	}
}

// wpSeqOf reads complexType ct of schema s (target namespace ns): its
// xs:sequence, or that of its xs:complexContent extension (the base's
// elements not included).
func wpSeqOf(s, ct *etree.Element, ns, what string) ([]wpElem, error) {
	seq := ct.SelectElement("sequence")
	if cc := ct.SelectElement("complexContent"); seq == nil && cc != nil {
		if ext := cc.SelectElement("extension"); ext != nil {
			seq = ext.SelectElement("sequence")
		}
	}
	if seq == nil {
		return nil, fmt.Errorf("%s has no xs:sequence", what)
	}
	var out []wpElem
	for _, el := range seq.ChildElements() {
		if el.Tag != "element" {
			return nil, fmt.Errorf("%s: unexpected xs:%s in the sequence", what, el.Tag)
		}
		form := el.SelectAttrValue("form", s.SelectAttrValue("elementFormDefault", "unqualified"))
		e := wpElem{
			name:      el.SelectAttrValue("name", ""),
			typ:       wpQName(el, el.SelectAttrValue("type", "")),
			nillable:  el.SelectAttrValue("nillable", "false") == "true",
			minOccurs: el.SelectAttrValue("minOccurs", "1"),
			maxOccurs: el.SelectAttrValue("maxOccurs", "1"),
		}
		if form == "qualified" {
			e.ns = ns
		}
		out = append(out, e)
	}
	return out, nil
}

// wpQName resolves a prefixed name in the scope of e to {ns}local.
func wpQName(e *etree.Element, v string) string {
	prefix, local, ok := strings.Cut(v, ":")
	if !ok {
		prefix, local = "", v
	}
	return "{" + wpLookupNS(e, prefix) + "}" + local
}

func wpLookupNS(e *etree.Element, prefix string) string {
	for ; e != nil; e = e.Parent() {
		for _, a := range e.Attr {
			if prefix == "" && a.Space == "" && a.Key == "xmlns" || prefix != "" && a.Space == "xmlns" && a.Key == prefix {
				return a.Value
			}
		}
	}
	return ""
}

// wpCompile writes each xs:schema of defs to a file of its own (with the
// namespaces in scope declared and every xs:import pointed at its file),
// and has xmllint compile them all through a root schema that imports
// each, validating one request wrapper. Exit 5 is a schema that does not
// compile.
func wpCompile(t *testing.T, path string, defs *etree.Element) {
	t.Helper()
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("(d) xmllint is not on PATH (%v); install libxml2-utils", err)
		}
		t.Logf("(d) %s: schema not compiled: xmllint is not on PATH (%v); install libxml2-utils", path, err)
		return
	}
	dir := t.TempDir()
	files := map[string]string{} // target namespace → file
	schemas := wpSchemas(defs)
	for i, s := range schemas {
		files[s.SelectAttrValue("targetNamespace", "")] = fmt.Sprintf("schema%d.xsd", i)
	}
	root := etree.NewDocument()
	rs := root.CreateElement("xs:schema")
	rs.CreateAttr("xmlns:xs", wpNSXS)
	rs.CreateAttr("targetNamespace", "urn:tokenadmin:test:wsdl-schemas")
	for i, s := range schemas {
		c := s.Copy()
		// Declare every namespace in scope where the schema stood.
		for p := s.Parent(); p != nil; p = p.Parent() {
			for _, a := range p.Attr {
				if (a.Space == "xmlns" || a.Space == "" && a.Key == "xmlns") && c.SelectAttr(a.FullKey()) == nil {
					c.CreateAttr(a.FullKey(), a.Value)
				}
			}
		}
		for _, imp := range c.SelectElements("import") {
			ns := imp.SelectAttrValue("namespace", "")
			f, ok := files[ns]
			if !ok {
				t.Errorf("(d) %s: a schema imports %s, which no schema of the WSDL has", path, ns)
				continue
			}
			imp.CreateAttr("schemaLocation", f)
		}
		doc := etree.NewDocument()
		doc.SetRoot(c)
		doc.Indent(2)
		if err := doc.WriteToFile(filepath.Join(dir, fmt.Sprintf("schema%d.xsd", i))); err != nil {
			t.Fatal(err)
		}
		imp := rs.CreateElement("xs:import")
		imp.CreateAttr("namespace", s.SelectAttrValue("targetNamespace", ""))
		imp.CreateAttr("schemaLocation", fmt.Sprintf("schema%d.xsd", i))
	}
	if err := root.WriteToFile(filepath.Join(dir, "root.xsd")); err != nil {
		t.Fatal(err)
	}
	instance := `<ns1:revokeAuthzForAppsByResoureOwner xmlns:ns1="http://org.apache.axis2/xsd" xmlns:ns2="http://dto.oauth.identity.carbon.wso2.org/xsd">` +
		`<ns1:revokeRequestDTO><ns2:apps>app</ns2:apps></ns1:revokeRequestDTO></ns1:revokeAuthzForAppsByResoureOwner>`
	if err := os.WriteFile(filepath.Join(dir, "instance.xml"), []byte(instance), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(xmllint, "--noout", "--nonet", "--schema", "root.xsd", "instance.xml")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit) && (exit.ExitCode() == 3 || exit.ExitCode() == 4):
		t.Errorf("(d) %s: the schema compiles but rejects a valid revokeAuthzForAppsByResoureOwner request:\n%s", path, out)
	default:
		t.Errorf("(d) %s: the schema does not compile with xmllint (%v):\n%s", path, err, out)
	}
}

func wpSortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
