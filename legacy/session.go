package legacy

import (
	"container/list"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
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
	// DefaultMaxSessionsPerUser bounds one user's sessions, so that a
	// client that never sends its cookie back (every Basic call starts a
	// session, as in Carbon) evicts only its own user's sessions.
	DefaultMaxSessionsPerUser = 32
	DefaultEpochCheckInterval = time.Second // as auth.DefaultEpochCheckInterval
)

// userCheckTimeout bounds one store read made for a session. The reads run
// detached from the request (Get and Create take no context), as
// auth.Authenticator's epoch check does, so they need their own limit.
const userCheckTimeout = 5 * time.Second

// UserStore is what Sessions needs of the user storage to end the sessions
// of users who changed; *store.DB and any auth.UserStore satisfy it.
type UserStore interface {
	// GetUser returns the user called name with its password hash. An
	// unknown user is an error with code tokenadmin.CodeNotFound; any
	// other error is internal.
	GetUser(ctx context.Context, name string) (*tokenadmin.User, error)
	// UsersEpoch returns a number that changes whenever any user is
	// added, changed or deleted, by any process, and never returns to a
	// value it had. Errors are internal.
	UsersEpoch(ctx context.Context) (int64, error)
}

// errUserChanged: the user record no longer matches the caller the
// authenticator vouched for (deleted, or another role) by the time the
// session was to be created. Login answers false, as for wrong credentials.
var errUserChanged = errors.New("legacy: the user changed while logging in")

// Sessions keeps login sessions in memory: a random 128-bit id per session,
// an idle timeout, and a bound on their number (the least recently used
// session goes first). Sessions do not survive a restart; clients then get
// the 401 challenge and log in again, as after a Carbon restart.
//
// With Users set, a session does not outlive a change of its user. It
// records, when created, the users epoch, the user's role and a
// fingerprint of the stored password hash (HMAC-SHA-256 under a key drawn
// per process, so the hash itself is not kept). On use, the epoch is read
// at most once per EpochCheckInterval (auth.Authenticator's approach); when
// it moved since the session last matched, the user is read again and the
// session is dropped if the user is gone, the role differs or the password
// hash changed (a password change ends every session of that user, as a
// changed password should). A dropped session is an unknown one: the
// caller gets the same 401 challenge as after logout or expiry (WIRE.md §6:
// no session and no Authorization header is BasicAccessAuthenticator's
// 401). Carbon itself keeps sessions across a password change; ending them
// is our choice. Store errors fail closed: the session is refused for that
// request, and kept.
//
// Set the fields before first use; Sessions is then safe for concurrent use.
type Sessions struct {
	IdleTimeout time.Duration    // DefaultIdleTimeout when zero
	MaxSessions int              // DefaultMaxSessions when zero
	Now         func() time.Time // time.Now when nil
	Rand        io.Reader        // crypto/rand.Reader when nil; session ids only
	// Users, when set, ties sessions to the current state of their user
	// (see above). Without it a session remembers the caller as they
	// logged in until it ends.
	Users UserStore
	// EpochCheckInterval is how often, at most, Users.UsersEpoch is read;
	// it bounds how long a changed user's session may still be used.
	// DefaultEpochCheckInterval when zero.
	EpochCheckInterval time.Duration

	mu  sync.Mutex
	m   map[[sha256.Size]byte]*list.Element
	lru list.List // of *session, most recently used first

	epoch     int64     // UsersEpoch at the last successful read
	epochOK   bool      // epoch holds a value read, and no read failed since
	lastCheck time.Time // when epoch was read
	checking  bool      // a goroutine is reading UsersEpoch

	macOnce sync.Once
	macKey  []byte // of fingerprints
}

type session struct {
	key    [sha256.Size]byte
	caller tokenadmin.Caller
	used   time.Time
	// With Sessions.Users: the epoch at which the user last matched (read
	// before the user record, so a change in between means a re-check),
	// and the fingerprint of the password hash at creation.
	epoch       int64
	fingerprint [sha256.Size]byte
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
// digits, like Tomcat's. With Users set it first reads the epoch and the
// user; a user who is gone or whose role is no longer c.Role is
// errUserChanged, a store error is returned as it is.
//
// The fingerprint is of the record read here, after the authenticator
// vouched for c: a password change that lands between the two (or that
// auth.Authenticator has not yet seen, within its EpochCheckInterval) is
// not detected for this session.
func (s *Sessions) Create(c tokenadmin.Caller) (string, error) {
	var snap session
	if s.Users != nil {
		ctx, cancel := context.WithTimeout(context.Background(), userCheckTimeout)
		defer cancel()
		epoch, err := s.currentEpoch(ctx, s.now())
		if err != nil {
			return "", err
		}
		u, err := s.Users.GetUser(ctx, c.Name)
		switch {
		case tokenadmin.ErrorCode(err) == tokenadmin.CodeNotFound:
			return "", errUserChanged
		case err != nil:
			return "", fmt.Errorf("legacy: session: get user: %w", err)
		case u == nil:
			return "", fmt.Errorf("legacy: session: get user %q: store returned no user", c.Name)
		case u.Role != c.Role:
			return "", errUserChanged
		}
		snap.epoch, snap.fingerprint = epoch, s.fingerprintOf(u)
	}
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
	// Idle sessions go first; then this user's oldest beyond their share;
	// only then, the least recently used of anyone's.
	for e := s.lru.Back(); e != nil && now.Sub(e.Value.(*session).used) > s.idle(); e = s.lru.Back() {
		s.removeLocked(e)
	}
	var own []*list.Element // this user's sessions, least recently used first
	for e := s.lru.Back(); e != nil; e = e.Prev() {
		if e.Value.(*session).caller.Name == c.Name {
			own = append(own, e)
		}
	}
	for i := 0; len(own)-i >= DefaultMaxSessionsPerUser; i++ {
		s.removeLocked(own[i])
	}
	max := s.MaxSessions
	if max <= 0 {
		max = DefaultMaxSessions
	}
	for len(s.m) >= max {
		s.removeLocked(s.lru.Back())
	}
	k := key(id)
	s.m[k] = s.lru.PushFront(&session{key: k, caller: c, used: now, epoch: snap.epoch, fingerprint: snap.fingerprint})
	return id, nil
}

// Get returns the caller of a live session and marks it used; an unknown
// or idle-expired id is not ok (and an expired session is dropped). With
// Users set, a session whose user changed is dropped and not ok, and a
// store error is not ok (the session is kept: the error may pass).
func (s *Sessions) Get(id string) (tokenadmin.Caller, bool) {
	if id == "" {
		return tokenadmin.Caller{}, false
	}
	now := s.now()
	k := key(id)
	s.mu.Lock()
	e, ok := s.m[k]
	if !ok {
		s.mu.Unlock()
		return tokenadmin.Caller{}, false
	}
	ss := e.Value.(*session)
	if now.Sub(ss.used) >= s.idle() {
		s.removeLocked(e)
		s.mu.Unlock()
		return tokenadmin.Caller{}, false
	}
	ss.used = now
	s.lru.MoveToFront(e)
	sessEpoch := ss.epoch
	s.mu.Unlock()
	if s.Users == nil {
		return ss.caller, true
	}

	ctx, cancel := context.WithTimeout(context.Background(), userCheckTimeout)
	defer cancel()
	epoch, err := s.currentEpoch(ctx, now)
	if err != nil {
		return tokenadmin.Caller{}, false
	}
	if epoch == sessEpoch {
		return ss.caller, true
	}
	// Some user changed since this session last matched: is it this one?
	u, err := s.Users.GetUser(ctx, ss.caller.Name)
	if gone := tokenadmin.ErrorCode(err) == tokenadmin.CodeNotFound; !gone {
		if err != nil || u == nil {
			return tokenadmin.Caller{}, false
		}
		fp := s.fingerprintOf(u)
		if u.Role == ss.caller.Role && hmac.Equal(fp[:], ss.fingerprint[:]) {
			s.mu.Lock()
			if ss.epoch == sessEpoch {
				// epoch was read before u: a change after that read
				// moves the epoch again, and the next use checks again.
				ss.epoch = epoch
			}
			s.mu.Unlock()
			return ss.caller, true
		}
	}
	s.mu.Lock()
	if e, ok := s.m[k]; ok && e.Value.(*session) == ss {
		s.removeLocked(e)
	}
	s.mu.Unlock()
	return tokenadmin.Caller{}, false
}

// currentEpoch returns the users epoch, read at most once per
// EpochCheckInterval: while one goroutine reads it, the others use the
// last value read. A failed read is returned and makes the next call read
// again.
func (s *Sessions) currentEpoch(ctx context.Context, now time.Time) (int64, error) {
	interval := s.EpochCheckInterval
	if interval <= 0 {
		interval = DefaultEpochCheckInterval
	}
	s.mu.Lock()
	if s.epochOK && (s.checking || (now.Sub(s.lastCheck) < interval && !now.Before(s.lastCheck))) {
		epoch := s.epoch
		s.mu.Unlock()
		return epoch, nil
	}
	s.checking = true
	s.mu.Unlock()
	var (
		epoch int64
		err   = errors.New("legacy: users epoch: read panicked")
	)
	defer func() { // also on panic, or no goroutine would read again
		s.mu.Lock()
		defer s.mu.Unlock()
		s.checking = false
		if err != nil {
			s.epochOK = false
			return
		}
		s.epoch, s.epochOK, s.lastCheck = epoch, true, now
	}()
	epoch, err = s.Users.UsersEpoch(ctx)
	if err != nil {
		err = fmt.Errorf("legacy: users epoch: %w", err)
		return 0, err
	}
	return epoch, nil
}

// fingerprintOf is HMAC-SHA-256 of u's password hash under the process's
// key: equal hashes give equal fingerprints, and memory holds neither the
// hash nor an unkeyed digest of it.
func (s *Sessions) fingerprintOf(u *tokenadmin.User) [sha256.Size]byte {
	s.macOnce.Do(func() {
		s.macKey = make([]byte, 32)
		rand.Read(s.macKey) // never fails (crypto/rand, Go 1.24+)
	})
	m := hmac.New(sha256.New, s.macKey)
	m.Write([]byte(u.PasswordHash))
	var out [sha256.Size]byte
	m.Sum(out[:0])
	return out
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
