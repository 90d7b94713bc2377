package soap

import (
	"container/heap"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"tokenadmin"
)

// WS-Security 1.0/1.1 UsernameToken authentication (OASIS Web Services
// Security: SOAP Message Security 1.1 and UsernameToken Profile 1.1).
//
// What is supported, and what is refused:
//   - one wsse:Security header block addressed to us (SOAP 1.1 actor absent
//     or next, SOAP 1.2 role absent, next or ultimateReceiver); blocks for
//     other actors are left alone, two for us are wsse:InvalidSecurity
//     (SOAP Message Security 1.1 §6.1);
//   - in it, at most one wsse:UsernameToken and at most one wsu:Timestamp
//     (§10: "MUST NOT contain more than one"); signatures, encryption and
//     other tokens are refused (wsse:UnsupportedAlgorithm,
//     wsse:UnsupportedSecurityToken) rather than ignored, since we could
//     not honour them;
//   - wsse:Password of Type #PasswordText (checked with the Authenticator,
//     the same path as HTTP Basic) or #PasswordDigest, Base64(SHA-1(nonce +
//     created + password)) (UsernameToken Profile 1.1 §3.1), checked against
//     the user's opt-in digest credential (DigestCredentials);
//   - a digest needs wsse:Nonce (EncodingType #Base64Binary) and wsu:Created;
//     with a text password they are optional, and checked when present;
//   - wsu:Created older than MaxAge is wsse:MessageExpired, later than now
//     plus MaxSkew wsse:FailedAuthentication; a wsu:Timestamp's Expires in
//     the past (less MaxSkew) is wsse:MessageExpired;
//   - a nonce is remembered per user for MaxAge+MaxSkew after its Created,
//     in a bounded NonceCache: a second use is wsse:FailedAuthentication.
//
// Faults carry the fault strings of SOAP Message Security 1.1 §12 and, at
// most, a fixed hint of ours; never a password, a digest or a nonce.

// Namespaces and URIs of OASIS WSS 1.0/1.1.
const (
	NSWSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
	NSWSU  = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
	// NSWSSE11 holds the WSS 1.1 additions (wsse11:Salt, wsse11:Iteration
	// of UsernameToken Profile 1.1 §4, key derivation we do not support).
	NSWSSE11 = "http://docs.oasis-open.org/wss/oasis-wss-wssecurity-secext-1.1.xsd"

	PasswordTextType   = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText"
	PasswordDigestType = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest"
	Base64BinaryType   = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"

	nsDSig = "http://www.w3.org/2000/09/xmldsig#"
	nsXEnc = "http://www.w3.org/2001/04/xmlenc#"
)

// SecurityHeaderName is the expanded name of the wsse:Security header block.
var SecurityHeaderName = xml.Name{Space: NSWSSE, Local: "Security"}

// SecurityFaultCode is the local part of a WS-Security fault code QName in
// the wsse namespace (SOAP Message Security 1.1 §12).
type SecurityFaultCode string

// The fault codes of SOAP Message Security 1.1 §12 (tables of "unsupported"
// and "failure" errors).
const (
	FaultUnsupportedSecurityToken SecurityFaultCode = "UnsupportedSecurityToken"
	FaultUnsupportedAlgorithm     SecurityFaultCode = "UnsupportedAlgorithm"
	FaultInvalidSecurity          SecurityFaultCode = "InvalidSecurity"
	FaultInvalidSecurityToken     SecurityFaultCode = "InvalidSecurityToken"
	FaultFailedAuthentication     SecurityFaultCode = "FailedAuthentication"
	FaultFailedCheck              SecurityFaultCode = "FailedCheck"
	FaultSecurityTokenUnavailable SecurityFaultCode = "SecurityTokenUnavailable"
	FaultMessageExpired           SecurityFaultCode = "MessageExpired"
)

// faultStrings are the fault strings §12 gives for each code.
var faultStrings = map[SecurityFaultCode]string{
	FaultUnsupportedSecurityToken: "An unsupported token was provided",
	FaultUnsupportedAlgorithm:     "An unsupported signature or encryption algorithm was used",
	FaultInvalidSecurity:          "An error was discovered processing the <wsse:Security> header",
	FaultInvalidSecurityToken:     "An invalid security token was provided",
	FaultFailedAuthentication:     "The security token could not be authenticated or authorized",
	FaultFailedCheck:              "The signature or decryption was invalid",
	FaultSecurityTokenUnavailable: "Referenced security token could not be retrieved",
	FaultMessageExpired:           "The message has expired",
}

// SecurityError is a WS-Security processing failure, answered with the
// fault code Code (SOAP 1.1: faultcode wsse:Code; SOAP 1.2: env:Sender with
// subcode wsse:Code). Its public message is §12's fault string followed by
// a fixed hint; it unwraps to a *tokenadmin.Error carrying that message,
// with CodeUnauthenticated for FailedAuthentication and MessageExpired and
// CodeInvalid otherwise, so that code unaware of WS-Security still reports
// it as a client error.
type SecurityError struct {
	Code SecurityFaultCode
	hint string // fixed text of ours, never request data
}

func securityErr(code SecurityFaultCode, hint string) *SecurityError {
	return &SecurityError{Code: code, hint: hint}
}

// Message is the public fault string.
func (e *SecurityError) Message() string {
	s := faultStrings[e.Code]
	if e.hint != "" {
		s += ": " + e.hint
	}
	return s
}

func (e *SecurityError) Error() string { return "wsse:" + string(e.Code) + ": " + e.Message() }

// Unwrap returns the error in the domain vocabulary.
func (e *SecurityError) Unwrap() error {
	code := tokenadmin.CodeInvalid
	if e.Code == FaultFailedAuthentication || e.Code == FaultMessageExpired {
		code = tokenadmin.CodeUnauthenticated
	}
	return &tokenadmin.Error{Code: code, Message: e.Message()}
}

// UsernameToken is a parsed wsse:UsernameToken.
type UsernameToken struct {
	Username string
	// Digest is true for Type #PasswordDigest; Password then holds the
	// decoded digest bytes (as a string), otherwise the plaintext.
	Digest   bool
	Password string
	// HasPassword is false for a token without wsse:Password.
	HasPassword bool
	Nonce       []byte    // decoded; nil when absent
	Created     time.Time // zero when absent
	// createdRaw is wsu:Created exactly as sent: the digest covers it.
	createdRaw string
}

// Security is what one request's wsse:Security header block holds.
type Security struct {
	Token *UsernameToken // nil when the block has no UsernameToken
	// TimestampCreated and TimestampExpires are wsu:Timestamp's; zero
	// when absent.
	TimestampCreated, TimestampExpires time.Time
}

// Limits of one UsernameToken.
const (
	maxUsernameBytes = 256
	maxNonceBytes    = 128  // decoded; the profile recommends 16
	maxPasswordBytes = 1024 // auth.MaxPasswordLen is smaller still
)

// ParseSecurity finds and parses the wsse:Security header block of header
// (the SOAP Header element, nil when absent) addressed to us in version v.
// It returns nil, nil when there is none. Errors are *SecurityError.
func ParseSecurity(v Version, header *Element) (*Security, error) {
	if header == nil {
		return nil, nil
	}
	var block *Element
	for _, h := range header.Children {
		if h.Name != SecurityHeaderName || !Targeted(v, h) {
			continue
		}
		if block != nil {
			return nil, securityErr(FaultInvalidSecurity, "more than one Security header block for this recipient")
		}
		block = h
	}
	if block == nil {
		return nil, nil
	}
	return parseSecurityBlock(block)
}

func parseSecurityBlock(block *Element) (*Security, error) {
	if !isXMLSpace(block.Text) {
		return nil, securityErr(FaultInvalidSecurity, "text in the Security header")
	}
	sec := &Security{}
	var sawTimestamp bool
	for _, c := range block.Children {
		switch {
		case c.Name.Space == NSWSSE && c.Name.Local == "UsernameToken":
			if sec.Token != nil {
				return nil, securityErr(FaultInvalidSecurity, "more than one UsernameToken")
			}
			t, err := parseUsernameToken(c)
			if err != nil {
				return nil, err
			}
			sec.Token = t
		case c.Name.Space == NSWSU && c.Name.Local == "Timestamp":
			if sawTimestamp {
				return nil, securityErr(FaultInvalidSecurity, "more than one Timestamp")
			}
			sawTimestamp = true
			if err := parseTimestamp(c, sec); err != nil {
				return nil, err
			}
		case c.Name.Space == nsDSig || c.Name.Space == nsXEnc:
			return nil, securityErr(FaultUnsupportedAlgorithm, "signatures and encryption are not supported")
		default:
			return nil, securityErr(FaultUnsupportedSecurityToken, "only UsernameToken is supported")
		}
	}
	return sec, nil
}

func parseUsernameToken(el *Element) (*UsernameToken, error) {
	t := &UsernameToken{}
	var sawUser, sawNonce, sawCreated bool
	for _, c := range el.Children {
		switch c.Name {
		case xml.Name{Space: NSWSSE, Local: "Username"}:
			if sawUser {
				return nil, securityErr(FaultInvalidSecurityToken, "more than one Username")
			}
			sawUser = true
			t.Username = strings.TrimSpace(c.Text)
			if len(c.Children) > 0 || t.Username == "" || len(t.Username) > maxUsernameBytes {
				return nil, securityErr(FaultInvalidSecurityToken, "bad Username")
			}
		case xml.Name{Space: NSWSSE, Local: "Password"}:
			if t.HasPassword {
				return nil, securityErr(FaultInvalidSecurityToken, "more than one Password")
			}
			t.HasPassword = true
			if len(c.Children) > 0 {
				return nil, securityErr(FaultInvalidSecurityToken, "bad Password")
			}
			typ, _ := c.AttrValue("", "Type")
			switch strings.TrimSpace(typ) {
			case "", PasswordTextType:
				if len(c.Text) > maxPasswordBytes {
					return nil, securityErr(FaultInvalidSecurityToken, "bad Password")
				}
				t.Password = c.Text
			case PasswordDigestType:
				d, err := base64.StdEncoding.DecodeString(strings.TrimSpace(c.Text))
				if err != nil || len(d) != sha1.Size {
					return nil, securityErr(FaultInvalidSecurityToken, "the password digest is not a Base64 SHA-1 value")
				}
				t.Digest, t.Password = true, string(d)
			default:
				return nil, securityErr(FaultUnsupportedSecurityToken, "unsupported password type")
			}
		case xml.Name{Space: NSWSSE, Local: "Nonce"}:
			if sawNonce {
				return nil, securityErr(FaultInvalidSecurityToken, "more than one Nonce")
			}
			sawNonce = true
			if enc, ok := c.AttrValue("", "EncodingType"); ok && strings.TrimSpace(enc) != Base64BinaryType {
				return nil, securityErr(FaultUnsupportedSecurityToken, "unsupported nonce encoding")
			}
			n, err := base64.StdEncoding.DecodeString(strings.TrimSpace(c.Text))
			if err != nil || len(c.Children) > 0 || len(n) == 0 || len(n) > maxNonceBytes {
				return nil, securityErr(FaultInvalidSecurityToken, "the nonce is not Base64 of 1 to 128 bytes")
			}
			t.Nonce = n
		case xml.Name{Space: NSWSU, Local: "Created"}:
			if sawCreated {
				return nil, securityErr(FaultInvalidSecurityToken, "more than one Created")
			}
			sawCreated = true
			ts, err := parseDateTime(c)
			if err != nil {
				return nil, securityErr(FaultInvalidSecurityToken, "Created is not an xs:dateTime with a time zone")
			}
			t.Created, t.createdRaw = ts, c.Text
		case xml.Name{Space: NSWSSE11, Local: "Salt"}, xml.Name{Space: NSWSSE11, Local: "Iteration"}:
			return nil, securityErr(FaultUnsupportedSecurityToken, "key derivation is not supported")
		default:
			if c.Name.Space == NSWSSE || c.Name.Space == NSWSU {
				return nil, securityErr(FaultInvalidSecurityToken, "unexpected element in UsernameToken")
			}
			// The schema allows elements of other namespaces (xsd:any
			// ##other); they carry nothing we act on.
		}
	}
	if !sawUser {
		return nil, securityErr(FaultInvalidSecurityToken, "no Username")
	}
	return t, nil
}

func parseTimestamp(el *Element, sec *Security) error {
	var sawCreated, sawExpires bool
	for _, c := range el.Children {
		var dst *time.Time
		switch c.Name {
		case xml.Name{Space: NSWSU, Local: "Created"}:
			if sawCreated {
				return securityErr(FaultInvalidSecurity, "more than one Created in Timestamp")
			}
			sawCreated, dst = true, &sec.TimestampCreated
		case xml.Name{Space: NSWSU, Local: "Expires"}:
			if sawExpires {
				return securityErr(FaultInvalidSecurity, "more than one Expires in Timestamp")
			}
			sawExpires, dst = true, &sec.TimestampExpires
		default:
			continue // xsd:any: extensions we do not act on
		}
		ts, err := parseDateTime(c)
		if err != nil {
			return securityErr(FaultInvalidSecurity, "Timestamp values must be xs:dateTime with a time zone")
		}
		*dst = ts
	}
	if sawCreated && sawExpires && sec.TimestampExpires.Before(sec.TimestampCreated) {
		return securityErr(FaultInvalidSecurity, "Timestamp expires before it was created")
	}
	return nil
}

// parseDateTime reads an xs:dateTime with a time zone (SOAP Message
// Security 1.1 §10 wants UTC; any offset is accepted).
func parseDateTime(el *Element) (time.Time, error) {
	if len(el.Children) > 0 {
		return time.Time{}, errors.New("element content")
	}
	return time.Parse(time.RFC3339Nano, strings.TrimSpace(el.Text))
}

// DigestCredentials is where PasswordDigest tokens are checked against:
// the opt-in per-user secret that a digest needs in plaintext.
type DigestCredentials interface {
	// DigestSecret returns the caller user names and their digest secret
	// (the password the client digests). An unknown user, and a user
	// without a digest credential, are an error with code
	// tokenadmin.CodeNotFound (both FailedAuthentication on the wire); for
	// a known user without one, the Caller is returned with that error
	// (its role decides whether the failed login is audited). Any other
	// error is internal. The caller clears the secret after use.
	DigestSecret(ctx context.Context, user string) (tokenadmin.Caller, []byte, error)
}

// LoginThrottle is implemented by an Authenticator that throttles
// guessing (per user name and per client address, from the context's
// tokenadmin.RequestInfo) and audits logins, as *auth.Authenticator does.
// Digest checks do not go through Authenticate, so WSSecurity asks it
// before checking a digest and tells it the outcome, and a digest login
// then counts exactly like a password login; PasswordText tokens go
// through Authenticate and are not counted twice.
type LoginThrottle interface {
	// LoginAllowed reports whether a login of user may be checked now.
	// When it is false (the user name or the client address is locked)
	// the login fails exactly like a wrong digest, and the digest is not
	// checked. It has no error: it only reads memory.
	LoginAllowed(ctx context.Context, user string) bool
	// LoginChecked records the outcome of a checked login of user: ok
	// for the right digest with a fresh nonce. c is the user's Caller,
	// with its role, when the user exists (for a failure too), zero
	// otherwise. It returns nothing to act on: failures to record it
	// are the implementation's to log. It must not block for long.
	LoginChecked(ctx context.Context, user string, c tokenadmin.Caller, ok bool)
}

// Defaults of WSSecurity.
const (
	DefaultSecurityMaxAge  = 5 * time.Minute
	DefaultSecurityMaxSkew = time.Minute
	DefaultMaxNonces       = 100000
)

// WSSecurity verifies wsse:Security header blocks. Set its fields before
// first use; it is then safe for concurrent use.
type WSSecurity struct {
	// Auth checks PasswordText tokens. If it is also a LoginThrottle,
	// digest logins are throttled and audited through it like password
	// logins. Required.
	Auth Authenticator
	// Digests checks PasswordDigest tokens; nil refuses every digest with
	// FailedAuthentication.
	Digests DigestCredentials
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// MaxAge is how old a token's wsu:Created may be;
	// DefaultSecurityMaxAge when zero.
	MaxAge time.Duration
	// MaxSkew is how far in the future a wsu:Created may be, and how long
	// after its Expires a Timestamp is still accepted;
	// DefaultSecurityMaxSkew when zero.
	MaxSkew time.Duration
	// Nonces remembers the nonces seen; a NonceCache of DefaultMaxNonces
	// when nil.
	Nonces *NonceCache

	once sync.Once
}

func (s *WSSecurity) init() {
	s.once.Do(func() {
		if s.Now == nil {
			s.Now = time.Now
		}
		if s.MaxAge <= 0 {
			s.MaxAge = DefaultSecurityMaxAge
		}
		if s.MaxSkew <= 0 {
			s.MaxSkew = DefaultSecurityMaxSkew
		}
		if s.Nonces == nil {
			s.Nonces = &NonceCache{}
		}
	})
}

// Authenticate verifies sec, which ParseSecurity returned, and returns the
// caller of its UsernameToken; ok is false when sec has no UsernameToken
// (the Timestamp, if any, is still checked). Errors: *SecurityError for
// what the client sent wrong; anything else is internal (store failures, a
// full nonce cache).
func (s *WSSecurity) Authenticate(ctx context.Context, sec *Security) (c tokenadmin.Caller, ok bool, err error) {
	s.init()
	if sec == nil {
		return c, false, nil
	}
	now := s.Now()
	if !sec.TimestampExpires.IsZero() && !now.Before(sec.TimestampExpires.Add(s.MaxSkew)) {
		return c, false, securityErr(FaultMessageExpired, "the Timestamp has expired")
	}
	if !sec.TimestampCreated.IsZero() && sec.TimestampCreated.After(now.Add(s.MaxSkew)) {
		return c, false, securityErr(FaultInvalidSecurity, "the Timestamp was created in the future")
	}
	t := sec.Token
	if t == nil {
		return c, false, nil
	}
	if !t.HasPassword {
		return c, false, securityErr(FaultFailedAuthentication, "")
	}
	if t.Digest && (t.Nonce == nil || t.Created.IsZero()) {
		return c, false, securityErr(FaultInvalidSecurityToken, "a password digest needs a Nonce and a Created")
	}
	if !t.Created.IsZero() {
		if now.Sub(t.Created) > s.MaxAge {
			return c, false, securityErr(FaultMessageExpired, "Created is too old")
		}
		if t.Created.After(now.Add(s.MaxSkew)) {
			return c, false, securityErr(FaultFailedAuthentication, "Created is in the future")
		}
	}
	var logins LoginThrottle // Authenticate counts PasswordText logins itself
	if t.Digest {
		logins, _ = s.Auth.(LoginThrottle)
		// A locked user name or address is refused before anything is
		// checked, with the wrong digest's fault.
		if logins != nil && !logins.LoginAllowed(ctx, t.Username) {
			return tokenadmin.Caller{}, false, securityErr(FaultFailedAuthentication, "")
		}
		var match bool
		c, match, err = s.checkDigest(ctx, t)
		if err == nil && !match {
			if logins != nil {
				logins.LoginChecked(ctx, t.Username, c, false)
			}
			return tokenadmin.Caller{}, false, securityErr(FaultFailedAuthentication, "")
		}
	} else {
		c, err = s.Auth.Authenticate(ctx, t.Username, t.Password)
		if tokenadmin.ErrorCode(err) == tokenadmin.CodeUnauthenticated {
			err = securityErr(FaultFailedAuthentication, "")
		}
	}
	if err != nil {
		return tokenadmin.Caller{}, false, err
	}
	if t.Nonce != nil {
		// Remembered only once the token verified, so that the cache
		// holds no entries of unauthenticated senders.
		created := t.Created
		if created.IsZero() {
			created = now
		}
		fresh, full := s.Nonces.add(t.Username, t.Nonce, created.Add(s.MaxAge+s.MaxSkew), now)
		if full {
			return tokenadmin.Caller{}, false, errors.New("soap: WS-Security nonce cache is full: refusing new nonces until old ones expire")
		}
		if !fresh {
			// A replayed digest is a failed login: counting it as a
			// success would let a recorded request reset the user's
			// failures between guesses.
			if logins != nil {
				logins.LoginChecked(ctx, t.Username, c, false)
			}
			return tokenadmin.Caller{}, false, securityErr(FaultFailedAuthentication, "the nonce was used before")
		}
	}
	if logins != nil {
		logins.LoginChecked(ctx, t.Username, c, true)
	}
	return c, true, nil
}

// checkDigest compares Base64(SHA-1(nonce + created + secret)) in constant
// time (UsernameToken Profile 1.1 §3.1). An unknown user and a user without
// a digest credential cost the same hash and compare as a wrong digest.
// match is false for any of these; c is then the user's Caller if the user
// exists (for the audit of a failed login), and must not be trusted.
// Errors are internal.
func (s *WSSecurity) checkDigest(ctx context.Context, t *UsernameToken) (c tokenadmin.Caller, match bool, err error) {
	var secret []byte
	if s.Digests != nil {
		c, secret, err = s.Digests.DigestSecret(ctx, t.Username)
		switch tokenadmin.ErrorCode(err) {
		case "", tokenadmin.CodeNotFound:
		default:
			return tokenadmin.Caller{}, false, fmt.Errorf("soap: digest credential of %q: %w", t.Username, err)
		}
	}
	known := err == nil && s.Digests != nil
	h := sha1.New()
	h.Write(t.Nonce)
	h.Write([]byte(t.createdRaw))
	h.Write(secret)
	sum := h.Sum(nil)
	clear(secret)
	match = subtle.ConstantTimeCompare(sum, []byte(t.Password)) == 1
	return c, known && match, nil
}

// PasswordDigest returns Base64(SHA-1(nonce + created + password)), the
// #PasswordDigest of UsernameToken Profile 1.1 §3.1, for clients and tests.
func PasswordDigest(nonce []byte, created, password string) string {
	h := sha1.New()
	h.Write(nonce)
	h.Write([]byte(created))
	h.Write([]byte(password))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// NonceCache remembers (user, nonce) pairs until they expire, to reject
// replayed UsernameTokens. Memory is bounded by Max entries of a fixed
// size (a SHA-256 of the pair and its expiry); when it is full of entries
// that have not expired, new nonces are refused rather than old ones
// forgotten, since forgetting a live nonce would let its token be
// replayed. The zero value is ready to use.
type NonceCache struct {
	// Max is the most entries kept; DefaultMaxNonces when zero.
	Max int

	mu   sync.Mutex
	seen map[[sha256.Size]byte]time.Time
	exp  expiryHeap
}

// add records (user, nonce) until expires, after dropping the entries
// expired at now. fresh is false if the pair is remembered already; full
// is true if there is no room for it.
func (n *NonceCache) add(user string, nonce []byte, expires, now time.Time) (fresh, full bool) {
	var buf []byte
	buf = binary.BigEndian.AppendUint64(buf, uint64(len(user)))
	buf = append(buf, user...)
	buf = append(buf, nonce...)
	key := sha256.Sum256(buf)

	n.mu.Lock()
	defer n.mu.Unlock()
	if n.seen == nil {
		n.seen = make(map[[sha256.Size]byte]time.Time)
	}
	for len(n.exp) > 0 && !now.Before(n.exp[0].at) {
		e := heap.Pop(&n.exp).(expiry)
		if at, ok := n.seen[e.key]; ok && at.Equal(e.at) {
			delete(n.seen, e.key)
		}
	}
	if at, ok := n.seen[key]; ok && now.Before(at) {
		return false, false
	}
	max := n.Max
	if max <= 0 {
		max = DefaultMaxNonces
	}
	if len(n.seen) >= max {
		return false, true
	}
	n.seen[key] = expires
	heap.Push(&n.exp, expiry{key: key, at: expires})
	return true, false
}

// Len returns the number of nonces remembered.
func (n *NonceCache) Len() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.seen)
}

type expiry struct {
	key [sha256.Size]byte
	at  time.Time
}

// expiryHeap is a min-heap of expiries (container/heap).
type expiryHeap []expiry

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h expiryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiryHeap) Push(x any)        { *h = append(*h, x.(expiry)) }
func (h *expiryHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}
