package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"

	"tokenadmin"
)

// MaxPasswordLen bounds a password, in bytes. Longer passwords are refused
// when hashing and never verify.
const MaxPasswordLen = 1024

// Parameters of new hashes: the OWASP Password Storage Cheat Sheet's first
// argon2id configuration (m=19 MiB, t=2, p=1), a 16-byte salt (RFC 9106
// §3.1) and a 32-byte tag.
const (
	argonMemory  = 19 * 1024 // KiB
	argonTime    = 2
	argonThreads = 1
	saltLen      = 16
	keyLen       = 32
)

// Bounds on the parameters VerifyPassword accepts. A stored hash decides how
// much memory and CPU a verification costs, so a hostile or corrupt one must
// not make us allocate gigabytes: 64 MiB and t=10 are above every
// recommended configuration (RFC 9106 §4, OWASP) and still finish in well
// under a second.
const (
	maxMemory  = 64 * 1024 // KiB
	maxTime    = 10
	maxThreads = 16
	minSaltLen = 8
	maxSaltLen = 64
	minKeyLen  = 16
	maxKeyLen  = 64
	maxEncoded = 256 // longest accepted PHC string, in bytes
)

// ErrInvalidHash reports a password hash that is malformed or uses an
// algorithm, version or parameters VerifyPassword does not accept.
var ErrInvalidHash = errors.New("auth: invalid password hash")

// b64 is the PHC string format's base64: standard alphabet, no padding.
// Strict rejects non-zero trailing bits, so each value has one encoding.
var b64 = base64.RawStdEncoding.Strict()

// Hasher hashes passwords with argon2id.
type Hasher struct {
	// Rand supplies salts; nil means crypto/rand.Reader.
	Rand io.Reader
}

// HashPassword hashes password with argon2id and a random salt from
// crypto/rand. See Hasher.Hash.
func HashPassword(password string) (string, error) {
	return Hasher{}.Hash(password)
}

// Hash hashes password with argon2id (m=19456 KiB, t=2, p=1) and a fresh
// 16-byte salt, and returns it in the PHC string format:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>
//
// An empty password, or one longer than MaxPasswordLen bytes, is
// CodeInvalid.
func (h Hasher) Hash(password string) (string, error) {
	switch {
	case password == "":
		return "", tokenadmin.Errorf(tokenadmin.CodeInvalid, "password must not be empty")
	case len(password) > MaxPasswordLen:
		return "", tokenadmin.Errorf(tokenadmin.CodeInvalid, "password must be at most %d bytes", MaxPasswordLen)
	}
	r := h.Rand
	if r == nil {
		r = rand.Reader
	}
	p := phc{memory: argonMemory, time: argonTime, threads: argonThreads, salt: make([]byte, saltLen)}
	if _, err := io.ReadFull(r, p.salt); err != nil {
		return "", fmt.Errorf("auth: read salt: %w", err)
	}
	p.key = argon2.IDKey([]byte(password), p.salt, p.time, p.memory, p.threads, keyLen)
	return p.String(), nil
}

// VerifyPassword reports whether password matches encoded, a PHC string
// written by Hash. A hash that cannot be parsed, or whose parameters are
// unsupported or out of bounds, is an error wrapping ErrInvalidHash; it is
// rejected before any hashing. Passwords that Hash would refuse never match.
func VerifyPassword(encoded, password string) (bool, error) {
	p, err := parsePHC(encoded)
	if err != nil {
		return false, err
	}
	if password == "" || len(password) > MaxPasswordLen {
		return false, nil
	}
	key := argon2.IDKey([]byte(password), p.salt, p.time, p.memory, p.threads, uint32(len(p.key)))
	return subtle.ConstantTimeCompare(key, p.key) == 1, nil
}

// phc is a parsed argon2id PHC string.
type phc struct {
	memory    uint32 // KiB
	time      uint32
	threads   uint8
	salt, key []byte
}

func (p *phc) String() string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.memory, p.time, p.threads, b64.EncodeToString(p.salt), b64.EncodeToString(p.key))
}

// parsePHC parses an argon2id PHC string strictly: the fields in the order
// Hash writes them, canonical decimals and base64, and every parameter
// within bounds, so that each accepted hash has exactly one encoding and a
// bounded cost. Errors do not echo the input.
func parsePHC(s string) (*phc, error) {
	if len(s) > maxEncoded {
		return nil, fmt.Errorf("%w: too long", ErrInvalidHash)
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' { // base64 decoding would skip CR and LF
			return nil, fmt.Errorf("%w: unexpected byte", ErrInvalidHash)
		}
	}
	f := strings.Split(s, "$")
	if len(f) != 6 || f[0] != "" {
		return nil, fmt.Errorf("%w: not a PHC string", ErrInvalidHash)
	}
	if f[1] != "argon2id" {
		return nil, fmt.Errorf("%w: unsupported algorithm", ErrInvalidHash)
	}
	if f[2] != "v="+strconv.Itoa(argon2.Version) {
		return nil, fmt.Errorf("%w: unsupported version", ErrInvalidHash)
	}
	var p phc
	params := strings.Split(f[3], ",")
	if len(params) != 3 {
		return nil, fmt.Errorf("%w: want parameters m, t and p", ErrInvalidHash)
	}
	th, err := param(params[2], "p", 1, maxThreads)
	if err != nil {
		return nil, err
	}
	m, err := param(params[0], "m", 8*th, maxMemory) // RFC 9106 §3.1: m >= 8*p
	if err != nil {
		return nil, err
	}
	t, err := param(params[1], "t", 1, maxTime)
	if err != nil {
		return nil, err
	}
	p.memory, p.time, p.threads = m, t, uint8(th)

	if p.salt, err = b64.DecodeString(f[4]); err != nil || len(p.salt) < minSaltLen || len(p.salt) > maxSaltLen {
		return nil, fmt.Errorf("%w: bad salt", ErrInvalidHash)
	}
	if p.key, err = b64.DecodeString(f[5]); err != nil || len(p.key) < minKeyLen || len(p.key) > maxKeyLen {
		return nil, fmt.Errorf("%w: bad hash", ErrInvalidHash)
	}
	return &p, nil
}

// param parses name=value where value is a canonical decimal (no sign, no
// leading zero) in [lo, hi].
func param(s, name string, lo, hi uint32) (uint32, error) {
	v, ok := strings.CutPrefix(s, name+"=")
	if !ok {
		return 0, fmt.Errorf("%w: want parameters m, t and p", ErrInvalidHash)
	}
	if v == "" || (v[0] == '0' && len(v) > 1) {
		return 0, fmt.Errorf("%w: %s is not a canonical decimal", ErrInvalidHash, name)
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return 0, fmt.Errorf("%w: %s is not a canonical decimal", ErrInvalidHash, name)
		}
	}
	n, err := strconv.ParseUint(v, 10, 32) // fails on overflow
	if err != nil || n < uint64(lo) || n > uint64(hi) {
		return 0, fmt.Errorf("%w: %s out of range", ErrInvalidHash, name)
	}
	return uint32(n), nil
}
