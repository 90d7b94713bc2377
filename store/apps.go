package store

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"tokenadmin"
)

var _ tokenadmin.AppStore = (*DB)(nil)

// appColumns are read by scanApp, in this order.
const appColumns = `client_id, name, owner, created_at, grant_types, scopes, access_ttl, refresh_ttl,
	rotate_refresh, introspect, state, secret_hash IS NOT NULL`

// scanApp reads appColumns, then any extra columns into extra.
func scanApp(r rowScanner, extra ...any) (*tokenadmin.App, error) {
	var (
		a                          tokenadmin.App
		created, access, refresh   int64
		grants, scopes, state      string
		rotate, introspect, secret bool
	)
	dest := []any{&a.ClientID, &a.Name, &a.Owner, &created, &grants, &scopes, &access, &refresh,
		&rotate, &introspect, &state, &secret}
	if err := r.Scan(append(dest, extra...)...); err != nil {
		return nil, err
	}
	a.CreatedAt = fromMS(created)
	a.GrantTypes, a.Scopes = strings.Fields(grants), strings.Fields(scopes)
	a.AccessTTL, a.RefreshTTL = time.Duration(access)*time.Second, time.Duration(refresh)*time.Second
	a.RotateRefresh, a.Introspect, a.HasSecret = rotate, introspect, secret
	a.State = tokenadmin.AppState(state)
	return &a, nil
}

// CreateApp registers an app without a client secret (it cannot use the
// token endpoint; tokens are issued to it by the CLI or imports). An empty
// ClientID gets a random one; an existing ClientID is CodeConflict.
func (db *DB) CreateApp(ctx context.Context, a tokenadmin.App) (*tokenadmin.App, error) {
	out, _, err := db.insertApp(ctx, a, false)
	return out, err
}

// RegisterApp implements tokenadmin.AppStore.
func (db *DB) RegisterApp(ctx context.Context, a tokenadmin.App) (*tokenadmin.App, string, error) {
	a.State = tokenadmin.AppActive
	return db.insertApp(ctx, a, true)
}

func (db *DB) insertApp(ctx context.Context, a tokenadmin.App, withSecret bool) (*tokenadmin.App, string, error) {
	if a.Name == "" {
		return nil, "", tokenadmin.Errorf(tokenadmin.CodeInvalid, "app name is required")
	}
	if a.ClientID == "" {
		id, err := db.randomID(15)
		if err != nil {
			return nil, "", err
		}
		a.ClientID = id
	}
	var (
		secret string
		hash   []byte
	)
	if withSecret {
		s, err := db.randomString(32)
		if err != nil {
			return nil, "", err
		}
		secret, hash, a.HasSecret = s, db.secretHash(a.ClientID, s), true
	}
	if a.State == "" {
		a.State = tokenadmin.AppActive
	}
	a.CreatedAt = fromMS(ms(db.now()))
	err := db.audited(ctx, func(ctx context.Context, c conn) error {
		_, err := c.ExecContext(ctx, `INSERT INTO apps (client_id, name, owner, created_at, secret_hash, grant_types,
			scopes, access_ttl, refresh_ttl, rotate_refresh, introspect, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			a.ClientID, a.Name, a.Owner, ms(a.CreatedAt), hash, strings.Join(a.GrantTypes, " "),
			strings.Join(a.Scopes, " "), int64(a.AccessTTL/time.Second), int64(a.RefreshTTL/time.Second),
			a.RotateRefresh, a.Introspect, string(a.State))
		if isUnique(err) {
			return tokenadmin.Errorf(tokenadmin.CodeConflict, "app %q already exists", a.ClientID)
		}
		return err
	}, func() string { return a.ClientID }, nil)
	if err != nil {
		return nil, "", wrapErr("create app", err)
	}
	return &a, secret, nil
}

// errAppNotFound is the error for an unknown client ID. It does not echo
// the ID: a caller may have put a secret or a token value in that field,
// and the message reaches faults, logs and the audit log.
func errAppNotFound() error {
	return tokenadmin.Errorf(tokenadmin.CodeNotFound, "app not found")
}

// secretHash is the stored form of a client secret, bound to its client.
// Secrets are 256 random bits, so a keyed hash is as strong as a slow
// password hash here, and checking one costs a microsecond.
func (db *DB) secretHash(clientID, secret string) []byte {
	m := hmac.New(sha256.New, db.key)
	m.Write([]byte("client secret\x00"))
	m.Write([]byte(clientID))
	m.Write([]byte{0})
	m.Write([]byte(secret))
	return m.Sum(nil)
}

// GetApp returns an app by client ID; unknown or deleted is CodeNotFound.
func (db *DB) GetApp(ctx context.Context, clientID string) (*tokenadmin.App, error) {
	a, err := scanApp(db.read.QueryRowContext(ctx, `SELECT `+appColumns+` FROM apps WHERE client_id = +? AND state != 'deleted'`, clientID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errAppNotFound()
	}
	if err != nil {
		return nil, fmt.Errorf("store: get app: %w", err)
	}
	return a, nil
}

// ListApps implements tokenadmin.AppStore.
func (db *DB) ListApps(ctx context.Context, owner string) ([]*tokenadmin.App, error) {
	q, args := `SELECT `+appColumns+` FROM apps WHERE state != 'deleted' ORDER BY name, client_id`, []any{}
	if owner != "" {
		q, args = `SELECT `+appColumns+` FROM apps WHERE owner = ? AND state != 'deleted' ORDER BY name, client_id`, []any{owner}
	}
	rows, err := db.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list apps: %w", err)
	}
	defer rows.Close()
	var apps []*tokenadmin.App
	for rows.Next() {
		a, err := scanApp(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list apps: %w", err)
		}
		apps = append(apps, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list apps: %w", err)
	}
	return apps, nil
}

// UpdateApp implements tokenadmin.AppStore. New lifetimes apply to tokens
// issued afterwards; tokens already issued keep theirs.
func (db *DB) UpdateApp(ctx context.Context, clientID string, u tokenadmin.AppUpdate) (*tokenadmin.App, error) {
	var out *tokenadmin.App
	err := db.audited(ctx, func(ctx context.Context, c conn) error {
		cur, err := scanApp(c.QueryRowContext(ctx, `SELECT `+appColumns+` FROM apps WHERE client_id = ? AND state != 'deleted'`, clientID))
		if errors.Is(err, sql.ErrNoRows) {
			return errAppNotFound()
		}
		if err != nil {
			return err
		}
		a := u.Apply(*cur)
		_, err = c.ExecContext(ctx, `UPDATE apps SET name = ?, owner = ?, grant_types = ?, scopes = ?, access_ttl = ?,
			refresh_ttl = ?, rotate_refresh = ?, introspect = ? WHERE client_id = ?`,
			a.Name, a.Owner, strings.Join(a.GrantTypes, " "), strings.Join(a.Scopes, " "),
			int64(a.AccessTTL/time.Second), int64(a.RefreshTTL/time.Second), a.RotateRefresh, a.Introspect, clientID)
		out = &a
		return err
	}, func() string { return clientID }, nil)
	if err != nil {
		return nil, wrapErr("update app", err)
	}
	return out, nil
}

// SetAppState implements tokenadmin.AppStore. The state changes first, so
// that no token is issued to a disabled app while its tokens are revoked.
func (db *DB) SetAppState(ctx context.Context, clientID string, state tokenadmin.AppState, actor string) (int, error) {
	if state != tokenadmin.AppActive && state != tokenadmin.AppDisabled {
		return 0, tokenadmin.Errorf(tokenadmin.CodeInvalid, "state must be active or disabled")
	}
	if state == tokenadmin.AppActive {
		return db.changeApp(ctx, clientID, `state = 'active'`, nil, actor, "", false)
	}
	return db.changeApp(ctx, clientID, `state = 'disabled'`, nil, actor, tokenadmin.ReasonAppDisabled, true)
}

// DeleteApp implements tokenadmin.AppStore.
func (db *DB) DeleteApp(ctx context.Context, clientID, actor string) (int, error) {
	return db.changeApp(ctx, clientID, `state = 'deleted', secret_hash = NULL`, nil, actor, tokenadmin.ReasonAppDeleted, true)
}

// RegenerateSecret implements tokenadmin.AppStore.
func (db *DB) RegenerateSecret(ctx context.Context, clientID, actor string) (string, int, error) {
	secret, err := db.randomString(32)
	if err != nil {
		return "", 0, err
	}
	n, err := db.changeApp(ctx, clientID, `secret_hash = ?`, []any{db.secretHash(clientID, secret)}, actor, tokenadmin.ReasonSecretRotated, true)
	if err != nil {
		return "", n, err
	}
	return secret, n, nil
}

// changeApp updates an app and, if revoke is set, kills every grant it had
// so far in the same write (the watermark of migration 0003: from then on
// none of those tokens is listed, introspected as active or refreshed,
// even if a refresh adds to an old family). It then records the
// revocation token by token, in chunks, to the end even if ctx ends.
//
// The audit event ctx carries, if any, is recorded in the app's write when
// no token needs revoking, and otherwise by the last chunk, with the count.
func (db *DB) changeApp(ctx context.Context, clientID, set string, args []any, actor, reason string, revoke bool) (int, error) {
	var appID, maxID int64
	ev := tokenadmin.AuditFrom(ctx)
	write := db.update
	if ev != nil {
		write = db.updateMulti
	}
	err := write(ctx, func(ctx context.Context, c conn) error {
		err := c.QueryRowContext(ctx, `SELECT id FROM apps WHERE client_id = ? AND state != 'deleted'`, clientID).Scan(&appID)
		if errors.Is(err, sql.ErrNoRows) {
			return errAppNotFound()
		}
		if err != nil {
			return err
		}
		if err := c.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM tokens`).Scan(&maxID); err != nil {
			return err
		}
		if revoke {
			set += `, revoked_below = ?, revoke_reason = ?`
			args = append(args, maxID, reason)
		}
		_, err = c.ExecContext(ctx, `UPDATE apps SET `+set+` WHERE id = ?`, append(args, appID)...)
		if err != nil || (revoke && maxID > 0) {
			return err
		}
		return db.recordSuccess(ctx, c, ev, clientID, 0)
	})
	if err != nil || !revoke || maxID == 0 {
		return 0, wrapErr("change app", err)
	}
	return db.revokeChunked(context.WithoutCancel(ctx), "", appID, maxID, actor, reason, ev)
}

// AuthenticateClient implements tokenadmin.OAuthStore. It costs the same
// whether the client exists or not, and compares in constant time.
func (db *DB) AuthenticateClient(ctx context.Context, clientID, secret string) (*tokenadmin.App, error) {
	var stored []byte
	a, err := scanApp(db.read.QueryRowContext(ctx, `SELECT `+appColumns+`, secret_hash FROM apps WHERE client_id = +?`, clientID), &stored)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: authenticate client: %w", err)
	}
	ok := hmac.Equal(db.secretHash(clientID, secret), stored) // false for a missing secret
	if err != nil || !ok || a.State != tokenadmin.AppActive {
		return nil, tokenadmin.Errorf(tokenadmin.CodeUnauthenticated, "client authentication failed")
	}
	return a, nil
}

// SetClientSecret stores secret as the app's client secret (its keyed
// hash, like a generated one). It is for imports: WSO2 exports consumer
// secrets in plain text, and keeping them lets existing clients go on
// authenticating. An unknown or deleted app is CodeNotFound.
func (db *DB) SetClientSecret(ctx context.Context, clientID, secret string) error {
	if secret == "" {
		return tokenadmin.Errorf(tokenadmin.CodeInvalid, "empty client secret")
	}
	err := db.audited(ctx, func(ctx context.Context, c conn) error {
		res, err := c.ExecContext(ctx, `UPDATE apps SET secret_hash = ? WHERE client_id = ? AND state != 'deleted'`,
			db.secretHash(clientID, secret), clientID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			if err != nil {
				return err
			}
			return errAppNotFound()
		}
		return nil
	}, func() string { return clientID }, nil)
	return wrapErr("set client secret", err)
}
