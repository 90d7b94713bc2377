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
	"sync"
	"time"

	"tokenadmin"
	"tokenadmin/auth"
	"tokenadmin/legacy"
	"tokenadmin/oauth"
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
	// Janitor purges old revoked and expired tokens; off when its Interval
	// is zero (tests), on with the flags' defaults in serve.
	Janitor store.JanitorOptions
}

func init() {
	register(&command{
		name: "serve", summary: "run the SOAP and OAuth service (creates and migrates the database on first start)",
		usage: "[--addr 127.0.0.1:8080] [--db ./tokenadmin.db] [--demo] [--disable-refresh-grant] [--access-ttl 1h] [--refresh-ttl 24h] [--legacy-profile is-5.3]",
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
			return func(e *env, args []string) error {
				if len(args) != 0 {
					return usagef("unexpected argument %q", args[0])
				}
				if c.Policy.AccessTTL <= 0 || c.Policy.RefreshTTL <= 0 {
					return usagef("--access-ttl and --refresh-ttl must be positive")
				}
				if c.Janitor.RevokedRetention <= 0 || c.Janitor.ExpiredRetention <= 0 || c.Janitor.Interval < 0 {
					return usagef("--purge-revoked-after and --purge-expired-after must be positive, --janitor-interval not negative")
				}
				if _, err := legacy.ParseProfile(c.LegacyProfile); err != nil {
					return usagef("--legacy-profile: %v", err)
				}
				c.DB = *db
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
}

// newLogger logs text to a terminal and JSON otherwise.
func newLogger(w io.Writer) *slog.Logger {
	if isTerminal(w) {
		return slog.New(slog.NewTextHandler(w, nil))
	}
	return slog.New(slog.NewJSONHandler(w, nil))
}

// startServer opens the database, bootstraps it, and serves on c.Addr
// until Close. Messages for the person at the terminal (the generated
// admin password, the demo's curl call) go to stdout; logs to stderr.
func startServer(ctx context.Context, c serveConfig, stdout, stderr io.Writer) (*server, error) {
	log := newLogger(stderr)
	janitor := c.Janitor
	janitor.Report = func(r store.JanitorRun) {
		log.Info("janitor run", "purged_revoked", r.Purged.Revoked, "purged_expired", r.Purged.Expired, "duration", r.Duration)
	}
	db, err := store.Open(ctx, c.DB, store.Options{
		SweepInterval: time.Minute,
		Janitor:       janitor,
		Log:           func(msg string, err error) { log.Error(msg, "err", err) },
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
	h := soap.NewTokenAdminHandler(&tokenadmin.Service{Tokens: db}, authn)
	h.Apps = &tokenadmin.AppService{Apps: db}
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
	lh, err := legacy.NewHandler(legacy.Profile(c.LegacyProfile), &tokenadmin.Service{Tokens: db}, db, authn, &legacy.Sessions{Users: db})
	if err != nil {
		db.Close()
		return nil, err
	}
	lh.Logger, lh.TrustForwardedHeaders, lh.MaxBodyBytes = log, c.TrustForwarded, c.MaxBodyBytes
	lh.AppAdmin = &tokenadmin.AppService{Apps: db}
	lh.Register(mux)
	policy := c.Policy
	if policy.AccessTTL <= 0 {
		policy.AccessTTL = tokenadmin.DefaultPolicy.AccessTTL
	}
	if policy.RefreshTTL <= 0 {
		policy.RefreshTTL = tokenadmin.DefaultPolicy.RefreshTTL
	}
	mux.Handle("/oauth2/", oauth.NewHandler(db, authn, policy, log))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })

	s.ln, err = listen("tcp", c.Addr)
	if err != nil {
		db.Close()
		return nil, err
	}
	s.http = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	go func() {
		s.serveErr = s.http.Serve(s.ln)
		close(s.done)
	}()
	log.Info("tokenadmin serving", "url", s.URL()+soap.TokenAdminPath, "wsdl", s.URL()+soap.TokenAdminPath+"?wsdl", "db", c.DB)
	if c.Demo {
		if err := seedDemo(ctx, db, s.URL(), stdout); err != nil {
			s.Close(context.Background())
			return nil, err
		}
	}
	return s, nil
}

// URL is the server's base URL, such as http://127.0.0.1:8080.
func (s *server) URL() string { return "http://" + s.ln.Addr().String() }

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
	if err := db.CreateUser(ctx, tokenadmin.User{Name: "admin", Role: tokenadmin.RoleAdmin, PasswordHash: hash}); err != nil {
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
