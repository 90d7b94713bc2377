package store

import (
	"context"
	"crypto/aes"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"strings"

	"tokenadmin"
)

var _ tokenadmin.AuditLog = (*DB)(nil)

// GenesisHash is the prev_hash of the first audit record.
const GenesisHash = "0000000000000000000000000000000000000000000000000000000000000000"

// auditColumns are read by scanAudit, in this order.
const auditColumns = `seq, time, actor, role, client_addr, request_id, action, target, outcome, count, reason, prev_hash, hash`

// auditHeadSQL reads the head of the chain (migration 0006) inside the
// appending transaction. The head, not the table's last row, is what a new
// record chains to: if someone deleted the last records, the gap stays
// visible after later appends instead of being papered over.
const auditHeadSQL = `SELECT (SELECT value FROM meta WHERE key = 'audit_head_seq'),
	(SELECT value FROM meta WHERE key = 'audit_head_hash')`

// auditAppendSQL is auditHeadSQL and the last seq in the table.
const auditAppendSQL = `SELECT (SELECT value FROM meta WHERE key = 'audit_head_seq'),
	(SELECT value FROM meta WHERE key = 'audit_head_hash'), (SELECT coalesce(max(seq), 0) FROM audit)`

// auditHash is the hex SHA-256 of e's canonical encoding: a version label,
// then every field but Hash in a fixed order, integers as 8 bytes
// big-endian and strings prefixed by their length, so that no two
// different records encode alike (moving a character from one field to the
// next changes the encoding). Time counts in Unix milliseconds, as stored.
func auditHash(e *tokenadmin.AuditEvent) string {
	h := sha256.New()
	writeString(h, "tokenadmin audit v1")
	writeInt(h, e.Seq)
	writeInt(h, ms(e.Time))
	for _, s := range []string{e.Actor, string(e.Role), e.ClientAddr, e.RequestID, string(e.Action), e.Target, string(e.Outcome)} {
		writeString(h, s)
	}
	writeInt(h, int64(e.Count))
	writeString(h, e.Reason)
	writeString(h, e.PrevHash)
	return hex.EncodeToString(h.Sum(nil))
}

func writeInt(h hash.Hash, v int64) {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(v))
	h.Write(b[:])
}

func writeString(h hash.Hash, s string) {
	writeInt(h, int64(len(s)))
	h.Write([]byte(s))
}

// AppendAudit implements tokenadmin.AuditLog: it appends e on its own, in
// a write of its own. State changes record their success through
// tokenadmin.WithAudit instead, in their own transaction.
func (db *DB) AppendAudit(ctx context.Context, e tokenadmin.AuditEvent) error {
	err := db.update(ctx, func(ctx context.Context, c conn) error {
		return db.appendAudit(ctx, c, &e)
	})
	if err != nil {
		return fmt.Errorf("store: append audit: %w", err)
	}
	return nil
}

// appendAudit chains e to the head and inserts it: one change (the head
// follows by trigger), so it may share a plain update's write only when
// that write changes nothing else.
func (db *DB) appendAudit(ctx context.Context, c conn, e *tokenadmin.AuditEvent) error {
	var head, last int64
	if err := c.QueryRowContext(ctx, auditAppendSQL).Scan(&head, &e.PrevHash, &last); err != nil {
		return fmt.Errorf("audit head: %w", err)
	}
	if head == 0 {
		e.PrevHash = GenesisHash
	}
	// After tampering the head and the last row may disagree; a seq past
	// both keeps the append from failing, and the break stays visible.
	e.Seq = max(head, last) + 1
	if e.Time.IsZero() {
		e.Time = db.now()
	}
	e.Time = fromMS(ms(e.Time))
	e.Hash = auditHash(e)
	_, err := c.ExecContext(ctx, `INSERT INTO audit (`+auditColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.Seq, ms(e.Time), e.Actor, string(e.Role), e.ClientAddr, e.RequestID, string(e.Action), e.Target,
		string(e.Outcome), e.Count, e.Reason, e.PrevHash, e.Hash)
	if err != nil {
		return fmt.Errorf("audit insert: %w", err)
	}
	return nil
}

// recordSuccess appends the event that ctx carries (tokenadmin.WithAudit),
// if any, as a success of count changes on target (used when the event
// names no target). Call it inside the change's own write, which must then
// be an updateMulti.
func (db *DB) recordSuccess(ctx context.Context, c conn, ev *tokenadmin.AuditEvent, target string, count int) error {
	if ev == nil {
		return nil
	}
	e := *ev
	if e.Target == "" {
		e.Target = target
	}
	e.Outcome, e.Count = tokenadmin.AuditSuccess, count
	return db.appendAudit(ctx, c, &e)
}

// audited runs fn as a write. When ctx carries an audit event, fn's change
// and the event's record (with what target and count return, read after
// fn succeeded) commit in one savepoint: both or neither. Otherwise it is
// a plain update, which costs nothing more than before.
func (db *DB) audited(ctx context.Context, fn func(ctx context.Context, c conn) error, target func() string, count func() int) error {
	ev := tokenadmin.AuditFrom(ctx)
	if ev == nil {
		return db.update(ctx, fn)
	}
	return db.updateMulti(ctx, func(ctx context.Context, c conn) error {
		if err := fn(ctx, c); err != nil {
			return err
		}
		t, n := "", 0
		if target != nil {
			t = target()
		}
		if count != nil {
			n = count()
		}
		return db.recordSuccess(ctx, c, ev, t, n)
	})
}

// recordAlone records the event ctx carries, if any, in a write of its
// own: for a change that turned out to change nothing (a bulk revocation
// that found no token), so that the attempt is still on record.
func (db *DB) recordAlone(ctx context.Context, ev *tokenadmin.AuditEvent, target string, count int) error {
	if ev == nil {
		return nil
	}
	return db.update(ctx, func(ctx context.Context, c conn) error {
		return db.recordSuccess(ctx, c, ev, target, count)
	})
}

func scanAudit(r rowScanner) (*tokenadmin.AuditEvent, error) {
	var (
		e                     tokenadmin.AuditEvent
		t                     int64
		role, action, outcome string
	)
	if err := r.Scan(&e.Seq, &t, &e.Actor, &role, &e.ClientAddr, &e.RequestID, &action, &e.Target,
		&outcome, &e.Count, &e.Reason, &e.PrevHash, &e.Hash); err != nil {
		return nil, err
	}
	e.Time, e.Role, e.Action, e.Outcome = fromMS(t), tokenadmin.Role(role), tokenadmin.AuditAction(action), tokenadmin.AuditOutcome(outcome)
	return &e, nil
}

// ListAuditEvents implements tokenadmin.AuditLog, with keyset pagination
// on seq: a page token holds the last seq of the page before, encrypted
// and bound to the filter like the token listing's (pagetoken.go).
func (db *DB) ListAuditEvents(ctx context.Context, f tokenadmin.AuditFilter) (*tokenadmin.AuditPage, error) {
	if f.PageSize < 1 || f.PageSize > tokenadmin.MaxAuditPageSize {
		return nil, tokenadmin.Errorf(tokenadmin.CodeInvalid, "pageSize must be between 1 and %d", tokenadmin.MaxAuditPageSize)
	}
	after, err := db.decodeAuditPageToken(f)
	if err != nil {
		return nil, err
	}
	var (
		q    strings.Builder
		args = []any{after}
	)
	q.WriteString(`SELECT ` + auditColumns + ` FROM audit WHERE seq > ?`)
	if f.Actor != "" {
		q.WriteString(` AND actor = ?`)
		args = append(args, f.Actor)
	}
	if f.Action != "" {
		q.WriteString(` AND action = ?`)
		args = append(args, string(f.Action))
	}
	if !f.Since.IsZero() {
		q.WriteString(` AND time >= ?`)
		args = append(args, ms(f.Since))
	}
	if !f.Until.IsZero() {
		q.WriteString(` AND time < ?`)
		args = append(args, ms(f.Until))
	}
	q.WriteString(` ORDER BY seq LIMIT ?`)
	args = append(args, f.PageSize+1)
	rows, err := db.read.QueryContext(ctx, q.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("store: list audit: %w", err)
	}
	defer rows.Close()
	page := &tokenadmin.AuditPage{Events: make([]*tokenadmin.AuditEvent, 0, min(f.PageSize, 64))}
	for rows.Next() {
		if len(page.Events) == f.PageSize {
			page.NextPageToken = db.encodeAuditPageToken(page.Events[len(page.Events)-1].Seq, f)
			break
		}
		e, err := scanAudit(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list audit: %w", err)
		}
		page.Events = append(page.Events, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list audit: %w", err)
	}
	return page, nil
}

// auditPageMAC binds a page token to the audit filter it was issued for.
// Its label keeps token-listing page tokens from being accepted here.
func (db *DB) auditPageMAC(seq uint64, f tokenadmin.AuditFilter) []byte {
	m := hmac.New(sha256.New, db.key)
	writeString(m, "audit page")
	writeInt(m, int64(seq))
	writeString(m, f.Actor)
	writeString(m, string(f.Action))
	for _, t := range []int64{ms(f.Since), ms(f.Until)} {
		if t < 0 {
			t = 0
		}
		writeInt(m, t)
	}
	return m.Sum(nil)[:8]
}

func (db *DB) encodeAuditPageToken(seq int64, f tokenadmin.AuditFilter) string {
	var block [aes.BlockSize]byte
	binary.BigEndian.PutUint64(block[:8], uint64(seq))
	copy(block[8:], db.auditPageMAC(uint64(seq), f))
	db.pages.Encrypt(block[:], block[:])
	return base64.RawURLEncoding.EncodeToString(block[:])
}

// decodeAuditPageToken returns the seq to continue after; 0 for no token.
func (db *DB) decodeAuditPageToken(f tokenadmin.AuditFilter) (int64, error) {
	if f.PageToken == "" {
		return 0, nil
	}
	bad := tokenadmin.Errorf(tokenadmin.CodeInvalidPageToken, "pageToken is not valid for this query")
	var block [aes.BlockSize]byte
	if base64.RawURLEncoding.DecodedLen(len(f.PageToken)) != len(block) {
		return 0, bad
	}
	if n, err := base64.RawURLEncoding.Decode(block[:], []byte(f.PageToken)); err != nil || n != len(block) {
		return 0, bad
	}
	db.pages.Decrypt(block[:], block[:])
	seq := binary.BigEndian.Uint64(block[:8])
	if !hmac.Equal(block[8:], db.auditPageMAC(seq, f)) || seq > 1<<62 {
		return 0, bad
	}
	return int64(seq), nil
}

// AuditVerifyResult is what VerifyAudit found. When OK is false, BrokenSeq
// is the first record at which the chain breaks and Problem says how.
type AuditVerifyResult struct {
	OK       bool
	Records  int64  // records read
	LastSeq  int64  // of the last record read
	LastHash string // of the last record read; GenesisHash for an empty log

	BrokenSeq int64
	Problem   string
}

// VerifyAudit walks the audit log from its first record and checks the
// chain: consecutive seqs from 1 (a gap: records deleted), each prev_hash
// equal to the hash before it (deleted, inserted or reordered records),
// each hash equal to the record's own (an altered record), and the head
// recorded in meta equal to the last record (the last records deleted, or
// one appended behind the store's back). It reads one snapshot, so it may
// run while the server writes. The error is for failures to read, not for
// a broken chain.
func (db *DB) VerifyAudit(ctx context.Context) (AuditVerifyResult, error) {
	res := AuditVerifyResult{LastHash: GenesisHash}
	tx, err := db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return res, fmt.Errorf("store: verify audit: %w", err)
	}
	defer tx.Rollback()
	var (
		headSeq  int64
		headHash string
	)
	if err := tx.QueryRowContext(ctx, auditHeadSQL).Scan(&headSeq, &headHash); err != nil {
		return res, fmt.Errorf("store: verify audit: %w", err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+auditColumns+` FROM audit ORDER BY seq`)
	if err != nil {
		return res, fmt.Errorf("store: verify audit: %w", err)
	}
	defer rows.Close()
	broken := func(seq int64, format string, args ...any) (AuditVerifyResult, error) {
		res.BrokenSeq, res.Problem = seq, fmt.Sprintf(format, args...)
		return res, nil
	}
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return res, fmt.Errorf("store: verify audit: %w", err)
		}
		switch want := res.LastSeq + 1; {
		case e.Seq == want+1:
			return broken(e.Seq, "record %d is missing (deleted)", want)
		case e.Seq > want:
			return broken(e.Seq, "records %d to %d are missing (deleted)", want, e.Seq-1)
		case e.Seq < want: // seq is the primary key: only a seq of 0 or below gets here
			return broken(e.Seq, "record %d has a seq out of order", e.Seq)
		}
		if e.PrevHash != res.LastHash {
			return broken(e.Seq, "record %d does not follow record %d (prev_hash differs: a record was deleted, inserted or replaced)", e.Seq, res.LastSeq)
		}
		if got := auditHash(e); got != e.Hash {
			return broken(e.Seq, "record %d was altered (its hash does not match its contents)", e.Seq)
		}
		res.Records++
		res.LastSeq, res.LastHash = e.Seq, e.Hash
	}
	if err := rows.Err(); err != nil {
		return res, fmt.Errorf("store: verify audit: %w", err)
	}
	switch {
	case headSeq > res.LastSeq:
		return broken(res.LastSeq+1, "records %d to %d are missing at the end (deleted)", res.LastSeq+1, headSeq)
	case headSeq < res.LastSeq || (headSeq > 0 && headHash != res.LastHash):
		return broken(res.LastSeq, "the chain's recorded head (record %d) does not match its last record %d", headSeq, res.LastSeq)
	}
	res.OK = true
	return res, nil
}
