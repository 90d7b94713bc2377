package store

import (
	"context"
	"fmt"
	"time"

	"tokenadmin"
)

// SeedSpec describes synthetic data for demos, load tests and benchmarks.
type SeedSpec struct {
	Users         int           // users named UserPrefix + a 7-digit number
	GrantsPerUser int           // each grant is an access and a refresh token
	Apps          int           // apps "seed-app-N"; grants are spread over them
	UserPrefix    string        // default "user"
	AccessTTL     time.Duration // default 1h
	RefreshTTL    time.Duration // default 24h
}

// seedBatch is how many grants one seeding transaction inserts.
const seedBatch = 5000

// Seed inserts spec's apps and tokens in large transactions. Token values
// are random and thrown away: seeded tokens can be listed and revoked by
// ID, not presented. Seeding the same spec twice adds the tokens again.
func (db *DB) Seed(ctx context.Context, spec SeedSpec) error {
	if spec.UserPrefix == "" {
		spec.UserPrefix = "user"
	}
	if spec.AccessTTL <= 0 {
		spec.AccessTTL = time.Hour
	}
	if spec.RefreshTTL <= 0 {
		spec.RefreshTTL = 24 * time.Hour
	}
	if spec.Apps <= 0 {
		spec.Apps = 1
	}
	appIDs := make([]int64, spec.Apps)
	for i := range appIDs {
		clientID := fmt.Sprintf("seed-app-%d", i)
		_, err := db.CreateApp(ctx, tokenadmin.App{ClientID: clientID, Name: fmt.Sprintf("Seed App %d", i)})
		if err != nil && tokenadmin.ErrorCode(err) != tokenadmin.CodeConflict {
			return err
		}
		if err := db.read.QueryRowContext(ctx, `SELECT id FROM apps WHERE client_id = ?`, clientID).Scan(&appIDs[i]); err != nil {
			return fmt.Errorf("store: seed: %w", err)
		}
	}
	total := spec.Users * spec.GrantsPerUser
	for start := 0; start < total; start += seedBatch {
		if err := db.yieldToCheckpoint(ctx); err != nil {
			return err
		}
		end := min(start+seedBatch, total)
		err := db.updateMulti(ctx, func(ctx context.Context, c conn) error {
			var next int64
			if err := c.QueryRowContext(ctx, nextTokenIDSQL).Scan(&next); err != nil {
				return err
			}
			now := db.now()
			for g := start; g < end; g++ {
				user := fmt.Sprintf("%s%07d", spec.UserPrefix, g/spec.GrantsPerUser)
				app := appIDs[(g/spec.GrantsPerUser+g%spec.GrantsPerUser)%len(appIDs)]
				family := next
				for _, typ := range []struct {
					name string
					ttl  time.Duration
				}{{"access", spec.AccessTTL}, {"refresh", spec.RefreshTTL}} {
					id, err := db.newTokenID()
					if err != nil {
						return err
					}
					value, err := db.randomString(32)
					if err != nil {
						return err
					}
					_, err = c.ExecContext(ctx, `INSERT INTO tokens (id, token_id, hash, type, app_id, user_name,
						scope, grant_type, family_id, issued_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
						next, id, db.hashValue(value), typ.name, app, user, "openid profile", "password",
						family, ms(now), ms(now.Add(typ.ttl)))
					if err != nil {
						return err
					}
					next++
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("store: seed: %w", err)
		}
	}
	return nil
}
