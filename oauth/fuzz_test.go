package oauth

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// fuzzPaths are the endpoints FuzzTokenRequest picks by index.
var fuzzPaths = []string{TokenPath, RevokePath, IntrospectPath}

// FuzzTokenRequest sends arbitrary Authorization headers, media types and
// bodies to the endpoints (mostly the token endpoint) backed by the fake
// store, and checks that the handler never fails internally (a panic
// would be a 500, which the fake store never causes) and always answers
// with the no-store headers and JSON: an RFC 6749 §5.2 error, a token
// response, an introspection response, or RFC 7009's empty 200. Seeds are
// in testdata/fuzz/FuzzTokenRequest, with the crashers found so far.
func FuzzTokenRequest(f *testing.F) {
	f.Add(uint8(0), basic(webID, webSecret), "application/x-www-form-urlencoded",
		[]byte(params("grant_type", "password", "username", "alice", "password", alicePassword)))
	f.Add(uint8(0), "", "application/x-www-form-urlencoded", []byte("grant_type=client_credentials&client_id=svc&client_secret="+svcSecret))
	f.Add(uint8(0), "Basic", "multipart/form-data; boundary=x", []byte("--x\r\n"))
	f.Fuzz(func(t *testing.T, endpoint uint8, authorization, contentType string, body []byte) {
		fx := newFixture(t)
		preissue(t, fx)
		path := TokenPath // for every endpoint value but the first few
		if int(endpoint) < len(fuzzPaths) {
			path = fuzzPaths[endpoint]
		}
		req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		if authorization != "" {
			req.Header.Set("Authorization", authorization)
		}
		rec := httptest.NewRecorder()
		fx.h.ServeHTTP(rec, req)
		res := response{status: rec.Code, header: rec.Result().Header, body: rec.Body.Bytes()}

		checkNoStore(t, res)
		switch res.status {
		case http.StatusOK, http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden:
		default:
			t.Fatalf("status %d: %s\nlog:\n%s", res.status, res.body, fx.log.String())
		}
		if path == RevokePath && res.status == http.StatusOK && len(res.body) == 0 {
			return
		}
		if ct := res.header.Get("Content-Type"); ct != "application/json;charset=UTF-8" {
			t.Errorf("Content-Type = %q", ct)
		}
		var v map[string]any
		if err := json.Unmarshal(res.body, &v); err != nil {
			t.Fatalf("body is not a JSON object: %v: %q", err, res.body)
		}
		switch {
		case res.status != http.StatusOK:
			checkError(t, res, res.status, v["error"].(string))
		case path == TokenPath:
			if v["token_type"] != "Bearer" || v["access_token"] == "" {
				t.Errorf("token response without a token: %s", res.body)
			}
		case path == IntrospectPath:
			if _, ok := v["active"].(bool); !ok {
				t.Errorf("introspection response without active: %s", res.body)
			}
		}
		if strings.Contains(fx.log.String(), "level=ERROR") {
			t.Errorf("errors logged:\n%s", fx.log.String())
		}
	})
}
