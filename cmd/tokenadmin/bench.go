package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	gowsdl "github.com/hooklift/gowsdl/soap"

	"tokenadmin"
	"tokenadmin/auth"
	"tokenadmin/store"
	"tokenadmin/wsdl"
)

// benchConfig is what `tokenadmin bench` runs.
type benchConfig struct {
	URL          string // empty: an in-process server
	DB           string // in-process: the database (scratch when empty)
	Seed         int    // in-process: tokens to seed into a new database
	Ops          []string
	Requests     int
	Duration     time.Duration
	Concurrency  int
	User         string
	Password     string
	ClientID     string
	ClientSecret string
	Store        bool // in-process: measure the raw store first, in the same run
	JSON         bool
}

// benchOps are the operations bench knows, in the order they run.
var benchOps = []string{"list", "revoke", "introspect", "issue"}

// Names of what bench creates in an in-process database.
const (
	benchAdmin  = "bench-admin"
	benchClient = "bench-client"
)

func init() {
	register(&command{
		name: "bench", summary: "load-test listActiveTokens, revokeToken, introspection and token issuance",
		usage: "[--url URL --user U --password P --client-id C --client-secret S | --seed N [--db FILE]] [--ops list,revoke,introspect,issue] [--requests 20000] [--duration 30s] [--concurrency 16] [--json]",
		flags: func(fs *flag.FlagSet) func(*env, []string) error {
			var c benchConfig
			var ops string
			fs.StringVar(&c.URL, "url", "", "base `URL` of a running server (default: start one in this process)")
			fs.StringVar(&c.DB, "db", "", "in-process: database `file` to use, seeded with --seed when it does not exist (default: a scratch file, removed afterwards)")
			fs.IntVar(&c.Seed, "seed", 100_000, "in-process: `tokens` to seed into a new database (users of 10 grants of an access and a refresh token each)")
			fs.StringVar(&ops, "ops", strings.Join(benchOps, ","), "comma-separated `operations`: list, revoke, introspect, issue")
			fs.IntVar(&c.Requests, "requests", 20_000, "requests per operation at most")
			fs.DurationVar(&c.Duration, "duration", 30*time.Second, "time per operation at most")
			fs.IntVar(&c.Concurrency, "concurrency", 16, "concurrent `clients`")
			fs.StringVar(&c.User, "user", "admin", "--url: admin `user` for the SOAP operations")
			fs.StringVar(&c.Password, "password", "", "--url: the admin's `password` (default $TOKENADMIN_BENCH_PASSWORD)")
			fs.StringVar(&c.ClientID, "client-id", "", "--url: `client` for introspect and issue (needs the client_credentials grant and introspection)")
			fs.StringVar(&c.ClientSecret, "client-secret", "", "--url: the client's `secret` (default $TOKENADMIN_BENCH_CLIENT_SECRET)")
			fs.BoolVar(&c.Store, "store", true, "in-process: also measure each operation on the raw store, in the same run")
			fs.BoolVar(&c.JSON, "json", false, "print the results as JSON")
			return func(e *env, args []string) error {
				if len(args) != 0 {
					return usagef("unexpected argument %q", args[0])
				}
				for _, op := range strings.Split(ops, ",") {
					op = strings.TrimSpace(op)
					if !containsString(benchOps, op) {
						return usagef("--ops: unknown operation %q (want %s)", op, strings.Join(benchOps, ", "))
					}
					c.Ops = append(c.Ops, op)
				}
				if c.Requests < 1 || c.Concurrency < 1 || c.Duration <= 0 {
					return usagef("--requests, --concurrency and --duration must be positive")
				}
				if c.Password == "" {
					c.Password = os.Getenv("TOKENADMIN_BENCH_PASSWORD")
				}
				if c.ClientSecret == "" {
					c.ClientSecret = os.Getenv("TOKENADMIN_BENCH_CLIENT_SECRET")
				}
				if c.URL != "" {
					if c.DB != "" {
						return usagef("--db is for an in-process server; --url targets a running one")
					}
					if c.Password == "" {
						return usagef("--url needs --password (or $TOKENADMIN_BENCH_PASSWORD)")
					}
					needClient := containsString(c.Ops, "introspect") || containsString(c.Ops, "issue")
					if needClient && (c.ClientID == "" || c.ClientSecret == "") {
						return usagef("--url with introspect or issue needs --client-id and --client-secret")
					}
				} else if c.Seed < 40 {
					return usagef("--seed must be at least 40")
				}
				return runBench(e, c)
			}
		},
	})
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// benchTarget is what the operations run against.
type benchTarget struct {
	url          string
	user, pass   string
	clientID     string
	clientSecret string
	http         *http.Client

	authOnce            sync.Once
	soapAuth, oauthAuth []string // Authorization header values
	// In-process only:
	db    *store.DB
	users int // seeded users; 0 when unknown
}

func runBench(e *env, c benchConfig) error {
	t := &benchTarget{
		url: strings.TrimRight(c.URL, "/"), user: c.User, pass: c.Password,
		clientID: c.ClientID, clientSecret: c.ClientSecret,
		// The load generator shares the machine with the server: it keeps
		// its own cost down (no gzip negotiation, reused read buffers).
		http: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2 * c.Concurrency, DisableCompression: true}, Timeout: time.Minute},
	}
	if c.URL == "" {
		stop, err := t.startInProcess(e, c)
		if err != nil {
			return err
		}
		defer stop()
	}
	var results []loadResult
	run := func(op, layer string, n int, do func(i int) error) {
		r := runLoad(e.ctx, c.Concurrency, n, c.Duration, do)
		r.Operation, r.Layer = op, layer
		results = append(results, r)
		if !c.JSON {
			fmt.Fprintf(e.stderr, "%s/%s: %d requests, %.0f req/s\n", layer, op, r.Requests, r.PerSecond)
		}
	}
	if containsString(c.Ops, "list") || containsString(c.Ops, "revoke") {
		t.warmUp(e.ctx, c.Concurrency)
	}
	for _, op := range c.Ops {
		if e.ctx.Err() != nil {
			break
		}
		if err := t.runOp(e.ctx, op, c, run); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
	}
	if c.JSON {
		return writeJSON(e.stdout, results)
	}
	printBenchResults(e.stdout, results)
	if c.URL == "" {
		fmt.Fprintf(e.stdout, "peak RSS of this process (server and load generator): %s\n", peakRSS())
	}
	for _, r := range results {
		if r.Errors > 0 {
			return fmt.Errorf("%s/%s: %d of %d requests failed; first: %s", r.Layer, r.Operation, r.Errors, r.Requests, r.FirstError)
		}
	}
	return e.ctx.Err()
}

// warmUp makes one untimed SOAP listing from each of concurrency clients
// at once, so that the timed runs start with open connections and with
// the admin's password verified (argon2id, tens of milliseconds) and
// cached: otherwise the first requests' maximum is that verification, not
// the server's. Failures are left to the timed runs to report.
func (t *benchTarget) warmUp(ctx context.Context, concurrency int) {
	var wg sync.WaitGroup
	for range concurrency {
		wg.Go(func() {
			t.soap(ctx, "listActiveTokens", "<t:listActiveTokens><t:pageSize>1</t:pageSize></t:listActiveTokens>")
		})
	}
	wg.Wait()
}

// startInProcess opens (creating and seeding when needed) the database,
// adds the bench admin and client, and starts a server on a free
// loopback port.
func (t *benchTarget) startInProcess(e *env, c benchConfig) (stop func(), err error) {
	var cleanup []func()
	stop = func() {
		for i := len(cleanup) - 1; i >= 0; i-- {
			cleanup[i]()
		}
	}
	defer func() {
		if err != nil {
			stop()
		}
	}()
	path := c.DB
	if path == "" {
		dir, err := os.MkdirTemp("", "tokenadmin-bench-")
		if err != nil {
			return nil, err
		}
		cleanup = append(cleanup, func() { os.RemoveAll(dir) })
		path = filepath.Join(dir, "bench.db")
	}
	_, statErr := os.Stat(path)
	fresh := errors.Is(statErr, os.ErrNotExist)
	db, err := store.Open(e.ctx, path, store.Options{})
	if err != nil {
		return nil, err
	}
	if fresh {
		fmt.Fprintf(e.stderr, "seeding %d tokens into %s …\n", c.Seed, path)
		start := time.Now()
		// Long lifetimes, so that a kept --db stays usable.
		err = db.Seed(e.ctx, store.SeedSpec{Users: c.Seed / 20, GrantsPerUser: 10, Apps: 10, AccessTTL: 365 * 24 * time.Hour, RefreshTTL: 365 * 24 * time.Hour})
		if err != nil {
			db.Close()
			return nil, err
		}
		fmt.Fprintf(e.stderr, "seeded in %v\n", time.Since(start).Round(time.Millisecond))
	}
	t.pass, t.clientSecret, err = benchCredentials(e.ctx, db)
	if err == nil {
		err = db.Close()
	}
	if err != nil {
		return nil, err
	}
	t.user, t.clientID = benchAdmin, benchClient
	// Seeded users are user0000000…; a database of another origin has none
	// and listings then read every user's tokens.
	if fresh {
		t.users = c.Seed / 20
	} else if n, err := seededUsers(e.ctx, path); err == nil {
		t.users = n
	}
	start := time.Now()
	srv, err := startServer(e.ctx, serveConfig{Addr: "127.0.0.1:0", DB: path}, io.Discard, io.Discard)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(e.stderr, "server started in %v on %s\n", time.Since(start).Round(time.Millisecond), srv.URL())
	cleanup = append(cleanup, func() { srv.Close(context.Background()) })
	t.url, t.db = srv.URL(), srv.db
	return stop, nil
}

// benchCredentials gives the bench admin and client fresh random
// credentials, creating them when missing.
func benchCredentials(ctx context.Context, db *store.DB) (password, secret string, err error) {
	b := make([]byte, 24)
	rand.Read(b)
	password = base64.RawURLEncoding.EncodeToString(b)
	hash, err := auth.HashPassword(password)
	if err != nil {
		return "", "", err
	}
	err = db.CreateUser(ctx, tokenadmin.User{Name: benchAdmin, Role: tokenadmin.RoleAdmin, PasswordHash: hash})
	if tokenadmin.ErrorCode(err) == tokenadmin.CodeConflict {
		err = db.SetPassword(ctx, benchAdmin, hash)
	}
	if err != nil {
		return "", "", err
	}
	rand.Read(b)
	secret = base64.RawURLEncoding.EncodeToString(b)
	a := tokenadmin.NewApp("tokenadmin bench")
	a.ClientID, a.Introspect = benchClient, true
	a.GrantTypes = []string{tokenadmin.GrantClientCredentials}
	if _, err := db.GetApp(ctx, benchClient); tokenadmin.ErrorCode(err) == tokenadmin.CodeNotFound {
		if _, err := db.CreateApp(ctx, a); err != nil {
			return "", "", err
		}
	} else if err != nil {
		return "", "", err
	}
	return password, secret, db.SetClientSecret(ctx, benchClient, secret)
}

// seededUsers counts the seeded users (user0000000, user0000001, …) of
// an existing database by probing, in O(log n) lookups.
func seededUsers(ctx context.Context, path string) (int, error) {
	db, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		return 0, err
	}
	defer db.Close()
	has := func(i int) bool {
		p, err := db.ListActiveTokens(ctx, tokenadmin.TokenFilter{User: seededUser(i), PageSize: 1})
		return err == nil && len(p.Tokens) > 0
	}
	if !has(0) {
		return 0, nil
	}
	lo, hi := 0, 1
	for has(hi) {
		lo, hi = hi, hi*2
	}
	for hi-lo > 1 {
		if mid := (lo + hi) / 2; has(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return hi, nil
}

func seededUser(i int) string { return fmt.Sprintf("user%07d", i) }

// runOp measures one operation, on the raw store first when asked.
func (t *benchTarget) runOp(ctx context.Context, op string, c benchConfig, run func(op, layer string, n int, do func(int) error)) error {
	admin := tokenadmin.Caller{Name: benchAdmin, Role: tokenadmin.RoleAdmin}
	// The store layer does what the server's service does, audit record
	// included, so that "store" and "soap" measure the same operation.
	svc := &tokenadmin.Service{Tokens: t.db, Apps: t.db, Audit: t.db}
	// Listings read the lower half of the seeded users, revocations
	// take tokens of the upper half, so listings always find 20 tokens.
	listUser := func() string {
		if t.users < 2 {
			return ""
		}
		return seededUser(mrand.IntN(t.users / 2))
	}
	switch op {
	case "list":
		if t.db != nil && c.Store {
			run("listActiveTokens", "store", c.Requests, func(int) error {
				_, err := svc.ListActiveTokens(ctx, admin, tokenadmin.TokenFilter{User: listUser(), PageSize: 20})
				return err
			})
		}
		run("listActiveTokens", "soap", c.Requests, func(int) error {
			user := ""
			if u := listUser(); u != "" {
				user = "<t:user>" + u + "</t:user>"
			}
			return t.soap(ctx, "listActiveTokens", "<t:listActiveTokens>"+user+"<t:pageSize>20</t:pageSize></t:listActiveTokens>")
		})
	case "revoke":
		layers := []string{"soap"}
		if t.db != nil && c.Store {
			layers = []string{"store", "soap"}
		}
		// Every layer revokes tokens of its own, taken in one go, each
		// once: fewer requests when the database has fewer tokens.
		all, err := t.tokenIDs(ctx, len(layers)*c.Requests)
		if err != nil {
			return err
		}
		per := len(all) / len(layers)
		if per == 0 {
			return fmt.Errorf("only %d active access tokens for %d layers", len(all), len(layers))
		}
		for k, layer := range layers {
			ids := all[k*per : (k+1)*per]
			if layer == "store" {
				run("revokeToken", layer, len(ids), func(i int) error {
					_, err := svc.RevokeToken(ctx, admin, tokenadmin.RevokeRequest{TokenID: ids[i], Reason: "bench"})
					return err
				})
				continue
			}
			run("revokeToken", layer, len(ids), func(i int) error {
				return t.soap(ctx, "revokeToken", "<t:revokeToken><t:tokenId>"+ids[i]+"</t:tokenId><t:reason>bench</t:reason></t:revokeToken>")
			})
		}
	case "introspect":
		values, err := t.issueValues(ctx, min(c.Requests, 1000))
		if err != nil {
			return err
		}
		active := func(body []byte) error {
			if !bytes.Contains(body, []byte(`"active":true`)) {
				return fmt.Errorf("token not active: %s", body)
			}
			return nil
		}
		if t.db != nil && c.Store {
			// The store's part of an introspection: the lookup by value
			// (the endpoint adds client authentication and the JSON).
			run("introspect", "store", c.Requests, func(i int) error {
				tok, err := t.db.LookupToken(ctx, values[i%len(values)])
				if err == nil && tok.State != tokenadmin.StateActive {
					err = fmt.Errorf("token %s is %s", tok.ID, tok.State)
				}
				return err
			})
		}
		run("introspect", "oauth", c.Requests, func(i int) error {
			return t.oauthForm(ctx, "/oauth2/introspect", "token="+url.QueryEscape(values[i%len(values)]), active)
		})
	case "issue":
		if t.db != nil && c.Store {
			// The store's part of a client_credentials grant (the endpoint
			// adds client authentication, the app's policy and the JSON).
			run("token (client_credentials)", "store", c.Requests, func(int) error {
				_, err := t.db.IssueTokens(ctx, tokenadmin.IssueRequest{ClientID: t.clientID,
					GrantType: tokenadmin.GrantClientCredentials, AccessTTL: time.Hour})
				return err
			})
		}
		run("token (client_credentials)", "oauth", c.Requests, func(int) error {
			return t.oauthForm(ctx, "/oauth2/token", "grant_type=client_credentials", nil)
		})
	}
	return nil
}

// tokenIDs returns n active access-token IDs to revoke, fewer when the
// database has fewer. In-process they are the upper half's seeded users'
// tokens; against a URL, the first ones listActiveTokens returns.
func (t *benchTarget) tokenIDs(ctx context.Context, n int) ([]string, error) {
	var ids []string
	if t.db != nil && t.users >= 2 {
		for u := t.users / 2; u < t.users && len(ids) < n; u++ {
			p, err := t.db.ListActiveTokens(ctx, tokenadmin.TokenFilter{User: seededUser(u), Type: tokenadmin.AccessToken, PageSize: 100})
			if err != nil {
				return nil, err
			}
			for _, tok := range p.Tokens {
				ids = append(ids, tok.ID)
			}
		}
	} else {
		client := wsdl.NewTokenAdmin(gowsdl.NewClient(t.url+"/services/TokenAdmin",
			gowsdl.WithBasicAuth(t.user, t.pass), gowsdl.WithHTTPClient(t.http)))
		typ, size, next := wsdl.TokenType(tokenadmin.AccessToken), wsdl.PageSize(tokenadmin.MaxPageSize), ""
		for len(ids) < n {
			req := &wsdl.ListActiveTokens{TokenType: &typ, PageSize: &size}
			if next != "" {
				req.PageToken = &next
			}
			resp, err := client.ListActiveTokensContext(ctx, req)
			if err != nil {
				return nil, err
			}
			for _, tok := range resp.Token {
				ids = append(ids, tok.TokenId)
			}
			if next = resp.NextPageToken; next == "" {
				break
			}
		}
	}
	if len(ids) == 0 {
		return nil, errors.New("no active access tokens to revoke")
	}
	mrand.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	return ids[:min(n, len(ids))], nil
}

// issueValues issues n access tokens to introspect.
func (t *benchTarget) issueValues(ctx context.Context, n int) ([]string, error) {
	values := make([]string, n)
	for i := range values {
		body, err := t.oauth(ctx, "/oauth2/token", url.Values{"grant_type": {"client_credentials"}})
		if err != nil {
			return nil, err
		}
		_, rest, ok := bytes.Cut(body, []byte(`"access_token":"`))
		value, _, ok2 := bytes.Cut(rest, []byte(`"`))
		if !ok || !ok2 {
			return nil, fmt.Errorf("no access_token in %s", body)
		}
		values[i] = string(value)
	}
	return values, nil
}

// soap posts a SOAP 1.1 request for op with body inside the Body.
func (t *benchTarget) soap(ctx context.Context, op, body string) error {
	req, err := http.NewRequestWithContext(ctx, "POST", t.url+"/services/TokenAdmin", strings.NewReader(
		`<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:t="urn:tokenadmin:v1"><s:Body>`+body+`</s:Body></s:Envelope>`))
	if err != nil {
		return err
	}
	req.Header["Content-Type"] = benchSOAPContentType
	req.Header["Soapaction"] = []string{`"urn:tokenadmin:v1:` + op + `"`}
	req.Header["Authorization"], _ = t.authorization()
	return t.discard(req, nil)
}

var (
	benchSOAPContentType = []string{"text/xml; charset=utf-8"}
	benchFormContentType = []string{"application/x-www-form-urlencoded"}
)

// authorization returns the Authorization header values of the admin
// (SOAP) and of the client (OAuth), encoded once per run rather than once
// per request (the credentials are final once the target is set up).
func (t *benchTarget) authorization() (soap, oauth []string) {
	t.authOnce.Do(func() {
		t.soapAuth = []string{"Basic " + base64.StdEncoding.EncodeToString([]byte(t.user+":"+t.pass))}
		t.oauthAuth = []string{"Basic " + base64.StdEncoding.EncodeToString(
			[]byte(url.QueryEscape(t.clientID)+":"+url.QueryEscape(t.clientSecret)))}
	})
	return t.soapAuth, t.oauthAuth
}

// benchBuffers are the load generator's response buffers.
var benchBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// discard sends req, fails on a status other than 200, and hands the body
// to check (when not nil) before its buffer is reused.
func (t *benchTarget) discard(req *http.Request, check func(body []byte) error) error {
	resp, err := t.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	buf := benchBuffers.Get().(*bytes.Buffer)
	defer benchBuffers.Put(buf)
	buf.Reset()
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d: %.200s", resp.StatusCode, buf.Bytes())
	}
	if check != nil {
		return check(buf.Bytes())
	}
	return nil
}

// oauth posts form to an OAuth endpoint with the bench client's
// credentials.
func (t *benchTarget) oauth(ctx context.Context, path string, form url.Values) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", t.url+path, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(t.clientID), url.QueryEscape(t.clientSecret))
	return t.do(req)
}

// oauthForm posts an encoded form to an OAuth endpoint with the bench
// client's credentials, for the measured requests.
func (t *benchTarget) oauthForm(ctx context.Context, path, form string, check func([]byte) error) error {
	req, err := http.NewRequestWithContext(ctx, "POST", t.url+path, strings.NewReader(form))
	if err != nil {
		return err
	}
	req.Header["Content-Type"] = benchFormContentType
	_, req.Header["Authorization"] = t.authorization()
	return t.discard(req, check)
}

func (t *benchTarget) do(req *http.Request) ([]byte, error) {
	resp, err := t.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("HTTP %d: %.200s", resp.StatusCode, body)
	}
	return body, err
}

func printBenchResults(w io.Writer, results []loadResult) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "operation\tlayer\trequests\terrors\treq/s\tp50\tp90\tp99\tp99.9\tmax\tCPU/req\t")
	ms := func(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d.Microseconds())/1000) }
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%.0f\t%s\t%s\t%s\t%s\t%s\t%dµs\t\n", r.Operation, r.Layer, r.Requests, r.Errors, r.PerSecond,
			ms(r.P50), ms(r.P90), ms(r.P99), ms(r.P999), ms(r.Max), r.CPUPerOp.Microseconds())
	}
	tw.Flush()
}

// peakRSS is the process's peak resident set size (VmHWM on Linux).
func peakRSS() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown on " + runtime.GOOS
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}
