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

// fakeStore is an in-memory UserStore that counts its calls. put and
// remove bump the epoch as the SQLite triggers do.
type fakeStore struct {
	mu       sync.Mutex
	users    map[string]tokenadmin.User
	epoch    int64
	getErr   error
	epochErr error
	onGet    func() // runs inside GetUser, after the record is read
	onEpoch  func() // runs inside UsersEpoch, before the epoch is read
	gets     int
	epochs   int
}

var _ UserStore = (*fakeStore)(nil)

func newFakeStore(users ...tokenadmin.User) *fakeStore {
	s := &fakeStore{users: map[string]tokenadmin.User{}}
	for _, u := range users {
		s.users[u.Name] = u
	}
	return s
}

func (s *fakeStore) GetUser(_ context.Context, name string) (*tokenadmin.User, error) {
	s.mu.Lock()
	s.gets++
	u, ok := s.users[name]
	err, hook := s.getErr, s.onGet
	s.mu.Unlock()
	if hook != nil {
		hook()
	}
	switch {
	case err != nil:
		return nil, err
	case !ok:
		return nil, tokenadmin.Errorf(tokenadmin.CodeNotFound, "no user %q", name)
	}
	return &u, nil
}

func (s *fakeStore) UsersEpoch(context.Context) (int64, error) {
	s.mu.Lock()
	hook := s.onEpoch
	s.mu.Unlock()
	if hook != nil {
		hook()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.epochs++
	return s.epoch, s.epochErr
}

func (s *fakeStore) put(u tokenadmin.User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[u.Name] = u
	s.epoch++
}

func (s *fakeStore) set(f func(s *fakeStore)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

func (s *fakeStore) counts() (gets, epochs int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gets, s.epochs
}

// fakeClock is the injected Authenticator.Now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// hashes memoises real argon2id hashes: each costs tens of milliseconds.
var hashes sync.Map // password -> PHC string

func hashOf(t testing.TB, password string) string {
	t.Helper()
	if h, ok := hashes.Load(password); ok {
		return h.(string)
	}
	h, err := HashPassword(password)
	if err != nil {
		t.Fatal(err)
	}
	hashes.Store(password, h)
	return h
}

// newTestAuthenticator returns an Authenticator on store with a fake clock
// and a counter of password verifications (real argon2id ones).
func newTestAuthenticator(store UserStore) (*Authenticator, *fakeClock, *atomic.Int64) {
	a := NewAuthenticator(store)
	clock := &fakeClock{t: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
	a.Now = clock.Now
	a.Logger = slog.New(slog.DiscardHandler)
	var n atomic.Int64
	a.verify = func(encoded, password string) (bool, error) {
		n.Add(1)
		return VerifyPassword(encoded, password)
	}
	return a, clock, &n
}

func TestHashPasswordGolden(t *testing.T) {
	salt := []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	got, err := Hasher{Rand: bytes.NewReader(salt)}.Hash("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	const want = "$argon2id$v=19$m=19456,t=2,p=1$AAECAwQFBgcICQoLDA0ODw$" + goldenKey
	if got != want {
		t.Errorf("Hash:\n got %s\nwant %s", got, want)
	}
}

// goldenKey pins the argon2id output for TestHashPasswordGolden. The
// reference implementation (libargon2's argon2id_hash_encoded with t=2,
// m=19456, p=1, hashlen=32) produces the same PHC string.
const goldenKey = "gYJZtjEAJqjg26xdLmknq8/bB7MiWPrE9hsYuA+SkIU"

func TestHashPasswordRoundTrip(t *testing.T) {
	long := strings.Repeat("p", MaxPasswordLen)
	for _, tc := range []struct {
		name     string
		password string
	}{
		{name: "ascii", password: "correct horse battery staple"},
		{name: "unicode", password: "pässwörd 🔑"},
		{name: "max length", password: long},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := hashOf(t, tc.password)
			if ok, err := VerifyPassword(h, tc.password); !ok || err != nil {
				t.Errorf("VerifyPassword(right password) = %v, %v; want true, nil", ok, err)
			}
			wrong := tc.password[:len(tc.password)-1]
			if ok, err := VerifyPassword(h, wrong); ok || err != nil {
				t.Errorf("VerifyPassword(wrong password) = %v, %v; want false, nil", ok, err)
			}
			if ok, err := VerifyPassword(h, ""); ok || err != nil {
				t.Errorf("VerifyPassword(empty password) = %v, %v; want false, nil", ok, err)
			}
			if ok, err := VerifyPassword(h, long+"p"); ok || err != nil {
				t.Errorf("VerifyPassword(overlong password) = %v, %v; want false, nil", ok, err)
			}
		})
	}
}

func TestHashPasswordSaltsDiffer(t *testing.T) {
	h1, err1 := HashPassword("same password")
	h2, err2 := HashPassword("same password")
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if h1 == h2 {
		t.Errorf("two hashes of one password are equal: %s", h1)
	}
}

func TestHashPasswordRejects(t *testing.T) {
	for _, tc := range []struct {
		name     string
		password string
	}{
		{name: "empty", password: ""},
		{name: "too long", password: strings.Repeat("x", MaxPasswordLen+1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := HashPassword(tc.password)
			if code := tokenadmin.ErrorCode(err); code != tokenadmin.CodeInvalid || h != "" {
				t.Errorf("HashPassword = %q, code %q; want \"\", %q", h, code, tokenadmin.CodeInvalid)
			}
		})
	}
}

func TestHashPasswordRandError(t *testing.T) {
	_, err := Hasher{Rand: bytes.NewReader(make([]byte, 3))}.Hash("password")
	if err == nil || tokenadmin.ErrorCode(err) != tokenadmin.CodeInternal {
		t.Errorf("Hash with a short Rand: err = %v; want an internal error", err)
	}
}

// zeroSalt and zeroKey are canonical base64 of 16 and 32 zero bytes.
var (
	zeroSalt = strings.Repeat("A", 22)
	zeroKey  = strings.Repeat("A", 43)
)

func phcString(alg, version, params, salt, key string) string {
	return "$" + alg + "$" + version + "$" + params + "$" + salt + "$" + key
}

func TestVerifyPasswordRejectsMalformed(t *testing.T) {
	const params = "m=19456,t=2,p=1"
	valid := phcString("argon2id", "v=19", params, zeroSalt, zeroKey)
	for _, tc := range []struct {
		name    string
		encoded string
	}{
		{name: "empty", encoded: ""},
		{name: "no leading dollar", encoded: strings.TrimPrefix(valid, "$")},
		{name: "trailing field", encoded: valid + "$"},
		{name: "missing version", encoded: "$argon2id$" + params + "$" + zeroSalt + "$" + zeroKey},
		{name: "bcrypt", encoded: "$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{name: "argon2i", encoded: phcString("argon2i", "v=19", params, zeroSalt, zeroKey)},
		{name: "argon2d", encoded: phcString("argon2d", "v=19", params, zeroSalt, zeroKey)},
		{name: "version 16", encoded: phcString("argon2id", "v=16", params, zeroSalt, zeroKey)},
		{name: "huge memory", encoded: phcString("argon2id", "v=19", "m=4294967295,t=2,p=1", zeroSalt, zeroKey)},
		{name: "memory above bound", encoded: phcString("argon2id", "v=19", "m=65537,t=2,p=1", zeroSalt, zeroKey)},
		{name: "memory overflows uint32", encoded: phcString("argon2id", "v=19", "m=99999999999999999999,t=2,p=1", zeroSalt, zeroKey)},
		{name: "memory below 8p", encoded: phcString("argon2id", "v=19", "m=15,t=2,p=2", zeroSalt, zeroKey)},
		{name: "huge time", encoded: phcString("argon2id", "v=19", "m=19456,t=4294967295,p=1", zeroSalt, zeroKey)},
		{name: "time above bound", encoded: phcString("argon2id", "v=19", "m=19456,t=11,p=1", zeroSalt, zeroKey)},
		{name: "time zero", encoded: phcString("argon2id", "v=19", "m=19456,t=0,p=1", zeroSalt, zeroKey)},
		{name: "threads zero", encoded: phcString("argon2id", "v=19", "m=19456,t=2,p=0", zeroSalt, zeroKey)},
		{name: "threads above bound", encoded: phcString("argon2id", "v=19", "m=65536,t=2,p=255", zeroSalt, zeroKey)},
		{name: "parameters reordered", encoded: phcString("argon2id", "v=19", "t=2,m=19456,p=1", zeroSalt, zeroKey)},
		{name: "parameter missing", encoded: phcString("argon2id", "v=19", "m=19456,t=2", zeroSalt, zeroKey)},
		{name: "extra parameter", encoded: phcString("argon2id", "v=19", params+",keyid=1", zeroSalt, zeroKey)},
		{name: "leading zero", encoded: phcString("argon2id", "v=19", "m=019456,t=2,p=1", zeroSalt, zeroKey)},
		{name: "plus sign", encoded: phcString("argon2id", "v=19", "m=+19456,t=2,p=1", zeroSalt, zeroKey)},
		{name: "negative", encoded: phcString("argon2id", "v=19", "m=19456,t=-2,p=1", zeroSalt, zeroKey)},
		{name: "empty value", encoded: phcString("argon2id", "v=19", "m=,t=2,p=1", zeroSalt, zeroKey)},
		{name: "salt not base64", encoded: phcString("argon2id", "v=19", params, "!!!!!!!!!!!!!!!!!!!!!!", zeroKey)},
		{name: "salt padded", encoded: phcString("argon2id", "v=19", params, zeroSalt+"==", zeroKey)},
		{name: "salt url alphabet", encoded: phcString("argon2id", "v=19", params, "_-"+zeroSalt[2:], zeroKey)},
		{name: "salt non-canonical trailing bits", encoded: phcString("argon2id", "v=19", params, zeroSalt[:21]+"B", zeroKey)},
		{name: "salt with newline", encoded: phcString("argon2id", "v=19", params, zeroSalt[:11]+"\n"+zeroSalt[11:], zeroKey)},
		{name: "salt too short", encoded: phcString("argon2id", "v=19", params, "AAAAAA", zeroKey)},
		{name: "salt empty", encoded: phcString("argon2id", "v=19", params, "", zeroKey)},
		{name: "hash too short", encoded: phcString("argon2id", "v=19", params, zeroSalt, "AAAAAAAAAAA")},
		{name: "hash too long", encoded: phcString("argon2id", "v=19", params, zeroSalt, strings.Repeat("A", 88))},
		{name: "hash not base64", encoded: phcString("argon2id", "v=19", params, zeroSalt, strings.Repeat("*", 43))},
		{name: "overlong string", encoded: phcString("argon2id", "v=19", params, zeroSalt, zeroKey) + strings.Repeat("A", 300)},
		{name: "control byte", encoded: "\x00" + valid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			ok, err := VerifyPassword(tc.encoded, "password")
			elapsed := time.Since(start)
			if ok || !errors.Is(err, ErrInvalidHash) {
				t.Errorf("VerifyPassword = %v, %v; want false, ErrInvalidHash", ok, err)
			}
			// Rejected by the parser, before argon2 allocates anything.
			if elapsed > 100*time.Millisecond {
				t.Errorf("rejection took %v", elapsed)
			}
		})
	}

	t.Run("control: well-formed hash of another password", func(t *testing.T) {
		if ok, err := VerifyPassword(valid, "password"); ok || err != nil {
			t.Errorf("VerifyPassword = %v, %v; want false, nil", ok, err)
		}
	})
}

// FuzzParsePHC checks that the parser never panics, that what it accepts
// is within bounds, and that an accepted string is the one canonical
// encoding of its value.
func FuzzParsePHC(f *testing.F) {
	f.Add(dummyHash)
	f.Add(phcString("argon2id", "v=19", "m=65536,t=10,p=16", zeroSalt, zeroKey))
	f.Add(phcString("argon2id", "v=19", "m=4294967295,t=2,p=1", zeroSalt, zeroKey))
	f.Add(phcString("argon2id", "v=19", "m=019456,t=2,p=1", zeroSalt+"==", zeroKey))
	f.Add("$argon2i$v=19$m=19456,t=2,p=1$$")
	f.Add("$$$$$")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parsePHC(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidHash) {
				t.Fatalf("error %v does not wrap ErrInvalidHash", err)
			}
			return
		}
		if p.memory > maxMemory || p.time < 1 || p.time > maxTime || p.threads < 1 || p.threads > maxThreads || p.memory < 8*uint32(p.threads) {
			t.Fatalf("accepted out-of-bounds parameters m=%d t=%d p=%d", p.memory, p.time, p.threads)
		}
		if got := p.String(); got != s {
			t.Fatalf("accepted non-canonical %q (canonical %q)", s, got)
		}
	})
}

func TestDummyHashHasDefaultParameters(t *testing.T) {
	p, err := parsePHC(dummyHash)
	if err != nil {
		t.Fatal(err)
	}
	if p.memory != argonMemory || p.time != argonTime || p.threads != argonThreads || len(p.salt) != saltLen || len(p.key) != keyLen {
		t.Errorf("dummyHash parameters m=%d t=%d p=%d salt=%d key=%d differ from the defaults, so unknown users would not cost what wrong passwords cost",
			p.memory, p.time, p.threads, len(p.salt), len(p.key))
	}
}

func TestCacheKey(t *testing.T) {
	a := NewAuthenticator(newFakeStore())
	b := NewAuthenticator(newFakeStore())
	k := a.cacheKey("ab", "c")
	if a.cacheKey("ab", "c") != k {
		t.Error("cacheKey is not deterministic")
	}
	if a.cacheKey("a", "bc") == k {
		t.Error(`cacheKey("ab", "c") == cacheKey("a", "bc"): the user name is not length-prefixed`)
	}
	if b.cacheKey("ab", "c") == k {
		t.Error("two Authenticators share a cache key")
	}
}

var errStore = errors.New("store: disk on fire")

func TestAuthenticate(t *testing.T) {
	users := []tokenadmin.User{
		{Name: "alice", Role: tokenadmin.RoleAdmin, PasswordHash: hashOf(t, "alice-pw")},
		{Name: "bob", Role: tokenadmin.RoleUser, PasswordHash: hashOf(t, "bob-pw")},
		{Name: "carol", Role: tokenadmin.RoleUser, PasswordHash: "$argon2id$v=19$m=1048576,t=2,p=1$" + zeroSalt + "$" + zeroKey},
		{Name: "dave", Role: "root", PasswordHash: hashOf(t, "bob-pw")},
	}
	for _, tc := range []struct {
		name          string
		user          string
		password      string
		getErr        error
		want          tokenadmin.Caller
		wantCode      tokenadmin.Code
		wantErr       error // errors.Is target, if set
		verifications int64
	}{
		{name: "admin", user: "alice", password: "alice-pw", want: tokenadmin.Caller{Name: "alice", Role: tokenadmin.RoleAdmin}, verifications: 1},
		{name: "user", user: "bob", password: "bob-pw", want: tokenadmin.Caller{Name: "bob", Role: tokenadmin.RoleUser}, verifications: 1},
		{name: "wrong password is unauthenticated", user: "alice", password: "bob-pw", wantCode: tokenadmin.CodeUnauthenticated, verifications: 1},
		{name: "unknown user is unauthenticated after a dummy verification", user: "mallory", password: "alice-pw", wantCode: tokenadmin.CodeUnauthenticated, verifications: 1},
		{name: "empty password is unauthenticated", user: "alice", password: "", wantCode: tokenadmin.CodeUnauthenticated},
		{name: "overlong password is unauthenticated", user: "alice", password: strings.Repeat("x", MaxPasswordLen+1), wantCode: tokenadmin.CodeUnauthenticated},
		{name: "hostile stored hash is internal", user: "carol", password: "carol-pw", wantCode: tokenadmin.CodeInternal, wantErr: ErrInvalidHash, verifications: 1},
		{name: "unknown role is internal", user: "dave", password: "bob-pw", wantCode: tokenadmin.CodeInternal, verifications: 1},
		{name: "store error is internal", user: "alice", password: "alice-pw", getErr: errStore, wantCode: tokenadmin.CodeInternal, wantErr: errStore},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := newFakeStore(users...)
			store.getErr = tc.getErr
			a, _, verifications := newTestAuthenticator(store)
			got, err := a.Authenticate(t.Context(), tc.user, tc.password)
			if code := tokenadmin.ErrorCode(err); code != tc.wantCode {
				t.Fatalf("Authenticate error %v has code %q; want %q", err, code, tc.wantCode)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("Authenticate error %v does not wrap %v", err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("Authenticate = %+v; want %+v", got, tc.want)
			}
			if n := verifications.Load(); n != tc.verifications {
				t.Errorf("%d password verifications; want %d", n, tc.verifications)
			}
		})
	}
}

func TestAuthenticateUnknownUserLooksLikeWrongPassword(t *testing.T) {
	store := newFakeStore(tokenadmin.User{Name: "alice", Role: tokenadmin.RoleAdmin, PasswordHash: hashOf(t, "alice-pw")})
	a, _, _ := newTestAuthenticator(store)
	_, errWrong := a.Authenticate(t.Context(), "alice", "guess")
	_, errUnknown := a.Authenticate(t.Context(), "mallory", "guess")
	if tokenadmin.ErrorCode(errWrong) != tokenadmin.CodeUnauthenticated {
		t.Fatalf("wrong password: %v", errWrong)
	}
	if tokenadmin.ErrorCode(errUnknown) != tokenadmin.ErrorCode(errWrong) ||
		tokenadmin.ErrorMessage(errUnknown) != tokenadmin.ErrorMessage(errWrong) ||
		errUnknown.Error() != errWrong.Error() {
		t.Errorf("unknown user: %v; wrong password: %v; want the same error", errUnknown, errWrong)
	}
}

func TestCacheHitAvoidsHashing(t *testing.T) {
	store := newFakeStore(tokenadmin.User{Name: "alice", Role: tokenadmin.RoleAdmin, PasswordHash: hashOf(t, "alice-pw")})
	a, _, verifications := newTestAuthenticator(store)
	for i := range 5 {
		c, err := a.Authenticate(t.Context(), "alice", "alice-pw")
		if err != nil || c.Name != "alice" {
			t.Fatalf("call %d: %+v, %v", i, c, err)
		}
	}
	gets, epochs := store.counts()
	if n := verifications.Load(); n != 1 || gets != 1 || epochs != 1 {
		t.Errorf("5 calls: %d verifications, %d GetUser, %d UsersEpoch; want 1, 1, 1", n, gets, epochs)
	}
}

func TestCacheIsKeyedByPassword(t *testing.T) {
	store := newFakeStore(tokenadmin.User{Name: "alice", Role: tokenadmin.RoleAdmin, PasswordHash: hashOf(t, "alice-pw")})
	a, _, verifications := newTestAuthenticator(store)
	if _, err := a.Authenticate(t.Context(), "alice", "alice-pw"); err != nil {
		t.Fatal(err)
	}
	for i := range 2 { // a miss, then a remembered failure
		if _, err := a.Authenticate(t.Context(), "alice", "alice-pw2"); tokenadmin.ErrorCode(err) != tokenadmin.CodeUnauthenticated {
			t.Fatalf("other password, call %d: %v; want unauthenticated", i, err)
		}
	}
	if n := verifications.Load(); n != 2 {
		t.Errorf("%d verifications; want 2", n)
	}
}

func TestPasswordChangeTakesEffectAfterEpochCheck(t *testing.T) {
	store := newFakeStore(tokenadmin.User{Name: "alice", Role: tokenadmin.RoleAdmin, PasswordHash: hashOf(t, "old-pw")})
	a, clock, _ := newTestAuthenticator(store)
	if _, err := a.Authenticate(t.Context(), "alice", "old-pw"); err != nil {
		t.Fatal(err)
	}
	// The CLI changes the password in another process.
	store.put(tokenadmin.User{Name: "alice", Role: tokenadmin.RoleAdmin, PasswordHash: hashOf(t, "new-pw")})

	// Within the interval the old password is still served from the cache:
	// the staleness the interval bounds.
	clock.Advance(a.EpochCheckInterval - time.Millisecond)
	if _, err := a.Authenticate(t.Context(), "alice", "old-pw"); err != nil {
		t.Fatalf("old password within the check interval: %v; want a cache hit", err)
	}

	clock.Advance(time.Millisecond)
	if _, err := a.Authenticate(t.Context(), "alice", "old-pw"); tokenadmin.ErrorCode(err) != tokenadmin.CodeUnauthenticated {
		t.Errorf("old password after the check interval: %v; want unauthenticated", err)
	}
	if _, err := a.Authenticate(t.Context(), "alice", "new-pw"); err != nil {
		t.Errorf("new password: %v", err)
	}
}

func TestRoleChangeTakesEffectAfterEpochCheck(t *testing.T) {
	store := newFakeStore(tokenadmin.User{Name: "alice", Role: tokenadmin.RoleAdmin, PasswordHash: hashOf(t, "alice-pw")})
	a, clock, _ := newTestAuthenticator(store)
	if c, err := a.Authenticate(t.Context(), "alice", "alice-pw"); err != nil || c.Role != tokenadmin.RoleAdmin {
		t.Fatalf("before: %+v, %v", c, err)
	}
	store.put(tokenadmin.User{Name: "alice", Role: tokenadmin.RoleUser, PasswordHash: hashOf(t, "alice-pw")})
	clock.Advance(a.EpochCheckInterval)
	if c, err := a.Authenticate(t.Context(), "alice", "alice-pw"); err != nil || c.Role != tokenadmin.RoleUser {
		t.Errorf("after demotion: %+v, %v; want role %q", c, err, tokenadmin.RoleUser)
	}
}

func TestUnchangedEpochKeepsCache(t *testing.T) {
	store := newFakeStore(tokenadmin.User{Name: "alice", Role: tokenadmin.RoleAdmin, PasswordHash: hashOf(t, "alice-pw")})
	a, clock, verifications := newTestAuthenticator(store)
	for range 3 {
		if _, err := a.Authenticate(t.Context(), "alice", "alice-pw"); err != nil {
			t.Fatal(err)
		}
		clock.Advance(a.EpochCheckInterval)
	}
	gets, epochs := store.counts()
	if n := verifications.Load(); n != 1 || gets != 1 || epochs != 3 {
		t.Errorf("%d verifications, %d GetUser, %d UsersEpoch; want 1, 1, 3", n, gets, epochs)
	}
}

func TestEpochCheckedAtMostOncePerInterval(t *testing.T) {
	store := newFakeStore(tokenadmin.User{Name: "alice", Role: tokenadmin.RoleAdmin, PasswordHash: hashOf(t, "alice-pw")})
	a, clock, _ := newTestAuthenticator(store)
	steps := []struct {
		advance    time.Duration
		wantEpochs int
	}{
		{advance: 0, wantEpochs: 1},
		{advance: a.EpochCheckInterval / 2, wantEpochs: 1},
		{advance: a.EpochCheckInterval/2 - 1, wantEpochs: 1},
		{advance: 1, wantEpochs: 2},
		{advance: -time.Hour, wantEpochs: 3}, // the wall clock stepped back
		{advance: 0, wantEpochs: 3},
	}
	for _, s := range steps {
		clock.Advance(s.advance)
		for range 3 {
			if _, err := a.Authenticate(t.Context(), "alice", "alice-pw"); err != nil {
				t.Fatal(err)
			}
		}
		if _, epochs := store.counts(); epochs != s.wantEpochs {
			t.Fatalf("after advancing %v: %d UsersEpoch calls; want %d", s.advance, epochs, s.wantEpochs)
		}
	}
}

func TestCacheEntriesExpire(t *testing.T) {
	store := newFakeStore(tokenadmin.User{Name: "alice", Role: tokenadmin.RoleAdmin, PasswordHash: hashOf(t, "alice-pw")})
	a, clock, verifications := newTestAuthenticator(store)
	a.EpochCheckInterval = time.Hour // isolate expiry from epoch checks
	for _, s := range []struct {
		advance           time.Duration
		wantVerifications int64
	}{
		{advance: 0, wantVerifications: 1},
		{advance: a.CacheTTL - time.Nanosecond, wantVerifications: 1},
		{advance: time.Nanosecond, wantVerifications: 2},
		{advance: 0, wantVerifications: 2},
	} {
		clock.Advance(s.advance)
		if _, err := a.Authenticate(t.Context(), "alice", "alice-pw"); err != nil {
			t.Fatal(err)
		}
		if n := verifications.Load(); n != s.wantVerifications {
			t.Fatalf("after advancing %v: %d verifications; want %d", s.advance, n, s.wantVerifications)
		}
	}
}

func TestInvalidate(t *testing.T) {
	store := newFakeStore(tokenadmin.User{Name: "alice", Role: tokenadmin.RoleAdmin, PasswordHash: hashOf(t, "alice-pw")})
	a, _, verifications := newTestAuthenticator(store)
	for range 2 {
		if _, err := a.Authenticate(t.Context(), "alice", "alice-pw"); err != nil {
			t.Fatal(err)
		}
		a.Invalidate()
	}
	if n := verifications.Load(); n != 2 {
		t.Errorf("%d verifications; want 2", n)
	}
}

// A verification that read the user before the cache was dropped must not
// be remembered: the record it checked may be the one that changed.
func TestVerificationInFlightDuringInvalidateIsNotCached(t *testing.T) {
	store := newFakeStore(tokenadmin.User{Name: "alice", Role: tokenadmin.RoleAdmin, PasswordHash: hashOf(t, "alice-pw")})
	a, _, verifications := newTestAuthenticator(store)
	var once sync.Once
	store.onGet = func() { once.Do(a.Invalidate) }
	for range 3 {
		if _, err := a.Authenticate(t.Context(), "alice", "alice-pw"); err != nil {
			t.Fatal(err)
		}
	}
	if n := verifications.Load(); n != 2 {
		t.Errorf("%d verifications; want 2 (the first result was not cached, the second was)", n)
	}
}

// A failed epoch check drops the cache (fail closed): requests that do not
// run the next check, which is retried at once, must not be served from it.
func TestEpochErrorDropsCache(t *testing.T) {
	store := newFakeStore(tokenadmin.User{Name: "alice", Role: tokenadmin.RoleAdmin, PasswordHash: hashOf(t, "alice-pw")})
	a, clock, verifications := newTestAuthenticator(store)
	if _, err := a.Authenticate(t.Context(), "alice", "alice-pw"); err != nil {
		t.Fatal(err)
	}
	store.set(func(s *fakeStore) { s.epochErr = errStore })
	clock.Advance(a.EpochCheckInterval)
	_, err := a.Authenticate(t.Context(), "alice", "alice-pw")
	if tokenadmin.ErrorCode(err) != tokenadmin.CodeInternal || !errors.Is(err, errStore) {
		t.Fatalf("Authenticate with a failing UsersEpoch: %v; want an internal error wrapping %v", err, errStore)
	}

	// The next request retries the check; hold it there while another
	// request runs.
	entered, release := make(chan struct{}), make(chan struct{})
	store.set(func(s *fakeStore) {
		s.epochErr = nil
		s.onEpoch = func() { close(entered); <-release }
	})
	checker := make(chan error)
	go func() {
		_, err := a.Authenticate(context.WithoutCancel(t.Context()), "alice", "alice-pw")
		checker <- err
	}()
	<-entered
	store.set(func(s *fakeStore) { s.onEpoch = nil })
	if _, err := a.Authenticate(t.Context(), "alice", "alice-pw"); err != nil {
		t.Fatal(err)
	}
	if n := verifications.Load(); n != 2 {
		t.Errorf("%d verifications; want 2: the failed check must have dropped the cache", n)
	}
	close(release)
	if err := <-checker; err != nil {
		t.Fatal(err)
	}
	if _, epochs := store.counts(); epochs != 3 {
		t.Errorf("%d UsersEpoch calls; want 3", epochs)
	}
}

// While one request reads the epoch, the others keep using the cache
// instead of waiting for the database.
func TestEpochCheckDoesNotBlockCacheHits(t *testing.T) {
	store := newFakeStore(tokenadmin.User{Name: "alice", Role: tokenadmin.RoleAdmin, PasswordHash: hashOf(t, "alice-pw")})
	a, clock, verifications := newTestAuthenticator(store)
	if _, err := a.Authenticate(t.Context(), "alice", "alice-pw"); err != nil {
		t.Fatal(err)
	}
	entered, release := make(chan struct{}), make(chan struct{})
	store.set(func(s *fakeStore) {
		s.onEpoch = func() { close(entered); <-release }
	})
	clock.Advance(a.EpochCheckInterval)
	checker := make(chan error)
	go func() {
		_, err := a.Authenticate(context.WithoutCancel(t.Context()), "alice", "alice-pw")
		checker <- err
	}()
	<-entered
	store.set(func(s *fakeStore) { s.onEpoch = nil })
	for range 3 {
		if _, err := a.Authenticate(t.Context(), "alice", "alice-pw"); err != nil {
			t.Fatal(err)
		}
	}
	close(release)
	if err := <-checker; err != nil {
		t.Fatal(err)
	}
	gets, epochs := store.counts()
	if n := verifications.Load(); n != 1 || gets != 1 || epochs != 2 {
		t.Errorf("%d verifications, %d GetUser, %d UsersEpoch; want 1, 1, 2", n, gets, epochs)
	}
}

func TestCacheIsBounded(t *testing.T) {
	h := hashOf(t, "pw")
	store := newFakeStore()
	for i := range 6 {
		store.put(tokenadmin.User{Name: fmt.Sprint("u", i), Role: tokenadmin.RoleUser, PasswordHash: h})
	}
	a, clock, verifications := newTestAuthenticator(store)
	a.MaxCacheEntries = 4
	a.EpochCheckInterval = time.Hour
	login := func(name string) {
		t.Helper()
		if _, err := a.Authenticate(t.Context(), name, "pw"); err != nil {
			t.Fatal(err)
		}
	}
	size := func() int {
		a.mu.Lock()
		defer a.mu.Unlock()
		return len(a.entries)
	}

	login("u0")
	login("u1")
	clock.Advance(a.CacheTTL / 2)
	login("u2")
	login("u3")
	clock.Advance(a.CacheTTL/2 + time.Second) // u0 and u1 have expired
	login("u4")                               // full: the sweep drops the expired entries only
	if n := size(); n != 3 {
		t.Errorf("after sweeping expired entries: %d entries; want 3", n)
	}
	before := verifications.Load()
	login("u2")
	if verifications.Load() != before {
		t.Error("u2 was dropped by the sweep though it had not expired")
	}

	login("u5") // 4 entries
	login("u0") // full, nothing expired: everything goes
	if n := size(); n != 1 {
		t.Errorf("after clearing a full cache: %d entries; want 1", n)
	}
}

func TestNewAuthenticatorDefaults(t *testing.T) {
	a := NewAuthenticator(newFakeStore())
	if a.MaxConcurrentVerifications != runtime.GOMAXPROCS(0) || a.FailureTTL != DefaultFailureTTL {
		t.Errorf("MaxConcurrentVerifications %d, FailureTTL %v; want GOMAXPROCS (%d), %v",
			a.MaxConcurrentVerifications, a.FailureTTL, runtime.GOMAXPROCS(0), DefaultFailureTTL)
	}
}

// A client hammering one wrong password, or an unknown user, pays for one
// argon2id verification per FailureTTL, not one per request.
func TestFailureIsRemembered(t *testing.T) {
	for _, tc := range []struct {
		name, user string
	}{
		{name: "wrong password", user: "alice"},
		{name: "unknown user", user: "mallory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := newFakeStore(tokenadmin.User{Name: "alice", Role: tokenadmin.RoleAdmin, PasswordHash: hashOf(t, "alice-pw")})
			a, clock, verifications := newTestAuthenticator(store)
			a.EpochCheckInterval = time.Hour // isolate expiry from epoch checks
			for _, s := range []struct {
				advance           time.Duration
				wantVerifications int64
			}{
				{advance: 0, wantVerifications: 1},
				{advance: 0, wantVerifications: 1},
				{advance: a.FailureTTL - time.Nanosecond, wantVerifications: 1},
				{advance: time.Nanosecond, wantVerifications: 2},
				{advance: 0, wantVerifications: 2},
			} {
				clock.Advance(s.advance)
				_, err := a.Authenticate(t.Context(), tc.user, "guess")
				if tokenadmin.ErrorCode(err) != tokenadmin.CodeUnauthenticated || tokenadmin.ErrorMessage(err) != "invalid user name or password" {
					t.Fatalf("after advancing %v: %v; want the unauthenticated error", s.advance, err)
				}
				if n := verifications.Load(); n != s.wantVerifications {
					t.Fatalf("after advancing %v: %d verifications; want %d", s.advance, n, s.wantVerifications)
				}
			}
			if _, err := a.Authenticate(t.Context(), "alice", "alice-pw"); err != nil {
				t.Errorf("right password after remembered failures: %v", err)
			}
		})
	}
}

// A failure is remembered for FailureTTL, but an epoch change drops it
// like any cache entry: a password just set to a remembered wrong one
// works from the next epoch check.
func TestPasswordSetToRememberedFailureWorksAfterEpochCheck(t *testing.T) {
	store := newFakeStore(tokenadmin.User{Name: "alice", Role: tokenadmin.RoleAdmin, PasswordHash: hashOf(t, "old-pw")})
	a, clock, verifications := newTestAuthenticator(store)
	if a.EpochCheckInterval >= a.FailureTTL {
		t.Fatalf("EpochCheckInterval %v >= FailureTTL %v: the test would not tell expiry from the epoch", a.EpochCheckInterval, a.FailureTTL)
	}
	if _, err := a.Authenticate(t.Context(), "alice", "new-pw"); tokenadmin.ErrorCode(err) != tokenadmin.CodeUnauthenticated {
		t.Fatalf("before the change: %v; want unauthenticated", err)
	}
	store.put(tokenadmin.User{Name: "alice", Role: tokenadmin.RoleAdmin, PasswordHash: hashOf(t, "new-pw")})

	clock.Advance(a.EpochCheckInterval - time.Millisecond)
	if _, err := a.Authenticate(t.Context(), "alice", "new-pw"); tokenadmin.ErrorCode(err) != tokenadmin.CodeUnauthenticated {
		t.Fatalf("new password within the check interval: %v; want the remembered failure", err)
	}
	if n := verifications.Load(); n != 1 {
		t.Fatalf("%d verifications within the check interval; want 1", n)
	}
	clock.Advance(time.Millisecond)
	if c, err := a.Authenticate(t.Context(), "alice", "new-pw"); err != nil || c.Name != "alice" {
		t.Errorf("new password after the epoch check: %+v, %v", c, err)
	}
}

// A failed verification that read the user before the cache was dropped
// must not be remembered: the record it checked may be the one that
// changed.
func TestFailureInFlightDuringInvalidateIsNotRemembered(t *testing.T) {
	store := newFakeStore(tokenadmin.User{Name: "alice", Role: tokenadmin.RoleAdmin, PasswordHash: hashOf(t, "alice-pw")})
	a, _, verifications := newTestAuthenticator(store)
	var once sync.Once
	store.onGet = func() { once.Do(a.Invalidate) }
	for range 3 {
		if _, err := a.Authenticate(t.Context(), "alice", "guess"); tokenadmin.ErrorCode(err) != tokenadmin.CodeUnauthenticated {
			t.Fatal(err)
		}
	}
	if n := verifications.Load(); n != 2 {
		t.Errorf("%d verifications; want 2 (the first failure was not remembered, the second was)", n)
	}
}

// Remembered failures are bounded, and a flood of them does not push out
// remembered successes.
func TestFailureCacheIsBounded(t *testing.T) {
	store := newFakeStore(tokenadmin.User{Name: "alice", Role: tokenadmin.RoleAdmin, PasswordHash: "plain:alice-pw"})
	a, _, verifications := newTestAuthenticator(store)
	a.MaxCacheEntries = 4
	a.UserThrottle = nil // 20 wrong passwords would lock alice (see throttle_test.go)
	a.verify = func(encoded, password string) (bool, error) {
		verifications.Add(1)
		return subtle.ConstantTimeCompare([]byte(encoded), []byte("plain:"+password)) == 1, nil
	}
	if _, err := a.Authenticate(t.Context(), "alice", "alice-pw"); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if _, err := a.Authenticate(t.Context(), "alice", fmt.Sprint("guess", i)); tokenadmin.ErrorCode(err) != tokenadmin.CodeUnauthenticated {
			t.Fatal(err)
		}
		a.mu.Lock()
		n := len(a.failures)
		a.mu.Unlock()
		if n > a.MaxCacheEntries {
			t.Fatalf("after %d failures: %d remembered; want at most %d", i+1, n, a.MaxCacheEntries)
		}
	}
	before := verifications.Load()
	if _, err := a.Authenticate(t.Context(), "alice", "alice-pw"); err != nil {
		t.Fatal(err)
	}
	if verifications.Load() != before {
		t.Error("failures pushed the remembered success out of the cache")
	}
}

// gatedVerify is a verify that counts the verifications running at once
// and blocks each one until open is closed.
type gatedVerify struct {
	open          chan struct{}
	running, peak atomic.Int64
	total         atomic.Int64
}

func (g *gatedVerify) verify(encoded, password string) (bool, error) {
	g.total.Add(1)
	n := g.running.Add(1)
	defer g.running.Add(-1)
	for p := g.peak.Load(); n > p && !g.peak.CompareAndSwap(p, n); p = g.peak.Load() {
	}
	<-g.open
	return subtle.ConstantTimeCompare([]byte(encoded), []byte("plain:"+password)) == 1, nil
}

// Each argon2id verification allocates 19 MiB, so they must not run
// unbounded: 50 concurrent wrong passwords run MaxConcurrentVerifications
// at a time.
func TestVerificationsAreBounded(t *testing.T) {
	const limit, calls = 3, 50
	store := newFakeStore(tokenadmin.User{Name: "alice", Role: tokenadmin.RoleAdmin, PasswordHash: "plain:alice-pw"})
	a, _, _ := newTestAuthenticator(store)
	a.MaxConcurrentVerifications = limit
	a.UserThrottle = nil // this is about the slots, not about locking alice
	g := &gatedVerify{open: make(chan struct{})}
	a.verify = g.verify

	var wg sync.WaitGroup
	for i := range calls {
		wg.Go(func() {
			password, wantOK := fmt.Sprint("guess", i), false
			if i%10 == 0 {
				password, wantOK = "alice-pw", true // one verification; the rest may hit the cache
			}
			_, err := a.Authenticate(t.Context(), "alice", password)
			if wantOK && err != nil || !wantOK && tokenadmin.ErrorCode(err) != tokenadmin.CodeUnauthenticated {
				t.Errorf("%s: %v", password, err)
			}
		})
	}
	// Let the verifications pile up against the bound, then give any
	// excess time to show before letting them all finish.
	for deadline := time.Now().Add(10 * time.Second); g.running.Load() < limit && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	close(g.open)
	wg.Wait()
	if p := g.peak.Load(); p != limit {
		t.Errorf("%d verifications ran at once; want %d (MaxConcurrentVerifications)", p, limit)
	}
	if n := g.total.Load(); n < calls-calls/10+1 || n > calls {
		t.Errorf("%d verifications for %d calls", n, calls)
	}
}

// A request that cannot get a verification slot before its context ends
// fails with an internal error wrapping the context's, not as a wrong
// password, and costs no verification.
func TestVerificationWaitEndsWithContext(t *testing.T) {
	for _, tc := range []struct {
		name string
		ctx  func(parent context.Context) context.Context
		want error
	}{
		{name: "canceled before the call", want: context.Canceled, ctx: func(parent context.Context) context.Context {
			ctx, cancel := context.WithCancel(parent)
			cancel()
			return ctx
		}},
		{name: "deadline while waiting", want: context.DeadlineExceeded, ctx: func(parent context.Context) context.Context {
			ctx, cancel := context.WithTimeout(parent, 20*time.Millisecond)
			t.Cleanup(cancel)
			return ctx
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := newFakeStore(tokenadmin.User{Name: "alice", Role: tokenadmin.RoleAdmin, PasswordHash: "plain:alice-pw"})
			a, _, _ := newTestAuthenticator(store)
			a.MaxConcurrentVerifications = 1
			g := &gatedVerify{open: make(chan struct{})}
			a.verify = g.verify

			// The one slot is taken by a verification held at the gate.
			holder := make(chan error, 1)
			go func() {
				_, err := a.Authenticate(t.Context(), "alice", "alice-pw")
				holder <- err
			}()
			for g.running.Load() == 0 {
				time.Sleep(time.Millisecond)
			}

			waiter := make(chan error, 1)
			go func() {
				_, err := a.Authenticate(tc.ctx(t.Context()), "alice", "guess")
				waiter <- err
			}()
			var err error
			select {
			case err = <-waiter:
			case <-time.After(10 * time.Second):
				close(g.open)
				t.Fatal("Authenticate still running 10 s after its context ended: it did not wait for the slot")
			}
			if code := tokenadmin.ErrorCode(err); code != tokenadmin.CodeInternal || !errors.Is(err, tc.want) {
				t.Errorf("Authenticate while the slot is taken: %v (code %q); want an internal error wrapping %v", err, code, tc.want)
			}
			close(g.open)
			if err := <-holder; err != nil {
				t.Fatal(err)
			}
			if n := g.total.Load(); n != 1 {
				t.Errorf("%d verifications; want 1, the slot holder's", n)
			}
			// The slot is free again, and the abandoned wait left no failure behind.
			if _, err := a.Authenticate(t.Context(), "alice", "guess"); tokenadmin.ErrorCode(err) != tokenadmin.CodeUnauthenticated {
				t.Errorf("after the wait: %v; want unauthenticated", err)
			}
			if n := g.total.Load(); n != 2 {
				t.Errorf("%d verifications; want 2", n)
			}
		})
	}
}

// TestAuthenticateConcurrent runs under -race. It swaps in a cheap verify
// so that the cache, not argon2, is what gets exercised.
func TestAuthenticateConcurrent(t *testing.T) {
	store := newFakeStore(
		tokenadmin.User{Name: "alice", Role: tokenadmin.RoleAdmin, PasswordHash: "plain:alice-pw"},
		tokenadmin.User{Name: "bob", Role: tokenadmin.RoleUser, PasswordHash: "plain:bob-pw"},
	)
	a, clock, _ := newTestAuthenticator(store)
	a.MaxCacheEntries = 1 // two good keys: the cache is swept and cleared constantly
	a.UserThrottle = nil  // wrong passwords would lock alice; TestThrottleConcurrent covers locking
	a.verify = func(encoded, password string) (bool, error) {
		return subtle.ConstantTimeCompare([]byte(encoded), []byte("plain:"+password)) == 1, nil
	}
	ctx := t.Context()
	stop := make(chan struct{})
	var mutator sync.WaitGroup
	mutator.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			clock.Advance(a.EpochCheckInterval / 3)
			store.set(func(s *fakeStore) { s.epoch++ })
			a.Invalidate()
			time.Sleep(50 * time.Microsecond)
		}
	})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 2000 {
				user, password, wantOK := "alice", "alice-pw", true
				switch (g + i) % 5 {
				case 1:
					user, password = "bob", "bob-pw"
				case 2:
					password, wantOK = "bob-pw", false
				case 3:
					user, wantOK = "mallory", false
				}
				c, err := a.Authenticate(ctx, user, password)
				switch {
				case wantOK && (err != nil || c.Name != user):
					t.Errorf("%s: %+v, %v", user, c, err)
					return
				case !wantOK && tokenadmin.ErrorCode(err) != tokenadmin.CodeUnauthenticated:
					t.Errorf("%s with a wrong password: %+v, %v", user, c, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	mutator.Wait()
}

func benchmarkAuthenticator(b *testing.B) *Authenticator {
	store := newFakeStore(tokenadmin.User{Name: "alice", Role: tokenadmin.RoleAdmin, PasswordHash: hashOf(b, "alice-pw")})
	return NewAuthenticator(store)
}

func BenchmarkAuthenticateCached(b *testing.B) {
	a := benchmarkAuthenticator(b)
	ctx := b.Context()
	if _, err := a.Authenticate(ctx, "alice", "alice-pw"); err != nil {
		b.Fatal(err)
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := a.Authenticate(ctx, "alice", "alice-pw"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := a.Authenticate(ctx, "alice", "alice-pw"); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

func BenchmarkAuthenticateUncached(b *testing.B) {
	a := benchmarkAuthenticator(b)
	a.CacheTTL = 0
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Authenticate(ctx, "alice", "alice-pw"); err != nil {
			b.Fatal(err)
		}
	}
}
