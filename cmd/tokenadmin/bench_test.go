package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"tokenadmin"
	"tokenadmin/store"
)

// The end-to-end benchmarks measure revokeToken and listActiveTokens (20
// rows) over HTTP on loopback, with Basic auth, at concurrency 16, next to
// the same operations on the store directly in the same run, so the ratio
// shows what SOAP and HTTP cost. The table has TOKENADMIN_BENCH_TOKENS
// tokens (default 1,000,000: 50,000 users x 20), seeded once into a cached
// file under the temp directory and copied for each run.
//
//	go test ./cmd/tokenadmin -run '^$' -bench EndToEnd -benchtime 20000x
//
// Each sub-benchmark reports req/s, p50-µs and p99-µs.

const benchConcurrency = 16

func benchTokens(b *testing.B) int {
	n := 1_000_000
	if s := os.Getenv("TOKENADMIN_BENCH_TOKENS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 20 {
			b.Fatalf("TOKENADMIN_BENCH_TOKENS=%q: want a number >= 20", s)
		}
		n = v
	}
	return n
}

// seededDB returns the path of a database with n seeded tokens (n/20 users
// with 10 grants each, over 10 apps), creating it on first use.
func seededDB(b *testing.B, n int) string {
	b.Helper()
	path := filepath.Join(os.TempDir(), fmt.Sprintf("tokenadmin-bench-v2-%d.db", n))
	if _, err := os.Stat(path + ".ready"); err == nil {
		return path
	}
	for _, suffix := range []string{"", "-wal", "-shm", ".key"} {
		os.Remove(path + suffix)
	}
	ctx := context.Background()
	db, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	// Long lifetimes, so a cached database stays usable for a year.
	err = db.Seed(ctx, store.SeedSpec{Users: n / 20, GrantsPerUser: 10, Apps: 10, AccessTTL: 365 * 24 * time.Hour, RefreshTTL: 365 * 24 * time.Hour})
	if err == nil {
		err = db.Close()
	}
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded %d tokens in %v", n, time.Since(start))
	if err := os.WriteFile(path+".ready", nil, 0o644); err != nil {
		b.Fatal(err)
	}
	return path
}

// activeTokenIDs returns n random active access-token IDs of the users
// from fromUser on; listings read the users below it, so that they always
// find 20 active tokens.
func activeTokenIDs(b *testing.B, path string, fromUser string, n int) []string {
	b.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	// Random tokens, so revocations touch the whole table as in real use.
	rows, err := db.Query(`SELECT token_id FROM tokens WHERE type = 'access' AND revoked_at IS NULL AND user_name >= ? ORDER BY random() LIMIT ?`, fromUser, n)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			b.Fatal(err)
		}
		ids = append(ids, id)
	}
	if len(ids) < n {
		b.Fatalf("only %d active tokens for %d revocations: raise TOKENADMIN_BENCH_TOKENS or lower -benchtime", len(ids), n)
	}
	rand.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	return ids
}

// load runs do b.N times on benchConcurrency goroutines and reports the
// throughput and latency percentiles.
func load(b *testing.B, do func(i int) error) {
	b.Helper()
	b.ResetTimer()
	r := runLoad(context.Background(), benchConcurrency, b.N, 0, do)
	b.StopTimer()
	if r.Errors > 0 {
		b.Errorf("%d of %d requests failed; first: %s", r.Errors, r.Requests, r.FirstError)
	}
	b.ReportMetric(r.PerSecond, "req/s")
	b.ReportMetric(float64(r.P50.Microseconds()), "p50-µs")
	b.ReportMetric(float64(r.P99.Microseconds()), "p99-µs")
	b.ReportMetric(float64(r.CPUPerOp.Microseconds()), "cpu-µs/op")
	b.ReportMetric(0, "ns/op")
}

// copyDB copies a seeded database and its key into a temp dir, so that a
// run's revocations never deplete the cached one.
func copyDB(b *testing.B, src string) string {
	b.Helper()
	dst := filepath.Join(b.TempDir(), "bench.db")
	for _, suffix := range []string{"", ".key"} {
		in, err := os.Open(src + suffix)
		if err != nil {
			b.Fatal(err)
		}
		out, err := os.Create(dst + suffix)
		if err == nil {
			_, err = io.Copy(out, in)
			if err == nil {
				// Write the copy back now, not while the benchmark fsyncs.
				err = out.Sync()
			}
			if cerr := out.Close(); err == nil {
				err = cerr
			}
		}
		in.Close()
		if err != nil {
			b.Fatal(err)
		}
	}
	return dst
}

func BenchmarkEndToEnd(b *testing.B) {
	n := benchTokens(b)
	path := copyDB(b, seededDB(b, n))
	users := n / 20
	ctx := context.Background()

	b.Setenv("TOKENADMIN_ADMIN_PASSWORD", "bench-admin-password")
	srv, err := startServer(ctx, serveConfig{Addr: "127.0.0.1:0", DB: path}, io.Discard, io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close(ctx)
	// As in the server (serve.go), revocations are audited on both layers.
	svc := &tokenadmin.Service{Tokens: srv.db, Apps: srv.db, Audit: srv.db}
	admin := tokenadmin.Caller{Name: "admin", Role: tokenadmin.RoleAdmin}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: benchConcurrency * 2}}
	url := srv.URL() + "/services/TokenAdmin"

	soapCall := func(action, body string) error {
		req, err := http.NewRequest("POST", url, bytes.NewBufferString(
			`<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:t="urn:tokenadmin:v1"><s:Body>`+body+`</s:Body></s:Envelope>`))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "text/xml; charset=utf-8")
		req.Header.Set("SOAPAction", `"urn:tokenadmin:v1:`+action+`"`)
		req.SetBasicAuth("admin", "bench-admin-password")
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s: HTTP %d", action, resp.StatusCode)
		}
		return nil
	}
	// Listings read the lower half of the users, revocations the upper.
	user := func() string { return fmt.Sprintf("user%07d", rand.IntN(users/2)) }
	revokeFrom := fmt.Sprintf("user%07d", users/2)

	b.Run("store/listActiveTokens", func(b *testing.B) {
		load(b, func(int) error {
			p, err := svc.ListActiveTokens(ctx, admin, tokenadmin.TokenFilter{User: user(), PageSize: 20})
			if err == nil && len(p.Tokens) != 20 {
				err = fmt.Errorf("got %d tokens", len(p.Tokens))
			}
			return err
		})
	})
	b.Run("soap/listActiveTokens", func(b *testing.B) {
		load(b, func(int) error {
			return soapCall("listActiveTokens", `<t:listActiveTokens><t:user>`+user()+`</t:user><t:pageSize>20</t:pageSize></t:listActiveTokens>`)
		})
	})
	b.Run("store/revokeToken", func(b *testing.B) {
		ids := activeTokenIDs(b, path, revokeFrom, b.N)
		load(b, func(i int) error {
			_, err := svc.RevokeToken(ctx, admin, tokenadmin.RevokeRequest{TokenID: ids[i], Reason: "bench"})
			return err
		})
	})
	b.Run("soap/revokeToken", func(b *testing.B) {
		ids := activeTokenIDs(b, path, revokeFrom, b.N)
		load(b, func(i int) error {
			return soapCall("revokeToken", `<t:revokeToken><t:tokenId>`+ids[i]+`</t:tokenId><t:reason>bench</t:reason></t:revokeToken>`)
		})
	})
}

// BenchmarkListFlatness measures listActiveTokens (one user's page of 20)
// one request at a time, over SOAP and on the store, at each table size of
// TOKENADMIN_BENCH_SIZES (default "100000,10000000") in the same run, and
// reports each size's p50 and its ratio to the first size's: a page must
// cost the same however large the table.
//
//	go test ./cmd/tokenadmin -run '^$' -bench ListFlatness -benchtime 5000x
func BenchmarkListFlatness(b *testing.B) {
	sizes := []int{100_000, 10_000_000}
	if s := os.Getenv("TOKENADMIN_BENCH_SIZES"); s != "" {
		sizes = nil
		for _, f := range strings.Split(s, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 20 {
				b.Fatalf("TOKENADMIN_BENCH_SIZES=%q: want numbers >= 20", s)
			}
			sizes = append(sizes, n)
		}
	}
	ctx := context.Background()
	b.Setenv("TOKENADMIN_ADMIN_PASSWORD", "bench-admin-password")
	base := map[string]float64{}
	for _, n := range sizes {
		path := seededDB(b, n)
		srv, err := startServer(ctx, serveConfig{Addr: "127.0.0.1:0", DB: path}, io.Discard, io.Discard)
		if err != nil {
			b.Fatal(err)
		}
		svc := &tokenadmin.Service{Tokens: srv.db}
		admin := tokenadmin.Caller{Name: "admin", Role: tokenadmin.RoleAdmin}
		client := &http.Client{}
		url := srv.URL() + "/services/TokenAdmin"
		users := n / 20
		user := func(i int) string { return fmt.Sprintf("user%07d", (i*7919)%(users/2)) }
		for _, layer := range []string{"store", "soap"} {
			b.Run(fmt.Sprintf("%s/%d", layer, n), func(b *testing.B) {
				lat := make([]time.Duration, b.N)
				b.ResetTimer()
				for i := range b.N {
					t0 := time.Now()
					if layer == "store" {
						if _, err := svc.ListActiveTokens(ctx, admin, tokenadmin.TokenFilter{User: user(i), PageSize: 20}); err != nil {
							b.Fatal(err)
						}
					} else {
						req, _ := http.NewRequest("POST", url, strings.NewReader(`<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><listActiveTokens xmlns="urn:tokenadmin:v1"><user>`+user(i)+`</user><pageSize>20</pageSize></listActiveTokens></s:Body></s:Envelope>`))
						req.Header.Set("Content-Type", "text/xml; charset=utf-8")
						req.SetBasicAuth("admin", "bench-admin-password")
						resp, err := client.Do(req)
						if err != nil {
							b.Fatal(err)
						}
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if resp.StatusCode != 200 {
							b.Fatalf("HTTP %d", resp.StatusCode)
						}
					}
					lat[i] = time.Since(t0)
				}
				b.StopTimer()
				slices.Sort(lat)
				p50 := float64(lat[len(lat)/2].Nanoseconds()) / 1e3
				b.ReportMetric(p50, "p50-µs")
				b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-µs")
				if n == sizes[0] {
					base[layer] = p50 // the last (full-length) run's
				} else if first := base[layer]; first > 0 {
					b.ReportMetric(p50/first, "p50-ratio")
				}
				b.ReportMetric(0, "ns/op")
			})
		}
		srv.Close(ctx)
	}
}

// BenchmarkOAuth measures the OAuth endpoints end to end over HTTP on
// loopback at concurrency 16: token issuance (client_credentials and
// password), RFC 7662 introspection and RFC 7009 revocation, each with
// client authentication on every request.
//
//	go test ./cmd/tokenadmin -run '^$' -bench OAuth -benchtime 20000x
func BenchmarkOAuth(b *testing.B) {
	ctx := context.Background()
	b.Setenv("TOKENADMIN_ADMIN_PASSWORD", "bench-admin-password")
	path := filepath.Join(b.TempDir(), "oauth.db")
	srv, err := startServer(ctx, serveConfig{Addr: "127.0.0.1:0", DB: path}, io.Discard, io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close(ctx)
	a := tokenadmin.NewApp("Bench")
	a.ClientID, a.Scopes, a.Introspect = "bench", []string{"read"}, true
	_, secret, err := srv.db.RegisterApp(ctx, a)
	if err != nil {
		b.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: benchConcurrency * 2}}
	post := func(path string, form url.Values) (int, []byte, error) {
		req, err := http.NewRequest("POST", srv.URL()+path, strings.NewReader(form.Encode()))
		if err != nil {
			return 0, nil, err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("bench", secret)
		resp, err := client.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return resp.StatusCode, body, err
	}
	expect := func(status int, body []byte, err error) error {
		if err == nil && status != http.StatusOK {
			err = fmt.Errorf("HTTP %d: %s", status, body)
		}
		return err
	}
	// Tokens to introspect and to revoke, issued up front.
	issue := func(n int) []string {
		values := make([]string, n)
		for i := range values {
			iss, err := srv.db.IssueTokens(ctx, tokenadmin.IssueRequest{ClientID: "bench", User: "u", GrantType: "password", AccessTTL: time.Hour})
			if err != nil {
				b.Fatal(err)
			}
			values[i] = iss.AccessValue
		}
		return values
	}

	b.Run("token/client_credentials", func(b *testing.B) {
		load(b, func(int) error {
			return expect(post("/oauth2/token", url.Values{"grant_type": {"client_credentials"}}))
		})
	})
	b.Run("token/password", func(b *testing.B) {
		// One user: after the first request, the verified password is
		// remembered, as it is for a real user signing in repeatedly.
		load(b, func(int) error {
			return expect(post("/oauth2/token", url.Values{"grant_type": {"password"}, "username": {"admin"}, "password": {"bench-admin-password"}}))
		})
	})
	b.Run("introspect", func(b *testing.B) {
		values := issue(min(b.N, 1000))
		load(b, func(i int) error {
			status, body, err := post("/oauth2/introspect", url.Values{"token": {values[i%len(values)]}})
			if err == nil && (status != http.StatusOK || !strings.Contains(string(body), `"active":true`)) {
				err = fmt.Errorf("HTTP %d: %s", status, body)
			}
			return err
		})
	})
	b.Run("revoke", func(b *testing.B) {
		values := issue(b.N)
		load(b, func(i int) error {
			return expect(post("/oauth2/revoke", url.Values{"token": {values[i]}}))
		})
	})
}
