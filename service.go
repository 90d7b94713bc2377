package tokenadmin

import (
	"context"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Service applies tokenadmin's access rules on top of a TokenStore. Every
// API (native SOAP, later the legacy services and the CLI) goes through it,
// so the rules live in one place:
//
//   - an admin may see and revoke every token;
//   - an auditor may see every token and every user's authorized apps,
//     and change nothing: every revocation is CodeForbidden;
//   - a user may see and revoke only tokens whose user is themselves.
//     Naming another user is CodeForbidden; a token ID of another user's
//     token is CodeTokenNotFound, so token IDs cannot be probed;
//   - a user who owns an app (App.Owner) may also see and revoke that
//     app's tokens, whoever holds them: listActiveTokens and revokeTokens
//     with the app's clientId (every user, or one named user), and
//     revokeToken and getToken of any token of the app. Another owner's
//     app's token that is not the caller's own stays CodeTokenNotFound.
//
// With Audit set, every revocation is recorded: successes by the store in
// the revocation's own transaction (see WithAudit), refused and failed
// attempts by the Service.
type Service struct {
	Tokens TokenStore
	// Apps tells who owns which app. Without it no user is treated as
	// an app owner.
	Apps AppOwners
	// Audit records refused and failed revocations; nil: no auditing.
	// Tokens must record successes (WithAudit) for the log to be complete.
	Audit AuditLog
}

// AppOwners is what Service needs to know of apps: their owners.
// *store.DB satisfies it.
type AppOwners interface {
	// GetApp returns a live app; an unknown or deleted one is
	// CodeNotFound, anything else is an internal error.
	GetApp(ctx context.Context, clientID string) (*App, error)
	// ListApps lists the live apps owned by owner (every app for "");
	// errors are internal.
	ListApps(ctx context.Context, owner string) ([]*App, error)
}

// errReadOnly is an auditor's answer to every change.
var errReadOnly = Errorf(CodeForbidden, "auditors may read but not change anything")

// MaxReasonLength bounds a revocation reason, in characters.
const MaxReasonLength = 256

// ListActiveTokens lists the caller's view of active tokens.
func (s *Service) ListActiveTokens(ctx context.Context, c Caller, f TokenFilter) (*TokenPage, error) {
	owner, err := s.owns(ctx, c, f.ClientID)
	if err != nil {
		return nil, err
	}
	if !owner {
		if f.User, err = scopeUser(c, f.User, true); err != nil {
			return nil, err
		}
	}
	switch {
	case f.Type != "" && !f.Type.Valid():
		return nil, Errorf(CodeInvalid, "tokenType must be %q or %q", AccessToken, RefreshToken)
	case f.PageSize == 0:
		f.PageSize = DefaultPageSize
	case f.PageSize < 1 || f.PageSize > MaxPageSize:
		return nil, Errorf(CodeInvalid, "pageSize must be between 1 and %d", MaxPageSize)
	}
	return s.Tokens.ListActiveTokens(ctx, f)
}

// RevokeToken revokes one token by ID or by value (exactly one of them).
// A user's request is tried on their own tokens, then on the tokens of
// each app they own.
func (s *Service) RevokeToken(ctx context.Context, c Caller, r RevokeRequest) (_ *RevokeResult, err error) {
	ctx = StartAudit(ctx, s.Audit, c, AuditTokenRevoke, r.TokenID, r.Reason)
	defer func() { EndAudit(ctx, s.Audit, 0, err) }()
	if err := mayChange(c); err != nil {
		return nil, err
	}
	if (r.TokenID == "") == (r.Value == "") {
		return nil, Errorf(CodeInvalid, "exactly one of tokenId and token is required")
	}
	if r.TypeHint != "" && !r.TypeHint.Valid() {
		return nil, Errorf(CodeInvalid, "unknown token type hint")
	}
	if err := checkReason(r.Reason); err != nil {
		return nil, err
	}
	r.Actor = c.Name
	r.Owner = ""
	if c.Role == RoleAdmin {
		return s.Tokens.RevokeToken(ctx, r)
	}
	r.Owner = c.Name
	res, err := s.Tokens.RevokeToken(ctx, r)
	if ErrorCode(err) != CodeTokenNotFound || s.Apps == nil {
		return res, err
	}
	owned, lerr := s.Apps.ListApps(ctx, c.Name)
	if lerr != nil {
		return nil, lerr
	}
	for _, a := range owned {
		if r.ClientID != "" && r.ClientID != a.ClientID {
			continue
		}
		byApp := r
		byApp.Owner, byApp.ClientID = "", a.ClientID
		res, aerr := s.Tokens.RevokeToken(ctx, byApp)
		if ErrorCode(aerr) != CodeTokenNotFound {
			return res, aerr
		}
	}
	return nil, err
}

// RevokeTokens revokes every active token of a user, of an app, or of a
// user for one app. Users may only name themselves; a user who names only
// an app revokes their own tokens for it ("remove this app"), except
// that the app's owner revokes everyone's (or the named user's) tokens
// of it.
func (s *Service) RevokeTokens(ctx context.Context, c Caller, r BulkRevoke) (n int, err error) {
	ctx = StartAudit(ctx, s.Audit, c, AuditTokensRevoke, bulkTarget(r), r.Reason)
	defer func() { EndAudit(ctx, s.Audit, n, err) }()
	if err := mayChange(c); err != nil {
		return 0, err
	}
	if r.User == "" && r.ClientID == "" {
		return 0, Errorf(CodeInvalid, "at least one of user and clientId is required")
	}
	app, err := s.liveApp(ctx, r.ClientID)
	if err != nil {
		return 0, err
	}
	if e := AuditFrom(ctx); e != nil && r.ClientID != "" && s.Apps != nil && app == nil {
		// Revoking the tokens of an unknown app succeeds with 0, but the
		// record must not name what may be a secret in the wrong field.
		e.Target = bulkTarget(BulkRevoke{User: r.User, ClientID: UnknownTarget(r.ClientID)})
	}
	if !ownedBy(c, app) {
		if r.User, err = scopeUser(c, r.User, true); err != nil {
			return 0, err
		}
	}
	if err := checkReason(r.Reason); err != nil {
		return 0, err
	}
	r.Actor = c.Name
	return s.Tokens.RevokeTokens(ctx, r)
}

// ListAuthorizedApps lists the apps holding active tokens of user, or of
// the caller when user is empty.
func (s *Service) ListAuthorizedApps(ctx context.Context, c Caller, user string) ([]*AuthorizedApp, error) {
	user, err := scopeUser(c, user, false)
	if err != nil {
		return nil, err
	}
	return s.Tokens.ListAuthorizedApps(ctx, user)
}

// GetToken returns one token in any state, with its revocation record.
func (s *Service) GetToken(ctx context.Context, c Caller, tokenID string) (*Token, error) {
	if err := authenticated(c); err != nil {
		return nil, err
	}
	if tokenID == "" {
		return nil, Errorf(CodeInvalid, "tokenId is required")
	}
	t, err := s.Tokens.GetToken(ctx, tokenID)
	if err != nil {
		return nil, err
	}
	if readsAll(c) || t.User == c.Name {
		return t, nil
	}
	if owner, err := s.owns(ctx, c, t.ClientID); err != nil || !owner {
		if err != nil {
			return nil, err
		}
		return nil, Errorf(CodeTokenNotFound, "token not found")
	}
	return t, nil
}

// owns reports whether c is a user who owns the live app clientID (false
// for "" and for admins and auditors, whose rights do not depend on it).
func (s *Service) owns(ctx context.Context, c Caller, clientID string) (bool, error) {
	if c.Role != RoleUser || c.Name == "" {
		return false, nil
	}
	a, err := s.liveApp(ctx, clientID)
	return ownedBy(c, a), err
}

// ownedBy reports whether a is an app and c a user who owns it.
func ownedBy(c Caller, a *App) bool {
	return a != nil && c.Role == RoleUser && c.Name != "" && a.Owner == c.Name
}

// liveApp returns the live app clientID, or nil when there is none (or
// no Apps to ask); other errors are internal.
func (s *Service) liveApp(ctx context.Context, clientID string) (*App, error) {
	if s.Apps == nil || clientID == "" {
		return nil, nil
	}
	a, err := s.Apps.GetApp(ctx, clientID)
	if ErrorCode(err) == CodeNotFound {
		return nil, nil
	}
	return a, err
}

// readsAll reports whether c may read every user's tokens and apps.
func readsAll(c Caller) bool { return c.Role == RoleAdmin || c.Role == RoleAuditor }

// bulkTarget names what a bulk revocation asked for, as the audit
// log's target: "user=alice", "clientId=X" or both.
func bulkTarget(r BulkRevoke) string {
	var parts []string
	if r.User != "" {
		parts = append(parts, "user="+r.User)
	}
	if r.ClientID != "" {
		parts = append(parts, "clientId="+r.ClientID)
	}
	return strings.Join(parts, " ")
}

func authenticated(c Caller) error {
	if c.Name == "" || !c.Role.Valid() {
		return Errorf(CodeUnauthenticated, "authentication required")
	}
	return nil
}

// scopeUser returns the user a request may act on. Admins and auditors
// get what they asked for (empty meaning every user when adminAll is
// set); users get themselves, and naming anyone else is forbidden.
// Auditors' changes are refused before this.
func scopeUser(c Caller, requested string, adminAll bool) (string, error) {
	if err := authenticated(c); err != nil {
		return "", err
	}
	if readsAll(c) {
		if requested == "" && !adminAll {
			return c.Name, nil
		}
		return requested, nil
	}
	if requested != "" && requested != c.Name {
		return "", Errorf(CodeForbidden, "users may act only on their own tokens")
	}
	return c.Name, nil
}

func checkReason(reason string) error {
	if utf8.RuneCountInString(reason) > MaxReasonLength {
		return Errorf(CodeInvalid, "reason is longer than %d characters", MaxReasonLength)
	}
	if !utf8.ValidString(reason) {
		return Errorf(CodeInvalid, "reason is not valid UTF-8")
	}
	// Reasons end up on terminals and web pages: no control characters
	// (C0, DEL, C1) but tab and line breaks.
	if strings.ContainsFunc(reason, func(r rune) bool {
		return r != '\t' && r != '\n' && r != '\r' && unicode.IsControl(r)
	}) {
		return Errorf(CodeInvalid, "reason contains control characters")
	}
	return nil
}
