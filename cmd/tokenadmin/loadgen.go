package main

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// loadResult is what one load run measured.
type loadResult struct {
	Operation string        `json:"operation"`
	Layer     string        `json:"layer"` // "soap", "oauth" or "store"
	Requests  int           `json:"requests"`
	Errors    int           `json:"errors"`
	Elapsed   time.Duration `json:"elapsed_ns"`
	PerSecond float64       `json:"req_per_s"`
	P50       time.Duration `json:"p50_ns"`
	P90       time.Duration `json:"p90_ns"`
	P99       time.Duration `json:"p99_ns"`
	// P999 and Max show stalls that the 99th percentile hides.
	P999 time.Duration `json:"p999_ns"`
	Max  time.Duration `json:"max_ns"`
	// CPUPerOp is the CPU time (user and system, every thread) this whole
	// process spent per request: server and load generator together when
	// in-process. It is what a busy machine distorts least.
	CPUPerOp   time.Duration `json:"cpu_per_op_ns"`
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
	start, cpu0 := time.Now(), processCPU()
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
	elapsed, cpu := time.Since(start), processCPU()-cpu0
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
		r.P999, r.Max = lat[len(lat)*999/1000], lat[len(lat)-1]
		r.CPUPerOp = cpu / time.Duration(len(lat))
	}
	return r
}

// processCPU is the user and system CPU time this process has used; 0
// where getrusage is unavailable.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
