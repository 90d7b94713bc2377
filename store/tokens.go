package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"tokenadmin"
)

var _ tokenadmin.TokenStore = (*DB)(nil)

// live is the condition of the partial indexes: not revoked, and not yet
// swept as expired. Queries that walk those indexes must state it; they
// also check expires_at, for tokens that expired since the last sweep.
const live = `revoked_at IS NULL AND expired = 0`

// tokenColumns are read by scanToken, in this order.
const tokenColumns = `t.id, t.token_id, t.type, a.client_id, a.name, t.user_name, t.scope,
	t.grant_type, t.issued_at, t.expires_at, t.revoked_at, t.revoked_by, t.revoke_reason,
	t.family_id <= a.revoked_below, a.revoke_reason`

// appAlive is the condition, on tokens t joined with apps a, that the
// app has not killed the token's grant (see migration 0003).
const appAlive = `t.family_id > a.revoked_below`

// Fixed statements. (Those that depend on a filter's shape are built by
// listQuery and bulkQueries.) The plan test checks each uses an index.
// Equalities' parameters are written +? so that the statements are not
// re-prepared on every use (see listQueries).
const (
	getTokenSQL    = `SELECT ` + tokenColumns + ` FROM tokens t JOIN apps a ON a.id = t.app_id WHERE t.token_id = +?`
	lookupTokenSQL = `SELECT ` + tokenColumns + ` FROM tokens t JOIN apps a ON a.id = t.app_id WHERE t.hash = +?`
	// The fallback for tokens imported as WSO2 hashes only (migration 0004).
	lookupTokenByExtHashSQL = `SELECT ` + tokenColumns + ` FROM tokens t JOIN apps a ON a.id = t.app_id WHERE t.ext_hash = +?`

	revokeLookup = `SELECT t.id, t.token_id, t.type, t.user_name, t.family_id, t.expires_at, t.revoked_at,
		a.client_id, t.family_id <= a.revoked_below FROM tokens t JOIN apps a ON a.id = t.app_id WHERE `
	revokeLookupByIDSQL   = revokeLookup + `t.token_id = +?`
	revokeLookupByHashSQL = revokeLookup + `t.hash = +?`
	revokeLookupByExtSQL  = revokeLookup + `t.ext_hash = +?`
	revokeOneSQL          = `UPDATE tokens SET revoked_at = ?, revoked_by = ?, revoke_reason = ?
		WHERE id = +? AND ` + live + ` AND expires_at > ?`
	revokeFamilySQL = `UPDATE tokens INDEXED BY tokens_unswept_family SET revoked_at = ?, revoked_by = ?, revoke_reason = ?
		WHERE family_id = +? AND expired = 0 AND revoked_at IS NULL AND expires_at > ?`

	authorizedAppsSQL = `SELECT a.client_id, a.name, count(*), max(t.issued_at)
		FROM tokens t INDEXED BY tokens_live_user JOIN apps a ON a.id = t.app_id
		WHERE t.user_name = ? AND t.` + live + ` AND t.expires_at > ? AND ` + appAlive + `
		GROUP BY t.app_id ORDER BY a.name, a.client_id`

	// Like AUTOINCREMENT itself, the next id continues sqlite_sequence.
	nextTokenIDSQL = `SELECT coalesce(max(seq), 0) + 1 FROM sqlite_sequence WHERE name = 'tokens'`

	sweepSQL = `UPDATE tokens SET expired = 1 WHERE id IN (
		SELECT id FROM tokens INDEXED BY tokens_unswept_expiry
		WHERE expired = 0 AND expires_at <= ? ORDER BY expires_at LIMIT ?)`
)

type rowScanner interface{ Scan(dest ...any) error }

// scanToken reads tokenColumns into a Token, whose State it judges at now,
// and returns its internal id.
func scanToken(r rowScanner, now time.Time) (int64, *tokenadmin.Token, error) {
	t := new(tokenadmin.Token)
	id, err := newTokenScanner().scan(r, t, now)
	if err != nil {
		return 0, nil, err
	}
	return id, t, nil
}

// tokenScanner holds the Scan destinations of tokenColumns. A listing
// makes one for all its rows: passing pointers to locals to Scan would
// move every one of them to the heap, row after row.
type tokenScanner struct {
	id                int64
	t                 tokenadmin.Token
	typ, scope        string
	issued, expires   int64
	revokedAt         sql.NullInt64
	revokedBy, reason sql.NullString
	killed            bool   // by the app's watermark
	appReason         string // why the app killed it
	dest              [15]any
}

func newTokenScanner() *tokenScanner {
	s := new(tokenScanner)
	s.dest = [...]any{&s.id, &s.t.ID, &s.typ, &s.t.ClientID, &s.t.AppName, &s.t.User, &s.scope,
		&s.t.GrantType, &s.issued, &s.expires, &s.revokedAt, &s.revokedBy, &s.reason, &s.killed, &s.appReason}
	return s
}

// scan reads one row into t, judging its State at now, and returns the
// token's internal id.
func (s *tokenScanner) scan(r rowScanner, t *tokenadmin.Token, now time.Time) (int64, error) {
	if err := r.Scan(s.dest[:]...); err != nil {
		return 0, err
	}
	*t = tokenadmin.Token{
		ID: s.t.ID, Type: tokenadmin.TokenType(s.typ), ClientID: s.t.ClientID, AppName: s.t.AppName,
		User: s.t.User, Scopes: strings.Fields(s.scope), GrantType: s.t.GrantType,
		IssuedAt: fromMS(s.issued), ExpiresAt: fromMS(s.expires),
		RevokedBy: s.revokedBy.String, RevokeReason: s.reason.String,
	}
	if s.revokedAt.Valid {
		t.RevokedAt = fromMS(s.revokedAt.Int64)
	}
	t.State = t.StateAt(now)
	if s.killed && t.State == tokenadmin.StateActive {
		// Revoked by an app change whose chunked revocation has not
		// reached this token yet.
		t.State, t.RevokeReason = tokenadmin.StateRevoked, s.appReason
	}
	return s.id, nil
}

// ListActiveTokens implements tokenadmin.TokenStore. The query walks a
// partial index over unrevoked tokens in id order from the page token's
// position (keyset pagination), so a page costs O(log n + page size) and
// revocations between pages never shift the next page.
func (db *DB) ListActiveTokens(ctx context.Context, f tokenadmin.TokenFilter) (*tokenadmin.TokenPage, error) {
	if f.PageSize < 1 || f.PageSize > tokenadmin.MaxPageSize {
		return nil, tokenadmin.Errorf(tokenadmin.CodeInvalid, "pageSize must be between 1 and %d", tokenadmin.MaxPageSize)
	}
	after, err := db.decodePageToken(f.PageToken, f)
	if err != nil {
		return nil, err
	}
	now := db.now()
	query, args, _ := listQuery(f, ms(now), after, f.PageSize+1)
	rows, err := db.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, db.countErr(ErrRead, fmt.Errorf("store: list tokens: %w", err))
	}
	defer rows.Close()
	page := &tokenadmin.TokenPage{Tokens: make([]*tokenadmin.Token, 0, min(f.PageSize, 64))}
	var (
		lastID int64
		sc     = newTokenScanner()
		block  []tokenadmin.Token // the page's tokens, allocated in blocks
	)
	for rows.Next() {
		if len(page.Tokens) == f.PageSize {
			page.NextPageToken = db.encodePageToken(lastID, f)
			break
		}
		if len(block) == 0 {
			block = make([]tokenadmin.Token, min(f.PageSize-len(page.Tokens), 64))
		}
		t := &block[0]
		block = block[1:]
		id, err := sc.scan(rows, t, now)
		if err != nil {
			return nil, fmt.Errorf("store: list tokens: %w", err)
		}
		lastID = id
		page.Tokens = append(page.Tokens, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list tokens: %w", err)
	}
	return page, nil
}

// listQuery is the listing's SQL for a filter shape, its arguments, and
// the index it walks. The index is named so that the planner never falls
// back to a scan that steps over dead tokens.
func listQuery(f tokenadmin.TokenFilter, now, after int64, limit int) (query string, args []any, index string) {
	shape := 0
	args = make([]any, 2, 6)
	args[0], args[1] = now, after
	if f.User != "" {
		shape |= 1
		args = append(args, f.User)
	}
	if f.ClientID != "" {
		shape |= 2
		args = append(args, f.ClientID)
	}
	if f.Type != "" {
		shape |= 4
		args = append(args, string(f.Type))
	}
	q := listQueries[shape]
	return q.query, append(args, limit), q.index
}

// listQueries are listQuery's statements by filter shape (1: user, 2:
// client, 4: type), built once: a listing is the hottest read.
var listQueries = func() (qs [8]struct{ query, index string }) {
	for shape := range qs {
		var q strings.Builder
		index := `tokens_live`
		switch {
		case shape&1 != 0:
			index = `tokens_live_user`
		case shape&2 != 0:
			index = `tokens_live_app`
		}
		// Parameters are written +? where SQLite's planner would
		// otherwise look at their bound value (an equality's right side,
		// a LIMIT): it then marks the statement to be re-prepared when
		// the parameter is bound anew, and go-sqlite3 clears the bindings
		// (sqlite3_clear_bindings) on every use, so every listing
		// re-parsed and re-planned its SQL: a quarter of the store's CPU.
		// The unary plus hides the value from the planner and changes
		// nothing else: neither ? nor +? has an affinity, and the index
		// is still used for the equality (the plan test checks it).
		q.WriteString(`SELECT ` + tokenColumns + ` FROM tokens t INDEXED BY ` + index + ` JOIN apps a ON a.id = t.app_id
		WHERE t.` + live + ` AND t.expires_at > ? AND t.id > ? AND ` + appAlive)
		if shape&1 != 0 {
			q.WriteString(` AND t.user_name = +?`)
		}
		if shape&2 != 0 {
			q.WriteString(` AND t.app_id = (SELECT id FROM apps WHERE client_id = +?)`)
		}
		if shape&4 != 0 {
			q.WriteString(` AND t.type = +?`)
		}
		q.WriteString(` ORDER BY t.id LIMIT +?`)
		qs[shape].query, qs[shape].index = q.String(), index
	}
	return qs
}()

// GetToken implements tokenadmin.TokenStore.
func (db *DB) GetToken(ctx context.Context, tokenID string) (*tokenadmin.Token, error) {
	return db.readToken(ctx, getTokenSQL, tokenID)
}

// readToken reads the one token that query finds by key.
func (db *DB) readToken(ctx context.Context, query string, key any) (*tokenadmin.Token, error) {
	_, t, err := scanToken(db.read.QueryRowContext(ctx, query, key), db.now())
	if errors.Is(err, sql.ErrNoRows) {
		return nil, tokenadmin.Errorf(tokenadmin.CodeTokenNotFound, "token not found")
	}
	if err != nil {
		return nil, db.countErr(ErrRead, fmt.Errorf("store: read token: %w", err))
	}
	return t, nil
}

// RevokeToken implements tokenadmin.TokenStore.
func (db *DB) RevokeToken(ctx context.Context, r tokenadmin.RevokeRequest) (*tokenadmin.RevokeResult, error) {
	query, keys := revokeLookupByIDSQL, []any{r.TokenID}
	if r.TokenID == "" {
		query, keys = revokeLookupByHashSQL, nil
		for _, k := range db.hashKeys(r.Value) {
			keys = append(keys, k)
		}
	}
	res := new(tokenadmin.RevokeResult)
	err := db.audited(ctx, func(ctx context.Context, c conn) error {
		var (
			id, family, expires int64
			tokenID, typ, user  string
			clientID            string
			revokedAt           sql.NullInt64
			killed              bool
		)
		err := sql.ErrNoRows
		for _, key := range keys {
			if err = c.QueryRowContext(ctx, query, key).Scan(&id, &tokenID, &typ, &user, &family, &expires, &revokedAt, &clientID, &killed); !errors.Is(err, sql.ErrNoRows) {
				break
			}
		}
		if errors.Is(err, sql.ErrNoRows) && r.TokenID == "" {
			err = c.QueryRowContext(ctx, revokeLookupByExtSQL, extHash(r.Value)).
				Scan(&id, &tokenID, &typ, &user, &family, &expires, &revokedAt, &clientID, &killed)
		}
		if errors.Is(err, sql.ErrNoRows) || (err == nil &&
			((r.Owner != "" && user != r.Owner) || (r.ClientID != "" && clientID != r.ClientID))) {
			return tokenadmin.Errorf(tokenadmin.CodeTokenNotFound, "token not found")
		}
		if err != nil {
			return fmt.Errorf("store: revoke: %w", err)
		}
		*res = tokenadmin.RevokeResult{TokenID: tokenID}
		now := ms(db.now())
		if revokedAt.Valid || expires <= now || killed {
			return nil
		}
		var result sql.Result
		if tokenadmin.TokenType(typ) == tokenadmin.RefreshToken {
			// RFC 7009 §2.1: revoking a refresh token also invalidates the
			// access tokens of the same grant.
			result, err = c.ExecContext(ctx, revokeFamilySQL, now, r.Actor, r.Reason, family, now)
		} else {
			result, err = c.ExecContext(ctx, revokeOneSQL, now, r.Actor, r.Reason, id, now)
		}
		if err != nil {
			return fmt.Errorf("store: revoke: %w", err)
		}
		n, err := result.RowsAffected()
		if err != nil {
			return fmt.Errorf("store: revoke: %w", err)
		}
		res.Revoked, res.Count = n > 0, int(n)
		return nil
	}, func() string { return res.TokenID }, func() int { return res.Count })
	if err != nil {
		return nil, err
	}
	db.revoked(ctx, r.Reason, res.Count)
	return res, nil
}

// RevokeTokens implements tokenadmin.TokenStore. It revokes in chunks of
// ChunkSize tokens, each its own durable transaction queued behind other
// writes, so revoking a million tokens never holds the write lock for more
// than one chunk. Tokens issued after the call started are left alone.
func (db *DB) RevokeTokens(ctx context.Context, r tokenadmin.BulkRevoke) (int, error) {
	if r.User == "" && r.ClientID == "" {
		return 0, tokenadmin.Errorf(tokenadmin.CodeInvalid, "at least one of user and clientId is required")
	}
	ev := tokenadmin.AuditFrom(ctx)
	var appID int64
	if r.ClientID != "" {
		err := db.read.QueryRowContext(ctx, `SELECT id FROM apps WHERE client_id = +?`, r.ClientID).Scan(&appID)
		if errors.Is(err, sql.ErrNoRows) {
			return 0, wrapErr("revoke tokens", db.recordAlone(ctx, ev, "", 0))
		}
		if err != nil {
			return 0, fmt.Errorf("store: revoke tokens: %w", err)
		}
	}
	var maxID int64
	if err := db.read.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM tokens`).Scan(&maxID); err != nil {
		return 0, fmt.Errorf("store: revoke tokens: %w", err)
	}
	if maxID == 0 {
		return 0, wrapErr("revoke tokens", db.recordAlone(ctx, ev, "", 0))
	}
	return db.revokeChunked(ctx, r.User, appID, maxID, r.Actor, r.Reason, ev)
}

// revokeChunked revokes the active tokens of user and/or app (appID 0: any)
// up to id maxID (> 0), ChunkSize at a time, each chunk a write of its
// own. The audit event ev, if not nil, is recorded once, with the total
// count, in the last chunk's write.
func (db *DB) revokeChunked(ctx context.Context, user string, appID, maxID int64, actor, reason string, ev *tokenadmin.AuditEvent) (int, error) {
	boundQ, updateQ, args, _ := bulkQueries(user, appID)
	total, chunk, from := 0, 0, int64(0)
	write := db.update
	if ev != nil {
		write = db.updateMulti // the last chunk changes tokens and appends
	}
	for from < maxID {
		if err := db.yieldToCheckpoint(ctx); err != nil {
			return total, err
		}
		err := write(ctx, func(ctx context.Context, c conn) error {
			to := maxID
			bargs := append(append([]any{}, args...), from, maxID, db.chunkSize-1)
			err := c.QueryRowContext(ctx, boundQ, bargs...).Scan(&to)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			now := ms(db.now())
			uargs := append(append([]any{now, actor, reason}, args...), from, to, now)
			res, err := c.ExecContext(ctx, updateQ, uargs...)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			chunk, from = int(n), to
			if to == maxID {
				return db.recordSuccess(ctx, c, ev, "", total+chunk)
			}
			return nil
		})
		if err != nil {
			return total, fmt.Errorf("store: revoke tokens: %w", err)
		}
		total += chunk // counted only once the chunk is committed
		db.revoked(ctx, reason, chunk)
	}
	return total, nil
}

// bulkQueries are RevokeTokens' statements for user and/or app (appID 0:
// any app), with the filter's arguments and the index they walk. bound
// finds a chunk's upper id (args, from, maxID, ChunkSize-1); update
// revokes the chunk (now, actor, reason, args, from, to, now).
func bulkQueries(user string, appID int64) (bound, update string, args []any, index string) {
	var filter []string
	index = `tokens_live_user`
	if user != "" {
		filter, args = append(filter, `user_name = ?`), append(args, user)
	}
	if appID != 0 {
		filter, args = append(filter, `app_id = ?`), append(args, appID)
		if user == "" {
			index = `tokens_live_app`
		}
	}
	cond := strings.Join(filter, ` AND `) + ` AND ` + live + ` AND id > ? AND id <= ?`
	bound = `SELECT id FROM tokens INDEXED BY ` + index + ` WHERE ` + cond + ` ORDER BY id LIMIT 1 OFFSET ?`
	update = `UPDATE tokens INDEXED BY ` + index + ` SET revoked_at = ?, revoked_by = ?, revoke_reason = ?
		WHERE ` + cond + ` AND expires_at > ?`
	return bound, update, args, index
}

// ListAuthorizedApps implements tokenadmin.TokenStore.
func (db *DB) ListAuthorizedApps(ctx context.Context, user string) ([]*tokenadmin.AuthorizedApp, error) {
	rows, err := db.read.QueryContext(ctx, authorizedAppsSQL, user, ms(db.now()))
	if err != nil {
		return nil, db.countErr(ErrRead, fmt.Errorf("store: authorized apps: %w", err))
	}
	defer rows.Close()
	var apps []*tokenadmin.AuthorizedApp
	for rows.Next() {
		var (
			a    tokenadmin.AuthorizedApp
			last int64
		)
		if err := rows.Scan(&a.ClientID, &a.AppName, &a.ActiveTokens, &last); err != nil {
			return nil, fmt.Errorf("store: authorized apps: %w", err)
		}
		a.LastIssuedAt = fromMS(last)
		apps = append(apps, &a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: authorized apps: %w", err)
	}
	return apps, nil
}

// IssueTokens creates an access token and, when r.RefreshTTL > 0, a refresh
// token of the same grant family. The values are in the result and nowhere
// else. The app must exist (CodeNotFound otherwise).
func (db *DB) IssueTokens(ctx context.Context, r tokenadmin.IssueRequest) (*tokenadmin.Issued, error) {
	if r.User == "" && r.GrantType != "client_credentials" {
		return nil, tokenadmin.Errorf(tokenadmin.CodeInvalid, "user is required")
	}
	if r.AccessTTL <= 0 {
		return nil, tokenadmin.Errorf(tokenadmin.CodeInvalid, "access token lifetime must be positive")
	}
	out := new(tokenadmin.Issued)
	var err error
	if out.Access, out.AccessValue, err = db.newToken(tokenadmin.AccessToken, r, r.AccessTTL); err != nil {
		return nil, err
	}
	if r.RefreshTTL > 0 {
		if out.Refresh, out.RefreshValue, err = db.newToken(tokenadmin.RefreshToken, r, r.RefreshTTL); err != nil {
			return nil, err
		}
		out.Refresh.IssuedAt = out.Access.IssuedAt
	}
	err = db.updateMulti(ctx, func(ctx context.Context, c conn) error {
		var (
			appID int64
			state string
		)
		err := c.QueryRowContext(ctx, `SELECT id, name, state FROM apps WHERE client_id = +?`, r.ClientID).Scan(&appID, &out.Access.AppName, &state)
		if errors.Is(err, sql.ErrNoRows) || state == "deleted" {
			return errAppNotFound()
		}
		if err != nil {
			return err
		}
		if state != string(tokenadmin.AppActive) {
			return tokenadmin.Errorf(tokenadmin.CodeUnauthorizedClient, "app %q is disabled", r.ClientID)
		}
		// Ids are assigned here, under the write lock, so that the family
		// id (the first token's id) is known before the insert.
		var family int64
		if err := c.QueryRowContext(ctx, nextTokenIDSQL).Scan(&family); err != nil {
			return err
		}
		if err := db.insertToken(ctx, c, family, appID, family, out.Access, out.AccessValue); err != nil {
			return err
		}
		if out.Refresh != nil {
			out.Refresh.AppName = out.Access.AppName
			return db.insertToken(ctx, c, family+1, appID, family, out.Refresh, out.RefreshValue)
		}
		return nil
	})
	if err != nil {
		if tokenadmin.ErrorCode(err) != tokenadmin.CodeInternal {
			return nil, err
		}
		return nil, fmt.Errorf("store: issue: %w", err)
	}
	return out, nil
}

// insertToken stores t (its value only as a keyed hash) with the given id.
func (db *DB) insertToken(ctx context.Context, c conn, id, appID, family int64, t *tokenadmin.Token, value string) error {
	_, err := c.ExecContext(ctx, `INSERT INTO tokens (id, token_id, hash, type, app_id, user_name,
		scope, grant_type, family_id, issued_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		id, t.ID, db.hashValue(value), string(t.Type), appID, t.User,
		strings.Join(t.Scopes, " "), t.GrantType, family, ms(t.IssuedAt), ms(t.ExpiresAt))
	return err
}

// extHash is WSO2's hash of a token value (ACCESS_TOKEN_HASH with the
// default SHA-256): lower-case hex, as stored in tokens.ext_hash.
func extHash(value string) string {
	sum := sha256.Sum256([]byte(value))
	return hex.EncodeToString(sum[:])
}

// newToken prepares a token and its value; nothing is stored yet.
func (db *DB) newToken(typ tokenadmin.TokenType, r tokenadmin.IssueRequest, ttl time.Duration) (*tokenadmin.Token, string, error) {
	value, err := db.newTokenValue()
	if err != nil {
		return nil, "", err
	}
	id, err := db.newTokenID()
	if err != nil {
		return nil, "", err
	}
	now := db.now().Truncate(time.Millisecond)
	return &tokenadmin.Token{
		ID:        id,
		Type:      typ,
		ClientID:  r.ClientID,
		User:      r.User,
		Scopes:    append([]string(nil), r.Scopes...),
		GrantType: r.GrantType,
		IssuedAt:  now.UTC(),
		ExpiresAt: now.Add(ttl).Truncate(time.Millisecond).UTC(),
		State:     tokenadmin.StateActive,
	}, value, nil
}

// sortedBase64 is base64url's alphabet in ASCII order: strings of it
// compare (memcmp, SQLite's BINARY collation) as the numbers they encode.
const sortedBase64 = "-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"

// newTokenID returns a public token ID: 22 characters of base64url's
// alphabet, the first 7 the millisecond it was made (42 bits: until 2109)
// and the other 15 random (90 bits). IDs made later sort later, so the
// token_id index grows at its end, as the table does, instead of taking
// every insert on a random page (docs/performance.md). The time an ID
// shows is its token's issuedAt (for an imported token, the time of the
// import), which whoever may see the ID may see anyway. The first
// character is never '-' after 1972 (see randomID).
func (db *DB) newTokenID() (string, error) {
	var b [23]byte // 16 random bytes read, as IDs always took: seeded tests replay the same values
	if _, err := io.ReadFull(db.rand, b[7:]); err != nil {
		return "", fmt.Errorf("store: random: %w", err)
	}
	for i := 7; i < 22; i++ {
		b[i] = sortedBase64[b[i]&63]
	}
	db.putTime(b[:7])
	return string(b[:22]), nil
}

// newTokenValue returns a token value: 43 characters of base64url's
// alphabet, the first 7 the millisecond it was made, as in token IDs, and
// the other 36 random (216 bits). The time is what keys the value's hash
// (hashValue): the hash index grows at its end.
func (db *DB) newTokenValue() (string, error) {
	v, err := db.randomString(32)
	if err != nil {
		return "", err
	}
	b := []byte(v)
	db.putTime(b[:7])
	return string(b), nil
}

// putTime writes the current millisecond into b (7 bytes) in sortedBase64.
func (db *DB) putTime(b []byte) {
	t := uint64(db.now().UnixMilli())
	for i := 6; i >= 0; i-- {
		b[i] = sortedBase64[t&63]
		t >>= 6
	}
}

// randomID returns n random bytes, base64url-encoded, as an identifier
// that never starts with '-' (it becomes '_'), so that one typed as a
// command-line argument cannot be taken for a flag.
func (db *DB) randomID(n int) (string, error) {
	id, err := db.randomString(n)
	if err == nil && id[0] == '-' {
		id = "_" + id[1:]
	}
	return id, err
}

// randomString returns n random bytes, base64url-encoded without padding.
func (db *DB) randomString(n int) (string, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(db.rand, b); err != nil {
		return "", fmt.Errorf("store: random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
