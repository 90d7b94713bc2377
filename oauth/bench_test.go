package oauth

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The benchmarks measure the handler's own cost per request (parsing,
// client authentication plumbing, JSON) over the in-memory fake store, in
// parallel. The end-to-end figures with the SQLite store are the server's
// load benchmark's.

func benchmarkEndpoint(b *testing.B, path, auth, body string, want int) {
	fx := newFixture(b)
	preissue(b, fx)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Authorization", auth)
			rec := httptest.NewRecorder()
			fx.h.ServeHTTP(rec, req)
			if rec.Code != want {
				b.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
		}
	})
}

func BenchmarkTokenClientCredentials(b *testing.B) {
	benchmarkEndpoint(b, TokenPath, basic(svcID, svcSecret), "grant_type=client_credentials&scope=read", http.StatusOK)
}

func BenchmarkTokenPassword(b *testing.B) {
	benchmarkEndpoint(b, TokenPath, basic(webID, webSecret),
		params("grant_type", "password", "username", "alice", "password", alicePassword, "scope", "read"), http.StatusOK)
}

func BenchmarkIntrospect(b *testing.B) {
	benchmarkEndpoint(b, IntrospectPath, basic(rsID, rsSecret), "token=access-1", http.StatusOK)
}

func BenchmarkRevoke(b *testing.B) {
	benchmarkEndpoint(b, RevokePath, basic(webID, webSecret), "token=unknown-token", http.StatusOK)
}
