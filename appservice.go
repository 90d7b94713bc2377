package tokenadmin

import "context"

// NewApp returns an app with the defaults of a new registration: every
// grant type, no scopes, the server's lifetimes, refresh rotation on.
func NewApp(name string) App {
	return App{
		Name:          name,
		GrantTypes:    []string{GrantPassword, GrantClientCredentials, GrantRefreshToken},
		RotateRefresh: true,
		State:         AppActive,
	}
}

// errIntrospectAdminOnly: introspection reveals other apps' tokens (their
// users and scopes), so only an admin may grant an app that permission.
var errIntrospectAdminOnly = Errorf(CodeForbidden, "only an admin may allow an app to introspect tokens")

// AppService applies the access rules of app management on top of an
// AppStore: admins manage every app, users the apps they own, auditors
// read every app and change none (CodeForbidden). An app the caller may
// not see is reported as not found, so client IDs cannot be probed. Only
// admins may grant the introspection permission.
//
// With Audit set, every change is recorded: successes by the store in the
// change's own transaction (see WithAudit), refused and failed attempts
// by the AppService.
type AppService struct {
	Apps AppStore
	// Audit records refused and failed changes; nil: no auditing. Apps
	// must record successes (WithAudit) for the log to be complete.
	Audit AuditLog
}

// Register creates an app and returns its secret, shown this once. A user
// registers apps for themselves; an admin for anyone.
func (s *AppService) Register(ctx context.Context, c Caller, a App) (_ *App, _ string, err error) {
	ctx = StartAudit(ctx, s.Audit, c, AuditAppCreate, a.ClientID, "")
	defer func() { EndAudit(ctx, s.Audit, 0, err) }()
	if err := mayChange(c); err != nil {
		return nil, "", err
	}
	if c.Role != RoleAdmin {
		if a.Owner != "" && a.Owner != c.Name {
			return nil, "", Errorf(CodeForbidden, "users may register apps only for themselves")
		}
		if a.Introspect {
			return nil, "", errIntrospectAdminOnly
		}
		a.Owner = c.Name
	}
	a.State = AppActive
	if err := ValidateAppPolicy(&a); err != nil {
		return nil, "", err
	}
	return s.Apps.RegisterApp(ctx, a)
}

// Get returns an app the caller may see.
func (s *AppService) Get(ctx context.Context, c Caller, clientID string) (*App, error) {
	if err := authenticated(c); err != nil {
		return nil, err
	}
	if clientID == "" {
		return nil, Errorf(CodeInvalid, "clientId is required")
	}
	a, err := s.Apps.GetApp(ctx, clientID)
	if err != nil {
		return nil, err
	}
	if !readsAll(c) && a.Owner != c.Name {
		return nil, Errorf(CodeNotFound, "app not found")
	}
	return a, nil
}

// List returns the apps the caller may see.
func (s *AppService) List(ctx context.Context, c Caller) ([]*App, error) {
	if err := authenticated(c); err != nil {
		return nil, err
	}
	owner := ""
	if !readsAll(c) {
		owner = c.Name
	}
	return s.Apps.ListApps(ctx, owner)
}

// Update changes an app's policy. Lifetimes apply to tokens issued
// afterwards. Only an admin may give an app to another owner.
func (s *AppService) Update(ctx context.Context, c Caller, clientID string, u AppUpdate) (_ *App, err error) {
	ctx = StartAudit(ctx, s.Audit, c, AuditAppUpdate, clientID, "")
	defer func() { EndAudit(ctx, s.Audit, 0, err) }()
	if err := mayChange(c); err != nil {
		return nil, err
	}
	a, err := s.Get(ctx, c, clientID)
	if err != nil {
		return nil, err
	}
	if c.Role != RoleAdmin && u.Owner != nil && *u.Owner != c.Name {
		return nil, Errorf(CodeForbidden, "only an admin may change an app's owner")
	}
	if c.Role != RoleAdmin && u.Introspect != nil && *u.Introspect && !a.Introspect {
		return nil, errIntrospectAdminOnly
	}
	changed := u.Apply(*a)
	if err := ValidateAppPolicy(&changed); err != nil {
		return nil, err
	}
	return s.Apps.UpdateApp(ctx, clientID, u)
}

// SetState enables or disables an app; disabling revokes its tokens.
func (s *AppService) SetState(ctx context.Context, c Caller, clientID string, state AppState) (n int, err error) {
	ctx = StartAudit(ctx, s.Audit, c, AuditAppUpdate, clientID, stateReason(state))
	defer func() { EndAudit(ctx, s.Audit, n, err) }()
	if err := mayChange(c); err != nil {
		return 0, err
	}
	if state != AppActive && state != AppDisabled {
		return 0, Errorf(CodeInvalid, "state must be active or disabled")
	}
	if _, err := s.Get(ctx, c, clientID); err != nil {
		return 0, err
	}
	return s.Apps.SetAppState(ctx, clientID, state, c.Name)
}

// Delete revokes an app's tokens and deletes it.
func (s *AppService) Delete(ctx context.Context, c Caller, clientID string) (n int, err error) {
	ctx = StartAudit(ctx, s.Audit, c, AuditAppDelete, clientID, ReasonAppDeleted)
	defer func() { EndAudit(ctx, s.Audit, n, err) }()
	if err := mayChange(c); err != nil {
		return 0, err
	}
	if _, err := s.Get(ctx, c, clientID); err != nil {
		return 0, err
	}
	return s.Apps.DeleteApp(ctx, clientID, c.Name)
}

// RegenerateSecret replaces an app's secret, revoking its tokens.
func (s *AppService) RegenerateSecret(ctx context.Context, c Caller, clientID string) (_ string, n int, err error) {
	ctx = StartAudit(ctx, s.Audit, c, AuditAppSecret, clientID, ReasonSecretRotated)
	defer func() { EndAudit(ctx, s.Audit, n, err) }()
	if err := mayChange(c); err != nil {
		return "", 0, err
	}
	if _, err := s.Get(ctx, c, clientID); err != nil {
		return "", 0, err
	}
	return s.Apps.RegenerateSecret(ctx, clientID, c.Name)
}

// mayChange refuses unauthenticated callers and auditors.
func mayChange(c Caller) error {
	if err := authenticated(c); err != nil {
		return err
	}
	if c.Role == RoleAuditor {
		return errReadOnly
	}
	return nil
}

// stateReason is the audit log's reason for a change of state: the
// revocation reason of disabling, "app_enabled" for enabling.
func stateReason(state AppState) string {
	if state == AppDisabled {
		return ReasonAppDisabled
	}
	return "app_enabled"
}
