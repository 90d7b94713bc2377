package auth

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"time"

	"tokenadmin"
)

// Defaults of NewThrottle and of the throttles NewAuthenticator creates.
const (
	// DefaultUserThreshold is how many consecutive failed logins lock a
	// user name.
	DefaultUserThreshold = 5
	// DefaultAddrThreshold is how many consecutive failed logins lock a
	// client address. It is well above DefaultUserThreshold because many
	// people may share one address (an office behind NAT).
	DefaultAddrThreshold = 30
	// DefaultClientThreshold is how many consecutive failed client
	// authentications lock an OAuth client id. Clients are programs,
	// and a client id is often public, so it is a little more lenient
	// than the user threshold to make locking a client out harder.
	DefaultClientThreshold = 10

	DefaultLockBase    = time.Second      // the first lock
	DefaultLockMax     = 15 * time.Minute // the longest lock
	DefaultForgetAfter = time.Hour        // quiet time after which failures are forgotten
	DefaultMaxKeys     = 50000            // keys tracked per Throttle
)

// maxThrottleKeyLen bounds the keys a Throttle stores; longer ones (user names
// are attacker-chosen and may be kilobytes long) are replaced by a digest.
const maxThrottleKeyLen = 128

// auditTimeout bounds one audit append. It runs detached from the
// request's cancellation, so that hanging up does not skip the record.
const auditTimeout = 5 * time.Second

// Throttle counts consecutive failures per key (a user name, a client
// address, a client id) and locks a key that has failed too often.
//
// After Threshold consecutive failures a key is locked for LockBase; every
// further failure locks it again for twice as long as the last lock, up
// to LockMax: with the defaults 1 s, 2 s, 4 s, … 15 min. The lock is a
// rate limit: callers refuse attempts on a locked key at once, without
// checking the credential, instead of delaying the answer (a sleeping
// request would hold a connection and a goroutine for the attacker).
// Attempts refused during a lock are not failures: they checked nothing.
// A key's failures are forgotten once ForgetAfter has passed since both
// its last failure and the end of its lock, and when Reset.
//
// At most MaxKeys keys are tracked. When full, keys whose failures are
// forgotten go first, then the key whose last failure is oldest; a flood
// of new keys can therefore end an old lock early, which is why logins
// are throttled per user and per address at once.
//
// The time is an argument of every method (the caller's injected clock).
// Set the exported fields, if at all, before first use. A Throttle is
// safe for concurrent use, and may be shared (one per-address Throttle
// for users and OAuth clients).
type Throttle struct {
	// Threshold is the number of consecutive failures that locks a key.
	// Zero or negative disables the Throttle.
	Threshold int
	// LockBase is the first lock's duration; each further failure
	// doubles it, up to LockMax.
	LockBase, LockMax time.Duration
	// ForgetAfter is how long a key must stay quiet (no failure, no
	// lock) for its failures to be forgotten.
	ForgetAfter time.Duration
	// MaxKeys bounds the keys tracked; zero or negative means
	// DefaultMaxKeys.
	MaxKeys int

	mu   sync.RWMutex
	keys map[string]*list.Element // of *throttleEntry
	lru  list.List                // most recent failure first
}

type throttleEntry struct {
	key      string
	failures int       // consecutive, since the last forgetting or Reset
	last     time.Time // the last failure
	until    time.Time // end of the current or last lock; zero if never locked
}

// NewThrottle returns a Throttle that locks a key after threshold
// consecutive failures, with the default delays and bounds.
func NewThrottle(threshold int) *Throttle {
	return &Throttle{
		Threshold:   threshold,
		LockBase:    DefaultLockBase,
		LockMax:     DefaultLockMax,
		ForgetAfter: DefaultForgetAfter,
		MaxKeys:     DefaultMaxKeys,
	}
}

// LockedUntil reports whether key is locked at now, and until when.
func (t *Throttle) LockedUntil(key string, now time.Time) (until time.Time, locked bool) {
	if t == nil || t.Threshold <= 0 || key == "" {
		return time.Time{}, false
	}
	key = throttleKey(key)
	t.mu.RLock()
	defer t.mu.RUnlock()
	el, ok := t.keys[key]
	if !ok {
		return time.Time{}, false
	}
	e := el.Value.(*throttleEntry)
	return e.until, now.Before(e.until)
}

// Fail counts a failure of key at now and returns the key's consecutive
// failures. lock is positive when this failure locked the key, for that
// long; a failure that completes while the key is already locked (its
// check began before the lock) counts and locks it anew, for longer.
func (t *Throttle) Fail(key string, now time.Time) (failures int, lock time.Duration) {
	if t == nil || t.Threshold <= 0 || key == "" {
		return 0, 0
	}
	key = throttleKey(key)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.keys == nil {
		t.keys = make(map[string]*list.Element)
	}
	var e *throttleEntry
	if el, ok := t.keys[key]; ok {
		e = el.Value.(*throttleEntry)
		t.lru.MoveToFront(el)
		if t.forgotten(e, now) {
			e.failures = 0
		}
	} else {
		t.makeRoomLocked(now)
		e = &throttleEntry{key: key}
		t.keys[key] = t.lru.PushFront(e)
	}
	e.failures++
	e.last = now
	if e.failures < t.Threshold {
		return e.failures, 0
	}
	lock = t.lockFor(e.failures)
	e.until = now.Add(lock)
	return e.failures, lock
}

// Reset forgets key's failures (a user's successful login).
func (t *Throttle) Reset(key string) {
	if t == nil || key == "" {
		return
	}
	key = throttleKey(key)
	t.mu.Lock()
	defer t.mu.Unlock()
	if el, ok := t.keys[key]; ok {
		t.lru.Remove(el)
		delete(t.keys, key)
	}
}

// Len returns the number of keys tracked.
func (t *Throttle) Len() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.keys)
}

// lockFor is the lock after the given number of consecutive failures
// (at least Threshold): LockBase doubled once per failure beyond the
// Threshold-th, at most LockMax.
func (t *Throttle) lockFor(failures int) time.Duration {
	d := t.LockBase
	if d <= 0 {
		d = DefaultLockBase
	}
	limit := t.LockMax
	if limit < d {
		limit = d
	}
	for i := t.Threshold; i < failures && d < limit; i++ {
		d *= 2 // cannot overflow: d < limit before doubling
	}
	return min(d, limit)
}

// forgotten reports whether e's failures are forgotten at now.
func (t *Throttle) forgotten(e *throttleEntry, now time.Time) bool {
	quiet := e.last
	if e.until.After(quiet) {
		quiet = e.until
	}
	return !now.Before(quiet.Add(t.ForgetAfter))
}

// makeRoomLocked makes room for one more key: it drops forgotten keys
// from the least recently failed end, and the least recently failed key
// if that is not enough. The caller holds t.mu.
func (t *Throttle) makeRoomLocked(now time.Time) {
	limit := t.MaxKeys
	if limit <= 0 {
		limit = DefaultMaxKeys
	}
	for len(t.keys) >= limit {
		back := t.lru.Back()
		e := back.Value.(*throttleEntry)
		t.lru.Remove(back)
		delete(t.keys, e.key)
		if !t.forgotten(e, now) {
			return // evicted a live key: room for exactly one
		}
	}
	// Also drop forgotten keys at the back, so that the map shrinks
	// after an attack instead of staying at its peak.
	for back := t.lru.Back(); back != nil; back = t.lru.Back() {
		e := back.Value.(*throttleEntry)
		if !t.forgotten(e, now) {
			return
		}
		t.lru.Remove(back)
		delete(t.keys, e.key)
	}
}

// throttleKey bounds the length of a key: a long one is replaced by its
// SHA-256 digest, marked so that it cannot equal a short key.
func throttleKey(key string) string {
	if len(key) <= maxThrottleKeyLen {
		return key
	}
	sum := sha256.Sum256([]byte(key))
	return "\x00sha256:" + hex.EncodeToString(sum[:])
}

// AddrKey is the throttling key of a client address: the address itself
// for IPv4, and its /64 prefix for IPv6, since one host commonly holds a
// whole /64. Anything that does not parse as an IP address (with or
// without a port) is used as it is.
func AddrKey(addr string) string {
	ap, err := netip.ParseAddrPort(addr)
	ip := ap.Addr()
	if err != nil {
		if ip, err = netip.ParseAddr(addr); err != nil {
			return addr
		}
	}
	ip = ip.Unmap()
	if ip.Is4() {
		return ip.String()
	}
	p, err := ip.WithZone("").Prefix(64)
	if err != nil {
		return addr
	}
	return p.String()
}

// Auditor records audit events: tokenadmin.AuditLog's AppendAudit, which
// *store.DB implements.
type Auditor interface {
	// AppendAudit appends e durably (the log sets Seq and the hashes).
	// Errors are internal; the throttle and the Authenticator log them
	// and never fail or allow a login because of them.
	AppendAudit(ctx context.Context, e tokenadmin.AuditEvent) error
}

// Limiter throttles failed authentications of one kind of principal (the
// users of an Authenticator, or OAuth clients) per principal name and per
// client address at once, logs every lock as a warning and records it in
// the audit log (tokenadmin.AuditLoginLocked, outcome denied). It never
// logs or records a credential.
//
// The client address is tokenadmin.RequestInfoFrom(ctx).ClientAddr; with
// no RequestInfo (tests, the CLI) only the per-name limit applies.
type Limiter struct {
	// Kind names the principals in logs and audit records: "user" or
	// "client".
	Kind string
	// Names throttles principal names; nil disables that limit.
	Names *Throttle
	// Addrs throttles client addresses (AddrKey); nil disables that
	// limit. It may be shared between Limiters.
	Addrs *Throttle
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Logger receives the lock warnings and audit errors; nil means
	// slog.Default().
	Logger *slog.Logger
	// Audit records the locks; nil records nothing.
	Audit Auditor

	// of is the Authenticator whose Now, Logger and Audit stand in for
	// unset fields (its own limiter, ClientLimiter).
	of *Authenticator
}

// Allowed reports whether an authentication of name may be checked now:
// false while the name or the request's client address is locked. The
// caller then fails the attempt exactly as it fails a wrong credential,
// and must not check the credential.
func (l *Limiter) Allowed(ctx context.Context, name string) bool {
	if l == nil {
		return true
	}
	now := l.now()
	if _, locked := l.Names.LockedUntil(name, now); locked {
		return false
	}
	if addr := clientAddr(ctx); addr != "" {
		if _, locked := l.Addrs.LockedUntil(AddrKey(addr), now); locked {
			return false
		}
	}
	return true
}

// Failed counts a checked, wrong credential for name from the request's
// client address, and reports the locks it starts.
func (l *Limiter) Failed(ctx context.Context, name string) {
	if l == nil {
		return
	}
	now := l.now()
	if n, lock := l.Names.Fail(name, now); lock > 0 {
		l.locked(ctx, now, l.kind(), name, name, n, lock)
	}
	if addr := clientAddr(ctx); addr != "" {
		if n, lock := l.Addrs.Fail(AddrKey(addr), now); lock > 0 {
			l.locked(ctx, now, "address", AddrKey(addr), name, n, lock)
		}
	}
}

// Succeeded forgets name's failures after a checked, right credential.
// The address's failures stay: a caller with one valid account must not
// be able to wipe the count of its guesses at others. They are forgotten
// only after Throttle.ForgetAfter.
func (l *Limiter) Succeeded(name string) {
	if l == nil {
		return
	}
	l.Names.Reset(name)
}

// locked logs and audits a lock of key (of the given kind) that a failed
// authentication of name started.
func (l *Limiter) locked(ctx context.Context, now time.Time, kind, key, name string, failures int, lock time.Duration) {
	ri := tokenadmin.RequestInfoFrom(ctx)
	var addr, id string
	if ri != nil {
		addr, id = ri.ClientAddr, ri.ID
	}
	l.logger().LogAttrs(ctx, slog.LevelWarn, "auth: too many failed logins; locked",
		slog.String("kind", kind),
		slog.String("key", printable(key)),
		slog.String(l.kind(), printable(name)),
		slog.String("client_addr", addr),
		slog.String("request_id", id),
		slog.Int("failures", failures),
		slog.Duration("lock", lock))
	appendAudit(ctx, l.audit(), l.logger(), tokenadmin.AuditEvent{
		Time:       now,
		ClientAddr: addr,
		RequestID:  id,
		Action:     tokenadmin.AuditLoginLocked,
		Target:     printable(key),
		Outcome:    tokenadmin.AuditDenied,
		Count:      failures,
		Reason:     fmt.Sprintf("%s locked for %s after %d failed logins", kind, lock, failures),
	})
}

func (l *Limiter) kind() string {
	if l.Kind != "" {
		return l.Kind
	}
	return "user"
}

func (l *Limiter) now() time.Time {
	switch {
	case l.Now != nil:
		return l.Now()
	case l.of != nil && l.of.Now != nil:
		return l.of.Now()
	}
	return time.Now()
}

func (l *Limiter) logger() *slog.Logger {
	switch {
	case l.Logger != nil:
		return l.Logger
	case l.of != nil && l.of.Logger != nil:
		return l.of.Logger
	}
	return slog.Default()
}

func (l *Limiter) audit() Auditor {
	if l.Audit == nil && l.of != nil {
		return l.of.Audit
	}
	return l.Audit
}

// appendAudit appends e to audit, detached from ctx's cancellation, and
// logs an error instead of returning it.
func appendAudit(ctx context.Context, audit Auditor, log *slog.Logger, e tokenadmin.AuditEvent) {
	if audit == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), auditTimeout)
	defer cancel()
	if err := audit.AppendAudit(ctx, e); err != nil {
		log.LogAttrs(ctx, slog.LevelError, "auth: audit record lost",
			slog.String("action", string(e.Action)),
			slog.String("target", e.Target),
			slog.String("error", err.Error()))
	}
}

// clientAddr is the request's client address, or "".
func clientAddr(ctx context.Context) string {
	if ri := tokenadmin.RequestInfoFrom(ctx); ri != nil {
		return ri.ClientAddr
	}
	return ""
}

// printable shortens an attacker-chosen name for logs and audit records.
func printable(s string) string {
	if len(s) <= maxThrottleKeyLen {
		return s
	}
	return strings.ToValidUTF8(s[:maxThrottleKeyLen], "") + "…"
}
