package main

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	gowsdlsoap "github.com/hooklift/gowsdl/soap"

	"tokenadmin"
	"tokenadmin/auth"
	"tokenadmin/soap"
	"tokenadmin/store"
	"tokenadmin/wsdl"
)

// Credentials of the accounts the tests create. The admin is bootstrapped
// by the server from $TOKENADMIN_ADMIN_PASSWORD; alice and bob are
// self-service users.
const (
	adminPassword = "admin-test-password"
	alicePassword = "alice-test-password"
	bobPassword   = "bob-test-password"
)

// Password hashes cost ~30 ms each (much more under -race), so the users
// that every fixture needs share one hash per password, made once.
var (
	aliceHash = sync.OnceValue(func() string { return mustHash(alicePassword) })
	bobHash   = sync.OnceValue(func() string { return mustHash(bobPassword) })
)

func mustHash(password string) string {
	h, err := auth.HashPassword(password)
	if err != nil {
		panic(err)
	}
	return h
}

// syncBuffer is a bytes.Buffer that the server's goroutines may write
// while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// result is what one run of the command line did.
type result struct {
	code           int
	stdout, stderr string
}

// runMain runs the command line as a shell would, with stdin as input.
func runMain(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Main(t.Context(), args, strings.NewReader(stdin), &stdout, &stderr)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// mustRun runs the command line and fails the test unless it succeeds.
func mustRun(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	r := runMain(t, stdin, args...)
	if r.code != 0 {
		t.Fatalf("tokenadmin %s: exit %d, stderr:\n%s", strings.Join(args, " "), r.code, r.stderr)
	}
	return r.stdout
}

// newDatabase creates a migrated database, as serve would on first start,
// and returns its path.
func newDatabase(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tokenadmin.db")
	db, err := store.Open(t.Context(), path, store.Options{})
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return path
}

// openTestStore opens a second handle on a database, as an admin command does
// while the server runs; it is closed when the test ends.
func openTestStore(t *testing.T, path string, opts store.Options) *store.DB {
	t.Helper()
	db, err := store.Open(t.Context(), path, opts)
	if err != nil {
		t.Fatalf("store.Open(%s): %v", path, err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("closing the store: %v", err)
		}
	})
	return db
}

func createApp(t *testing.T, db *store.DB, clientID, name string) {
	t.Helper()
	if _, err := db.CreateApp(t.Context(), tokenadmin.App{ClientID: clientID, Name: name, Owner: "admin"}); err != nil {
		t.Fatalf("CreateApp(%s): %v", clientID, err)
	}
}

func createUser(t *testing.T, db *store.DB, name string, role tokenadmin.Role, hash string) {
	t.Helper()
	if err := db.CreateUser(t.Context(), tokenadmin.User{Name: name, Role: role, PasswordHash: hash}); err != nil {
		t.Fatalf("CreateUser(%s): %v", name, err)
	}
}

func issue(t *testing.T, db *store.DB, r tokenadmin.IssueRequest) *tokenadmin.Issued {
	t.Helper()
	iss, err := db.IssueTokens(t.Context(), r)
	if err != nil {
		t.Fatalf("IssueTokens(%+v): %v", r, err)
	}
	return iss
}

// testServer is a server started as serve starts it, on 127.0.0.1:0.
type testServer struct {
	*server
	path           string
	stdout, stderr *syncBuffer
	closed         bool
}

// startTestServer starts the real server on a loopback port. c.Addr and
// c.DB default to 127.0.0.1:0 and a new temporary file. The server is
// closed when the test ends unless the test closed it.
func startTestServer(t *testing.T, c serveConfig) *testServer {
	t.Helper()
	if c.Addr == "" {
		c.Addr = "127.0.0.1:0"
	}
	if c.DB == "" {
		c.DB = filepath.Join(t.TempDir(), "tokenadmin.db")
	}
	ts := &testServer{path: c.DB, stdout: new(syncBuffer), stderr: new(syncBuffer)}
	srv, err := startServer(t.Context(), c, ts.stdout, ts.stderr)
	if err != nil {
		t.Fatalf("startServer: %v\nstderr:\n%s", err, ts.stderr)
	}
	ts.server = srv
	t.Cleanup(func() {
		if !ts.closed {
			ts.close(t)
		}
	})
	return ts
}

// close shuts the server down gracefully and fails the test if that
// fails. The fixture remembers, so that its cleanup does not close again.
func (ts *testServer) close(t *testing.T) {
	t.Helper()
	ts.closed = true
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ts.Close(ctx); err != nil {
		t.Errorf("server Close: %v", err)
	}
}

func (ts *testServer) endpoint() string { return ts.URL() + soap.TokenAdminPath }

// recorder is an http.RoundTripper that keeps the last response's status,
// header and body, so that tests can check the bytes on the wire beneath
// what the generated client decoded.
type recorder struct {
	tr *http.Transport

	mu     sync.Mutex
	status int
	header http.Header
	body   []byte
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.tr.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	r.mu.Lock()
	r.status, r.header, r.body = resp.StatusCode, resp.Header.Clone(), body
	r.mu.Unlock()
	return resp, nil
}

// last returns the last response's status, header and body.
func (r *recorder) last() (int, http.Header, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.status, r.header, string(r.body)
}

// client returns the gowsdl-generated client, speaking SOAP 1.1 with HTTP
// Basic credentials, and the recorder beneath it.
func (ts *testServer) client(t *testing.T, user, password string) (wsdl.TokenAdmin, *recorder) {
	t.Helper()
	rec := &recorder{tr: &http.Transport{}}
	t.Cleanup(rec.tr.CloseIdleConnections)
	c := gowsdlsoap.NewClient(ts.endpoint(),
		gowsdlsoap.WithBasicAuth(user, password),
		gowsdlsoap.WithHTTPClient(&http.Client{Transport: rec, Timeout: 30 * time.Second}))
	return wsdl.NewTokenAdmin(c), rec
}

// faultDetail is the detail type of TokenAdmin faults for gowsdl's fault
// decoder (gowsdlsoap.FaultError): the content of SOAP 1.1 <detail>.
type faultDetail struct {
	Fault wsdl.TokenAdminFault // element {urn:tokenadmin:v1}tokenAdminFault
}

func (d *faultDetail) ErrorString() string { return d.Fault.Code + ": " + d.Fault.Message }
func (d *faultDetail) HasData() bool       { return d.Fault.Code != "" }

// soapFault is a SOAP 1.1 fault as a gowsdl client receives it.
type soapFault struct {
	status int    // HTTP status
	code   string // faultcode
	string string // faultstring
	detail wsdl.TokenAdminFault
}

// faultOf decodes the fault behind an error of the generated client.
//
// gowsdl v0.5.0 never decodes a fault sent with an HTTP status of 400 or
// more: it returns *gowsdlsoap.HTTPError with the raw body instead. WS-I
// BP 1.1 R1126 requires SOAP 1.1 faults to be 500, so every fault reaches
// gowsdl clients that way. faultOf decodes that body with gowsdl's own
// envelope and fault types and our detail type, as gowsdl would if it
// looked.
func faultOf(t *testing.T, err error) soapFault {
	t.Helper()
	var he *gowsdlsoap.HTTPError
	if !errors.As(err, &he) {
		t.Fatalf("got error %v (%T), want a SOAP fault in a *soap.HTTPError", err, err)
	}
	var d faultDetail
	env := gowsdlsoap.SOAPEnvelopeResponse{Body: gowsdlsoap.SOAPBodyResponse{
		Content: &struct{}{},
		Fault:   &gowsdlsoap.SOAPFault{Detail: &d},
	}}
	if err := xml.Unmarshal(he.ResponseBody, &env); err != nil {
		t.Fatalf("HTTP %d body is not a SOAP 1.1 envelope: %v\n%s", he.StatusCode, err, he.ResponseBody)
	}
	var f *gowsdlsoap.SOAPFault
	if !errors.As(env.Body.ErrorFromFault(), &f) {
		t.Fatalf("HTTP %d body holds no soap:Fault:\n%s", he.StatusCode, he.ResponseBody)
	}
	return soapFault{status: he.StatusCode, code: f.Code, string: f.String, detail: d.Fault}
}

// wantFault checks that err is a SOAP 1.1 fault with the given detail
// code: HTTP 500 (R1126), faultcode soap:Client, and the detail's message
// as faultstring.
func wantFault(t *testing.T, err error, code tokenadmin.Code) soapFault {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want a %s fault", code)
	}
	f := faultOf(t, err)
	if f.detail.Code != string(code) {
		t.Fatalf("fault detail code = %q (%s), want %q", f.detail.Code, f.detail.Message, code)
	}
	if f.status != http.StatusInternalServerError {
		t.Errorf("%s fault: HTTP status %d, want 500 (WS-I BP 1.1 R1126)", code, f.status)
	}
	if f.code != "soap:Client" {
		t.Errorf("%s fault: faultcode %q, want soap:Client", code, f.code)
	}
	if f.string != f.detail.Message || f.string == "" {
		t.Errorf("%s fault: faultstring %q, detail message %q: want the same, non-empty", code, f.string, f.detail.Message)
	}
	return f
}

func ptr[T any](v T) *T { return &v }
