package wsdl_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	gowsdlsoap "github.com/hooklift/gowsdl/soap"

	"tokenadmin/internal/xsdcheck"
	"tokenadmin/wsdl"
)

const (
	nsWSDL     = "http://schemas.xmlsoap.org/wsdl/"
	nsSOAP11   = "http://schemas.xmlsoap.org/wsdl/soap/"
	nsSOAP12   = "http://schemas.xmlsoap.org/wsdl/soap12/"
	nsXSD      = "http://www.w3.org/2001/XMLSchema"
	nsTNS      = "urn:tokenadmin:v1"
	httpSOAP   = "http://schemas.xmlsoap.org/soap/http"
	defaultURL = "http://localhost:8080/services/TokenAdmin"
)

// TestGeneratedCodeIsUpToDate regenerates tokenadmin.go into a temporary
// directory with the pinned gowsdl and compares bytes, so that a WSDL
// change without `go generate` (or a hand edit of generated code) fails.
func TestGeneratedCodeIsUpToDate(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go tool gowsdl")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go is not on PATH: %v", err)
	}
	dir := t.TempDir()
	cmd := exec.Command(gobin, "tool", "gowsdl", "-d", dir, "-p", "wsdl", "-o", "tokenadmin.go", "tokenadmin.wsdl")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go tool gowsdl: %v\n%s", err, out)
	}
	got, err := os.ReadFile(filepath.Join(dir, "wsdl", "tokenadmin.go"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("tokenadmin.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("wsdl/tokenadmin.go is not what gowsdl generates from wsdl/tokenadmin.wsdl; run `go generate ./wsdl` and commit the result\n%s",
			firstDifference(want, got))
	}
}

// firstDifference describes the first line where committed and generated
// differ.
func firstDifference(committed, generated []byte) string {
	a := strings.Split(string(committed), "\n")
	b := strings.Split(string(generated), "\n")
	for i := 0; i < len(a) || i < len(b); i++ {
		var la, lb string
		if i < len(a) {
			la = a[i]
		}
		if i < len(b) {
			lb = b[i]
		}
		if la != lb {
			return fmt.Sprintf("first difference at line %d:\n  committed: %q\n  generated: %q", i+1, la, lb)
		}
	}
	return "files differ"
}

// TestSchemaCompiles checks with xmllint that Schema() compiles and that it
// enforces the contract's constraints, not merely that it parses.
func TestSchemaCompiles(t *testing.T) {
	tests := []struct {
		name      string
		instance  string
		wantValid bool
	}{
		{
			name:      "getToken",
			instance:  `<getToken xmlns="urn:tokenadmin:v1"><tokenId>tok_1</tokenId></getToken>`,
			wantValid: true,
		},
		{
			name:      "getToken without tokenId",
			instance:  `<getToken xmlns="urn:tokenadmin:v1"/>`,
			wantValid: false,
		},
		{
			name:      "getToken with unqualified child",
			instance:  `<t:getToken xmlns:t="urn:tokenadmin:v1"><tokenId>tok_1</tokenId></t:getToken>`,
			wantValid: false, // elementFormDefault="qualified"
		},
		{
			name:      "listActiveTokens empty",
			instance:  `<listActiveTokens xmlns="urn:tokenadmin:v1"/>`,
			wantValid: true,
		},
		{
			name: "listActiveTokens every filter",
			instance: `<listActiveTokens xmlns="urn:tokenadmin:v1"><user>alice</user><clientId>app1</clientId>` +
				`<tokenType>refresh</tokenType><pageSize>1000</pageSize><pageToken>p2</pageToken></listActiveTokens>`,
			wantValid: true,
		},
		{
			name: "listActiveTokens nil filters",
			instance: `<listActiveTokens xmlns="urn:tokenadmin:v1" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">` +
				`<user xsi:nil="true"/><pageSize xsi:nil="true"/></listActiveTokens>`,
			wantValid: true,
		},
		{
			name:      "listActiveTokens pageSize 1001",
			instance:  `<listActiveTokens xmlns="urn:tokenadmin:v1"><pageSize>1001</pageSize></listActiveTokens>`,
			wantValid: false,
		},
		{
			name:      "listActiveTokens pageSize 0",
			instance:  `<listActiveTokens xmlns="urn:tokenadmin:v1"><pageSize>0</pageSize></listActiveTokens>`,
			wantValid: false,
		},
		{
			name:      "listActiveTokens unknown tokenType",
			instance:  `<listActiveTokens xmlns="urn:tokenadmin:v1"><tokenType>id</tokenType></listActiveTokens>`,
			wantValid: false,
		},
		{
			name:      "revokeToken by id",
			instance:  `<revokeToken xmlns="urn:tokenadmin:v1"><tokenId>tok_1</tokenId></revokeToken>`,
			wantValid: true,
		},
		{
			name: "revokeToken by value with hint and reason",
			instance: `<revokeToken xmlns="urn:tokenadmin:v1"><token>secret</token>` +
				`<tokenTypeHint>refresh_token</tokenTypeHint><reason>lost phone</reason></revokeToken>`,
			wantValid: true,
		},
		{
			name:      "revokeToken with neither id nor value",
			instance:  `<revokeToken xmlns="urn:tokenadmin:v1"><reason>lost phone</reason></revokeToken>`,
			wantValid: false,
		},
		{
			name:      "revokeToken with both id and value",
			instance:  `<revokeToken xmlns="urn:tokenadmin:v1"><tokenId>tok_1</tokenId><token>secret</token></revokeToken>`,
			wantValid: false,
		},
		{
			name:      "revokeToken with hint before the token",
			instance:  `<revokeToken xmlns="urn:tokenadmin:v1"><tokenTypeHint>access_token</tokenTypeHint><tokenId>tok_1</tokenId></revokeToken>`,
			wantValid: false,
		},
		{
			name:      "revokeToken with a non-RFC 7009 hint",
			instance:  `<revokeToken xmlns="urn:tokenadmin:v1"><tokenId>tok_1</tokenId><tokenTypeHint>access</tokenTypeHint></revokeToken>`,
			wantValid: false,
		},
		{
			name:      "revokeTokenResponse without revokedCount",
			instance:  `<revokeTokenResponse xmlns="urn:tokenadmin:v1"><revoked>true</revoked><tokenId>tok_1</tokenId></revokeTokenResponse>`,
			wantValid: false,
		},
		{
			name: "getTokenResponse revoked",
			instance: `<getTokenResponse xmlns="urn:tokenadmin:v1"><token><tokenId>tok_1</tokenId><tokenType>access</tokenType>` +
				`<clientId>app1</clientId><appName>App One</appName><user>alice</user><scope>read</scope><scope>write</scope>` +
				`<grantType>authorization_code</grantType><issuedAt>2025-01-02T03:04:05Z</issuedAt><expiresAt>2025-01-02T04:04:05Z</expiresAt></token>` +
				`<state>revoked</state><revokedAt>2025-01-02T03:30:00Z</revokedAt><revokedBy>admin</revokedBy><revokeReason>lost phone</revokeReason></getTokenResponse>`,
			wantValid: true,
		},
		{
			name:      "tokenAdminFault",
			instance:  `<tokenAdminFault xmlns="urn:tokenadmin:v1"><code>TokenNotFound</code><message>token not found</message></tokenAdminFault>`,
			wantValid: true,
		},
	}
	schema := mustSchema(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, valid := lint(t, schema, []byte(tc.instance))
			if valid != tc.wantValid {
				t.Errorf("valid = %v, want %v; xmllint:\n%s", valid, tc.wantValid, out)
			}
		})
	}
}

func TestSchemaDeclaresOnlyWhatItUses(t *testing.T) {
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(mustSchema(t)); err != nil {
		t.Fatal(err)
	}
	root := doc.Root()
	if root.Tag != "schema" || root.NamespaceURI() != nsXSD {
		t.Fatalf("root is {%s}%s, want {%s}schema", root.NamespaceURI(), root.Tag, nsXSD)
	}
	var got []string
	for _, a := range root.Attr {
		if a.Space == "xmlns" {
			got = append(got, a.Key+"="+a.Value)
		}
	}
	want := []string{"tns=" + nsTNS, "xs=" + nsXSD}
	if !slices.Equal(got, want) {
		t.Errorf("namespace declarations = %q, want %q", got, want)
	}
	if tns := root.SelectAttrValue("targetNamespace", ""); tns != nsTNS {
		t.Errorf("targetNamespace = %q, want %q", tns, nsTNS)
	}
}

// TestGeneratedTypes marshals gowsdl's structs, checks the XML against the
// schema, and decodes it back: the generated client must send what the
// contract allows, and the soap adapter may decode requests with them.
func TestGeneratedTypes(t *testing.T) {
	issued := gowsdlsoap.CreateXsdDateTime(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), true)
	expires := gowsdlsoap.CreateXsdDateTime(time.Date(2025, 1, 2, 4, 4, 5, 0, time.UTC), true)
	token := &wsdl.TokenInfo{
		TokenId:   "tok_1",
		TokenType: new(wsdl.TokenTypeAccess),
		ClientId:  "app1",
		AppName:   "App One",
		User:      "alice",
		Scope:     []string{"read", "write"},
		GrantType: "authorization_code",
		IssuedAt:  issued,
		ExpiresAt: expires,
	}
	tests := []struct {
		name      string
		value     any
		wantXML   string // exact bytes, when set
		wantValid bool
	}{
		{
			name:      "getToken",
			value:     &wsdl.GetToken{TokenId: "tok_1"},
			wantXML:   `<getToken xmlns="urn:tokenadmin:v1"><tokenId>tok_1</tokenId></getToken>`,
			wantValid: true,
		},
		{
			name:      "listActiveTokens without filters",
			value:     &wsdl.ListActiveTokens{},
			wantValid: true,
		},
		{
			name: "listActiveTokens every filter",
			value: &wsdl.ListActiveTokens{
				User:      new("alice"),
				ClientId:  new("app1"),
				TokenType: new(wsdl.TokenTypeRefresh),
				PageSize:  new(wsdl.PageSize(50)),
				PageToken: new("p2"),
			},
			wantValid: true,
		},
		{
			name: "revokeToken by id",
			value: &wsdl.RevokeToken{
				TokenSelector: &wsdl.TokenSelector{TokenId: "tok_1"},
				TokenTypeHint: new(wsdl.TokenTypeHintRefresh_token),
				Reason:        new(wsdl.Reason("lost phone")),
			},
			// The choice comes first: see TokenSelector in the WSDL.
			wantXML: `<revokeToken xmlns="urn:tokenadmin:v1"><tokenId>tok_1</tokenId>` +
				`<tokenTypeHint>refresh_token</tokenTypeHint><reason>lost phone</reason></revokeToken>`,
			wantValid: true,
		},
		{
			name:      "revokeToken by value",
			value:     &wsdl.RevokeToken{TokenSelector: &wsdl.TokenSelector{Token: "secret"}},
			wantValid: true,
		},
		{
			name:      "revokeTokens",
			value:     &wsdl.RevokeTokens{User: new("alice"), ClientId: new("app1"), Reason: new(wsdl.Reason("offboarding"))},
			wantValid: true,
		},
		{
			name:      "listAuthorizedApps",
			value:     &wsdl.ListAuthorizedApps{User: new("alice")},
			wantValid: true,
		},
		{
			name: "getTokenResponse",
			value: &wsdl.GetTokenResponse{
				Token:        token,
				State:        new(wsdl.TokenStateRevoked),
				RevokedAt:    gowsdlsoap.CreateXsdDateTime(time.Date(2025, 1, 2, 3, 30, 0, 0, time.UTC), true),
				RevokedBy:    "admin",
				RevokeReason: "lost phone",
			},
			wantXML: `<getTokenResponse xmlns="urn:tokenadmin:v1"><token><tokenId>tok_1</tokenId><tokenType>access</tokenType>` +
				`<clientId>app1</clientId><appName>App One</appName><user>alice</user><scope>read</scope><scope>write</scope>` +
				`<grantType>authorization_code</grantType><issuedAt>2025-01-02T03:04:05Z</issuedAt><expiresAt>2025-01-02T04:04:05Z</expiresAt></token>` +
				`<state>revoked</state><revokedAt>2025-01-02T03:30:00Z</revokedAt><revokedBy>admin</revokedBy><revokeReason>lost phone</revokeReason></getTokenResponse>`,
			wantValid: true,
		},
		{
			name:      "listActiveTokensResponse",
			value:     &wsdl.ListActiveTokensResponse{Token: []*wsdl.TokenInfo{token}, NextPageToken: "p2"},
			wantValid: true,
		},
		{
			name: "listAuthorizedAppsResponse",
			value: &wsdl.ListAuthorizedAppsResponse{App: []*wsdl.AuthorizedApp{
				{ClientId: "app1", AppName: "App One", ActiveTokens: 2, LastIssuedAt: issued},
			}},
			wantValid: true,
		},
		{
			name:      "revokeTokenResponse revoked",
			value:     &wsdl.RevokeTokenResponse{Revoked: true, TokenId: "tok_1", RevokedCount: 2},
			wantValid: true,
		},
		{
			// gowsdl puts omitempty on every field, so false and 0 vanish and
			// the required elements are missing. Responses carrying them must
			// not be marshalled with these structs alone.
			name:      "revokeTokenResponse not revoked loses required elements",
			value:     &wsdl.RevokeTokenResponse{Revoked: false, TokenId: "tok_1", RevokedCount: 0},
			wantXML:   `<revokeTokenResponse xmlns="urn:tokenadmin:v1"><tokenId>tok_1</tokenId></revokeTokenResponse>`,
			wantValid: false,
		},
		{
			name:      "tokenAdminFault",
			value:     &wsdl.TokenAdminFault{Code: "TokenNotFound", Message: "token not found"},
			wantValid: true,
		},
	}
	schema := mustSchema(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := xml.Marshal(tc.value)
			if err != nil {
				t.Fatalf("marshal: %v", err)
			}
			if tc.wantXML != "" && string(b) != tc.wantXML {
				t.Errorf("marshal:\n got %s\nwant %s", b, tc.wantXML)
			}
			if out, valid := lint(t, schema, b); valid != tc.wantValid {
				t.Errorf("valid = %v, want %v; xmllint:\n%s", valid, tc.wantValid, out)
			}

			decoded := reflect.New(reflect.TypeOf(tc.value).Elem()).Interface()
			if err := xml.Unmarshal(b, decoded); err != nil {
				t.Fatalf("unmarshal: %v", err)
			}
			again, err := xml.Marshal(decoded)
			if err != nil {
				t.Fatalf("marshal decoded: %v", err)
			}
			if !bytes.Equal(again, b) {
				t.Errorf("round trip changed the XML:\n got %s\nwant %s", again, b)
			}
		})
	}
}

func TestWithAddress(t *testing.T) {
	original := bytes.Clone(wsdl.WSDL)
	defaultAttr := []byte(`location="` + defaultURL + `"`)
	if n := bytes.Count(original, defaultAttr); n != 2 {
		t.Fatalf("WSDL has %d default locations, want 2 (one per port)", n)
	}

	tests := []struct {
		name     string
		location string
		wantAttr string // the location as written in the attribute
	}{
		{name: "https host", location: "https://tokens.example.com/services/TokenAdmin", wantAttr: "https://tokens.example.com/services/TokenAdmin"},
		{name: "http with port", location: "http://127.0.0.1:54321/services/TokenAdmin", wantAttr: "http://127.0.0.1:54321/services/TokenAdmin"},
		{name: "query is escaped", location: "http://h.example/s?a=1&b=\"2\"", wantAttr: "http://h.example/s?a=1&amp;b=&quot;2&quot;"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := wsdl.WithAddress(tc.location)
			if err != nil {
				t.Fatalf("WithAddress(%q): %v", tc.location, err)
			}
			// Only the two locations change; the rest is byte for byte.
			want := bytes.ReplaceAll(original, defaultAttr, []byte(`location="`+tc.wantAttr+`"`))
			if !bytes.Equal(got, want) {
				t.Errorf("WithAddress(%q) differs from the WSDL elsewhere than in the locations\n%s",
					tc.location, firstDifference(want, got))
			}

			doc := etree.NewDocument()
			if err := doc.ReadFromBytes(got); err != nil {
				t.Fatal(err)
			}
			ports := map[string]string{}
			for _, service := range children(doc.Root(), nsWSDL, "service") {
				for _, port := range children(service, nsWSDL, "port") {
					for _, addr := range port.ChildElements() {
						if addr.Tag == "address" {
							ports[port.SelectAttrValue("name", "")+" "+addr.NamespaceURI()] = addr.SelectAttrValue("location", "")
						}
					}
				}
			}
			wantPorts := map[string]string{
				"TokenAdminSoap11 " + nsSOAP11: tc.location,
				"TokenAdminSoap12 " + nsSOAP12: tc.location,
			}
			if !reflect.DeepEqual(ports, wantPorts) {
				t.Errorf("addresses = %q, want %q", ports, wantPorts)
			}

			got[0] = 'X' // must not share memory with WSDL
		})
	}

	errTests := []struct {
		name     string
		location string
	}{
		{name: "empty", location: ""},
		{name: "relative", location: "/services/TokenAdmin"},
		{name: "no host", location: "http:///services/TokenAdmin"},
		{name: "not http", location: "ftp://h.example/services/TokenAdmin"},
		{name: "unparsable", location: "http://h.example/%zz"},
	}
	for _, tc := range errTests {
		t.Run("rejects "+tc.name, func(t *testing.T) {
			if got, err := wsdl.WithAddress(tc.location); err == nil {
				t.Errorf("WithAddress(%q) = %d bytes, nil error; want an error", tc.location, len(got))
			}
		})
	}

	if !bytes.Equal(wsdl.WSDL, original) {
		t.Error("WithAddress modified WSDL")
	}
}

// TestWSDLIsSelfConsistent checks the wiring that gowsdl and most toolkits
// do not: both bindings cover every operation with its SOAPAction, and
// every message is a WS-I wrapped single part.
func TestWSDLIsSelfConsistent(t *testing.T) {
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(wsdl.WSDL); err != nil {
		t.Fatal(err)
	}
	defs := doc.Root()
	if defs.Tag != "definitions" || defs.NamespaceURI() != nsWSDL {
		t.Fatalf("root is {%s}%s, want wsdl:definitions", defs.NamespaceURI(), defs.Tag)
	}

	schemaElements := map[string]bool{}
	for _, types := range children(defs, nsWSDL, "types") {
		for _, schema := range children(types, nsXSD, "schema") {
			for _, el := range children(schema, nsXSD, "element") {
				schemaElements[el.SelectAttrValue("name", "")] = true
			}
		}
	}

	// Every message: one part, named parameters, naming a schema element.
	messages := map[string]string{} // message name -> element local name
	for _, msg := range children(defs, nsWSDL, "message") {
		name := msg.SelectAttrValue("name", "")
		t.Run("message "+name, func(t *testing.T) {
			parts := children(msg, nsWSDL, "part")
			if len(parts) != 1 {
				t.Fatalf("%d parts, want 1", len(parts))
			}
			if got := parts[0].SelectAttrValue("name", ""); got != "parameters" {
				t.Errorf("part name = %q, want parameters", got)
			}
			if parts[0].SelectAttr("type") != nil {
				t.Error("part has a type; document/literal parts reference an element")
			}
			el := localTNS(t, parts[0], parts[0].SelectAttrValue("element", ""))
			if !schemaElements[el] {
				t.Errorf("element tns:%s is not declared in the schema", el)
			}
			messages[name] = el
		})
	}

	portTypes := children(defs, nsWSDL, "portType")
	if len(portTypes) != 1 || portTypes[0].SelectAttrValue("name", "") != "TokenAdmin" {
		t.Fatalf("want exactly one portType, TokenAdmin")
	}
	var operations []string
	for _, op := range children(portTypes[0], nsWSDL, "operation") {
		name := op.SelectAttrValue("name", "")
		operations = append(operations, name)
		t.Run("portType operation "+name, func(t *testing.T) {
			if len(children(op, nsWSDL, "documentation")) != 1 {
				t.Error("no wsdl:documentation")
			}
			ios := []struct {
				tag         string
				wantElement string
			}{
				{tag: "input", wantElement: name}, // wrapped: the wrapper is named after the operation
				{tag: "output", wantElement: name + "Response"},
			}
			for _, io := range ios {
				m := children(op, nsWSDL, io.tag)
				if len(m) != 1 {
					t.Errorf("%d %s messages, want 1", len(m), io.tag)
					continue
				}
				msg := localTNS(t, m[0], m[0].SelectAttrValue("message", ""))
				if el, ok := messages[msg]; !ok {
					t.Errorf("%s message tns:%s is not declared", io.tag, msg)
				} else if el != io.wantElement {
					t.Errorf("%s element = tns:%s, want tns:%s", io.tag, el, io.wantElement)
				}
			}
			faults := children(op, nsWSDL, "fault")
			if len(faults) != 1 || faults[0].SelectAttrValue("name", "") != "TokenAdminFault" {
				t.Fatal("want exactly one fault, TokenAdminFault")
			}
			msg := localTNS(t, faults[0], faults[0].SelectAttrValue("message", ""))
			if el := messages[msg]; el != "tokenAdminFault" {
				t.Errorf("fault element = tns:%s, want tns:tokenAdminFault", el)
			}
		})
	}
	wantOps := []string{"listActiveTokens", "revokeToken", "revokeTokens", "listAuthorizedApps", "getToken",
		"registerApp", "updateApp", "getApp", "listApps", "deleteApp", "regenerateSecret", "listAuditEvents"}
	if !slices.Equal(operations, wantOps) {
		t.Errorf("portType operations = %q, want %q", operations, wantOps)
	}

	bindings := []struct {
		name    string
		binding string
		port    string
		soapNS  string
	}{
		{name: "SOAP 1.1", binding: "TokenAdminSoap11Binding", port: "TokenAdminSoap11", soapNS: nsSOAP11},
		{name: "SOAP 1.2", binding: "TokenAdminSoap12Binding", port: "TokenAdminSoap12", soapNS: nsSOAP12},
	}
	for _, b := range bindings {
		t.Run(b.name, func(t *testing.T) {
			var binding *etree.Element
			for _, e := range children(defs, nsWSDL, "binding") {
				if e.SelectAttrValue("name", "") == b.binding {
					binding = e
				}
			}
			if binding == nil {
				t.Fatalf("no binding %s", b.binding)
			}
			if got := localTNS(t, binding, binding.SelectAttrValue("type", "")); got != "TokenAdmin" {
				t.Errorf("binding type = tns:%s, want tns:TokenAdmin", got)
			}
			sb := children(binding, b.soapNS, "binding")
			if len(sb) != 1 {
				t.Fatalf("%d {%s}binding elements, want 1", len(sb), b.soapNS)
			}
			if got := sb[0].SelectAttrValue("style", ""); got != "document" {
				t.Errorf("style = %q, want document", got)
			}
			if got := sb[0].SelectAttrValue("transport", ""); got != httpSOAP {
				t.Errorf("transport = %q, want %q", got, httpSOAP)
			}

			var bound []string
			for _, op := range children(binding, nsWSDL, "operation") {
				name := op.SelectAttrValue("name", "")
				bound = append(bound, name)
				t.Run(name, func(t *testing.T) {
					so := children(op, b.soapNS, "operation")
					if len(so) != 1 {
						t.Fatalf("%d soap operation elements, want 1", len(so))
					}
					if got, want := so[0].SelectAttrValue("soapAction", ""), "urn:tokenadmin:v1:"+name; got != want {
						t.Errorf("soapAction = %q, want %q", got, want)
					}
					for _, tag := range []string{"input", "output"} {
						body := children(firstChild(op, nsWSDL, tag), b.soapNS, "body")
						if len(body) != 1 || body[0].SelectAttrValue("use", "") != "literal" {
							t.Errorf("%s: want one body with use=literal", tag)
						}
					}
					fault := firstChild(op, nsWSDL, "fault")
					sf := children(fault, b.soapNS, "fault")
					if fault.SelectAttrValue("name", "") != "TokenAdminFault" || len(sf) != 1 ||
						sf[0].SelectAttrValue("name", "") != "TokenAdminFault" || sf[0].SelectAttrValue("use", "") != "literal" {
						t.Error("want fault TokenAdminFault with a soap fault named TokenAdminFault, use=literal")
					}
				})
			}
			if !slices.Equal(bound, operations) {
				t.Errorf("bound operations = %q, want the portType's %q", bound, operations)
			}

			var address string
			for _, service := range children(defs, nsWSDL, "service") {
				for _, port := range children(service, nsWSDL, "port") {
					if port.SelectAttrValue("name", "") == b.port &&
						localTNS(t, port, port.SelectAttrValue("binding", "")) == b.binding {
						address = firstChild(port, b.soapNS, "address").SelectAttrValue("location", "")
					}
				}
			}
			if address != defaultURL {
				t.Errorf("port %s address = %q, want %q", b.port, address, defaultURL)
			}
		})
	}
}

// TestValidate checks internal/xsdcheck against envelopes as the soap
// adapter writes them: it must accept valid bodies under either SOAP
// version, and fail the test for bodies the schema rejects.
func TestValidate(t *testing.T) {
	requireXmllint(t)
	tests := []struct {
		name       string
		envelope   string
		wantFail   bool
		wantReport string // part of the failure message
	}{
		{
			name: "SOAP 1.1 response with prefixes declared on the envelope",
			envelope: `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ta="urn:tokenadmin:v1"><soapenv:Body>` +
				`<ta:revokeTokensResponse><ta:revokedCount>0</ta:revokedCount></ta:revokeTokensResponse></soapenv:Body></soapenv:Envelope>`,
		},
		{
			name: "SOAP 1.2 response",
			envelope: `<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Header/><env:Body>` +
				`<listAuthorizedAppsResponse xmlns="urn:tokenadmin:v1"/></env:Body></env:Envelope>`,
		},
		{
			name: "SOAP 1.1 fault",
			envelope: `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><soapenv:Fault>` +
				`<faultcode>soapenv:Client</faultcode><faultstring>token not found</faultstring><detail>` +
				`<ta:tokenAdminFault xmlns:ta="urn:tokenadmin:v1"><ta:code>TokenNotFound</ta:code><ta:message>token not found</ta:message></ta:tokenAdminFault>` +
				`</detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>`,
		},
		{
			name: "SOAP 1.2 fault",
			envelope: `<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" xmlns:ta="urn:tokenadmin:v1"><env:Body><env:Fault>` +
				`<env:Code><env:Value>env:Sender</env:Value></env:Code><env:Reason><env:Text xml:lang="en">bad</env:Text></env:Reason>` +
				`<env:Detail><ta:tokenAdminFault><ta:code>InvalidRequest</ta:code><ta:message>bad</ta:message></ta:tokenAdminFault></env:Detail>` +
				`</env:Fault></env:Body></env:Envelope>`,
		},
		{
			name: "response missing a required element",
			envelope: `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>` +
				`<revokeTokenResponse xmlns="urn:tokenadmin:v1"><tokenId>tok_1</tokenId></revokeTokenResponse></soapenv:Body></soapenv:Envelope>`,
			wantFail:   true,
			wantReport: "does not match the WSDL schema",
		},
		{
			name: "fault detail missing its message",
			envelope: `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><soapenv:Fault>` +
				`<faultcode>soapenv:Server</faultcode><faultstring>internal error</faultstring><detail>` +
				`<tokenAdminFault xmlns="urn:tokenadmin:v1"><code>InternalError</code></tokenAdminFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>`,
			wantFail:   true,
			wantReport: "does not match the WSDL schema",
		},
		{
			name: "fault without detail",
			envelope: `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><soapenv:Fault>` +
				`<faultcode>soapenv:Server</faultcode><faultstring>internal error</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>`,
			wantFail:   true,
			wantReport: "tokenAdminFault",
		},
		{
			name:       "two body elements",
			envelope:   `<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body><a/><b/></e:Body></e:Envelope>`,
			wantFail:   true,
			wantReport: "2 child elements",
		},
		{
			name:       "not SOAP",
			envelope:   `<Envelope><Body><getToken/></Body></Envelope>`,
			wantFail:   true,
			wantReport: "namespace",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			failed, report := runValidate(t, []byte(tc.envelope))
			if failed != tc.wantFail {
				t.Fatalf("Validate failed = %v, want %v; report:\n%s", failed, tc.wantFail, report)
			}
			if !strings.Contains(report, tc.wantReport) {
				t.Errorf("report does not mention %q:\n%s", tc.wantReport, report)
			}
		})
	}
}

// recordingTB stands in for the test given to xsdcheck.Validate, recording
// failures instead of failing the real test.
type recordingTB struct {
	testing.TB
	failed bool
	report strings.Builder
}

func (r *recordingTB) Helper() {}

func (r *recordingTB) Errorf(format string, args ...any) {
	r.failed = true
	fmt.Fprintf(&r.report, format+"\n", args...)
}

func (r *recordingTB) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	runtime.Goexit()
}

func (r *recordingTB) Skipf(format string, args ...any) {
	fmt.Fprintf(&r.report, "skipped: "+format+"\n", args...)
	runtime.Goexit()
}

// runValidate runs xsdcheck.Validate on its own goroutine, as Fatalf ends
// the goroutine it runs on.
func runValidate(t *testing.T, envelope []byte) (failed bool, report string) {
	t.Helper()
	r := &recordingTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		xsdcheck.Validate(r, envelope)
	}()
	<-done
	return r.failed, r.report.String()
}

func mustSchema(t *testing.T) []byte {
	t.Helper()
	b, err := wsdl.Schema()
	if err != nil {
		t.Fatalf("Schema: %v", err)
	}
	return b
}

// requireXmllint skips the test without xmllint, except under CI=true.
func requireXmllint(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("xmllint")
	if err == nil {
		return path
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("xmllint is not on PATH (%v); install libxml2-utils", err)
	}
	t.Skipf("xmllint is not on PATH (%v); install libxml2-utils", err)
	return ""
}

// lint validates instance against schema with xmllint. A schema that does
// not compile, or an instance that is not XML, fails the test.
func lint(t *testing.T, schema, instance []byte) (report string, valid bool) {
	t.Helper()
	xmllint := requireXmllint(t)
	dir := t.TempDir()
	for name, b := range map[string][]byte{"schema.xsd": schema, "instance.xml": instance} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(xmllint, "--noout", "--nonet", "--schema", "schema.xsd", "instance.xml")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return string(out), true
	case errors.As(err, &exit) && (exit.ExitCode() == 3 || exit.ExitCode() == 4):
		return string(out), false // a validity error (3 in older libxml2, 4 now)
	default:
		t.Fatalf("xmllint: %v (exit 5 means the schema does not compile)\n%s", err, out)
		return "", false
	}
}

func children(e *etree.Element, ns, local string) []*etree.Element {
	var out []*etree.Element
	for _, c := range e.ChildElements() {
		if c.Tag == local && c.NamespaceURI() == ns {
			out = append(out, c)
		}
	}
	return out
}

func firstChild(e *etree.Element, ns, local string) *etree.Element {
	if c := children(e, ns, local); len(c) > 0 {
		return c[0]
	}
	return etree.NewElement("missing-" + local) // lets the caller's checks fail, not panic
}

// localTNS returns the local part of qname, failing unless its prefix is
// bound to the target namespace where e stands.
func localTNS(t *testing.T, e *etree.Element, qname string) string {
	t.Helper()
	prefix, local, ok := strings.Cut(qname, ":")
	if !ok {
		t.Errorf("%q is not a prefixed QName", qname)
		return qname
	}
	for p := e; p != nil; p = p.Parent() {
		if a := p.SelectAttr("xmlns:" + prefix); a != nil {
			if a.Value != nsTNS {
				t.Errorf("%q: prefix %s is bound to %q, want %q", qname, prefix, a.Value, nsTNS)
			}
			return local
		}
	}
	t.Errorf("%q: prefix %s is not declared", qname, prefix)
	return local
}
