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
