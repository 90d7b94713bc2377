package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"tokenadmin"
)

// CreateApp registers an app. An empty ClientID gets a random one; an
// existing ClientID is CodeConflict. The stored app is returned.
func (db *DB) CreateApp(ctx context.Context, a tokenadmin.App) (*tokenadmin.App, error) {
	if a.Name == "" {
		return nil, tokenadmin.Errorf(tokenadmin.CodeInvalid, "app name is required")
	}
	if a.ClientID == "" {
		id, err := db.randomString(15)
		if err != nil {
			return nil, err
		}
		a.ClientID = id
	}
	a.CreatedAt = fromMS(ms(db.now()))
	err := db.update(ctx, func(ctx context.Context, c conn) error {
		_, err := c.ExecContext(ctx, `INSERT INTO apps (client_id, name, owner, created_at) VALUES (?, ?, ?, ?)`,
			a.ClientID, a.Name, a.Owner, ms(a.CreatedAt))
		if isUnique(err) {
			return tokenadmin.Errorf(tokenadmin.CodeConflict, "app %q already exists", a.ClientID)
		}
		return err
	})
	if err != nil {
		return nil, wrapErr("create app", err)
	}
	return &a, nil
}

// GetApp returns an app by client ID; unknown is CodeNotFound.
func (db *DB) GetApp(ctx context.Context, clientID string) (*tokenadmin.App, error) {
	var (
		a       tokenadmin.App
		created int64
	)
	err := db.read.QueryRowContext(ctx, `SELECT client_id, name, owner, created_at FROM apps WHERE client_id = ?`, clientID).
		Scan(&a.ClientID, &a.Name, &a.Owner, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, tokenadmin.Errorf(tokenadmin.CodeNotFound, "app %q not found", clientID)
	}
	if err != nil {
		return nil, fmt.Errorf("store: get app: %w", err)
	}
	a.CreatedAt = fromMS(created)
	return &a, nil
}
