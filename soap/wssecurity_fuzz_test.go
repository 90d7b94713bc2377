package soap

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"tokenadmin"
)

// digestsFor is a fixed digest credential for the fuzz target, which
// cannot afford a database (or argon2id) per input.
type digestsFor map[string]string

func (d digestsFor) DigestSecret(_ context.Context, user string) (tokenadmin.Caller, []byte, error) {
	s, ok := d[user]
	if !ok {
		return tokenadmin.Caller{}, nil, tokenadmin.Errorf(tokenadmin.CodeNotFound, "no digest credential")
	}
	return tokenadmin.Caller{Name: user, Role: tokenadmin.RoleUser}, []byte(s), nil
}

// FuzzWSSecurityHeader feeds whole envelopes through the parser, the
// envelope check, ParseSecurity and the verifier. It must never panic, every
// refusal must be a *SecurityError (or, from the parser, InvalidRequest),
// and no fault may echo the password or nonce it was sent. Seeds are the
// cases of TestWSSecurityAuthenticate.
func FuzzWSSecurityHeader(f *testing.F) {
	now := testNow
	created := stamp(now.Add(-time.Minute))
	digestType := PasswordDigestType
	for _, h := range []string{
		securityBlock("", ut{user: aliceUser, password: alicePassword}.xml()),
		securityBlock(` soap:mustUnderstand="1"`, ut{user: aliceUser, password: alicePassword, digest: true, nonce: nonceA, created: created}.xml()),
		securityBlock("", ut{user: aliceUser, password: "guess", digest: true, nonce: nonceA, created: created}.xml()),
		securityBlock("", ut{user: aliceUser, password: alicePassword, digest: true, created: created}.xml()),
		securityBlock("", ut{user: aliceUser, password: alicePassword, typ: &digestType, rawDigest: "AAAA", nonce: "%%%", created: created}.xml()),
		securityBlock("", ut{user: aliceUser, password: alicePassword, digest: true, nonce: nonceA, created: "2025-03-14T15:08:26"}.xml()),
		securityBlock("", ut{user: aliceUser, password: alicePassword}.xml()) + securityBlock("", ut{user: adminUser, password: adminPassword}.xml()),
		securityBlock("", ut{user: aliceUser, password: alicePassword}.xml()+ut{user: adminUser, password: adminPassword}.xml()),
		securityBlock("", `<wsu:Timestamp><wsu:Created>`+created+`</wsu:Created><wsu:Expires>`+stamp(now.Add(time.Minute))+`</wsu:Expires></wsu:Timestamp>`),
		securityBlock("", `<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"/>`),
		securityBlock("", `<wsse:UsernameToken xmlns:wsse11="`+NSWSSE11+`"><wsse:Username>a</wsse:Username><wsse11:Salt>AAAA</wsse11:Salt></wsse:UsernameToken>`),
		securityBlock(` soap:actor="urn:other"`, ""),
	} {
		f.Add([]byte(soapEnvelope(SOAP11, h, getTokenBody)))
		f.Add([]byte(soapEnvelope(SOAP12, strings.ReplaceAll(h, "soap:", "env:"), getTokenBody)))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		root, err := parse(doc, Limits{})
		if err != nil {
			return
		}
		v, err := envelopeVersion(root)
		if err != nil {
			return
		}
		env, err := readEnvelope(root, v)
		if err != nil {
			return
		}
		s := &WSSecurity{Auth: fakeAuth{}, Digests: digestsFor{aliceUser: alicePassword}, Now: func() time.Time { return now }}
		sec, err := ParseSecurity(v, env.header)
		if err == nil {
			var ok bool
			var c tokenadmin.Caller
			c, ok, err = s.Authenticate(t.Context(), sec)
			if ok && c.Name == "" {
				t.Fatal("authenticated without a caller")
			}
		}
		if err == nil {
			return
		}
		var se *SecurityError
		if !errors.As(err, &se) {
			// Only fakeAuth's "broken" user fails internally.
			if sec == nil || sec.Token == nil || sec.Token.Username != "broken" {
				t.Fatalf("not a SecurityError: %v", err)
			}
			return
		}
		msg := se.Message()
		if sec != nil && sec.Token != nil {
			if p := sec.Token.Password; len(p) >= 4 && strings.Contains(msg, p) {
				t.Fatalf("fault %q echoes the password", msg)
			}
		}
		wf := faultFor(err)
		if wf.wsse != se.Code || wf.class != classClient {
			t.Fatalf("fault %+v for %v", wf, err)
		}
	})
}
