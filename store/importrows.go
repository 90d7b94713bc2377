package store

import (
	"context"
	"crypto/hmac"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mattn/go-sqlite3"

	"tokenadmin"
)

// Streaming imports of tokenadmin's own export format (users, apps,
// tokens): the caller reads its file in batches and hands each batch to
// ImportUsers, ImportApps or ImportTokenRows, which write it in one
// transaction together with the caller's checkpoint, so that an
// interrupted import resumes exactly after the last batch written. Rows
// are matched by their natural key (users by name, apps by client ID,
// tokens by hash): a row already stored with the same data is reported
// present, one stored with other data is skipped, never overwritten.
//
// The audit event ctx carries (tokenadmin.WithAudit, action
// tokenadmin.AuditImport), if any, is recorded once per batch, in the
// batch's own transaction, counting the rows the batch imported: a batch
// committed always has its record, and a resumed import never records
// again the batches committed before it stopped.

// ImportStatus is what an import did with one row.
type ImportStatus uint8

// Row outcomes.
const (
	RowImported ImportStatus = iota // written
	RowPresent                      // already stored with the same data
	RowSkipped                      // not written; Reason says why
)

// ImportOutcome is the outcome of one row of a batch.
type ImportOutcome struct {
	Status ImportStatus
	// Reason is a short, fixed phrase (one of the Skip* constants) so
	// that callers can group skips; Detail adds the row's specifics.
	Reason, Detail string
}

// Why a row of a streaming import is skipped (besides SkipBadHash).
const (
	SkipDifferent     = "exists with different data"
	SkipNoApp         = "unknown app"
	SkipDeletedApp    = "app was deleted"
	SkipRole          = "role not supported by this database"
	SkipGrantMismatch = "grant spans apps or users"
)

// ImportCheckpoint is written in the same transaction as a batch.
type ImportCheckpoint struct {
	Key string // a name of the caller's choosing; stored in the meta table
	// Value is called inside the transaction with the batch's outcomes, in
	// row order, and returns what to store under Key; "" deletes it.
	Value func(outcomes []ImportOutcome) string
}

// importMetaPrefix namespaces checkpoints in the meta table.
const importMetaPrefix = "import_checkpoint:"

// ImportCheckpointValue returns what the last batch stored under key, or
// "" if nothing is stored.
func (db *DB) ImportCheckpointValue(ctx context.Context, key string) (string, error) {
	var v string
	err := db.read.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, importMetaPrefix+key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("store: import checkpoint: %w", err)
	}
	return v, nil
}

// ClearImportCheckpoint deletes the checkpoint stored under key, if any.
func (db *DB) ClearImportCheckpoint(ctx context.Context, key string) error {
	err := db.update(ctx, func(ctx context.Context, c conn) error {
		_, err := c.ExecContext(ctx, `DELETE FROM meta WHERE key = ?`, importMetaPrefix+key)
		return err
	})
	return wrapErr("clear import checkpoint", err)
}

func writeCheckpoint(ctx context.Context, c conn, cp *ImportCheckpoint, out []ImportOutcome) error {
	if cp == nil {
		return nil
	}
	if v := cp.Value(out); v != "" {
		_, err := c.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES (?, ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value`, importMetaPrefix+cp.Key, v)
		return err
	}
	_, err := c.ExecContext(ctx, `DELETE FROM meta WHERE key = ?`, importMetaPrefix+cp.Key)
	return err
}

// importBatch runs one batch, its audit record (if ctx carries an event)
// and its checkpoint in one transaction. finish, if not nil, runs after
// the rows and before the checkpoint.
func (db *DB) importBatch(ctx context.Context, what string, n int, cp *ImportCheckpoint,
	one func(ctx context.Context, c conn, i int) (ImportOutcome, error), finish func()) ([]ImportOutcome, error) {
	var out []ImportOutcome
	ev := tokenadmin.AuditFrom(ctx) // the writer's ctx does not carry it
	err := db.updateMulti(ctx, func(ctx context.Context, c conn) error {
		out = make([]ImportOutcome, n)
		for i := range n {
			o, err := one(ctx, c, i)
			if err != nil {
				return err
			}
			out[i] = o
		}
		if finish != nil {
			finish()
		}
		imported := 0
		for _, o := range out {
			if o.Status == RowImported {
				imported++
			}
		}
		if err := db.recordSuccess(ctx, c, ev, "", imported); err != nil {
			return err
		}
		return writeCheckpoint(ctx, c, cp, out)
	})
	if err != nil {
		return nil, fmt.Errorf("store: import %s: %w", what, err)
	}
	return out, nil
}

func skipped(reason, format string, args ...any) ImportOutcome {
	return ImportOutcome{Status: RowSkipped, Reason: reason, Detail: fmt.Sprintf(format, args...)}
}

// ImportedUser is a user to import. PasswordHash is an argon2id PHC string
// (package auth), made or checked by the caller.
type ImportedUser struct {
	Name         string
	Role         tokenadmin.Role
	PasswordHash string
}

// ImportUsers stores users, one batch in one transaction with cp (which
// may be nil) and ctx's audit event. A user whose name exists is RowPresent if role and
// password hash are the same, otherwise RowSkipped (SkipDifferent). A
// role the database's schema refuses is RowSkipped (SkipRole). Errors
// are the database's; no row of the batch is written then.
func (db *DB) ImportUsers(ctx context.Context, rows []ImportedUser, cp *ImportCheckpoint) ([]ImportOutcome, error) {
	return db.importBatch(ctx, "users", len(rows), cp, func(ctx context.Context, c conn, i int) (ImportOutcome, error) {
		u := &rows[i]
		var role, hash string
		err := c.QueryRowContext(ctx, `SELECT role, password_hash FROM users WHERE name = ?`, u.Name).Scan(&role, &hash)
		if err == nil {
			if role == string(u.Role) && subtle.ConstantTimeCompare([]byte(hash), []byte(u.PasswordHash)) == 1 {
				return ImportOutcome{Status: RowPresent}, nil
			}
			return skipped(SkipDifferent, "user %q", u.Name), nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return ImportOutcome{}, err
		}
		now := ms(db.now())
		_, err = c.ExecContext(ctx, `INSERT INTO users (name, role, password_hash, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?)`, u.Name, string(u.Role), u.PasswordHash, now, now)
		var se sqlite3.Error
		if errors.As(err, &se) && se.ExtendedCode == sqlite3.ErrConstraintCheck {
			return skipped(SkipRole, "role %q", u.Role), nil
		}
		if err != nil {
			return ImportOutcome{}, err
		}
		return ImportOutcome{Status: RowImported}, nil
	}, nil)
}

// ImportedApp is an app to import with, optionally, its client secret
// (stored as the keyed hash a generated secret gets).
type ImportedApp struct {
	App    tokenadmin.App
	Secret string
}

// ImportApps stores apps, one batch in one transaction with cp (which may
// be nil) and ctx's audit event. An app whose client ID exists is RowPresent if its policy
// (name, owner, grant types, scopes, lifetimes, rotation, introspection,
// state) and secret are the same, otherwise RowSkipped (SkipDifferent);
// a present app without a secret gets the row's. A deleted app's client
// ID is never reused (SkipDeletedApp). The caller validates the policy
// (tokenadmin.ValidateAppPolicy). Errors are the database's; no row of
// the batch is written then.
func (db *DB) ImportApps(ctx context.Context, rows []ImportedApp, cp *ImportCheckpoint) ([]ImportOutcome, error) {
	return db.importBatch(ctx, "apps", len(rows), cp, func(ctx context.Context, c conn, i int) (ImportOutcome, error) {
		in := &rows[i]
		a := in.App
		if a.State == "" {
			a.State = tokenadmin.AppActive
		}
		var secret []byte
		have, err := scanApp(c.QueryRowContext(ctx, `SELECT `+appColumns+`, secret_hash FROM apps WHERE client_id = ?`, a.ClientID), &secret)
		switch {
		case err == nil && have.State == "deleted":
			return skipped(SkipDeletedApp, "app %q", a.ClientID), nil
		case err == nil:
			if !sameApp(have, &a) || (in.Secret != "" && secret != nil && !hmac.Equal(secret, db.secretHash(a.ClientID, in.Secret))) {
				return skipped(SkipDifferent, "app %q", a.ClientID), nil
			}
			if in.Secret != "" && secret == nil {
				// An earlier import, or a run of WSO2's, created it without.
				_, err := c.ExecContext(ctx, `UPDATE apps SET secret_hash = ? WHERE client_id = ?`,
					db.secretHash(a.ClientID, in.Secret), a.ClientID)
				if err != nil {
					return ImportOutcome{}, err
				}
			}
			return ImportOutcome{Status: RowPresent}, nil
		case !errors.Is(err, sql.ErrNoRows):
			return ImportOutcome{}, err
		}
		var hash []byte
		if in.Secret != "" {
			hash = db.secretHash(a.ClientID, in.Secret)
		}
		_, err = c.ExecContext(ctx, `INSERT INTO apps (client_id, name, owner, created_at, secret_hash, grant_types,
			scopes, access_ttl, refresh_ttl, rotate_refresh, introspect, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			a.ClientID, a.Name, a.Owner, ms(db.now()), hash, strings.Join(a.GrantTypes, " "),
			strings.Join(a.Scopes, " "), int64(a.AccessTTL/time.Second), int64(a.RefreshTTL/time.Second),
			a.RotateRefresh, a.Introspect, string(a.State))
		if err != nil {
			return ImportOutcome{}, err
		}
		return ImportOutcome{Status: RowImported}, nil
	}, nil)
}

// sameApp compares the policy an import sets.
func sameApp(have, want *tokenadmin.App) bool {
	return have.Name == want.Name && have.Owner == want.Owner &&
		slices.Equal(have.GrantTypes, want.GrantTypes) && slices.Equal(have.Scopes, want.Scopes) &&
		have.AccessTTL == want.AccessTTL && have.RefreshTTL == want.RefreshTTL &&
		have.RotateRefresh == want.RotateRefresh && have.Introspect == want.Introspect &&
		have.State == want.State
}

// ImportedTokenRow is one token of tokenadmin's import format. Its value
// is given as Value (plain) or ExtHash (SHA-256 of the value, lower hex,
// as WSO2's ACCESS_TOKEN_HASH); with both, Value wins.
type ImportedTokenRow struct {
	Value, ExtHash string
	Type           tokenadmin.TokenType
	ClientID       string
	User           string
	Scopes         []string
	GrantType      string
	IssuedAt       time.Time
	ExpiresAt      time.Time
	// Expired marks a token that expired before its ExpiresAt (WSO2's
	// EXPIRED state): it expires at the store's now at the latest.
	Expired bool
	// Revoked marks a revoked token, revoked at RevokedAt (zero: now) by
	// ImportActor, for RevokeReason (empty: ReasonImportedRevoke).
	Revoked      bool
	RevokedAt    time.Time
	RevokeReason string
	// Grant groups the tokens of one grant (an access token and the
	// refresh token issued with it, …): a row whose Grant equals the
	// previous row's joins its family, so that revoking the refresh token
	// revokes them all. Empty: a grant of its own.
	Grant string
}

// ImportGrant carries the grant of the last row of a batch into the next
// batch (and, through the caller's checkpoint, across a resumption).
type ImportGrant struct {
	Label  string `json:"label,omitempty"`
	Family int64  `json:"family,omitempty"`
	AppID  int64  `json:"app,omitempty"`
	User   string `json:"user,omitempty"`
}

// ImportTokenRows stores tokens, one batch in one transaction with cp
// (which may be nil) and ctx's audit event. prev is the grant of the row before the batch; it is
// updated to the grant of the batch's last row before cp.Value is called
// (so that the checkpoint can record it), and left as it was if the batch
// fails. A token already stored (by value or by SHA-256, whichever
// the row gives) is RowPresent if it belongs to the same app, user and
// type, otherwise RowSkipped (SkipDifferent). Unknown or deleted apps,
// malformed hashes and rows that join a grant of another app or user are
// RowSkipped. Tokens whose expiry has passed are stored as expired.
// Errors are the database's; no row of the batch is written then.
func (db *DB) ImportTokenRows(ctx context.Context, rows []ImportedTokenRow, prev *ImportGrant, cp *ImportCheckpoint) ([]ImportOutcome, error) {
	old := *prev
	g := old
	out, err := db.importBatch(ctx, "tokens", len(rows), cp, func(ctx context.Context, c conn, i int) (ImportOutcome, error) {
		o, err := db.importTokenRow(ctx, c, &rows[i], &g)
		if o.Status == RowSkipped {
			g = ImportGrant{Label: rows[i].Grant}
		}
		return o, err
	}, func() { *prev = g })
	if err != nil {
		*prev = old
	}
	return out, err
}

func (db *DB) importTokenRow(ctx context.Context, c conn, t *ImportedTokenRow, g *ImportGrant) (ImportOutcome, error) {
	if t.Value == "" && t.ExtHash == "" {
		return skipped(SkipNoValue, "no value or hash"), nil
	}
	hash, ext, err := db.importKey(t.Value, t.ExtHash)
	if err != nil {
		return skipped(SkipBadHash, "hash is not 64 hex digits"), nil
	}
	var appID int64
	var appState string
	err = c.QueryRowContext(ctx, `SELECT id, state FROM apps WHERE client_id = ?`, t.ClientID).Scan(&appID, &appState)
	if errors.Is(err, sql.ErrNoRows) {
		return skipped(SkipNoApp, "unknown app %q", t.ClientID), nil
	}
	if err != nil {
		return ImportOutcome{}, err
	}
	if appState == "deleted" {
		return skipped(SkipDeletedApp, "app %q was deleted", t.ClientID), nil
	}
	var (
		haveApp, haveFamily int64
		haveUser, haveType  string
	)
	err = c.QueryRowContext(ctx, `SELECT app_id, user_name, type, family_id FROM tokens WHERE hash = ?`, hash).
		Scan(&haveApp, &haveUser, &haveType, &haveFamily)
	if errors.Is(err, sql.ErrNoRows) && prefixKeyed(t.Value) { // perhaps issued here, in hashValue's prefixed form
		err = c.QueryRowContext(ctx, `SELECT app_id, user_name, type, family_id FROM tokens WHERE hash = ?`,
			append([]byte(t.Value[:7]), hash...)).Scan(&haveApp, &haveUser, &haveType, &haveFamily)
	}
	if errors.Is(err, sql.ErrNoRows) && ext != nil {
		err = c.QueryRowContext(ctx, `SELECT app_id, user_name, type, family_id FROM tokens WHERE ext_hash = ?`, ext).
			Scan(&haveApp, &haveUser, &haveType, &haveFamily)
	}
	switch {
	case err == nil:
		if haveApp != appID || haveUser != t.User || haveType != string(t.Type) {
			return skipped(SkipDifferent, "token of app %q, user %q", t.ClientID, t.User), nil
		}
		// Later rows of its grant join the family it was stored in.
		*g = ImportGrant{Label: t.Grant, Family: haveFamily, AppID: appID, User: t.User}
		return ImportOutcome{Status: RowPresent}, nil
	case !errors.Is(err, sql.ErrNoRows):
		return ImportOutcome{}, err
	}
	joins := t.Grant != "" && t.Grant == g.Label && g.Family != 0
	if joins && (g.AppID != appID || g.User != t.User) {
		return skipped(SkipGrantMismatch, "grant %q", t.Grant), nil
	}
	var id int64
	if err := c.QueryRowContext(ctx, nextTokenIDSQL).Scan(&id); err != nil {
		return ImportOutcome{}, err
	}
	family := id
	if joins {
		family = g.Family
	}
	tokenID, err := db.newTokenID()
	if err != nil {
		return ImportOutcome{}, err
	}
	now := ms(db.now())
	var revokedAt, revokedBy, reason any
	if t.Revoked {
		at, why := now, t.RevokeReason
		if !t.RevokedAt.IsZero() {
			at = ms(t.RevokedAt)
		}
		if why == "" {
			why = ReasonImportedRevoke
		}
		revokedAt, revokedBy, reason = at, ImportActor, why
	}
	expires, expired := ms(t.ExpiresAt), 0
	if t.Expired {
		expires = min(expires, now)
	}
	if expires <= now {
		expired = 1 // swept at once: it never enters the live indexes
	}
	_, err = c.ExecContext(ctx, `INSERT INTO tokens (id, token_id, hash, ext_hash, type, app_id, user_name,
		scope, grant_type, family_id, issued_at, expires_at, revoked_at, revoked_by, revoke_reason, expired)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		id, tokenID, hash, ext, string(t.Type), appID, t.User, strings.Join(t.Scopes, " "), t.GrantType,
		family, ms(t.IssuedAt), expires, revokedAt, revokedBy, reason, expired)
	if err != nil {
		return ImportOutcome{}, err
	}
	*g = ImportGrant{Label: t.Grant, Family: family, AppID: appID, User: t.User}
	return ImportOutcome{Status: RowImported}, nil
}
