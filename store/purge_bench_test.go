package store_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tokenadmin"
	"tokenadmin/store"
)

// BenchmarkPurge purges 2×TOKENADMIN_BENCH_TOKENS tokens (200,000 by
// default; half revoked, half expired, as the sweep leaves them) while
// four goroutines keep revoking live tokens one by one, and reports how
// long those concurrent writes took: the purge must never stall requests
// for more than a few milliseconds (its batches are single DELETEs queued
// behind them, and it pauses while the WAL checkpoint lags). The same
// writers, alone for 2,000 revocations just before, are the baseline
// (base-p99-µs, base-max-µs).
//
//	go test ./store -run '^$' -bench Purge -benchtime 1x
func BenchmarkPurge(b *testing.B) {
	n := 2 * benchTokens(b)
	template := purgeTemplate(b, n)
	for _, batch := range []int{250, store.DefaultPurgeBatch, 1000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			for range b.N {
				benchPurge(b, copyDB(b, template), n, batch)
			}
		})
	}
}

// purgeTemplate makes the benchmark's database, closed.
func purgeTemplate(b *testing.B, n int) string {
	b.Helper()
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "purge.db")
	db, err := store.Open(ctx, path, store.Options{Now: benchClock})
	if err != nil {
		b.Fatal(err)
	}
	// Doomed: access tokens living an hour, refresh tokens a day; half of
	// them revoked at once. Live: 100,000 tokens of users "live…".
	if err := db.Seed(ctx, store.SeedSpec{Users: n / 20, GrantsPerUser: 10, Apps: 1}); err != nil {
		b.Fatal(err)
	}
	if err := db.Seed(ctx, store.SeedSpec{Users: 5000, GrantsPerUser: 10, Apps: 1, UserPrefix: "live", AccessTTL: 30 * 24 * time.Hour, RefreshTTL: 30 * 24 * time.Hour}); err != nil {
		b.Fatal(err)
	}
	raw := rawDB(b, path)
	if _, err := raw.Exec(`UPDATE tokens SET revoked_at = ?, revoked_by = 'bench', revoke_reason = 'bench'
		WHERE user_name LIKE 'user%' AND id % 2 = 0`, benchEpoch.UnixMilli()); err != nil {
		b.Fatal(err)
	}
	if err := errors.Join(raw.Close(), db.Close()); err != nil {
		b.Fatal(err)
	}
	// Eight days on, as the sweep leaves them.
	db, err = store.Open(ctx, path, store.Options{Now: func() time.Time { return benchEpoch.Add(8 * 24 * time.Hour) }})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := db.SweepExpired(ctx); err != nil {
		b.Fatal(err)
	}
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
	return path
}

func benchPurge(b *testing.B, path string, n, batch int) {
	b.StopTimer()
	ctx := context.Background()
	db := openAt(b, path, store.Options{Now: func() time.Time { return benchEpoch.Add(8 * 24 * time.Hour) }})
	raw := rawDB(b, path)
	var live []string
	rows, err := raw.Query(`SELECT token_id FROM tokens WHERE user_name LIKE 'live%' AND type = 'access'`)
	if err != nil {
		b.Fatal(err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			b.Fatal(err)
		}
		live = append(live, id)
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	rows.Close()

	var next atomic.Int64
	writers := func(stop func() bool) []time.Duration {
		var (
			mu  sync.Mutex
			lat []time.Duration
			wg  sync.WaitGroup
		)
		for range 4 {
			wg.Go(func() {
				var local []time.Duration
				for !stop() {
					i := int(next.Add(1) - 1)
					if i >= len(live) {
						b.Error("the writers ran out of live tokens")
						return
					}
					t0 := time.Now()
					res, err := db.RevokeToken(ctx, tokenadmin.RevokeRequest{TokenID: live[i], Actor: "bench"})
					local = append(local, time.Since(t0))
					if err != nil || !res.Revoked {
						b.Errorf("RevokeToken = %+v, %v", res, err)
						return
					}
				}
				mu.Lock()
				lat = append(lat, local...)
				mu.Unlock()
			})
		}
		wg.Wait()
		slices.Sort(lat)
		return lat
	}
	base := writers(func() bool { return next.Load() >= 2000 })

	b.StartTimer()
	var stop atomic.Bool
	done := make(chan []time.Duration)
	go func() { done <- writers(stop.Load) }()
	t0 := time.Now()
	res, err := db.Purge(ctx, store.PurgeOptions{BatchSize: batch})
	elapsed := time.Since(t0)
	stop.Store(true)
	lat := <-done
	b.StopTimer()
	if err != nil || res.Total() != int64(n) {
		b.Fatalf("Purge = %+v, %v; want %d tokens", res, err, n)
	}
	if len(lat) == 0 || len(base) == 0 {
		b.Fatal("no concurrent writes")
	}
	us := func(d time.Duration) float64 { return float64(d.Microseconds()) }
	b.ReportMetric(elapsed.Seconds(), "purge-s")
	b.ReportMetric(float64(n)/elapsed.Seconds(), "purged/s")
	b.ReportMetric(float64(len(lat)), "concurrent-writes")
	b.ReportMetric(us(lat[len(lat)/2]), "p50-µs")
	b.ReportMetric(us(lat[len(lat)*99/100]), "p99-µs")
	b.ReportMetric(us(lat[len(lat)-1]), "max-µs")
	b.ReportMetric(us(base[len(base)*99/100]), "base-p99-µs")
	b.ReportMetric(us(base[len(base)-1]), "base-max-µs")
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
}
