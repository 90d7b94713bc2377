package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"tokenadmin"
)

// CreateUser adds a user; an existing name is CodeConflict. The password
// hash is made by the caller (package auth).
func (db *DB) CreateUser(ctx context.Context, u tokenadmin.User) error {
	return db.createUser(ctx, u, nil)
}

// createUser inserts u with its sealed digest credential (nil: none).
func (db *DB) createUser(ctx context.Context, u tokenadmin.User, sealedDigest []byte) error {
	if u.Name == "" || !u.Role.Valid() || u.PasswordHash == "" {
		return tokenadmin.Errorf(tokenadmin.CodeInvalid, "user needs a name, a role (admin, auditor or user) and a password")
	}
	err := db.audited(ctx, func(ctx context.Context, c conn) error {
		now := ms(db.now())
		_, err := c.ExecContext(ctx, `INSERT INTO users (name, role, password_hash, wss_digest, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?)`, u.Name, string(u.Role), u.PasswordHash, sealedDigest, now, now)
		if isUnique(err) {
			return tokenadmin.Errorf(tokenadmin.CodeConflict, "user %q already exists", u.Name)
		}
		return err
	}, func() string { return u.Name }, nil)
	return wrapErr("create user", err)
}

// SetPassword replaces a user's password hash and clears their
// WS-Security digest credential, if any (wssdigest.go); unknown is
// CodeNotFound.
func (db *DB) SetPassword(ctx context.Context, name, passwordHash string) error {
	return wrapErr("set password", db.updateUser(ctx, name, `password_hash = ?, wss_digest = NULL`, passwordHash))
}

// SetRole changes a user's role; unknown is CodeNotFound.
func (db *DB) SetRole(ctx context.Context, name string, role tokenadmin.Role) error {
	if !role.Valid() {
		return tokenadmin.Errorf(tokenadmin.CodeInvalid, "role must be admin, auditor or user")
	}
	return wrapErr("set role", db.updateUser(ctx, name, `role = ?`, string(role)))
}

func (db *DB) updateUser(ctx context.Context, name, set string, values ...any) error {
	return db.audited(ctx, func(ctx context.Context, c conn) error {
		args := append(values, ms(db.now()), name)
		res, err := c.ExecContext(ctx, `UPDATE users SET `+set+`, updated_at = ? WHERE name = ?`, args...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			if err != nil {
				return err
			}
			return tokenadmin.Errorf(tokenadmin.CodeNotFound, "user %q not found", name)
		}
		return nil
	}, func() string { return name }, nil)
}

// GetUser returns a user with its password hash; unknown is CodeNotFound.
func (db *DB) GetUser(ctx context.Context, name string) (*tokenadmin.User, error) {
	var u tokenadmin.User
	var role string
	err := db.read.QueryRowContext(ctx, `SELECT name, role, password_hash FROM users WHERE name = +?`, name).
		Scan(&u.Name, &role, &u.PasswordHash)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, tokenadmin.Errorf(tokenadmin.CodeNotFound, "user %q not found", name)
	}
	if err != nil {
		return nil, fmt.Errorf("store: get user: %w", err)
	}
	u.Role = tokenadmin.Role(role)
	return &u, nil
}

// CountUsers returns how many users exist.
func (db *DB) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count users: %w", err)
	}
	return n, nil
}

// UsersEpoch returns a number that changes whenever any process adds,
// changes or deletes a user (triggers maintain it), so credential caches
// know when to forget.
func (db *DB) UsersEpoch(ctx context.Context) (int64, error) {
	var v int64
	if err := db.read.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'users_epoch'`).Scan(&v); err != nil {
		return 0, fmt.Errorf("store: users epoch: %w", err)
	}
	return v, nil
}

// wrapErr keeps domain errors as they are and labels internal ones.
func wrapErr(op string, err error) error {
	if err == nil || tokenadmin.ErrorCode(err) != tokenadmin.CodeInternal {
		return err
	}
	return fmt.Errorf("store: %s: %w", op, err)
}
