package tokenadmin_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	pathpkg "path"
	"path/filepath"
	"strings"
	"testing"

	"tokenadmin/legacy"
)

// FuzzLegacyEnvelopes sends mutations of the recorded legacy requests
// (every profile's, to the is-5.7 stack, which serves the most
// operations) as admin, and checks what must hold for any input: no
// panic and no internal error (every input here is the client's doing, so
// an ERROR in the log is a bug), a status from the legacy wire's set, and
// a well-formed SOAP envelope whenever the response is XML.
//
//	go test -run '^$' -fuzz FuzzLegacyEnvelopes -fuzztime 60s .
func FuzzLegacyEnvelopes(f *testing.F) {
	st := newLegacyStackProfile(f, legacy.IS57, false)
	paths, err := filepath.Glob(filepath.Join(legacyRoot, "*", "*.http"))
	if err != nil || len(paths) == 0 {
		f.Fatalf("no recorded legacy requests (%v)", err)
	}
	for _, p := range paths {
		if strings.Contains(p, "fault-internal-") {
			continue
		}
		rec, err := readRecordedRequest(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(rec.req.URL.Path, rec.req.Header.Get("Content-Type"), rec.req.Header.Get("SOAPAction"), rec.body)
	}
	handler := st.srv.Config.Handler
	f.Fuzz(func(t *testing.T, path, contentType, soapAction string, body []byte) {
		// Paths the mux would clean are redirected before any of our
		// code runs: not interesting here.
		if !strings.HasPrefix(path, "/services/") || pathpkg.Clean(path) != path ||
			strings.ContainsFunc(path, func(r rune) bool { return r <= ' ' || r > '~' || strings.ContainsRune("?#%", r) }) {
			t.Skip()
		}
		req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("SOAPAction", soapAction)
		req.SetBasicAuth("admin", "admin-secret")
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, req)
		if l := st.log.String(); strings.Contains(l, "level=ERROR") {
			t.Fatalf("internal error for a client's input; log:\n%s", l)
		}
		switch w.Code {
		case 200, 202, 400, 404, 405, 413, 415, 500:
		default:
			t.Fatalf("status %d:\n%s", w.Code, w.Body)
		}
		ct := w.Header().Get("Content-Type")
		if !strings.HasPrefix(ct, "text/xml") && !strings.HasPrefix(ct, "application/soap+xml") {
			return // plain-text transport errors (404, 405, 413, 415) and 202s
		}
		d := xml.NewDecoder(bytes.NewReader(w.Body.Bytes()))
		var root *xml.StartElement
		for {
			tok, err := d.Token()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("response is not well-formed: %v\n%q", err, w.Body.Bytes())
			}
			if se, ok := tok.(xml.StartElement); ok && root == nil {
				root = &se
			}
		}
		if root == nil || root.Name.Local != "Envelope" {
			t.Fatalf("response is not a SOAP envelope:\n%s", w.Body.Bytes())
		}
	})
}
