package soap

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tokenadmin"
)

// requestFiles returns the recorded requests in testdata/requests, named
// <operation><11|12>[-variant].xml after their SOAP version.
func requestFiles(t testing.TB) map[string][]byte {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "requests", "*.xml"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no recorded requests: %v", err)
	}
	files := make(map[string][]byte, len(paths))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		files[strings.TrimSuffix(filepath.Base(p), ".xml")] = b
	}
	return files
}

func fileVersion(name string) Version {
	name, _, _ = strings.Cut(name, "-")
	if strings.HasSuffix(name, "12") {
		return SOAP12
	}
	return SOAP11
}

// TestRecordedRequests replays the recorded requests (inputs, never
// rewritten) and compares the responses with their goldens.
func TestRecordedRequests(t *testing.T) {
	for name, body := range requestFiles(t) {
		t.Run(name, func(t *testing.T) {
			svc := &fakeService{
				page:   &tokenadmin.TokenPage{Tokens: []*tokenadmin.Token{sampleToken()}},
				result: &tokenadmin.RevokeResult{Revoked: true, TokenID: "tok-1", Count: 2},
				count:  3,
				apps:   []*tokenadmin.AuthorizedApp{{ClientID: "client-a", AppName: "App A", ActiveTokens: 1, LastIssuedAt: testNow}},
				token:  sampleToken(),
			}
			res := serve(t, newHandler(svc, nil), call{version: fileVersion(name), body: string(body)})
			validate(t, res)
			golden(t, "recorded-"+name, res.body)
		})
	}
}

// fuzzHandler answers every operation with data, so that the fuzzer
// reaches the response writers too.
func fuzzHandler(log io.Writer) *TokenAdminHandler {
	svc := &fakeService{
		page:   &tokenadmin.TokenPage{Tokens: []*tokenadmin.Token{sampleToken(), revokedToken()}, NextPageToken: "n"},
		result: &tokenadmin.RevokeResult{TokenID: "tok-1"},
		apps:   []*tokenadmin.AuthorizedApp{{ClientID: "c", AppName: "a", ActiveTokens: 1, LastIssuedAt: testNow}},
		token:  revokedToken(),
	}
	h := newHandler(svc, nil)
	h.Logger = newTextLogger(log)
	return h
}

// FuzzEnvelope sends arbitrary bodies, in either version and with any
// action, and checks that the endpoint never panics and always answers a
// well-formed envelope of the right version with a sane status.
func FuzzEnvelope(f *testing.F) {
	for name, body := range requestFiles(f) {
		f.Add(fileVersion(name) == SOAP12, "", body)
	}
	seeds := []string{
		soapEnvelope(SOAP11, "", getTokenBody),
		soapEnvelope(SOAP12, `<w:S xmlns:w="urn:x" env:mustUnderstand="true"/>`, `<t:listActiveTokens><t:pageSize>5</t:pageSize></t:listActiveTokens>`),
		soapEnvelope(SOAP11, "", `<t:revokeToken><t:tokenId>a</t:tokenId><t:token>b</t:token></t:revokeToken>`),
		soapEnvelope(SOAP12, "", `<t:revokeTokens><t:user xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:nil="true"/></t:revokeTokens>`),
		soapEnvelope(SOAP11, "", `<t:listAuthorizedApps><t:user>a&amp;b</t:user></t:listAuthorizedApps>`),
		`<?xml version="1.0" encoding="ISO-8859-1"?><a/>`,
		`<!DOCTYPE a [<!ENTITY b "c">]><a>&b;</a>`,
		`<soap:Envelope xmlns:soap="` + ns11 + `"><soap:Body/><soap:Body/></soap:Envelope>`,
		"<a>\xff</a>",
		"",
	}
	for i, s := range seeds {
		f.Add(i%2 == 1, "urn:tokenadmin:v1:getToken", []byte(s))
	}
	f.Fuzz(func(t *testing.T, soap12 bool, action string, body []byte) {
		var log bytes.Buffer
		h := fuzzHandler(&log)
		v := SOAP11
		if soap12 {
			v = SOAP12
		}
		r := httptest.NewRequest(http.MethodPost, "http://tokenadmin.example"+TokenAdminPath, bytes.NewReader(body))
		if v == SOAP12 {
			r.Header.Set("Content-Type", "application/soap+xml; charset=utf-8; action="+strconvQuote(action))
		} else {
			r.Header.Set("Content-Type", ct11)
			r.Header.Set("SOAPAction", action)
		}
		r.SetBasicAuth(adminUser, adminPassword)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)

		if strings.Contains(log.String(), "soap: panic") {
			t.Fatalf("handler panicked:\n%s", log.String())
		}
		switch rec.Code {
		case 200, 400, 415, 500:
		default:
			t.Fatalf("status %d", rec.Code)
		}
		ct := rec.Header().Get("Content-Type")
		var wantNS string
		switch ct {
		case ct11:
			wantNS = ns11
		case ct12:
			wantNS = ns12
		default:
			t.Fatalf("Content-Type %q", ct)
		}
		checkWellFormed(t, rec.Body.Bytes(), wantNS, rec.Code == 200)
	})
}

// checkWellFormed parses a response with encoding/xml, independently of
// our parser, and checks its shape.
func checkWellFormed(t *testing.T, body []byte, ns string, success bool) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(body))
	var stack []xml.Name
	var root xml.Name
	sawFault := false
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("response is not well-formed: %v\n%q", err, body)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if len(stack) == 0 {
				root = tok.Name
			}
			if len(stack) == 2 && tok.Name.Space == ns && tok.Name.Local == "Fault" {
				sawFault = true
			}
			stack = append(stack, tok.Name)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		}
	}
	if root.Space != ns || root.Local != "Envelope" {
		t.Fatalf("root is {%s}%s, want {%s}Envelope", root.Space, root.Local, ns)
	}
	if sawFault == success {
		t.Fatalf("fault = %v for a status that says success = %v\n%s", sawFault, success, body)
	}
}

func strconvQuote(s string) string {
	// A media type parameter value is a token or a quoted string (RFC 9110
	// §5.6.6); the fuzzer's action may be neither, which must not matter.
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// FuzzParse checks the parser against encoding/xml's own namespace-aware
// Decoder.Token: whatever parse accepts, Token must accept too, and see
// the same elements with the same expanded names, in the same order.
func FuzzParse(f *testing.F) {
	for _, body := range requestFiles(f) {
		f.Add(body)
	}
	for _, s := range []string{
		`<a xmlns="u"><b xmlns=""/><p:c xmlns:p="v" p:x="1"/></a>`,
		`<a>&amp;&#x41;<![CDATA[x]]><!--c--><?pi?></a>`,
		`<p:a xmlns:p="u"></q:a>`,
		"<a>\r\n</a>",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		root, err := parse(doc, Limits{})
		if err != nil {
			if tokenadmin.ErrorCode(err) != tokenadmin.CodeInvalid {
				t.Fatalf("error %v is not InvalidRequest", err)
			}
			return
		}
		var ours []xml.Name
		var walk func(*Element)
		walk = func(e *Element) {
			ours = append(ours, e.Name)
			for _, c := range e.Children {
				walk(c)
			}
		}
		walk(root)

		var theirs []xml.Name
		d := xml.NewDecoder(bytes.NewReader(bytes.TrimPrefix(doc, []byte("\xef\xbb\xbf"))))
		for {
			tok, err := d.Token()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("parse accepted what encoding/xml rejects (%v): %q", err, doc)
			}
			if se, ok := tok.(xml.StartElement); ok {
				theirs = append(theirs, se.Name)
			}
		}
		if len(ours) != len(theirs) {
			t.Fatalf("%d elements, encoding/xml sees %d: %q", len(ours), len(theirs), doc)
		}
		for i := range ours {
			if ours[i] != theirs[i] {
				t.Fatalf("element %d is %v, encoding/xml says %v: %q", i, ours[i], theirs[i], doc)
			}
		}
	})
}
