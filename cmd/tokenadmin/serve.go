package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"tokenadmin"
	"tokenadmin/auth"
	"tokenadmin/legacy"
	"tokenadmin/oauth"
	"tokenadmin/obs"
	"tokenadmin/soap"
	"tokenadmin/store"
)

// serveConfig is everything serve needs; tests fill it directly.
type serveConfig struct {
	Addr           string
	DB             string
	Demo           bool
	TrustForwarded bool
	MaxBodyBytes   int64
	ShutdownGrace  time.Duration
	// Policy is the server-wide OAuth policy; zero lifetimes mean
	// tokenadmin.DefaultPolicy's.
	Policy tokenadmin.Policy
	// LegacyProfile is the WSO2 generation the legacy services speak;
	// legacy.DefaultProfile when empty.
	LegacyProfile string
	// TLSCert and TLSKey are PEM files; with them the server speaks HTTPS
	// only (TLS 1.2 and up). Both or neither.
	TLSCert, TLSKey string
	// InsecureHTTP allows plain HTTP on an address other machines reach.
	InsecureHTTP bool
	// Timeouts for slow clients; zero means defaultTimeouts'.
	ReadHeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// UserThrottle and AddrThrottle limit failed logins per user name and
	// per client address; nil means auth.NewAuthenticator's defaults.
	UserThrottle, AddrThrottle *auth.Throttle
	// LogLevel is the least level logged; the zero value is Info.
	LogLevel slog.Level
	// Janitor purges old revoked and expired tokens; off when its Interval
	// is zero (tests), on with the flags' defaults in serve.
	Janitor store.JanitorOptions
}

func init() {
	register(&command{
		name: "serve", summary: "run the SOAP and OAuth service (creates and migrates the database on first start)",
		usage: "[--config FILE] [--addr 127.0.0.1:8080] [--db ./tokenadmin.db] [--tls-cert FILE --tls-key FILE] [--insecure-http] [--demo] [--disable-refresh-grant] [--access-ttl 1h] [--refresh-ttl 24h] [--legacy-profile is-5.3] [--log-level info]",
		flags: func(fs *flag.FlagSet) func(*env, []string) error {
			var c serveConfig
			fs.StringVar(&c.Addr, "addr", "127.0.0.1:8080", "listen `address`")
			db := dbFlag(fs)
			fs.BoolVar(&c.Demo, "demo", false, "seed a demo app, user and tokens and print a ready-to-paste curl call")
			fs.BoolVar(&c.TrustForwarded, "trust-forwarded-headers", false, "use X-Forwarded-Proto/Host for WSDL addresses (only behind a proxy you control)")
			fs.Int64Var(&c.MaxBodyBytes, "max-body-bytes", soap.DefaultMaxBodyBytes, "largest accepted request `bytes`")
			fs.DurationVar(&c.ShutdownGrace, "shutdown-grace", 10*time.Second, "how long in-flight requests may finish on SIGTERM")
			fs.DurationVar(&c.Policy.AccessTTL, "access-ttl", tokenadmin.DefaultPolicy.AccessTTL, "default access-token `lifetime` (apps may set their own)")
			fs.DurationVar(&c.Policy.RefreshTTL, "refresh-ttl", tokenadmin.DefaultPolicy.RefreshTTL, "default refresh-token `lifetime` (apps may set their own)")
			fs.StringVar(&c.LegacyProfile, "legacy-profile", string(legacy.DefaultProfile), "WSO2 `generation` the legacy /services/ endpoints speak (is-5.0, is-5.3, is-5.5, is-5.7)")
			fs.DurationVar(&c.Janitor.RevokedRetention, "purge-revoked-after", store.DefaultRevokedRetention, "the janitor purges a revoked token this `long` after its revocation")
			fs.DurationVar(&c.Janitor.ExpiredRetention, "purge-expired-after", store.DefaultExpiredRetention, "the janitor purges an expired token this `long` after its expiry")
			fs.DurationVar(&c.Janitor.Interval, "janitor-interval", 10*time.Minute, "how `often` the janitor purges (0: never)")
			fs.BoolVar(&c.Policy.DisableRefreshGrant, "disable-refresh-grant", false, "switch the refresh_token grant off for every app: no refresh tokens are issued")
			configFlag(fs)
			fs.StringVar(&c.TLSCert, "tls-cert", "", "serve HTTPS (TLS 1.2 and up) with the PEM certificate chain in `file` (needs --tls-key)")
			fs.StringVar(&c.TLSKey, "tls-key", "", "PEM private key `file` of --tls-cert")
			fs.BoolVar(&c.InsecureHTTP, "insecure-http", false, "allow plain HTTP on a non-loopback address (only behind a TLS proxy you control)")
			fs.DurationVar(&c.ReadHeaderTimeout, "read-header-timeout", defaultTimeouts.ReadHeaderTimeout, "how long a client may take to send a request's headers")
			fs.DurationVar(&c.ReadTimeout, "read-timeout", defaultTimeouts.ReadTimeout, "how long a client may take to send a whole request")
			fs.DurationVar(&c.WriteTimeout, "write-timeout", defaultTimeouts.WriteTimeout, "how long writing a response may take, from the end of the request's headers")
			fs.DurationVar(&c.IdleTimeout, "idle-timeout", defaultTimeouts.IdleTimeout, "how long a kept-alive connection may wait for its next request")
			logLevel := fs.String("log-level", "info", "least `level` logged: debug, info, warn or error")
			return func(e *env, args []string) error {
				if len(args) != 0 {
					return usagef("unexpected argument %q", args[0])
				}
				if _, err := layerConfig(fs); err != nil {
					return err
				}
				lvl, _ := parseLogLevel(*logLevel) // checked by layerConfig (checkServeFlags)
				c.DB, c.LogLevel = *db, lvl
				srv, err := startServer(e.ctx, c, e.stdout, e.stderr)
				if err != nil {
					return err
				}
				select {
				case <-e.ctx.Done():
					srv.log.Info("shutting down", "grace", c.ShutdownGrace)
				case <-srv.done:
					// Serving failed (the listener broke): exit, so that a
					// supervisor can restart us, rather than stay up serving
					// nothing. Serve's error is never nil, and is
					// ErrServerClosed only after Close, so Close returns it.
					srv.log.Error("serving failed; shutting down", "err", srv.serveErr, "grace", c.ShutdownGrace)
				}
				ctx, cancel := context.WithTimeout(context.Background(), c.ShutdownGrace)
				defer cancel()
				return srv.Close(ctx)
			}
		},
	})
}

// listen is net.Listen; a test replaces it to get at the listener.
var listen = net.Listen

// server is a running tokenadmin service.
type server struct {
	db   *store.DB
	http *http.Server
	ln   net.Listener
	log  *slog.Logger
	// done is closed when http.Server.Serve has returned, with serveErr.
	done     chan struct{}
	serveErr error

	closeOnce sync.Once
	closeErr  error

	https bool // serving TLS: URLs are https
}

// newLogger logs text to a terminal and JSON otherwise, from level on.
func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if isTerminal(w) {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// parseLogLevel reads a --log-level value.
func parseLogLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("unknown level %q (want debug, info, warn or error)", s)
}

// activeResync is how often the server re-counts the active tokens for
// tokenadmin_active_tokens, correcting what the admin commands changed.
const activeResync = 10 * time.Minute

// startServer opens the database, bootstraps it, and serves on c.Addr
// until Close. Messages for the person at the terminal (the generated
// admin password, the demo's curl call) go to stdout; logs to stderr.
func startServer(ctx context.Context, c serveConfig, stdout, stderr io.Writer) (*server, error) {
	log := newLogger(stderr, c.LogLevel)
	// The store reports revocations to the metrics, which it opens before
	// them: metrics reads the store's Stats through db, set just below.
	var db *store.DB
	metrics := obs.NewMetrics(obs.Sources{
		Store: func() obs.StoreStats {
			st := db.Stats()
			return obs.StoreStats{
				ActiveTokens: st.ActiveTokens, ActiveTokensKnown: st.ActiveTokensKnown, Errors: st.Errors,
				WALRestarts: st.WALRestarts, WALRestartHold: st.WALRestartHold, WALPendingFrames: st.WALPendingFrames,
			}
		},
		Janitor: func() obs.JanitorStats {
			st := db.JanitorStats()
			return obs.JanitorStats{
				Purged:  map[string]uint64{"revoked": uint64(st.PurgedRevoked), "expired": uint64(st.PurgedExpired)},
				LastRun: st.LastRun.Add(st.LastDuration),
			}
		},
	})
	janitor := c.Janitor
	janitor.Report = func(r store.JanitorRun) {
		if r.Err != nil {
			log.Error("janitor run failed", "err", r.Err, "purged_revoked", r.Purged.Revoked, "purged_expired", r.Purged.Expired, "duration", r.Duration)
			return
		}
		log.Info("janitor run", "purged_revoked", r.Purged.Revoked, "purged_expired", r.Purged.Expired, "duration", r.Duration)
	}
	tlsConfig, err := loadTLS(c.TLSCert, c.TLSKey)
	if err != nil {
		return nil, err
	}
	addr, err := checkListenAddr(c.Addr, tlsConfig != nil, c.InsecureHTTP)
	if err != nil {
		return nil, err
	}
	db, err = store.Open(ctx, c.DB, store.Options{
		SweepInterval: time.Minute,
		Janitor:       janitor,
		Log:           func(msg string, err error) { log.Error(msg, "err", err) },
		ActiveResync:  activeResync,
		OnRevoke:      metrics.Revoked,
	})
	if err != nil {
		return nil, err
	}
	s := &server{db: db, log: log, done: make(chan struct{})}
	if err := bootstrapAdmin(ctx, db, stdout); err != nil {
		db.Close()
		return nil, err
	}
	authn := auth.NewAuthenticator(db)
	authn.Logger = log // lock warnings (brute-force throttling)
	authn.Audit = db   // admins' logins and locks
	if c.UserThrottle != nil {
		authn.UserThrottle = c.UserThrottle
	}
	if c.AddrThrottle != nil {
		authn.AddrThrottle = c.AddrThrottle
	}
	// One service of each kind for every surface, so that the native and
	// the legacy API apply the same rules and audit alike.
	svc := &tokenadmin.Service{Tokens: db, Apps: db, Audit: db}
	apps := &tokenadmin.AppService{Apps: db, Audit: db}
	h := soap.NewTokenAdminHandler(svc, authn)
	h.Apps = apps
	h.Audit = &tokenadmin.AuditService{Log: db}
	// WS-Security UsernameToken on both SOAP surfaces, one nonce cache, so
	// that a token seen by one cannot be replayed on the other.
	wss := &soap.WSSecurity{Auth: authn, Digests: db}
	h.WSSecurity = wss
	h.Logger = log
	h.TrustForwardedHeaders = c.TrustForwarded
	if c.MaxBodyBytes > 0 {
		h.MaxBodyBytes = c.MaxBodyBytes
	}
	mux := http.NewServeMux()
	mux.Handle(soap.TokenAdminPath, h)
	if c.LegacyProfile == "" {
		c.LegacyProfile = string(legacy.DefaultProfile)
	}
	lh, err := legacy.NewHandler(legacy.Profile(c.LegacyProfile), svc, db, authn, &legacy.Sessions{Users: db})
	if err != nil {
		db.Close()
		return nil, err
	}
	lh.Logger, lh.TrustForwardedHeaders, lh.MaxBodyBytes = log, c.TrustForwarded, c.MaxBodyBytes
	lh.AppAdmin = apps
	lh.WSSecurity = wss
	lh.Register(mux)
	policy := c.Policy
	if policy.AccessTTL <= 0 {
		policy.AccessTTL = tokenadmin.DefaultPolicy.AccessTTL
	}
	if policy.RefreshTTL <= 0 {
		policy.RefreshTTL = tokenadmin.DefaultPolicy.RefreshTTL
	}
	oh := oauth.NewHandler(db, authn, policy, log)
	oh.Clients = authn.ClientLimiter()
	oh.Audit = db // RFC 7009 revocations and refresh-token reuse
	mux.Handle("/oauth2/", oh)
	mux.HandleFunc("GET /healthz", obs.Healthz)
	mux.Handle("GET /readyz", obs.Readyz(db, log))
	mux.Handle("GET /metrics", metrics.Handler())

	s.ln, err = listen("tcp", addr.String())
	if err != nil {
		db.Close()
		return nil, err
	}
	s.http = &http.Server{
		Handler:           securityHeaders(&obs.Middleware{Next: mux, Logger: log, Metrics: metrics, TrustForwardedHeaders: c.TrustForwarded}, tlsConfig != nil),
		ReadHeaderTimeout: orDefault(c.ReadHeaderTimeout, defaultTimeouts.ReadHeaderTimeout),
		ReadTimeout:       orDefault(c.ReadTimeout, defaultTimeouts.ReadTimeout),
		WriteTimeout:      orDefault(c.WriteTimeout, defaultTimeouts.WriteTimeout),
		IdleTimeout:       orDefault(c.IdleTimeout, defaultTimeouts.IdleTimeout),
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		TLSConfig:         tlsConfig,
	}
	s.https = tlsConfig != nil
	go func() {
		if s.https {
			s.serveErr = s.http.ServeTLS(s.ln, "", "") // the certificate is in TLSConfig
		} else {
			s.serveErr = s.http.Serve(s.ln)
		}
		close(s.done)
	}()
	if !s.https && !addr.IP.IsLoopback() {
		warnInsecure(log, stderr, s.ln.Addr().String())
	}
	log.Info("tokenadmin serving", "url", s.URL()+soap.TokenAdminPath, "wsdl", s.URL()+soap.TokenAdminPath+"?wsdl", "db", c.DB, "listen", s.ln.Addr().String())
	if c.Demo {
		if err := seedDemo(ctx, db, s.URL(), stdout); err != nil {
			s.Close(context.Background())
			return nil, err
		}
	}
	return s, nil
}

// URL is the server's base URL, such as http://127.0.0.1:8080 or
// https://127.0.0.1:8443. On an unspecified address (0.0.0.0, ::) it names
// 127.0.0.1, which reaches it from this machine.
func (s *server) URL() string {
	scheme := "http://"
	if s.https {
		scheme = "https://"
	}
	return scheme + dialAddr(s.ln.Addr())
}

// Close stops accepting, lets in-flight requests finish until ctx ends,
// then closes the database (after its queued writes are committed). Later
// calls return the first call's result.
func (s *server) Close(ctx context.Context) error {
	s.closeOnce.Do(func() {
		err := s.http.Shutdown(ctx)
		<-s.done
		if !errors.Is(s.serveErr, http.ErrServerClosed) {
			err = errors.Join(err, s.serveErr)
		}
		s.closeErr = errors.Join(err, s.db.Close())
	})
	return s.closeErr
}

// bootstrapAdmin creates the first admin on a database without users:
// with $TOKENADMIN_ADMIN_PASSWORD, or a generated password printed once.
func bootstrapAdmin(ctx context.Context, db *store.DB, stdout io.Writer) error {
	n, err := db.CountUsers(ctx)
	if err != nil || n > 0 {
		return err
	}
	password, generated := os.Getenv("TOKENADMIN_ADMIN_PASSWORD"), false
	if password == "" {
		b := make([]byte, 18)
		if _, err := rand.Read(b); err != nil {
			return err
		}
		password, generated = base64.RawURLEncoding.EncodeToString(b), true
	}
	hash, err := auth.HashPassword(password)
	if err != nil {
		return fmt.Errorf("TOKENADMIN_ADMIN_PASSWORD: %w", err)
	}
	actx := tokenadmin.StartAudit(ctx, db, tokenadmin.Caller{Name: "serve", Role: tokenadmin.RoleAdmin}, tokenadmin.AuditUserCreate, "admin", "first start")
	if err := db.CreateUser(actx, tokenadmin.User{Name: "admin", Role: tokenadmin.RoleAdmin, PasswordHash: hash}); err != nil {
		if tokenadmin.ErrorCode(err) == tokenadmin.CodeConflict {
			return nil // another process bootstrapped first
		}
		return err
	}
	if generated {
		fmt.Fprintf(stdout, "Created user admin with password %s\n(shown once; set TOKENADMIN_ADMIN_PASSWORD to choose it, or change it with: tokenadmin user passwd admin)\n", password)
	} else {
		fmt.Fprintln(stdout, "Created user admin with the password from TOKENADMIN_ADMIN_PASSWORD")
	}
	return nil
}
