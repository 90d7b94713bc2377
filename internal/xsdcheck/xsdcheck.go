// Package xsdcheck validates SOAP response bodies against the schema of
// tokenadmin's WSDL, for tests. It runs xmllint (libxml2-utils) because Go
// has no XML Schema validator; without xmllint the check is skipped, except
// under CI=true, where a missing xmllint fails the test so CI cannot go
// green without validating.
package xsdcheck

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/beevik/etree"

	"tokenadmin/wsdl"
)

// SOAP envelope namespaces.
const (
	nsSOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
	nsSOAP12 = "http://www.w3.org/2003/05/soap-envelope"

	nsTokenAdmin = "urn:tokenadmin:v1"
)

// Validate checks a whole SOAP 1.1 or SOAP 1.2 response envelope against
// wsdl.Schema(). For a normal response it validates the single child of
// the Body (WS-I BP 1.1 R2201: one part, one body element); for a Fault it
// validates the tokenAdminFault detail, which every fault of the service
// carries.
//
// An envelope it cannot use (not XML, not a SOAP envelope, no single body
// element, a fault without exactly one tokenAdminFault) stops the test with
// t.Fatal; a body that the schema rejects fails it with t.Error and
// xmllint's report, so that the caller's own checks still run.
func Validate(t testing.TB, envelope []byte) {
	t.Helper()
	xmllint := lookXmllint(t)

	body, err := extract(envelope)
	if err != nil {
		t.Fatalf("xsdcheck: %v\nenvelope:\n%s", err, envelope)
	}
	schema, err := wsdl.Schema()
	if err != nil {
		t.Fatalf("xsdcheck: %v", err)
	}

	dir := t.TempDir()
	schemaPath := filepath.Join(dir, "schema.xsd")
	bodyPath := filepath.Join(dir, "body.xml")
	if err := os.WriteFile(schemaPath, schema, 0o644); err != nil {
		t.Fatalf("xsdcheck: %v", err)
	}
	if err := os.WriteFile(bodyPath, body, 0o644); err != nil {
		t.Fatalf("xsdcheck: %v", err)
	}

	cmd := exec.Command(xmllint, "--noout", "--nonet", "--schema", "schema.xsd", "body.xml")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit) && (exit.ExitCode() == 3 || exit.ExitCode() == 4):
		// libxml2 reports schema validity errors as 3 (older) or 4.
		t.Errorf("xsdcheck: response body does not match the WSDL schema:\n%s\nbody:\n%s", out, body)
	default:
		t.Fatalf("xsdcheck: xmllint: %v\n%s", err, out)
	}
}

// lookXmllint returns the path of xmllint, or skips (stops, under CI) the
// test when there is none.
func lookXmllint(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("xmllint")
	if err == nil {
		return path
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("xsdcheck: xmllint is not on PATH (%v); install libxml2-utils (apt-get install libxml2-utils)", err)
	}
	t.Skipf("xsdcheck: xmllint is not on PATH (%v); install libxml2-utils to validate against the schema", err)
	return ""
}

// extract returns the element to validate, as a standalone document that
// declares every namespace in scope where it stood in the envelope.
func extract(envelope []byte) ([]byte, error) {
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(envelope); err != nil {
		return nil, err
	}
	env := doc.Root()
	if env == nil || env.Tag != "Envelope" {
		return nil, errors.New("the root element is not a SOAP Envelope")
	}
	ns := env.NamespaceURI()
	if ns != nsSOAP11 && ns != nsSOAP12 {
		return nil, fmt.Errorf("the Envelope is in neither the SOAP 1.1 nor the SOAP 1.2 namespace but in %q", ns)
	}

	var bodies []*etree.Element
	for _, c := range env.ChildElements() {
		if c.Tag == "Body" && c.NamespaceURI() == ns {
			bodies = append(bodies, c)
		}
	}
	if len(bodies) != 1 {
		return nil, fmt.Errorf("the Envelope has %d Body elements, want 1", len(bodies))
	}
	children := bodies[0].ChildElements()
	if len(children) != 1 {
		return nil, fmt.Errorf("the Body has %d child elements, want 1", len(children))
	}
	target := children[0]

	if target.Tag == "Fault" && target.NamespaceURI() == ns {
		var details []*etree.Element
		var walk func(*etree.Element)
		walk = func(e *etree.Element) {
			for _, c := range e.ChildElements() {
				if c.Tag == "tokenAdminFault" && c.NamespaceURI() == nsTokenAdmin {
					details = append(details, c)
					continue
				}
				walk(c)
			}
		}
		walk(target)
		if len(details) != 1 {
			return nil, fmt.Errorf("the Fault carries %d {%s}tokenAdminFault details, want 1", len(details), nsTokenAdmin)
		}
		target = details[0]
	}

	out := target.Copy()
	declareInScope(out, target)
	standalone := etree.NewDocument()
	standalone.CreateProcInst("xml", `version="1.0" encoding="UTF-8"`)
	standalone.SetRoot(out)
	var buf bytes.Buffer
	if _, err := standalone.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// declareInScope adds to out, a detached copy of orig, the namespace
// declarations that orig inherits from its ancestors. All of them, not only
// the prefixes used in names: a value such as xsi:type="tns:Token" may
// depend on any of them.
func declareInScope(out, orig *etree.Element) {
	declared := map[string]bool{}
	for _, a := range out.Attr {
		if key, ok := nsDecl(a); ok {
			declared[key] = true
		}
	}
	for e := orig.Parent(); e != nil; e = e.Parent() {
		for _, a := range e.Attr {
			key, ok := nsDecl(a)
			if !ok || declared[key] {
				continue
			}
			declared[key] = true
			out.CreateAttr(a.FullKey(), a.Value)
		}
	}
}

// nsDecl reports whether a declares a namespace, and which prefix ("" for
// the default namespace).
func nsDecl(a etree.Attr) (string, bool) {
	switch {
	case a.Space == "xmlns":
		return a.Key, true
	case a.Space == "" && a.Key == "xmlns":
		return "", true
	}
	return "", false
}
