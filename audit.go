package tokenadmin

import (
	"context"
	"time"
)

// AuditAction names a kind of state change (or login) in the audit log.
type AuditAction string

// Audit actions.
const (
	AuditTokenRevoke  AuditAction = "token.revoke"  // one token (and its family)
	AuditTokensRevoke AuditAction = "tokens.revoke" // bulk: a user's, an app's
	AuditAppCreate    AuditAction = "app.create"
	AuditAppUpdate    AuditAction = "app.update" // policy, state
	AuditAppDelete    AuditAction = "app.delete"
	AuditAppSecret    AuditAction = "app.secret" // secret regenerated or set
	AuditUserCreate   AuditAction = "user.create"
	AuditUserPassword AuditAction = "user.password"
	AuditUserRole     AuditAction = "user.role"
	AuditLogin        AuditAction = "login"        // an admin's login, success or failure
	AuditLoginLocked  AuditAction = "login.locked" // throttling started for a user or address
	AuditImport       AuditAction = "import"
	AuditPurge        AuditAction = "purge"
)

// AuditOutcome is how an audited action ended.
type AuditOutcome string

// Audit outcomes.
const (
	AuditSuccess AuditOutcome = "success"
	AuditDenied  AuditOutcome = "denied" // not allowed, or failed authentication
	AuditFailed  AuditOutcome = "failed" // invalid, not found, or an internal error
)

// AuditEvent is one record of the audit log. Records are append-only and
// chained: Hash covers the record's fields and PrevHash, the Hash of the
// record before it, so altering, inserting or deleting a record breaks the
// chain. Secrets (token values, client secrets, passwords) never appear in
// a record.
type AuditEvent struct {
	Seq        int64 // position in the log, from 1; set by the log
	Time       time.Time
	Actor      string // the caller's name; "" when not authenticated
	Role       Role
	ClientAddr string
	RequestID  string
	Action     AuditAction
	Target     string // token ID, client ID, user name, …
	Outcome    AuditOutcome
	Count      int    // tokens revoked, rows imported, …
	Reason     string // the revocation reason, or the error's public message
	PrevHash   string // hex; set by the log
	Hash       string // hex; set by the log
}

// AuditFilter selects audit events; zero fields match everything.
type AuditFilter struct {
	Actor     string
	Action    AuditAction
	Since     time.Time // inclusive
	Until     time.Time // exclusive
	PageSize  int
	PageToken string
}

// AuditPage is one page of audit events, oldest first.
type AuditPage struct {
	Events        []*AuditEvent
	NextPageToken string
}

// AuditLog is the append-only audit store.
type AuditLog interface {
	// AppendAudit appends e durably (Seq, hashes and, when zero, Time are
	// the log's). Errors are internal.
	AppendAudit(ctx context.Context, e AuditEvent) error
	// ListAuditEvents returns one page of matching events, oldest first.
	// A bad f.PageToken is CodeInvalidPageToken.
	ListAuditEvents(ctx context.Context, f AuditFilter) (*AuditPage, error)
}
