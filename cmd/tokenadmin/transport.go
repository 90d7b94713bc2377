package main

import (
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// defaultTimeouts are serve's limits for slow clients, so that a client
// trickling bytes cannot hold a connection (and its goroutine) forever.
var defaultTimeouts = http.Server{
	ReadHeaderTimeout: 10 * time.Second,
	ReadTimeout:       30 * time.Second,
	WriteTimeout:      30 * time.Second,
	IdleTimeout:       120 * time.Second,
}

// orDefault is d, or def when d is not positive.
func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// loadTLS reads the certificate chain and private key for HTTPS. It
// returns nil when both are empty (plain HTTP), a usage error when only
// one is given, and an error naming the file when they cannot be read or
// do not belong together.
//
// TLS 1.2 is the floor (RFC 8996 deprecates 1.0 and 1.1; RFC 9325 §3.1.1
// recommends 1.2 and up); cipher suites and curves are Go's defaults,
// which offer only AEAD suites with forward secrecy first.
func loadTLS(certFile, keyFile string) (*tls.Config, error) {
	if certFile == "" && keyFile == "" {
		return nil, nil
	}
	if certFile == "" || keyFile == "" {
		return nil, usagef("--tls-cert and --tls-key go together: give both, or neither")
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("TLS certificate %s with key %s: %w", certFile, keyFile, err)
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
	}, nil
}

// checkListenAddr resolves addr as net.Listen would and refuses plain
// HTTP on an address other machines can reach (anything but loopback:
// an empty host, 0.0.0.0, ::, a LAN address) unless insecure allows it.
// It returns the resolved address, so that the listener binds exactly the
// address that was checked.
func checkListenAddr(addr string, https, insecure bool) (*net.TCPAddr, error) {
	ta, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen address %q: %w", addr, err)
	}
	if !https && !insecure && !ta.IP.IsLoopback() {
		return nil, usagef("refusing plain HTTP on %s, which other machines can reach: passwords and tokens would cross the network unencrypted. "+
			"Give --tls-cert and --tls-key to serve HTTPS, or --insecure-http if a TLS proxy you control is in front", addr)
	}
	return ta, nil
}

// warnInsecure says loudly, in the log and on stderr for whoever reads
// the terminal, that credentials travel in clear text.
func warnInsecure(log *slog.Logger, stderr io.Writer, addr string) {
	log.Warn("INSECURE: serving plain HTTP on a non-loopback address (--insecure-http); passwords and tokens cross the network unencrypted unless a TLS proxy is in front", "listen", addr)
	fmt.Fprintf(stderr, "WARNING: --insecure-http: serving plain HTTP on %s, reachable from other machines. Passwords and tokens are sent unencrypted unless a TLS proxy you control terminates HTTPS in front of tokenadmin.\n", addr)
}

// dialAddr is the address to reach a listener at: its own, with an
// unspecified IP (0.0.0.0, ::) replaced by 127.0.0.1.
func dialAddr(a net.Addr) string {
	ta, ok := a.(*net.TCPAddr)
	if !ok || !ta.IP.IsUnspecified() {
		return a.String()
	}
	return net.JoinHostPort("127.0.0.1", fmt.Sprint(ta.Port))
}

// securityHeaders sets response headers that keep browsers from misusing
// what tokenadmin answers, on every response (SOAP, WSDL, OAuth JSON,
// errors). Handlers may still override them. tokenadmin serves no HTML,
// so the content security policy allows nothing at all; responses that
// carry tokens or admin data set Cache-Control: no-store themselves.
//
//   - X-Content-Type-Options: nosniff — no guessing XML or JSON to be HTML.
//   - X-Frame-Options: DENY (RFC 7034) and the CSP directive
//     frame-ancestors 'none' — never framed.
//   - Referrer-Policy: no-referrer — URLs never leak onwards.
//   - Strict-Transport-Security (RFC 6797), only when serving HTTPS: a
//     browser that has seen it never tries plain HTTP again.
func securityHeaders(next http.Handler, https bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		if https {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}
