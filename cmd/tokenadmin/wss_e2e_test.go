package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	gowsdlsoap "github.com/hooklift/gowsdl/soap"

	"tokenadmin/soap"
	"tokenadmin/store"
	"tokenadmin/wsdl"
)

// WS-Security UsernameToken against the real server: the gowsdl client's
// own Security header (PasswordText only: gowsdl v0.5.0 sends no Nonce or
// Created, so it cannot digest), hand-built PasswordDigest requests, the
// digest credential set and cleared through the real CLI while the server
// runs, and the legacy services (profile is-5.3, the default).

// wssClient is the gowsdl-generated client authenticating with gowsdl's
// WS-Security header instead of HTTP Basic.
func (ts *testServer) wssClient(t *testing.T, user, password string) (wsdl.TokenAdmin, *recorder) {
	t.Helper()
	rec := &recorder{tr: &http.Transport{}}
	t.Cleanup(rec.tr.CloseIdleConnections)
	c := gowsdlsoap.NewClient(ts.endpoint(), gowsdlsoap.WithHTTPClient(&http.Client{Transport: rec, Timeout: 30 * time.Second}))
	c.AddHeader(gowsdlsoap.NewWSSSecurityHeader(user, password, "UsernameToken-1", "1"))
	return wsdl.NewTokenAdmin(c), rec
}

// digestHeader is a wsse:Security block with a PasswordDigest token made
// now, with a fresh nonce; soapNS is the envelope prefix for mustUnderstand.
func digestHeader(t *testing.T, soapNS, user, password string) string {
	t.Helper()
	nonce := make([]byte, 16)
	rand.Read(nonce)
	created := time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	return `<wsse:Security xmlns:wsse="` + soap.NSWSSE + `" xmlns:wsu="` + soap.NSWSU + `" ` + soapNS + `:mustUnderstand="1">` +
		`<wsse:UsernameToken wsu:Id="UsernameToken-2"><wsse:Username>` + user + `</wsse:Username>` +
		`<wsse:Password Type="` + soap.PasswordDigestType + `">` + soap.PasswordDigest(nonce, created, password) + `</wsse:Password>` +
		`<wsse:Nonce EncodingType="` + soap.Base64BinaryType + `">` + base64.StdEncoding.EncodeToString(nonce) + `</wsse:Nonce>` +
		`<wsu:Created>` + created + `</wsu:Created></wsse:UsernameToken></wsse:Security>`
}

// post sends body to url with the media type of SOAP 1.1 (action as
// SOAPAction) or 1.2, without HTTP credentials.
func post(t *testing.T, url string, v12 bool, action, body string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if v12 {
		req.Header.Set("Content-Type", `application/soap+xml; charset=utf-8; action="`+action+`"`)
	} else {
		req.Header.Set("Content-Type", "text/xml; charset=utf-8")
		req.Header.Set("SOAPAction", `"`+action+`"`)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

// wsseCode is the WS-Security code of a fault body: the SOAP 1.1
// faultcode, or the SOAP 1.2 Subcode value.
func wsseCode(t *testing.T, body string) string {
	t.Helper()
	var f struct {
		Code11 string `xml:"Body>Fault>faultcode"`
		Sub12  string `xml:"Body>Fault>Code>Subcode>Value"`
	}
	if err := xml.Unmarshal([]byte(body), &f); err != nil {
		t.Fatalf("not XML: %v\n%s", err, body)
	}
	return f.Code11 + f.Sub12
}

const listAliceTokens11 = `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:t="urn:tokenadmin:v1"><soap:Header>%s</soap:Header>` +
	`<soap:Body><t:listActiveTokens><t:pageSize>100</t:pageSize></t:listActiveTokens></soap:Body></soap:Envelope>`

func TestWSSecurityEndToEnd(t *testing.T) {
	f := newFixture(t)
	url := f.endpoint()
	const action = "urn:tokenadmin:v1:listActiveTokens"

	t.Run("gowsdl PasswordText header authenticates", func(t *testing.T) {
		c, rec := f.wssClient(t, "alice", alicePassword)
		resp, err := c.ListActiveTokensContext(t.Context(), &wsdl.ListActiveTokens{})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := infoIDs(resp.Token), ids(f.alicePortal.Access, f.alicePortal.Refresh, f.aliceMobile.Access); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("alice's tokens = %v, want %v", got, want)
		}
		if _, h, _ := rec.last(); h.Get("Set-Cookie") != "" {
			t.Errorf("a UsernameToken started a session: %s", h.Get("Set-Cookie"))
		}
	})

	t.Run("gowsdl header with a wrong password is wsse:FailedAuthentication", func(t *testing.T) {
		c, _ := f.wssClient(t, "alice", "guess")
		_, err := c.ListActiveTokensContext(t.Context(), &wsdl.ListActiveTokens{})
		fault := faultOf(t, err)
		if fault.status != http.StatusInternalServerError || fault.code != "wsse:FailedAuthentication" || fault.detail.Code != "Unauthenticated" {
			t.Fatalf("fault = %+v", fault)
		}
	})

	t.Run("no credentials at all is still 401", func(t *testing.T) {
		status, h, _ := post(t, url, false, action, strings.Replace(listAliceTokens11, "%s", "", 1))
		if status != http.StatusUnauthorized || h.Get("WWW-Authenticate") == "" {
			t.Fatalf("status %d, WWW-Authenticate %q", status, h.Get("WWW-Authenticate"))
		}
	})

	t.Run("digest without a digest credential is wsse:FailedAuthentication", func(t *testing.T) {
		status, _, body := post(t, url, false, action, strings.Replace(listAliceTokens11, "%s", digestHeader(t, "soap", "alice", alicePassword), 1))
		if status != http.StatusInternalServerError || wsseCode(t, body) != "wsse:FailedAuthentication" {
			t.Fatalf("status %d:\n%s", status, body)
		}
	})

	// The CLI gives alice a digest credential while the server runs.
	mustRun(t, alicePassword+"\n", "user", "passwd", "alice", "--wss-digest", "--db", f.path)

	var replay string
	t.Run("hand-built digest authenticates", func(t *testing.T) {
		replay = strings.Replace(listAliceTokens11, "%s", digestHeader(t, "soap", "alice", alicePassword), 1)
		status, _, body := post(t, url, false, action, replay)
		if status != http.StatusOK {
			t.Fatalf("status %d:\n%s", status, body)
		}
		for _, id := range ids(f.alicePortal.Access, f.aliceMobile.Access) {
			if !strings.Contains(body, id) {
				t.Errorf("response lacks alice's token %s", id)
			}
		}
		if strings.Contains(body, f.bobPortal.Access.ID) {
			t.Error("alice sees bob's token")
		}
	})

	t.Run("the same digest request again is a replay", func(t *testing.T) {
		status, _, body := post(t, url, false, action, replay)
		if status != http.StatusInternalServerError || wsseCode(t, body) != "wsse:FailedAuthentication" {
			t.Fatalf("status %d:\n%s", status, body)
		}
		if strings.Contains(body, alicePassword) {
			t.Error("fault echoes the password")
		}
	})

	t.Run("SOAP 1.2 digest of a user without credential is env:Sender/wsse:FailedAuthentication", func(t *testing.T) {
		env := `<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" xmlns:t="urn:tokenadmin:v1"><env:Header>` +
			digestHeader(t, "env", "bob", bobPassword) + `</env:Header><env:Body><t:listAuthorizedApps/></env:Body></env:Envelope>`
		status, _, body := post(t, url, true, "urn:tokenadmin:v1:listAuthorizedApps", env)
		if status != http.StatusBadRequest || wsseCode(t, body) != "wsse:FailedAuthentication" || !strings.Contains(body, "<env:Value>env:Sender</env:Value>") {
			t.Fatalf("status %d:\n%s", status, body)
		}
	})

	t.Run("legacy getAppsAuthorizedByUser with a digest", func(t *testing.T) {
		env := `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://org.apache.axis2/xsd"><soapenv:Header>` +
			digestHeader(t, "soapenv", "alice", alicePassword) + `</soapenv:Header><soapenv:Body><xsd:getAppsAuthorizedByUser/></soapenv:Body></soapenv:Envelope>`
		status, h, body := post(t, f.URL()+"/services/OAuthAdminService", false, "urn:getAppsAuthorizedByUser", env)
		if status != http.StatusOK || !strings.Contains(body, ">Portal<") || !strings.Contains(body, ">Mobile App<") {
			t.Fatalf("status %d:\n%s", status, body)
		}
		if h.Get("Set-Cookie") != "" {
			t.Errorf("a UsernameToken started a session: %s", h.Get("Set-Cookie"))
		}
	})

	t.Run("legacy with a wrong text password is Rampart's wsse fault in Axis2 form", func(t *testing.T) {
		env := `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://org.apache.axis2/xsd"><soapenv:Header>` +
			`<wsse:Security xmlns:wsse="` + soap.NSWSSE + `" soapenv:mustUnderstand="1"><wsse:UsernameToken><wsse:Username>alice</wsse:Username>` +
			`<wsse:Password Type="` + soap.PasswordTextType + `">guess</wsse:Password></wsse:UsernameToken></wsse:Security>` +
			`</soapenv:Header><soapenv:Body><xsd:getAppsAuthorizedByUser/></soapenv:Body></soapenv:Envelope>`
		status, _, body := post(t, f.URL()+"/services/OAuthAdminService", false, "urn:getAppsAuthorizedByUser", env)
		want := `<soapenv:Fault xmlns:wsse="` + soap.NSWSSE + `"><faultcode>wsse:FailedAuthentication</faultcode>` +
			`<faultstring>The security token could not be authenticated or authorized</faultstring><detail/></soapenv:Fault>`
		if status != http.StatusInternalServerError || !strings.Contains(body, want) {
			t.Fatalf("status %d:\n%s\nwant it to contain\n%s", status, body, want)
		}
	})

	t.Run("legacy SOAP 1.2 replay is soapenv:Sender with subcode wsse:FailedAuthentication, HTTP 400", func(t *testing.T) {
		env := `<soapenv:Envelope xmlns:soapenv="http://www.w3.org/2003/05/soap-envelope" xmlns:xsd="http://org.apache.axis2/xsd"><soapenv:Header>` +
			digestHeader(t, "soapenv", "alice", alicePassword) + `</soapenv:Header><soapenv:Body><xsd:getAppsAuthorizedByUser/></soapenv:Body></soapenv:Envelope>`
		u := f.URL() + "/services/OAuthAdminService"
		if status, _, body := post(t, u, true, "urn:getAppsAuthorizedByUser", env); status != http.StatusOK {
			t.Fatalf("first use: status %d:\n%s", status, body)
		}
		status, _, body := post(t, u, true, "urn:getAppsAuthorizedByUser", env)
		want := `<soapenv:Code><soapenv:Value>soapenv:Sender</soapenv:Value><soapenv:Subcode><soapenv:Value>wsse:FailedAuthentication</soapenv:Value></soapenv:Subcode></soapenv:Code>`
		if status != http.StatusBadRequest || !strings.Contains(body, want) || !strings.Contains(body, `xmlns:wsse="`+soap.NSWSSE+`"`) {
			t.Fatalf("replay: status %d:\n%s", status, body)
		}
	})

	t.Run("legacy without credentials is still 401", func(t *testing.T) {
		env := `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://org.apache.axis2/xsd"><soapenv:Body><xsd:getAppsAuthorizedByUser/></soapenv:Body></soapenv:Envelope>`
		status, h, _ := post(t, f.URL()+"/services/OAuthAdminService", false, "urn:getAppsAuthorizedByUser", env)
		if status != http.StatusUnauthorized || h.Get("WWW-Authenticate") == "" {
			t.Fatalf("status %d", status)
		}
	})

	// A password change without --wss-digest drops the digest credential:
	// the old password must not keep working through digests.
	mustRun(t, "alice-new-password\n", "user", "passwd", "alice", "--db", f.path)
	t.Run("digest after passwd without --wss-digest fails", func(t *testing.T) {
		status, _, body := post(t, url, false, action, strings.Replace(listAliceTokens11, "%s", digestHeader(t, "soap", "alice", alicePassword), 1))
		if status != http.StatusInternalServerError || wsseCode(t, body) != "wsse:FailedAuthentication" {
			t.Fatalf("status %d:\n%s", status, body)
		}
		status, _, body = post(t, url, false, action, strings.Replace(listAliceTokens11, "%s", digestHeader(t, "soap", "alice", "alice-new-password"), 1))
		if status != http.StatusInternalServerError || wsseCode(t, body) != "wsse:FailedAuthentication" {
			t.Fatalf("new password without --wss-digest: status %d:\n%s", status, body)
		}
	})
}

// TestUserAddWSSDigest: user add --wss-digest stores a credential that
// opens to the password; without the flag there is none.
func TestUserAddWSSDigest(t *testing.T) {
	path := newDatabase(t)
	mustRun(t, "carol-pw\n", "user", "add", "carol", "--role", "user", "--wss-digest", "--db", path)
	mustRun(t, "dave-pw\n", "user", "add", "dave", "--db", path)
	db := openTestStore(t, path, store.Options{})
	c, secret, err := db.DigestSecret(t.Context(), "carol")
	if err != nil || string(secret) != "carol-pw" || c.Name != "carol" {
		t.Fatalf("carol: %+v %q %v", c, secret, err)
	}
	if _, _, err := db.DigestSecret(t.Context(), "dave"); err == nil {
		t.Fatal("dave has a digest credential without --wss-digest")
	}
	// The secret is sealed: neither the database nor its WAL holds it.
	for _, name := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(name)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "carol-pw") {
			t.Errorf("%s holds the digest secret in plaintext", name)
		}
	}
}
