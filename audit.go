package tokenadmin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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

// MaxAuditPageSize bounds AuditFilter.PageSize; DefaultPageSize applies
// when it is 0.
const MaxAuditPageSize = MaxPageSize

type auditKey struct{}

// WithAudit returns a context asking the store to record e in the same
// transaction as the state change it makes under that context: the
// service layer attaches the event's skeleton (Actor, Role, Action,
// Target, Reason), and the store's mutating methods append it with
// outcome AuditSuccess and the count of what changed, so that a committed
// change always has its record, and a change that failed none. The store
// fills Target when it is empty and learns it (a token revoked by value
// is recorded by its ID, never by the value). Stores that do not audit
// ignore it.
func WithAudit(ctx context.Context, e *AuditEvent) context.Context {
	return context.WithValue(ctx, auditKey{}, e)
}

// AuditFrom returns the event attached by WithAudit, or nil.
func AuditFrom(ctx context.Context) *AuditEvent {
	e, _ := ctx.Value(auditKey{}).(*AuditEvent)
	return e
}

// newAudit returns the skeleton of the event for c doing action on target,
// with the request id and client address of ctx's RequestInfo, if any.
func newAudit(ctx context.Context, c Caller, action AuditAction, target, reason string) *AuditEvent {
	e := &AuditEvent{Actor: c.Name, Role: c.Role, Action: action, Target: target, Reason: reason}
	if ri := RequestInfoFrom(ctx); ri != nil {
		e.RequestID, e.ClientAddr = ri.ID, ri.ClientAddr
	}
	return e
}

// auditOutcome is the outcome recorded for a state change that ended with
// err: refusals (forbidden, unauthenticated) are denied, anything else
// failed.
func auditOutcome(err error) AuditOutcome {
	switch ErrorCode(err) {
	case "":
		return AuditSuccess
	case CodeForbidden, CodeUnauthenticated:
		return AuditDenied
	default:
		return AuditFailed
	}
}

// StartAudit returns ctx carrying the skeleton of the event of c doing
// action on target (see WithAudit), or ctx itself when log is nil (no
// auditing). Pair it with a deferred EndAudit. Services use it; so do
// callers that change the store directly (the CLI, the login path).
func StartAudit(ctx context.Context, log AuditLog, c Caller, action AuditAction, target, reason string) context.Context {
	if log == nil {
		return ctx
	}
	return WithAudit(ctx, newAudit(ctx, c, action, target, reason))
}

// EndAudit records the attempt that ctx's event describes when it ended
// with err: outcome denied or failed, the error's public message as reason,
// and count, what changed anyway (the chunks of a bulk revocation that
// committed before it failed). A success was recorded by the store, in the
// change's own transaction. A failure to record a failure is not reported:
// the caller gets the change's error, which is what matters to them, and
// the log stays consistent (it only lacks the attempt).
func EndAudit(ctx context.Context, log AuditLog, count int, err error) {
	e := AuditFrom(ctx)
	if log == nil || e == nil || err == nil {
		return
	}
	f := *e
	f.Outcome, f.Count, f.Reason = auditOutcome(err), count, ErrorMessage(err)
	if c := ErrorCode(err); c == CodeNotFound || c == CodeTokenNotFound {
		f.Target = UnknownTarget(f.Target)
	}
	_ = log.AppendAudit(context.WithoutCancel(ctx), f)
}

// RecordAudit appends, in a write of its own, the whole record of c doing
// action: for changes that are not one transaction (a purge commits batch
// by batch), recorded once they end with what they changed (count) and how
// they ended (err). Nil log: nothing is recorded.
func RecordAudit(ctx context.Context, log AuditLog, c Caller, action AuditAction, target, reason string, count int, err error) error {
	if log == nil {
		return nil
	}
	e := newAudit(ctx, c, action, target, reason)
	e.Outcome, e.Count = auditOutcome(err), count
	if err != nil {
		e.Reason = ErrorMessage(err)
	}
	return log.AppendAudit(context.WithoutCancel(ctx), *e)
}

// UnknownTarget is how the audit log names a target that matched nothing
// (an unknown token ID or client ID): "unknown:" and the first 48 bits of
// its SHA-256, never the text itself, because a caller may have put a
// token value, a client secret or a password in the wrong field. Repeated
// attempts at one target share the fingerprint, and whoever suspects a
// value can recompute it; 48 bits of a hash do not give back a 256-bit
// token or secret. (A password typed into an ID field is another matter:
// a fingerprint lets one test guesses offline, so it is only as safe as
// the password is long.) The empty target stays empty.
func UnknownTarget(target string) string {
	if target == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(target))
	return "unknown:" + hex.EncodeToString(sum[:6])
}

// AuditService applies the access rules of the audit log on top of an
// AuditLog: admins and auditors may read it, nobody else.
type AuditService struct {
	Log AuditLog
}

// ListAuditEvents returns one page of the audit events matching f, oldest first.
// Callers other than admins and auditors are CodeForbidden; a page size
// out of range or Since not before Until is CodeInvalid; f.PageSize 0
// means DefaultPageSize.
func (s *AuditService) ListAuditEvents(ctx context.Context, c Caller, f AuditFilter) (*AuditPage, error) {
	if err := authenticated(c); err != nil {
		return nil, err
	}
	if !readsAll(c) {
		return nil, Errorf(CodeForbidden, "only admins and auditors may read the audit log")
	}
	switch {
	case f.PageSize == 0:
		f.PageSize = DefaultPageSize
	case f.PageSize < 1 || f.PageSize > MaxAuditPageSize:
		return nil, Errorf(CodeInvalid, "pageSize must be between 1 and %d", MaxAuditPageSize)
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		return nil, Errorf(CodeInvalid, "since must be before until")
	}
	return s.Log.ListAuditEvents(ctx, f)
}
