package legacy

import (
	"container/list"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"strings"
	"sync"
	"time"

	"tokenadmin"
)

// SessionCookie is the name of the session cookie, Tomcat's, which Carbon
// clients resend (Axis2 ServiceClient with manageSession, or COOKIE_STRING).
const SessionCookie = "JSESSIONID"

// Session defaults.
const (
	DefaultIdleTimeout = 30 * time.Minute // Tomcat's default session-timeout
	DefaultMaxSessions = 10000
)

// Sessions keeps login sessions in memory: a random 128-bit id per session,
// an idle timeout, and a bound on their number (the least recently used
// session goes first). A session remembers the caller as they logged in;
// it is not re-checked against the user store until it ends. Sessions do
// not survive a restart; clients then get the 401 challenge and log in
// again, as after a Carbon restart.
//
// Set the fields before first use; Sessions is then safe for concurrent use.
type Sessions struct {
	IdleTimeout time.Duration    // DefaultIdleTimeout when zero
	MaxSessions int              // DefaultMaxSessions when zero
	Now         func() time.Time // time.Now when nil
	Rand        io.Reader        // crypto/rand.Reader when nil

	mu  sync.Mutex
	m   map[[sha256.Size]byte]*list.Element
	lru list.List // of *session, most recently used first
}

type session struct {
	key    [sha256.Size]byte
	caller tokenadmin.Caller
	used   time.Time
}

func (s *Sessions) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Sessions) idle() time.Duration {
	if s.IdleTimeout > 0 {
		return s.IdleTimeout
	}
	return DefaultIdleTimeout
}

// key is what the map holds: a hash of the id, so that a lookup's timing
// says nothing about the ids in the map.
func key(id string) [sha256.Size]byte { return sha256.Sum256([]byte(id)) }

// Create starts a session for c and returns its id: 32 upper-case hex
// digits, like Tomcat's.
func (s *Sessions) Create(c tokenadmin.Caller) (string, error) {
	b := make([]byte, 16)
	r := s.Rand
	if r == nil {
		r = rand.Reader
	}
	if _, err := io.ReadFull(r, b); err != nil {
		return "", err
	}
	id := strings.ToUpper(hex.EncodeToString(b))
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = make(map[[sha256.Size]byte]*list.Element)
	}
	max := s.MaxSessions
	if max <= 0 {
		max = DefaultMaxSessions
	}
	for len(s.m) >= max {
		s.removeLocked(s.lru.Back())
	}
	k := key(id)
	s.m[k] = s.lru.PushFront(&session{key: k, caller: c, used: now})
	return id, nil
}

// Get returns the caller of a live session and marks it used; an unknown
// or idle-expired id is not ok (and an expired session is dropped).
func (s *Sessions) Get(id string) (tokenadmin.Caller, bool) {
	if id == "" {
		return tokenadmin.Caller{}, false
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[key(id)]
	if !ok {
		return tokenadmin.Caller{}, false
	}
	ss := e.Value.(*session)
	if now.Sub(ss.used) >= s.idle() {
		s.removeLocked(e)
		return tokenadmin.Caller{}, false
	}
	ss.used = now
	s.lru.MoveToFront(e)
	return ss.caller, true
}

// Delete ends a session; unknown ids are ignored.
func (s *Sessions) Delete(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.m[key(id)]; ok {
		s.removeLocked(e)
	}
}

// Len returns the number of sessions held, expired ones not yet dropped
// included.
func (s *Sessions) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

func (s *Sessions) removeLocked(e *list.Element) {
	if e == nil {
		return
	}
	delete(s.m, e.Value.(*session).key)
	s.lru.Remove(e)
}
