package soap

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"tokenadmin"
)

// dump renders a tree compactly: {ns}local[attr=value ...](children)"text".
func dump(e *Element) string {
	var b strings.Builder
	var walk func(*Element)
	walk = func(e *Element) {
		b.WriteString("{" + e.Name.Space + "}" + e.Name.Local)
		if len(e.Attr) > 0 {
			b.WriteString("[")
			for i, a := range e.Attr {
				if i > 0 {
					b.WriteString(" ")
				}
				if a.Name.Space != "" {
					b.WriteString("{" + a.Name.Space + "}")
				}
				b.WriteString(a.Name.Local + "=" + a.Value)
			}
			b.WriteString("]")
		}
		if len(e.Children) > 0 {
			b.WriteString("(")
			for _, c := range e.Children {
				walk(c)
			}
			b.WriteString(")")
		}
		if strings.TrimSpace(e.Text) != "" {
			b.WriteString(`"` + e.Text + `"`)
		}
	}
	walk(e)
	return b.String()
}

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		lim  Limits
		want string // dump of the tree
		err  string // part of the error message
	}{
		{name: "default namespace and scoping",
			doc:  `<a xmlns="u1"><b/><c xmlns="u2"><d/></c><e xmlns=""/></a>`,
			want: `{u1}a[xmlns=u1]({u1}b{u2}c[xmlns=u2]({u2}d){}e[xmlns=])`},
		{name: "prefixes, redefined in a child",
			doc:  `<p:a xmlns:p="u1"><p:b xmlns:p="u2"/><p:c/></p:a>`,
			want: `{u1}a[{xmlns}p=u1]({u2}b[{xmlns}p=u2]{u1}c)`},
		{name: "attribute namespaces",
			doc:  `<p:a xmlns:p="u1" xmlns="u3" x="1" p:y="2" xml:lang="en"/>`,
			want: `{u1}a[{xmlns}p=u1 xmlns=u3 x=1 {u1}y=2 {http://www.w3.org/XML/1998/namespace}lang=en]`},
		{name: "text, CDATA, entities and comments",
			doc:  `<a>x&amp;<!-- c -->y<![CDATA[<z>]]>&#x41;</a>`,
			want: `{}a"x&y<z>A"`},
		{name: "text in pieces around and inside children",
			doc:  `<a>x<b>1<!---->2</b>y<c>3<![CDATA[4]]></c>z</a>`,
			want: `{}a({}b"12"{}c"34")"xyz"`},
		{name: "line ends are normalised",
			doc:  "<a>x\r\ny\rz</a>",
			want: "{}a\"x\ny\nz\""},
		{name: "processing instructions are dropped",
			doc:  `<?xml version="1.0"?><?pi data?><a><?pi?></a><!-- end -->`,
			want: `{}a`},
		{name: "undeclared element prefix", doc: `<p:a/>`, err: "undeclared namespace prefix"},
		{name: "undeclared attribute prefix", doc: `<a p:x="1"/>`, err: "undeclared namespace prefix"},
		{name: "prefix out of scope", doc: `<a><b xmlns:p="u"/><p:c/></a>`, err: "undeclared namespace prefix"},
		{name: "empty prefix declaration", doc: `<p:a xmlns:p=""/>`, err: "bad declaration"},
		{name: "rebinding xml", doc: `<a xmlns:xml="u"/>`, err: "bad declaration"},
		{name: "end tag with another prefix for the same namespace", doc: `<p:a xmlns:p="u" xmlns:q="u"></q:a>`, err: "malformed XML"},
		{name: "duplicate attribute through two prefixes", doc: `<a xmlns:p="u" xmlns:q="u" p:x="1" q:x="2"/>`, err: "repeated attribute"},
		{name: "two roots", doc: `<a/><b/>`, err: "more than one root"},
		{name: "no root", doc: ` <!-- nothing --> `, err: "malformed XML"},
		{name: "unclosed", doc: `<a><b></b>`, err: "malformed XML"},
		{name: "stray end tag", doc: `<a></a></b>`, err: "malformed XML"},
		{name: "text before root", doc: `x<a/>`, err: "text outside"},
		{name: "doctype", doc: `<!DOCTYPE a><a/>`, err: "document type"},
		{name: "undefined entity", doc: `<a>&ent;</a>`, err: "malformed XML"},
		{name: "NUL character reference", doc: `<a>&#0;</a>`, err: "malformed XML"},
		{name: "control character", doc: "<a>\x01</a>", err: "malformed XML"},
		{name: "encoding", doc: `<?xml version="1.0" encoding="windows-1252"?><a/>`, err: "UTF-8"},
		{name: "XML 1.1", doc: `<?xml version="1.1"?><a/>`, err: "malformed XML"},
		{name: "invalid UTF-8 in a name", doc: "<a\xc3/>", err: "UTF-8"},
		{name: "depth at the limit", doc: `<a><b><c/></b></a>`, lim: Limits{MaxDepth: 3}, want: `{}a({}b({}c))`},
		{name: "depth over the limit", doc: `<a><b><c><d/></c></b></a>`, lim: Limits{MaxDepth: 3}, err: "nested more than 3"},
		{name: "elements at the limit", doc: `<a><b/><b/></a>`, lim: Limits{MaxElements: 3}, want: `{}a({}b{}b)`},
		{name: "elements over the limit", doc: `<a><b/><b/><b/></a>`, lim: Limits{MaxElements: 3}, err: "more than 3 elements"},
		{name: "attributes over the limit", doc: `<a x="1" y="2" xmlns:p="u"/>`, lim: Limits{MaxAttributes: 2}, err: "more than 2 attributes"},
		{name: "text at the limit", doc: `<a>1234<!-- -->5678</a>`, lim: Limits{MaxTextBytes: 8}, want: `{}a"12345678"`},
		{name: "text over the limit in pieces", doc: `<a>1234<!-- -->56789</a>`, lim: Limits{MaxTextBytes: 8}, err: "more than 8 bytes"},
		{name: "long names are shortened in messages", doc: `<` + strings.Repeat("n", 500) + ` a="1" b="2"/>`, lim: Limits{MaxAttributes: 1}, err: `"` + strings.Repeat("n", 128) + `…"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, err := parse([]byte(tt.doc), tt.lim)
			if tt.err != "" {
				if err == nil {
					t.Fatalf("no error; tree %s", dump(root))
				}
				if tokenadmin.ErrorCode(err) != tokenadmin.CodeInvalid || !strings.Contains(tokenadmin.ErrorMessage(err), tt.err) {
					t.Errorf("error = %v, want InvalidRequest containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := dump(root); got != tt.want {
				t.Errorf("tree:\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestWriterEscaping(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		text     string
		attrText string
		back     string // what a parser reads back, from text or attribute
	}{
		{name: "plain", in: "abc", text: "abc", attrText: "abc", back: "abc"},
		{name: "markup", in: `<a href="x">&'`, text: `&lt;a href="x"&gt;&amp;'`, attrText: `&lt;a href=&quot;x&quot;&gt;&amp;'`, back: `<a href="x">&'`},
		{name: "white space", in: "a\tb\nc\rd", text: "a\tb\nc&#xD;d", attrText: "a&#x9;b&#xA;c&#xD;d", back: "a\tb\nc\rd"},
		{name: "control characters", in: "a\x00b\x1fc\x7f", text: "a\uFFFDb\uFFFDc\x7f", attrText: "a\uFFFDb\uFFFDc\x7f", back: "a\uFFFDb\uFFFDc\x7f"},
		{name: "invalid UTF-8", in: "a\xffb\xc3", text: "a\uFFFDb\uFFFD", attrText: "a\uFFFDb\uFFFD", back: "a\uFFFDb\uFFFD"},
		{name: "non-characters", in: "\uFFFE\uFFFF\uFFFD", text: "\uFFFD\uFFFD\uFFFD", attrText: "\uFFFD\uFFFD\uFFFD", back: "\uFFFD\uFFFD\uFFFD"},
		{name: "multibyte", in: "é😀ß", text: "é😀ß", attrText: "é😀ß", back: "é😀ß"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w Writer
			w.Text(tt.in)
			if got := string(w.Bytes()); got != tt.text {
				t.Errorf("text = %q, want %q", got, tt.text)
			}
			w = Writer{}
			w.Begin("e")
			w.Attr("a", tt.in)
			w.SelfClose()
			if got, want := string(w.Bytes()), `<e a="`+tt.attrText+`"/>`; got != want {
				t.Errorf("attr = %q, want %q", got, want)
			}
			// Whatever went in, the parser reads back what the writer
			// meant.
			w = Writer{}
			w.Begin("e")
			w.Attr("a", tt.in)
			w.EndAttrs()
			w.Text(tt.in)
			w.Close("e")
			root, err := parse(w.Bytes(), Limits{})
			if err != nil {
				t.Fatalf("%v: %q", err, w.Bytes())
			}
			if a, _ := root.AttrValue("", "a"); a != tt.back {
				t.Errorf("attribute reads back as %q, want %q", a, tt.back)
			}
			if root.Text != tt.back {
				t.Errorf("text reads back as %q, want %q", root.Text, tt.back)
			}
		})
	}
}

func TestWriterValues(t *testing.T) {
	var w Writer
	w.ElemBool("b", false)
	w.ElemBool("b", true)
	w.ElemInt("i", 0)
	w.ElemInt("i", -42)
	w.ElemTime("t", time.Date(2025, 1, 2, 4, 4, 5, 999999999, time.FixedZone("X", 3600)))
	w.ElemTime("t", time.Time{})
	want := `<b>false</b><b>true</b><i>0</i><i>-42</i><t>2025-01-02T03:04:05Z</t><t>0001-01-01T00:00:00Z</t>`
	if got := string(w.Bytes()); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestCollapse(t *testing.T) {
	for in, want := range map[string]string{
		"":              "",
		"x":             "x",
		" \t\r\n x \n":  "x",
		" a  \t b ":     "a b",
		"\u00a0x\u00a0": "\u00a0x\u00a0", // not XML white space
	} {
		if got := collapse(in); got != want {
			t.Errorf("collapse(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAppendDateTime(t *testing.T) {
	for _, tm := range []time.Time{
		{},
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.FixedZone("X", -9*3600-30*60)),
		time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Unix(1<<40, 0),
	} {
		want := tm.UTC().Format(DateTimeFormat)
		if got := string(appendDateTime(nil, tm)); got != want {
			t.Errorf("appendDateTime(%v) = %q, want %q", tm, got, want)
		}
	}
}

// fragmentedRequest is a SOAP 1.1 getToken request whose tokenId is n
// bytes of "a"; when fragmented, each byte is followed by an empty
// comment, so the parser sees n separate runs of character data.
func fragmentedRequest(n int, fragmented bool) []byte {
	piece := "a"
	if fragmented {
		piece = "a<!---->"
	}
	return []byte(`<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:urn="urn:tokenadmin:v1">` +
		`<soap:Body><urn:getToken><urn:tokenId>` + strings.Repeat(piece, n) + `</urn:tokenId></urn:getToken></soap:Body>` +
		`</soap:Envelope>`)
}

// Text split by comments (or CDATA sections, or entity references) into
// many runs must cost memory linear in the document, not the square of the
// text's length: 65,000 fragments once cost over a second of CPU and
// gigabytes of copying per request.
func TestParseFragmentedTextAllocatesLinearly(t *testing.T) {
	const n = 65000 // under DefaultMaxTextBytes
	doc := fragmentedRequest(n, true)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	root, err := parse(doc, Limits{})
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	tokenID := root.Children[0].Children[0].Children[0]
	if tokenID.Name.Local != "tokenId" || tokenID.Text != strings.Repeat("a", n) {
		t.Fatalf("tokenId element %s has %d bytes of text; want %d", tokenID.Name.Local, len(tokenID.Text), n)
	}
	// encoding/xml itself allocates a few tens of bytes per token; a
	// quadratic parser allocates n²/2, about 2 GB, here.
	if got, bound := after.TotalAlloc-before.TotalAlloc, uint64(10*len(doc)); got > bound {
		t.Errorf("parsing a %d-byte document of %d text fragments allocated %d bytes; want at most %d (10× the document)", len(doc), n, got, bound)
	}
}
