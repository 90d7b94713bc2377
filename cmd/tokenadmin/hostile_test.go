package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"tokenadmin"
)

// The catalogue of hostile requests: each is sent to the real server and
// must get exactly the fault (or status) listed, and afterwards the server
// must still answer an ordinary request correctly.

const (
	soap11Type = "text/xml; charset=utf-8"
	soap12Type = "application/soap+xml; charset=utf-8"
)

func env11(body string) string {
	return `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:t="urn:tokenadmin:v1"><s:Body>` + body + `</s:Body></s:Envelope>`
}

func env12(body string) string {
	return `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:t="urn:tokenadmin:v1"><s:Body>` + body + `</s:Body></s:Envelope>`
}

// repeatReader yields pattern over and over, n bytes in all, without
// holding them in memory.
type repeatReader struct {
	pattern []byte
	n, off  int64
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.EOF
	}
	var k int
	for k < len(p) && int64(k) < r.n {
		p[k] = r.pattern[r.off%int64(len(r.pattern))]
		r.off++
		k++
	}
	r.n -= int64(k)
	return k, nil
}

// hostile is one request of the catalogue and what it must get.
type hostile struct {
	name        string
	path        string // default /services/TokenAdmin
	contentType string // default SOAP 1.1
	soapAction  string
	body        string
	big         int64 // > 0: send a streamed body of this many bytes of body repeated
	chunked     bool  // send big without a Content-Length

	status int
	want   []string // substrings of the response body, in order
}

func manyAttributes(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, ` a%d="x"`, i)
	}
	return b.String()
}

// soapFault11 is what a SOAP 1.1 fault of the native API says.
func soapFault11(faultcode, code, message string) []string {
	return []string{"<faultcode>soap:" + faultcode + "</faultcode>", "<faultstring xml:lang=\"en\">" + message + "</faultstring>", "<tns:code>" + code + "</tns:code>"}
}

func TestHostileRequests(t *testing.T) {
	t.Setenv("TOKENADMIN_ADMIN_PASSWORD", adminPassword)
	ts := startTestServer(t, serveConfig{})
	createApp(t, ts.db, "portal", "Portal")
	createUser(t, ts.db, "alice", tokenadmin.RoleUser, aliceHash())
	victim := issue(t, ts.db, tokenadmin.IssueRequest{ClientID: "portal", User: "alice", AccessTTL: time.Hour})
	for range 4 {
		issue(t, ts.db, tokenadmin.IssueRequest{ClientID: "portal", User: "alice", AccessTTL: time.Hour})
	}

	sqlish := []string{`' OR '1'='1`, `x'; DROP TABLE tokens; --`, `" OR ""="`, `%' --`, `1); DELETE FROM users; --`}
	catalogue := []hostile{
		{name: "XXE external entity",
			body:   `<?xml version="1.0"?><!DOCTYPE s:Envelope [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>` + env11(`<t:getToken><t:tokenId>&xxe;</t:tokenId></t:getToken>`),
			status: 500, want: soapFault11("Client", "InvalidRequest", "document type declarations are not allowed")},
		{name: "billion laughs",
			body: `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">` +
				`<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>` + env11(`<t:getToken><t:tokenId>&lol3;</t:tokenId></t:getToken>`),
			status: 500, want: soapFault11("Client", "InvalidRequest", "document type declarations are not allowed")},
		{name: "DOCTYPE in SOAP 1.2", contentType: soap12Type,
			body:   `<!DOCTYPE x [<!ENTITY a "b">]>` + env12(`<t:listActiveTokens/>`),
			status: 400, want: []string{"<env:Value>env:Sender</env:Value>", "document type declarations are not allowed"}},
		{name: "100 MB body with a Content-Length", big: 100 << 20, body: "<a>",
			status: 413, want: soapFault11("Client", "InvalidRequest", "request body is larger than 1048576 bytes")},
		{name: "100 MB chunked body", big: 100 << 20, chunked: true, body: "<a>",
			status: 413, want: soapFault11("Client", "InvalidRequest", "request body is larger than 1048576 bytes")},
		{name: "100,000-deep nesting",
			body:   env11(strings.Repeat("<a>", 100_000) + strings.Repeat("</a>", 100_000)),
			status: 500, want: soapFault11("Client", "InvalidRequest", "elements are nested more than 32 deep")},
		{name: "a million attributes", big: int64(len(manyAttributes(1_000_000))), body: manyAttributes(1000),
			status: 413, want: soapFault11("Client", "InvalidRequest", "request body is larger than 1048576 bytes")},
		{name: "a thousand attributes on one element",
			body:   env11(`<t:listActiveTokens` + manyAttributes(1000) + `/>`),
			status: 500, want: soapFault11("Client", "InvalidRequest", `element "listActiveTokens" has more than 32 attributes`)},
		{name: "20,000 elements",
			body:   env11(`<t:listActiveTokens>` + strings.Repeat("<x/>", 20_000) + `</t:listActiveTokens>`),
			status: 500, want: soapFault11("Client", "InvalidRequest", "request has more than 10000 elements")},
		{name: "a 100 KB text node",
			body:   env11(`<t:getToken><t:tokenId>` + strings.Repeat("A", 100<<10) + `</t:tokenId></t:getToken>`),
			status: 500, want: soapFault11("Client", "InvalidRequest", `element "tokenId" has more than 65536 bytes of text`)},
		{name: "SOAPAction does not match the Body", soapAction: `"urn:tokenadmin:v1:revokeToken"`,
			body:   env11(`<t:listActiveTokens/>`),
			status: 500, want: soapFault11("Client", "ActionMismatch", `action "urn:tokenadmin:v1:revokeToken" does not match operation listActiveTokens`)},
		{name: "two Body elements",
			body:   `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:t="urn:tokenadmin:v1"><s:Body><t:listActiveTokens/></s:Body><s:Body><t:revokeTokens><t:user>alice</t:user></t:revokeTokens></s:Body></s:Envelope>`,
			status: 500, want: soapFault11("Client", "InvalidRequest", "Envelope has more than one Body")},
		{name: "two operations in one Body",
			body:   env11(`<t:listActiveTokens/><t:revokeTokens><t:user>alice</t:user></t:revokeTokens>`),
			status: 500, want: []string{"<faultcode>soap:Client</faultcode>", "<tns:code>InvalidRequest</tns:code>"}},
		{name: "truncated envelope",
			body:   env11(`<t:listActiveTokens><t:user>alice</t:user></t:listActiveTokens>`)[:130],
			status: 500, want: soapFault11("Client", "InvalidRequest", "malformed XML")},
		{name: "empty body", body: "",
			status: 500, want: []string{"<faultcode>soap:Client</faultcode>", "<tns:code>InvalidRequest</tns:code>"}},
		{name: "invalid UTF-8",
			body:   env11("<t:listActiveTokens><t:user>\xff\xfe</t:user></t:listActiveTokens>"),
			status: 500, want: soapFault11("Client", "InvalidRequest", "request is not valid UTF-8")},
		{name: "declared ISO-8859-1",
			body:   `<?xml version="1.0" encoding="ISO-8859-1"?>` + env11(`<t:listActiveTokens/>`),
			status: 500, want: soapFault11("Client", "InvalidRequest", "unsupported encoding: requests must be UTF-8")},
		{name: "pageSize beyond any integer",
			body:   env11(`<t:listActiveTokens><t:pageSize>100000000000000000000</t:pageSize></t:listActiveTokens>`),
			status: 500, want: soapFault11("Client", "InvalidRequest", "pageSize must be an integer between 1 and 1000")},
		{name: "not XML at all", contentType: "application/json", body: `{"op":"listActiveTokens"}`,
			status: 415},
		{name: "legacy service: DOCTYPE", path: "/services/OAuthAdminService",
			soapAction: `"urn:getAppsAuthorizedByUser"`,
			body:       `<!DOCTYPE x [<!ENTITY a SYSTEM "file:///etc/passwd">]>` + env11(`<xsd:getAppsAuthorizedByUser xmlns:xsd="http://org.apache.axis2/xsd"/>`),
			// Axis2 answers unparsable XML with a Server fault.
			status: 500, want: []string{"<faultcode>soapenv:Server</faultcode><faultstring>document type declarations are not allowed</faultstring>"}},
		{name: "legacy service: 100 MB chunked body", path: "/services/OAuthAdminService", big: 100 << 20, chunked: true, body: "<a>",
			status: 413},
		{name: "OAuth token endpoint: 100 MB form", path: "/oauth2/token", contentType: "application/x-www-form-urlencoded",
			// RFC 6749 §5.2: an OAuth error, in JSON.
			big: 100 << 20, chunked: true, body: "a=b&",
			status: 400, want: []string{`{"error":"invalid_request","error_description":"request body is larger than 65536 bytes"}`}},
	}
	// SQL metacharacters in every string field of every operation: they
	// are data, found nowhere, and change nothing.
	for i, s := range sqlish {
		x := xmlText(s)
		catalogue = append(catalogue,
			hostile{name: fmt.Sprintf("SQL %d in listActiveTokens user and clientId", i),
				body:   env11(`<t:listActiveTokens><t:user>` + x + `</t:user><t:clientId>` + x + `</t:clientId></t:listActiveTokens>`),
				status: 200, want: []string{"<tns:listActiveTokensResponse></tns:listActiveTokensResponse>"}},
			hostile{name: fmt.Sprintf("SQL %d in pageToken", i),
				body:   env11(`<t:listActiveTokens><t:pageToken>` + x + `</t:pageToken></t:listActiveTokens>`),
				status: 500, want: []string{"<tns:code>InvalidPageToken</tns:code>"}},
			hostile{name: fmt.Sprintf("SQL %d in revokeToken tokenId", i),
				body:   env11(`<t:revokeToken><t:tokenId>` + x + `</t:tokenId><t:reason>` + x + `</t:reason></t:revokeToken>`),
				status: 500, want: []string{"<tns:code>TokenNotFound</tns:code>"}},
			hostile{name: fmt.Sprintf("SQL %d in revokeToken token value", i),
				body:   env11(`<t:revokeToken><t:token>` + x + `</t:token></t:revokeToken>`),
				status: 500, want: []string{"<tns:code>TokenNotFound</tns:code>"}},
			hostile{name: fmt.Sprintf("SQL %d in revokeTokens", i),
				body:   env11(`<t:revokeTokens><t:user>` + x + `</t:user><t:clientId>` + x + `</t:clientId><t:reason>` + x + `</t:reason></t:revokeTokens>`),
				status: 200, want: []string{"<tns:revokedCount>0</tns:revokedCount>"}},
			hostile{name: fmt.Sprintf("SQL %d in listAuthorizedApps", i),
				body:   env11(`<t:listAuthorizedApps><t:user>` + x + `</t:user></t:listAuthorizedApps>`),
				status: 200, want: []string{"<tns:listAuthorizedAppsResponse></tns:listAuthorizedAppsResponse>"}},
			hostile{name: fmt.Sprintf("SQL %d in getToken", i),
				body:   env11(`<t:getToken><t:tokenId>` + x + `</t:tokenId></t:getToken>`),
				status: 500, want: []string{"<tns:code>TokenNotFound</tns:code>"}},
			hostile{name: fmt.Sprintf("SQL %d in getApp", i),
				body:   env11(`<t:getApp><t:clientId>` + x + `</t:clientId></t:getApp>`),
				status: 500, want: []string{"<tns:code>NotFound</tns:code>"}},
		)
	}

	client := &http.Client{Timeout: time.Minute}
	send := func(h hostile) (int, string, error) {
		var body io.Reader = strings.NewReader(h.body)
		if h.big > 0 {
			body = &repeatReader{pattern: []byte(h.body), n: h.big}
		}
		path := h.path
		if path == "" {
			path = "/services/TokenAdmin"
		}
		req, err := http.NewRequest("POST", ts.URL()+path, body)
		if err != nil {
			return 0, "", err
		}
		switch {
		case h.chunked:
			req.ContentLength = -1
		case h.big > 0:
			req.ContentLength = h.big
		}
		ct := h.contentType
		if ct == "" {
			ct = soap11Type
		}
		req.Header.Set("Content-Type", ct)
		if h.soapAction != "" {
			req.Header.Set("SOAPAction", h.soapAction)
		}
		req.SetBasicAuth("admin", adminPassword)
		resp, err := client.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return resp.StatusCode, string(b), err
	}
	// An ordinary request that must work after every hostile one.
	ordinary := func(t *testing.T) {
		t.Helper()
		status, body, err := send(hostile{body: env11(`<t:getToken><t:tokenId>` + victim.Access.ID + `</t:tokenId></t:getToken>`)})
		if err != nil || status != 200 || !strings.Contains(body, "<tns:tokenId>"+victim.Access.ID+"</tns:tokenId>") || !strings.Contains(body, "<tns:state>active</tns:state>") {
			t.Fatalf("ordinary request afterwards: HTTP %d, %v, %s", status, err, body)
		}
	}

	for _, h := range catalogue {
		t.Run(h.name, func(t *testing.T) {
			status, body, err := send(h)
			if err != nil {
				t.Fatalf("request failed: %v", err)
			}
			if status != h.status {
				t.Errorf("HTTP %d, want %d; body %.600s", status, h.status, body)
			}
			rest := body
			for _, w := range h.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Errorf("response lacks %q (in order); body %.600s", w, body)
					break
				}
				rest = rest[i+len(w):]
			}
			if strings.Contains(body, "root:") {
				t.Errorf("response leaks a file: %.300s", body)
			}
			ordinary(t)
		})
	}

	// Nothing was changed by any of it: alice still has her 5 tokens and
	// both users still exist.
	page, err := ts.db.ListActiveTokens(t.Context(), tokenadmin.TokenFilter{User: "alice", PageSize: 100})
	if err != nil || len(page.Tokens) != 5 {
		t.Fatalf("alice's active tokens after the catalogue: %d, %v; want 5", len(page.Tokens), err)
	}
	for _, name := range []string{"admin", "alice"} {
		if _, err := ts.db.GetUser(t.Context(), name); err != nil {
			t.Errorf("user %s after the catalogue: %v", name, err)
		}
	}

	// Hostile OAuth forms get OAuth errors, not crashes.
	for _, form := range []string{"grant_type=%zz", "grant_type=password&username=" + url.QueryEscape(sqlish[0]) + "&password=" + url.QueryEscape(sqlish[1]),
		"token=" + url.QueryEscape(sqlish[2]), strings.Repeat("a=b&", 10000)} {
		req, _ := http.NewRequest("POST", ts.URL()+"/oauth2/token", strings.NewReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("portal", "wrong")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode/100 != 4 || !bytes.Contains(b, []byte(`"error":"`)) {
			t.Errorf("OAuth form %.40q: HTTP %d %s, want a 4xx OAuth error", form, resp.StatusCode, b)
		}
	}
	ordinary(t)
}

// xmlText escapes s for XML character data.
func xmlText(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '<':
			b.WriteString("&lt;")
		case '&':
			b.WriteString("&amp;")
		case '"':
			b.WriteString("&quot;")
		case '\'':
			b.WriteString("&apos;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
