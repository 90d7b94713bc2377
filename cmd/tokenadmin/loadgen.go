package main

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// loadResult is what one load run measured.
type loadResult struct {
	Operation  string        `json:"operation"`
	Layer      string        `json:"layer"` // "soap", "oauth" or "store"
	Requests   int           `json:"requests"`
	Errors     int           `json:"errors"`
	Elapsed    time.Duration `json:"elapsed_ns"`
	PerSecond  float64       `json:"req_per_s"`
	P50        time.Duration `json:"p50_ns"`
	P90        time.Duration `json:"p90_ns"`
	P99        time.Duration `json:"p99_ns"`
	FirstError string        `json:"first_error,omitempty"`
}

// runLoad calls do(0), do(1), … from concurrency goroutines until
// requests calls were made, d has passed (0: no time bound) or ctx ends,
// and measures each call. Failed calls count as errors and in the
// latencies.
func runLoad(ctx context.Context, concurrency, requests int, d time.Duration, do func(i int) error) loadResult {
	lat := make([]time.Duration, requests)
	var next, errs atomic.Int64
	var firstErr atomic.Pointer[string]
	var deadline time.Time
	start := time.Now()
	if d > 0 {
		deadline = start.Add(d)
	}
	var wg sync.WaitGroup
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil && (deadline.IsZero() || time.Now().Before(deadline)) {
				i := int(next.Add(1)) - 1
				if i >= requests {
					return
				}
				t0 := time.Now()
				if err := do(i); err != nil {
					errs.Add(1)
					msg := err.Error()
					firstErr.CompareAndSwap(nil, &msg)
				}
				lat[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	// Every index below next was called (each goroutine checks the
	// bounds before taking one), up to requests.
	lat = lat[:min(int(next.Load()), requests)]
	slices.Sort(lat)
	r := loadResult{Requests: len(lat), Errors: int(errs.Load()), Elapsed: elapsed}
	if p := firstErr.Load(); p != nil {
		r.FirstError = *p
	}
	if len(lat) > 0 {
		r.PerSecond = float64(len(lat)) / elapsed.Seconds()
		r.P50, r.P90, r.P99 = lat[len(lat)/2], lat[len(lat)*90/100], lat[len(lat)*99/100]
	}
	return r
}
