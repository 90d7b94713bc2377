package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"tokenadmin"
	"tokenadmin/store"
)

// BenchmarkStalls measures, in one run, how long foreground writes wait
// under each kind of background work, next to the disk's own floor
// (docs/stalls.md):
//
//   - fsync: the raw latency of appending 4–16 KiB to a file in the same
//     directory and fdatasync-ing it, 400 times: what no commit can beat;
//   - alone: four goroutines issuing tokens, 2,000 writes, nothing else;
//   - purge: the same writers while Purge deletes 2×TOKENADMIN_BENCH_TOKENS
//     revoked and expired tokens (200,000 by default);
//   - bulk: while RevokeTokens revokes the 100,000 live tokens of one app;
//   - checkpoint: while the checkpointer copies a WAL of one large
//     transaction (an UPDATE of 100,000 rows, held back by a reader until
//     the writers start) into the database file.
//
// It runs once per checkpointer tuning (store.StallVariants: "default" is
// production's; the others are what docs/stalls.md compares), each on a
// fresh copy of one database, so that A/B comparisons are within one run;
// TOKENADMIN_STALL_VARIANTS="default norestart" picks some.
//
// Each phase reports p50, p99, p99.9 and max in µs; checkpoint-longest-ms
// is the longest single checkpoint of the whole run, restart-longest-ms
// the longest time a WAL restart held the writer, and *-wal-peak-MiB the
// largest the WAL grew during purge and bulk. Run it unniced, with nothing
// else running, at least twice:
//
//	go test ./store -run '^$' -bench Stalls -benchtime 1x -count 2
func BenchmarkStalls(b *testing.B) {
	n := 2 * benchTokens(b)
	template := purgeTemplate(b, n)
	variants := strings.Fields(os.Getenv("TOKENADMIN_STALL_VARIANTS"))
	if len(variants) == 0 {
		variants = store.StallVariants()
	}
	for _, v := range variants {
		b.Run("variant="+v, func(b *testing.B) {
			for range b.N {
				benchStalls(b, template, n, v)
			}
		})
	}
}

// latencies are one phase's sorted durations.
type latencies []time.Duration

func (l latencies) report(b *testing.B, phase string) {
	b.Helper()
	if len(l) == 0 {
		b.Fatalf("%s: nothing measured", phase)
	}
	slices.Sort(l)
	us := func(q float64) float64 {
		return float64(l[min(len(l)-1, int(q*float64(len(l))))].Microseconds())
	}
	b.ReportMetric(us(0.5), phase+"-p50-µs")
	b.ReportMetric(us(0.99), phase+"-p99-µs")
	b.ReportMetric(us(0.999), phase+"-p999-µs")
	b.ReportMetric(float64(l[len(l)-1].Microseconds()), phase+"-max-µs")
}

// fsyncFloor appends 4–16 KiB blocks to a new file in dir and syncs each.
func fsyncFloor(b *testing.B, dir string, rounds int) latencies {
	b.Helper()
	f, err := os.Create(filepath.Join(dir, "fsync-floor"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 16<<10)
	for i := range buf {
		buf[i] = byte(i * 7)
	}
	r := rand.New(rand.NewPCG(1, 2))
	lat := make(latencies, 0, rounds)
	for range rounds {
		size := 4<<10 + r.IntN(3)*4<<10 + r.IntN(2)*4<<10 // 4, 8, 12 or 16 KiB
		t0 := time.Now()
		if _, err := f.Write(buf[:size]); err != nil {
			b.Fatal(err)
		}
		if err := datasync(f); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	return lat
}

// foreground runs four goroutines issuing tokens for app "other" until
// stop says so, and returns their latencies.
func foreground(b *testing.B, db *store.DB, stop func(done int64) bool) latencies {
	b.Helper()
	var (
		mu    sync.Mutex
		lat   latencies
		count atomic.Int64
		wg    sync.WaitGroup
	)
	for range 4 {
		wg.Go(func() {
			var local latencies
			for !stop(count.Load()) {
				t0 := time.Now()
				_, err := db.IssueTokens(context.Background(), tokenadmin.IssueRequest{ClientID: "other", User: "fg", AccessTTL: time.Hour})
				local = append(local, time.Since(t0))
				count.Add(1)
				if err != nil {
					b.Error(err)
					break
				}
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		})
	}
	wg.Wait()
	return lat
}

// during runs the foreground writers while work runs, and returns their
// latencies, how long work took, and the largest the WAL file was meanwhile
// (in MiB, sampled every millisecond), which shows a checkpoint falling
// behind.
func during(b *testing.B, db *store.DB, work func() error) (latencies, time.Duration, float64) {
	b.Helper()
	var stop atomic.Bool
	done := make(chan latencies)
	go func() { done <- foreground(b, db, func(int64) bool { return stop.Load() }) }()
	peak := make(chan int64)
	go func() {
		var most int64
		for !stop.Load() {
			if fi, err := os.Stat(db.Path() + "-wal"); err == nil {
				most = max(most, fi.Size())
			}
			time.Sleep(time.Millisecond)
		}
		peak <- most
	}()
	t0 := time.Now()
	err := work()
	took := time.Since(t0)
	stop.Store(true)
	lat := <-done
	walPeak := float64(<-peak) / (1 << 20)
	if err != nil {
		b.Fatal(err)
	}
	return lat, took, walPeak
}

func benchStalls(b *testing.B, template string, n int, variant string) {
	b.StopTimer()
	ctx := context.Background()
	path := copyDB(b, template)
	// The copy (and the template, the first time) is still in the page
	// cache: written back during the phases, it would be measured as
	// theirs.
	syscall.Sync()
	fsync := fsyncFloor(b, filepath.Dir(path), 400)
	later := benchEpoch.Add(8 * 24 * time.Hour)
	db := openAt(b, path, store.Options{Now: func() time.Time { return later }})
	if err := db.SetStallVariant(variant); err != nil {
		b.Fatal(err)
	}
	if _, err := db.CreateApp(ctx, tokenadmin.App{ClientID: "other", Name: "Other"}); err != nil {
		b.Fatal(err)
	}
	db.LongestCheckpoint()
	db.LongestRestart()
	b.StartTimer()

	alone := foreground(b, db, func(done int64) bool { return done >= 2000 })

	purge, purgeTook, purgeWAL := during(b, db, func() error {
		res, err := db.Purge(ctx, store.PurgeOptions{})
		if err == nil && res.Total() != int64(n) {
			err = fmt.Errorf("Purge = %+v; want %d tokens", res, n)
		}
		return err
	})

	bulk, bulkTook, bulkWAL := during(b, db, func() error {
		revoked, err := db.RevokeTokens(ctx, tokenadmin.BulkRevoke{ClientID: "seed-app-0", Actor: "bench", Reason: "bulk"})
		if err == nil && revoked != 100_000 {
			err = fmt.Errorf("RevokeTokens = %d; want 100000", revoked)
		}
		return err
	})

	// The checkpoint phase needs a checkpointer ("off" has none).
	var (
		ckpt     latencies
		ckptTook time.Duration
	)
	if variant != "off" {
		// A reader holds the checkpoint back while a large transaction goes
		// into the WAL; the writers start, the reader lets go, and the
		// checkpointer's next round copies all of it.
		raw := rawDB(b, path)
		reader, err := raw.Conn(ctx)
		if err != nil {
			b.Fatal(err)
		}
		var one int
		if _, err := reader.ExecContext(ctx, `BEGIN`); err != nil {
			b.Fatal(err)
		}
		if err := reader.QueryRowContext(ctx, `SELECT count(*) FROM apps`).Scan(&one); err != nil {
			b.Fatal(err)
		}
		res, err := raw.ExecContext(ctx, `UPDATE tokens SET scope = 'checkpoint ' || id WHERE user_name LIKE 'live%'`)
		if err != nil {
			b.Fatal(err)
		}
		if rows, _ := res.RowsAffected(); rows != 100_000 {
			b.Fatalf("big update: %d rows, want 100000", rows)
		}
		// The checkpointer records what is left after each round.
		for deadline := time.Now().Add(time.Minute); db.CheckpointPending() < 1000; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				b.Fatal("the checkpointer never saw the big WAL")
			}
		}
		ckpt, ckptTook, _ = during(b, db, func() error {
			if _, err := reader.ExecContext(ctx, `COMMIT`); err != nil {
				return err
			}
			reader.Close()
			deadline := time.Now().Add(time.Minute)
			for db.CheckpointPending() >= 1000 {
				if time.Now().After(deadline) {
					return fmt.Errorf("the checkpoint did not catch up in a minute (%d frames left)", db.CheckpointPending())
				}
				time.Sleep(time.Millisecond)
			}
			return nil
		})
	}
	b.StopTimer()

	fsync.report(b, "fsync")
	alone.report(b, "alone")
	purge.report(b, "purge")
	bulk.report(b, "bulk")
	if ckpt != nil {
		ckpt.report(b, "ckpt")
	}
	b.ReportMetric(purgeTook.Seconds(), "purge-s")
	b.ReportMetric(bulkTook.Seconds(), "bulk-s")
	b.ReportMetric(ckptTook.Seconds(), "ckpt-s")
	b.ReportMetric(purgeWAL, "purge-wal-peak-MiB")
	b.ReportMetric(bulkWAL, "bulk-wal-peak-MiB")
	b.ReportMetric(float64(db.LongestCheckpoint().Milliseconds()), "checkpoint-longest-ms")
	b.ReportMetric(float64(db.LongestRestart().Microseconds())/1000, "restart-longest-ms")
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
}
