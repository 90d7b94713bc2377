package soap

import (
	"net/http"
	"strconv"
	"strings"
)

// WantsWSDL reports whether a query asks for the service description:
// "?wsdl", in any case, with or without a value, as Axis2 and most SOAP
// stacks accept it.
func WantsWSDL(rawQuery string) bool {
	for rawQuery != "" {
		var key string
		key, rawQuery, _ = strings.Cut(rawQuery, "&")
		key, _, _ = strings.Cut(key, "=")
		if strings.EqualFold(key, "wsdl") {
			return true
		}
	}
	return false
}

// maxWSDLCache bounds the rewritten descriptions kept: one per address
// clients used, which is a handful unless someone sends random Host
// headers, in which case the cache starts over.
const maxWSDLCache = 16

// serveWSDL answers GET ?wsdl with the description, its addresses
// rewritten to the one the client used. The description is public: no
// credentials are asked for.
func (s *Server) serveWSDL(x *exchange) {
	loc := s.location(x.r)
	s.wsdlMu.Lock()
	doc, ok := s.wsdlCache[loc]
	s.wsdlMu.Unlock()
	if !ok {
		var err error
		doc, err = s.WSDL(loc)
		if err != nil {
			x.failErr(err)
			return
		}
		s.wsdlMu.Lock()
		if len(s.wsdlCache) >= maxWSDLCache || s.wsdlCache == nil {
			s.wsdlCache = make(map[string][]byte, maxWSDLCache)
		}
		s.wsdlCache[loc] = doc
		s.wsdlMu.Unlock()
	}
	h := x.w.Header()
	h.Set("Content-Type", contentType11)
	h.Set("Content-Length", strconv.Itoa(len(doc)))
	x.done = true
	x.w.WriteHeader(http.StatusOK)
	if x.r.Method != http.MethodHead {
		x.w.Write(doc) //nolint:errcheck // the client hung up
	}
}

// location is the endpoint's absolute URL as the client addressed it.
func (s *Server) location(r *http.Request) string {
	path := s.Path
	if path == "" {
		path = r.URL.EscapedPath()
	}
	return BaseURL(r, s.TrustForwardedHeaders) + path
}

// BaseURL is scheme://host as the client addressed the server: scheme from
// the connection, host from the Host header. Behind a trusted proxy
// (trustForwarded), X-Forwarded-Proto and X-Forwarded-Host (their first
// values) take precedence. A host that is not a plain host[:port] becomes
// localhost, since it ends up in URLs handed to clients.
func BaseURL(r *http.Request, trustForwarded bool) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	host := r.Host
	if trustForwarded {
		if p := firstValue(r.Header.Get("X-Forwarded-Proto")); strings.EqualFold(p, "http") || strings.EqualFold(p, "https") {
			scheme = strings.ToLower(p)
		}
		if h := firstValue(r.Header.Get("X-Forwarded-Host")); h != "" && validHost(h) {
			host = h
		}
	}
	if !validHost(host) {
		host = "localhost"
	}
	return scheme + "://" + host
}

func firstValue(v string) string {
	v, _, _ = strings.Cut(v, ",")
	return strings.TrimSpace(v)
}

// validHost accepts host[:port] made of the characters of a DNS name, an
// IPv4 address or a bracketed IPv6 address: a forwarded header is not
// checked by net/http, and it ends up in a URL in the WSDL.
func validHost(h string) bool {
	if h == "" || len(h) > 255 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == ':' || c == '[' || c == ']' || c == '_') {
			return false
		}
	}
	return true
}
