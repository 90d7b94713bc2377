package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"log/slog"
	"runtime"
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
	DefaultFailureTTL         = 5 * time.Second
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
// against a UserStore, remembers successful checks, and briefly remembers
// failed ones; see the package documentation for how the cache stays
// correct. Create one with NewAuthenticator.
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
	// FailureTTL is how long a failed verification (wrong password or
	// unknown user) is remembered at most, so that a client repeating
	// one wrong password costs no hashing. Zero or negative disables it.
	FailureTTL time.Duration
	// MaxCacheEntries bounds the remembered successes, and separately the
	// remembered failures, so that a flood of wrong passwords does not
	// push out the successes. Zero or negative disables both.
	MaxCacheEntries int
	// MaxConcurrentVerifications bounds the verifications (user lookup
	// and argon2id, 19 MiB each) running at once; the others wait, until
	// their context ends. Zero or negative means runtime.GOMAXPROCS(0).
	MaxConcurrentVerifications int

	// UserThrottle limits failed logins per user name, known or not;
	// AddrThrottle per client address (AddrKey of RequestInfo's
	// ClientAddr). A locked user name or address fails every attempt at
	// once, with the wrong-password error, without verifying anything:
	// the right password and remembered successes fail too. A verified
	// success resets the user name's count, never the address's. nil
	// disables a limit. See Throttle and Limiter.
	UserThrottle, AddrThrottle *Throttle
	// Logger receives lock warnings and audit errors; nil means
	// slog.Default().
	Logger *slog.Logger
	// Audit records admins' logins (tokenadmin.AuditLogin) and locks
	// (tokenadmin.AuditLoginLocked); nil records nothing. An audit error
	// is logged and never changes the outcome of a login.
	Audit Auditor

	users  UserStore
	verify func(encoded, password string) (bool, error) // VerifyPassword; tests count calls
	macs   sync.Pool                                    // *keyer

	slotsOnce sync.Once
	slots     chan struct{} // one token per running verification

	mu        sync.Mutex
	entries   map[[sha256.Size]byte]entry // remembered successes
	failures  map[[sha256.Size]byte]entry // remembered failures; caller is zero
	gen       uint64                      // bumped whenever entries and failures are dropped wholesale
	epoch     int64                       // UsersEpoch at the last successful check
	epochOK   bool                        // epoch holds a value read from the store, and no check failed since
	lastCheck time.Time                   // start of the last successful check
	checking  bool                        // a goroutine is reading UsersEpoch
}

// entry is a remembered verification. It holds no password hash: hits do
// not read the user record (that is the point of the cache), the epoch
// keeps entries current, and hashes should not linger in memory.
type entry struct {
	caller  tokenadmin.Caller
	expires time.Time
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
		FailureTTL:         DefaultFailureTTL,
		MaxCacheEntries:    DefaultMaxCacheEntries,
		users:              users,
		verify:             VerifyPassword,

		MaxConcurrentVerifications: runtime.GOMAXPROCS(0),

		UserThrottle: NewThrottle(DefaultUserThreshold),
		AddrThrottle: NewThrottle(DefaultAddrThreshold),
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
// verification too. Store errors, a UsersEpoch failure, a stored hash that
// cannot be parsed, and ctx ending while the request waits for a
// verification slot are internal errors.
//
// While the user name or the client address is locked (see UserThrottle),
// every attempt is that same error at once, whatever the password.
func (a *Authenticator) Authenticate(ctx context.Context, user, password string) (tokenadmin.Caller, error) {
	if password == "" || len(password) > MaxPasswordLen {
		return tokenadmin.Caller{}, errUnauthenticated()
	}
	lim := a.limiter()
	if !lim.Allowed(ctx, user) {
		return tokenadmin.Caller{}, errUnauthenticated()
	}
	if (a.CacheTTL <= 0 && a.FailureTTL <= 0) || a.MaxCacheEntries <= 0 {
		release, err := a.acquire(ctx)
		if err != nil {
			return tokenadmin.Caller{}, err
		}
		defer release()
		if !lim.Allowed(ctx, user) {
			return tokenadmin.Caller{}, errUnauthenticated()
		}
		c, ok, err := a.verifyUser(ctx, user, password)
		if err != nil {
			return tokenadmin.Caller{}, err
		}
		a.verified(ctx, lim, user, c, ok)
		return result(c, ok)
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
	c, ok, hit := a.lookupLocked(key, now)
	a.mu.Unlock()
	if hit {
		return result(c, ok)
	}

	release, err := a.acquire(ctx)
	if err != nil {
		return tokenadmin.Caller{}, err
	}
	defer release()
	// While this request waited for a slot, failures of others may have
	// locked the user or address: parallel guesses must not slip past
	// the lock by queueing before it started.
	if !lim.Allowed(ctx, user) {
		return tokenadmin.Caller{}, errUnauthenticated()
	}
	// Another request may also have verified the same credentials: a
	// client repeating a wrong password in parallel then costs one
	// verification, not one per request.
	now = a.Now()
	a.mu.Lock()
	c, ok, hit = a.lookupLocked(key, now)
	gen := a.gen
	a.mu.Unlock()
	if hit {
		return result(c, ok)
	}

	c, ok, err = a.verifyUser(ctx, user, password)
	switch {
	case err != nil:
		return tokenadmin.Caller{}, err // internal errors are never remembered
	case ok && a.CacheTTL > 0:
		a.remember(&a.entries, key, gen, now, entry{caller: c, expires: now.Add(a.CacheTTL)})
	case !ok && a.FailureTTL > 0:
		a.remember(&a.failures, key, gen, now, entry{expires: now.Add(a.FailureTTL)})
	}
	a.verified(ctx, lim, user, c, ok)
	return result(c, ok)
}

// limiter is the Limiter of user logins, made of the Authenticator's
// fields; logins verified elsewhere use it through LoginAllowed and
// LoginChecked.
func (a *Authenticator) limiter() *Limiter {
	return &Limiter{Kind: "user", Names: a.UserThrottle, Addrs: a.AddrThrottle, of: a}
}

// LoginAllowed reports whether a login of user, verified outside
// Authenticate (a WS-Security password digest), may be checked now: false
// while the user name or the request's client address is locked. The
// caller then fails the login exactly as a wrong credential, without
// checking it. It implements soap.LoginThrottle.
func (a *Authenticator) LoginAllowed(ctx context.Context, user string) bool {
	return a.limiter().Allowed(ctx, user)
}

// LoginChecked counts the outcome of a login of user verified outside
// Authenticate exactly as Authenticate counts a verified password: a
// success (ok) resets the user name's failures, a failure counts for the
// name and the client address, and an admin's login is audited
// (tokenadmin.AuditLogin, success or denied). c is the user's Caller with
// its role, for a wrong credential too; zero for an unknown user. It
// implements soap.LoginThrottle.
func (a *Authenticator) LoginChecked(ctx context.Context, user string, c tokenadmin.Caller, ok bool) {
	a.verified(ctx, a.limiter(), user, c, ok)
}

// ClientLimiter returns a Limiter for OAuth client authentication: per
// client id with DefaultClientThreshold, and per address with the
// Authenticator's AddrThrottle, so that an address's failed user logins
// and failed client authentications count together. Unless set on the
// Limiter, its Now, Logger and Audit are the Authenticator's, whenever
// these are set.
func (a *Authenticator) ClientLimiter() *Limiter {
	return &Limiter{Kind: "client", Names: NewThrottle(DefaultClientThreshold), Addrs: a.AddrThrottle, of: a}
}

// verified counts the outcome of a real verification (never a cache hit)
// of user's password: a success resets the user's failures, a failure
// counts for the user and the address. An admin's login is audited
// either way; a remembered success is not, or every request an admin
// makes with Basic credentials would be a login. c is the user's, with
// its role, for a wrong password too; zero for an unknown user.
func (a *Authenticator) verified(ctx context.Context, lim *Limiter, user string, c tokenadmin.Caller, ok bool) {
	if ok {
		lim.Succeeded(user)
	} else {
		lim.Failed(ctx, user)
	}
	if c.Role != tokenadmin.RoleAdmin {
		return
	}
	e := tokenadmin.AuditEvent{Time: a.Now(), Action: tokenadmin.AuditLogin, Target: c.Name}
	if ri := tokenadmin.RequestInfoFrom(ctx); ri != nil {
		e.ClientAddr, e.RequestID = ri.ClientAddr, ri.ID
	}
	if ok {
		e.Actor, e.Role, e.Outcome = c.Name, c.Role, tokenadmin.AuditSuccess
	} else {
		e.Outcome, e.Reason = tokenadmin.AuditDenied, "invalid user name or password"
	}
	appendAudit(ctx, a.Audit, lim.logger(), e)
}

// result is what Authenticate returns for a verification's outcome.
func result(c tokenadmin.Caller, ok bool) (tokenadmin.Caller, error) {
	if !ok {
		return tokenadmin.Caller{}, errUnauthenticated()
	}
	return c, nil
}

// lookupLocked returns the remembered outcome for key, if any (hit): a
// success (ok) and its Caller, or a failure. Expired entries are deleted.
// The caller holds a.mu.
func (a *Authenticator) lookupLocked(key [sha256.Size]byte, now time.Time) (c tokenadmin.Caller, ok, hit bool) {
	if e, found := a.entries[key]; found {
		if now.Before(e.expires) {
			return e.caller, true, true
		}
		delete(a.entries, key)
	}
	if e, found := a.failures[key]; found {
		if now.Before(e.expires) {
			return tokenadmin.Caller{}, false, true
		}
		delete(a.failures, key)
	}
	return tokenadmin.Caller{}, false, false
}

// acquire takes one of MaxConcurrentVerifications slots, waiting until ctx
// ends at most, and returns the function that gives it back. A slot that
// is free is taken even if ctx has ended.
func (a *Authenticator) acquire(ctx context.Context) (release func(), err error) {
	a.slotsOnce.Do(func() {
		n := a.MaxConcurrentVerifications
		if n <= 0 {
			n = runtime.GOMAXPROCS(0)
		}
		a.slots = make(chan struct{}, n)
	})
	select {
	case a.slots <- struct{}{}:
	default:
		select {
		case a.slots <- struct{}{}:
		case <-ctx.Done():
			return nil, fmt.Errorf("auth: waiting to verify a password: %w", ctx.Err())
		}
	}
	return func() { <-a.slots }, nil
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
// hash. ok is false, with a nil error, for a wrong password or an unknown
// user; for a wrong password c still names the user and its role (for
// the audit log), so callers must look at ok, not at c. The caller holds
// a verification slot.
func (a *Authenticator) verifyUser(ctx context.Context, name, password string) (c tokenadmin.Caller, ok bool, err error) {
	u, err := a.users.GetUser(ctx, name)
	if tokenadmin.ErrorCode(err) == tokenadmin.CodeNotFound {
		_, _ = a.verify(dummyHash, password) // same cost as a wrong password
		return tokenadmin.Caller{}, false, nil
	}
	if err != nil {
		return tokenadmin.Caller{}, false, fmt.Errorf("auth: get user: %w", err)
	}
	if u == nil {
		return tokenadmin.Caller{}, false, fmt.Errorf("auth: get user %q: store returned no user", name)
	}
	ok, err = a.verify(u.PasswordHash, password)
	if err != nil {
		return tokenadmin.Caller{}, false, fmt.Errorf("auth: user %q: %w", name, err)
	}
	if !ok {
		return tokenadmin.Caller{Name: u.Name, Role: u.Role}, false, nil
	}
	if !u.Role.Valid() {
		return tokenadmin.Caller{}, false, fmt.Errorf("auth: user %q: unknown role %q", name, u.Role)
	}
	return tokenadmin.Caller{Name: u.Name, Role: u.Role}, true, nil
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

// remember stores e under key in *m (a.entries or a.failures) unless the
// cache was dropped since gen was read: the user record behind e may then
// predate the change that dropped it.
func (a *Authenticator) remember(m *map[[sha256.Size]byte]entry, key [sha256.Size]byte, gen uint64, now time.Time, e entry) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if gen != a.gen {
		return
	}
	if *m == nil {
		*m = make(map[[sha256.Size]byte]entry)
	}
	entries := *m
	if _, ok := entries[key]; !ok && len(entries) >= a.MaxCacheEntries {
		// Full: drop the expired entries, and everything if that frees
		// less than a quarter, so that the next sweep is at least
		// MaxCacheEntries/4 insertions away (amortised O(1)).
		for k, old := range entries {
			if !now.Before(old.expires) {
				delete(entries, k)
			}
		}
		if len(entries) > a.MaxCacheEntries*3/4 {
			clear(entries)
		}
	}
	entries[key] = e
}

func (a *Authenticator) dropAllLocked() {
	a.gen++
	clear(a.entries)
	clear(a.failures)
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
