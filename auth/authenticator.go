package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"sync"
	"time"

	"tokenadmin"
)

// UserStore is the user storage an Authenticator needs.
type UserStore interface {
	// GetUser returns the user called name. An unknown user is an error
	// with code tokenadmin.CodeNotFound; any other error is internal and
	// fails the authentication.
	GetUser(ctx context.Context, name string) (*tokenadmin.User, error)

	// UsersEpoch returns a number that changes whenever any user is
	// added, changed (password or role) or deleted, by any process: the
	// CLI changes users while the server runs. It must never return to a
	// value it had before (a counter bumped by triggers does). Errors are
	// internal.
	UsersEpoch(ctx context.Context) (int64, error)
}

// Defaults of NewAuthenticator.
const (
	DefaultCacheTTL           = 5 * time.Minute
	DefaultEpochCheckInterval = time.Second
	DefaultMaxCacheEntries    = 10000
)

// epochCheckTimeout bounds one UsersEpoch call. The check runs detached
// from the request's cancellation (see checkEpoch), so it needs its own
// limit.
const epochCheckTimeout = 5 * time.Second

// dummyHash is verified for unknown users so that they cost as much as a
// wrong password. Its parameters are the defaults (see the tests); the
// password it hashes is irrelevant, as the result is ignored.
const dummyHash = "$argon2id$v=19$m=19456,t=2,p=1$1+671iKjqxp8Iz21yxLb6A$m6d6qyiKoEdrwJiay/K6Wd/YjdYN0a2u+aSHI2IZptI"

// Authenticator checks user names and passwords (HTTP Basic credentials)
// against a UserStore and remembers successful checks; see the package
// documentation for how the cache stays correct. Create one with
// NewAuthenticator.
//
// Set the exported fields, if at all, before the first Authenticate; they
// must not change afterwards. An Authenticator is safe for concurrent use.
type Authenticator struct {
	// Now returns the current time; tests replace it.
	Now func() time.Time
	// CacheTTL is how long a successful verification is remembered at
	// most. Zero or negative disables the cache.
	CacheTTL time.Duration
	// EpochCheckInterval is how often, at most, UsersEpoch is read; it
	// bounds how long a changed or deleted user may still be served from
	// the cache.
	EpochCheckInterval time.Duration
	// MaxCacheEntries bounds the cache. Zero or negative disables it.
	MaxCacheEntries int

	users  UserStore
	verify func(encoded, password string) (bool, error) // VerifyPassword; tests count calls
	macs   sync.Pool                                    // *keyer

	mu        sync.Mutex
	entries   map[[sha256.Size]byte]entry
	gen       uint64    // bumped whenever entries are dropped wholesale
	epoch     int64     // UsersEpoch at the last successful check
	epochOK   bool      // epoch holds a value read from the store, and no check failed since
	lastCheck time.Time // start of the last successful check
	checking  bool      // a goroutine is reading UsersEpoch
}

// entry is a remembered successful verification.
type entry struct {
	caller tokenadmin.Caller
	// passwordHash is the hash the password was verified against. Hits
	// do not read the user record (that is the point of the cache), so
	// it is not compared on the hot path: the epoch keeps entries
	// current. It is kept to tell entries apart when debugging.
	passwordHash string
	expires      time.Time
}

// keyer computes cache keys; pooled so that a hit does not allocate.
type keyer struct {
	mac hash.Hash
	buf []byte
	sum []byte
}

// NewAuthenticator returns an Authenticator that checks credentials
// against users, with the default cache settings and a fresh random cache
// key.
func NewAuthenticator(users UserStore) *Authenticator {
	macKey := make([]byte, 32)
	rand.Read(macKey) // never fails (crypto/rand, Go 1.24+)
	a := &Authenticator{
		Now:                time.Now,
		CacheTTL:           DefaultCacheTTL,
		EpochCheckInterval: DefaultEpochCheckInterval,
		MaxCacheEntries:    DefaultMaxCacheEntries,
		users:              users,
		verify:             VerifyPassword,
	}
	a.macs.New = func() any {
		return &keyer{mac: hmac.New(sha256.New, macKey), sum: make([]byte, 0, sha256.Size)}
	}
	return a
}

// errUnauthenticated is the one error for every wrong credential, so that
// callers cannot tell an unknown user from a wrong password.
func errUnauthenticated() error {
	return tokenadmin.Errorf(tokenadmin.CodeUnauthenticated, "invalid user name or password")
}

// Authenticate returns the Caller whose name and password these are. A
// wrong password, an unknown user, and an empty or over-long password are
// all the same CodeUnauthenticated error; an unknown user costs a hash
// verification too. Store errors, a UsersEpoch failure and a stored hash
// that cannot be parsed are internal errors.
func (a *Authenticator) Authenticate(ctx context.Context, user, password string) (tokenadmin.Caller, error) {
	if password == "" || len(password) > MaxPasswordLen {
		return tokenadmin.Caller{}, errUnauthenticated()
	}
	if a.CacheTTL <= 0 || a.MaxCacheEntries <= 0 {
		c, _, err := a.verifyUser(ctx, user, password)
		return c, err
	}
	now := a.Now()
	key := a.cacheKey(user, password)

	a.mu.Lock()
	if !a.checking && (!a.epochOK || now.Sub(a.lastCheck) >= a.EpochCheckInterval || now.Before(a.lastCheck)) {
		// This goroutine checks the epoch; the others go on using the
		// cache meanwhile instead of queueing behind the read.
		a.checking = true
		a.mu.Unlock()
		if err := a.checkEpoch(ctx, now); err != nil {
			return tokenadmin.Caller{}, err
		}
		a.mu.Lock()
	}
	e, hit := a.entries[key]
	if hit && !now.Before(e.expires) {
		delete(a.entries, key)
		hit = false
	}
	gen := a.gen
	a.mu.Unlock()
	if hit {
		return e.caller, nil
	}

	caller, passwordHash, err := a.verifyUser(ctx, user, password)
	if err != nil {
		return tokenadmin.Caller{}, err // failures are never remembered
	}
	a.remember(key, gen, now, entry{caller: caller, passwordHash: passwordHash, expires: now.Add(a.CacheTTL)})
	return caller, nil
}

// Invalidate forgets every remembered verification. Call it after changing
// users in this process to make the change take effect at once rather than
// at the next epoch check.
func (a *Authenticator) Invalidate() {
	a.mu.Lock()
	a.dropAllLocked()
	a.mu.Unlock()
}

// verifyUser reads the user and verifies the password against the stored
// hash; it returns the hash too, for the cache.
func (a *Authenticator) verifyUser(ctx context.Context, name, password string) (tokenadmin.Caller, string, error) {
	u, err := a.users.GetUser(ctx, name)
	if tokenadmin.ErrorCode(err) == tokenadmin.CodeNotFound {
		_, _ = a.verify(dummyHash, password) // same cost as a wrong password
		return tokenadmin.Caller{}, "", errUnauthenticated()
	}
	if err != nil {
		return tokenadmin.Caller{}, "", fmt.Errorf("auth: get user: %w", err)
	}
	if u == nil {
		return tokenadmin.Caller{}, "", fmt.Errorf("auth: get user %q: store returned no user", name)
	}
	ok, err := a.verify(u.PasswordHash, password)
	if err != nil {
		return tokenadmin.Caller{}, "", fmt.Errorf("auth: user %q: %w", name, err)
	}
	if !ok {
		return tokenadmin.Caller{}, "", errUnauthenticated()
	}
	if !u.Role.Valid() {
		return tokenadmin.Caller{}, "", fmt.Errorf("auth: user %q: unknown role %q", name, u.Role)
	}
	return tokenadmin.Caller{Name: u.Name, Role: u.Role}, u.PasswordHash, nil
}

// checkEpoch reads UsersEpoch and drops the cache if it changed, or if it
// cannot be read (fail closed). The caller has set a.checking.
//
// The read is detached from ctx's cancellation: otherwise a client that
// hangs up at the right moment could fail the check and so empty the
// cache for everyone. epochCheckTimeout bounds it instead.
func (a *Authenticator) checkEpoch(ctx context.Context, started time.Time) error {
	var (
		epoch int64
		err   error
		done  bool
	)
	defer func() { // also on panic, or no goroutine would ever check again
		a.mu.Lock()
		defer a.mu.Unlock()
		a.checking = false
		switch {
		case !done || err != nil:
			a.epochOK = false // the next request checks again
			a.dropAllLocked()
		case !a.epochOK || epoch != a.epoch:
			a.epoch, a.epochOK, a.lastCheck = epoch, true, started
			a.dropAllLocked()
		default:
			a.lastCheck = started
		}
	}()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), epochCheckTimeout)
	defer cancel()
	epoch, err = a.users.UsersEpoch(ctx)
	done = true
	if err != nil {
		return fmt.Errorf("auth: users epoch: %w", err)
	}
	return nil
}

// remember caches e under key unless the cache was dropped since gen was
// read: the user record behind e may then predate the change that dropped
// it.
func (a *Authenticator) remember(key [sha256.Size]byte, gen uint64, now time.Time, e entry) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if gen != a.gen {
		return
	}
	if a.entries == nil {
		a.entries = make(map[[sha256.Size]byte]entry)
	}
	if _, ok := a.entries[key]; !ok && len(a.entries) >= a.MaxCacheEntries {
		// Full: drop the expired entries, and everything if that frees
		// less than a quarter, so that the next sweep is at least
		// MaxCacheEntries/4 insertions away (amortised O(1)).
		for k, old := range a.entries {
			if !now.Before(old.expires) {
				delete(a.entries, k)
			}
		}
		if len(a.entries) > a.MaxCacheEntries*3/4 {
			clear(a.entries)
		}
	}
	a.entries[key] = e
}

func (a *Authenticator) dropAllLocked() {
	a.gen++
	clear(a.entries)
}

// cacheKey returns HMAC-SHA-256, under the process's random key, of the
// length-prefixed user name and the password. The cache never holds a
// password or an unkeyed hash of one.
func (a *Authenticator) cacheKey(user, password string) [sha256.Size]byte {
	k := a.macs.Get().(*keyer)
	k.buf = binary.BigEndian.AppendUint64(k.buf[:0], uint64(len(user)))
	k.buf = append(k.buf, user...)
	k.buf = append(k.buf, password...)
	k.mac.Reset()
	k.mac.Write(k.buf)
	k.sum = k.mac.Sum(k.sum[:0])
	var out [sha256.Size]byte
	copy(out[:], k.sum)
	clear(k.buf) // the buffer held the password
	if cap(k.buf) > 4096 {
		k.buf = nil // do not pin a huge user name
	}
	a.macs.Put(k)
	return out
}
