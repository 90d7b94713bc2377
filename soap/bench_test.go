package soap

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	gowsdlsoap "github.com/hooklift/gowsdl/soap"

	"tokenadmin"
	"tokenadmin/wsdl"
)

// Each benchmark has a baseline sub-benchmark doing the same job with
// encoding/xml reflection over the gowsdl types, measured in the same run,
// so that figures can be written down as ratios (house style #15).

// benchRequest is a typical listActiveTokens request, as SoapUI sends it.
var benchRequest = func() []byte {
	b, err := os.ReadFile("testdata/requests/listActiveTokens11.xml")
	if err != nil {
		panic(err)
	}
	return b
}()

func BenchmarkParseEnvelope(b *testing.B) {
	b.Run("tree", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(benchRequest)))
		for b.Loop() {
			root, err := parse(benchRequest, Limits{})
			if err != nil {
				b.Fatal(err)
			}
			env, err := readEnvelope(root, SOAP11)
			if err != nil {
				b.Fatal(err)
			}
			var f [5]*Element
			d := decoder{op: env.body}
			d.fields(listActiveTokensFields, f[:])
			if d.str(f[0]) != "alice" || d.int(f[3], 1, 1000) != 20 || d.err != nil {
				b.Fatal("bad decode")
			}
		}
	})
	b.Run("baseline-unmarshal", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(benchRequest)))
		for b.Loop() {
			var env struct {
				Body struct {
					Req wsdl.ListActiveTokens `xml:"urn:tokenadmin:v1 listActiveTokens"`
				} `xml:"Body"`
			}
			if err := xml.Unmarshal(benchRequest, &env); err != nil {
				b.Fatal(err)
			}
			if *env.Body.Req.User != "alice" {
				b.Fatal("bad decode")
			}
		}
	})
}

func benchTokens(n int) []*tokenadmin.Token {
	tokens := make([]*tokenadmin.Token, n)
	for i := range tokens {
		tokens[i] = &tokenadmin.Token{
			ID:        fmt.Sprintf("tok_%022d", i),
			Type:      tokenadmin.AccessToken,
			ClientID:  "client-portal",
			AppName:   "Customer Portal",
			User:      fmt.Sprintf("user%04d@example.com", i),
			Scopes:    []string{"openid", "profile", "email"},
			GrantType: "authorization_code",
			IssuedAt:  time.Date(2025, 3, 14, 15, 0, 0, 0, time.UTC),
			ExpiresAt: time.Date(2025, 3, 14, 16, 0, 0, 0, time.UTC),
		}
	}
	return tokens
}

func BenchmarkWriteListResponse(b *testing.B) {
	page := &tokenadmin.TokenPage{Tokens: benchTokens(20), NextPageToken: "eyJvZmZzZXQiOjIwfQ"}
	s := NewTokenAdminHandler(nil, nil)
	b.Run("writer", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			w := getWriter()
			w.Raw(s.envelopeStart(SOAP11))
			w.Open("soap:Body")
			w.Open("tns:listActiveTokensResponse")
			for _, t := range page.Tokens {
				writeToken(w, "tns:token", t)
			}
			w.Elem("tns:nextPageToken", page.NextPageToken)
			w.Close("tns:listActiveTokensResponse")
			w.Close("soap:Body")
			w.Close("soap:Envelope")
			b.SetBytes(int64(w.Len()))
			putWriter(w)
		}
	})
	b.Run("baseline-marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			res := wsdl.ListActiveTokensResponse{NextPageToken: page.NextPageToken}
			for _, t := range page.Tokens {
				typ := wsdl.TokenType(t.Type)
				res.Token = append(res.Token, &wsdl.TokenInfo{
					TokenId: t.ID, TokenType: &typ, ClientId: t.ClientID, AppName: t.AppName, User: t.User,
					Scope: t.Scopes, GrantType: t.GrantType,
					IssuedAt: gowsdlsoap.CreateXsdDateTime(t.IssuedAt, true), ExpiresAt: gowsdlsoap.CreateXsdDateTime(t.ExpiresAt, true),
				})
			}
			env := gowsdlsoap.SOAPEnvelope{XmlNS: gowsdlsoap.XmlNsSoapEnv}
			env.Body.Content = &res
			out, err := xml.Marshal(env)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(out)))
		}
	})
}

// BenchmarkServeHTTP is the whole layer for one listActiveTokens request
// answered with 20 tokens: everything but the network and the store.
func BenchmarkServeHTTP(b *testing.B) {
	svc := listOnly{page: &tokenadmin.TokenPage{Tokens: benchTokens(20), NextPageToken: "n"}}
	for _, v := range []Version{SOAP11, SOAP12} {
		b.Run(strings.ReplaceAll(v.String(), " ", ""), func(b *testing.B) {
			h := NewTokenAdminHandler(svc, fakeAuth{})
			body := string(benchRequest)
			if v == SOAP12 {
				body = strings.ReplaceAll(body, ns11, ns12)
			}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				w := &discardWriter{h: http.Header{}}
				// One request per goroutine, its body rewound each time:
				// building an http.Request is the server's cost, not ours.
				r := call{version: v, action: "urn:tokenadmin:v1:listActiveTokens", body: body}.request()
				rd := strings.NewReader(body)
				for pb.Next() {
					rd.Reset(body)
					r.Body = io.NopCloser(rd)
					clear(w.h)
					h.ServeHTTP(w, r)
					if w.status != 200 {
						b.Fatalf("status %d", w.status)
					}
				}
			})
		})
	}
}

// listOnly answers listActiveTokens with a fixed page, and costs nothing.
type listOnly struct {
	TokenAdminService // nil: other operations panic
	page              *tokenadmin.TokenPage
}

func (s listOnly) ListActiveTokens(context.Context, tokenadmin.Caller, tokenadmin.TokenFilter) (*tokenadmin.TokenPage, error) {
	return s.page, nil
}

type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) WriteHeader(status int)      { w.status = status }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }

var _ http.ResponseWriter = (*discardWriter)(nil)

// BenchmarkParseFragmentedText parses a request whose tokenId is 65,000
// bytes split into 65,000 runs of character data by empty comments,
// against the same text in one run.
func BenchmarkParseFragmentedText(b *testing.B) {
	const n = 65000
	for _, bc := range []struct {
		name       string
		fragmented bool
	}{
		{name: "fragmented", fragmented: true},
		{name: "baseline-contiguous", fragmented: false},
	} {
		doc := fragmentedRequest(n, bc.fragmented)
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(doc)))
			for b.Loop() {
				if _, err := parse(doc, Limits{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
