package soap

import (
	"bytes"
	"context"
	"encoding/xml"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"tokenadmin"
	"tokenadmin/internal/xsdcheck"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var _ TokenAdminService = (*tokenadmin.Service)(nil)

// testNow is the fake clock of every test.
var testNow = time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)

const (
	ct11 = "text/xml; charset=utf-8"
	ct12 = "application/soap+xml; charset=utf-8"

	adminUser, adminPassword = "admin", "s3cret"
	aliceUser, alicePassword = "alice", "wonderland"
)

// fakeAuth knows two users; "broken" makes it fail internally.
type fakeAuth struct{}

func (fakeAuth) Authenticate(_ context.Context, user, password string) (tokenadmin.Caller, error) {
	switch {
	case user == adminUser && password == adminPassword:
		return tokenadmin.Caller{Name: adminUser, Role: tokenadmin.RoleAdmin}, nil
	case user == aliceUser && password == alicePassword:
		return tokenadmin.Caller{Name: aliceUser, Role: tokenadmin.RoleUser}, nil
	case user == "broken":
		return tokenadmin.Caller{}, errorsNew("auth: database is locked (SELECT * FROM users)")
	}
	return tokenadmin.Caller{}, tokenadmin.Errorf(tokenadmin.CodeUnauthenticated, "invalid credentials")
}

type stringError string

func (e stringError) Error() string { return string(e) }

func errorsNew(s string) error { return stringError(s) }

// fakeService records what it was asked and answers what it was told.
type fakeService struct {
	mu     sync.Mutex
	calls  []string
	caller tokenadmin.Caller
	filter tokenadmin.TokenFilter
	revoke tokenadmin.RevokeRequest
	bulk   tokenadmin.BulkRevoke
	user   string
	id     string

	page   *tokenadmin.TokenPage
	result *tokenadmin.RevokeResult
	count  int
	apps   []*tokenadmin.AuthorizedApp
	token  *tokenadmin.Token
	err    error
	panic  any
}

func (f *fakeService) called(name string, c tokenadmin.Caller) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, name)
	f.caller = c
	if f.panic != nil {
		panic(f.panic)
	}
	return f.err
}

func (f *fakeService) ListActiveTokens(_ context.Context, c tokenadmin.Caller, filter tokenadmin.TokenFilter) (*tokenadmin.TokenPage, error) {
	f.filter = filter
	if err := f.called("ListActiveTokens", c); err != nil {
		return nil, err
	}
	if f.page == nil {
		return &tokenadmin.TokenPage{}, nil
	}
	return f.page, nil
}

func (f *fakeService) RevokeToken(_ context.Context, c tokenadmin.Caller, r tokenadmin.RevokeRequest) (*tokenadmin.RevokeResult, error) {
	f.revoke = r
	if err := f.called("RevokeToken", c); err != nil {
		return nil, err
	}
	if f.result == nil {
		return &tokenadmin.RevokeResult{TokenID: r.TokenID}, nil
	}
	return f.result, nil
}

func (f *fakeService) RevokeTokens(_ context.Context, c tokenadmin.Caller, r tokenadmin.BulkRevoke) (int, error) {
	f.bulk = r
	if err := f.called("RevokeTokens", c); err != nil {
		return 0, err
	}
	return f.count, nil
}

func (f *fakeService) ListAuthorizedApps(_ context.Context, c tokenadmin.Caller, user string) ([]*tokenadmin.AuthorizedApp, error) {
	f.user = user
	if err := f.called("ListAuthorizedApps", c); err != nil {
		return nil, err
	}
	return f.apps, nil
}

func (f *fakeService) GetToken(_ context.Context, c tokenadmin.Caller, id string) (*tokenadmin.Token, error) {
	f.id = id
	if err := f.called("GetToken", c); err != nil {
		return nil, err
	}
	if f.token == nil {
		return nil, tokenadmin.Errorf(tokenadmin.CodeTokenNotFound, "token not found")
	}
	// Like a store, judge the state by the (test) store clock.
	t := *f.token
	t.State = t.StateAt(testNow)
	return &t, nil
}

// newHandler returns a TokenAdmin endpoint over svc with the fake
// authenticator and clock, logging into log when it is not nil.
func newHandler(svc *fakeService, log *bytes.Buffer) *TokenAdminHandler {
	h := NewTokenAdminHandler(svc, fakeAuth{})
	var w io.Writer = io.Discard
	if log != nil {
		w = log
	}
	h.Logger = newTextLogger(w)
	return h
}

func newTextLogger(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }

// soapEnvelope wraps a body (and a header, unless empty) in an Envelope of v.
func soapEnvelope(v Version, header, body string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>`)
	if v == SOAP12 {
		b.WriteString(`<env:Envelope xmlns:env="` + ns12 + `" xmlns:t="urn:tokenadmin:v1">`)
		if header != "" {
			b.WriteString(`<env:Header>` + header + `</env:Header>`)
		}
		b.WriteString(`<env:Body>` + body + `</env:Body></env:Envelope>`)
	} else {
		b.WriteString(`<soap:Envelope xmlns:soap="` + ns11 + `" xmlns:t="urn:tokenadmin:v1">`)
		if header != "" {
			b.WriteString(`<soap:Header>` + header + `</soap:Header>`)
		}
		b.WriteString(`<soap:Body>` + body + `</soap:Body></soap:Envelope>`)
	}
	return b.String()
}

// call describes one HTTP request to an endpoint.
type call struct {
	method      string // POST when empty
	target      string // TokenAdminPath when empty
	version     Version
	contentType string // from version when empty
	action      string // SOAPAction (1.1) or action parameter (1.2); none when empty
	rawAction   *string
	user, pass  string // admin when both empty and !anonymous
	anonymous   bool
	header      http.Header
	body        string
}

func (c call) request() *http.Request {
	method := c.method
	if method == "" {
		method = http.MethodPost
	}
	target := c.target
	if target == "" {
		target = TokenAdminPath
	}
	r := httptest.NewRequest(method, "http://tokenadmin.example"+target, strings.NewReader(c.body))
	ct := c.contentType
	switch {
	case ct != "":
	case c.version == SOAP12 && c.action != "":
		ct = `application/soap+xml; charset=utf-8; action="` + c.action + `"`
	case c.version == SOAP12:
		ct = ct12
	default:
		ct = ct11
	}
	r.Header.Set("Content-Type", ct)
	if c.version != SOAP12 && c.action != "" {
		r.Header.Set("SOAPAction", `"`+c.action+`"`)
	}
	if c.rawAction != nil {
		r.Header.Set("SOAPAction", *c.rawAction)
	}
	if !c.anonymous {
		user, pass := c.user, c.pass
		if user == "" && pass == "" {
			user, pass = adminUser, adminPassword
		}
		r.SetBasicAuth(user, pass)
	}
	for k, vs := range c.header {
		r.Header[k] = vs
	}
	return r
}

// response is a response as the tests look at it.
type response struct {
	status      int
	contentType string
	header      http.Header
	body        []byte

	// Fault fields, empty for a normal response.
	faultCode     string // faultcode (1.1) or Code/Value (1.2)
	faultString   string // faultstring (1.1) or Reason/Text (1.2)
	detailCode    string
	detailMessage string
}

// wireFault pulls the fault out of either version of envelope; encoding/xml
// matches these paths by local name.
type wireFault struct {
	Code11    string `xml:"Body>Fault>faultcode"`
	String11  string `xml:"Body>Fault>faultstring"`
	Detail11  string `xml:"Body>Fault>detail>tokenAdminFault>code"`
	DMessage1 string `xml:"Body>Fault>detail>tokenAdminFault>message"`
	Code12    string `xml:"Body>Fault>Code>Value"`
	Reason12  string `xml:"Body>Fault>Reason>Text"`
	Detail12  string `xml:"Body>Fault>Detail>tokenAdminFault>code"`
	DMessage2 string `xml:"Body>Fault>Detail>tokenAdminFault>message"`
}

func serve(t *testing.T, h http.Handler, c call) response {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, c.request())
	res := response{
		status:      rec.Code,
		contentType: rec.Header().Get("Content-Type"),
		header:      rec.Header(),
		body:        rec.Body.Bytes(),
	}
	if strings.Contains(res.contentType, "xml") {
		var f wireFault
		if err := xml.Unmarshal(res.body, &f); err != nil {
			t.Fatalf("response is not XML: %v\n%s", err, res.body)
		}
		res.faultCode = f.Code11 + f.Code12
		res.faultString = f.String11 + f.Reason12
		res.detailCode = f.Detail11 + f.Detail12
		res.detailMessage = f.DMessage1 + f.DMessage2
	}
	return res
}

// validate checks a response envelope against the WSDL's schema. A SOAP
// 1.1 MustUnderstand fault has no detail (SOAP 1.1 §4.4) and nothing the
// schema covers.
func validate(t *testing.T, res response) {
	t.Helper()
	if res.faultCode == "soap:MustUnderstand" {
		return
	}
	xsdcheck.Validate(t, res.body)
}

// checkFault asserts a fault response.
func checkFault(t *testing.T, res response, status int, contentType, faultCode string, code tokenadmin.Code) {
	t.Helper()
	if res.status != status {
		t.Errorf("status = %d, want %d\n%s", res.status, status, res.body)
	}
	if res.contentType != contentType {
		t.Errorf("Content-Type = %q, want %q", res.contentType, contentType)
	}
	if res.faultCode != faultCode {
		t.Errorf("fault code = %q, want %q\n%s", res.faultCode, faultCode, res.body)
	}
	if code != "" && res.detailCode != string(code) {
		t.Errorf("detail code = %q, want %q\n%s", res.detailCode, code, res.body)
	}
	validate(t, res)
}

// golden compares got with testdata/<name>.golden, or rewrites the file
// under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("response differs from %s:\n got: %s\nwant: %s", path, got, want)
	}
}
