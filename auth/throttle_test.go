package auth

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tokenadmin"
)

// auditRecorder is an Auditor that keeps what it is given: a test double
// at the one-method interface boundary (*store.DB implements it for real).
type auditRecorder struct {
	mu     sync.Mutex
	events []tokenadmin.AuditEvent
	err    error
}

func (r *auditRecorder) AppendAudit(_ context.Context, e tokenadmin.AuditEvent) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return r.err
	}
	r.events = append(r.events, e)
	return nil
}

func (r *auditRecorder) all() []tokenadmin.AuditEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]tokenadmin.AuditEvent(nil), r.events...)
}

var _ Auditor = (*auditRecorder)(nil)

// plainVerify is a cheap stand-in for argon2id: stored hashes are
// "plain:<password>". It keeps the throttle tests fast; the real
// verification is tested in auth_test.go.
func plainVerify(n *int64, mu *sync.Mutex) func(encoded, password string) (bool, error) {
	return func(encoded, password string) (bool, error) {
		mu.Lock()
		*n++
		mu.Unlock()
		return subtle.ConstantTimeCompare([]byte(encoded), []byte("plain:"+password)) == 1, nil
	}
}

// throttled is an Authenticator with a fake clock, cheap verification, a
// log buffer and an audit recorder, over alice (admin) and bob (user).
type throttled struct {
	*Authenticator
	clock *fakeClock
	log   *syncLog
	audit *auditRecorder

	mu            sync.Mutex
	verifications int64
}

type syncLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newThrottled(t *testing.T) *throttled {
	t.Helper()
	store := newFakeStore(
		tokenadmin.User{Name: "alice", Role: tokenadmin.RoleAdmin, PasswordHash: "plain:alice-pw"},
		tokenadmin.User{Name: "bob", Role: tokenadmin.RoleUser, PasswordHash: "plain:bob-pw"},
	)
	a, clock, _ := newTestAuthenticator(store)
	a.EpochCheckInterval = 24 * time.Hour // keep the cache; epochs are tested elsewhere
	th := &throttled{Authenticator: a, clock: clock, log: &syncLog{}, audit: &auditRecorder{}}
	a.verify = plainVerify(&th.verifications, &th.mu)
	a.Logger = slog.New(slog.NewJSONHandler(th.log, nil))
	a.Audit = th.audit
	return th
}

func (th *throttled) verified() int64 {
	th.mu.Lock()
	defer th.mu.Unlock()
	return th.verifications
}

// from returns a context as the HTTP layer makes it for a request from
// addr.
func from(ctx context.Context, addr string) context.Context {
	return tokenadmin.WithRequestInfo(ctx, &tokenadmin.RequestInfo{ID: "req-" + addr, ClientAddr: addr})
}

// wantRefused checks that err is exactly the wrong-password error.
func wantRefused(t *testing.T, what string, err error) {
	t.Helper()
	want := errUnauthenticated()
	if tokenadmin.ErrorCode(err) != tokenadmin.CodeUnauthenticated ||
		tokenadmin.ErrorMessage(err) != tokenadmin.ErrorMessage(want) || err.Error() != want.Error() {
		t.Fatalf("%s: %v; want exactly the wrong-password error %v", what, err, want)
	}
}

func TestThrottleLocksWithGrowingDelays(t *testing.T) {
	th := NewThrottle(3)
	th.LockBase, th.LockMax = time.Second, 10*time.Second
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, s := range []struct {
		name     string
		wantLock time.Duration
	}{
		{name: "first failure", wantLock: 0},
		{name: "second failure", wantLock: 0},
		{name: "threshold locks for LockBase", wantLock: time.Second},
		{name: "next failure doubles", wantLock: 2 * time.Second},
		{name: "and again", wantLock: 4 * time.Second},
		{name: "and again", wantLock: 8 * time.Second},
		{name: "capped at LockMax", wantLock: 10 * time.Second},
		{name: "stays capped", wantLock: 10 * time.Second},
	} {
		if _, locked := th.LockedUntil("k", now); locked {
			t.Fatalf("%s: locked before the failure", s.name)
		}
		_, lock := th.Fail("k", now)
		if lock != s.wantLock {
			t.Fatalf("%s: lock %v; want %v", s.name, lock, s.wantLock)
		}
		if lock == 0 {
			continue
		}
		if until, locked := th.LockedUntil("k", now.Add(lock-time.Nanosecond)); !locked || !until.Equal(now.Add(lock)) {
			t.Fatalf("%s: just before the lock ends: locked %v until %v; want locked until %v", s.name, locked, until, now.Add(lock))
		}
		now = now.Add(lock) // the lock has ended
	}
	if _, locked := th.LockedUntil("other", now); locked {
		t.Error("another key is locked")
	}
}

func TestThrottleResetAndForget(t *testing.T) {
	th := NewThrottle(3)
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	th.Fail("k", now)
	th.Fail("k", now)
	th.Reset("k")
	if n, lock := th.Fail("k", now); n != 1 || lock != 0 {
		t.Fatalf("after Reset: failure %d, lock %v; want 1, 0", n, lock)
	}

	th.Fail("k", now)
	if _, lock := th.Fail("k", now); lock != th.LockBase {
		t.Fatalf("third failure: lock %v; want %v", lock, th.LockBase)
	}
	// Quiet for ForgetAfter after the lock's end, less a nanosecond: not
	// forgotten yet, so the next failure locks for longer.
	end := now.Add(th.LockBase)
	if n, lock := th.Fail("k", end.Add(th.ForgetAfter-time.Nanosecond)); n != 4 || lock != 2*th.LockBase {
		t.Fatalf("before ForgetAfter: failure %d, lock %v; want 4, %v", n, lock, 2*th.LockBase)
	}
	end = end.Add(th.ForgetAfter - time.Nanosecond).Add(2 * th.LockBase)
	if n, lock := th.Fail("k", end.Add(th.ForgetAfter)); n != 1 || lock != 0 {
		t.Errorf("after ForgetAfter: failure %d, lock %v; want 1, 0", n, lock)
	}
}

func TestThrottleIsBounded(t *testing.T) {
	th := NewThrottle(1)
	th.MaxKeys = 4
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	th.Fail("old1", now)
	th.Fail("old2", now)
	now = now.Add(th.ForgetAfter + th.LockBase) // old1 and old2 are forgotten
	th.Fail("locked1", now)
	th.Fail("locked2", now)
	th.Fail("new", now) // full: the forgotten keys make room
	if n := th.Len(); n != 3 {
		t.Errorf("after dropping forgotten keys: %d keys; want 3", n)
	}
	for _, k := range []string{"locked1", "locked2", "new"} {
		if _, locked := th.LockedUntil(k, now); !locked {
			t.Errorf("%s lost its lock to the sweep", k)
		}
	}
	// A flood of new keys evicts the least recently failed live keys,
	// and never grows the map beyond MaxKeys.
	for i := range 100 {
		th.Fail(fmt.Sprint("flood", i), now)
		if n := th.Len(); n > th.MaxKeys {
			t.Fatalf("%d keys; want at most %d", n, th.MaxKeys)
		}
	}
	// A long key is stored as a digest, yet still counts as itself.
	long := strings.Repeat("x", 10000)
	th.Fail(long, now)
	if _, locked := th.LockedUntil(long, now); !locked {
		t.Error("a long key is not locked")
	}
	if _, locked := th.LockedUntil(long+"y", now); locked {
		t.Error("another long key shares its lock")
	}
	th.mu.RLock()
	for k := range th.keys {
		if len(k) > maxThrottleKeyLen {
			t.Errorf("stored key of %d bytes", len(k))
		}
	}
	th.mu.RUnlock()
}

func TestThrottleDisabled(t *testing.T) {
	now := time.Now()
	for _, th := range []*Throttle{nil, {Threshold: 0}} {
		for range 10 {
			if _, lock := th.Fail("k", now); lock != 0 {
				t.Fatalf("%+v locked", th)
			}
		}
		if _, locked := th.LockedUntil("k", now); locked {
			t.Errorf("%+v locked", th)
		}
	}
}

func TestAddrKey(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{in: "192.0.2.1", want: "192.0.2.1"},
		{in: "192.0.2.1:4711", want: "192.0.2.1"},
		{in: "::ffff:192.0.2.1", want: "192.0.2.1"},
		{in: "2001:db8:1:2:3:4:5:6", want: "2001:db8:1:2::/64"},
		{in: "[2001:db8:1:2:ffff::1]:443", want: "2001:db8:1:2::/64"},
		{in: "fe80::1%eth0", want: "fe80::/64"},
		{in: "local", want: "local"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if got := AddrKey(tc.in); got != tc.want {
				t.Errorf("AddrKey(%q) = %q; want %q", tc.in, got, tc.want)
			}
		})
	}
}

// After DefaultUserThreshold wrong passwords the user is locked: the
// right password fails with exactly the wrong-password error, at once,
// without a verification; after the lock it works and resets the count.
func TestLockedUserRefusesRightPassword(t *testing.T) {
	th := newThrottled(t)
	ctx := t.Context()
	for i := range DefaultUserThreshold {
		_, err := th.Authenticate(ctx, "alice", fmt.Sprint("guess", i))
		wantRefused(t, "wrong password", err)
	}
	before := th.verified()
	_, err := th.Authenticate(ctx, "alice", "alice-pw")
	wantRefused(t, "right password while locked", err)
	_, err = th.Authenticate(ctx, "alice", "another guess")
	wantRefused(t, "wrong password while locked", err)
	if n := th.verified() - before; n != 0 {
		t.Errorf("%d verifications while locked; want 0", n)
	}
	if th.LoginAllowed(ctx, "alice") {
		t.Error("LoginAllowed allows alice while Authenticate refuses her")
	}
	if c, err := th.Authenticate(ctx, "bob", "bob-pw"); err != nil || c.Name != "bob" {
		t.Errorf("bob while alice is locked: %+v, %v", c, err)
	}

	th.clock.Advance(DefaultLockBase - time.Nanosecond)
	_, err = th.Authenticate(ctx, "alice", "alice-pw")
	wantRefused(t, "right password just before the lock ends", err)
	th.clock.Advance(time.Nanosecond)
	if c, err := th.Authenticate(ctx, "alice", "alice-pw"); err != nil || c.Name != "alice" {
		t.Fatalf("right password after the lock: %+v, %v", c, err)
	}
	// The success reset alice's count: threshold-1 failures do not lock.
	for i := range DefaultUserThreshold - 1 {
		_, err := th.Authenticate(ctx, "alice", fmt.Sprint("again", i))
		wantRefused(t, "wrong password", err)
	}
	if _, locked := th.UserThrottle.LockedUntil("alice", th.clock.Now()); locked {
		t.Error("alice is locked again after fewer than threshold failures since her login")
	}
}

// Each failure after the lock ends locks the user for twice as long.
func TestLockGrows(t *testing.T) {
	th := newThrottled(t)
	ctx := t.Context()
	for i := range DefaultUserThreshold {
		_, err := th.Authenticate(ctx, "alice", fmt.Sprint("guess", i))
		wantRefused(t, "wrong password", err)
	}
	lock := DefaultLockBase
	for i := range 14 {
		th.clock.Advance(lock)
		_, err := th.Authenticate(ctx, "alice", fmt.Sprint("more", i))
		wantRefused(t, "wrong password after the lock", err)
		lock = min(2*lock, DefaultLockMax)
		until, locked := th.UserThrottle.LockedUntil("alice", th.clock.Now())
		if !locked || until.Sub(th.clock.Now()) != lock {
			t.Fatalf("after failure %d: locked %v for %v; want %v", DefaultUserThreshold+i+1, locked, until.Sub(th.clock.Now()), lock)
		}
	}
	if lock != DefaultLockMax {
		t.Errorf("lock %v after 14 more failures; want the cap %v", lock, DefaultLockMax)
	}
}

// A lock blocks remembered successes too: an attacker who has the
// password needs no brute force, but a lock must mean no access.
func TestLockBlocksCachedSuccess(t *testing.T) {
	th := newThrottled(t)
	ctx := t.Context()
	if _, err := th.Authenticate(ctx, "alice", "alice-pw"); err != nil {
		t.Fatal(err)
	}
	for i := range DefaultUserThreshold {
		_, err := th.Authenticate(ctx, "alice", fmt.Sprint("guess", i))
		wantRefused(t, "wrong password", err)
	}
	_, err := th.Authenticate(ctx, "alice", "alice-pw")
	wantRefused(t, "cached right password while locked", err)
	th.clock.Advance(DefaultLockBase)
	before := th.verified()
	if _, err := th.Authenticate(ctx, "alice", "alice-pw"); err != nil {
		t.Fatalf("after the lock: %v", err)
	}
	if th.verified() != before {
		t.Error("the remembered success was dropped by the lock; want it kept for after the lock")
	}
}

// Remembered failures (the same wrong password again within FailureTTL)
// are not counted: they guess nothing new. Cached successes do not reset
// the count: they are not logins.
func TestOnlyVerificationsCount(t *testing.T) {
	th := newThrottled(t)
	ctx := t.Context()
	if _, err := th.Authenticate(ctx, "alice", "alice-pw"); err != nil {
		t.Fatal(err)
	}
	for range 3 * DefaultUserThreshold {
		_, err := th.Authenticate(ctx, "alice", "stale-pw")
		wantRefused(t, "the same wrong password", err)
	}
	if _, err := th.Authenticate(ctx, "alice", "alice-pw"); err != nil {
		t.Fatalf("one wrong password repeated locked alice: %v", err)
	}
	// stale-pw counted once; three more guesses with cached successes
	// in between, and a last one, make the threshold.
	for i := range DefaultUserThreshold - 2 {
		_, err := th.Authenticate(ctx, "alice", fmt.Sprint("guess", i))
		wantRefused(t, "wrong password", err)
		if _, err := th.Authenticate(ctx, "alice", "alice-pw"); err != nil { // cached
			t.Fatal(err)
		}
	}
	_, err := th.Authenticate(ctx, "alice", "last guess")
	wantRefused(t, "wrong password", err)
	_, err = th.Authenticate(ctx, "alice", "alice-pw")
	wantRefused(t, "cached successes in between did not reset the count, so", err)
}

// Unknown users are counted and locked like known ones, so that a lock
// tells nothing about whether a user exists.
func TestUnknownUserLocksLikeKnown(t *testing.T) {
	th := newThrottled(t)
	ctx := t.Context()
	for _, user := range []string{"alice", "mallory"} {
		for i := range DefaultUserThreshold {
			_, err := th.Authenticate(ctx, user, fmt.Sprint("guess", i))
			wantRefused(t, user, err)
		}
		before := th.verified()
		_, err := th.Authenticate(ctx, user, "next guess")
		wantRefused(t, user+" while locked", err)
		if th.verified() != before {
			t.Errorf("%s: verified while locked", user)
		}
	}
}

// Many user names from one address lock the address, not the names; a
// valid user from that address is refused, the same user from another
// address gets in, and a success does not reset the address.
func TestAddressLocksAcrossUserNames(t *testing.T) {
	th := newThrottled(t)
	attacker, office := from(t.Context(), "198.51.100.7:5555"), from(t.Context(), "203.0.113.9")
	for i := range DefaultAddrThreshold {
		_, err := th.Authenticate(attacker, fmt.Sprint("user", i), "password1")
		wantRefused(t, "guess", err)
		if i == DefaultAddrThreshold/2 {
			// A valid account from the same address does not wipe the count.
			if _, err := th.Authenticate(attacker, "bob", "bob-pw"); err != nil {
				t.Fatal(err)
			}
		}
	}
	before := th.verified()
	_, err := th.Authenticate(attacker, "alice", "alice-pw")
	wantRefused(t, "right password from a locked address", err)
	_, err = th.Authenticate(from(t.Context(), "198.51.100.7:6666"), "bob", "bob-pw")
	wantRefused(t, "cached right password from a locked address, another port", err)
	if th.verified() != before {
		t.Error("verified from a locked address")
	}
	if c, err := th.Authenticate(office, "alice", "alice-pw"); err != nil || c.Name != "alice" {
		t.Errorf("alice from another address: %+v, %v", c, err)
	}
	// No user name reached its own threshold.
	if n := th.UserThrottle.Len(); n != DefaultAddrThreshold {
		t.Errorf("%d user names tracked; want %d", n, DefaultAddrThreshold)
	}
	th.clock.Advance(DefaultLockBase)
	if _, err := th.Authenticate(attacker, "alice", "alice-pw"); err != nil {
		t.Errorf("after the address lock: %v", err)
	}
}

func TestLoginAudit(t *testing.T) {
	th := newThrottled(t)
	ctx := from(t.Context(), "192.0.2.10")
	if _, err := th.Authenticate(ctx, "alice", "alice-pw"); err != nil {
		t.Fatal(err)
	}
	if _, err := th.Authenticate(ctx, "alice", "alice-pw"); err != nil { // cached: not a login
		t.Fatal(err)
	}
	if _, err := th.Authenticate(ctx, "bob", "bob-pw"); err != nil { // not an admin
		t.Fatal(err)
	}
	_, err := th.Authenticate(ctx, "bob", "wrong")
	wantRefused(t, "bob", err)
	_, err = th.Authenticate(ctx, "mallory", "wrong") // no such account
	wantRefused(t, "mallory", err)
	for i := range DefaultUserThreshold {
		_, err := th.Authenticate(ctx, "alice", fmt.Sprint("guess", i))
		wantRefused(t, "alice", err)
	}
	_, err = th.Authenticate(ctx, "alice", "alice-pw") // refused by the lock: not audited again
	wantRefused(t, "alice while locked", err)

	now := th.clock.Now()
	login := func(outcome tokenadmin.AuditOutcome) tokenadmin.AuditEvent {
		e := tokenadmin.AuditEvent{Time: now, ClientAddr: "192.0.2.10", RequestID: "req-192.0.2.10",
			Action: tokenadmin.AuditLogin, Target: "alice", Outcome: outcome}
		if outcome == tokenadmin.AuditSuccess {
			e.Actor, e.Role = "alice", tokenadmin.RoleAdmin
		} else {
			e.Reason = "invalid user name or password"
		}
		return e
	}
	want := []tokenadmin.AuditEvent{login(tokenadmin.AuditSuccess)}
	for range DefaultUserThreshold {
		want = append(want, login(tokenadmin.AuditDenied))
	}
	want = append(want, tokenadmin.AuditEvent{Time: now, ClientAddr: "192.0.2.10", RequestID: "req-192.0.2.10",
		Action: tokenadmin.AuditLoginLocked, Target: "alice", Outcome: tokenadmin.AuditDenied,
		Count: DefaultUserThreshold, Reason: "user locked for 1s after 5 failed logins"})
	got := th.audit.all()
	if len(got) != len(want) {
		t.Fatalf("%d audit events; want %d:\n%+v", len(got), len(want), got)
	}
	// The lock is recorded after the fifth denied login.
	want[len(want)-1], want[len(want)-2] = want[len(want)-2], want[len(want)-1]
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("event %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

func TestLockIsLoggedWithoutPassword(t *testing.T) {
	th := newThrottled(t)
	ctx := from(t.Context(), "192.0.2.10")
	for i := range DefaultUserThreshold {
		_, err := th.Authenticate(ctx, "mallory", fmt.Sprint("secret-guess-", i))
		wantRefused(t, "guess", err)
	}
	log := th.log.String()
	for _, want := range []string{`"level":"WARN"`, `"kind":"user"`, `"user":"mallory"`, `"client_addr":"192.0.2.10"`,
		`"request_id":"req-192.0.2.10"`, `"failures":5`, `"lock":1000000000`} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %s:\n%s", want, log)
		}
	}
	if strings.Contains(log, "secret-guess") {
		t.Errorf("a password is in the log:\n%s", log)
	}
	if n := strings.Count(log, "\n"); n != 1 {
		t.Errorf("%d log lines; want 1, the lock:\n%s", n, log)
	}
}

// An audit that fails is logged; the login's outcome does not change.
func TestAuditErrorDoesNotFailLogin(t *testing.T) {
	th := newThrottled(t)
	th.audit.err = errors.New("audit: disk full")
	if c, err := th.Authenticate(t.Context(), "alice", "alice-pw"); err != nil || c.Name != "alice" {
		t.Fatalf("Authenticate with a failing audit: %+v, %v", c, err)
	}
	if log := th.log.String(); !strings.Contains(log, "audit: disk full") || !strings.Contains(log, `"level":"ERROR"`) {
		t.Errorf("the audit error was not logged:\n%s", log)
	}
}

// Parallel guesses cannot slip past the lock by queueing for a
// verification slot before it started: at most threshold + slots - 1
// verifications happen, whatever the number of requests. Run with -race.
func TestThrottleConcurrent(t *testing.T) {
	const slots, calls = 4, 400
	th := newThrottled(t)
	th.MaxConcurrentVerifications = slots
	// The first verifications wait at a gate until every request has
	// started, so that most requests pass the first lock check and queue
	// for a slot before any failure is counted.
	open := make(chan struct{})
	var started, running atomic.Int64
	cheap := th.verify
	th.verify = func(encoded, password string) (bool, error) {
		running.Add(1)
		<-open
		return cheap(encoded, password)
	}
	var wg sync.WaitGroup
	for i := range calls {
		wg.Go(func() {
			started.Add(1)
			ctx := from(t.Context(), fmt.Sprint("192.0.2.", i%4))
			user := "alice"
			if i%2 == 1 {
				user = "mallory"
			}
			_, err := th.Authenticate(ctx, user, fmt.Sprint("guess", i))
			if tokenadmin.ErrorCode(err) != tokenadmin.CodeUnauthenticated {
				t.Errorf("guess %d: %v", i, err)
			}
		})
	}
	for started.Load() < calls || running.Load() < slots {
		runtime.Gosched()
	}
	for range 1000 { // let the started requests reach the slots; not needed for correctness
		runtime.Gosched()
	}
	close(open)
	wg.Wait()
	if n, limit := th.verified(), int64(2*(DefaultUserThreshold+slots-1)); n > limit {
		t.Errorf("%d verifications for %d parallel guesses at two users; want at most %d", n, calls, limit)
	}
	for _, user := range []string{"alice", "mallory"} {
		if _, locked := th.UserThrottle.LockedUntil(user, th.clock.Now()); !locked {
			t.Errorf("%s is not locked", user)
		}
	}
	// Concurrent Limiter use of a shared address throttle.
	clients := th.ClientLimiter()
	wg = sync.WaitGroup{}
	for range 50 {
		wg.Go(func() {
			ctx := from(t.Context(), "192.0.2.200")
			if clients.Allowed(ctx, "client") {
				clients.Failed(ctx, "client")
			}
			_ = th.AddrThrottle.Len()
		})
	}
	wg.Wait()
	if clients.Allowed(from(t.Context(), "192.0.2.201"), "client") {
		t.Error("the client is not locked after 50 failures")
	}
}

// ClientLimiter counts per client id with DefaultClientThreshold and
// shares the address throttle with user logins; it uses the
// Authenticator's Audit and Logger even when they are set after it was
// made, as serve may wire them in any order.
func TestClientLimiter(t *testing.T) {
	th := newThrottled(t)
	clients := th.ClientLimiter()
	rec := &auditRecorder{}
	th.Audit = rec
	ctx := from(t.Context(), "192.0.2.50")
	for i := range DefaultClientThreshold {
		if !clients.Allowed(ctx, "portal") {
			t.Fatalf("locked after %d failures", i)
		}
		clients.Failed(ctx, "portal")
	}
	if clients.Allowed(from(t.Context(), "203.0.113.1"), "portal") {
		t.Error("portal is not locked after DefaultClientThreshold failures")
	}
	if !clients.Allowed(ctx, "other") {
		t.Error("another client id is locked")
	}
	got := rec.all()
	want := tokenadmin.AuditEvent{Time: th.clock.Now(), ClientAddr: "192.0.2.50", RequestID: "req-192.0.2.50",
		Action: tokenadmin.AuditLoginLocked, Target: "portal", Outcome: tokenadmin.AuditDenied,
		Count: DefaultClientThreshold, Reason: "client locked for 1s after 10 failed logins"}
	if len(got) != 1 || got[0] != want {
		t.Errorf("audit events %+v; want [%+v]", got, want)
	}
	if log := th.log.String(); !strings.Contains(log, `"kind":"client"`) || !strings.Contains(log, `"client":"portal"`) {
		t.Errorf("no lock warning for the client:\n%s", log)
	}
	// The address's ten client failures count towards its user-login limit.
	for i := range DefaultAddrThreshold - DefaultClientThreshold {
		_, err := th.Authenticate(ctx, fmt.Sprint("user", i), "guess")
		wantRefused(t, "guess", err)
	}
	_, err := th.Authenticate(ctx, "bob", "bob-pw")
	wantRefused(t, "bob from an address locked by client and user failures", err)
	if rec.all()[len(rec.all())-1].Target != "192.0.2.50" {
		t.Errorf("last audit event %+v; want the address lock", rec.all()[len(rec.all())-1])
	}
}
