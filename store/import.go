package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"tokenadmin"
)

// ImportedToken is one row of a WSO2 IDN_OAUTH2_ACCESS_TOKEN export: an
// access token and, if the row has one, its refresh token (WIRE.md §9).
// Each value is given as Value (plain) or ExtHash (WSO2's SHA-256, lower
// hex); with both, Value wins.
type ImportedToken struct {
	ClientID  string
	User      string
	Scopes    []string
	GrantType string
	// State is WSO2's TOKEN_STATE: ACTIVE (or empty), REVOKED, INACTIVE,
	// GRACEFULLY_ROTATED or EXPIRED.
	State string

	Value, ExtHash string
	IssuedAt       time.Time
	// Validity is VALIDITY_PERIOD; negative means it never expires.
	Validity time.Duration

	RefreshValue, RefreshExtHash string
	RefreshIssuedAt              time.Time // zero: IssuedAt
	RefreshValidity              time.Duration
}

// ImportResult counts what ImportTokens did.
type ImportResult struct {
	Imported int            // access tokens
	Refresh  int            // refresh tokens
	Skipped  map[string]int // rows skipped, by reason
}

// Why ImportTokens skips a row.
const (
	SkipExists       = "already imported"
	SkipUnknownApp   = "unknown consumer key"
	SkipUnknownState = "unknown TOKEN_STATE"
	SkipNoValue      = "no token value or SHA-256 hash"
	SkipBadHash      = "malformed hash"
)

// Import vocabulary.
const (
	ImportActor          = "import"           // revokedBy of tokens imported as revoked
	ReasonImportedRevoke = "imported_revoked" // their revokeReason
	// NeverExpires is the lifetime given to tokens whose WSO2 validity is
	// negative ("never expires"): a far future that still fits the schema.
	NeverExpires = 100 * 365 * 24 * time.Hour
	importChunk  = 500
)

var lowerHex256 = regexp.MustCompile(`^[0-9a-f]{64}$`)

// ImportTokens stores tokens exported from WSO2, 500 rows (importChunk) to a
// write. Re-running it with the same rows imports nothing new: a row whose
// access token is already stored (by value or by WSO2 hash) is skipped.
//
// States: ACTIVE stays active until IssuedAt+Validity (so an ACTIVE token
// already past that is expired); REVOKED, INACTIVE and GRACEFULLY_ROTATED
// become revoked now by ImportActor, reason ReasonImportedRevoke; EXPIRED
// is an expired access token. As in WSO2, whose refresh grant accepts the
// refresh token of an ACTIVE or EXPIRED row, the refresh token of an
// EXPIRED row keeps its own validity. A refresh token belongs to its
// access token's grant family, so revoking it revokes both.
//
// Tokens with a Value get our keyed hash, as issued ones do; tokens with
// an ExtHash only keep it in ext_hash (migration 0004), where lookups by
// value find them.
//
// The audit event ctx carries (tokenadmin.WithAudit), if any, is recorded
// once, in the last chunk's write, counting every token imported.
func (db *DB) ImportTokens(ctx context.Context, rows []ImportedToken) (ImportResult, error) {
	res := ImportResult{Skipped: map[string]int{}}
	ev := tokenadmin.AuditFrom(ctx)
	if len(rows) == 0 {
		return res, wrapErr("import tokens", db.recordAlone(ctx, ev, "", 0))
	}
	for len(rows) > 0 {
		chunk := rows[:min(importChunk, len(rows))]
		rows = rows[len(chunk):]
		last := len(rows) == 0
		var part ImportResult
		err := db.updateMulti(ctx, func(ctx context.Context, c conn) error {
			part = ImportResult{Skipped: map[string]int{}}
			for i := range chunk {
				o, err := db.importOne(ctx, c, &chunk[i])
				if err != nil {
					return err
				}
				part.count(&chunk[i], o)
			}
			if last { // the audit event, once, with the total
				return db.recordSuccess(ctx, c, ev, "", res.Imported+res.Refresh+part.Imported+part.Refresh)
			}
			return nil
		})
		if err != nil {
			return res, fmt.Errorf("store: import tokens: %w", err)
		}
		res.Imported += part.Imported
		res.Refresh += part.Refresh
		for k, v := range part.Skipped {
			res.Skipped[k] += v
		}
	}
	return res, nil
}

// count adds the outcome of row t to r.
func (r *ImportResult) count(t *ImportedToken, o ImportOutcome) {
	switch {
	case o.Status != RowImported:
		r.Skipped[o.Reason]++
	case t.HasRefresh():
		r.Imported++
		r.Refresh++
	default:
		r.Imported++
	}
}

// HasRefresh reports whether the row carries a refresh token. A row whose
// outcome is RowImported imported its refresh token too (both or neither).
func (t *ImportedToken) HasRefresh() bool { return t.RefreshValue != "" || t.RefreshExtHash != "" }

// ImportTokenBatch stores one batch of WSO2 tokens, as ImportTokens does,
// in one transaction together with cp (which may be nil) and ctx's audit
// event (tokenadmin.WithAudit), recorded once, counting the access and
// refresh tokens the batch imported. It returns an outcome per row, in
// row order: RowImported, or RowSkipped with one of the Skip* reasons of
// ImportTokens (SkipExists for a token already stored) and the row's
// specifics (never a token value) as Detail. Errors are the database's;
// no row of the batch, and not cp, is written then.
func (db *DB) ImportTokenBatch(ctx context.Context, rows []ImportedToken, cp *ImportCheckpoint) ([]ImportOutcome, error) {
	var out []ImportOutcome
	ev := tokenadmin.AuditFrom(ctx) // the writer's ctx does not carry it
	err := db.updateMulti(ctx, func(ctx context.Context, c conn) error {
		out = make([]ImportOutcome, len(rows))
		imported := 0
		for i := range rows {
			o, err := db.importOne(ctx, c, &rows[i])
			if err != nil {
				return err
			}
			out[i] = o
			if o.Status == RowImported {
				imported++
				if rows[i].HasRefresh() {
					imported++
				}
			}
		}
		if err := db.recordSuccess(ctx, c, ev, "", imported); err != nil {
			return err
		}
		return writeCheckpoint(ctx, c, cp, out)
	})
	if err != nil {
		return nil, fmt.Errorf("store: import tokens: %w", err)
	}
	return out, nil
}

// importKey is how a token value or WSO2 hash is stored: hash, and
// ext_hash (WSO2's SHA-256 of the token, in both cases).
func (db *DB) importKey(value, ext string) (hash []byte, extCol any, err error) {
	if value != "" {
		// Record WSO2's hash too, so that a later export holding only the
		// hash of this token is recognised as the same token. The HMAC
		// alone, never hashValue's prefixed form: an imported value was
		// not made by newTokenValue, so its first characters are part of
		// the secret, not a time (lookups try this form too: hashKeys).
		return db.plainHash(value), extHash(value), nil
	}
	ext = strings.ToLower(ext)
	if !lowerHex256.MatchString(ext) {
		return nil, nil, errors.New(SkipBadHash)
	}
	// A keyed hash of the WSO2 hash, domain-separated so that no token
	// value hashes to it: the hash column must be filled and unique.
	return db.hashValue("\x00wso2 sha-256\x00" + ext), ext, nil
}

// importedExists reports whether the token with this key is stored.
func importedExists(ctx context.Context, c conn, hash []byte, ext any, value string) (bool, error) {
	var n int
	err := c.QueryRowContext(ctx, `SELECT count(*) FROM tokens WHERE hash = ?`, hash).Scan(&n)
	if err == nil && n == 0 && prefixKeyed(value) { // perhaps issued here, in hashValue's prefixed form
		err = c.QueryRowContext(ctx, `SELECT count(*) FROM tokens WHERE hash = ?`, append([]byte(value[:7]), hash...)).Scan(&n)
	}
	if err == nil && n == 0 && ext != nil {
		err = c.QueryRowContext(ctx, `SELECT count(*) FROM tokens WHERE ext_hash = ?`, ext).Scan(&n)
	}
	return n > 0, err
}

// importOne stores one row; a row it cannot store is RowSkipped, with one
// of ImportTokens' reasons.
func (db *DB) importOne(ctx context.Context, c conn, t *ImportedToken) (ImportOutcome, error) {
	if t.Value == "" && t.ExtHash == "" {
		return skipped(SkipNoValue, "no ACCESS_TOKEN or ACCESS_TOKEN_HASH"), nil
	}
	hash, ext, err := db.importKey(t.Value, t.ExtHash)
	if err != nil {
		return skipped(SkipBadHash, "ACCESS_TOKEN_HASH is not 64 hex digits"), nil
	}
	var revoked, expiredState bool
	switch strings.ToUpper(t.State) {
	case "", "ACTIVE":
	case "REVOKED", "INACTIVE", "GRACEFULLY_ROTATED":
		revoked = true
	case "EXPIRED":
		expiredState = true
	default:
		return skipped(SkipUnknownState, "TOKEN_STATE %q", t.State), nil
	}
	var appID int64
	var appState string
	err = c.QueryRowContext(ctx, `SELECT id, state FROM apps WHERE client_id = ?`, t.ClientID).Scan(&appID, &appState)
	if errors.Is(err, sql.ErrNoRows) || appState == "deleted" {
		return skipped(SkipUnknownApp, "CONSUMER_KEY %q", t.ClientID), nil
	}
	if err != nil {
		return ImportOutcome{}, err
	}
	if found, err := importedExists(ctx, c, hash, ext, t.Value); err != nil || found {
		if err != nil {
			return ImportOutcome{}, err
		}
		return skipped(SkipExists, "app %q, user %q", t.ClientID, t.User), nil
	}
	var refreshHash []byte
	var refreshExt any
	if t.HasRefresh() {
		if refreshHash, refreshExt, err = db.importKey(t.RefreshValue, t.RefreshExtHash); err != nil {
			return skipped(SkipBadHash, "REFRESH_TOKEN_HASH is not 64 hex digits"), nil
		}
		if found, err := importedExists(ctx, c, refreshHash, refreshExt, t.RefreshValue); err != nil || found {
			if err != nil {
				return ImportOutcome{}, err
			}
			return skipped(SkipExists, "refresh token: app %q, user %q", t.ClientID, t.User), nil
		}
	}

	now := ms(db.now())
	var family int64
	if err := c.QueryRowContext(ctx, nextTokenIDSQL).Scan(&family); err != nil {
		return ImportOutcome{}, err
	}
	issued := ms(t.IssuedAt)
	expires := importExpiry(t.IssuedAt, t.Validity)
	if expiredState {
		expires = min(expires, now)
	}
	if err := db.insertImported(ctx, c, family, appID, family, tokenadmin.AccessToken, t, hash, ext, issued, expires, revoked, now); err != nil {
		return ImportOutcome{}, err
	}
	if !t.HasRefresh() {
		return ImportOutcome{Status: RowImported}, nil
	}
	rIssued := t.RefreshIssuedAt
	if rIssued.IsZero() {
		rIssued = t.IssuedAt
	}
	if err := db.insertImported(ctx, c, family+1, appID, family, tokenadmin.RefreshToken, t, refreshHash, refreshExt,
		ms(rIssued), importExpiry(rIssued, t.RefreshValidity), revoked, now); err != nil {
		return ImportOutcome{}, err
	}
	return ImportOutcome{Status: RowImported}, nil
}

// importExpiry is when a token issued at issued with WSO2 validity v
// expires; negative v never expires (NeverExpires from issue).
func importExpiry(issued time.Time, v time.Duration) int64 {
	if v < 0 {
		v = NeverExpires
	}
	return ms(issued.Add(v))
}

// insertImported stores one imported token. Expired tokens are marked as
// swept at once, so they never enter the live indexes.
func (db *DB) insertImported(ctx context.Context, c conn, id, appID, family int64, typ tokenadmin.TokenType,
	t *ImportedToken, hash []byte, ext any, issued, expires int64, revoked bool, now int64) error {
	tokenID, err := db.newTokenID()
	if err != nil {
		return err
	}
	var revokedAt, revokedBy, reason any
	if revoked {
		revokedAt, revokedBy, reason = now, ImportActor, ReasonImportedRevoke
	}
	expired := 0
	if expires <= now {
		expired = 1
	}
	_, err = c.ExecContext(ctx, `INSERT INTO tokens (id, token_id, hash, ext_hash, type, app_id, user_name,
		scope, grant_type, family_id, issued_at, expires_at, revoked_at, revoked_by, revoke_reason, expired)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		id, tokenID, hash, ext, string(typ), appID, t.User, strings.Join(t.Scopes, " "), t.GrantType,
		family, issued, expires, revokedAt, revokedBy, reason, expired)
	return err
}
