package legacy

import (
	"bytes"
	"embed"
	"net/http"
	"strings"
)

// wsdlFS holds our own descriptions of the legacy services, one directory
// per profile. Their addresses use defaultBase, replaced at ?wsdl.
//
//go:embed wsdl
var wsdlFS embed.FS

const defaultBase = "https://localhost:9443/services/"

// oauthAdminWSDL is OAuthAdminService's description for profile p, nil if
// there is none.
func oauthAdminWSDL(p Profile) []byte {
	b, err := wsdlFS.ReadFile("wsdl/" + string(p) + "/OAuthAdminService.wsdl")
	if err != nil {
		return nil
	}
	return b
}

// serveWSDL answers GET ?wsdl with the description, its addresses set to
// the scheme and host the client used. Carbon hides admin WSDLs (403) by
// default; we serve ours, since it holds nothing secret (WIRE.md §11).
func (s *service) serveWSDL(w http.ResponseWriter, r *http.Request) {
	scheme := "http"
	if s.h.secure(r) {
		scheme = "https"
	}
	host := r.Host
	if s.h.TrustForwardedHeaders {
		if fh, _, _ := strings.Cut(r.Header.Get("X-Forwarded-Host"), ","); strings.TrimSpace(fh) != "" {
			host = strings.TrimSpace(fh)
		}
	}
	if !validHost(host) {
		host = "localhost"
	}
	doc := bytes.ReplaceAll(s.wsdl, []byte(defaultBase), []byte(scheme+"://"+host+"/services/"))
	send(w, r, http.StatusOK, "text/xml; charset=UTF-8", doc)
}

// validHost accepts host[:port] of DNS, IPv4 or bracketed IPv6 characters:
// it ends up in a URL in the description.
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
