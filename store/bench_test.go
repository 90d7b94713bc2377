package store_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"tokenadmin"
	"tokenadmin/store"
)

// The benchmarks run against a database of N tokens (TOKENADMIN_BENCH_TOKENS,
// default 100000): N/20 users, each holding 10 grants (an access and a
// refresh token) spread over 10 apps. Seeded databases are cached in
// os.TempDir() by N and layout version; benchmarks that write work on a
// copy.
//
//	go test ./store -run x -bench . -benchtime 3s
//	TOKENADMIN_BENCH_TOKENS=1000000 go test ./store -run x -bench ListActiveTokens
const (
	benchApps          = 10
	benchGrantsPerUser = 10 // 20 tokens per user
	benchLayout        = 2  // bump whenever seedTokens or the schema changes what it writes
)

// benchEpoch is the benchmarks' store clock: every seeded token was issued
// ten minutes before it; access tokens live an hour, refresh tokens 30 days.
var benchEpoch = time.Date(2030, time.January, 1, 0, 0, 0, 0, time.UTC)

func benchClock() time.Time { return benchEpoch }

func benchTokens(b *testing.B) int {
	b.Helper()
	s := os.Getenv("TOKENADMIN_BENCH_TOKENS")
	if s == "" {
		return 100_000
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 2*benchGrantsPerUser {
		b.Fatalf("TOKENADMIN_BENCH_TOKENS=%q: want a number of at least %d", s, 2*benchGrantsPerUser)
	}
	return n
}

func benchUser(u int) string { return fmt.Sprintf("user%07d", u) }

// spread maps iteration i to one of n values, hopping around.
func spread(i, n int) int { return int(uint64(i) * 0x9E3779B97F4A7C15 % uint64(n)) }

var benchSeedMu sync.Mutex

// benchDatabase returns the path of a database seeded with n tokens,
// seeding it on first use. Its key file is the path plus ".key".
func benchDatabase(b *testing.B, n int) string {
	b.Helper()
	benchSeedMu.Lock()
	defer benchSeedMu.Unlock()
	path := filepath.Join(os.TempDir(), fmt.Sprintf("tokenadmin-storebench-v%d-%d.db", benchLayout, n))
	if fileExists(path) && fileExists(path+".key") {
		return path
	}
	start := time.Now()
	tmp := fmt.Sprintf("%s.seeding-%d", path, os.Getpid())
	for _, f := range []string{tmp, tmp + ".key", tmp + "-wal", tmp + "-shm"} {
		os.Remove(f)
	}
	seedDatabase(b, tmp, n/(2*benchGrantsPerUser))
	if fileExists(tmp + "-wal") {
		b.Fatalf("seed %s: the WAL was not checkpointed", tmp)
	}
	// The key first: a database without its key is never taken as cached.
	if err := os.Rename(tmp+".key", path+".key"); err != nil {
		b.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded %d tokens into %s in %v", n, path, time.Since(start).Round(time.Millisecond))
	return path
}

// seedDatabase creates a database at path with the bench apps and the
// tokens of users users.
func seedDatabase(tb testing.TB, path string, users int) {
	tb.Helper()
	db, err := store.Open(context.Background(), path, store.Options{Now: benchClock})
	if err != nil {
		tb.Fatal(err)
	}
	for a := range benchApps {
		if _, err := db.CreateApp(context.Background(), tokenadmin.App{ClientID: fmt.Sprintf("bench-app-%02d", a), Name: fmt.Sprintf("Bench App %02d", a)}); err != nil {
			tb.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		tb.Fatal(err)
	}
	if err := seedTokens(path, 0, users); err != nil {
		tb.Fatalf("seed %s: %v", path, err)
	}
}

// seedTokens inserts the grants of users [first, first+users) with plain
// SQL in large transactions, which is far faster than IssueTokens. It
// follows the store's conventions (store/doc.go, migrations/0001_init.sql):
// hash = HMAC-SHA-256(value) under the hex key in path+".key", ids continue
// sqlite_sequence, and family_id is the id of the grant's access token.
func seedTokens(path string, first, users int) (err error) {
	keyHex, err := os.ReadFile(path + ".key")
	if err != nil {
		return err
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(keyHex)))
	if err != nil {
		return err
	}
	raw, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=WAL&_synchronous=OFF&_busy_timeout=10000&_foreign_keys=on")
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, raw.Close()) }()
	raw.SetMaxOpenConns(1)

	var apps []int64
	rows, err := raw.Query(`SELECT id FROM apps WHERE client_id LIKE 'bench-app-%' ORDER BY client_id`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return err
		}
		apps = append(apps, id)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return err
	}
	if len(apps) != benchApps {
		return fmt.Errorf("%d bench apps, want %d", len(apps), benchApps)
	}
	var next int64
	if err := raw.QueryRow(`SELECT coalesce(max(seq), 0) + 1 FROM sqlite_sequence WHERE name = 'tokens'`).Scan(&next); err != nil {
		return err
	}

	rng := rand.New(rand.NewChaCha8([32]byte{byte(first), byte(first >> 8), byte(first >> 16), byte(first >> 24)}))
	randomString := func(n int) string {
		buf := make([]byte, n)
		for i := range buf {
			buf[i] = byte(rng.Uint32())
		}
		return base64.RawURLEncoding.EncodeToString(buf)
	}
	mac := hmac.New(sha256.New, key)
	issued := benchEpoch.Add(-10 * time.Minute).UnixMilli()
	expires := map[string]int64{
		"access":  issued + time.Hour.Milliseconds(),
		"refresh": issued + (30 * 24 * time.Hour).Milliseconds(),
	}
	const usersPerTx = 2500 // 50,000 tokens
	for from := first; from < first+users; from += usersPerTx {
		tx, err := raw.Begin()
		if err != nil {
			return err
		}
		stmt, err := tx.Prepare(`INSERT INTO tokens (id, token_id, hash, type, app_id, user_name,
			scope, grant_type, family_id, issued_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			tx.Rollback()
			return err
		}
		for u := from; u < min(from+usersPerTx, first+users); u++ {
			for g := range benchGrantsPerUser {
				family := next
				for _, typ := range []string{"access", "refresh"} {
					mac.Reset()
					mac.Write([]byte(randomString(32)))
					if _, err := stmt.Exec(next, randomString(16), mac.Sum(nil), typ, apps[(u+g)%len(apps)], benchUser(u),
						"read write", "authorization_code", family, issued, expires[typ]); err != nil {
						tx.Rollback()
						return err
					}
					next++
				}
			}
		}
		if err := errors.Join(stmt.Close(), tx.Commit()); err != nil {
			return err
		}
	}
	_, err = raw.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`)
	return err
}

func fileExists(name string) bool {
	_, err := os.Stat(name)
	return err == nil
}

// copyDB copies a closed database and its key into a new directory of tb's.
func copyDB(tb testing.TB, src string) string {
	tb.Helper()
	dst := filepath.Join(tb.TempDir(), "tokens.db")
	for _, suffix := range []string{"", ".key", "-wal"} {
		if err := copyFile(src+suffix, dst+suffix); errors.Is(err, fs.ErrNotExist) && suffix == "-wal" {
			continue
		} else if err != nil {
			tb.Fatal(err)
		}
	}
	return dst
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	return errors.Join(err, out.Close())
}

// activeAccessTokenIDs returns the IDs of the active access tokens of the
// database at path, shuffled.
func activeAccessTokenIDs(b *testing.B, path string) []string {
	b.Helper()
	raw := rawDB(b, path)
	rows, err := raw.Query(`SELECT token_id FROM tokens WHERE type = 'access' AND revoked_at IS NULL`)
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
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	rng.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	return ids
}

// processCPU is the user and system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// runParallel runs op from 8 goroutines per GOMAXPROCS (16 on 2 cores),
// each iteration with its own number i in [0, b.N), and reports the
// throughput and the latency percentiles of single operations.
func runParallel(b *testing.B, op func(ctx context.Context, i int) error) {
	b.Helper()
	ctx := context.Background()
	var (
		next    atomic.Int64
		mu      sync.Mutex
		lat     = make([]time.Duration, 0, b.N)
		errOnce sync.Once
	)
	b.SetParallelism(8)
	b.ResetTimer()
	cpu0 := processCPU()
	b.RunParallel(func(pb *testing.PB) {
		local := make([]time.Duration, 0, 256)
		for pb.Next() {
			i := int(next.Add(1) - 1)
			start := time.Now()
			err := op(ctx, i)
			local = append(local, time.Since(start))
			if err != nil {
				errOnce.Do(func() { b.Errorf("iteration %d: %v", i, err) })
			}
		}
		mu.Lock()
		lat = append(lat, local...)
		mu.Unlock()
	})
	elapsed := b.Elapsed()
	cpu := processCPU() - cpu0
	b.StopTimer()
	if len(lat) == 0 {
		return
	}
	// CPU time per operation (user and system, every thread of the process)
	// is what contention on a shared machine distorts least.
	b.ReportMetric(float64(cpu.Microseconds())/float64(len(lat)), "cpu-µs/op")
	slices.Sort(lat)
	percentile := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Nanoseconds()) / 1e3
	}
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "req/s")
	b.ReportMetric(percentile(0.50), "p50-µs")
	b.ReportMetric(percentile(0.99), "p99-µs")
}

// BenchmarkListActiveTokens lists one user's page: the self-service view.
func BenchmarkListActiveTokens(b *testing.B) {
	n := benchTokens(b)
	db := openAt(b, benchDatabase(b, n), store.Options{Now: benchClock})
	users := n / (2 * benchGrantsPerUser)
	runParallel(b, func(ctx context.Context, i int) error {
		user := benchUser(spread(i, users))
		p, err := db.ListActiveTokens(ctx, tokenadmin.TokenFilter{User: user, PageSize: 2 * benchGrantsPerUser})
		if err != nil {
			return err
		}
		if len(p.Tokens) != 2*benchGrantsPerUser || p.NextPageToken != "" {
			return fmt.Errorf("%s: %d tokens, pageToken %q; want all %d on one page", user, len(p.Tokens), p.NextPageToken, 2*benchGrantsPerUser)
		}
		return nil
	})
}

// BenchmarkRevokeToken revokes a distinct active access token per
// iteration, durably in every variant:
//   - group commit, the WAL synced after the commit, outside the write lock
//     (the default);
//   - group commit with synchronous=FULL, SQLite syncing inside each commit;
//   - every revocation its own transaction, synchronous=FULL.
func BenchmarkRevokeToken(b *testing.B) {
	n := benchTokens(b)
	src := benchDatabase(b, n)
	for _, v := range []struct {
		name       string
		maxBatch   int
		syncInline bool
		audited    bool // each revocation appends its audit record in its transaction
	}{
		{name: "group-commit+sync-after-commit", maxBatch: 0},
		{name: "group-commit+synchronous=FULL", maxBatch: 0, syncInline: true},
		{name: "one-tx-per-revocation+synchronous=FULL", maxBatch: 1, syncInline: true},
		{name: "group-commit+sync-after-commit+audited", maxBatch: 0, audited: true},
	} {
		b.Run(v.name, func(b *testing.B) {
			path := copyDB(b, src)
			ids := activeAccessTokenIDs(b, path)
			if len(ids) < b.N {
				// More iterations than access tokens: seed more users into
				// this copy, so that every iteration revokes a fresh token.
				more := (b.N - len(ids) + benchGrantsPerUser - 1) / benchGrantsPerUser
				if err := seedTokens(path, n/(2*benchGrantsPerUser), more); err != nil {
					b.Fatal(err)
				}
				ids = activeAccessTokenIDs(b, path)
			}
			db := openAt(b, path, store.Options{Now: benchClock, MaxBatch: v.maxBatch, SyncInline: v.syncInline})
			runParallel(b, func(ctx context.Context, i int) error {
				if v.audited {
					ctx = tokenadmin.WithAudit(ctx, &tokenadmin.AuditEvent{Actor: "bench", Role: tokenadmin.RoleAdmin,
						Action: tokenadmin.AuditTokenRevoke, Reason: "benchmark"})
				}
				res, err := db.RevokeToken(ctx, tokenadmin.RevokeRequest{TokenID: ids[i], Actor: "bench", Reason: "benchmark"})
				if err != nil {
					return err
				}
				if !res.Revoked || res.Count != 1 {
					return fmt.Errorf("RevokeToken(%s) = %+v, want one token revoked", ids[i], res)
				}
				return nil
			})
		})
	}
}

// BenchmarkListActiveTokensPage compares unfiltered pages of 100: the
// first, one deep in the table (keyset pagination should make them cost
// the same), a type-filtered one, and pages read after every access token
// expired, when the listing must step over expired (unrevoked) tokens.
func BenchmarkListActiveTokensPage(b *testing.B) {
	n := benchTokens(b)
	path := benchDatabase(b, n)
	fresh := openAt(b, path, store.Options{Now: benchClock})
	expired := openAt(b, path, store.Options{Now: func() time.Time { return benchEpoch.Add(2 * time.Hour) }})

	ctx := context.Background()
	deep := ""
	for seen := 0; seen < n*9/10; {
		p, err := fresh.ListActiveTokens(ctx, tokenadmin.TokenFilter{PageSize: tokenadmin.MaxPageSize, PageToken: deep})
		if err != nil {
			b.Fatal(err)
		}
		seen, deep = seen+len(p.Tokens), p.NextPageToken
	}

	for _, tc := range []struct {
		name string
		db   *store.DB
		f    tokenadmin.TokenFilter
		want int
	}{
		{name: "first", db: fresh, f: tokenadmin.TokenFilter{PageSize: 100}, want: 100},
		{name: "at 90%", db: fresh, f: tokenadmin.TokenFilter{PageSize: 100, PageToken: deep}, want: 100},
		{name: "type=refresh", db: fresh, f: tokenadmin.TokenFilter{Type: tokenadmin.RefreshToken, PageSize: 100}, want: 100},
		{name: "first after access tokens expired", db: expired, f: tokenadmin.TokenFilter{PageSize: 100}, want: 100},
		{name: "type=access after access tokens expired", db: expired, f: tokenadmin.TokenFilter{Type: tokenadmin.AccessToken, PageSize: 100}, want: 0},
	} {
		b.Run(tc.name, func(b *testing.B) {
			runParallel(b, func(ctx context.Context, i int) error {
				p, err := tc.db.ListActiveTokens(ctx, tc.f)
				if err != nil {
					return err
				}
				if len(p.Tokens) != tc.want {
					return fmt.Errorf("%d tokens, want %d", len(p.Tokens), tc.want)
				}
				return nil
			})
		})
	}
}

// BenchmarkRevokeTokensBulk revokes every token of one app (TOKENADMIN_BENCH_
// TOKENS of them, in chunks) while four goroutines keep issuing tokens for
// another app, and reports how long those concurrent writes waited: the
// bulk revocation must never block other requests for long.
func BenchmarkRevokeTokensBulk(b *testing.B) {
	n := benchTokens(b)
	ctx := context.Background()
	for range b.N {
		b.StopTimer()
		path := filepath.Join(b.TempDir(), "bulk.db")
		db := openAt(b, path, store.Options{})
		if err := db.Seed(ctx, store.SeedSpec{Users: n / 20, GrantsPerUser: 10, Apps: 1}); err != nil {
			b.Fatal(err)
		}
		if _, err := db.CreateApp(ctx, tokenadmin.App{ClientID: "other", Name: "Other"}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()

		var (
			mu      sync.Mutex
			lat     []time.Duration
			stop    atomic.Bool
			writers sync.WaitGroup
		)
		for range 4 {
			writers.Add(1)
			go func() {
				defer writers.Done()
				for !stop.Load() {
					t0 := time.Now()
					_, err := db.IssueTokens(ctx, tokenadmin.IssueRequest{ClientID: "other", User: "u", AccessTTL: time.Hour})
					d := time.Since(t0)
					if err != nil {
						b.Error(err)
						return
					}
					mu.Lock()
					lat = append(lat, d)
					mu.Unlock()
				}
			}()
		}
		t0 := time.Now()
		revoked, err := db.RevokeTokens(ctx, tokenadmin.BulkRevoke{ClientID: "seed-app-0", Actor: "bench", Reason: "bulk"})
		bulk := time.Since(t0)
		stop.Store(true)
		writers.Wait()
		if err != nil || revoked != n {
			b.Fatalf("RevokeTokens = %d, %v; want %d", revoked, err, n)
		}
		slices.Sort(lat)
		b.ReportMetric(bulk.Seconds(), "bulk-s")
		b.ReportMetric(float64(n)/bulk.Seconds(), "revoked/s")
		b.ReportMetric(float64(len(lat)), "concurrent-writes")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		b.ReportMetric(float64(lat[len(lat)-1].Microseconds()), "max-µs")
	}
}
