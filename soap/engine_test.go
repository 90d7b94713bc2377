package soap

import (
	"bytes"
	"context"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"tokenadmin"
)

// A request every test may send when the body does not matter.
const getTokenBody = `<t:getToken><t:tokenId>tok-1</t:tokenId></t:getToken>`

func ptr[T any](v T) *T { return &v }

func TestProtocol(t *testing.T) {
	env11 := func(body string) string { return soapEnvelope(SOAP11, "", body) }
	env12 := func(body string) string { return soapEnvelope(SOAP12, "", body) }
	deep := strings.Repeat("<t:x>", 40) + strings.Repeat("</t:x>", 40)
	many := "<t:getToken>" + strings.Repeat("<t:x/>", DefaultMaxElements) + "</t:getToken>"
	var attrs strings.Builder
	for i := range DefaultMaxAttributes + 1 {
		attrs.WriteString(` a` + string(rune('a'+i/26)) + string(rune('a'+i%26)) + `="1"`)
	}
	tests := []struct {
		name   string
		call   call
		status int
		ctype  string
		fault  string          // faultcode or Code/Value; "" for success
		code   tokenadmin.Code // detail code
		header map[string]string
		// text the body must (not) contain
		contains, excludes []string
	}{
		// 1. Method.
		{name: "PUT is 405 with Allow", call: call{method: http.MethodPut, body: env11(getTokenBody)},
			status: 405, ctype: ct11, fault: "soap:Client", code: tokenadmin.CodeInvalid,
			header: map[string]string{"Allow": "GET, POST"}},
		{name: "GET without ?wsdl is 405", call: call{method: http.MethodGet},
			status: 405, ctype: ct11, fault: "soap:Client", code: tokenadmin.CodeInvalid},

		// 2. Version from the media type.
		{name: "SOAP 1.1 from text/xml", call: call{body: env11(getTokenBody)}, status: 200, ctype: ct11},
		{name: "SOAP 1.2 from application/soap+xml", call: call{version: SOAP12, body: env12(getTokenBody)}, status: 200, ctype: ct12},
		{name: "media type without charset is accepted", call: call{contentType: "text/xml", body: env11(getTokenBody)}, status: 200, ctype: ct11},
		{name: "upper-case UTF-8 charset is accepted", call: call{contentType: `Text/XML; charset="UTF-8"`, body: env11(getTokenBody)}, status: 200, ctype: ct11},
		{name: "unknown media type is 415", call: call{contentType: "application/json", body: `{}`},
			status: 415, ctype: ct11, fault: "soap:Client", code: tokenadmin.CodeInvalid},
		{name: "missing media type is 415", call: call{contentType: " ", body: env11(getTokenBody)},
			status: 415, ctype: ct11, fault: "soap:Client", code: tokenadmin.CodeInvalid},
		{name: "malformed media type is 415", call: call{contentType: "text/xml; charset", body: env11(getTokenBody)},
			status: 415, ctype: ct11, fault: "soap:Client", code: tokenadmin.CodeInvalid},
		{name: "SOAP 1.1 with latin-1 charset is a Client fault", call: call{contentType: "text/xml; charset=iso-8859-1", body: env11(getTokenBody)},
			status: 500, ctype: ct11, fault: "soap:Client", code: tokenadmin.CodeInvalid},
		{name: "SOAP 1.2 with latin-1 charset is a Sender fault", call: call{contentType: "application/soap+xml; charset=iso-8859-1", body: env12(getTokenBody)},
			status: 400, ctype: ct12, fault: "env:Sender", code: tokenadmin.CodeInvalid},

		// 3. Credentials.
		{name: "SOAP 1.1 without credentials is 401", call: call{anonymous: true, body: env11(getTokenBody)},
			status: 401, ctype: ct11, fault: "soap:Client", code: tokenadmin.CodeUnauthenticated,
			header: map[string]string{"WWW-Authenticate": `Basic realm="tokenadmin"`}},
		{name: "SOAP 1.2 without credentials is 401", call: call{version: SOAP12, anonymous: true, body: env12(getTokenBody)},
			status: 401, ctype: ct12, fault: "env:Sender", code: tokenadmin.CodeUnauthenticated,
			header: map[string]string{"WWW-Authenticate": `Basic realm="tokenadmin"`}},
		{name: "wrong password is 401", call: call{user: adminUser, pass: "guess", body: env11(getTokenBody)},
			status: 401, ctype: ct11, fault: "soap:Client", code: tokenadmin.CodeUnauthenticated,
			header: map[string]string{"WWW-Authenticate": `Basic realm="tokenadmin"`}},
		{name: "malformed Authorization is 401", call: call{anonymous: true, header: http.Header{"Authorization": {"Basic !!!"}}, body: env11(getTokenBody)},
			status: 401, ctype: ct11, fault: "soap:Client", code: tokenadmin.CodeUnauthenticated},
		{name: "bearer Authorization is 401", call: call{anonymous: true, header: http.Header{"Authorization": {"Bearer abc"}}, body: env11(getTokenBody)},
			status: 401, ctype: ct11, fault: "soap:Client", code: tokenadmin.CodeUnauthenticated},
		{name: "credentials are checked before the body", call: call{anonymous: true, body: "not xml"},
			status: 401, ctype: ct11, fault: "soap:Client", code: tokenadmin.CodeUnauthenticated},
		{name: "authenticator failure is a Server fault", call: call{user: "broken", pass: "x", body: env11(getTokenBody)},
			status: 500, ctype: ct11, fault: "soap:Server", code: tokenadmin.CodeInternal,
			excludes: []string{"database", "SELECT"}},

		// 4. Body size.
		{name: "body over the cap is 413", call: call{body: env11(`<t:getToken><t:tokenId>` + strings.Repeat("x", DefaultMaxBodyBytes) + `</t:tokenId></t:getToken>`)},
			status: 413, ctype: ct11, fault: "soap:Client", code: tokenadmin.CodeInvalid},
		{name: "SOAP 1.2 body over the cap is 413", call: call{version: SOAP12, body: env12(`<t:getToken><t:tokenId>` + strings.Repeat("x", DefaultMaxBodyBytes) + `</t:tokenId></t:getToken>`)},
			status: 413, ctype: ct12, fault: "env:Sender", code: tokenadmin.CodeInvalid},

		// 5. XML.
		{name: "malformed XML", call: call{body: `<soap:Envelope xmlns:soap="` + ns11 + `"><soap:Body>`},
			status: 500, ctype: ct11, fault: "soap:Client", code: tokenadmin.CodeInvalid, contains: []string{"malformed XML"}},
		{name: "mismatched end tag", call: call{body: `<soap:Envelope xmlns:soap="` + ns11 + `"><soap:Body></soap:Bogy></soap:Envelope>`},
			status: 500, ctype: ct11, fault: "soap:Client", code: tokenadmin.CodeInvalid},
		{name: "empty body", call: call{body: ``},
			status: 500, ctype: ct11, fault: "soap:Client", code: tokenadmin.CodeInvalid},
		{name: "text after the root", call: call{body: env11(getTokenBody) + "junk"},
			status: 500, ctype: ct11, fault: "soap:Client", code: tokenadmin.CodeInvalid},
		{name: "second root element", call: call{body: env11(getTokenBody) + env11(getTokenBody)[len(`<?xml version="1.0" encoding="UTF-8"?>`):]},
			status: 500, ctype: ct11, fault: "soap:Client", code: tokenadmin.CodeInvalid},
		{name: "undeclared prefix", call: call{body: env11(`<u:getToken><u:tokenId>x</u:tokenId></u:getToken>`)},
			status: 500, ctype: ct11, fault: "soap:Client", code: tokenadmin.CodeInvalid, contains: []string{"undeclared namespace prefix"}},
		{name: "repeated attribute", call: call{body: env11(`<t:getToken a="1" a="2"><t:tokenId>x</t:tokenId></t:getToken>`)},
			status: 500, ctype: ct11, fault: "soap:Client", code: tokenadmin.CodeInvalid},
		{name: "DOCTYPE with external entity (XXE)", call: call{body: `<?xml version="1.0"?><!DOCTYPE e [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>` +
			`<soap:Envelope xmlns:soap="` + ns11 + `"><soap:Body><t:getToken xmlns:t="urn:tokenadmin:v1"><t:tokenId>&xxe;</t:tokenId></t:getToken></soap:Body></soap:Envelope>`},
			status: 500, ctype: ct11, fault: "soap:Client", code: tokenadmin.CodeInvalid,
			contains: []string{"document type declarations are not allowed"}, excludes: []string{"root:"}},
		{name: "billion laughs", call: call{body: `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">` +
			`<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>` +
			`<soap:Envelope xmlns:soap="` + ns11 + `"><soap:Body><t:getToken xmlns:t="urn:tokenadmin:v1"><t:tokenId>&lol3;</t:tokenId></t:getToken></soap:Body></soap:Envelope>`},
			status: 500, ctype: ct11, fault: "soap:Client", code: tokenadmin.CodeInvalid, excludes: []string{"lollol"}},
		{name: "DOCTYPE inside the document", call: call{body: env11(`<!DOCTYPE x>` + getTokenBody)},
			status: 500, ctype: ct11, fault: "soap:Client", code: tokenadmin.CodeInvalid},
		{name: "undefined entity", call: call{body: env11(`<t:getToken><t:tokenId>&nbsp;</t:tokenId></t:getToken>`)},
			status: 500, ctype: ct11, fault: "soap:Client", code: tokenadmin.CodeInvalid},
		{name: "declared ISO-8859-1 encoding", call: call{body: `<?xml version="1.0" encoding="ISO-8859-1"?>` + env11(getTokenBody)[len(`<?xml version="1.0" encoding="UTF-8"?>`):]},
			status: 500, ctype: ct11, fault: "soap:Client", code: tokenadmin.CodeInvalid, contains: []string{"UTF-8"}},
		{name: "declared UTF-16 encoding", call: call{version: SOAP12, body: `<?xml version="1.0" encoding="UTF-16"?>` + env12(getTokenBody)[len(`<?xml version="1.0" encoding="UTF-8"?>`):]},
			status: 400, ctype: ct12, fault: "env:Sender", code: tokenadmin.CodeInvalid},
		{name: "lower-case utf-8 declaration is accepted", call: call{body: `<?xml version="1.0" encoding="utf-8"?>` + env11(getTokenBody)[len(`<?xml version="1.0" encoding="UTF-8"?>`):]},
			status: 200, ctype: ct11},
		{name: "UTF-8 byte order mark is accepted", call: call{body: "\xef\xbb\xbf" + env11(getTokenBody)}, status: 200, ctype: ct11},
		{name: "invalid UTF-8", call: call{body: env11("<t:getToken><t:tokenId>\xff\xfe</t:tokenId></t:getToken>")},
			status: 500, ctype: ct11, fault: "soap:Client", code: tokenadmin.CodeInvalid, contains: []string{"UTF-8"}},
		{name: "nesting too deep", call: call{body: env11(`<t:getToken>` + deep + `</t:getToken>`)},
			status: 500, ctype: ct11, fault: "soap:Client", code: tokenadmin.CodeInvalid, contains: []string{"nested"}},
		{name: "too many elements", call: call{body: env11(many)},
			status: 500, ctype: ct11, fault: "soap:Client", code: tokenadmin.CodeInvalid, contains: []string{"elements"}},
		{name: "too many attributes", call: call{body: env11(`<t:getToken` + attrs.String() + `><t:tokenId>x</t:tokenId></t:getToken>`)},
			status: 500, ctype: ct11, fault: "soap:Client", code: tokenadmin.CodeInvalid, contains: []string{"attributes"}},
		{name: "text too long", call: call{body: env11(`<t:getToken><t:tokenId>` + strings.Repeat("x", DefaultMaxTextBytes+1) + `</t:tokenId></t:getToken>`)},
			status: 500, ctype: ct11, fault: "soap:Client", code: tokenadmin.CodeInvalid, contains: []string{"bytes of text"}},
		{name: "comments and processing instructions are ignored", call: call{body: env11(`<!-- c --><?pi x?><t:getToken><!-- c --><t:tokenId>tok-<!-- c -->1</t:tokenId></t:getToken>`)},
			status: 200, ctype: ct11},

		// 6. Envelope.
		{name: "SOAP 1.1 unknown envelope namespace is VersionMismatch", call: call{body: `<e:Envelope xmlns:e="http://example.com/soap" xmlns:t="urn:tokenadmin:v1"><e:Body>` + getTokenBody + `</e:Body></e:Envelope>`},
			status: 500, ctype: ct11, fault: "soap:VersionMismatch", code: CodeVersionMismatch, contains: []string{"SupportedEnvelope"}},
		{name: "SOAP 1.2 unknown envelope namespace is VersionMismatch", call: call{version: SOAP12, body: `<e:Envelope xmlns:e="http://example.com/soap"><e:Body/></e:Envelope>`},
			status: 500, ctype: ct12, fault: "env:VersionMismatch", code: CodeVersionMismatch,
			contains: []string{`<env:Header><upg:Upgrade xmlns:upg="http://www.w3.org/2003/05/soap-envelope"><upg:SupportedEnvelope qname="ns1:Envelope"`}},
		{name: "root that is not Envelope is VersionMismatch", call: call{body: `<soap:Body xmlns:soap="` + ns11 + `"/>`},
			status: 500, ctype: ct11, fault: "soap:VersionMismatch", code: CodeVersionMismatch},
		{name: "SOAP 1.2 envelope sent as text/xml", call: call{version: SOAP11, body: env12(getTokenBody)},
			status: 400, ctype: ct12, fault: "env:Sender", code: tokenadmin.CodeInvalid},
		{name: "SOAP 1.1 envelope sent as application/soap+xml", call: call{version: SOAP12, body: env11(getTokenBody)},
			status: 500, ctype: ct11, fault: "soap:Client", code: tokenadmin.CodeInvalid},

		{name: "SOAP 1.1 envelope without Body sent as application/soap+xml", call: call{version: SOAP12, body: `<soap:Envelope xmlns:soap="` + ns11 + `"/>`},
			status: 500, ctype: ct11, fault: "soap:Client", code: tokenadmin.CodeInvalid, contains: []string{"does not match the media type"}},

		// 7. Envelope structure.
		{name: "two Bodies", call: call{body: strings.Replace(env11(getTokenBody), "</soap:Body>", "</soap:Body><soap:Body>"+getTokenBody+"</soap:Body>", 1)},
			status: 500, ctype: ct11, fault: "soap:Client", code: tokenadmin.CodeInvalid, contains: []string{"more than one Body"}},
		{name: "SOAP 1.2 two Bodies", call: call{version: SOAP12, body: strings.Replace(env12(getTokenBody), "</env:Body>", "</env:Body><env:Body/>", 1)},
			status: 400, ctype: ct12, fault: "env:Sender", code: tokenadmin.CodeInvalid},
		{name: "missing Body", call: call{body: `<soap:Envelope xmlns:soap="` + ns11 + `"><soap:Header/></soap:Envelope>`},
			status: 500, ctype: ct11, fault: "soap:Client", code: tokenadmin.CodeInvalid, contains: []string{"no Body"}},
		{name: "empty Body", call: call{body: env11("  ")},
			status: 500, ctype: ct11, fault: "soap:Client", code: tokenadmin.CodeInvalid, contains: []string{"exactly one element"}},
		{name: "two elements in Body", call: call{body: env11(getTokenBody + getTokenBody)},
			status: 500, ctype: ct11, fault: "soap:Client", code: tokenadmin.CodeInvalid},
		{name: "text in Body", call: call{body: env11("text" + getTokenBody)},
			status: 500, ctype: ct11, fault: "soap:Client", code: tokenadmin.CodeInvalid},
		{name: "element after Body (WS-I R1011)", call: call{body: strings.Replace(env11(getTokenBody), "</soap:Body>", "</soap:Body><t:trailer/>", 1)},
			status: 500, ctype: ct11, fault: "soap:Client", code: tokenadmin.CodeInvalid, contains: []string{"after Body"}},
		{name: "Header after Body", call: call{body: strings.Replace(env11(getTokenBody), "</soap:Body>", "</soap:Body><soap:Header/>", 1)},
			status: 500, ctype: ct11, fault: "soap:Client", code: tokenadmin.CodeInvalid, contains: []string{"Header must come before Body"}},
		{name: "two Headers", call: call{body: soapEnvelope(SOAP11, "", getTokenBody)[:0] + `<soap:Envelope xmlns:soap="` + ns11 + `" xmlns:t="urn:tokenadmin:v1"><soap:Header/><soap:Header/><soap:Body>` + getTokenBody + `</soap:Body></soap:Envelope>`},
			status: 500, ctype: ct11, fault: "soap:Client", code: tokenadmin.CodeInvalid},
		{name: "foreign element before Body", call: call{body: strings.Replace(env11(getTokenBody), "<soap:Body>", "<t:x/><soap:Body>", 1)},
			status: 500, ctype: ct11, fault: "soap:Client", code: tokenadmin.CodeInvalid},
		{name: "empty Header is fine", call: call{body: `<soap:Envelope xmlns:soap="` + ns11 + `" xmlns:t="urn:tokenadmin:v1"><soap:Header/><soap:Body>` + getTokenBody + `</soap:Body></soap:Envelope>`},
			status: 200, ctype: ct11},

		// 8. Header blocks.
		{name: "SOAP 1.1 mandatory header is MustUnderstand", call: call{body: soapEnvelope(SOAP11, `<w:Security xmlns:w="urn:x" soap:mustUnderstand="1"/>`, getTokenBody)},
			status: 500, ctype: ct11, fault: "soap:MustUnderstand", contains: []string{"{urn:x}Security"}, excludes: []string{"detail"}},
		{name: "SOAP 1.1 mandatory header for actor next", call: call{body: soapEnvelope(SOAP11, `<w:Security xmlns:w="urn:x" soap:actor="http://schemas.xmlsoap.org/soap/actor/next" soap:mustUnderstand="1"/>`, getTokenBody)},
			status: 500, ctype: ct11, fault: "soap:MustUnderstand"},
		{name: "SOAP 1.1 mandatory header with mustUnderstand=true", call: call{body: soapEnvelope(SOAP11, `<w:Security xmlns:w="urn:x" soap:mustUnderstand="true"/>`, getTokenBody)},
			status: 500, ctype: ct11, fault: "soap:MustUnderstand"},
		{name: "SOAP 1.1 mandatory header for another actor is ignored", call: call{body: soapEnvelope(SOAP11, `<w:Security xmlns:w="urn:x" soap:actor="urn:someone-else" soap:mustUnderstand="1"/>`, getTokenBody)},
			status: 200, ctype: ct11},
		{name: "SOAP 1.1 mustUnderstand=0 is ignored", call: call{body: soapEnvelope(SOAP11, `<w:Security xmlns:w="urn:x" soap:mustUnderstand="0"/>`, getTokenBody)},
			status: 200, ctype: ct11},
		{name: "SOAP 1.1 mustUnderstand in the wrong namespace is ignored", call: call{body: soapEnvelope(SOAP11, `<w:Security xmlns:w="urn:x" w:mustUnderstand="1" mustUnderstand="1"/>`, getTokenBody)},
			status: 200, ctype: ct11},
		{name: "SOAP 1.1 bad mustUnderstand value", call: call{body: soapEnvelope(SOAP11, `<w:Security xmlns:w="urn:x" soap:mustUnderstand="yes"/>`, getTokenBody)},
			status: 500, ctype: ct11, fault: "soap:Client", code: tokenadmin.CodeInvalid},
		{name: "optional unknown header is ignored", call: call{body: soapEnvelope(SOAP11, `<w:Trace xmlns:w="urn:x">abc</w:Trace>`, getTokenBody)},
			status: 200, ctype: ct11},
		{name: "unqualified header block", call: call{body: soapEnvelope(SOAP11, `<Trace>abc</Trace>`, getTokenBody)},
			status: 500, ctype: ct11, fault: "soap:Client", code: tokenadmin.CodeInvalid},
		{name: "SOAP 1.2 mandatory header is MustUnderstand", call: call{version: SOAP12, body: soapEnvelope(SOAP12, `<w:Security xmlns:w="urn:x" env:mustUnderstand="true"/>`, getTokenBody)},
			status: 500, ctype: ct12, fault: "env:MustUnderstand", code: CodeMustUnderstand,
			contains: []string{`<env:Header><env:NotUnderstood qname="nu0:Security" xmlns:nu0="urn:x"/></env:Header>`}},
		{name: "SOAP 1.2 mustUnderstand=1", call: call{version: SOAP12, body: soapEnvelope(SOAP12, `<w:Security xmlns:w="urn:x" env:mustUnderstand="1"/>`, getTokenBody)},
			status: 500, ctype: ct12, fault: "env:MustUnderstand", code: CodeMustUnderstand},
		{name: "SOAP 1.2 two mandatory headers", call: call{version: SOAP12, body: soapEnvelope(SOAP12, `<w:A xmlns:w="urn:x" env:mustUnderstand="true"/><w:B xmlns:w="urn:y" env:mustUnderstand="true"/>`, getTokenBody)},
			status: 500, ctype: ct12, fault: "env:MustUnderstand", code: CodeMustUnderstand,
			contains: []string{`<env:NotUnderstood qname="nu0:A" xmlns:nu0="urn:x"/><env:NotUnderstood qname="nu1:B" xmlns:nu1="urn:y"/>`}},
		{name: "SOAP 1.2 role ultimateReceiver", call: call{version: SOAP12, body: soapEnvelope(SOAP12, `<w:Security xmlns:w="urn:x" env:role="http://www.w3.org/2003/05/soap-envelope/role/ultimateReceiver" env:mustUnderstand="true"/>`, getTokenBody)},
			status: 500, ctype: ct12, fault: "env:MustUnderstand", code: CodeMustUnderstand},
		{name: "SOAP 1.2 role next", call: call{version: SOAP12, body: soapEnvelope(SOAP12, `<w:Security xmlns:w="urn:x" env:role="http://www.w3.org/2003/05/soap-envelope/role/next" env:mustUnderstand="true"/>`, getTokenBody)},
			status: 500, ctype: ct12, fault: "env:MustUnderstand", code: CodeMustUnderstand},
		{name: "SOAP 1.2 role none is never processed", call: call{version: SOAP12, body: soapEnvelope(SOAP12, `<w:Security xmlns:w="urn:x" env:role="http://www.w3.org/2003/05/soap-envelope/role/none" env:mustUnderstand="true"/>`, getTokenBody)},
			status: 200, ctype: ct12},
		{name: "SOAP 1.2 other role is ignored", call: call{version: SOAP12, body: soapEnvelope(SOAP12, `<w:Security xmlns:w="urn:x" env:role="urn:someone-else" env:mustUnderstand="true"/>`, getTokenBody)},
			status: 200, ctype: ct12},
		{name: "SOAP 1.2 mustUnderstand=false is ignored", call: call{version: SOAP12, body: soapEnvelope(SOAP12, `<w:Security xmlns:w="urn:x" env:mustUnderstand="false"/>`, getTokenBody)},
			status: 200, ctype: ct12},
		{name: "SOAP 1.2 uses the 1.2 mustUnderstand attribute only", call: call{version: SOAP12, body: soapEnvelope(SOAP12, `<w:Security xmlns:w="urn:x" xmlns:s="`+ns11+`" s:mustUnderstand="1"/>`, getTokenBody)},
			status: 200, ctype: ct12},

		// 9. Dispatch.
		{name: "unknown operation", call: call{body: env11(`<t:deleteEverything/>`)},
			status: 500, ctype: ct11, fault: "soap:Client", code: CodeUnknownOperation},
		{name: "SOAP 1.2 unknown operation", call: call{version: SOAP12, body: env12(`<t:deleteEverything/>`)},
			status: 400, ctype: ct12, fault: "env:Sender", code: CodeUnknownOperation},
		{name: "operation in another namespace", call: call{body: env11(`<getToken xmlns="urn:tokenadmin:v2"><tokenId>x</tokenId></getToken>`)},
			status: 500, ctype: ct11, fault: "soap:Client", code: CodeUnknownOperation},
		{name: "unqualified operation", call: call{body: env11(`<getToken><tokenId>x</tokenId></getToken>`)},
			status: 500, ctype: ct11, fault: "soap:Client", code: CodeUnknownOperation},
		{name: "quoted SOAPAction", call: call{action: "urn:tokenadmin:v1:getToken", body: env11(getTokenBody)},
			status: 200, ctype: ct11},
		{name: "unquoted SOAPAction", call: call{rawAction: ptr("urn:tokenadmin:v1:getToken"), body: env11(getTokenBody)},
			status: 200, ctype: ct11},
		{name: "empty quoted SOAPAction", call: call{rawAction: ptr(`""`), body: env11(getTokenBody)},
			status: 200, ctype: ct11},
		{name: "SOAPAction of another operation", call: call{action: "urn:tokenadmin:v1:revokeTokens", body: env11(getTokenBody)},
			status: 500, ctype: ct11, fault: "soap:Client", code: CodeActionMismatch},
		{name: "unquoted SOAPAction of another operation", call: call{rawAction: ptr("urn:tokenadmin:v1:revokeTokens"), body: env11(getTokenBody)},
			status: 500, ctype: ct11, fault: "soap:Client", code: CodeActionMismatch},
		{name: "SOAP 1.2 action parameter", call: call{version: SOAP12, action: "urn:tokenadmin:v1:getToken", body: env12(getTokenBody)},
			status: 200, ctype: ct12},
		{name: "SOAP 1.2 action of another operation", call: call{version: SOAP12, action: "urn:tokenadmin:v1:listActiveTokens", body: env12(getTokenBody)},
			status: 400, ctype: ct12, fault: "env:Sender", code: CodeActionMismatch},
		{name: "SOAP 1.2 unquoted action parameter", call: call{version: SOAP12, contentType: "application/soap+xml; charset=utf-8; action=urn:tokenadmin:v1:getToken", body: env12(getTokenBody)},
			status: 200, ctype: ct12},
		{name: "SOAP 1.2 unquoted action parameter of another operation", call: call{version: SOAP12, contentType: "application/soap+xml;action=urn:tokenadmin:v1:revokeToken;charset=UTF-8", body: env12(getTokenBody)},
			status: 400, ctype: ct12, fault: "env:Sender", code: CodeActionMismatch},
		{name: "SOAP 1.2 unquoted action parameter with a bad charset", call: call{version: SOAP12, contentType: "application/soap+xml; action=urn:tokenadmin:v1:getToken; charset=latin1", body: env12(getTokenBody)},
			status: 400, ctype: ct12, fault: "env:Sender", code: tokenadmin.CodeInvalid},
		{name: "SOAP 1.2 ignores the SOAPAction header", call: call{version: SOAP12, rawAction: ptr("urn:bogus"), body: env12(getTokenBody)},
			status: 200, ctype: ct12},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := &fakeService{token: sampleToken()}
			res := serve(t, newHandler(svc, nil), tt.call)
			if tt.fault == "" {
				if res.status != tt.status || res.faultCode != "" {
					t.Fatalf("status = %d, want %d\n%s", res.status, tt.status, res.body)
				}
				if res.contentType != tt.ctype {
					t.Errorf("Content-Type = %q, want %q", res.contentType, tt.ctype)
				}
				validate(t, res)
			} else {
				checkFault(t, res, tt.status, tt.ctype, tt.fault, tt.code)
				if len(svc.calls) != 0 {
					t.Errorf("service was called: %v", svc.calls)
				}
			}
			for k, v := range tt.header {
				if got := res.header.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			for _, s := range tt.contains {
				if !bytes.Contains(res.body, []byte(s)) {
					t.Errorf("body does not contain %q:\n%s", s, res.body)
				}
			}
			for _, s := range tt.excludes {
				if bytes.Contains(res.body, []byte(s)) {
					t.Errorf("body contains %q:\n%s", s, res.body)
				}
			}
		})
	}
}

// TestFaultGoldens pins the exact bytes of the faults of each kind.
func TestFaultGoldens(t *testing.T) {
	tests := []struct {
		name   string
		call   call
		status int
	}{
		{name: "unauthenticated12", status: 401,
			call: call{version: SOAP12, user: adminUser, pass: "wrong", body: soapEnvelope(SOAP12, "", getTokenBody)}},
		{name: "versionMismatch11", status: 500,
			call: call{body: `<Envelope xmlns="urn:not-soap"><Body/></Envelope>`}},
		{name: "versionMismatch12", status: 500,
			call: call{version: SOAP12, body: `<Envelope xmlns="urn:not-soap"><Body/></Envelope>`}},
		{name: "mustUnderstand11", status: 500,
			call: call{body: soapEnvelope(SOAP11, `<w:Security xmlns:w="urn:x" soap:mustUnderstand="1"/>`, getTokenBody)}},
		{name: "mustUnderstand12", status: 500,
			call: call{version: SOAP12, body: soapEnvelope(SOAP12, `<w:Security xmlns:w="urn:x&amp;&quot;" env:mustUnderstand="true"/><w:Other xmlns:w="urn:y" env:mustUnderstand="false"/>`, getTokenBody)}},
		{name: "unknownOperation12", status: 400,
			call: call{version: SOAP12, body: soapEnvelope(SOAP12, "", `<t:dropTables/>`)}},
		{name: "internal11", status: 500,
			call: call{body: soapEnvelope(SOAP11, "", `<t:revokeTokens><t:user>x</t:user></t:revokeTokens>`)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := serve(t, newHandler(&fakeService{err: errorsNew("disk on fire")}, nil), tt.call)
			if res.status != tt.status {
				t.Errorf("status = %d, want %d", res.status, tt.status)
			}
			golden(t, "fault-"+tt.name, res.body)
		})
	}
}

// TestBodyOverCapWithoutLength checks the cap when the length is not
// announced (chunked), so that it is enforced while reading.
func TestBodyOverCapWithoutLength(t *testing.T) {
	for _, v := range []Version{SOAP11, SOAP12} {
		t.Run(v.String(), func(t *testing.T) {
			h := newHandler(&fakeService{}, nil)
			h.MaxBodyBytes = 1000
			r := call{version: v, body: soapEnvelope(v, "", `<t:getToken><t:tokenId>`+strings.Repeat("x", 1000)+`</t:tokenId></t:getToken>`)}.request()
			r.ContentLength = -1
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code != http.StatusRequestEntityTooLarge {
				t.Errorf("status = %d, want 413\n%s", rec.Code, rec.Body)
			}
			if want := v.vocab().contentType; rec.Header().Get("Content-Type") != want {
				t.Errorf("Content-Type = %q, want %q", rec.Header().Get("Content-Type"), want)
			}
		})
	}
}

// TestInternalErrorsAreNotSent checks that what the client sees of an
// internal error, or a panic, is a generic Server fault, and that the log
// has the cause with the request id that the response carries.
func TestInternalErrorsAreNotSent(t *testing.T) {
	const secret = "sqlite: no such table: tokens (SELECT id FROM tokens WHERE user = 'alice')"
	tests := []struct {
		name string
		svc  *fakeService
		// in the log
		logs string
	}{
		{name: "error", svc: &fakeService{err: errorsNew(secret)}, logs: secret},
		{name: "wrapped domain-looking error", svc: &fakeService{err: errorsNew("tokenadmin: TokenNotFound: " + secret)}, logs: secret},
		{name: "panic", svc: &fakeService{panic: secret}, logs: secret},
		{name: "panic with an error", svc: &fakeService{panic: errorsNew(secret)}, logs: "goroutine"},
	}
	for _, tt := range tests {
		for _, v := range []Version{SOAP11, SOAP12} {
			t.Run(tt.name+"/"+v.String(), func(t *testing.T) {
				var log bytes.Buffer
				res := serve(t, newHandler(tt.svc, &log), call{version: v, body: soapEnvelope(v, "", getTokenBody)})
				vc := v.vocab()
				checkFault(t, res, 500, vc.contentType, vc.server, tokenadmin.CodeInternal)
				if res.faultString != "internal error" || res.detailMessage != "internal error" {
					t.Errorf("fault text = %q / %q, want \"internal error\"", res.faultString, res.detailMessage)
				}
				for _, s := range []string{"sqlite", "SELECT", "goroutine"} {
					if bytes.Contains(res.body, []byte(s)) {
						t.Errorf("response contains %q:\n%s", s, res.body)
					}
				}
				if !strings.Contains(log.String(), tt.logs) {
					t.Errorf("log does not contain %q:\n%s", tt.logs, log.String())
				}
				id := res.header.Get("X-Request-Id")
				if id == "" || !strings.Contains(log.String(), "request_id="+id) {
					t.Errorf("X-Request-Id %q not in log:\n%s", id, log.String())
				}
			})
		}
	}
}

// TestRequestIDFromProxy checks that a sane incoming X-Request-Id is used
// in logs and a hostile one is not.
func TestRequestIDFromProxy(t *testing.T) {
	tests := []struct {
		name, in string
		same     bool
	}{
		{name: "sane id is kept", in: "req-42.abc_DEF", same: true},
		{name: "id with spaces is replaced", in: "a b"},
		{name: "id with quotes is replaced", in: `a"b`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log bytes.Buffer
			res := serve(t, newHandler(&fakeService{err: errorsNew("boom")}, &log),
				call{header: http.Header{"X-Request-Id": {tt.in}}, body: soapEnvelope(SOAP11, "", getTokenBody)})
			got := res.header.Get("X-Request-Id")
			if (got == tt.in) != tt.same || got == "" {
				t.Errorf("X-Request-Id = %q for %q", got, tt.in)
			}
		})
	}
}

// TestAnonymousServer checks a Server without Authenticator, a header
// processor that sets the caller, and an operation of another namespace:
// the engine knows nothing of TokenAdmin.
func TestAnonymousServer(t *testing.T) {
	const ns = "urn:example:echo"
	s := &Server{Namespaces: []Namespace{{Prefix: "e", URI: ns}}}
	user := xml.Name{Space: "urn:example:auth", Local: "User"}
	s.HandleHeader(user, func(_ context.Context, req *Request, block *Element) error {
		if block.Text == "" {
			return tokenadmin.Errorf(tokenadmin.CodeUnauthenticated, "empty user")
		}
		req.Caller = tokenadmin.Caller{Name: block.Text, Role: tokenadmin.RoleUser}
		return nil
	})
	s.Register(Operation{
		Name:   xml.Name{Space: ns, Local: "whoami"},
		Action: "urn:example:echo:whoami",
		Handle: func(_ context.Context, req *Request, w *Writer) error {
			w.Elem("e:whoamiResponse", req.Caller.Name)
			return nil
		},
	})
	tests := []struct {
		name   string
		v      Version
		header string
		status int
		want   string
	}{
		{name: "no header is anonymous", v: SOAP11, status: 200,
			want: `<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:e="urn:example:echo"><soap:Body><e:whoamiResponse></e:whoamiResponse></soap:Body></soap:Envelope>`},
		{name: "mandatory header that is understood", v: SOAP12, header: `<a:User xmlns:a="urn:example:auth" env:mustUnderstand="true">bob</a:User>`, status: 200,
			want: `<?xml version="1.0" encoding="UTF-8"?><env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" xmlns:e="urn:example:echo"><env:Body><e:whoamiResponse>bob</e:whoamiResponse></env:Body></env:Envelope>`},
		{name: "header processor error is a fault without detail", v: SOAP11, header: `<a:User xmlns:a="urn:example:auth"/>`, status: 500,
			want: `<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:e="urn:example:echo"><soap:Body><soap:Fault><faultcode>soap:Client</faultcode><faultstring xml:lang="en">empty user</faultstring></soap:Fault></soap:Body></soap:Envelope>`},
		{name: "header for another role is not processed", v: SOAP12, header: `<a:User xmlns:a="urn:example:auth" env:role="urn:other">bob</a:User>`, status: 200,
			want: `<?xml version="1.0" encoding="UTF-8"?><env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" xmlns:e="urn:example:echo"><env:Body><e:whoamiResponse></e:whoamiResponse></env:Body></env:Envelope>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := strings.ReplaceAll(soapEnvelope(tt.v, tt.header, `<e:whoami xmlns:e="urn:example:echo"/>`), ` xmlns:t="urn:tokenadmin:v1"`, "")
			res := serve(t, s, call{version: tt.v, anonymous: true, body: body})
			if res.status != tt.status {
				t.Errorf("status = %d, want %d", res.status, tt.status)
			}
			if string(res.body) != tt.want {
				t.Errorf("body:\n got: %s\nwant: %s", res.body, tt.want)
			}
		})
	}
}

func TestRegisterTwicePanics(t *testing.T) {
	s := &Server{}
	op := Operation{Name: xml.Name{Space: "urn:x", Local: "op"}, Handle: func(context.Context, *Request, *Writer) error { return nil }}
	s.Register(op)
	defer func() {
		if recover() == nil {
			t.Error("second Register did not panic")
		}
	}()
	s.Register(op)
}

func TestWSDL(t *testing.T) {
	tests := []struct {
		name   string
		target string
		header http.Header
		trust  bool
		tls    bool
		want   string // soap:address location
	}{
		{name: "lower-case query", target: TokenAdminPath + "?wsdl", want: "http://tokenadmin.example/services/TokenAdmin"},
		{name: "upper-case query", target: TokenAdminPath + "?WSDL", want: "http://tokenadmin.example/services/TokenAdmin"},
		{name: "mixed-case query with value", target: TokenAdminPath + "?x=1&WsDl=", want: "http://tokenadmin.example/services/TokenAdmin"},
		{name: "TLS gives https", target: TokenAdminPath + "?wsdl", tls: true, want: "https://tokenadmin.example/services/TokenAdmin"},
		{name: "forwarded headers ignored by default", target: TokenAdminPath + "?wsdl",
			header: http.Header{"X-Forwarded-Proto": {"https"}, "X-Forwarded-Host": {"api.example.com"}},
			want:   "http://tokenadmin.example/services/TokenAdmin"},
		{name: "forwarded headers trusted", target: TokenAdminPath + "?wsdl", trust: true,
			header: http.Header{"X-Forwarded-Proto": {"https"}, "X-Forwarded-Host": {"api.example.com:8443, proxy.internal"}},
			want:   "https://api.example.com:8443/services/TokenAdmin"},
		{name: "hostile forwarded host is ignored", target: TokenAdminPath + "?wsdl", trust: true,
			header: http.Header{"X-Forwarded-Host": {`evil"/><x a="`}},
			want:   "http://tokenadmin.example/services/TokenAdmin"},
		{name: "unknown forwarded proto is ignored", target: TokenAdminPath + "?wsdl", trust: true,
			header: http.Header{"X-Forwarded-Proto": {"gopher"}},
			want:   "http://tokenadmin.example/services/TokenAdmin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHandler(&fakeService{}, nil)
			h.TrustForwardedHeaders = tt.trust
			r := httptest.NewRequest(http.MethodGet, "http://tokenadmin.example"+tt.target, nil)
			for k, v := range tt.header {
				r.Header[k] = v
			}
			if !tt.tls {
				r.TLS = nil
			} else if r.TLS == nil {
				r = httptest.NewRequest(http.MethodGet, "https://tokenadmin.example"+tt.target, nil)
				for k, v := range tt.header {
					r.Header[k] = v
				}
			}
			// Twice: the second answer comes from the cache.
			for range 2 {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, r)
				if rec.Code != 200 {
					t.Fatalf("status = %d\n%s", rec.Code, rec.Body)
				}
				if ct := rec.Header().Get("Content-Type"); ct != ct11 {
					t.Errorf("Content-Type = %q", ct)
				}
				var doc struct {
					Ports []struct {
						Address struct {
							Location string `xml:"location,attr"`
						} `xml:"address"`
					} `xml:"service>port"`
				}
				if err := xml.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
					t.Fatal(err)
				}
				if len(doc.Ports) != 2 {
					t.Fatalf("%d ports, want 2", len(doc.Ports))
				}
				for _, p := range doc.Ports {
					if p.Address.Location != tt.want {
						t.Errorf("location = %q, want %q", p.Address.Location, tt.want)
					}
				}
			}
		})
	}
}

func TestWSDLHead(t *testing.T) {
	h := newHandler(&fakeService{}, nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodHead, "http://tokenadmin.example"+TokenAdminPath+"?wsdl", nil))
	if rec.Code != 200 || rec.Body.Len() != 0 || rec.Header().Get("Content-Length") == "" {
		t.Errorf("HEAD ?wsdl: status %d, %d body bytes, Content-Length %q", rec.Code, rec.Body.Len(), rec.Header().Get("Content-Length"))
	}
}

// TestWSDLCacheIsBounded sends many Host headers.
func TestWSDLCacheIsBounded(t *testing.T) {
	h := newHandler(&fakeService{}, nil)
	for i := range 3 * maxWSDLCache {
		r := httptest.NewRequest(http.MethodGet, "http://tokenadmin.example"+TokenAdminPath+"?wsdl", nil)
		r.Host = "h" + strings.Repeat("x", i)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), "http://"+r.Host+TokenAdminPath) {
			t.Fatalf("status %d for host %s", rec.Code, r.Host)
		}
	}
	if n := len(h.wsdlCache); n > maxWSDLCache {
		t.Errorf("cache holds %d entries, want at most %d", n, maxWSDLCache)
	}
}
