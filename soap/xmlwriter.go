package soap

import (
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// Writer appends XML to a byte buffer. It writes exactly what it is told,
// with no indentation and no namespace bookkeeping: names are written as
// given, prefix included ("tns:tokenId"), so the prefixes must be declared
// on an enclosing element (the Server declares its Namespaces on the
// Envelope). Text and attribute values are escaped, and characters that XML
// 1.0 does not allow are replaced with U+FFFD, so the output is always
// well-formed whatever the data.
type Writer struct {
	b []byte
}

// DateTimeFormat is how Writer.ElemTime writes an xs:dateTime: UTC, whole
// seconds, "Z" (an RFC 3339 profile every SOAP stack reads).
const DateTimeFormat = "2006-01-02T15:04:05Z"

// Bytes returns the XML written so far. It aliases the Writer's buffer.
func (w *Writer) Bytes() []byte { return w.b }

// Len returns the number of bytes written.
func (w *Writer) Len() int { return len(w.b) }

// Raw appends s unescaped; s must be well-formed XML.
func (w *Writer) Raw(s string) { w.b = append(w.b, s...) }

// Open writes the start tag <name>.
func (w *Writer) Open(name string) {
	w.b = append(w.b, '<')
	w.b = append(w.b, name...)
	w.b = append(w.b, '>')
}

// Begin writes an unfinished start tag "<name"; follow it with Attr calls
// and then EndAttrs or SelfClose.
func (w *Writer) Begin(name string) {
	w.b = append(w.b, '<')
	w.b = append(w.b, name...)
}

// Attr writes ` name="value"`, escaping value.
func (w *Writer) Attr(name, value string) {
	w.b = append(w.b, ' ')
	w.b = append(w.b, name...)
	w.b = append(w.b, '=', '"')
	w.b = appendEscaped(w.b, value, true)
	w.b = append(w.b, '"')
}

// EndAttrs finishes a start tag begun with Begin.
func (w *Writer) EndAttrs() { w.b = append(w.b, '>') }

// SelfClose finishes an element begun with Begin as an empty element.
func (w *Writer) SelfClose() { w.b = append(w.b, '/', '>') }

// Close writes the end tag </name>.
func (w *Writer) Close(name string) {
	w.b = append(w.b, '<', '/')
	w.b = append(w.b, name...)
	w.b = append(w.b, '>')
}

// Text writes escaped character data.
func (w *Writer) Text(s string) { w.b = appendEscaped(w.b, s, false) }

// Elem writes <name>text</name>.
func (w *Writer) Elem(name, text string) {
	w.Open(name)
	w.b = appendEscaped(w.b, text, false)
	w.Close(name)
}

// ElemInt writes an integer element (xs:int, xs:long).
func (w *Writer) ElemInt(name string, n int64) {
	w.Open(name)
	w.b = strconv.AppendInt(w.b, n, 10)
	w.Close(name)
}

// ElemBool writes an xs:boolean element as "true" or "false".
func (w *Writer) ElemBool(name string, v bool) {
	w.Open(name)
	w.b = strconv.AppendBool(w.b, v)
	w.Close(name)
}

// ElemTime writes an xs:dateTime element in DateTimeFormat.
func (w *Writer) ElemTime(name string, t time.Time) {
	w.Open(name)
	w.b = appendDateTime(w.b, t)
	w.Close(name)
}

// appendEscaped appends s with the XML special characters escaped. In
// attribute values quotes and white space other than the space are
// escaped too, so that attribute-value normalisation (XML 1.0 §3.3.3)
// gives back s. A carriage return is always written as a character
// reference, or end-of-line handling (§2.11) would turn it into a line
// feed. Bytes that are not UTF-8 and characters outside XML 1.0's Char
// production become U+FFFD.
func appendEscaped(b []byte, s string, attr bool) []byte {
	table := &textEscapes
	if attr {
		table = &attrEscapes
	}
	last := 0
	for i := 0; i < len(s); {
		c := s[i]
		if table[c] == 0 {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if (r == utf8.RuneError && size == 1) || r == 0xFFFE || r == 0xFFFF {
				b = append(b, s[last:i]...)
				b = append(b, "\uFFFD"...)
				last = i + size
			}
			i += size
			continue
		}
		b = append(b, s[last:i]...)
		b = append(b, escapes[table[c]]...)
		i++
		last = i
	}
	return append(b, s[last:]...)
}

// Escape tables: for each byte, 0 when it is written as is, otherwise the
// index of its replacement in escapes. Bytes from 0x80 are checked as
// UTF-8 (escNonASCII).
var (
	escapes                  = [...]string{1: "&amp;", 2: "&lt;", 3: "&gt;", 4: "&quot;", 5: "&#xA;", 6: "&#x9;", 7: "&#xD;", 8: "\uFFFD", 9: ""}
	textEscapes, attrEscapes = escapeTables()
)

const escNonASCII = 9

func escapeTables() (text, attr [256]uint8) {
	for c := range 256 {
		var e uint8
		switch {
		case c == '&':
			e = 1
		case c == '<':
			e = 2
		case c == '>':
			e = 3
		case c == '\r':
			e = 7
		case c == '\n' || c == '\t':
		case c < 0x20:
			e = 8
		case c >= utf8.RuneSelf:
			e = escNonASCII
		}
		text[c], attr[c] = e, e
	}
	attr['"'], attr['\n'], attr['\t'] = 4, 5, 6
	return text, attr
}

// appendDateTime appends t in DateTimeFormat. It is what
// t.UTC().AppendFormat(b, DateTimeFormat) does for years 0 to 9999, at a
// tenth of the cost; a listing writes two per token.
func appendDateTime(b []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return t.AppendFormat(b, DateTimeFormat)
	}
	hour, min, sec := t.Clock()
	return append(b,
		byte('0'+year/1000), byte('0'+year/100%10), byte('0'+year/10%10), byte('0'+year%10), '-',
		byte('0'+month/10), byte('0'+month%10), '-',
		byte('0'+day/10), byte('0'+day%10), 'T',
		byte('0'+hour/10), byte('0'+hour%10), ':',
		byte('0'+min/10), byte('0'+min%10), ':',
		byte('0'+sec/10), byte('0'+sec%10), 'Z')
}

// Buffers are pooled; a buffer that grew past maxPooled (a very long
// listing) is left to the garbage collector rather than kept forever.
const maxPooled = 256 << 10

var writerPool = sync.Pool{New: func() any { return &Writer{b: make([]byte, 0, 8<<10)} }}

func getWriter() *Writer { return writerPool.Get().(*Writer) }

func putWriter(w *Writer) {
	if cap(w.b) > maxPooled {
		return
	}
	w.b = w.b[:0]
	writerPool.Put(w)
}
