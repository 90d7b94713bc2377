package legacy

import (
	"strings"
	"testing"

	"tokenadmin/soap"
)

func headerOf(t *testing.T, v version, blocks string) *soap.Element {
	t.Helper()
	doc := `<e:Envelope xmlns:e="` + v.ns() + `"><e:Header>` + blocks + `</e:Header><e:Body/></e:Envelope>`
	root, err := soap.Parse([]byte(doc), soap.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	_, h, _, f := readEnvelope(root)
	if f != nil || h == nil {
		t.Fatalf("readEnvelope: %v %v", h, f)
	}
	return h
}

func TestReadHeaders(t *testing.T) {
	const (
		final = ` xmlns:wsa="` + nsWSA + `"`
		sub   = ` xmlns:wsa="` + nsWSASub + `"`
	)
	for _, tc := range []struct {
		name    string
		v       version
		blocks  string
		wantNS  string // "" : no addressing
		wantID  string
		anon    bool
		wantErr string // substring of the fault message; "" : none
	}{
		{"none", soap11, `<x:Trace xmlns:x="urn:x">on</x:Trace>`, "", "", false, ""},
		{"final", soap11, `<wsa:MessageID` + final + `>m1</wsa:MessageID><wsa:Action` + final + ` e:mustUnderstand="1">urn:a</wsa:Action>`, nsWSA, "m1", true, ""},
		{"submission 1.2 true", soap12, `<wsa:To` + sub + ` e:mustUnderstand="true">x</wsa:To>`, nsWSASub, "", true, ""},
		{"both prefer final", soap11, `<wsa:MessageID` + sub + `>s</wsa:MessageID><wsa:MessageID` + final + `>f</wsa:MessageID>`, nsWSA, "f", true, ""},
		{"reply anonymous", soap11, `<wsa:ReplyTo` + final + `><wsa:Address>` + wsaAnonFinal + `</wsa:Address></wsa:ReplyTo>`, nsWSA, "", true, ""},
		{"reply elsewhere", soap11, `<wsa:ReplyTo` + final + `><wsa:Address>https://example.com/cb</wsa:Address></wsa:ReplyTo>`, nsWSA, "", false, ""},
		{"other actor ignored", soap11, `<wsa:MessageID` + final + ` e:actor="urn:gw">m</wsa:MessageID><x:T xmlns:x="urn:x" e:actor="urn:gw" e:mustUnderstand="1"/>`, "", "", false, ""},
		{"role none ignored", soap12, `<x:T xmlns:x="urn:x" e:role="http://www.w3.org/2003/05/soap-envelope/role/none" e:mustUnderstand="true"/>`, "", "", false, ""},
		{"mustUnderstand 0", soap11, `<x:T xmlns:x="urn:x" e:mustUnderstand="0"/>`, "", "", false, ""},
		{"must understand", soap11, `<x:T xmlns:x="urn:x" e:mustUnderstand="1"/>`, "", "", false, "Must Understand check failed for header urn:x : T"},
		{"role next mandatory", soap12, `<x:T xmlns:x="urn:x" e:role="http://www.w3.org/2003/05/soap-envelope/role/next" e:mustUnderstand="1"/>`, "", "", false, "urn:x : T"},
		{"unknown wsa mandatory", soap11, `<wsa:Bogus` + final + ` e:mustUnderstand="1"/>`, nsWSA, "", true, nsWSA + " : Bogus"},
		{"bad value", soap11, `<x:T xmlns:x="urn:x" e:mustUnderstand="yes"/>`, "", "", false, "Invalid value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, f := readHeaders(tc.v, headerOf(t, tc.v, tc.blocks), false)
			switch {
			case tc.wantNS == "" && a != nil:
				t.Errorf("addressing %+v, want none", a)
			case tc.wantNS != "" && (a == nil || a.ns != tc.wantNS || a.messageID != tc.wantID || a.replyAnon != tc.anon):
				t.Errorf("addressing %+v, want ns %s id %q anon %v", a, tc.wantNS, tc.wantID, tc.anon)
			}
			if (f == nil) != (tc.wantErr == "") || (f != nil && !strings.Contains(f.message, tc.wantErr)) {
				t.Errorf("fault %+v, want %q", f, tc.wantErr)
			}
			if f != nil && strings.HasPrefix(tc.wantErr, "Must") && f.code != codeMustUnderstand {
				t.Errorf("code %s", f.code)
			}
		})
	}
}

func TestAddressingHeader(t *testing.T) {
	var b soap.Writer
	(*addressing)(nil).writeHeader(&b, "x")
	if b.Len() != 0 {
		t.Fatalf("nil addressing wrote %s", b.Bytes())
	}
	(&addressing{ns: nsWSASub, messageID: "m<1>", replyAnon: true}).writeHeader(&b, "urn:opResponse")
	want := `<soapenv:Header xmlns:wsa="` + nsWSASub + `"><wsa:To>` + wsaAnonSub + `</wsa:To><wsa:Action>urn:opResponse</wsa:Action><wsa:RelatesTo>m&lt;1&gt;</wsa:RelatesTo></soapenv:Header>`
	if string(b.Bytes()) != want {
		t.Errorf("got  %s\nwant %s", b.Bytes(), want)
	}
	if got := (&addressing{ns: nsWSA}).faultAction(); got != "http://www.w3.org/2005/08/addressing/soap/fault" {
		t.Errorf("fault action %s", got)
	}
	if got := (&addressing{ns: nsWSASub}).faultAction(); got != "http://schemas.xmlsoap.org/ws/2004/08/addressing/fault" {
		t.Errorf("fault action %s", got)
	}
}
