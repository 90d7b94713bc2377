package legacy

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"tokenadmin"
)

// fakeUsers is a UserStore in memory whose epoch moves on every change,
// as the store's triggers make it, and which counts its reads.
type fakeUsers struct {
	mu         sync.Mutex
	users      map[string]tokenadmin.User
	epoch      int64
	epochErr   error
	getErr     error
	epochReads int
	userReads  int
}

func newFakeUsers(us ...tokenadmin.User) *fakeUsers {
	f := &fakeUsers{users: map[string]tokenadmin.User{}, epoch: 7}
	for _, u := range us {
		f.users[u.Name] = u
	}
	return f
}

func (f *fakeUsers) GetUser(_ context.Context, name string) (*tokenadmin.User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.userReads++
	if f.getErr != nil {
		return nil, f.getErr
	}
	u, ok := f.users[name]
	if !ok {
		return nil, tokenadmin.Errorf(tokenadmin.CodeNotFound, "user %q not found", name)
	}
	return &u, nil
}

func (f *fakeUsers) UsersEpoch(context.Context) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.epochReads++
	return f.epoch, f.epochErr
}

// change applies fn to the users and moves the epoch.
func (f *fakeUsers) change(fn func(map[string]tokenadmin.User)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f.users)
	f.epoch++
}

func (f *fakeUsers) reads() (epoch, user int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.epochReads, f.userReads
}

var (
	alice = tokenadmin.Caller{Name: "alice", Role: tokenadmin.RoleUser}
	bob   = tokenadmin.Caller{Name: "bob", Role: tokenadmin.RoleUser}
)

func sessionUsers() *fakeUsers {
	return newFakeUsers(
		tokenadmin.User{Name: "alice", Role: tokenadmin.RoleUser, PasswordHash: "$argon2id$alice-1"},
		tokenadmin.User{Name: "bob", Role: tokenadmin.RoleUser, PasswordHash: "$argon2id$bob-1"},
	)
}

// TestSessionsEndOnUserChange: a change of the session's user (password,
// role, deletion) ends the session once the epoch has been re-read, that
// is within EpochCheckInterval; a change of another user does not.
func TestSessionsEndOnUserChange(t *testing.T) {
	tests := []struct {
		name     string
		change   func(map[string]tokenadmin.User)
		wantLive bool
	}{
		{name: "password changed", change: func(m map[string]tokenadmin.User) {
			u := m["alice"]
			u.PasswordHash = "$argon2id$alice-2"
			m["alice"] = u
		}},
		{name: "role changed", change: func(m map[string]tokenadmin.User) {
			u := m["alice"]
			u.Role = tokenadmin.RoleAdmin
			m["alice"] = u
		}},
		{name: "deleted", change: func(m map[string]tokenadmin.User) { delete(m, "alice") }},
		{name: "recreated with the same password hash", change: func(m map[string]tokenadmin.User) {
			// Same hash, same role: indistinguishable, and the same
			// credentials would log in again anyway.
			u := m["alice"]
			delete(m, "alice")
			m["alice"] = u
		}, wantLive: true},
		{name: "another user changed", change: func(m map[string]tokenadmin.User) {
			u := m["bob"]
			u.PasswordHash = "$argon2id$bob-2"
			m["bob"] = u
		}, wantLive: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
			users := sessionUsers()
			s := &Sessions{Users: users, Now: func() time.Time { return now }}
			id, err := s.Create(alice)
			if err != nil {
				t.Fatalf("Create: %v", err)
			}
			users.change(tc.change)

			// Within the interval the epoch is not read again: the
			// change is not seen yet (the bound auth.Authenticator has
			// too).
			now = now.Add(DefaultEpochCheckInterval - time.Millisecond)
			if c, ok := s.Get(id); !ok || c != alice {
				t.Fatalf("Get within the interval: %v %v", c, ok)
			}
			now = now.Add(time.Millisecond)
			c, ok := s.Get(id)
			if ok != tc.wantLive {
				t.Fatalf("Get after the interval: ok = %v, want %v", ok, tc.wantLive)
			}
			if !tc.wantLive {
				if s.Len() != 0 {
					t.Errorf("the ended session is still held (len %d)", s.Len())
				}
				return
			}
			if c != alice {
				t.Errorf("caller = %v", c)
			}
			// The session now matches the new epoch: no more user reads.
			_, before := users.reads()
			now = now.Add(time.Hour / 4)
			if _, ok := s.Get(id); !ok {
				t.Fatal("session ended without a change")
			}
			if _, after := users.reads(); after != before {
				t.Errorf("user read again without an epoch change (%d → %d)", before, after)
			}
		})
	}
}

// TestSessionsEpochReadRateLimited: the epoch is read at most once per
// EpochCheckInterval, whatever the number of sessions and calls.
func TestSessionsEpochReadRateLimited(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	users := sessionUsers()
	s := &Sessions{Users: users, EpochCheckInterval: 10 * time.Second, Now: func() time.Time { return now }}
	a, _ := s.Create(alice)
	b, _ := s.Create(bob)
	for range 5 {
		s.Get(a)
		s.Get(b)
		now = now.Add(time.Second)
	}
	if e, u := users.reads(); e != 1 || u != 2 {
		t.Errorf("in 5 s: %d epoch reads, %d user reads; want 1 and 2 (at Create)", e, u)
	}
	now = now.Add(5 * time.Second)
	s.Get(a)
	if e, _ := users.reads(); e != 2 {
		t.Errorf("after 10 s: %d epoch reads, want 2", e)
	}
	// A clock that steps back does not freeze the epoch.
	now = now.Add(-time.Hour)
	s.Get(a)
	if e, _ := users.reads(); e != 3 {
		t.Errorf("after the clock stepped back: %d epoch reads, want 3", e)
	}
}

// TestSessionsStoreErrors: store errors fail closed: the call is refused,
// the session is kept, and the next call after the error passes works.
func TestSessionsStoreErrors(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	users := sessionUsers()
	s := &Sessions{Users: users, Now: func() time.Time { return now }}
	id, err := s.Create(alice)
	if err != nil {
		t.Fatal(err)
	}
	broken := errors.New("database is locked")

	users.mu.Lock()
	users.epochErr = broken
	users.mu.Unlock()
	now = now.Add(time.Second)
	if _, ok := s.Get(id); ok {
		t.Error("epoch read failed, session accepted")
	}
	if _, ok := s.Get(id); ok {
		t.Error("a failed epoch read was not retried at the next call")
	}
	if _, err := s.Create(bob); err == nil || errors.Is(err, errUserChanged) {
		t.Errorf("Create with a failing epoch read: %v", err)
	}

	users.mu.Lock()
	users.epochErr = nil
	users.getErr = broken
	users.mu.Unlock()
	users.change(func(map[string]tokenadmin.User) {})
	if _, ok := s.Get(id); ok {
		t.Error("user read failed, session accepted")
	}
	if _, err := s.Create(bob); err == nil || errors.Is(err, errUserChanged) {
		t.Errorf("Create with a failing user read: %v", err)
	}

	users.mu.Lock()
	users.getErr = nil
	users.mu.Unlock()
	if c, ok := s.Get(id); !ok || c != alice || s.Len() != 1 {
		t.Errorf("after the errors passed: %v %v (len %d)", c, ok, s.Len())
	}
}

// TestSessionsCreateChecksUser: a session is not created for a caller
// whose record no longer matches what the authenticator vouched for.
func TestSessionsCreateChecksUser(t *testing.T) {
	s := &Sessions{Users: sessionUsers()}
	for name, c := range map[string]tokenadmin.Caller{
		"deleted":      {Name: "carol", Role: tokenadmin.RoleUser},
		"role changed": {Name: "alice", Role: tokenadmin.RoleAdmin},
	} {
		t.Run(name, func(t *testing.T) {
			if id, err := s.Create(c); !errors.Is(err, errUserChanged) || id != "" {
				t.Errorf("Create: %q, %v; want errUserChanged", id, err)
			}
		})
	}
	if s.Len() != 0 {
		t.Errorf("len %d", s.Len())
	}
}

// TestSessionsConcurrentRecheck runs Get on one session from many
// goroutines across a password change, for the race detector: all of
// them end up refused, and the session is gone.
func TestSessionsConcurrentRecheck(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	users := sessionUsers()
	s := &Sessions{Users: users, Now: clock}
	id, err := s.Create(alice)
	if err != nil {
		t.Fatal(err)
	}
	users.change(func(m map[string]tokenadmin.User) {
		u := m["alice"]
		u.PasswordHash = "$argon2id$alice-2"
		m["alice"] = u
	})
	mu.Lock()
	now = now.Add(time.Second)
	mu.Unlock()
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() { s.Get(id) })
	}
	wg.Wait()
	if _, ok := s.Get(id); ok || s.Len() != 0 {
		t.Errorf("after the change: ok %v, len %d", ok, s.Len())
	}
}

// TestAuthAdminWSDLEveryProfile: AuthenticationAdmin did not change
// across generations, so every profile describes it (is-5.3's file unless
// a profile has its own).
func TestAuthAdminWSDLEveryProfile(t *testing.T) {
	for _, p := range []Profile{IS50, IS53, IS55, IS57} {
		if b := authAdminWSDL(p); !strings.Contains(string(b), `<wsdl:service name="AuthenticationAdmin">`) {
			t.Errorf("%s: no AuthenticationAdmin description", p)
		}
	}
}
