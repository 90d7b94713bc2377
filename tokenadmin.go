package tokenadmin

import (
	"context"
	"time"
)

// TokenType says whether a token is an access token or a refresh token.
type TokenType string

// Token types as they appear on the native wire.
const (
	AccessToken  TokenType = "access"
	RefreshToken TokenType = "refresh"
)

// Valid reports whether t is a known token type.
func (t TokenType) Valid() bool { return t == AccessToken || t == RefreshToken }

// TokenState is derived from a token's timestamps at a given instant.
type TokenState string

// Token states.
const (
	StateActive  TokenState = "active"
	StateRevoked TokenState = "revoked"
	StateExpired TokenState = "expired"
)

// Token is what tokenadmin knows about one issued token. The token value
// itself is never kept: the store holds only a keyed hash of it, and ID is a
// separate random public identifier.
//
// Tokens belong to grant families: an access token, the refresh token
// issued with it, and every token later issued from that refresh token.
// Revoking a refresh token revokes its family's active tokens.
type Token struct {
	ID        string
	Type      TokenType
	ClientID  string
	AppName   string
	User      string
	Scopes    []string
	GrantType string
	IssuedAt  time.Time
	ExpiresAt time.Time

	RevokedAt    time.Time // zero while not revoked
	RevokedBy    string
	RevokeReason string

	// State is the token's state when the store read it, judged by the
	// store's clock: the one clock that decides expiry.
	State TokenState
}

// StateAt returns the token's state at now. A revoked token stays revoked
// after it would have expired, so that an administrator can see why it
// stopped working.
func (t *Token) StateAt(now time.Time) TokenState {
	switch {
	case !t.RevokedAt.IsZero():
		return StateRevoked
	case !now.Before(t.ExpiresAt):
		return StateExpired
	default:
		return StateActive
	}
}

// Page sizes of listActiveTokens.
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
)

// TokenFilter selects active tokens for listing. Empty fields do not filter.
type TokenFilter struct {
	User      string
	ClientID  string
	Type      TokenType
	PageSize  int    // 1..MaxPageSize
	PageToken string // opaque, from a previous TokenPage of the same filter
}

// TokenPage is one page of a listing, in a stable order.
type TokenPage struct {
	Tokens        []*Token
	NextPageToken string // empty on the last page
}

// RevokeRequest names one token to revoke, by public ID or by value.
type RevokeRequest struct {
	TokenID  string
	Value    string
	TypeHint TokenType // optional; validated, then ignored: one lookup by value finds either type (RFC 7009 §2.1)
	Reason   string
	Actor    string // who revokes; recorded as revokedBy

	// Owner, when set, restricts the request to tokens of that user: any
	// other token is reported as not found, so that self-service callers
	// cannot probe for other users' token IDs.
	Owner string
	// ClientID, when set, restricts the request to that app's tokens in
	// the same way (RFC 7009 §2.1: a client revokes only its own tokens).
	ClientID string
}

// RevokeResult reports what a revocation changed.
type RevokeResult struct {
	Revoked bool   // this call changed the named token's state
	TokenID string // the public ID of the named token
	Count   int    // tokens that changed state, cascade included
}

// BulkRevoke selects every active token of a user, an app, or a user's
// tokens for one app. At least one of User and ClientID is set.
type BulkRevoke struct {
	User     string
	ClientID string
	Reason   string
	Actor    string
}

// AuthorizedApp summarises the active tokens one user holds for one app.
type AuthorizedApp struct {
	ClientID     string
	AppName      string
	ActiveTokens int
	LastIssuedAt time.Time
}

// App is an OAuth client application and its policy.
type App struct {
	ClientID  string
	Name      string
	Owner     string // the user who manages it
	CreatedAt time.Time

	GrantTypes    []string      // grant types it may use
	Scopes        []string      // scopes it may be granted
	AccessTTL     time.Duration // 0: the server's default
	RefreshTTL    time.Duration // 0: the server's default
	RotateRefresh bool          // every refresh returns a new refresh token
	Introspect    bool          // may call the introspection endpoint
	State         AppState
	HasSecret     bool // a client secret is set (apps made by CreateApp have none)
}

// Role is what an authenticated caller may do.
type Role string

// Roles.
const (
	RoleAdmin   Role = "admin"   // everything
	RoleAuditor Role = "auditor" // reads everything, changes nothing
	RoleUser    Role = "user"    // self-service: own tokens, and the apps they own
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleAdmin || r == RoleAuditor || r == RoleUser }

// User is an account that may call the admin API.
type User struct {
	Name         string
	Role         Role
	PasswordHash string // PHC-encoded; never leaves the process
}

// Caller is the authenticated principal of a request.
type Caller struct {
	Name string
	Role Role
}

// IssueRequest asks for a new access token and, when RefreshTTL is
// positive, a refresh token of the same family.
type IssueRequest struct {
	ClientID   string
	User       string
	Scopes     []string
	GrantType  string
	AccessTTL  time.Duration
	RefreshTTL time.Duration
}

// Issued holds freshly issued tokens. The values are returned exactly once,
// here; the store keeps only their keyed hashes.
type Issued struct {
	Access       *Token
	AccessValue  string
	Refresh      *Token // nil when no refresh token was issued
	RefreshValue string
}

// TokenStore is the storage the Service needs. Implementations report
// domain errors as *Error (CodeTokenNotFound, CodeInvalidPageToken, …) and
// everything else as internal errors.
type TokenStore interface {
	// ListActiveTokens returns tokens neither revoked nor expired at the
	// store's clock, in a stable order, one page of at most f.PageSize.
	// A bad f.PageToken is CodeInvalidPageToken.
	ListActiveTokens(ctx context.Context, f TokenFilter) (*TokenPage, error)
	// RevokeToken revokes one token durably before returning; revoking a
	// refresh token revokes its family's active tokens. Unknown tokens (or
	// tokens of another user than r.Owner) are CodeTokenNotFound; already
	// revoked or expired tokens give Revoked=false and no error.
	RevokeToken(ctx context.Context, r RevokeRequest) (*RevokeResult, error)
	// RevokeTokens revokes every matching active token, in chunks that
	// each commit durably, and returns how many changed state.
	RevokeTokens(ctx context.Context, r BulkRevoke) (int, error)
	// ListAuthorizedApps summarises user's active tokens per app.
	ListAuthorizedApps(ctx context.Context, user string) ([]*AuthorizedApp, error)
	// GetToken returns a token in any state; unknown is CodeTokenNotFound.
	GetToken(ctx context.Context, tokenID string) (*Token, error)
}
