package soap

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"
	"time"

	"tokenadmin"
)

func sampleToken() *tokenadmin.Token {
	return &tokenadmin.Token{
		ID:        "tok-1",
		Type:      tokenadmin.AccessToken,
		ClientID:  "client-a",
		AppName:   "App <A> & Co",
		User:      "alice",
		Scopes:    []string{"openid", "profile"},
		GrantType: "authorization_code",
		// Not UTC, with nanoseconds: the wire has UTC seconds.
		IssuedAt:  time.Date(2025, 3, 14, 16, 0, 0, 123456789, time.FixedZone("CET", 3600)),
		ExpiresAt: time.Date(2025, 3, 14, 16, 0, 0, 0, time.UTC),
	}
}

func revokedToken() *tokenadmin.Token {
	t := sampleToken()
	t.ID = "tok-2"
	t.Type = tokenadmin.RefreshToken
	t.Scopes = nil
	t.RevokedAt = time.Date(2025, 3, 14, 15, 0, 0, 0, time.UTC)
	t.RevokedBy = "admin"
	t.RevokeReason = "lost laptop"
	return t
}

func TestOperations(t *testing.T) {
	expired := sampleToken()
	expired.ExpiresAt = testNow.Add(-time.Second)
	nilAttr := ` xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:nil="true"`
	tests := []struct {
		name   string
		v      Version
		user   string // admin when empty
		pass   string
		body   string
		svc    *fakeService
		golden string // compare the response with testdata/<golden>.golden

		fault  string          // expected fault code (1.1 faultcode / 1.2 Value); "" for success
		code   tokenadmin.Code // expected detail code
		msg    string          // text the fault message must contain
		check  func(t *testing.T, svc *fakeService)
		result []string // text the response must contain
	}{
		// listActiveTokens
		{name: "listActiveTokens SOAP 1.1", v: SOAP11, golden: "listActiveTokens11",
			body: `<t:listActiveTokens/>`,
			svc:  &fakeService{page: &tokenadmin.TokenPage{Tokens: []*tokenadmin.Token{sampleToken(), revokedToken()}, NextPageToken: "next&1"}},
			check: func(t *testing.T, svc *fakeService) {
				if svc.filter != (tokenadmin.TokenFilter{}) {
					t.Errorf("filter = %+v, want zero", svc.filter)
				}
				if svc.caller.Name != adminUser {
					t.Errorf("caller = %+v", svc.caller)
				}
			}},
		{name: "listActiveTokens SOAP 1.2", v: SOAP12, golden: "listActiveTokens12",
			body: `<t:listActiveTokens/>`,
			svc:  &fakeService{page: &tokenadmin.TokenPage{Tokens: []*tokenadmin.Token{sampleToken()}}}},
		{name: "listActiveTokens empty page", v: SOAP11,
			body:   `<t:listActiveTokens></t:listActiveTokens>`,
			svc:    &fakeService{},
			result: []string{`<soap:Body><tns:listActiveTokensResponse></tns:listActiveTokensResponse></soap:Body>`}},
		{name: "listActiveTokens every field, any order, strings verbatim", v: SOAP12,
			body: `<t:listActiveTokens><t:pageToken> p1 </t:pageToken><t:pageSize>
				50 </t:pageSize><t:tokenType> refresh </t:tokenType><t:clientId>c&amp;1</t:clientId><t:user> alice </t:user></t:listActiveTokens>`,
			svc: &fakeService{},
			check: func(t *testing.T, svc *fakeService) {
				want := tokenadmin.TokenFilter{User: " alice ", ClientID: "c&1", Type: tokenadmin.RefreshToken, PageSize: 50, PageToken: " p1 "}
				if svc.filter != want {
					t.Errorf("filter = %+v, want %+v", svc.filter, want)
				}
			}},
		{name: "listActiveTokens default namespace", v: SOAP11,
			body: `<listActiveTokens xmlns="urn:tokenadmin:v1"><user>bob</user><pageSize>+7</pageSize></listActiveTokens>`,
			svc:  &fakeService{},
			check: func(t *testing.T, svc *fakeService) {
				if svc.filter.User != "bob" || svc.filter.PageSize != 7 {
					t.Errorf("filter = %+v", svc.filter)
				}
			}},
		{name: "listActiveTokens xsi:nil fields are absent", v: SOAP11,
			body: `<t:listActiveTokens><t:user` + nilAttr + `/><t:clientId` + nilAttr + `></t:clientId>` +
				`<t:tokenType` + nilAttr + `/><t:pageSize xmlns:i="http://www.w3.org/2001/XMLSchema-instance" i:nil=" 1 "/><t:pageToken` + nilAttr + `/></t:listActiveTokens>`,
			svc: &fakeService{},
			check: func(t *testing.T, svc *fakeService) {
				if svc.filter != (tokenadmin.TokenFilter{}) {
					t.Errorf("filter = %+v, want zero", svc.filter)
				}
			}},
		{name: "xsi:nil=false is a value", v: SOAP11,
			body: `<t:listActiveTokens><t:user xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:nil="false">bob</t:user></t:listActiveTokens>`,
			svc:  &fakeService{},
			check: func(t *testing.T, svc *fakeService) {
				if svc.filter.User != "bob" {
					t.Errorf("user = %q", svc.filter.User)
				}
			}},
		{name: "nil field with content", v: SOAP11,
			body: `<t:listActiveTokens><t:user` + nilAttr + `>bob</t:user></t:listActiveTokens>`,
			svc:  &fakeService{}, fault: "soap:Client", code: tokenadmin.CodeInvalid, msg: "user"},
		{name: "pageSize not an integer", v: SOAP11,
			body: `<t:listActiveTokens><t:pageSize>ten</t:pageSize></t:listActiveTokens>`,
			svc:  &fakeService{}, fault: "soap:Client", code: tokenadmin.CodeInvalid, msg: "pageSize"},
		{name: "pageSize decimal", v: SOAP12,
			body: `<t:listActiveTokens><t:pageSize>1.5</t:pageSize></t:listActiveTokens>`,
			svc:  &fakeService{}, fault: "env:Sender", code: tokenadmin.CodeInvalid, msg: "pageSize"},
		{name: "pageSize zero", v: SOAP11,
			body: `<t:listActiveTokens><t:pageSize>0</t:pageSize></t:listActiveTokens>`,
			svc:  &fakeService{}, fault: "soap:Client", code: tokenadmin.CodeInvalid, msg: "between 1 and 1000"},
		{name: "pageSize over 1000", v: SOAP11,
			body: `<t:listActiveTokens><t:pageSize>1001</t:pageSize></t:listActiveTokens>`,
			svc:  &fakeService{}, fault: "soap:Client", code: tokenadmin.CodeInvalid, msg: "pageSize"},
		{name: "pageSize overflowing", v: SOAP11,
			body: `<t:listActiveTokens><t:pageSize>99999999999999999999999</t:pageSize></t:listActiveTokens>`,
			svc:  &fakeService{}, fault: "soap:Client", code: tokenadmin.CodeInvalid, msg: "pageSize"},
		{name: "empty pageSize", v: SOAP11,
			body: `<t:listActiveTokens><t:pageSize/></t:listActiveTokens>`,
			svc:  &fakeService{}, fault: "soap:Client", code: tokenadmin.CodeInvalid, msg: "pageSize"},
		{name: "bad tokenType", v: SOAP11,
			body: `<t:listActiveTokens><t:tokenType>id</t:tokenType></t:listActiveTokens>`,
			svc:  &fakeService{}, fault: "soap:Client", code: tokenadmin.CodeInvalid, msg: "tokenType"},
		{name: "unknown child", v: SOAP11,
			body: `<t:listActiveTokens><t:owner>bob</t:owner></t:listActiveTokens>`,
			svc:  &fakeService{}, fault: "soap:Client", code: tokenadmin.CodeInvalid, msg: `unexpected element "owner"`},
		{name: "child in another namespace", v: SOAP12,
			body: `<t:listActiveTokens><x:user xmlns:x="urn:other">bob</x:user></t:listActiveTokens>`,
			svc:  &fakeService{}, fault: "env:Sender", code: tokenadmin.CodeInvalid, msg: `"user"`},
		{name: "unqualified child", v: SOAP11,
			body: `<t:listActiveTokens><user>bob</user></t:listActiveTokens>`,
			svc:  &fakeService{}, fault: "soap:Client", code: tokenadmin.CodeInvalid, msg: `"user"`},
		{name: "repeated child", v: SOAP11,
			body: `<t:listActiveTokens><t:user>bob</t:user><t:user>eve</t:user></t:listActiveTokens>`,
			svc:  &fakeService{}, fault: "soap:Client", code: tokenadmin.CodeInvalid, msg: "more than once"},
		{name: "text in the wrapper", v: SOAP11,
			body: `<t:listActiveTokens>bob</t:listActiveTokens>`,
			svc:  &fakeService{}, fault: "soap:Client", code: tokenadmin.CodeInvalid, msg: "text"},
		{name: "element inside a string field", v: SOAP11,
			body: `<t:listActiveTokens><t:user><t:name>bob</t:name></t:user></t:listActiveTokens>`,
			svc:  &fakeService{}, fault: "soap:Client", code: tokenadmin.CodeInvalid, msg: "user"},
		{name: "invalid page token from the service", v: SOAP12,
			body:  `<t:listActiveTokens><t:pageToken>forged</t:pageToken></t:listActiveTokens>`,
			svc:   &fakeService{err: tokenadmin.Errorf(tokenadmin.CodeInvalidPageToken, "invalid page token")},
			fault: "env:Sender", code: tokenadmin.CodeInvalidPageToken, msg: "invalid page token"},
		{name: "forbidden from the service", v: SOAP11, user: aliceUser, pass: alicePassword,
			body:  `<t:listActiveTokens><t:user>bob</t:user></t:listActiveTokens>`,
			svc:   &fakeService{err: tokenadmin.Errorf(tokenadmin.CodeForbidden, "users may act only on their own tokens")},
			fault: "soap:Client", code: tokenadmin.CodeForbidden, msg: "own tokens",
			check: func(t *testing.T, svc *fakeService) {
				if svc.caller != (tokenadmin.Caller{Name: aliceUser, Role: tokenadmin.RoleUser}) {
					t.Errorf("caller = %+v", svc.caller)
				}
			}},

		// revokeToken
		{name: "revokeToken not revoked: false and 0 are on the wire", v: SOAP11, golden: "revokeToken11",
			body: `<t:revokeToken><t:tokenId>tok-1</t:tokenId><t:reason> why &lt;not&gt; </t:reason></t:revokeToken>`,
			svc:  &fakeService{result: &tokenadmin.RevokeResult{Revoked: false, TokenID: "tok-1", Count: 0}},
			check: func(t *testing.T, svc *fakeService) {
				want := tokenadmin.RevokeRequest{TokenID: "tok-1", Reason: " why <not> "}
				if svc.revoke != want {
					t.Errorf("request = %+v, want %+v", svc.revoke, want)
				}
			}},
		{name: "revokeToken SOAP 1.2 by value with refresh_token hint", v: SOAP12,
			body: `<t:revokeToken><t:token>secret-value</t:token><t:tokenTypeHint> refresh_token </t:tokenTypeHint></t:revokeToken>`,
			svc:  &fakeService{result: &tokenadmin.RevokeResult{Revoked: true, TokenID: "tok-9", Count: 3}},
			result: []string{`<env:Body><tns:revokeTokenResponse><tns:revoked>true</tns:revoked><tns:tokenId>tok-9</tns:tokenId>` +
				`<tns:revokedCount>3</tns:revokedCount></tns:revokeTokenResponse></env:Body>`},
			check: func(t *testing.T, svc *fakeService) {
				want := tokenadmin.RevokeRequest{Value: "secret-value", TypeHint: tokenadmin.RefreshToken}
				if svc.revoke != want {
					t.Errorf("request = %+v, want %+v", svc.revoke, want)
				}
			}},
		{name: "revokeToken access_token hint, nil tokenId", v: SOAP11,
			body: `<t:revokeToken><t:tokenId` + nilAttr + `/><t:token>v</t:token><t:tokenTypeHint>access_token</t:tokenTypeHint><t:reason` + nilAttr + `/></t:revokeToken>`,
			svc:  &fakeService{},
			check: func(t *testing.T, svc *fakeService) {
				want := tokenadmin.RevokeRequest{Value: "v", TypeHint: tokenadmin.AccessToken}
				if svc.revoke != want {
					t.Errorf("request = %+v, want %+v", svc.revoke, want)
				}
			}},
		{name: "revokeToken bad hint", v: SOAP11,
			body: `<t:revokeToken><t:tokenId>x</t:tokenId><t:tokenTypeHint>access</t:tokenTypeHint></t:revokeToken>`,
			svc:  &fakeService{}, fault: "soap:Client", code: tokenadmin.CodeInvalid, msg: "tokenTypeHint"},
		{name: "revokeToken with tokenId and token", v: SOAP12,
			body: `<t:revokeToken><t:tokenId>x</t:tokenId><t:token>y</t:token></t:revokeToken>`,
			svc:  &fakeService{}, fault: "env:Sender", code: tokenadmin.CodeInvalid, msg: "exactly one of tokenId and token"},
		{name: "revokeToken with neither", v: SOAP11,
			body: `<t:revokeToken><t:reason>r</t:reason></t:revokeToken>`,
			svc:  &fakeService{}, fault: "soap:Client", code: tokenadmin.CodeInvalid, msg: "exactly one of tokenId and token"},
		{name: "revokeToken unknown token", v: SOAP11,
			body:  `<t:revokeToken><t:tokenId>nope</t:tokenId></t:revokeToken>`,
			svc:   &fakeService{err: tokenadmin.Errorf(tokenadmin.CodeTokenNotFound, "token not found")},
			fault: "soap:Client", code: tokenadmin.CodeTokenNotFound, msg: "token not found", golden: "fault11"},

		// revokeTokens
		{name: "revokeTokens nothing revoked: 0 is on the wire", v: SOAP12, golden: "revokeTokens12",
			body: `<t:revokeTokens><t:user>alice</t:user><t:clientId>client-a</t:clientId><t:reason>offboarding</t:reason></t:revokeTokens>`,
			svc:  &fakeService{count: 0},
			check: func(t *testing.T, svc *fakeService) {
				want := tokenadmin.BulkRevoke{User: "alice", ClientID: "client-a", Reason: "offboarding"}
				if svc.bulk != want {
					t.Errorf("request = %+v, want %+v", svc.bulk, want)
				}
			}},
		{name: "revokeTokens SOAP 1.1", v: SOAP11,
			body:   `<t:revokeTokens><t:clientId>client-a</t:clientId><t:user` + nilAttr + `/></t:revokeTokens>`,
			svc:    &fakeService{count: 12},
			result: []string{`<tns:revokeTokensResponse><tns:revokedCount>12</tns:revokedCount></tns:revokeTokensResponse>`},
			check: func(t *testing.T, svc *fakeService) {
				if want := (tokenadmin.BulkRevoke{ClientID: "client-a"}); svc.bulk != want {
					t.Errorf("request = %+v, want %+v", svc.bulk, want)
				}
			}},
		{name: "revokeTokens invalid from the service", v: SOAP11,
			body:  `<t:revokeTokens/>`,
			svc:   &fakeService{err: tokenadmin.Errorf(tokenadmin.CodeInvalid, "at least one of user and clientId is required")},
			fault: "soap:Client", code: tokenadmin.CodeInvalid, msg: "at least one"},

		// listAuthorizedApps
		{name: "listAuthorizedApps SOAP 1.1", v: SOAP11, golden: "listAuthorizedApps11",
			body: `<t:listAuthorizedApps><t:user>alice</t:user></t:listAuthorizedApps>`,
			svc: &fakeService{apps: []*tokenadmin.AuthorizedApp{
				{ClientID: "client-a", AppName: "App A", ActiveTokens: 2, LastIssuedAt: time.Date(2025, 3, 1, 8, 30, 0, 0, time.UTC)},
				{ClientID: "client-b", AppName: "", ActiveTokens: 0, LastIssuedAt: time.Date(2025, 2, 1, 0, 0, 0, 999, time.UTC)},
			}},
			check: func(t *testing.T, svc *fakeService) {
				if svc.user != "alice" {
					t.Errorf("user = %q", svc.user)
				}
			}},
		{name: "listAuthorizedApps SOAP 1.2 none", v: SOAP12,
			body:   `<t:listAuthorizedApps/>`,
			svc:    &fakeService{},
			result: []string{`<env:Body><tns:listAuthorizedAppsResponse></tns:listAuthorizedAppsResponse></env:Body>`}},

		// getToken
		{name: "getToken revoked SOAP 1.2", v: SOAP12, golden: "getToken12",
			body: `<t:getToken><t:tokenId>tok-2</t:tokenId></t:getToken>`,
			svc:  &fakeService{token: revokedToken()},
			check: func(t *testing.T, svc *fakeService) {
				if svc.id != "tok-2" {
					t.Errorf("id = %q", svc.id)
				}
			}},
		{name: "getToken active SOAP 1.1", v: SOAP11,
			body:   `<t:getToken><t:tokenId>tok-1</t:tokenId></t:getToken>`,
			svc:    &fakeService{token: sampleToken()},
			result: []string{`</tns:token><tns:state>active</tns:state></tns:getTokenResponse>`}},
		{name: "getToken expired at the injected clock", v: SOAP11,
			body:   `<t:getToken><t:tokenId>tok-1</t:tokenId></t:getToken>`,
			svc:    &fakeService{token: expired},
			result: []string{`<tns:state>expired</tns:state>`}},
		{name: "getToken without tokenId", v: SOAP11,
			body: `<t:getToken/>`,
			svc:  &fakeService{}, fault: "soap:Client", code: tokenadmin.CodeInvalid, msg: "tokenId is required"},
		{name: "getToken nil tokenId", v: SOAP11,
			body: `<t:getToken><t:tokenId` + nilAttr + `/></t:getToken>`,
			svc:  &fakeService{}, fault: "soap:Client", code: tokenadmin.CodeInvalid, msg: "tokenId is required"},
		{name: "getToken unknown SOAP 1.2", v: SOAP12, golden: "fault12",
			body: `<t:getToken><t:tokenId>nope</t:tokenId></t:getToken>`,
			svc:  &fakeService{}, fault: "env:Sender", code: tokenadmin.CodeTokenNotFound, msg: "token not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHandler(tt.svc, nil)
			res := serve(t, h, call{version: tt.v, user: tt.user, pass: tt.pass, body: soapEnvelope(tt.v, "", tt.body)})
			vc := tt.v.vocab()
			if tt.fault == "" {
				if res.status != 200 || res.faultCode != "" {
					t.Fatalf("status = %d, want 200\n%s", res.status, res.body)
				}
				if res.contentType != vc.contentType {
					t.Errorf("Content-Type = %q, want %q", res.contentType, vc.contentType)
				}
				validate(t, res)
			} else {
				status := 500
				if tt.v == SOAP12 {
					status = 400
				}
				checkFault(t, res, status, vc.contentType, tt.fault, tt.code)
				if !strings.Contains(res.faultString, tt.msg) || res.detailMessage != res.faultString {
					t.Errorf("fault message = %q / %q, want it to contain %q", res.faultString, res.detailMessage, tt.msg)
				}
			}
			for _, s := range tt.result {
				if !bytes.Contains(res.body, []byte(s)) {
					t.Errorf("response does not contain %s\n%s", s, res.body)
				}
			}
			if tt.golden != "" {
				golden(t, tt.golden, res.body)
			}
			if tt.check != nil {
				tt.check(t, tt.svc)
			}
		})
	}
}

// TestResponseEscaping feeds hostile data through a response and reads it
// back.
func TestResponseEscaping(t *testing.T) {
	tok := sampleToken()
	tok.ID = `a<b>&"c'` + "\r\n\t"
	tok.User = "ctl\x00\x01\x1f-bad\xff-\uFFFE-ok é 😀"
	tok.Scopes = []string{"]]>", "<![CDATA[x]]>"}
	svc := &fakeService{token: tok}
	res := serve(t, newHandler(svc, nil), call{body: soapEnvelope(SOAP11, "", getTokenBody)})
	if res.status != 200 {
		t.Fatalf("status %d\n%s", res.status, res.body)
	}
	validate(t, res)
	var got struct {
		ID     string   `xml:"Body>getTokenResponse>token>tokenId"`
		User   string   `xml:"Body>getTokenResponse>token>user"`
		Scopes []string `xml:"Body>getTokenResponse>token>scope"`
	}
	if err := xml.Unmarshal(res.body, &got); err != nil {
		t.Fatal(err)
	}
	if got.ID != tok.ID {
		t.Errorf("tokenId = %q, want %q", got.ID, tok.ID)
	}
	if want := "ctl\uFFFD\uFFFD\uFFFD-bad\uFFFD-\uFFFD-ok é 😀"; got.User != want {
		t.Errorf("user = %q, want %q", got.User, want)
	}
	if len(got.Scopes) != 2 || got.Scopes[0] != "]]>" || got.Scopes[1] != "<![CDATA[x]]>" {
		t.Errorf("scopes = %q", got.Scopes)
	}
}
