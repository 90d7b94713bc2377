package store

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"

	"tokenadmin"
)

var _ tokenadmin.OAuthStore = (*DB)(nil)

// systemActor is revokedBy for what the store revokes by itself. Reuse
// detection needs both it and the reason "rotated", so a person who
// revokes a token "rotated" does not make it look retired by rotation.
const systemActor = "system"

// LookupToken implements tokenadmin.OAuthStore.
func (db *DB) LookupToken(ctx context.Context, value string) (*tokenadmin.Token, error) {
	for _, key := range db.hashKeys(value) {
		if t, err := db.readToken(ctx, lookupTokenSQL, key); tokenadmin.ErrorCode(err) != tokenadmin.CodeTokenNotFound {
			return t, err
		}
	}
	// Perhaps a token imported as a WSO2 hash only (migration 0004).
	return db.readToken(ctx, lookupTokenByExtHashSQL, extHash(value))
}

// refreshLookupSQL reads a refresh token for RefreshTokens; the caller
// appends the key condition.
const refreshLookupSQL = `SELECT t.id, t.type, t.app_id, a.client_id, a.state, t.user_name, t.scope,
	t.grant_type, t.family_id, t.expires_at, t.revoked_at, t.revoke_reason, t.revoked_by,
	t.family_id <= a.revoked_below, a.name, a.scopes
	FROM tokens t JOIN apps a ON a.id = t.app_id WHERE `

// RefreshTokens implements tokenadmin.OAuthStore. Everything happens in one
// write: two concurrent refreshes with one token are serialised, so with
// rotation the second finds the token retired and is treated as reuse.
func (db *DB) RefreshTokens(ctx context.Context, r tokenadmin.RefreshRequest) (*tokenadmin.Issued, error) {
	if r.AccessTTL <= 0 || (r.Rotate && r.RefreshTTL <= 0) {
		return nil, tokenadmin.Errorf(tokenadmin.CodeInvalid, "token lifetimes must be positive")
	}
	invalid := tokenadmin.Errorf(tokenadmin.CodeInvalidGrant, "the refresh token is invalid, expired or revoked")
	var (
		out    *tokenadmin.Issued
		reused bool
	)
	var reuseRevoked int64          // tokens the reuse revoked
	ev := tokenadmin.AuditFrom(ctx) // the writer's ctx does not carry it
	err := db.updateMulti(ctx, func(ctx context.Context, c conn) error {
		var (
			id, appID, family, expires int64
			typ, clientID, appState    string
			user, scope, grant         string
			revokedAt                  sql.NullInt64
			reason, revokedBy          sql.NullString
			killed                     bool
			appName, appScopes         string
		)
		lookup := func(cond string, key any) error {
			return c.QueryRowContext(ctx, refreshLookupSQL+cond, key).
				Scan(&id, &typ, &appID, &clientID, &appState, &user, &scope, &grant, &family, &expires, &revokedAt, &reason, &revokedBy,
					&killed, &appName, &appScopes)
		}
		err := sql.ErrNoRows
		for _, key := range db.hashKeys(r.Value) {
			if err = lookup(`t.hash = +?`, key); !errors.Is(err, sql.ErrNoRows) {
				break
			}
		}
		if errors.Is(err, sql.ErrNoRows) {
			err = lookup(`t.ext_hash = +?`, extHash(r.Value)) // imported as a WSO2 hash only
		}
		// RFC 6749 §6: the refresh token must have been issued to the
		// authenticated client.
		if errors.Is(err, sql.ErrNoRows) || (err == nil && (typ != string(tokenadmin.RefreshToken) || clientID != r.ClientID)) {
			return invalid
		}
		if err != nil {
			return err
		}
		now := db.now()
		if revokedAt.Valid {
			if reason.String != tokenadmin.ReasonRotated || revokedBy.String != systemActor {
				return invalid
			}
			// RFC 9700 §4.14.2: a retired refresh token presented again
			// means it leaked; revoke every token of the grant. This write
			// commits although the request fails.
			reused = true
			res, err := c.ExecContext(ctx, revokeFamilySQL, ms(now), systemActor, tokenadmin.ReasonRefreshReuse, family, ms(now))
			if err == nil {
				reuseRevoked, err = res.RowsAffected()
			}
			if err != nil || ev == nil {
				return err
			}
			var tokenID string
			if err := c.QueryRowContext(ctx, `SELECT token_id FROM tokens WHERE id = +?`, id).Scan(&tokenID); err != nil {
				return err
			}
			return db.recordSuccess(ctx, c, ev, tokenID, int(reuseRevoked))
		}
		if expires <= ms(now) || appState != string(tokenadmin.AppActive) || killed {
			return invalid
		}
		// The grant's scope, less what the app may no longer have.
		allowed := strings.Fields(appScopes)
		original := slices.DeleteFunc(strings.Fields(scope), func(s string) bool { return !slices.Contains(allowed, s) })
		granted := original
		if len(r.Scopes) > 0 {
			// RFC 6749 §6: no scope beyond what the grant had.
			for _, s := range r.Scopes {
				if !slices.Contains(original, s) {
					return tokenadmin.Errorf(tokenadmin.CodeInvalidScope, "scope %q exceeds the original grant", s)
				}
			}
			granted = slices.Compact(slices.Sorted(slices.Values(r.Scopes)))
		}
		issue := tokenadmin.IssueRequest{ClientID: clientID, User: user, Scopes: granted, GrantType: grant}
		out = new(tokenadmin.Issued)
		if out.Access, out.AccessValue, err = db.newToken(tokenadmin.AccessToken, issue, r.AccessTTL); err != nil {
			return err
		}
		var next int64
		if err := c.QueryRowContext(ctx, nextTokenIDSQL).Scan(&next); err != nil {
			return err
		}
		out.Access.AppName = appName
		if err := db.insertToken(ctx, c, next, appID, family, out.Access, out.AccessValue); err != nil {
			return err
		}
		if !r.Rotate {
			return nil
		}
		// RFC 6749 §6: a new refresh token keeps the grant's whole scope;
		// only the access token is narrowed to the request.
		issue.Scopes = original
		if out.Refresh, out.RefreshValue, err = db.newToken(tokenadmin.RefreshToken, issue, r.RefreshTTL); err != nil {
			return err
		}
		out.Refresh.AppName = out.Access.AppName
		if err := db.insertToken(ctx, c, next+1, appID, family, out.Refresh, out.RefreshValue); err != nil {
			return err
		}
		_, err = c.ExecContext(ctx, revokeOneSQL, ms(now), systemActor, tokenadmin.ReasonRotated, id, ms(now))
		return err
	})
	if err != nil {
		return nil, wrapErr("refresh", err)
	}
	if reused {
		db.revoked(ctx, tokenadmin.ReasonRefreshReuse, int(reuseRevoked))
		return nil, invalid
	}
	return out, nil
}
