package tokenadmin

import (
	"context"
	"slices"
	"strings"
	"time"
)

// Grant types (RFC 6749 §4).
const (
	GrantPassword          = "password"
	GrantClientCredentials = "client_credentials"
	GrantRefreshToken      = "refresh_token"
)

// GrantTypes are the grant types an app may be allowed.
var GrantTypes = []string{GrantPassword, GrantClientCredentials, GrantRefreshToken}

// AppState says whether an app may obtain and use tokens.
type AppState string

// App states. Disabling an app revokes all its tokens.
const (
	AppActive   AppState = "active"
	AppDisabled AppState = "disabled"
)

// Revocation reasons recorded by the system itself.
const (
	ReasonRefreshReuse  = "refresh_token_reuse" // RFC 9700 §4.14.2
	ReasonRotated       = "rotated"             // retired by refresh rotation
	ReasonAppDisabled   = "app_disabled"
	ReasonAppDeleted    = "app_deleted"
	ReasonSecretRotated = "secret_regenerated"
)

// Policy holds the server-wide OAuth settings.
type Policy struct {
	AccessTTL           time.Duration // default access-token lifetime
	RefreshTTL          time.Duration // default refresh-token lifetime
	DisableRefreshGrant bool          // no app gets refresh tokens
}

// DefaultPolicy is the policy of a server started without flags.
var DefaultPolicy = Policy{AccessTTL: time.Hour, RefreshTTL: 24 * time.Hour}

// AccessTTLFor is the access-token lifetime for tokens issued to a.
func (p Policy) AccessTTLFor(a *App) time.Duration {
	if a.AccessTTL > 0 {
		return a.AccessTTL
	}
	return p.AccessTTL
}

// RefreshTTLFor is the refresh-token lifetime for tokens issued to a.
func (p Policy) RefreshTTLFor(a *App) time.Duration {
	if a.RefreshTTL > 0 {
		return a.RefreshTTL
	}
	return p.RefreshTTL
}

// RefreshAllowed reports whether a may use the refresh_token grant and
// receive refresh tokens: the app allows it and the server does not
// switch it off.
func (p Policy) RefreshAllowed(a *App) bool {
	return !p.DisableRefreshGrant && a.Allows(GrantRefreshToken)
}

// Allows reports whether the app may use a grant type.
func (a *App) Allows(grant string) bool { return slices.Contains(a.GrantTypes, grant) }

// GrantScope checks requested scopes against what the app allows and
// returns the scope to grant: the request, or everything the app allows
// when the request names none (RFC 6749 §3.3). A scope the app does not
// allow is CodeInvalidScope.
func (a *App) GrantScope(requested []string) ([]string, error) {
	if len(requested) == 0 {
		return slices.Clone(a.Scopes), nil
	}
	for _, s := range requested {
		if !slices.Contains(a.Scopes, s) {
			return nil, Errorf(CodeInvalidScope, "a requested scope is not allowed for this client")
		}
	}
	return dedupe(requested), nil
}

func dedupe(s []string) []string {
	out := make([]string, 0, len(s))
	for _, v := range s {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// ValidateAppPolicy checks grant types, scopes and lifetimes of an app.
func ValidateAppPolicy(a *App) error {
	for _, g := range a.GrantTypes {
		if !slices.Contains(GrantTypes, g) {
			return Errorf(CodeInvalid, "unknown grant type %q (allowed: %s)", g, strings.Join(GrantTypes, ", "))
		}
	}
	for _, s := range a.Scopes {
		// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
		if s == "" || strings.ContainsFunc(s, func(r rune) bool { return r <= 0x20 || r == '"' || r == '\\' || r >= 0x7f }) {
			return Errorf(CodeInvalid, "invalid scope %q", s)
		}
	}
	for _, d := range []time.Duration{a.AccessTTL, a.RefreshTTL} {
		if d < 0 || d%time.Second != 0 {
			return Errorf(CodeInvalid, "lifetimes must be whole seconds, 0 (the server's default) or more")
		}
	}
	if a.Name == "" || len(a.Name) > 200 {
		return Errorf(CodeInvalid, "app name must be 1 to 200 bytes")
	}
	return nil
}

// AppUpdate changes some of an app's fields; nil fields stay as they are.
type AppUpdate struct {
	Name          *string
	Owner         *string
	GrantTypes    *[]string
	Scopes        *[]string
	AccessTTL     *time.Duration
	RefreshTTL    *time.Duration
	RotateRefresh *bool
	Introspect    *bool
}

// Apply returns a with u applied.
func (u AppUpdate) Apply(a App) App {
	if u.Name != nil {
		a.Name = *u.Name
	}
	if u.Owner != nil {
		a.Owner = *u.Owner
	}
	if u.GrantTypes != nil {
		a.GrantTypes = slices.Clone(*u.GrantTypes)
	}
	if u.Scopes != nil {
		a.Scopes = slices.Clone(*u.Scopes)
	}
	if u.AccessTTL != nil {
		a.AccessTTL = *u.AccessTTL
	}
	if u.RefreshTTL != nil {
		a.RefreshTTL = *u.RefreshTTL
	}
	if u.RotateRefresh != nil {
		a.RotateRefresh = *u.RotateRefresh
	}
	if u.Introspect != nil {
		a.Introspect = *u.Introspect
	}
	return a
}

// AppStore keeps apps and their policy. Unknown (or deleted) apps are
// CodeNotFound; an existing client ID is CodeConflict.
type AppStore interface {
	// RegisterApp creates an active app with a new client secret, which
	// is returned once and stored only as a keyed hash. An empty ClientID
	// gets a random one.
	RegisterApp(ctx context.Context, a App) (*App, string, error)
	GetApp(ctx context.Context, clientID string) (*App, error)
	// ListApps lists apps owned by owner, or every app for owner "".
	ListApps(ctx context.Context, owner string) ([]*App, error)
	UpdateApp(ctx context.Context, clientID string, u AppUpdate) (*App, error)
	// SetAppState enables or disables an app; disabling revokes all its
	// active tokens (reason app_disabled) and returns how many.
	SetAppState(ctx context.Context, clientID string, state AppState, actor string) (int, error)
	// DeleteApp revokes all the app's tokens (reason app_deleted) and
	// deletes it; its revoked tokens stay visible through GetToken.
	DeleteApp(ctx context.Context, clientID, actor string) (int, error)
	// RegenerateSecret replaces the app's secret and revokes all its
	// tokens (reason secret_regenerated).
	RegenerateSecret(ctx context.Context, clientID, actor string) (secret string, revoked int, err error)
}

// RefreshRequest asks to exchange a refresh token (RFC 6749 §6).
type RefreshRequest struct {
	ClientID   string   // the authenticated client; the token must be its own
	Value      string   // the refresh token
	Scopes     []string // requested scopes: a subset of the original; empty for all
	AccessTTL  time.Duration
	RefreshTTL time.Duration // lifetime of a rotated refresh token
	Rotate     bool          // issue a new refresh token and retire the old one
}

// OAuthStore is what the OAuth endpoints need from the store.
type OAuthStore interface {
	// AuthenticateClient checks a client secret in constant time; a
	// wrong secret, or an unknown, disabled or secretless app, is
	// CodeUnauthenticated.
	AuthenticateClient(ctx context.Context, clientID, secret string) (*App, error)
	IssueTokens(ctx context.Context, r IssueRequest) (*Issued, error)
	// RefreshTokens exchanges an active refresh token of r.ClientID for a
	// new access token (and, with r.Rotate, a new refresh token of the
	// same family, retiring the old one with reason rotated), atomically.
	// A refresh token that rotation retired is reuse (RFC 9700 §4.14.2):
	// the whole family is revoked (reason refresh_token_reuse) and the
	// result is CodeInvalidGrant, as for any token that is unknown,
	// expired, revoked or another client's. Scopes beyond the original
	// grant are CodeInvalidScope. The audit event ctx carries (WithAudit),
	// if any, is recorded only for reuse, in the family revocation's own
	// transaction, with the retired token's ID as target (when the event
	// names none) and the tokens revoked as count.
	RefreshTokens(ctx context.Context, r RefreshRequest) (*Issued, error)
	// LookupToken finds a token by value (CodeTokenNotFound otherwise),
	// with its State at the store's clock.
	LookupToken(ctx context.Context, value string) (*Token, error)
	RevokeToken(ctx context.Context, r RevokeRequest) (*RevokeResult, error)
}
