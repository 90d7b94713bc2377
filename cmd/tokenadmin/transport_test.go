package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gowsdlsoap "github.com/hooklift/gowsdl/soap"

	"tokenadmin"
	"tokenadmin/soap"
	"tokenadmin/store"
	"tokenadmin/wsdl"
)

// testCert writes a self-signed certificate for 127.0.0.1, ::1 and
// localhost and its key as PEM files, and returns them with a pool that
// trusts the certificate.
func testCert(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "tokenadmin test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), 0o600); err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// httpsClient trusts pool and nothing else.
func httpsClient(t *testing.T, pool *x509.CertPool) *http.Client {
	t.Helper()
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

func TestTLS(t *testing.T) {
	t.Setenv("TOKENADMIN_ADMIN_PASSWORD", adminPassword)
	certFile, keyFile, pool := testCert(t)
	ts := startTestServer(t, serveConfig{TLSCert: certFile, TLSKey: keyFile})
	if !strings.HasPrefix(ts.URL(), "https://127.0.0.1:") {
		t.Fatalf("URL %s, want https://127.0.0.1:port", ts.URL())
	}
	db := openTestStore(t, ts.path, store.Options{})
	createApp(t, db, "portal", "Portal")
	tok := issue(t, db, tokenadmin.IssueRequest{ClientID: "portal", User: "alice", GrantType: "password", AccessTTL: time.Hour})
	client := httpsClient(t, pool)

	t.Run("listActiveTokens over HTTPS", func(t *testing.T) {
		c := wsdl.NewTokenAdmin(gowsdlsoap.NewClient(ts.endpoint(),
			gowsdlsoap.WithBasicAuth("admin", adminPassword), gowsdlsoap.WithHTTPClient(client)))
		resp, err := c.ListActiveTokensContext(t.Context(), &wsdl.ListActiveTokens{})
		if err != nil {
			t.Fatalf("listActiveTokens: %v", err)
		}
		if got := infoIDs(resp.Token); len(got) != 1 || got[0] != tok.Access.ID {
			t.Errorf("listed %q, want [%s]", got, tok.Access.ID)
		}
	})

	t.Run("the WSDL names the https address", func(t *testing.T) {
		resp, err := client.Get(ts.endpoint() + "?wsdl")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if want := `location="` + ts.endpoint() + `"`; !strings.Contains(string(body), want) {
			t.Errorf("WSDL lacks %s:\n%s", want, body)
		}
		if got := resp.Header.Get("Strict-Transport-Security"); got != "max-age=31536000" {
			t.Errorf("Strict-Transport-Security = %q over HTTPS", got)
		}
		if resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 {
			t.Errorf("connection state %+v, want TLS 1.2 or later", resp.TLS)
		}
	})

	t.Run("TLS 1.1 is refused", func(t *testing.T) {
		conn, err := tls.Dial("tcp", strings.TrimPrefix(ts.URL(), "https://"), &tls.Config{
			RootCAs: pool, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11,
		})
		if err == nil {
			conn.Close()
			t.Fatal("a TLS 1.1 handshake succeeded")
		}
		if !strings.Contains(err.Error(), "protocol version") {
			t.Errorf("handshake error %v, want a protocol version alert", err)
		}
	})

	t.Run("plain HTTP gets no service", func(t *testing.T) {
		resp, err := http.Get("http://" + strings.TrimPrefix(ts.URL(), "https://") + "/healthz")
		if err != nil {
			return // refused outright: fine
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("plain HTTP to the TLS port: HTTP %d, want 400", resp.StatusCode)
		}
	})
}

func TestTLSConfigErrors(t *testing.T) {
	t.Setenv("TOKENADMIN_ADMIN_PASSWORD", adminPassword)
	t.Setenv("TOKENADMIN_DB", "")
	certFile, keyFile, _ := testCert(t)
	_, otherKey, _ := testCert(t)
	missing := filepath.Join(t.TempDir(), "missing.pem")
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{name: "a certificate without a key is a usage error", args: []string{"--tls-cert", certFile}, code: 2, want: "--tls-cert and --tls-key go together"},
		{name: "a key without a certificate is a usage error", args: []string{"--tls-key", keyFile}, code: 2, want: "--tls-cert and --tls-key go together"},
		{name: "a missing certificate fails naming it", args: []string{"--tls-cert", missing, "--tls-key", keyFile}, code: 1, want: missing + ": no such file"},
		{name: "a key of another certificate fails", args: []string{"--tls-cert", certFile, "--tls-key", otherKey}, code: 1, want: "private key does not match public key"},
		{name: "a key file that is a certificate fails", args: []string{"--tls-cert", certFile, "--tls-key", certFile}, code: 1, want: "TLS certificate " + certFile},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "never.db")
			r := runMain(t, "", append([]string{"serve", "--addr", "127.0.0.1:0", "--db", db}, tt.args...)...)
			if first, _, _ := strings.Cut(r.stderr, "\n"); r.code != tt.code || !strings.Contains(first, tt.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", r.code, first, tt.code, tt.want)
			}
			if _, err := os.Stat(db); err == nil {
				t.Error("the database was created before the TLS files were checked")
			}
		})
	}
}

func TestCheckListenAddr(t *testing.T) {
	for _, tt := range []struct {
		addr     string
		loopback bool
	}{
		{addr: "127.0.0.1:0", loopback: true},
		{addr: "127.1.2.3:0", loopback: true},
		{addr: "[::1]:0", loopback: true},
		{addr: "localhost:0", loopback: true},
		{addr: ":0"},
		{addr: "0.0.0.0:0"},
		{addr: "[::]:0"},
		{addr: "192.0.2.10:8080"},
		{addr: "[2001:db8::1]:8080"},
	} {
		name := tt.addr + " is refused"
		if tt.loopback {
			name = tt.addr + " is allowed"
		}
		t.Run(name, func(t *testing.T) {
			ta, err := checkListenAddr(tt.addr, false, false)
			var ue *usageError
			switch {
			case tt.loopback && err != nil:
				t.Errorf("error %v, want none", err)
			case tt.loopback && !ta.IP.IsLoopback():
				t.Errorf("resolved to %v, want a loopback address", ta)
			case !tt.loopback && !errors.As(err, &ue):
				t.Errorf("error %v, want a usage error", err)
			}
			for _, c := range []struct{ https, insecure bool }{{true, false}, {false, true}} {
				if _, err := checkListenAddr(tt.addr, c.https, c.insecure); err != nil {
					t.Errorf("https=%v insecure=%v: %v, want allowed", c.https, c.insecure, err)
				}
			}
		})
	}
}

func TestNonLoopbackPlainHTTP(t *testing.T) {
	t.Setenv("TOKENADMIN_ADMIN_PASSWORD", adminPassword)
	t.Setenv("TOKENADMIN_DB", "")

	t.Run("refused without --insecure-http", func(t *testing.T) {
		listened := false
		netListen := listen
		t.Cleanup(func() { listen = netListen })
		listen = func(network, addr string) (net.Listener, error) {
			listened = true
			return netListen(network, addr)
		}
		db := filepath.Join(t.TempDir(), "never.db")
		r := runMain(t, "", "serve", "--addr", "0.0.0.0:0", "--db", db)
		first, _, _ := strings.Cut(r.stderr, "\n")
		if r.code != 2 || !strings.Contains(first, "refusing plain HTTP on 0.0.0.0:0") ||
			!strings.Contains(first, "--tls-cert and --tls-key") || !strings.Contains(first, "--insecure-http") {
			t.Errorf("exit %d, stderr %q; want 2 naming both ways out", r.code, first)
		}
		if listened {
			t.Error("serve listened before refusing")
		}
		if _, err := os.Stat(db); err == nil {
			t.Error("serve created its database before refusing")
		}
	})

	t.Run("served with --insecure-http, with a warning", func(t *testing.T) {
		ts := startTestServer(t, serveConfig{Addr: "0.0.0.0:0", InsecureHTTP: true})
		resp, err := http.Get(ts.URL() + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET /healthz: HTTP %d", resp.StatusCode)
		}
		log := ts.stderr.String()
		if !strings.Contains(log, "WARNING: --insecure-http: serving plain HTTP on ") || !strings.Contains(log, `"level":"WARN","msg":"INSECURE: serving plain HTTP`) {
			t.Errorf("no loud warning in stderr:\n%s", log)
		}
	})

	t.Run("loopback gets no warning", func(t *testing.T) {
		ts := startTestServer(t, serveConfig{})
		if log := ts.stderr.String(); strings.Contains(log, "INSECURE") || strings.Contains(log, "WARNING") {
			t.Errorf("warning on loopback:\n%s", log)
		}
	})
}

func TestSecurityHeaders(t *testing.T) {
	t.Setenv("TOKENADMIN_ADMIN_PASSWORD", adminPassword)
	ts := startTestServer(t, serveConfig{})
	soapBody := `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><listActiveTokens xmlns="urn:tokenadmin:v1"/></s:Body></s:Envelope>`
	tests := []struct {
		name, method, path, contentType, body string
		basicAuth                             bool
		wantStatus                            int
		wantNoStore                           bool
	}{
		{name: "SOAP response", method: "POST", path: soap.TokenAdminPath, contentType: "text/xml; charset=utf-8", body: soapBody, basicAuth: true, wantStatus: 200, wantNoStore: true},
		{name: "SOAP fault", method: "POST", path: soap.TokenAdminPath, contentType: "text/xml; charset=utf-8", body: "<nope/>", basicAuth: true, wantStatus: 500, wantNoStore: true},
		{name: "SOAP 401", method: "POST", path: soap.TokenAdminPath, contentType: "text/xml; charset=utf-8", body: soapBody, wantStatus: 401},
		{name: "WSDL", method: "GET", path: soap.TokenAdminPath + "?wsdl", wantStatus: 200},
		{name: "legacy WSDL", method: "GET", path: "/services/OAuthAdminService?wsdl", wantStatus: 200},
		{name: "OAuth JSON error", method: "POST", path: "/oauth2/token", contentType: "application/x-www-form-urlencoded", body: "grant_type=password", wantStatus: 401, wantNoStore: true},
		{name: "healthz", method: "GET", path: "/healthz", wantStatus: 200},
		{name: "not found", method: "GET", path: "/nothing-here", wantStatus: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), tt.method, ts.URL()+tt.path, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			if tt.basicAuth {
				req.SetBasicAuth("admin", adminPassword)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("HTTP %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			want := map[string]string{
				"X-Content-Type-Options":  "nosniff",
				"X-Frame-Options":         "DENY",
				"Referrer-Policy":         "no-referrer",
				"Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
			}
			if tt.wantNoStore {
				want["Cache-Control"] = "no-store"
			}
			for name, value := range want {
				if got := resp.Header.Get(name); got != value {
					t.Errorf("%s = %q, want %q", name, got, value)
				}
			}
			if got := resp.Header.Get("Strict-Transport-Security"); got != "" {
				t.Errorf("Strict-Transport-Security = %q over plain HTTP, want none", got)
			}
		})
	}
}

// A client that sends its headers too slowly is disconnected once
// --read-header-timeout has passed, rather than holding the connection.
func TestSlowClientIsCutOff(t *testing.T) {
	t.Setenv("TOKENADMIN_ADMIN_PASSWORD", adminPassword)
	ts := startTestServer(t, serveConfig{ReadHeaderTimeout: 100 * time.Millisecond})
	addr := strings.TrimPrefix(ts.URL(), "http://")

	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: "+addr+"\r\n"); err != nil {
		t.Fatal(err)
	}
	// Never finish the headers. The deadline only keeps a broken server
	// from hanging the test; it is far beyond the server's timeout.
	conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	got, err := io.ReadAll(conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the server kept the connection of a client that never finished its headers (read %q)", got)
	}
	if strings.Contains(string(got), "200 OK") {
		t.Errorf("the server answered an unfinished request: %q", got)
	}

	// The same server still serves a client that sends its request.
	resp, err := http.Get(ts.URL() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /healthz: HTTP %d", resp.StatusCode)
	}
}

func TestTimeoutFlags(t *testing.T) {
	t.Setenv("TOKENADMIN_DB", "")
	for _, name := range []string{"read-header-timeout", "read-timeout", "write-timeout", "idle-timeout"} {
		t.Run(name+" must be positive", func(t *testing.T) {
			r := runMain(t, "", "serve", "--"+name, "0s", "--db", filepath.Join(t.TempDir(), "never.db"))
			if first, _, _ := strings.Cut(r.stderr, "\n"); r.code != 2 || !strings.Contains(first, "--"+name+" must be positive, not 0s") {
				t.Errorf("exit %d, stderr %q", r.code, first)
			}
		})
	}
	t.Run("the server gets the configured values", func(t *testing.T) {
		t.Setenv("TOKENADMIN_ADMIN_PASSWORD", adminPassword)
		ts := startTestServer(t, serveConfig{ReadHeaderTimeout: 1 * time.Second, ReadTimeout: 2 * time.Second, WriteTimeout: 3 * time.Second})
		h := ts.http
		if h.ReadHeaderTimeout != time.Second || h.ReadTimeout != 2*time.Second || h.WriteTimeout != 3*time.Second || h.IdleTimeout != defaultTimeouts.IdleTimeout {
			t.Errorf("timeouts %v %v %v %v; want 1s 2s 3s and the default idle timeout", h.ReadHeaderTimeout, h.ReadTimeout, h.WriteTimeout, h.IdleTimeout)
		}
	})
}
