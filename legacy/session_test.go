package legacy

import (
	"testing"
	"time"

	"tokenadmin"
)

func TestSessions(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s := &Sessions{IdleTimeout: time.Minute, MaxSessions: 2, Now: func() time.Time { return now }}
	alice := tokenadmin.Caller{Name: "alice", Role: tokenadmin.RoleUser}
	a, err := s.Create(alice)
	if err != nil || len(a) != 32 {
		t.Fatalf("Create: %q, %v", a, err)
	}
	if c, ok := s.Get(a); !ok || c != alice {
		t.Fatalf("Get: %v %v", c, ok)
	}
	now = now.Add(59 * time.Second)
	if _, ok := s.Get(a); !ok {
		t.Fatal("session expired before its idle timeout")
	}
	b, _ := s.Create(alice)
	s.Get(a) // a is now the most recently used
	c, _ := s.Create(alice)
	if _, ok := s.Get(b); ok || s.Len() != 2 {
		t.Errorf("the least recently used session was not evicted (len %d)", s.Len())
	}
	now = now.Add(time.Minute)
	if _, ok := s.Get(a); ok {
		t.Error("idle session still live")
	}
	s.Delete(c)
	if _, ok := s.Get(c); ok || s.Len() != 0 {
		t.Errorf("Delete: len %d", s.Len())
	}
	if _, ok := s.Get(""); ok {
		t.Error("empty id accepted")
	}
}

func TestParseProfile(t *testing.T) {
	if p, err := ParseProfile("is-5.3"); err != nil || p != IS53 {
		t.Errorf("is-5.3: %v %v", p, err)
	}
	for _, p := range []Profile{IS50, IS53, IS55, IS57} {
		got, err := ParseProfile(string(p))
		if supported := profiles[p] != nil; supported != (err == nil) || supported && got != p {
			t.Errorf("%s: %v %v (in the profile table: %v)", p, got, err, supported)
		}
	}
	for _, s := range []string{"is-9", "", "IS-5.3"} {
		if _, err := ParseProfile(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}

// TestSessionsPerUserCap: a client that starts a session on every call
// (Basic without sending the cookie back) evicts only its own user's
// oldest sessions, never other users'.
func TestSessionsPerUserCap(t *testing.T) {
	s := &Sessions{}
	bob, err := s.Create(tokenadmin.Caller{Name: "bob", Role: tokenadmin.RoleUser})
	if err != nil {
		t.Fatal(err)
	}
	alice := tokenadmin.Caller{Name: "alice", Role: tokenadmin.RoleUser}
	var ids []string
	for range DefaultMaxSessionsPerUser + 10 {
		id, err := s.Create(alice)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if _, ok := s.Get(bob); !ok {
		t.Error("another user's session was evicted by alice's flood")
	}
	live := 0
	for _, id := range ids {
		if _, ok := s.Get(id); ok {
			live++
		}
	}
	if live != DefaultMaxSessionsPerUser {
		t.Errorf("alice has %d live sessions, want %d", live, DefaultMaxSessionsPerUser)
	}
	if _, ok := s.Get(ids[len(ids)-1]); !ok {
		t.Error("alice's newest session was evicted instead of her oldest")
	}
}
