package tokenadmin_test

import (
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"tokenadmin"
	"tokenadmin/auth"
	"tokenadmin/legacy"
)

// TestLegacySessionEndsOnUserChange: a session started by login or by a
// Basic call stops working once its user's password or role changes in
// the store (as the CLI changes it, from another process), within the
// epoch check interval; the cookie then gets the same 401 challenge as
// after logout (WIRE.md §6: no session and no Authorization header).
// Another user's change leaves it alone.
func TestLegacySessionEndsOnUserChange(t *testing.T) {
	ctx := t.Context()
	newHash, err := auth.HashPassword("alice-new-secret")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		change func(t *testing.T, st *legacyStack)
	}{
		{name: "password changed", change: func(t *testing.T, st *legacyStack) {
			if err := st.db.SetPassword(ctx, "alice", newHash); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "role changed", change: func(t *testing.T, st *legacyStack) {
			if err := st.db.SetRole(ctx, "alice", tokenadmin.RoleAdmin); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tc := range tests {
		for _, start := range []string{"login", "basic"} {
			t.Run(tc.name+"/"+start, func(t *testing.T) {
				st := newLegacyStack(t, false)
				var resp *http.Response
				var body string
				if start == "login" {
					resp, body = legacyPost(t, st, "/services/AuthenticationAdmin", false, "urn:login", loginBody("alice", "alice-secret"), "", "")
				} else {
					resp, body = legacyPost(t, st, "/services/OAuthAdminService", false, "urn:getAppsAuthorizedByUser", getAppsBody, "alice", "alice-secret")
				}
				if resp.StatusCode != http.StatusOK || len(resp.Cookies()) != 1 {
					t.Fatalf("%s: %d %v\n%s", start, resp.StatusCode, resp.Cookies(), body)
				}
				cookie := resp.Cookies()[0]
				call := func() *http.Response {
					t.Helper()
					resp, _ := legacyPost(t, st, "/services/OAuthAdminService", false, "urn:getAppsAuthorizedByUser", getAppsBody, "", "", cookie)
					return resp
				}
				if resp := call(); resp.StatusCode != http.StatusOK {
					t.Fatalf("call with the cookie: %d", resp.StatusCode)
				}

				// bob's change moves the epoch too; alice's session
				// survives the re-check.
				bobHash, err := auth.HashPassword("bob-new-secret")
				if err != nil {
					t.Fatal(err)
				}
				if err := st.db.SetPassword(ctx, "bob", bobHash); err != nil {
					t.Fatal(err)
				}
				st.clk.Set(st.clk.Now().Add(time.Second))
				if resp := call(); resp.StatusCode != http.StatusOK {
					t.Fatalf("call after another user's change: %d", resp.StatusCode)
				}

				tc.change(t, st)
				st.clk.Set(st.clk.Now().Add(time.Second))
				resp = call()
				if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" || len(resp.Cookies()) != 0 {
					t.Fatalf("call after alice changed: %d %v %v; want the 401 challenge", resp.StatusCode, resp.Header, resp.Cookies())
				}
				if resp := call(); resp.StatusCode != http.StatusUnauthorized {
					t.Errorf("the ended session came back: %d", resp.StatusCode)
				}
			})
		}
	}
}

// TestLegacyAuthenticationAdminWSDL: our AuthenticationAdmin description
// is served at ?wsdl on every path form, without credentials, with the
// requested host; it has both SOAP bindings with urn:login and
// urn:logout; its schema compiles with xmllint and accepts the requests
// ADB stubs send and our own login response.
func TestLegacyAuthenticationAdminWSDL(t *testing.T) {
	st := newLegacyStack(t, false)
	host := strings.TrimPrefix(st.srv.URL, "http://")
	svc := legacy.AuthenticationAdmin
	var doc []byte
	for _, p := range []string{"/services/" + svc + "?wsdl", "/services/" + svc + "." + svc + "HttpsSoap11Endpoint/?wsdl", "/services/" + svc + "/?WSDL"} {
		resp, err := st.srv.Client().Get(st.srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/xml") {
			t.Fatalf("%s: %d %s\n%s", p, resp.StatusCode, resp.Header.Get("Content-Type"), b)
		}
		for _, want := range []string{
			`location="http://` + host + `/services/AuthenticationAdmin.AuthenticationAdminHttpsSoap11Endpoint/"`,
			`location="http://` + host + `/services/AuthenticationAdmin.AuthenticationAdminHttpsSoap12Endpoint/"`,
		} {
			if !strings.Contains(string(b), want) {
				t.Errorf("%s: no %s", p, want)
			}
		}
		if strings.Contains(string(b), "localhost:9443") {
			t.Errorf("%s: an address was not rewritten", p)
		}
		doc = b
	}

	wsdl := etree.NewDocument()
	if err := wsdl.ReadFromBytes(doc); err != nil {
		t.Fatal(err)
	}
	defs := wsdl.Root()
	if defs.Tag != "definitions" || defs.NamespaceURI() != nsWSDL11 ||
		defs.SelectAttrValue("targetNamespace", "") != "http://authentication.services.core.carbon.wso2.org" {
		t.Fatalf("root %s in %s", defs.Tag, defs.NamespaceURI())
	}
	bindings := map[string]bool{}
	for _, b := range defs.SelectElements("binding") {
		for _, op := range b.SelectElements("operation") {
			name := op.SelectAttrValue("name", "")
			for _, so := range op.ChildElements() {
				if so.Tag == "operation" {
					bindings[so.NamespaceURI()+" "+name+" "+so.SelectAttrValue("soapAction", "")] = true
				}
			}
		}
	}
	for _, ns := range []string{"http://schemas.xmlsoap.org/wsdl/soap/", "http://schemas.xmlsoap.org/wsdl/soap12/"} {
		for _, op := range []string{"login", "logout"} {
			if !bindings[ns+" "+op+" urn:"+op] {
				t.Errorf("no %s binding of %s with soapAction urn:%s (have %v)", ns, op, op, bindings)
			}
		}
	}

	// The schema, standalone, against the wrappers on the wire.
	types := defs.SelectElement("types")
	if types == nil || len(types.SelectElements("schema")) != 1 {
		t.Fatal("want one xs:schema in wsdl:types")
	}
	schema := etree.NewDocument()
	root := types.SelectElement("schema").Copy()
	root.CreateAttr("xmlns:xs", "http://www.w3.org/2001/XMLSchema")
	schema.SetRoot(root)
	schemaBytes, err := schema.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	resp, loginResp := legacyPost(t, st, "/services/AuthenticationAdmin", false, "urn:login", loginBody("alice", "alice-secret"), "", "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login: %d %s", resp.StatusCode, loginResp)
	}
	env := etree.NewDocument()
	if err := env.ReadFromString(loginResp); err != nil {
		t.Fatal(err)
	}
	bodyEl := env.Root().SelectElement("Body")
	if bodyEl == nil || len(bodyEl.ChildElements()) != 1 {
		t.Fatalf("login response: %s", loginResp)
	}
	out := etree.NewDocument()
	out.SetRoot(bodyEl.ChildElements()[0].Copy())
	responseBytes, err := out.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		instance string
		valid    bool
	}{
		{name: "login request", instance: loginBody("alice", "alice-secret"), valid: true},
		{name: "logout request", instance: logoutBody, valid: true},
		{name: "login response", instance: string(responseBytes), valid: true},
		{name: "login fields out of order", valid: false,
			instance: `<ns1:login xmlns:ns1="http://authentication.services.core.carbon.wso2.org"><ns1:password>x</ns1:password><ns1:username>u</ns1:username></ns1:login>`},
		{name: "login in the axis2 namespace", valid: false,
			instance: `<ns1:login xmlns:ns1="http://org.apache.axis2/xsd"><ns1:username>u</ns1:username></ns1:login>`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			report, valid := xmllintSchema(t, schemaBytes, []byte(tc.instance))
			if valid != tc.valid {
				t.Errorf("valid = %v, want %v; xmllint:\n%s\ninstance:\n%s", valid, tc.valid, report, tc.instance)
			}
		})
	}
}

// xmllintSchema validates instance against schema with xmllint (skipping
// without it, except under CI=true). A schema that does not compile fails
// the test (xmllint exit 5).
func xmllintSchema(t *testing.T, schema, instance []byte) (report string, valid bool) {
	t.Helper()
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("xmllint is not on PATH (%v); install libxml2-utils", err)
		}
		t.Skipf("xmllint is not on PATH (%v); install libxml2-utils", err)
	}
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
		t.Fatalf("xmllint: %v (exit 5 means the schema does not compile)\n%s\nschema:\n%s", err, out, schema)
		return "", false
	}
}
