package tokenadmin_test

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"mime"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"

	"tokenadmin"
	"tokenadmin/auth"
	"tokenadmin/internal/xsdcheck"
	"tokenadmin/soap"
	"tokenadmin/store"
)

var update = flag.Bool("update", false, "rewrite golden files")

// envelopesDir holds the recorded requests (NAME.http, inputs, never
// rewritten) and our responses to them (NAME.golden, rewritten by -update).
// testdata/envelopes/README.md describes the format and the seeded data.
const envelopesDir = "testdata/envelopes"

// replayNow is the store's clock while the recorded requests are served.
// Seeding happens before it (see replayGrants), so issuedAt, expiresAt and
// revokedAt on the wire are fixed.
var replayNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// replaySeed seeds the ChaCha8 stream the store draws its key, token
// values and token IDs from, so those are the same on every run.
var replaySeed = [32]byte([]byte("tokenadmin replay envelopes seed"))

// replayUsers are the accounts of the seeded database. Their passwords are
// in the Authorization headers of the recorded requests.
var replayUsers = []struct {
	name, password string
	role           tokenadmin.Role
}{
	{name: "admin", password: "admin-secret", role: tokenadmin.RoleAdmin},
	{name: "alice", password: "alice-secret", role: tokenadmin.RoleUser},
	{name: "bob", password: "bob-secret", role: tokenadmin.RoleUser},
}

var replayApps = []tokenadmin.App{
	{ClientID: "portal", Name: "Customer Portal"},
	{ClientID: "mobile", Name: "Mobile App"},
	{ClientID: "reports", Name: "Reports Dashboard"},
}

// replayGrants are issued in this order, each at replayNow+at. A grant
// called NAME yields the tokens NAME-access and, with a refresh TTL,
// NAME-refresh: the names of the {{token:…}} and {{id:…}} placeholders.
var replayGrants = []struct {
	name        string
	at          time.Duration
	clientID    string
	user        string
	grantType   string
	scopes      []string
	access, ref time.Duration
}{
	{name: "alice-portal", at: -50 * time.Minute, clientID: "portal", user: "alice", grantType: "authorization_code",
		scopes: []string{"openid", "profile", "email"}, access: time.Hour, ref: 30 * 24 * time.Hour},
	{name: "alice-mobile", at: -40 * time.Minute, clientID: "mobile", user: "alice", grantType: "authorization_code",
		scopes: []string{"openid", "offline_access"}, access: time.Hour, ref: 30 * 24 * time.Hour},
	{name: "bob-portal", at: -30 * time.Minute, clientID: "portal", user: "bob", grantType: "authorization_code",
		scopes: []string{"openid", "profile", "email"}, access: time.Hour, ref: 30 * 24 * time.Hour},
	{name: "bob-reports", at: -25 * time.Minute, clientID: "reports", user: "bob", grantType: "password",
		scopes: []string{"reports:read"}, access: time.Hour},
	// Expired at replayNow-10m.
	{name: "alice-reports", at: -20 * time.Minute, clientID: "reports", user: "alice", grantType: "password",
		scopes: []string{"reports:read"}, access: 10 * time.Minute},
	// Revoked at replayNow-5m (replayRevocation).
	{name: "bob-mobile", at: -15 * time.Minute, clientID: "mobile", user: "bob", grantType: "authorization_code",
		scopes: []string{"openid", "offline_access"}, access: time.Hour, ref: 30 * 24 * time.Hour},
	{name: "reports-service", at: -12 * time.Minute, clientID: "reports", grantType: "client_credentials",
		scopes: []string{"reports:read", "reports:write"}, access: time.Hour},
}

// replayRevocation is done by admin at replayNow-5m; revoking the refresh
// token revokes bob-mobile-access with it.
const (
	replayRevokedToken  = "bob-mobile-refresh"
	replayRevokedReason = "device reported lost"
	replayRevokedAt     = -5 * time.Minute
)

// clock is the settable clock the store, the handler and the
// authenticator read.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// lockedReader makes a deterministic stream safe to share between the
// store's goroutines; the order of draws is fixed by seeding sequentially.
type lockedReader struct {
	mu sync.Mutex
	r  io.Reader
}

func (l *lockedReader) Read(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Read(p)
}

// passwordHashes hashes replayUsers' passwords once per test binary:
// argon2id costs tens of milliseconds a hash, and every case seeds a fresh
// database.
var passwordHashes = sync.OnceValues(func() (map[string]string, error) {
	hashes := make(map[string]string, len(replayUsers))
	for _, u := range replayUsers {
		h, err := auth.HashPassword(u.password)
		if err != nil {
			return nil, err
		}
		hashes[u.name] = h
	}
	return hashes, nil
})

// issuedToken is one seeded token: its public ID and its value.
type issuedToken struct{ id, value string }

// replayStack is the real service on a fresh, seeded database.
type replayStack struct {
	handler *soap.TokenAdminHandler
	tokens  map[string]issuedToken
	log     *syncBuffer
}

// newReplayStack opens a temp-file database with a fixed clock and a
// deterministic Rand, seeds it, and returns the SOAP handler over it with
// the clock at replayNow.
func newReplayStack(t testing.TB) *replayStack {
	t.Helper()
	ctx := context.Background()
	hashes, err := passwordHashes()
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: replayNow.Add(-2 * time.Hour)}
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "tokenadmin.db"), store.Options{
		Now:  clk.Now,
		Rand: &lockedReader{r: rand.NewChaCha8(replaySeed)},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})

	for _, u := range replayUsers {
		if err := db.CreateUser(ctx, tokenadmin.User{Name: u.name, Role: u.role, PasswordHash: hashes[u.name]}); err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range replayApps {
		if _, err := db.CreateApp(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	tokens := make(map[string]issuedToken)
	for _, g := range replayGrants {
		clk.Set(replayNow.Add(g.at))
		iss, err := db.IssueTokens(ctx, tokenadmin.IssueRequest{
			ClientID: g.clientID, User: g.user, Scopes: g.scopes, GrantType: g.grantType,
			AccessTTL: g.access, RefreshTTL: g.ref,
		})
		if err != nil {
			t.Fatalf("issue %s: %v", g.name, err)
		}
		tokens[g.name+"-access"] = issuedToken{id: iss.Access.ID, value: iss.AccessValue}
		if iss.Refresh != nil {
			tokens[g.name+"-refresh"] = issuedToken{id: iss.Refresh.ID, value: iss.RefreshValue}
		}
	}
	clk.Set(replayNow.Add(replayRevokedAt))
	// The seed revocation is audited, as the server would record it, and a
	// refused attempt follows it: the audit log of listAuditEvents.
	actx := tokenadmin.WithRequestInfo(ctx, &tokenadmin.RequestInfo{ID: "seed-request-1", ClientAddr: "192.0.2.10"})
	res, err := (&tokenadmin.Service{Tokens: db, Audit: db}).RevokeToken(actx, tokenadmin.Caller{Name: "admin", Role: tokenadmin.RoleAdmin}, tokenadmin.RevokeRequest{
		TokenID: tokens[replayRevokedToken].id, Reason: replayRevokedReason, Actor: "admin",
	})
	if err != nil || res.Count != 2 {
		t.Fatalf("seed revocation: %+v, %v; want a cascade of 2", res, err)
	}
	actx = tokenadmin.WithRequestInfo(ctx, &tokenadmin.RequestInfo{ID: "seed-request-2", ClientAddr: "192.0.2.11"})
	if _, err := (&tokenadmin.Service{Tokens: db, Audit: db}).RevokeTokens(actx, tokenadmin.Caller{Name: "alice", Role: tokenadmin.RoleUser},
		tokenadmin.BulkRevoke{User: "bob", Reason: "not mine"}); tokenadmin.ErrorCode(err) != tokenadmin.CodeForbidden {
		t.Fatalf("seed refused revocation: %v, want Forbidden", err)
	}
	clk.Set(replayNow)

	authn := auth.NewAuthenticator(db)
	authn.Now = clk.Now
	h := soap.NewTokenAdminHandler(&tokenadmin.Service{Tokens: db}, authn)
	h.Audit = &tokenadmin.AuditService{Log: db}
	log := new(syncBuffer)
	h.Logger = slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return &replayStack{handler: h, tokens: tokens, log: log}
}

// syncBuffer collects the handler's log of one case.
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

// placeholder is {{token:NAME}} (a token's value) or {{id:NAME}} (its
// public ID), NAME from replayGrants.
var placeholder = regexp.MustCompile(`\{\{(token|id):([a-z0-9-]+)\}\}`)

// substitute replaces the placeholders in a request body.
func (s *replayStack) substitute(body []byte) ([]byte, error) {
	var err error
	out := placeholder.ReplaceAllFunc(body, func(m []byte) []byte {
		sm := placeholder.FindSubmatch(m)
		tok, ok := s.tokens[string(sm[2])]
		if !ok {
			err = fmt.Errorf("unknown token %q in placeholder %s", sm[2], m)
			return m
		}
		if string(sm[1]) == "token" {
			return []byte(tok.value)
		}
		return []byte(tok.id)
	})
	if i := bytes.Index(out, []byte("{{")); err == nil && i >= 0 {
		err = fmt.Errorf("malformed placeholder at %q", out[i:min(len(out), i+40)])
	}
	return out, err
}

// recordedRequest is a NAME.http file: a raw HTTP/1.1 request.
type recordedRequest struct {
	req     *http.Request
	body    []byte // de-chunked, placeholders not yet replaced
	chunked bool
}

// readRecordedRequest parses a NAME.http file with http.ReadRequest and
// checks that its framing is exact: the body ends where Content-Length or
// the last chunk says, with nothing after it.
func readRecordedRequest(path string) (*recordedRequest, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	br := bufio.NewReader(bytes.NewReader(raw))
	req, err := http.ReadRequest(br)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, fmt.Errorf("%s: reading the body: %w (is Content-Length right?)", path, err)
	}
	if rest, _ := io.ReadAll(br); len(rest) > 0 {
		if req.ContentLength >= 0 {
			return nil, fmt.Errorf("%s: Content-Length is %d, but the body after the blank line has %d bytes",
				path, req.ContentLength, len(body)+len(rest))
		}
		return nil, fmt.Errorf("%s: %d bytes after the last chunk", path, len(rest))
	}
	return &recordedRequest{req: req, body: body, chunked: slices.Equal(req.TransferEncoding, []string{"chunked"})}, nil
}

// goldenHeaders are the response headers that matter and are stable. The
// Date header is volatile and left out; Content-Length follows the body.
var goldenHeaders = []string{"Content-Type", "WWW-Authenticate", "Allow", "X-Request-Id"}

// volatileHeaders are normalised in goldens: the request id the handler
// makes up for an internal error embeds the process start time.
var volatileHeaders = map[string]string{"X-Request-Id": "NORMALISED-REQUEST-ID"}

// formatResponse renders a response as a golden: the status line, the
// goldenHeaders in that order, a blank line, and the body exactly.
func formatResponse(resp *http.Response, body []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s\n", resp.Proto, resp.Status)
	for _, k := range goldenHeaders {
		for _, v := range resp.Header.Values(k) {
			if n, ok := volatileHeaders[k]; ok {
				v = n
			}
			fmt.Fprintf(&b, "%s: %s\n", k, v)
		}
	}
	b.WriteString("\n")
	b.Write(body)
	return b.Bytes()
}

// envelopeCases returns the case names: the NAME of every NAME.http, sorted.
func envelopeCases(t testing.TB) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(envelopesDir, "*.http"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatalf("no recorded requests in %s", envelopesDir)
	}
	names := make([]string, len(paths))
	for i, p := range paths {
		names[i] = strings.TrimSuffix(filepath.Base(p), ".http")
	}
	slices.Sort(names)
	return names
}

// TestReplayEnvelopes sends every recorded request over real HTTP to the
// real stack (SOAP handler, Service, authenticator, SQLite store), each on
// a freshly seeded database so that cases are independent, and compares
// the response with its golden byte for byte. Nothing is normalised but
// volatileHeaders; the Date header is not part of a golden.
func TestReplayEnvelopes(t *testing.T) {
	if _, err := passwordHashes(); err != nil {
		t.Fatal(err)
	}
	for _, name := range envelopeCases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			replayCase(t, name)
		})
	}
}

func replayCase(t *testing.T, name string) {
	rec, err := readRecordedRequest(filepath.Join(envelopesDir, name+".http"))
	if err != nil {
		t.Fatal(err)
	}
	st := newReplayStack(t)
	body, err := st.substitute(rec.body)
	if err != nil {
		t.Fatalf("%s.http: %v", name, err)
	}

	// Record how the request arrived, to be sure a chunked recording is
	// replayed chunked.
	var (
		mu          sync.Mutex
		gotChunked  bool
		gotRequests int
	)
	mux := http.NewServeMux()
	mux.Handle(soap.TokenAdminPath, st.handler)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		gotChunked = slices.Equal(r.TransferEncoding, []string{"chunked"})
		gotRequests++
		mu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)

	out, err := http.NewRequestWithContext(t.Context(), rec.req.Method, srv.URL+rec.req.RequestURI, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	out.Header = rec.req.Header.Clone()
	out.Header.Del("Content-Length")
	out.Host = rec.req.Host
	out.ContentLength = int64(len(body))
	if rec.chunked {
		out.ContentLength = -1 // unknown: the client chunks it
		out.TransferEncoding = []string{"chunked"}
	}
	resp, err := srv.Client().Do(out)
	if err != nil {
		t.Fatal(err)
	}
	respBody, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if gotRequests != 1 || gotChunked != rec.chunked {
		t.Errorf("server saw %d requests, chunked=%v; the recording is chunked=%v", gotRequests, gotChunked, rec.chunked)
	}
	mu.Unlock()
	defer func() {
		if log := st.log.String(); t.Failed() && log != "" {
			t.Logf("handler log:\n%s", log)
		}
	}()
	if strings.Contains(st.log.String(), "level=ERROR") {
		t.Errorf("the handler logged an internal error")
	}

	got := formatResponse(resp, respBody)
	goldenPath := filepath.Join(envelopesDir, name+".golden")
	if *update {
		if err := os.WriteFile(goldenPath, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(goldenPath)
	if err != nil {
		t.Fatalf("%v (run go test -run TestReplayEnvelopes -update to create it, then review it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("response differs from %s (-want +got, body broken after each tag for display):\n%s%s",
			goldenPath, lineDiff(displayLines(want), displayLines(got)), firstDifference(want, got))
	}

	checkSOAPResponse(t, resp, respBody)
	if !isSOAP11MustUnderstand(respBody) {
		// SOAP 1.1 §4.4: a MustUnderstand fault carries no detail, so there
		// is nothing in it for the schema to check.
		xsdcheck.Validate(t, respBody)
	}
}

// TestReplayEnvelopeFiles checks the test data itself: every request has
// a golden and every golden a request, every operation is recorded in
// both SOAP versions, and at least one request of each version is chunked.
func TestReplayEnvelopeFiles(t *testing.T) {
	t.Run("paired", func(t *testing.T) {
		entries, err := os.ReadDir(envelopesDir)
		if err != nil {
			t.Fatal(err)
		}
		have := map[string]bool{}
		for _, e := range entries {
			have[e.Name()] = true
		}
		for _, n := range slices.Sorted(maps.Keys(have)) {
			base, ext := strings.TrimSuffix(n, filepath.Ext(n)), filepath.Ext(n)
			switch ext {
			case ".http":
				if !have[base+".golden"] {
					t.Errorf("%s has no %s.golden (run go test -run TestReplayEnvelopes -update, then review it)", n, base)
				}
			case ".golden":
				if !have[base+".http"] {
					t.Errorf("%s has no %s.http: delete the stale golden", n, base)
				}
			}
		}
	})
	t.Run("every operation in both versions", func(t *testing.T) {
		names := envelopeCases(t)
		for _, op := range []string{"listActiveTokens", "revokeToken", "revokeTokens", "listAuthorizedApps", "getToken"} {
			for _, v := range []string{"soap11", "soap12"} {
				prefix := op + "-" + v + "-"
				if !slices.ContainsFunc(names, func(n string) bool { return strings.HasPrefix(n, prefix) }) {
					t.Errorf("no recorded %s request %s*.http", v, prefix)
				}
			}
		}
	})
	t.Run("chunked", func(t *testing.T) {
		chunked := map[string]bool{}
		for _, name := range envelopeCases(t) {
			rec, err := readRecordedRequest(filepath.Join(envelopesDir, name+".http"))
			if err != nil {
				t.Fatal(err)
			}
			if rec.chunked {
				mt, _, _ := mime.ParseMediaType(rec.req.Header.Get("Content-Type"))
				chunked[mt] = true
			}
		}
		for _, mt := range []string{"text/xml", "application/soap+xml"} {
			if !chunked[mt] {
				t.Errorf("no chunked %s request", mt)
			}
		}
	})
}

// SOAP namespaces.
const (
	nsSOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
	nsSOAP12 = "http://www.w3.org/2003/05/soap-envelope"
	nsTA     = "urn:tokenadmin:v1"
)

// faultClasses maps a tokenAdminFault code to the local name of the
// faultcode (SOAP 1.1) and Code/Value (SOAP 1.2) it must travel under.
var faultClasses = map[string][2]string{
	"InvalidRequest":   {"Client", "Sender"},
	"InvalidPageToken": {"Client", "Sender"},
	"TokenNotFound":    {"Client", "Sender"},
	"NotFound":         {"Client", "Sender"},
	"Conflict":         {"Client", "Sender"},
	"Unauthenticated":  {"Client", "Sender"},
	"Forbidden":        {"Client", "Sender"},
	"UnknownOperation": {"Client", "Sender"},
	"ActionMismatch":   {"Client", "Sender"},
	"VersionMismatch":  {"VersionMismatch", "VersionMismatch"},
	"MustUnderstand":   {"MustUnderstand", "MustUnderstand"},
	"InternalError":    {"Server", "Receiver"},
}

// transportRefusal are the statuses of Client/Sender faults that HTTP,
// not SOAP, dictates: wrong method, body too large, unknown media type.
var transportRefusal = map[int]bool{
	http.StatusMethodNotAllowed:      true,
	http.StatusRequestEntityTooLarge: true,
	http.StatusUnsupportedMediaType:  true,
}

// checkSOAPResponse checks what the specs say about a response
// independently of the golden, so that -update cannot bless a response
// that breaks them: the media type matches the envelope's version; a
// SOAP 1.1 fault is HTTP 500 (WS-I BP 1.1 R1126); a SOAP 1.2 Sender fault
// 400 and any other fault 500 (SOAP 1.2 part 2 §7.5.2.2); an
// authentication failure 401 with a Basic challenge (RFC 7617), other
// refusals at the HTTP level their own status (transportRefusal); the
// faultcode is a QName in the envelope namespace, with the class the
// detail's code implies; the detail repeats the fault's text; and a
// response that is not a fault is 200.
func checkSOAPResponse(t *testing.T, resp *http.Response, body []byte) {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(body); err != nil {
		t.Fatalf("response is not XML: %v", err)
	}
	env := doc.Root()
	if env == nil || env.Tag != "Envelope" {
		t.Fatalf("response root is not an Envelope")
	}
	ns := env.NamespaceURI()
	mt, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil || !strings.EqualFold(params["charset"], "utf-8") {
		t.Errorf("Content-Type %q: want a UTF-8 charset (%v)", resp.Header.Get("Content-Type"), err)
	}
	switch {
	case ns == nsSOAP11 && mt == "text/xml", ns == nsSOAP12 && mt == "application/soap+xml":
	default:
		t.Errorf("envelope namespace %s sent as %s", ns, mt)
	}
	bodyEl := child(env, ns, "Body")
	if bodyEl == nil || len(bodyEl.ChildElements()) != 1 {
		t.Fatalf("response Body does not hold exactly one element")
	}
	fault := bodyEl.ChildElements()[0]
	challenge := resp.Header.Get("WWW-Authenticate")
	if fault.Tag != "Fault" || fault.NamespaceURI() != ns {
		if resp.StatusCode != http.StatusOK || challenge != "" {
			t.Errorf("a response that is no fault has status %d, WWW-Authenticate %q", resp.StatusCode, challenge)
		}
		return
	}

	var codeQName, text string
	var detail *etree.Element
	if ns == nsSOAP11 {
		codeQName = textOf(child(fault, "", "faultcode"))
		text = textOf(child(fault, "", "faultstring"))
		detail = child(fault, "", "detail")
	} else {
		codeQName = textOf(child(child(fault, ns, "Code"), ns, "Value"))
		reason := child(child(fault, ns, "Reason"), ns, "Text")
		text = textOf(reason)
		if reason == nil || reason.SelectAttrValue("xml:lang", "") == "" {
			t.Errorf("env:Reason/env:Text without xml:lang (SOAP 1.2 part 1 §5.4.2)")
		}
		detail = child(fault, ns, "Detail")
	}
	prefix, local, ok := strings.Cut(codeQName, ":")
	if !ok || resolvePrefix(fault, prefix) != ns {
		t.Errorf("fault code %q is not a QName in the envelope namespace %s", codeQName, ns)
	}
	if text == "" {
		t.Errorf("fault without a text")
	}

	var code string
	switch {
	case ns == nsSOAP11 && local == "MustUnderstand":
		if detail != nil {
			t.Errorf("SOAP 1.1 MustUnderstand fault with a detail (SOAP 1.1 §4.4 forbids it)")
		}
		code = "MustUnderstand"
	case detail == nil:
		t.Errorf("fault without a detail")
	default:
		taf := child(detail, nsTA, "tokenAdminFault")
		code = textOf(child(taf, nsTA, "code"))
		if msg := textOf(child(taf, nsTA, "message")); msg != text {
			t.Errorf("detail message %q differs from the fault text %q", msg, text)
		}
	}
	if class, ok := faultClasses[code]; !ok {
		t.Errorf("unknown detail code %q", code)
	} else if want := class[map[string]int{nsSOAP11: 0, nsSOAP12: 1}[ns]]; local != want {
		t.Errorf("detail code %s travels under fault code %s, want %s", code, local, want)
	}

	wantStatus := http.StatusInternalServerError
	if ns == nsSOAP12 && local == "Sender" {
		wantStatus = http.StatusBadRequest
	}
	if code == "Unauthenticated" {
		wantStatus = http.StatusUnauthorized
		if !strings.HasPrefix(challenge, `Basic realm="`) {
			t.Errorf("401 with WWW-Authenticate %q, want a Basic challenge", challenge)
		}
	} else if challenge != "" {
		t.Errorf("WWW-Authenticate %q on a %s fault", challenge, code)
	}
	if transportRefusal[resp.StatusCode] && local == faultClasses["InvalidRequest"][map[string]int{nsSOAP11: 0, nsSOAP12: 1}[ns]] {
		wantStatus = resp.StatusCode // refused at the HTTP level, with its own status
	}
	if resp.StatusCode != wantStatus {
		t.Errorf("%s fault %s (%s) has status %d, want %d", ns, local, code, resp.StatusCode, wantStatus)
	}
}

// child returns e's first child element {space}local; "" space means no
// namespace. A nil e has no children.
func child(e *etree.Element, space, local string) *etree.Element {
	if e == nil {
		return nil
	}
	for _, c := range e.ChildElements() {
		if c.Tag == local && c.NamespaceURI() == space {
			return c
		}
	}
	return nil
}

func textOf(e *etree.Element) string {
	if e == nil {
		return ""
	}
	return e.Text()
}

// resolvePrefix returns the namespace bound to prefix where e stands.
func resolvePrefix(e *etree.Element, prefix string) string {
	for ; e != nil; e = e.Parent() {
		for _, a := range e.Attr {
			if a.Space == "xmlns" && a.Key == prefix {
				return a.Value
			}
		}
	}
	return ""
}

// isSOAP11MustUnderstand reports a SOAP 1.1 MustUnderstand fault, whose
// response carries no detail for xsdcheck to validate.
func isSOAP11MustUnderstand(body []byte) bool {
	doc := etree.NewDocument()
	if doc.ReadFromBytes(body) != nil || doc.Root() == nil || doc.Root().NamespaceURI() != nsSOAP11 {
		return false
	}
	fault := child(child(doc.Root(), nsSOAP11, "Body"), nsSOAP11, "Fault")
	code := textOf(child(fault, "", "faultcode"))
	_, local, _ := strings.Cut(code, ":")
	return local == "MustUnderstand"
}

// displayLines splits a golden into lines for a diff: the head as it is,
// the body broken after every tag. It is for display only; comparison is
// byte for byte.
func displayLines(b []byte) []string {
	head, body, _ := bytes.Cut(b, []byte("\n\n"))
	lines := strings.Split(string(head), "\n")
	lines = append(lines, "")
	return append(lines, strings.Split(strings.ReplaceAll(string(body), "><", ">\n<"), "\n")...)
}

// firstDifference shows, quoted, where two goldens first differ, for the
// differences displayLines hides (line ends, a trailing newline).
func firstDifference(want, got []byte) string {
	i := 0
	for i < len(want) && i < len(got) && want[i] == got[i] {
		i++
	}
	from := max(0, i-20)
	return fmt.Sprintf("first difference at byte %d: want %q, got %q", i, want[from:min(len(want), i+20)], got[from:min(len(got), i+20)])
}

// lineDiff is a minimal longest-common-subsequence line diff.
func lineDiff(want, got []string) string {
	n, m := len(want), len(got)
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if want[i] == got[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var b strings.Builder
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && want[i] == got[j]:
			b.WriteString("  " + want[i] + "\n")
			i++
			j++
		case i < n && (j == m || lcs[i+1][j] >= lcs[i][j+1]):
			b.WriteString("- " + want[i] + "\n")
			i++
		default:
			b.WriteString("+ " + got[j] + "\n")
			j++
		}
	}
	return b.String()
}

// FuzzReplayEnvelopes sends mutations of the recorded requests' media
// type, SOAPAction and body, as admin, to the real stack on one seeded
// database, and checks what must hold for any input: the handler neither
// panics nor fails internally (a Server/Receiver fault or an error in the
// log would be a bug, since every input here is the client's doing), and
// every response passes checkSOAPResponse. Schema validation is left to
// TestReplayEnvelopes: an xmllint process per input is too slow to fuzz.
func FuzzReplayEnvelopes(f *testing.F) {
	st := newReplayStack(f)
	for _, name := range envelopeCases(f) {
		rec, err := readRecordedRequest(filepath.Join(envelopesDir, name+".http"))
		if err != nil {
			f.Fatal(err)
		}
		body, err := st.substitute(rec.body)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(rec.req.Header.Get("Content-Type"), rec.req.Header.Get("SOAPAction"), body)
	}
	f.Fuzz(func(t *testing.T, contentType, soapAction string, body []byte) {
		req := httptest.NewRequest(http.MethodPost, soap.TokenAdminPath, bytes.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("SOAPAction", soapAction)
		req.SetBasicAuth("admin", "admin-secret")
		w := httptest.NewRecorder()
		st.handler.ServeHTTP(w, req)
		resp := w.Result()
		if resp.StatusCode == http.StatusUnauthorized {
			t.Fatalf("valid credentials refused")
		}
		if id := resp.Header.Get("X-Request-Id"); id != "" {
			t.Fatalf("internal error (request id %s) for a client's input; log:\n%s", id, st.log.String())
		}
		checkSOAPResponse(t, resp, w.Body.Bytes())
	})
}
