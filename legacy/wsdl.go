package legacy

import (
	"bytes"
	"embed"
	"net/http"

	"tokenadmin/soap"
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
	doc := bytes.ReplaceAll(s.wsdl, []byte(defaultBase), []byte(soap.BaseURL(r, s.h.TrustForwardedHeaders)+"/services/"))
	send(w, r, http.StatusOK, "text/xml; charset=UTF-8", doc)
}
