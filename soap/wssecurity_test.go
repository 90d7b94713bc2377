package soap

import (
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tokenadmin"
	"tokenadmin/auth"
	"tokenadmin/store"
)

// The WS-Security tests run the verifier over a real SQLite store (the
// digest credentials) and the real auth.Authenticator (text passwords).

const (
	wssAlice, wssAlicePassword = "alice", "alice-pw" // has a digest credential
	wssBob, wssBobPassword     = "bob", "bob-pw"     // has none
)

// wssStore opens a store in a temporary directory with alice (digest
// credential) and bob (none).
func wssStore(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "wss.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, u := range []struct {
		name, password string
		digest         bool
	}{{wssAlice, wssAlicePassword, true}, {wssBob, wssBobPassword, false}} {
		hash, err := auth.HashPassword(u.password)
		if err != nil {
			t.Fatal(err)
		}
		user := tokenadmin.User{Name: u.name, Role: tokenadmin.RoleUser, PasswordHash: hash}
		if u.digest {
			err = db.CreateUserWithDigest(t.Context(), user, []byte(u.password))
		} else {
			err = db.CreateUser(t.Context(), user)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return db
}

// ut describes a UsernameToken to send.
type ut struct {
	user, password string
	digest         bool
	typ            *string // Password/@Type as sent; derived from digest when nil
	nonce          string  // Base64 as sent; "" for none
	created        string  // as sent; "" for none
	rawDigest      string  // sent instead of the computed digest when set
}

func (u ut) xml() string {
	var b strings.Builder
	b.WriteString(`<wsse:UsernameToken><wsse:Username>` + u.user + `</wsse:Username>`)
	typ := PasswordTextType
	pw := u.password
	if u.digest {
		typ = PasswordDigestType
		n, _ := base64.StdEncoding.DecodeString(u.nonce)
		pw = PasswordDigest(n, u.created, u.password)
	}
	if u.rawDigest != "" {
		pw = u.rawDigest
	}
	if u.typ != nil {
		typ = *u.typ
	}
	b.WriteString(`<wsse:Password Type="` + typ + `">` + pw + `</wsse:Password>`)
	if u.nonce != "" {
		b.WriteString(`<wsse:Nonce EncodingType="` + Base64BinaryType + `">` + u.nonce + `</wsse:Nonce>`)
	}
	if u.created != "" {
		b.WriteString(`<wsu:Created>` + u.created + `</wsu:Created>`)
	}
	b.WriteString(`</wsse:UsernameToken>`)
	return b.String()
}

// securityBlock wraps content in a wsse:Security header block.
func securityBlock(attrs, content string) string {
	return `<wsse:Security xmlns:wsse="` + NSWSSE + `" xmlns:wsu="` + NSWSU + `"` + attrs + `>` + content + `</wsse:Security>`
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

var (
	nonceA = base64.StdEncoding.EncodeToString([]byte("0123456789abcdef"))
	nonceB = base64.StdEncoding.EncodeToString([]byte("fedcba9876543210"))
)

func newWSSecurity(db *store.DB, now time.Time) *WSSecurity {
	a := auth.NewAuthenticator(db)
	return &WSSecurity{Auth: a, Digests: db, Now: func() time.Time { return now }}
}

// verifyHeader parses header (the content of a SOAP 1.1 Header) and
// authenticates it.
func verifyHeader(t *testing.T, s *WSSecurity, header string) (tokenadmin.Caller, bool, error) {
	t.Helper()
	doc := soapEnvelope(SOAP11, header, getTokenBody)
	root, err := parse([]byte(doc), Limits{})
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	env, err := readEnvelope(root, SOAP11)
	if err != nil {
		t.Fatalf("envelope: %v", err)
	}
	sec, err := ParseSecurity(SOAP11, env.header)
	if err != nil {
		return tokenadmin.Caller{}, false, err
	}
	return s.Authenticate(t.Context(), sec)
}

func faultCodeOf(err error) SecurityFaultCode {
	var se *SecurityError
	if errors.As(err, &se) {
		return se.Code
	}
	return ""
}

func TestWSSecurityAuthenticate(t *testing.T) {
	db := wssStore(t)
	now := testNow
	created := stamp(now.Add(-time.Minute))
	digestType, fooType := PasswordDigestType, "urn:example:plaintext-please"
	tests := []struct {
		name    string
		header  string
		want    string // caller name, when it succeeds
		wantErr SecurityFaultCode
	}{
		{name: "text password authenticates",
			header: securityBlock("", ut{user: wssBob, password: wssBobPassword}.xml()), want: wssBob},
		{name: "text password without Type authenticates",
			header: securityBlock("", `<wsse:UsernameToken><wsse:Username>bob</wsse:Username><wsse:Password>bob-pw</wsse:Password></wsse:UsernameToken>`), want: wssBob},
		{name: "text password with nonce and created authenticates",
			header: securityBlock("", ut{user: wssBob, password: wssBobPassword, nonce: nonceA, created: created}.xml()), want: wssBob},
		{name: "wrong text password is FailedAuthentication",
			header:  securityBlock("", ut{user: wssBob, password: "guess"}.xml()),
			wantErr: FaultFailedAuthentication},
		{name: "unknown user with text password is FailedAuthentication",
			header:  securityBlock("", ut{user: "mallory", password: "x"}.xml()),
			wantErr: FaultFailedAuthentication},
		{name: "digest authenticates",
			header: securityBlock("", ut{user: wssAlice, password: wssAlicePassword, digest: true, nonce: nonceA, created: created}.xml()), want: wssAlice},
		{name: "digest with a fractional, offset Created authenticates",
			header: securityBlock("", ut{user: wssAlice, password: wssAlicePassword, digest: true, nonce: nonceB,
				created: now.Add(-time.Minute).In(time.FixedZone("x", 3600)).Format("2006-01-02T15:04:05.000-07:00")}.xml()), want: wssAlice},
		{name: "digest of a wrong password is FailedAuthentication",
			header:  securityBlock("", ut{user: wssAlice, password: "guess", digest: true, nonce: nonceA, created: created}.xml()),
			wantErr: FaultFailedAuthentication},
		{name: "digest of an unknown user is FailedAuthentication",
			header:  securityBlock("", ut{user: "mallory", password: "x", digest: true, nonce: nonceA, created: created}.xml()),
			wantErr: FaultFailedAuthentication},
		{name: "digest of a user without digest credential is FailedAuthentication",
			header:  securityBlock("", ut{user: wssBob, password: wssBobPassword, digest: true, nonce: nonceA, created: created}.xml()),
			wantErr: FaultFailedAuthentication},
		{name: "digest without nonce is InvalidSecurityToken",
			header:  securityBlock("", ut{user: wssAlice, password: wssAlicePassword, digest: true, created: created}.xml()),
			wantErr: FaultInvalidSecurityToken},
		{name: "digest without created is InvalidSecurityToken",
			header:  securityBlock("", ut{user: wssAlice, password: wssAlicePassword, digest: true, nonce: nonceA}.xml()),
			wantErr: FaultInvalidSecurityToken},
		{name: "created six minutes ago is MessageExpired",
			header:  securityBlock("", ut{user: wssAlice, password: wssAlicePassword, digest: true, nonce: nonceA, created: stamp(now.Add(-6 * time.Minute))}.xml()),
			wantErr: FaultMessageExpired},
		{name: "created two minutes ahead is FailedAuthentication",
			header:  securityBlock("", ut{user: wssAlice, password: wssAlicePassword, digest: true, nonce: nonceA, created: stamp(now.Add(2 * time.Minute))}.xml()),
			wantErr: FaultFailedAuthentication},
		{name: "created 30s ahead is within the skew",
			header: securityBlock("", ut{user: wssBob, password: wssBobPassword, nonce: nonceB, created: stamp(now.Add(30 * time.Second))}.xml()), want: wssBob},
		{name: "created without time zone is InvalidSecurityToken",
			header:  securityBlock("", ut{user: wssAlice, password: wssAlicePassword, digest: true, nonce: nonceA, created: "2025-03-14T15:08:26"}.xml()),
			wantErr: FaultInvalidSecurityToken},
		{name: "malformed base64 nonce is InvalidSecurityToken",
			header:  securityBlock("", ut{user: wssAlice, password: wssAlicePassword, typ: &digestType, rawDigest: "AAAAAAAAAAAAAAAAAAAAAAAAAAA=", nonce: "%%%not base64", created: created}.xml()),
			wantErr: FaultInvalidSecurityToken},
		{name: "malformed base64 digest is InvalidSecurityToken",
			header:  securityBlock("", ut{user: wssAlice, password: wssAlicePassword, digest: true, rawDigest: "not*base64", nonce: nonceA, created: created}.xml()),
			wantErr: FaultInvalidSecurityToken},
		{name: "digest of the wrong length is InvalidSecurityToken",
			header:  securityBlock("", ut{user: wssAlice, password: wssAlicePassword, digest: true, rawDigest: "AAAA", nonce: nonceA, created: created}.xml()),
			wantErr: FaultInvalidSecurityToken},
		{name: "unsupported password type is UnsupportedSecurityToken",
			header:  securityBlock("", ut{user: wssBob, password: wssBobPassword, typ: &fooType}.xml()),
			wantErr: FaultUnsupportedSecurityToken},
		{name: "hex nonce is UnsupportedSecurityToken",
			header:  securityBlock("", `<wsse:UsernameToken><wsse:Username>bob</wsse:Username><wsse:Password>bob-pw</wsse:Password><wsse:Nonce EncodingType="urn:hex">00</wsse:Nonce></wsse:UsernameToken>`),
			wantErr: FaultUnsupportedSecurityToken},
		{name: "two Security headers are InvalidSecurity",
			header: securityBlock("", ut{user: wssBob, password: wssBobPassword}.xml()) +
				securityBlock("", ut{user: wssBob, password: wssBobPassword}.xml()),
			wantErr: FaultInvalidSecurity},
		{name: "a second Security header for another actor is ignored",
			header: securityBlock("", ut{user: wssBob, password: wssBobPassword}.xml()) +
				securityBlock(` soap:actor="urn:someone-else"`, ut{user: "mallory", password: "x"}.xml()),
			want: wssBob},
		{name: "two UsernameTokens are InvalidSecurity",
			header:  securityBlock("", ut{user: wssBob, password: wssBobPassword}.xml()+ut{user: wssAlice, password: wssAlicePassword}.xml()),
			wantErr: FaultInvalidSecurity},
		{name: "no Username is InvalidSecurityToken",
			header:  securityBlock("", `<wsse:UsernameToken><wsse:Password>x</wsse:Password></wsse:UsernameToken>`),
			wantErr: FaultInvalidSecurityToken},
		{name: "two Usernames are InvalidSecurityToken",
			header:  securityBlock("", `<wsse:UsernameToken><wsse:Username>bob</wsse:Username><wsse:Username>alice</wsse:Username><wsse:Password>bob-pw</wsse:Password></wsse:UsernameToken>`),
			wantErr: FaultInvalidSecurityToken},
		{name: "no Password is FailedAuthentication",
			header:  securityBlock("", `<wsse:UsernameToken><wsse:Username>bob</wsse:Username></wsse:UsernameToken>`),
			wantErr: FaultFailedAuthentication},
		{name: "key derivation is UnsupportedSecurityToken",
			header:  securityBlock("", `<wsse:UsernameToken xmlns:wsse11="`+NSWSSE11+`"><wsse:Username>bob</wsse:Username><wsse11:Salt>AAAA</wsse11:Salt></wsse:UsernameToken>`),
			wantErr: FaultUnsupportedSecurityToken},
		{name: "a signature is UnsupportedAlgorithm",
			header:  securityBlock("", `<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"/>`),
			wantErr: FaultUnsupportedAlgorithm},
		{name: "a binary token is UnsupportedSecurityToken",
			header:  securityBlock("", `<wsse:BinarySecurityToken>AAAA</wsse:BinarySecurityToken>`),
			wantErr: FaultUnsupportedSecurityToken},
		{name: "an expired Timestamp is MessageExpired",
			header: securityBlock("", `<wsu:Timestamp><wsu:Created>`+stamp(now.Add(-10*time.Minute))+`</wsu:Created><wsu:Expires>`+stamp(now.Add(-5*time.Minute))+`</wsu:Expires></wsu:Timestamp>`+
				ut{user: wssBob, password: wssBobPassword}.xml()),
			wantErr: FaultMessageExpired},
		{name: "a live Timestamp passes",
			header: securityBlock("", `<wsu:Timestamp><wsu:Created>`+stamp(now)+`</wsu:Created><wsu:Expires>`+stamp(now.Add(5*time.Minute))+`</wsu:Expires></wsu:Timestamp>`+
				ut{user: wssBob, password: wssBobPassword}.xml()),
			want: wssBob},
		{name: "two Timestamps are InvalidSecurity",
			header:  securityBlock("", `<wsu:Timestamp/><wsu:Timestamp/>`),
			wantErr: FaultInvalidSecurity},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newWSSecurity(db, now) // a fresh nonce cache per case
			c, ok, err := verifyHeader(t, s, tt.header)
			if tt.wantErr != "" {
				if got := faultCodeOf(err); got != tt.wantErr {
					t.Fatalf("error = %v (fault %q), want fault %q", err, got, tt.wantErr)
				}
				for _, secret := range []string{wssAlicePassword, wssBobPassword, nonceA, "guess"} {
					if strings.Contains(err.Error(), secret) {
						t.Errorf("error %q echoes %q", err, secret)
					}
				}
				return
			}
			if err != nil || !ok || c.Name != tt.want {
				t.Fatalf("got %+v, %v, %v; want caller %s", c, ok, err, tt.want)
			}
		})
	}
}

func TestWSSecurityReplay(t *testing.T) {
	db := wssStore(t)
	now := testNow
	s := newWSSecurity(db, now)
	h := securityBlock("", ut{user: wssAlice, password: wssAlicePassword, digest: true, nonce: nonceA, created: stamp(now)}.xml())
	if _, ok, err := verifyHeader(t, s, h); err != nil || !ok {
		t.Fatalf("first use: %v, %v", ok, err)
	}
	if _, _, err := verifyHeader(t, s, h); faultCodeOf(err) != FaultFailedAuthentication {
		t.Fatalf("replay: %v, want FailedAuthentication", err)
	}
	// The same nonce of another user is another pair.
	hb := securityBlock("", ut{user: wssBob, password: wssBobPassword, nonce: nonceA, created: stamp(now)}.xml())
	if _, ok, err := verifyHeader(t, s, hb); err != nil || !ok {
		t.Fatalf("same nonce, other user: %v, %v", ok, err)
	}
	// A failed attempt does not burn the nonce.
	bad := securityBlock("", ut{user: wssAlice, password: "guess", digest: true, nonce: nonceB, created: stamp(now)}.xml())
	if _, _, err := verifyHeader(t, s, bad); faultCodeOf(err) != FaultFailedAuthentication {
		t.Fatalf("wrong password: %v", err)
	}
	good := securityBlock("", ut{user: wssAlice, password: wssAlicePassword, digest: true, nonce: nonceB, created: stamp(now)}.xml())
	if _, ok, err := verifyHeader(t, s, good); err != nil || !ok {
		t.Fatalf("after a failure with the same nonce: %v, %v", ok, err)
	}
	// Once the window has passed the replay is stale rather than remembered.
	late := &WSSecurity{Auth: s.Auth, Digests: db, Nonces: s.Nonces, Now: func() time.Time { return now.Add(7 * time.Minute) }}
	if _, _, err := verifyHeader(t, late, h); faultCodeOf(err) != FaultMessageExpired {
		t.Fatalf("replay after the window: %v, want MessageExpired", err)
	}
}

func TestNonceCache(t *testing.T) {
	now := testNow
	n := &NonceCache{Max: 2}
	add := func(nonce string, exp time.Time, at time.Time) (bool, bool) {
		return n.add("u", []byte(nonce), exp, at)
	}
	if fresh, full := add("a", now.Add(time.Minute), now); !fresh || full {
		t.Fatalf("a: fresh=%v full=%v", fresh, full)
	}
	if fresh, full := add("a", now.Add(time.Minute), now); fresh || full {
		t.Fatalf("a again: fresh=%v full=%v, want a replay", fresh, full)
	}
	if fresh, full := add("b", now.Add(2*time.Minute), now); !fresh || full {
		t.Fatalf("b: fresh=%v full=%v", fresh, full)
	}
	// Full of live nonces: a new one is refused, the old ones kept.
	if fresh, full := add("c", now.Add(time.Minute), now); fresh || !full {
		t.Fatalf("c when full: fresh=%v full=%v, want full", fresh, full)
	}
	if fresh, _ := add("b", now.Add(2*time.Minute), now); fresh {
		t.Fatal("b was forgotten while live")
	}
	// Once a has expired there is room again.
	later := now.Add(time.Minute)
	if fresh, full := add("c", later.Add(time.Minute), later); !fresh || full {
		t.Fatalf("c after a expired: fresh=%v full=%v", fresh, full)
	}
	if n.Len() != 2 {
		t.Fatalf("Len = %d, want 2", n.Len())
	}
}

func TestWSSecurityNonceCacheFullIsInternal(t *testing.T) {
	db := wssStore(t)
	s := newWSSecurity(db, testNow)
	s.Nonces = &NonceCache{Max: 1}
	first := securityBlock("", ut{user: wssBob, password: wssBobPassword, nonce: nonceA, created: stamp(testNow)}.xml())
	if _, ok, err := verifyHeader(t, s, first); err != nil || !ok {
		t.Fatal(ok, err)
	}
	second := securityBlock("", ut{user: wssBob, password: wssBobPassword, nonce: nonceB, created: stamp(testNow)}.xml())
	_, _, err := verifyHeader(t, s, second)
	if err == nil || faultCodeOf(err) != "" || tokenadmin.ErrorCode(err) != tokenadmin.CodeInternal {
		t.Fatalf("err = %v, want an internal error", err)
	}
}

var _ LoginThrottle = (*auth.Authenticator)(nil)

// Digest logins count towards the Authenticator's throttle exactly like
// password logins: wrong digests lock the user, the right digest is then
// refused with the wrong digest's fault, a replay counts as a failure, a
// success resets the count, and an admin's digest logins are audited.
func TestWSSecurityDigestLoginsThrottled(t *testing.T) {
	db := wssStore(t)
	hash, err := auth.HashPassword("root-pw")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CreateUserWithDigest(t.Context(), tokenadmin.User{Name: "root", Role: tokenadmin.RoleAdmin, PasswordHash: hash}, []byte("root-pw")); err != nil {
		t.Fatal(err)
	}
	now := testNow
	s := newWSSecurity(db, now)
	authn := s.Auth.(*auth.Authenticator)
	authn.Now = func() time.Time { return now }
	authn.Audit = db
	authn.Logger = slog.New(slog.DiscardHandler)
	nonce := 0
	digest := func(user, password string) string {
		nonce++
		n := base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "nonce-%08d", nonce))
		return securityBlock("", ut{user: user, password: password, digest: true, nonce: n, created: stamp(now)}.xml())
	}
	refused := func(what, header string) string {
		t.Helper()
		c, ok, err := verifyHeader(t, s, header)
		if faultCodeOf(err) != FaultFailedAuthentication || ok || c != (tokenadmin.Caller{}) {
			t.Fatalf("%s: %+v, %v, %v; want wsse:FailedAuthentication", what, c, ok, err)
		}
		return err.Error()
	}
	accepted := func(what, header, user string) {
		t.Helper()
		if c, ok, err := verifyHeader(t, s, header); err != nil || !ok || c.Name != user {
			t.Fatalf("%s: %+v, %v, %v", what, c, ok, err)
		}
	}

	// A replay is a failure, and so is every wrong digest: with the
	// right one in between (which resets), 1 + threshold-1 failures
	// lock nobody, and the threshold-th does.
	right := digest(wssAlice, wssAlicePassword)
	accepted("right digest", right, wssAlice)
	refused("replay", right)
	for i := range auth.DefaultUserThreshold - 2 {
		refused(fmt.Sprint("wrong digest ", i), digest(wssAlice, "guess"))
	}
	accepted("right digest before the lock", digest(wssAlice, wssAlicePassword), wssAlice)
	for i := range auth.DefaultUserThreshold - 1 {
		refused(fmt.Sprint("wrong digest after the reset ", i), digest(wssAlice, "guess"))
	}
	if !authn.LoginAllowed(t.Context(), wssAlice) {
		t.Fatal("alice locked after threshold-1 failures since her last success")
	}
	wrong := refused("wrong digest", digest(wssAlice, "guess"))
	if authn.LoginAllowed(t.Context(), wssAlice) {
		t.Fatal("alice not locked after threshold failures")
	}
	if locked := refused("right digest while locked", digest(wssAlice, wssAlicePassword)); locked != wrong {
		t.Errorf("right digest while locked: %q; want the wrong digest's %q", locked, wrong)
	}
	if _, err := authn.Authenticate(t.Context(), wssAlice, wssAlicePassword); tokenadmin.ErrorCode(err) != tokenadmin.CodeUnauthenticated {
		t.Fatalf("alice's password while digests locked her: %v", err)
	}
	accepted("bob's text password", securityBlock("", ut{user: wssBob, password: wssBobPassword}.xml()), wssBob)
	now = now.Add(auth.DefaultLockBase)
	accepted("right digest after the lock", digest(wssAlice, wssAlicePassword), wssAlice)

	// An admin's digest logins are audited, denied and successful.
	refused("admin's wrong digest", digest("root", "guess"))
	accepted("admin's digest", digest("root", "root-pw"), "root")
	page, err := db.ListAuditEvents(t.Context(), tokenadmin.AuditFilter{Action: tokenadmin.AuditLogin, PageSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range page.Events {
		got = append(got, fmt.Sprintf("%s %s %s %s", e.Target, e.Actor, e.Role, e.Outcome))
	}
	if want := []string{"root   denied", "root root admin success"}; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("login records %q, want %q", got, want)
	}
}

// wssFault pulls the WS-Security parts of a fault out (local names).
type wssFault struct {
	Code11  string `xml:"Body>Fault>faultcode"`
	Value12 string `xml:"Body>Fault>Code>Value"`
	Sub12   string `xml:"Body>Fault>Code>Subcode>Value"`
}

func TestWSSecurityOverHTTP(t *testing.T) {
	db := wssStore(t)
	now := testNow
	newH := func() *TokenAdminHandler {
		h := newHandler(&fakeService{token: &tokenadmin.Token{ID: "t1", ClientID: "c", User: wssAlice, Type: tokenadmin.AccessToken,
			IssuedAt: now, ExpiresAt: now.Add(time.Hour)}}, nil)
		h.WSSecurity = newWSSecurity(db, now)
		return h
	}
	digest := func(nonce string) string {
		return securityBlock(` soap:mustUnderstand="1"`, ut{user: wssAlice, password: wssAlicePassword, digest: true, nonce: nonce, created: stamp(now)}.xml())
	}
	digest12 := strings.Replace(digest(nonceB), "soap:mustUnderstand", "env:mustUnderstand", 1)
	wrong := securityBlock("", ut{user: wssAlice, password: "guess"}.xml())
	tests := []struct {
		name      string
		call      call
		status    int
		fault     string // faultcode (1.1) or Code/Value (1.2); "" for success
		subcode   string // SOAP 1.2 Subcode/Value
		detail    tokenadmin.Code
		challenge bool
	}{
		{name: "SOAP 1.1 digest with mustUnderstand succeeds", status: 200,
			call: call{anonymous: true, body: soapEnvelope(SOAP11, digest(nonceA), getTokenBody)}},
		{name: "SOAP 1.2 digest with mustUnderstand succeeds", status: 200,
			call: call{version: SOAP12, anonymous: true, body: soapEnvelope(SOAP12, digest12, getTokenBody)}},
		{name: "SOAP 1.1 wrong password is wsse:FailedAuthentication", status: 500,
			call:  call{anonymous: true, body: soapEnvelope(SOAP11, wrong, getTokenBody)},
			fault: "wsse:FailedAuthentication", detail: tokenadmin.CodeUnauthenticated},
		{name: "SOAP 1.2 wrong password is env:Sender with subcode wsse:FailedAuthentication", status: 400,
			call:  call{version: SOAP12, anonymous: true, body: soapEnvelope(SOAP12, wrong, getTokenBody)},
			fault: "env:Sender", subcode: "wsse:FailedAuthentication", detail: tokenadmin.CodeUnauthenticated},
		{name: "SOAP 1.2 two tokens is wsse:InvalidSecurity", status: 400,
			call: call{version: SOAP12, anonymous: true, body: soapEnvelope(SOAP12,
				securityBlock("", ut{user: wssBob, password: wssBobPassword}.xml()+ut{user: wssBob, password: wssBobPassword}.xml()), getTokenBody)},
			fault: "env:Sender", subcode: "wsse:InvalidSecurity", detail: tokenadmin.CodeInvalid},
		{name: "Basic and a token of another user is wsse:InvalidSecurity", status: 500,
			call:  call{user: adminUser, pass: adminPassword, body: soapEnvelope(SOAP11, securityBlock("", ut{user: wssBob, password: wssBobPassword}.xml()), getTokenBody)},
			fault: "wsse:InvalidSecurity", detail: tokenadmin.CodeInvalid},
		{name: "Basic and a wrong token of the same user is wsse:FailedAuthentication", status: 500,
			call:  call{user: aliceUser, pass: alicePassword, body: soapEnvelope(SOAP11, wrong, getTokenBody)},
			fault: "wsse:FailedAuthentication", detail: tokenadmin.CodeUnauthenticated},
		{name: "Basic alone still works", status: 200,
			call: call{user: aliceUser, pass: alicePassword, body: soapEnvelope(SOAP11, "", getTokenBody)}},
		{name: "neither is still 401 with a challenge", status: 401,
			call:  call{anonymous: true, body: soapEnvelope(SOAP11, "", getTokenBody)},
			fault: "soap:Client", detail: tokenadmin.CodeUnauthenticated, challenge: true},
		{name: "a Security header without a token is 401", status: 401,
			call:  call{anonymous: true, body: soapEnvelope(SOAP11, securityBlock(` soap:mustUnderstand="1"`, ""), getTokenBody)},
			fault: "soap:Client", detail: tokenadmin.CodeUnauthenticated, challenge: true},
		{name: "a wrong Basic password is 401 without looking at the body", status: 401,
			call:  call{user: aliceUser, pass: "guess", body: soapEnvelope(SOAP11, digest(nonceA), getTokenBody)},
			fault: "soap:Client", detail: tokenadmin.CodeUnauthenticated, challenge: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := serve(t, newH(), tt.call)
			if res.status != tt.status {
				t.Fatalf("status = %d, want %d\n%s", res.status, tt.status, res.body)
			}
			if got := res.header.Get("WWW-Authenticate") != ""; got != tt.challenge {
				t.Errorf("challenge = %v, want %v", got, tt.challenge)
			}
			if tt.fault == "" {
				if res.faultCode != "" {
					t.Fatalf("fault %s: %s", res.faultCode, res.body)
				}
				validate(t, res)
				return
			}
			var f wssFault
			if err := xml.Unmarshal(res.body, &f); err != nil {
				t.Fatal(err)
			}
			if got := f.Code11 + f.Value12; got != tt.fault {
				t.Errorf("fault code = %q, want %q\n%s", got, tt.fault, res.body)
			}
			if f.Sub12 != tt.subcode {
				t.Errorf("subcode = %q, want %q\n%s", f.Sub12, tt.subcode, res.body)
			}
			if strings.HasPrefix(tt.fault, "wsse:") || tt.subcode != "" {
				// The wsse prefix must be bound where the QName is.
				if !strings.Contains(string(res.body), `xmlns:wsse="`+NSWSSE+`">wsse:`) {
					t.Errorf("wsse prefix not declared on the code element:\n%s", res.body)
				}
			}
			if res.detailCode != string(tt.detail) {
				t.Errorf("detail code = %q, want %q", res.detailCode, tt.detail)
			}
			for _, secret := range []string{wssAlicePassword, "guess", nonceA} {
				if strings.Contains(res.faultString, secret) {
					t.Errorf("fault echoes %q: %s", secret, res.faultString)
				}
			}
			validate(t, res)
		})
	}
}

// TestWSSecurityFaultGoldens pins the bytes of the two fault forms.
func TestWSSecurityFaultGoldens(t *testing.T) {
	db := wssStore(t)
	for _, v := range []Version{SOAP11, SOAP12} {
		h := newHandler(&fakeService{}, nil)
		h.WSSecurity = newWSSecurity(db, testNow)
		res := serve(t, h, call{version: v, anonymous: true,
			body: soapEnvelope(v, securityBlock("", ut{user: wssAlice, password: wssAlicePassword, digest: true, nonce: nonceA, created: stamp(testNow.Add(-time.Hour))}.xml()), getTokenBody)})
		golden(t, "fault-wsse-messageExpired"+map[Version]string{SOAP11: "11", SOAP12: "12"}[v], res.body)
	}
}

// TestSecurityHeaderNotUnderstoodWithoutWSSecurity: a server without
// WSSecurity keeps answering MustUnderstand for a mandatory Security block.
func TestSecurityHeaderNotUnderstoodWithoutWSSecurity(t *testing.T) {
	h := newHandler(&fakeService{}, nil)
	res := serve(t, h, call{body: soapEnvelope(SOAP11, securityBlock(` soap:mustUnderstand="1"`, ""), getTokenBody)})
	if res.faultCode != "soap:MustUnderstand" || res.status != http.StatusInternalServerError {
		t.Fatalf("got %d %s", res.status, res.faultCode)
	}
}
