package tokenadmin_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"tokenadmin"
)

// The cast. alice is an admin, bob a self-service user, carol another user
// who holds tokens, and nobody a user the store has never heard of.
const (
	adminName  = "alice"
	userName   = "bob"
	otherName  = "carol"
	nobodyName = "nobody"

	aliceToken   = "tok-alice"
	bobToken     = "tok-bob"
	carolToken   = "tok-carol"
	unknownToken = "tok-unknown"
)

var (
	adminCaller = tokenadmin.Caller{Name: adminName, Role: tokenadmin.RoleAdmin}
	userCaller  = tokenadmin.Caller{Name: userName, Role: tokenadmin.RoleUser}
	zeroCaller  = tokenadmin.Caller{}
	// Authenticators never produce these two, but the Service must not
	// trust that: both are unauthenticated.
	unknownRoleCaller = tokenadmin.Caller{Name: "mallory", Role: "superuser"}
	namelessCaller    = tokenadmin.Caller{Role: tokenadmin.RoleAdmin}
)

// storeCall is one request the Service made of the fake store. Only the
// field of the called method is set, so calls compare with ==.
type storeCall struct {
	Method  string
	Filter  tokenadmin.TokenFilter
	Revoke  tokenadmin.RevokeRequest
	Bulk    tokenadmin.BulkRevoke
	User    string // ListAuthorizedApps
	TokenID string // GetToken
}

// fakeStore is an in-memory TokenStore that records every call. It keeps
// the TokenStore contract where the Service relies on it: unknown tokens,
// and tokens of another user than RevokeRequest.Owner, are
// CodeTokenNotFound with the same message as store.DB's.
type fakeStore struct {
	tokens map[string]*tokenadmin.Token // by ID
	values map[string]string            // token value -> ID
	err    error                        // when set, every method fails with it

	mu    sync.Mutex
	calls []storeCall
}

var _ tokenadmin.TokenStore = (*fakeStore)(nil)

func newFakeStore() *fakeStore {
	s := &fakeStore{
		tokens: make(map[string]*tokenadmin.Token),
		values: make(map[string]string),
	}
	for _, t := range []*tokenadmin.Token{
		{ID: aliceToken, Type: tokenadmin.AccessToken, ClientID: "app-1", User: adminName, State: tokenadmin.StateActive},
		{ID: bobToken, Type: tokenadmin.AccessToken, ClientID: "app-1", User: userName, State: tokenadmin.StateActive},
		{ID: carolToken, Type: tokenadmin.RefreshToken, ClientID: "app-2", User: otherName, State: tokenadmin.StateActive},
	} {
		s.tokens[t.ID] = t
		s.values["value-of-"+t.ID] = t.ID
	}
	return s
}

func errTokenNotFound() error {
	return tokenadmin.Errorf(tokenadmin.CodeTokenNotFound, "token not found")
}

func (s *fakeStore) record(c storeCall) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, c)
}

func (s *fakeStore) recorded() []storeCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

func (s *fakeStore) ListActiveTokens(_ context.Context, f tokenadmin.TokenFilter) (*tokenadmin.TokenPage, error) {
	s.record(storeCall{Method: "ListActiveTokens", Filter: f})
	if s.err != nil {
		return nil, s.err
	}
	page := new(tokenadmin.TokenPage)
	for _, t := range s.tokens {
		if f.User == "" || f.User == t.User {
			page.Tokens = append(page.Tokens, t)
		}
	}
	return page, nil
}

func (s *fakeStore) RevokeToken(_ context.Context, r tokenadmin.RevokeRequest) (*tokenadmin.RevokeResult, error) {
	s.record(storeCall{Method: "RevokeToken", Revoke: r})
	if s.err != nil {
		return nil, s.err
	}
	id := r.TokenID
	if id == "" {
		id = s.values[r.Value]
	}
	t, ok := s.tokens[id]
	if !ok || (r.Owner != "" && t.User != r.Owner) {
		return nil, errTokenNotFound()
	}
	return &tokenadmin.RevokeResult{Revoked: true, TokenID: t.ID, Count: 1}, nil
}

func (s *fakeStore) RevokeTokens(_ context.Context, r tokenadmin.BulkRevoke) (int, error) {
	s.record(storeCall{Method: "RevokeTokens", Bulk: r})
	if s.err != nil {
		return 0, s.err
	}
	n := 0
	for _, t := range s.tokens {
		if (r.User == "" || r.User == t.User) && (r.ClientID == "" || r.ClientID == t.ClientID) {
			n++
		}
	}
	return n, nil
}

func (s *fakeStore) ListAuthorizedApps(_ context.Context, user string) ([]*tokenadmin.AuthorizedApp, error) {
	s.record(storeCall{Method: "ListAuthorizedApps", User: user})
	if s.err != nil {
		return nil, s.err
	}
	var apps []*tokenadmin.AuthorizedApp
	for _, t := range s.tokens {
		if t.User == user {
			apps = append(apps, &tokenadmin.AuthorizedApp{ClientID: t.ClientID, ActiveTokens: 1})
		}
	}
	return apps, nil
}

func (s *fakeStore) GetToken(_ context.Context, tokenID string) (*tokenadmin.Token, error) {
	s.record(storeCall{Method: "GetToken", TokenID: tokenID})
	if s.err != nil {
		return nil, s.err
	}
	t, ok := s.tokens[tokenID]
	if !ok {
		return nil, errTokenNotFound()
	}
	return t, nil
}

func newService(t *testing.T) (*tokenadmin.Service, *fakeStore) {
	t.Helper()
	store := newFakeStore()
	return &tokenadmin.Service{Tokens: store}, store
}

// wantCode fails unless err carries code; code "" means no error.
func wantCode(t *testing.T, op string, err error, code tokenadmin.Code) {
	t.Helper()
	if got := tokenadmin.ErrorCode(err); got != code {
		t.Fatalf("%s: error code = %q (err %v), want %q", op, got, err, code)
	}
}

// wantStoreCalls fails unless the store was asked exactly want, in order;
// want nil means the store must not have been called at all.
func wantStoreCalls(t *testing.T, store *fakeStore, want ...storeCall) {
	t.Helper()
	got := store.recorded()
	if !slices.Equal(got, want) {
		t.Errorf("store calls:\n got %+v\nwant %+v", got, want)
	}
}

// unauthenticatedCallers are refused before anything else is looked at.
var unauthenticatedCallers = []struct {
	name   string
	caller tokenadmin.Caller
}{
	{name: "zero caller", caller: zeroCaller},
	{name: "caller with unknown role", caller: unknownRoleCaller},
	{name: "caller without name", caller: namelessCaller},
	{name: "caller without role", caller: tokenadmin.Caller{Name: userName}},
}

func TestServiceListActiveTokens(t *testing.T) {
	type testCase struct {
		name       string
		caller     tokenadmin.Caller
		filter     tokenadmin.TokenFilter
		wantCode   tokenadmin.Code
		wantFilter *tokenadmin.TokenFilter // passed to the store; nil: store not called
	}
	tests := []testCase{
		// Access.
		{
			name:       "admin without user lists every user",
			caller:     adminCaller,
			wantFilter: &tokenadmin.TokenFilter{PageSize: tokenadmin.DefaultPageSize},
		},
		{
			name:       "admin naming self lists own tokens",
			caller:     adminCaller,
			filter:     tokenadmin.TokenFilter{User: adminName},
			wantFilter: &tokenadmin.TokenFilter{User: adminName, PageSize: tokenadmin.DefaultPageSize},
		},
		{
			name:       "admin naming another user lists theirs",
			caller:     adminCaller,
			filter:     tokenadmin.TokenFilter{User: otherName},
			wantFilter: &tokenadmin.TokenFilter{User: otherName, PageSize: tokenadmin.DefaultPageSize},
		},
		{
			name:       "admin naming unknown user is passed down",
			caller:     adminCaller,
			filter:     tokenadmin.TokenFilter{User: nobodyName},
			wantFilter: &tokenadmin.TokenFilter{User: nobodyName, PageSize: tokenadmin.DefaultPageSize},
		},
		{
			name:       "user without user is scoped to self",
			caller:     userCaller,
			wantFilter: &tokenadmin.TokenFilter{User: userName, PageSize: tokenadmin.DefaultPageSize},
		},
		{
			name:       "user naming self lists own tokens",
			caller:     userCaller,
			filter:     tokenadmin.TokenFilter{User: userName},
			wantFilter: &tokenadmin.TokenFilter{User: userName, PageSize: tokenadmin.DefaultPageSize},
		},
		{
			name:     "user naming another user is Forbidden",
			caller:   userCaller,
			filter:   tokenadmin.TokenFilter{User: otherName},
			wantCode: tokenadmin.CodeForbidden,
		},
		{
			name:     "user naming unknown user is Forbidden",
			caller:   userCaller,
			filter:   tokenadmin.TokenFilter{User: nobodyName},
			wantCode: tokenadmin.CodeForbidden,
		},
		{
			name:     "zero caller with a bad pageSize is Unauthenticated",
			caller:   zeroCaller,
			filter:   tokenadmin.TokenFilter{PageSize: -1},
			wantCode: tokenadmin.CodeUnauthenticated,
		},
		{
			name:     "unknown role naming self is Unauthenticated",
			caller:   unknownRoleCaller,
			filter:   tokenadmin.TokenFilter{User: unknownRoleCaller.Name},
			wantCode: tokenadmin.CodeUnauthenticated,
		},

		// Validation and pass-through.
		{
			name:       "pageSize 1 is accepted",
			caller:     userCaller,
			filter:     tokenadmin.TokenFilter{PageSize: 1},
			wantFilter: &tokenadmin.TokenFilter{User: userName, PageSize: 1},
		},
		{
			name:       "pageSize 1000 is accepted",
			caller:     adminCaller,
			filter:     tokenadmin.TokenFilter{PageSize: tokenadmin.MaxPageSize},
			wantFilter: &tokenadmin.TokenFilter{PageSize: tokenadmin.MaxPageSize},
		},
		{
			name:     "pageSize 1001 is InvalidRequest",
			caller:   adminCaller,
			filter:   tokenadmin.TokenFilter{PageSize: tokenadmin.MaxPageSize + 1},
			wantCode: tokenadmin.CodeInvalid,
		},
		{
			name:     "pageSize -1 is InvalidRequest",
			caller:   userCaller,
			filter:   tokenadmin.TokenFilter{PageSize: -1},
			wantCode: tokenadmin.CodeInvalid,
		},
		{
			name:       "access tokenType is accepted",
			caller:     userCaller,
			filter:     tokenadmin.TokenFilter{Type: tokenadmin.AccessToken},
			wantFilter: &tokenadmin.TokenFilter{User: userName, Type: tokenadmin.AccessToken, PageSize: tokenadmin.DefaultPageSize},
		},
		{
			name:       "refresh tokenType is accepted",
			caller:     adminCaller,
			filter:     tokenadmin.TokenFilter{Type: tokenadmin.RefreshToken},
			wantFilter: &tokenadmin.TokenFilter{Type: tokenadmin.RefreshToken, PageSize: tokenadmin.DefaultPageSize},
		},
		{
			name:     "unknown tokenType is InvalidRequest",
			caller:   adminCaller,
			filter:   tokenadmin.TokenFilter{Type: "id_token"},
			wantCode: tokenadmin.CodeInvalid,
		},
		{
			name:     "tokenType in the wrong case is InvalidRequest",
			caller:   userCaller,
			filter:   tokenadmin.TokenFilter{Type: "Access"},
			wantCode: tokenadmin.CodeInvalid,
		},
		{
			name:   "clientId and pageToken are passed down unchanged",
			caller: userCaller,
			filter: tokenadmin.TokenFilter{ClientID: "app-1", PageToken: "opaque", PageSize: 7},
			wantFilter: &tokenadmin.TokenFilter{
				User: userName, ClientID: "app-1", PageToken: "opaque", PageSize: 7,
			},
		},
	}
	for _, u := range unauthenticatedCallers {
		for _, who := range []string{"", userName, otherName, nobodyName} {
			tests = append(tests, testCase{
				name:     fmt.Sprintf("%s naming %q is Unauthenticated", u.name, who),
				caller:   u.caller,
				filter:   tokenadmin.TokenFilter{User: who},
				wantCode: tokenadmin.CodeUnauthenticated,
			})
		}
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			svc, store := newService(t)
			page, err := svc.ListActiveTokens(t.Context(), tc.caller, tc.filter)
			wantCode(t, "ListActiveTokens", err, tc.wantCode)
			if tc.wantFilter == nil {
				wantStoreCalls(t, store)
			} else {
				wantStoreCalls(t, store, storeCall{Method: "ListActiveTokens", Filter: *tc.wantFilter})
			}
			if (err == nil) != (page != nil) {
				t.Errorf("ListActiveTokens = %v, %v; want exactly one of page and error", page, err)
			}
		})
	}
}

func TestServiceRevokeToken(t *testing.T) {
	type testCase struct {
		name        string
		caller      tokenadmin.Caller
		req         tokenadmin.RevokeRequest
		wantCode    tokenadmin.Code
		wantRequest *tokenadmin.RevokeRequest // passed to the store; nil: store not called
	}
	tests := []testCase{
		// Access: admins revoke anything, with no Owner restriction.
		{
			name:        "admin revokes own token",
			caller:      adminCaller,
			req:         tokenadmin.RevokeRequest{TokenID: aliceToken},
			wantRequest: &tokenadmin.RevokeRequest{TokenID: aliceToken, Actor: adminName},
		},
		{
			name:        "admin revokes another user's token by ID",
			caller:      adminCaller,
			req:         tokenadmin.RevokeRequest{TokenID: carolToken, Reason: "offboarded"},
			wantRequest: &tokenadmin.RevokeRequest{TokenID: carolToken, Reason: "offboarded", Actor: adminName},
		},
		{
			name:        "admin revokes another user's token by value",
			caller:      adminCaller,
			req:         tokenadmin.RevokeRequest{Value: "value-of-" + carolToken, TypeHint: tokenadmin.RefreshToken},
			wantRequest: &tokenadmin.RevokeRequest{Value: "value-of-" + carolToken, TypeHint: tokenadmin.RefreshToken, Actor: adminName},
		},
		{
			name:        "admin revoking unknown token is TokenNotFound from the store",
			caller:      adminCaller,
			req:         tokenadmin.RevokeRequest{TokenID: unknownToken},
			wantCode:    tokenadmin.CodeTokenNotFound,
			wantRequest: &tokenadmin.RevokeRequest{TokenID: unknownToken, Actor: adminName},
		},
		{
			name:        "admin's Owner and Actor are replaced",
			caller:      adminCaller,
			req:         tokenadmin.RevokeRequest{TokenID: carolToken, Owner: userName, Actor: "mallory"},
			wantRequest: &tokenadmin.RevokeRequest{TokenID: carolToken, Actor: adminName},
		},

		// Access: users are restricted to their own tokens by Owner.
		{
			name:        "user revokes own token by ID",
			caller:      userCaller,
			req:         tokenadmin.RevokeRequest{TokenID: bobToken, Reason: "lost laptop"},
			wantRequest: &tokenadmin.RevokeRequest{TokenID: bobToken, Reason: "lost laptop", Actor: userName, Owner: userName},
		},
		{
			name:        "user revokes own token by value",
			caller:      userCaller,
			req:         tokenadmin.RevokeRequest{Value: "value-of-" + bobToken, TypeHint: tokenadmin.AccessToken},
			wantRequest: &tokenadmin.RevokeRequest{Value: "value-of-" + bobToken, TypeHint: tokenadmin.AccessToken, Actor: userName, Owner: userName},
		},
		{
			name:        "user revoking another user's token is TokenNotFound",
			caller:      userCaller,
			req:         tokenadmin.RevokeRequest{TokenID: carolToken},
			wantCode:    tokenadmin.CodeTokenNotFound,
			wantRequest: &tokenadmin.RevokeRequest{TokenID: carolToken, Actor: userName, Owner: userName},
		},
		{
			name:        "user revoking another user's token by value is TokenNotFound",
			caller:      userCaller,
			req:         tokenadmin.RevokeRequest{Value: "value-of-" + carolToken},
			wantCode:    tokenadmin.CodeTokenNotFound,
			wantRequest: &tokenadmin.RevokeRequest{Value: "value-of-" + carolToken, Actor: userName, Owner: userName},
		},
		{
			name:        "user revoking unknown token is TokenNotFound",
			caller:      userCaller,
			req:         tokenadmin.RevokeRequest{TokenID: unknownToken},
			wantCode:    tokenadmin.CodeTokenNotFound,
			wantRequest: &tokenadmin.RevokeRequest{TokenID: unknownToken, Actor: userName, Owner: userName},
		},
		{
			name:        "user's own Owner and Actor are replaced by the caller",
			caller:      userCaller,
			req:         tokenadmin.RevokeRequest{TokenID: carolToken, Owner: otherName, Actor: otherName},
			wantCode:    tokenadmin.CodeTokenNotFound,
			wantRequest: &tokenadmin.RevokeRequest{TokenID: carolToken, Actor: userName, Owner: userName},
		},

		// Validation.
		{
			name:     "neither tokenId nor token is InvalidRequest",
			caller:   adminCaller,
			req:      tokenadmin.RevokeRequest{Reason: "why not"},
			wantCode: tokenadmin.CodeInvalid,
		},
		{
			name:     "both tokenId and token is InvalidRequest",
			caller:   userCaller,
			req:      tokenadmin.RevokeRequest{TokenID: bobToken, Value: "value-of-" + bobToken},
			wantCode: tokenadmin.CodeInvalid,
		},
		{
			name:     "unknown type hint is InvalidRequest",
			caller:   userCaller,
			req:      tokenadmin.RevokeRequest{Value: "value-of-" + bobToken, TypeHint: "access_token"},
			wantCode: tokenadmin.CodeInvalid,
		},
		{
			name:     "type hint in the wrong case is InvalidRequest",
			caller:   adminCaller,
			req:      tokenadmin.RevokeRequest{TokenID: bobToken, TypeHint: "Refresh"},
			wantCode: tokenadmin.CodeInvalid,
		},
		{
			name:     "zero caller with neither tokenId nor token is Unauthenticated",
			caller:   zeroCaller,
			wantCode: tokenadmin.CodeUnauthenticated,
		},
	}
	for _, u := range unauthenticatedCallers {
		for _, tok := range []string{bobToken, carolToken, unknownToken} {
			tests = append(tests, testCase{
				name:     fmt.Sprintf("%s revoking %s is Unauthenticated", u.name, tok),
				caller:   u.caller,
				req:      tokenadmin.RevokeRequest{TokenID: tok},
				wantCode: tokenadmin.CodeUnauthenticated,
			})
		}
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			svc, store := newService(t)
			res, err := svc.RevokeToken(t.Context(), tc.caller, tc.req)
			wantCode(t, "RevokeToken", err, tc.wantCode)
			if tc.wantRequest == nil {
				wantStoreCalls(t, store)
			} else {
				wantStoreCalls(t, store, storeCall{Method: "RevokeToken", Revoke: *tc.wantRequest})
			}
			if (err == nil) != (res != nil) {
				t.Errorf("RevokeToken = %+v, %v; want exactly one of result and error", res, err)
			}
		})
	}
}

func TestServiceRevokeTokens(t *testing.T) {
	type testCase struct {
		name     string
		caller   tokenadmin.Caller
		req      tokenadmin.BulkRevoke
		wantCode tokenadmin.Code
		wantBulk *tokenadmin.BulkRevoke // passed to the store; nil: store not called
	}
	tests := []testCase{
		// Access: admins name anyone, or no user at all.
		{
			name:     "admin revokes own tokens",
			caller:   adminCaller,
			req:      tokenadmin.BulkRevoke{User: adminName},
			wantBulk: &tokenadmin.BulkRevoke{User: adminName, Actor: adminName},
		},
		{
			name:     "admin revokes another user's tokens",
			caller:   adminCaller,
			req:      tokenadmin.BulkRevoke{User: otherName, Reason: "offboarded"},
			wantBulk: &tokenadmin.BulkRevoke{User: otherName, Reason: "offboarded", Actor: adminName},
		},
		{
			name:     "admin revokes unknown user's tokens",
			caller:   adminCaller,
			req:      tokenadmin.BulkRevoke{User: nobodyName},
			wantBulk: &tokenadmin.BulkRevoke{User: nobodyName, Actor: adminName},
		},
		{
			name:     "admin naming only an app revokes every user's tokens for it",
			caller:   adminCaller,
			req:      tokenadmin.BulkRevoke{ClientID: "app-1"},
			wantBulk: &tokenadmin.BulkRevoke{ClientID: "app-1", Actor: adminName},
		},
		{
			name:     "admin revokes one user's tokens for one app",
			caller:   adminCaller,
			req:      tokenadmin.BulkRevoke{User: otherName, ClientID: "app-2"},
			wantBulk: &tokenadmin.BulkRevoke{User: otherName, ClientID: "app-2", Actor: adminName},
		},
		{
			name:     "admin's Actor is replaced",
			caller:   adminCaller,
			req:      tokenadmin.BulkRevoke{User: otherName, Actor: "mallory"},
			wantBulk: &tokenadmin.BulkRevoke{User: otherName, Actor: adminName},
		},

		// Access: users act only on themselves.
		{
			name:     "user naming only an app is scoped to self",
			caller:   userCaller,
			req:      tokenadmin.BulkRevoke{ClientID: "app-1"},
			wantBulk: &tokenadmin.BulkRevoke{User: userName, ClientID: "app-1", Actor: userName},
		},
		{
			name:     "user revokes own tokens",
			caller:   userCaller,
			req:      tokenadmin.BulkRevoke{User: userName, Reason: "start over"},
			wantBulk: &tokenadmin.BulkRevoke{User: userName, Reason: "start over", Actor: userName},
		},
		{
			name:     "user revokes own tokens for one app",
			caller:   userCaller,
			req:      tokenadmin.BulkRevoke{User: userName, ClientID: "app-1"},
			wantBulk: &tokenadmin.BulkRevoke{User: userName, ClientID: "app-1", Actor: userName},
		},
		{
			name:     "user's Actor is replaced",
			caller:   userCaller,
			req:      tokenadmin.BulkRevoke{ClientID: "app-1", Actor: otherName},
			wantBulk: &tokenadmin.BulkRevoke{User: userName, ClientID: "app-1", Actor: userName},
		},
		{
			name:     "user naming another user is Forbidden",
			caller:   userCaller,
			req:      tokenadmin.BulkRevoke{User: otherName},
			wantCode: tokenadmin.CodeForbidden,
		},
		{
			name:     "user naming another user for one app is Forbidden",
			caller:   userCaller,
			req:      tokenadmin.BulkRevoke{User: otherName, ClientID: "app-2"},
			wantCode: tokenadmin.CodeForbidden,
		},
		{
			name:     "user naming unknown user is Forbidden",
			caller:   userCaller,
			req:      tokenadmin.BulkRevoke{User: nobodyName},
			wantCode: tokenadmin.CodeForbidden,
		},

		// Validation.
		{
			name:     "admin with no filter is InvalidRequest",
			caller:   adminCaller,
			req:      tokenadmin.BulkRevoke{Reason: "everything"},
			wantCode: tokenadmin.CodeInvalid,
		},
		{
			name:     "user with no filter is InvalidRequest",
			caller:   userCaller,
			wantCode: tokenadmin.CodeInvalid,
		},
		{
			name:     "zero caller with no filter is Unauthenticated",
			caller:   zeroCaller,
			wantCode: tokenadmin.CodeUnauthenticated,
		},
	}
	for _, u := range unauthenticatedCallers {
		for _, who := range []string{userName, otherName, nobodyName} {
			tests = append(tests, testCase{
				name:     fmt.Sprintf("%s naming %s is Unauthenticated", u.name, who),
				caller:   u.caller,
				req:      tokenadmin.BulkRevoke{User: who},
				wantCode: tokenadmin.CodeUnauthenticated,
			})
		}
		tests = append(tests, testCase{
			name:     u.name + " naming only an app is Unauthenticated",
			caller:   u.caller,
			req:      tokenadmin.BulkRevoke{ClientID: "app-1"},
			wantCode: tokenadmin.CodeUnauthenticated,
		})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			svc, store := newService(t)
			n, err := svc.RevokeTokens(t.Context(), tc.caller, tc.req)
			wantCode(t, "RevokeTokens", err, tc.wantCode)
			if tc.wantBulk == nil {
				wantStoreCalls(t, store)
			} else {
				wantStoreCalls(t, store, storeCall{Method: "RevokeTokens", Bulk: *tc.wantBulk})
			}
			if err != nil && n != 0 {
				t.Errorf("RevokeTokens = %d, %v; want 0 with an error", n, err)
			}
		})
	}
}

func TestServiceListAuthorizedApps(t *testing.T) {
	type testCase struct {
		name     string
		caller   tokenadmin.Caller
		user     string
		wantCode tokenadmin.Code
		wantUser string // passed to the store; "": store not called
	}
	tests := []testCase{
		{name: "admin without user asks for the caller", caller: adminCaller, wantUser: adminName},
		{name: "admin naming self asks for self", caller: adminCaller, user: adminName, wantUser: adminName},
		{name: "admin naming another user asks for them", caller: adminCaller, user: otherName, wantUser: otherName},
		{name: "admin naming unknown user asks for them", caller: adminCaller, user: nobodyName, wantUser: nobodyName},
		{name: "user without user asks for the caller", caller: userCaller, wantUser: userName},
		{name: "user naming self asks for self", caller: userCaller, user: userName, wantUser: userName},
		{name: "user naming another user is Forbidden", caller: userCaller, user: otherName, wantCode: tokenadmin.CodeForbidden},
		{name: "user naming unknown user is Forbidden", caller: userCaller, user: nobodyName, wantCode: tokenadmin.CodeForbidden},
	}
	for _, u := range unauthenticatedCallers {
		for _, who := range []string{"", userName, otherName, nobodyName} {
			tests = append(tests, testCase{
				name:     fmt.Sprintf("%s naming %q is Unauthenticated", u.name, who),
				caller:   u.caller,
				user:     who,
				wantCode: tokenadmin.CodeUnauthenticated,
			})
		}
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			svc, store := newService(t)
			_, err := svc.ListAuthorizedApps(t.Context(), tc.caller, tc.user)
			wantCode(t, "ListAuthorizedApps", err, tc.wantCode)
			if tc.wantUser == "" {
				wantStoreCalls(t, store)
			} else {
				wantStoreCalls(t, store, storeCall{Method: "ListAuthorizedApps", User: tc.wantUser})
			}
		})
	}
}

func TestServiceGetToken(t *testing.T) {
	type testCase struct {
		name      string
		caller    tokenadmin.Caller
		tokenID   string
		wantCode  tokenadmin.Code
		wantStore bool // whether the store is asked for tokenID
	}
	tests := []testCase{
		{name: "admin gets own token", caller: adminCaller, tokenID: aliceToken, wantStore: true},
		{name: "admin gets another user's token", caller: adminCaller, tokenID: carolToken, wantStore: true},
		{name: "admin getting unknown token is TokenNotFound", caller: adminCaller, tokenID: unknownToken, wantCode: tokenadmin.CodeTokenNotFound, wantStore: true},
		{name: "user gets own token", caller: userCaller, tokenID: bobToken, wantStore: true},
		// The store must be asked: only the token's record says whose it is.
		{name: "user getting another user's token is TokenNotFound", caller: userCaller, tokenID: carolToken, wantCode: tokenadmin.CodeTokenNotFound, wantStore: true},
		{name: "user getting admin's token is TokenNotFound", caller: userCaller, tokenID: aliceToken, wantCode: tokenadmin.CodeTokenNotFound, wantStore: true},
		{name: "user getting unknown token is TokenNotFound", caller: userCaller, tokenID: unknownToken, wantCode: tokenadmin.CodeTokenNotFound, wantStore: true},
		{name: "admin with empty tokenId is InvalidRequest", caller: adminCaller, wantCode: tokenadmin.CodeInvalid},
		{name: "user with empty tokenId is InvalidRequest", caller: userCaller, wantCode: tokenadmin.CodeInvalid},
	}
	for _, u := range unauthenticatedCallers {
		for _, tok := range []string{"", bobToken, carolToken, unknownToken} {
			tests = append(tests, testCase{
				name:     fmt.Sprintf("%s getting %q is Unauthenticated", u.name, tok),
				caller:   u.caller,
				tokenID:  tok,
				wantCode: tokenadmin.CodeUnauthenticated,
			})
		}
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			svc, store := newService(t)
			got, err := svc.GetToken(t.Context(), tc.caller, tc.tokenID)
			wantCode(t, "GetToken", err, tc.wantCode)
			if tc.wantStore {
				wantStoreCalls(t, store, storeCall{Method: "GetToken", TokenID: tc.tokenID})
			} else {
				wantStoreCalls(t, store)
			}
			switch {
			case err != nil && got != nil:
				t.Errorf("GetToken = %+v with error %v; want no token", got, err)
			case err == nil && got != store.tokens[tc.tokenID]:
				t.Errorf("GetToken = %+v, want the store's token %q", got, tc.tokenID)
			}
		})
	}

	t.Run("another user's token is indistinguishable from an unknown one", func(t *testing.T) {
		svc, _ := newService(t)
		_, errOther := svc.GetToken(t.Context(), userCaller, carolToken)
		_, errUnknown := svc.GetToken(t.Context(), userCaller, unknownToken)
		wantCode(t, "GetToken(another user's token)", errOther, tokenadmin.CodeTokenNotFound)
		if got, want := tokenadmin.ErrorMessage(errOther), tokenadmin.ErrorMessage(errUnknown); got != want {
			t.Errorf("message for another user's token = %q, for an unknown token %q; want them equal", got, want)
		}
	})
}

// TestServiceReasons checks revocation reasons on both operations that
// take one. Length is in characters (runes), not bytes.
func TestServiceReasons(t *testing.T) {
	reasons := []struct {
		name     string
		reason   string
		wantCode tokenadmin.Code
	}{
		{name: "empty reason is accepted", reason: ""},
		{name: "256 ASCII characters are accepted", reason: strings.Repeat("a", tokenadmin.MaxReasonLength)},
		{name: "256 two-byte characters are accepted", reason: strings.Repeat("é", tokenadmin.MaxReasonLength)},
		{name: "256 four-byte characters are accepted", reason: strings.Repeat("🔑", tokenadmin.MaxReasonLength)},
		{name: "tab, LF and CR are accepted", reason: "lost\tlaptop\r\nreported by\nhelpdesk\r"},
		{name: "257 ASCII characters are InvalidRequest", reason: strings.Repeat("a", tokenadmin.MaxReasonLength+1), wantCode: tokenadmin.CodeInvalid},
		{name: "257 two-byte characters are InvalidRequest", reason: strings.Repeat("é", tokenadmin.MaxReasonLength+1), wantCode: tokenadmin.CodeInvalid},
		{name: "NUL is InvalidRequest", reason: "lost\x00laptop", wantCode: tokenadmin.CodeInvalid},
		{name: "ESC is InvalidRequest", reason: "\x1b[31mred", wantCode: tokenadmin.CodeInvalid},
		{name: "DEL is InvalidRequest", reason: "lost\x7f", wantCode: tokenadmin.CodeInvalid},
		{name: "C1 CSI is InvalidRequest", reason: "\u009b31mred", wantCode: tokenadmin.CodeInvalid},
		{name: "C1 NEL is InvalidRequest", reason: "lost\u0085phone", wantCode: tokenadmin.CodeInvalid},
		{name: "invalid UTF-8 is InvalidRequest", reason: "lost\xff\xfe", wantCode: tokenadmin.CodeInvalid},
		{name: "unit separator is InvalidRequest", reason: "\x1f", wantCode: tokenadmin.CodeInvalid},
		{name: "vertical tab is InvalidRequest", reason: "a\vb", wantCode: tokenadmin.CodeInvalid},
		{name: "control character within the length limit is InvalidRequest", reason: strings.Repeat("a", tokenadmin.MaxReasonLength-1) + "\x00", wantCode: tokenadmin.CodeInvalid},
	}
	ops := []struct {
		name string
		// revoke calls the operation with reason and returns the store
		// call that an accepted reason leads to.
		revoke func(ctx context.Context, svc *tokenadmin.Service, reason string) (storeCall, error)
	}{
		{
			name: "RevokeToken",
			revoke: func(ctx context.Context, svc *tokenadmin.Service, reason string) (storeCall, error) {
				_, err := svc.RevokeToken(ctx, userCaller, tokenadmin.RevokeRequest{TokenID: bobToken, Reason: reason})
				return storeCall{Method: "RevokeToken", Revoke: tokenadmin.RevokeRequest{
					TokenID: bobToken, Reason: reason, Actor: userName, Owner: userName,
				}}, err
			},
		},
		{
			name: "RevokeTokens",
			revoke: func(ctx context.Context, svc *tokenadmin.Service, reason string) (storeCall, error) {
				_, err := svc.RevokeTokens(ctx, adminCaller, tokenadmin.BulkRevoke{ClientID: "app-1", Reason: reason})
				return storeCall{Method: "RevokeTokens", Bulk: tokenadmin.BulkRevoke{
					ClientID: "app-1", Reason: reason, Actor: adminName,
				}}, err
			},
		},
	}
	for _, op := range ops {
		for _, tc := range reasons {
			t.Run(op.name+"/"+tc.name, func(t *testing.T) {
				svc, store := newService(t)
				want, err := op.revoke(t.Context(), svc, tc.reason)
				wantCode(t, op.name, err, tc.wantCode)
				if tc.wantCode != "" {
					wantStoreCalls(t, store)
				} else {
					wantStoreCalls(t, store, want)
				}
			})
		}
	}
}

// TestServiceStoreErrors checks that store errors reach the caller
// unchanged, whether domain (*tokenadmin.Error) or internal, and that a
// user's GetToken does not turn them into TokenNotFound.
func TestServiceStoreErrors(t *testing.T) {
	storeErrs := []struct {
		name     string
		err      error
		wantCode tokenadmin.Code
	}{
		{name: "internal error", err: fmt.Errorf("store: disk on fire: %w", errors.New("EIO")), wantCode: tokenadmin.CodeInternal},
		{name: "domain error", err: tokenadmin.Errorf(tokenadmin.CodeInvalidPageToken, "bad page token"), wantCode: tokenadmin.CodeInvalidPageToken},
	}
	ops := []struct {
		name string
		call func(ctx context.Context, svc *tokenadmin.Service, c tokenadmin.Caller) error
	}{
		{
			name: "ListActiveTokens",
			call: func(ctx context.Context, svc *tokenadmin.Service, c tokenadmin.Caller) error {
				page, err := svc.ListActiveTokens(ctx, c, tokenadmin.TokenFilter{PageToken: "opaque"})
				if page != nil {
					return fmt.Errorf("got a page %+v with the error", page)
				}
				return err
			},
		},
		{
			name: "RevokeToken",
			call: func(ctx context.Context, svc *tokenadmin.Service, c tokenadmin.Caller) error {
				res, err := svc.RevokeToken(ctx, c, tokenadmin.RevokeRequest{TokenID: bobToken})
				if res != nil {
					return fmt.Errorf("got a result %+v with the error", res)
				}
				return err
			},
		},
		{
			name: "RevokeTokens",
			call: func(ctx context.Context, svc *tokenadmin.Service, c tokenadmin.Caller) error {
				_, err := svc.RevokeTokens(ctx, c, tokenadmin.BulkRevoke{ClientID: "app-1"})
				return err
			},
		},
		{
			name: "ListAuthorizedApps",
			call: func(ctx context.Context, svc *tokenadmin.Service, c tokenadmin.Caller) error {
				_, err := svc.ListAuthorizedApps(ctx, c, "")
				return err
			},
		},
		{
			name: "GetToken",
			call: func(ctx context.Context, svc *tokenadmin.Service, c tokenadmin.Caller) error {
				tok, err := svc.GetToken(ctx, c, carolToken)
				if tok != nil {
					return fmt.Errorf("got a token %+v with the error", tok)
				}
				return err
			},
		},
	}
	callers := []struct {
		name   string
		caller tokenadmin.Caller
	}{
		{name: "admin", caller: adminCaller},
		{name: "user", caller: userCaller},
	}
	for _, op := range ops {
		for _, c := range callers {
			for _, se := range storeErrs {
				t.Run(fmt.Sprintf("%s/%s/%s passes through", op.name, c.name, se.name), func(t *testing.T) {
					svc, store := newService(t)
					store.err = se.err
					err := op.call(t.Context(), svc, c.caller)
					if !errors.Is(err, se.err) {
						t.Fatalf("%s: error = %v, want the store's %v", op.name, err, se.err)
					}
					wantCode(t, op.name, err, se.wantCode)
					if n := len(store.recorded()); n != 1 {
						t.Errorf("%s: store called %d times, want once", op.name, n)
					}
				})
			}
		}
	}
}

// TestServiceAuditor: an auditor reads every user's tokens and apps as an
// admin does, and every revocation is Forbidden before the store is asked.
// (App owners' rules need app ownership from a real store: they are
// covered, on every API, by TestAuthorization in cmd/tokenadmin.)
func TestServiceAuditor(t *testing.T) {
	auditor := tokenadmin.Caller{Name: "audrey", Role: tokenadmin.RoleAuditor}
	ctx := context.Background()
	t.Run("lists another user's tokens", func(t *testing.T) {
		svc, store := newService(t)
		_, err := svc.ListActiveTokens(ctx, auditor, tokenadmin.TokenFilter{User: otherName})
		wantCode(t, "ListActiveTokens", err, "")
		wantStoreCalls(t, store, storeCall{Method: "ListActiveTokens", Filter: tokenadmin.TokenFilter{User: otherName, PageSize: tokenadmin.DefaultPageSize}})
	})
	t.Run("lists every user's tokens", func(t *testing.T) {
		svc, store := newService(t)
		_, err := svc.ListActiveTokens(ctx, auditor, tokenadmin.TokenFilter{})
		wantCode(t, "ListActiveTokens", err, "")
		wantStoreCalls(t, store, storeCall{Method: "ListActiveTokens", Filter: tokenadmin.TokenFilter{PageSize: tokenadmin.DefaultPageSize}})
	})
	t.Run("gets another user's token", func(t *testing.T) {
		svc, _ := newService(t)
		tok, err := svc.GetToken(ctx, auditor, carolToken)
		wantCode(t, "GetToken", err, "")
		if tok.ID != carolToken {
			t.Errorf("GetToken = %+v, want %s", tok, carolToken)
		}
	})
	t.Run("lists another user's authorized apps, and by default their own", func(t *testing.T) {
		svc, store := newService(t)
		_, err := svc.ListAuthorizedApps(ctx, auditor, otherName)
		wantCode(t, "ListAuthorizedApps", err, "")
		_, err = svc.ListAuthorizedApps(ctx, auditor, "")
		wantCode(t, "ListAuthorizedApps", err, "")
		wantStoreCalls(t, store, storeCall{Method: "ListAuthorizedApps", User: otherName}, storeCall{Method: "ListAuthorizedApps", User: "audrey"})
	})
	for name, revoke := range map[string]func(svc *tokenadmin.Service) error{
		"revokeToken by id": func(svc *tokenadmin.Service) error {
			_, err := svc.RevokeToken(ctx, auditor, tokenadmin.RevokeRequest{TokenID: carolToken})
			return err
		},
		"revokeToken by value": func(svc *tokenadmin.Service) error {
			_, err := svc.RevokeToken(ctx, auditor, tokenadmin.RevokeRequest{Value: "value-of-" + bobToken})
			return err
		},
		"revokeTokens of a user": func(svc *tokenadmin.Service) error {
			_, err := svc.RevokeTokens(ctx, auditor, tokenadmin.BulkRevoke{User: otherName})
			return err
		},
		"revokeTokens of own": func(svc *tokenadmin.Service) error {
			_, err := svc.RevokeTokens(ctx, auditor, tokenadmin.BulkRevoke{User: "audrey"})
			return err
		},
		"revokeTokens of an app": func(svc *tokenadmin.Service) error {
			_, err := svc.RevokeTokens(ctx, auditor, tokenadmin.BulkRevoke{ClientID: "app-1"})
			return err
		},
	} {
		t.Run(name+" is Forbidden", func(t *testing.T) {
			svc, store := newService(t)
			wantCode(t, name, revoke(svc), tokenadmin.CodeForbidden)
			wantStoreCalls(t, store)
		})
	}
}
