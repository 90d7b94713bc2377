package oauth_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"tokenadmin"
	"tokenadmin/auth"
	"tokenadmin/oauth"
	"tokenadmin/store"
)

var _ oauth.ClientLimiter = (*auth.Limiter)(nil)

// throttledServer is the OAuth handler on the real store and the real
// Authenticator, with client throttling on, behind a real HTTP server. A
// frozen clock keeps every lock in force for the whole test. The
// X-Test-Client-Addr header stands in for the client address the HTTP
// layer puts in RequestInfo.
type throttledServer struct {
	srv *httptest.Server
	db  *store.DB
	log *syncBuffer
	web client
}

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

func newThrottledServer(t *testing.T) *throttledServer {
	t.Helper()
	ctx := t.Context()
	db := openE2EStore(t)
	s := &throttledServer{db: db, log: new(syncBuffer)}
	logger := slog.New(slog.NewJSONHandler(s.log, nil))
	authn := auth.NewAuthenticator(db)
	frozen := time.Date(2025, 6, 7, 8, 9, 10, 0, time.UTC)
	authn.Now = func() time.Time { return frozen }
	authn.Logger = logger
	h := oauth.NewHandler(db, authn, tokenadmin.Policy{}, logger)
	h.Clients = authn.ClientLimiter()
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ri := &tokenadmin.RequestInfo{ID: "test", ClientAddr: r.Header.Get("X-Test-Client-Addr")}
		h.ServeHTTP(w, r.WithContext(tokenadmin.WithRequestInfo(r.Context(), ri)))
	}))
	t.Cleanup(s.srv.Close)
	for _, a := range []*client{&s.web} {
		app := webApp()
		got, secret, err := db.RegisterApp(ctx, app)
		if err != nil {
			t.Fatal(err)
		}
		*a = client{id: got.ClientID, secret: secret}
	}
	return s
}

// post sends form to path with c's client_secret_basic credentials (none
// when c is zero) from addr, and returns the status, the
// WWW-Authenticate header and the body.
func (s *throttledServer) post(t *testing.T, path, addr string, c client, form url.Values) (int, string, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, s.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Test-Client-Addr", addr)
	if c != (client{}) {
		req.SetBasicAuth(url.QueryEscape(c.id), url.QueryEscape(c.secret))
	}
	res, err := s.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, res.Header.Get("WWW-Authenticate"), string(body)
}

// A client id locked by wrong secrets answers its right secret with the
// very response of a wrong one, from every address; another client from
// the guessing address is unaffected.
func TestClientThrottle(t *testing.T) {
	s := newThrottledServer(t)
	grant := url.Values{"grant_type": {"client_credentials"}}
	wrong := client{id: s.web.id, secret: "not the secret"}
	var wrongStatus int
	var wrongChallenge, wrongBody string
	for i := range auth.DefaultClientThreshold {
		wrongStatus, wrongChallenge, wrongBody = s.post(t, oauth.TokenPath, "192.0.2.1", wrong, grant)
		if wrongStatus != http.StatusUnauthorized || !strings.Contains(wrongBody, `"invalid_client"`) {
			t.Fatalf("wrong secret %d: %d %s", i, wrongStatus, wrongBody)
		}
	}
	for _, addr := range []string{"192.0.2.1", "203.0.113.5"} {
		status, challenge, body := s.post(t, oauth.TokenPath, addr, s.web, grant)
		if status != wrongStatus || challenge != wrongChallenge || body != wrongBody {
			t.Errorf("right secret of a locked client from %s: %d %q %s; want the wrong secret's %d %q %s",
				addr, status, challenge, body, wrongStatus, wrongChallenge, wrongBody)
		}
	}
	// Another client from the guessing address still gets in: the
	// address is below its own, larger threshold.
	other := newClient(t, s)
	if status, _, body := s.post(t, oauth.TokenPath, "192.0.2.1", other, grant); status != http.StatusOK {
		t.Errorf("another client: %d %s", status, body)
	}
	log := s.log.String()
	if !strings.Contains(log, `"kind":"client"`) || !strings.Contains(log, `"client":"`+s.web.id+`"`) {
		t.Errorf("no lock warning for the client:\n%s", log)
	}
	if strings.Contains(log, s.web.secret) || strings.Contains(log, "not the secret") {
		t.Errorf("a secret is in the log:\n%s", log)
	}
}

// Guesses at many client ids from one address lock the address, for
// client and user authentication alike.
func TestClientThrottlePerAddress(t *testing.T) {
	s := newThrottledServer(t)
	grant := url.Values{"grant_type": {"client_credentials"}}
	for i := range auth.DefaultAddrThreshold {
		c := client{id: "guess-" + strings.Repeat("x", i), secret: "s"}
		if status, _, body := s.post(t, oauth.TokenPath, "198.51.100.7", c, grant); status != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d %s", i, status, body)
		}
	}
	if status, _, body := s.post(t, oauth.TokenPath, "198.51.100.7", s.web, grant); status != http.StatusUnauthorized {
		t.Errorf("right secret from the locked address: %d %s; want 401", status, body)
	}
	password := url.Values{"grant_type": {"password"}, "username": {e2eUser}, "password": {e2ePassword}}
	if status, _, body := s.post(t, oauth.TokenPath, "203.0.113.5", s.web, password); status != http.StatusOK {
		t.Errorf("password grant from another address: %d %s", status, body)
	}
}

// Admins introspect with their Basic credentials, which are tried as a
// client's first. That failed client check is not a failure: many
// introspections by an admin never lock the admin's address.
func TestAdminIntrospectionIsNotAClientFailure(t *testing.T) {
	s := newThrottledServer(t)
	admin := client{id: e2eAdmin, secret: e2eAdminPass}
	for i := range auth.DefaultAddrThreshold + auth.DefaultClientThreshold {
		status, _, body := s.post(t, oauth.IntrospectPath, "192.0.2.1", admin, url.Values{"token": {"nothing"}})
		if status != http.StatusOK || body != `{"active":false}` {
			t.Fatalf("admin introspection %d: %d %s", i, status, body)
		}
	}
}

func newClient(t *testing.T, s *throttledServer) client {
	t.Helper()
	app := webApp()
	app.Name = "other"
	got, secret, err := s.db.RegisterApp(t.Context(), app)
	if err != nil {
		t.Fatal(err)
	}
	return client{id: got.ClientID, secret: secret}
}
