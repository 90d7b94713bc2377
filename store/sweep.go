package store

import (
	"context"
	"fmt"
	"time"
)

// SweepExpired marks tokens whose expiry has passed (revoked ones too),
// taking them out of the indexes so that listings never step over them. It
// works in chunks of ChunkSize, each a short transaction of its own, and
// returns how many tokens it marked. Correctness never depends on it: every query also
// checks expires_at; the sweep keeps pages O(log n + page size).
func (db *DB) SweepExpired(ctx context.Context) (int, error) {
	total := 0
	for {
		if err := db.yieldToCheckpoint(ctx); err != nil {
			return total, err
		}
		var n int64
		err := db.update(ctx, func(ctx context.Context, c conn) error {
			res, err := c.ExecContext(ctx, sweepSQL, ms(db.now()), db.chunkSize)
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			return err
		})
		if err != nil {
			return total, fmt.Errorf("store: sweep expired: %w", err)
		}
		total += int(n)
		if int(n) < db.chunkSize {
			return total, nil
		}
	}
}

// sweepLoop runs SweepExpired every interval until Close.
func (db *DB) sweepLoop(interval time.Duration) {
	defer close(db.sweepDone)
	db.every(interval, "expiry sweep failed", func(ctx context.Context) error {
		_, err := db.SweepExpired(ctx)
		return err
	})
}

// every runs fn every interval until Close, with a context that ends at
// Close, and logs its errors (but not those of being stopped).
func (db *DB) every(interval time.Duration, failure string, fn func(ctx context.Context) error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-db.closed
		cancel()
	}()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := fn(ctx); err != nil && ctx.Err() == nil && db.log != nil {
				db.log(failure, err)
			}
		}
	}
}
