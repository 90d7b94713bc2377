package oauth

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"tokenadmin"
)

// form holds a request's parameters, each at most once.
type form map[string]string

// get returns a parameter, "" when absent. RFC 6749 §3.1, §3.2:
// "Parameters sent without a value MUST be treated as if they were omitted
// from the request."
func (f form) get(name string) string { return f[name] }

// checkContentType requires application/x-www-form-urlencoded (RFC 6749
// §3.2 and Appendix B; RFC 7009 §2.1; RFC 7662 §2.1), in UTF-8: Appendix B
// encodes names and values as UTF-8, so any other charset is refused.
func checkContentType(r *http.Request) error {
	v := r.Header.Values("Content-Type")
	if len(v) != 1 {
		return tokenadmin.Errorf(tokenadmin.CodeInvalid, "Content-Type must be application/x-www-form-urlencoded")
	}
	mt, params, err := mime.ParseMediaType(v[0])
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return tokenadmin.Errorf(tokenadmin.CodeInvalid, "Content-Type must be application/x-www-form-urlencoded")
	}
	for k, v := range params {
		if k != "charset" || !strings.EqualFold(v, "utf-8") {
			return tokenadmin.Errorf(tokenadmin.CodeInvalid, "Content-Type may have only charset=UTF-8 as a parameter")
		}
	}
	return nil
}

// readForm reads and parses the body, which must not exceed limit bytes.
func readForm(w http.ResponseWriter, r *http.Request, limit int64) (form, error) {
	if r.ContentLength > limit {
		return nil, errTooLarge(limit)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, errTooLarge(limit)
		}
		// The client hung up or sent a broken body: nothing to tell it,
		// but it must not look like our fault.
		return nil, tokenadmin.Errorf(tokenadmin.CodeInvalid, "cannot read the request body")
	}
	return parseForm(string(body))
}

func errTooLarge(limit int64) error {
	return tokenadmin.Errorf(tokenadmin.CodeInvalid, "request body is larger than %d bytes", limit)
}

// parseForm parses an application/x-www-form-urlencoded body as the URL
// Standard's parser does (split on '&', skip empty pairs, split at the
// first '=', '+' is a space, percent-decoding), but strictly: a malformed
// percent escape, a name or value that is not UTF-8, and a name that
// occurs twice are errors. RFC 6749 §3.1, §3.2: "Request and response
// parameters MUST NOT be included more than once." That holds for unknown
// parameters too, which are otherwise ignored; refusing them all keeps
// the rule simple and leaves no room for two parsers to disagree.
func parseForm(body string) (form, error) {
	f := make(form, 8)
	for body != "" {
		var pair string
		pair, body, _ = strings.Cut(body, "&")
		if pair == "" {
			continue
		}
		rawName, rawValue, _ := strings.Cut(pair, "=")
		name, err1 := url.QueryUnescape(rawName)
		value, err2 := url.QueryUnescape(rawValue)
		if err1 != nil || err2 != nil {
			return nil, tokenadmin.Errorf(tokenadmin.CodeInvalid, "malformed percent-encoding in the request body")
		}
		if !utf8.ValidString(name) || !utf8.ValidString(value) {
			return nil, tokenadmin.Errorf(tokenadmin.CodeInvalid, "request parameters must be UTF-8")
		}
		if _, dup := f[name]; dup {
			return nil, tokenadmin.Errorf(tokenadmin.CodeInvalid, "parameter %s is included more than once", quoteName(name))
		}
		f[name] = value
	}
	return f, nil
}

// quoteName quotes a parameter name for an error description, shortened
// so that a client cannot make us echo much of its request.
func quoteName(name string) string {
	const max = 40
	if len(name) > max {
		name = name[:max] + "..."
	}
	return "'" + name + "'"
}
