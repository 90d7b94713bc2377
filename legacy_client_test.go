package tokenadmin_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/beevik/etree"
	gowsdlsoap "github.com/hooklift/gowsdl/soap"

	"tokenadmin"
	"tokenadmin/internal/wso2client/is53"
	"tokenadmin/legacy"
)

// recordingTransport keeps the request bodies a client sends.
type recordingTransport struct {
	next   http.RoundTripper
	bodies []string
}

func (r *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		req.Body.Close()
		r.bodies = append(r.bodies, string(b))
		req.Body = io.NopCloser(bytes.NewReader(b))
	}
	return r.next.RoundTrip(req)
}

// is53Client is the client gowsdl generates from WSO2's own 2016-12 stub
// WSDL (SOAP 1.1), on the SOAP 1.1 port path of st, as user:password.
func is53Client(t *testing.T, st *legacyStack, user, password string) (is53.OAuthAdminServicePortType, *recordingTransport) {
	t.Helper()
	rec := &recordingTransport{next: st.srv.Client().Transport}
	opts := []gowsdlsoap.Option{gowsdlsoap.WithHTTPClient(&http.Client{Transport: rec})}
	if user != "" {
		opts = append(opts, gowsdlsoap.WithBasicAuth(user, password))
	}
	c := gowsdlsoap.NewClient(st.srv.URL+"/services/OAuthAdminService.OAuthAdminServiceHttpsSoap11Endpoint/", opts...)
	return is53.NewOAuthAdminServicePortType(c), rec
}

// deref: encoding/xml ignores xsi:nil, so gowsdl's client decodes a nil
// element as a pointer to "" (where an ADB stub has null) and an absent
// one as nil; both are "" here.
func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// appSummary flattens a decoded DTO.
func appSummary(a *is53.OAuthConsumerAppDTO) string {
	return fmt.Sprintf("%s|%s|%s|%s|%s|%s|%s|%v|%v|%s", deref(a.OAuthVersion), deref(a.ApplicationName), deref(a.CallbackUrl),
		deref(a.GrantTypes), deref(a.OauthConsumerKey), deref(a.OauthConsumerSecret), deref(a.State),
		a.PkceMandatory, a.PkceSupportPlain, deref(a.Username))
}

func listApps(t *testing.T, port is53.OAuthAdminServicePortType) []string {
	t.Helper()
	resp, err := port.GetAppsAuthorizedByUserContext(t.Context(), &is53.GetAppsAuthorizedByUser{})
	if err != nil {
		t.Fatalf("getAppsAuthorizedByUser: %v", err)
	}
	var got []string
	for _, a := range resp.Return_ {
		if a == nil {
			t.Fatal("getAppsAuthorizedByUser: a nil return")
		}
		got = append(got, appSummary(a))
	}
	return got
}

// TestLegacyGeneratedClient drives the real stack with the client that
// gowsdl generates from WSO2's original IS 5.3 WSDL: what a client compiled
// against their contract sends, our server must understand, and what it
// answers, that client must decode.
func TestLegacyGeneratedClient(t *testing.T) {
	st := newLegacyStack(t, false)
	port, rec := is53Client(t, st, "alice", "alice-secret")

	got := listApps(t, port)
	want := []string{
		"|Customer Portal||password refresh_token|portal|||false|false|admin",
		"|Customer Portal||client_credentials|portal-eu|||false|false|bob",
		"|Mobile App|||mobile|||false|false|",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("getAppsAuthorizedByUser:\n got %q\nwant %q", got, want)
	}

	// The request's authzUser names bob: it is ignored, the caller is alice.
	rv, err := port.RevokeAuthzForAppsByResoureOwnerContext(t.Context(), &is53.RevokeAuthzForAppsByResoureOwner{
		RevokeRequestDTO: &is53.OAuthRevocationRequestDTO{Apps: []*string{new("Customer Portal")}, AuthzUser: new("bob")},
	})
	if err != nil {
		t.Fatalf("revokeAuthzForAppsByResoureOwner: %v", err)
	}
	if r := rv.Return_; r == nil || r.Error || deref(r.ErrorCode) != "" || deref(r.ErrorMsg) != "" {
		t.Fatalf("revokeAuthzForAppsByResoureOwner: return = %+v, want error=false and no code or message", r)
	}

	svc := &tokenadmin.Service{Tokens: st.db}
	admin := tokenadmin.Caller{Name: "admin", Role: tokenadmin.RoleAdmin}
	for name, want := range map[string]tokenadmin.TokenState{
		"alice-portal-access": tokenadmin.StateRevoked, "alice-portal-refresh": tokenadmin.StateRevoked,
		"alice-portal-eu-access": tokenadmin.StateRevoked, "alice-portal-eu-refresh": tokenadmin.StateRevoked,
		"alice-mobile-access": tokenadmin.StateActive, "alice-mobile-refresh": tokenadmin.StateActive,
		"bob-portal-access": tokenadmin.StateActive, "bob-portal-refresh": tokenadmin.StateActive,
		"bob-reports-access": tokenadmin.StateActive,
	} {
		tok, err := svc.GetToken(t.Context(), admin, st.tokens[name].id)
		if err != nil || tok.State != want {
			t.Errorf("%s: %v, %v; want state %s", name, tok, err, want)
		} else if want == tokenadmin.StateRevoked && tok.RevokeReason != legacy.ReasonRevokedByOwner {
			t.Errorf("%s: revoke reason %q, want %q", name, tok.RevokeReason, legacy.ReasonRevokedByOwner)
		}
	}

	if got := listApps(t, port); !slices.Equal(got, want[2:]) {
		t.Errorf("getAppsAuthorizedByUser after the revocation:\n got %q\nwant %q", got, want[2:])
	}

	// An empty app list is error=true, invalid_request: not a fault.
	for _, req := range []*is53.RevokeAuthzForAppsByResoureOwner{
		{RevokeRequestDTO: &is53.OAuthRevocationRequestDTO{}},
		{RevokeRequestDTO: &is53.OAuthRevocationRequestDTO{Apps: []*string{}, ConsumerKey: new("portal")}},
	} {
		rv, err := port.RevokeAuthzForAppsByResoureOwnerContext(t.Context(), req)
		if err != nil {
			t.Fatalf("revokeAuthzForAppsByResoureOwner with no apps: %v", err)
		}
		if r := rv.Return_; r == nil || !r.Error || deref(r.ErrorCode) != "invalid_request" || deref(r.ErrorMsg) != "Invalid revocation request" {
			t.Errorf("revokeAuthzForAppsByResoureOwner with no apps: return = %+v, want error=true, invalid_request, Invalid revocation request", r)
		}
	}
	if tok, err := svc.GetToken(t.Context(), admin, st.tokens["alice-mobile-access"].id); err != nil || tok.State != tokenadmin.StateActive {
		t.Errorf("an empty revocation touched alice-mobile-access: %v, %v", tok, err)
	}

	// gowsdl v0.5.0 writes no namespace into the DTO's element tags, so its
	// children go out in the wrapper's namespace; our lenient parsing (by
	// local name) is what makes this client work. If this changes, update
	// the package comment of is53.
	var revokeReq string
	for _, b := range rec.bodies {
		if strings.Contains(b, "revokeAuthzForAppsByResoureOwner") && strings.Contains(b, "Customer Portal") {
			revokeReq = b
		}
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromString(revokeReq); err != nil {
		t.Fatalf("the client's revoke request: %v\n%s", err, revokeReq)
	}
	if apps := doc.FindElement("//apps"); apps == nil || apps.NamespaceURI() != "http://org.apache.axis2/xsd" {
		t.Errorf("gowsdl's request changed shape; review the package comment of is53:\n%s", revokeReq)
	}
}

// TestLegacyGeneratedClientFaults: what the generated client sees of the
// failures. gowsdl turns any HTTP status of 400 or more into an HTTPError
// carrying the body, SOAP faults (HTTP 500) included.
func TestLegacyGeneratedClientFaults(t *testing.T) {
	tests := []struct {
		name, user, password string
		failing              bool
		wantStatus           int
		wantBody             string
	}{
		{name: "no credentials", wantStatus: http.StatusUnauthorized},
		{name: "wrong password", user: "alice", password: "wrong", wantStatus: http.StatusInternalServerError,
			wantBody: "<faultcode>axis2ns1:50977</faultcode>"},
		{name: "internal error", user: "alice", password: "alice-secret", failing: true, wantStatus: http.StatusInternalServerError,
			wantBody: `<ns:OAuthAdminServiceIdentityOAuthAdminException xmlns:ns="http://org.apache.axis2/xsd">`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := newLegacyStack(t, tc.failing)
			port, _ := is53Client(t, st, tc.user, tc.password)
			_, err := port.GetAppsAuthorizedByUserContext(t.Context(), &is53.GetAppsAuthorizedByUser{})
			var he *gowsdlsoap.HTTPError
			if !errors.As(err, &he) {
				t.Fatalf("err = %v, want a *soap.HTTPError", err)
			}
			if he.StatusCode != tc.wantStatus || !strings.Contains(string(he.ResponseBody), tc.wantBody) {
				t.Errorf("HTTP %d, body:\n%s\nwant HTTP %d with %q", he.StatusCode, he.ResponseBody, tc.wantStatus, tc.wantBody)
			}
		})
	}
}

// The element-order check: an Axis2 ADB stub parses every bean's
// xs:sequence in order and throws "Unexpected subelement" on anything else
// (WIRE.md §8.4), so every golden response must follow the sequences of
// the original WSDL of its profile, read from ../shared/legacy/wsdl/.

const (
	originalWSDLDir = "../shared/legacy/wsdl"
	nsXS            = "http://www.w3.org/2001/XMLSchema"
	nsXSI           = "http://www.w3.org/2001/XMLSchema-instance"
	nsWSDL11        = "http://schemas.xmlsoap.org/wsdl/"
	nsSOAPEnv11     = "http://schemas.xmlsoap.org/soap/envelope/"
	nsSOAPEnv12     = "http://www.w3.org/2003/05/soap-envelope"
)

// originalWSDLs maps profile → service → the original WSDL that stubs of
// that generation were built from. Services without an original WSDL
// (APIKeyMgtSubscriberService: only an excerpt) are not checked.
var originalWSDLs = map[string]map[string]string{
	"is-5.0": {
		"OAuthAdminService":   "OAuthAdminService.IS-5.0.2014.wsdl",
		"AuthenticationAdmin": "AuthenticationAdmin.wsdl",
	},
	"is-5.3": {
		"OAuthAdminService":            "OAuthAdminService.IS-5.3.2016-12.wsdl",
		"AuthenticationAdmin":          "AuthenticationAdmin.wsdl",
		"OAuth2TokenValidationService": "OAuth2TokenValidationService.2016-03.wsdl",
	},
	"is-5.5": {
		"OAuthAdminService":            "OAuthAdminService.IS-5.5.2017-12.wsdl",
		"AuthenticationAdmin":          "AuthenticationAdmin.wsdl",
		"OAuth2TokenValidationService": "OAuth2TokenValidationService.2016-03.wsdl",
	},
	"is-5.7": {
		"OAuthAdminService":            "OAuthAdminService.IS-5.7.2018-08.wsdl",
		"AuthenticationAdmin":          "AuthenticationAdmin.wsdl",
		"OAuth2TokenValidationService": "OAuth2TokenValidationService.2016-03.wsdl",
	},
}

type xsName struct{ ns, local string }

func (n xsName) String() string { return "{" + n.ns + "}" + n.local }

// xsParticle is an element of a sequence, or a global element.
type xsParticle struct {
	name     xsName
	ref      xsName // xs:element ref=
	typ      xsName // type=; zero with an inline type
	inline   *xsType
	min, max int // max -1: unbounded
	any      bool
}

type xsType struct {
	name   xsName
	base   xsName // complexContent/extension
	seq    []xsParticle
	simple bool
}

type xsSchemas struct {
	elements map[xsName]*xsParticle
	types    map[xsName]*xsType
	// voidResponses are the <op>Response wrappers of operations whose
	// output message has no parts (2016-12+ void operations): Axis2's
	// RPCMessageReceiver answers them with a nil return (WIRE.md §5.6),
	// which the schema does not declare and the stub does not parse.
	voidResponses map[xsName]bool
}

// resolveQName resolves a QName-valued attribute in e's scope.
func resolveQName(e *etree.Element, v string) (xsName, error) {
	prefix, local, ok := strings.Cut(v, ":")
	if !ok {
		prefix, local = "", v
	}
	for p := e; p != nil; p = p.Parent() {
		for _, a := range p.Attr {
			if (prefix == "" && a.Space == "" && a.Key == "xmlns") || (prefix != "" && a.Space == "xmlns" && a.Key == prefix) {
				return xsName{a.Value, local}, nil
			}
		}
	}
	if prefix == "" {
		return xsName{"", local}, nil
	}
	return xsName{}, fmt.Errorf("prefix %q of %q is not declared", prefix, v)
}

func xsChildren(e *etree.Element, local string) []*etree.Element {
	var out []*etree.Element
	for _, c := range e.ChildElements() {
		if c.Tag == local && c.NamespaceURI() == nsXS {
			out = append(out, c)
		}
	}
	return out
}

// loadXSSchemas reads every xs:schema of a WSDL's wsdl:types.
func loadXSSchemas(path string) (*xsSchemas, error) {
	doc := etree.NewDocument()
	if err := doc.ReadFromFile(path); err != nil {
		return nil, err
	}
	s := &xsSchemas{elements: map[xsName]*xsParticle{}, types: map[xsName]*xsType{}, voidResponses: map[xsName]bool{}}
	defs := doc.Root()
	if defs == nil || defs.Tag != "definitions" || defs.NamespaceURI() != nsWSDL11 {
		return nil, fmt.Errorf("%s: not a WSDL 1.1 document", path)
	}
	for _, types := range defs.ChildElements() {
		if types.Tag != "types" || types.NamespaceURI() != nsWSDL11 {
			continue
		}
		for _, schema := range xsChildren(types, "schema") {
			tns := schema.SelectAttrValue("targetNamespace", "")
			qualified := schema.SelectAttrValue("elementFormDefault", "") == "qualified"
			for _, c := range schema.ChildElements() {
				if c.NamespaceURI() != nsXS {
					continue
				}
				name := xsName{tns, c.SelectAttrValue("name", "")}
				var err error
				switch c.Tag {
				case "element":
					var p *xsParticle
					if p, err = parseXSElement(c, tns, true); err == nil {
						s.elements[name] = p
					}
				case "complexType":
					var t *xsType
					if t, err = parseXSComplexType(c, tns, qualified); err == nil {
						t.name = name
						s.types[name] = t
					}
				case "simpleType":
					s.types[name] = &xsType{name: name, simple: true}
				case "import", "annotation":
				default:
					err = fmt.Errorf("unsupported top-level xs:%s", c.Tag)
				}
				if err != nil {
					return nil, fmt.Errorf("%s: schema %s: %s: %w", path, tns, name.local, err)
				}
			}
		}
	}
	if err := s.loadVoidResponses(defs); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

func (s *xsSchemas) loadVoidResponses(defs *etree.Element) error {
	tns := defs.SelectAttrValue("targetNamespace", "")
	parts := map[string][]*etree.Element{} // message name -> its parts
	for _, m := range defs.ChildElements() {
		if m.Tag == "message" && m.NamespaceURI() == nsWSDL11 {
			parts[m.SelectAttrValue("name", "")] = m.SelectElements("part")
		}
	}
	message := func(op *etree.Element, tag string) (string, bool, error) {
		io := op.SelectElement(tag)
		if io == nil {
			return "", false, nil
		}
		n, err := resolveQName(io, io.SelectAttrValue("message", ""))
		if err != nil || n.ns != tns {
			return "", false, fmt.Errorf("operation %s: %s message %v: %v", op.SelectAttrValue("name", ""), tag, n, err)
		}
		return n.local, true, nil
	}
	for _, pt := range defs.ChildElements() {
		if pt.Tag != "portType" || pt.NamespaceURI() != nsWSDL11 {
			continue
		}
		for _, op := range pt.SelectElements("operation") {
			out, ok, err := message(op, "output")
			if err != nil {
				return err
			}
			if !ok || len(parts[out]) > 0 {
				continue
			}
			in, _, err := message(op, "input")
			if err != nil {
				return err
			}
			if ps := parts[in]; len(ps) == 1 {
				el, err := resolveQName(ps[0], ps[0].SelectAttrValue("element", ""))
				if err != nil {
					return err
				}
				s.voidResponses[xsName{el.ns, op.SelectAttrValue("name", "") + "Response"}] = true
			}
		}
	}
	return nil
}

func parseXSElement(e *etree.Element, ns string, qualified bool) (*xsParticle, error) {
	p := &xsParticle{min: 1, max: 1}
	if !qualified {
		ns = ""
	}
	p.name = xsName{ns, e.SelectAttrValue("name", "")}
	if v := e.SelectAttrValue("minOccurs", "1"); v == "0" {
		p.min = 0
	}
	switch v := e.SelectAttrValue("maxOccurs", "1"); v {
	case "1":
	case "unbounded":
		p.max = -1
	default:
		if _, err := fmt.Sscan(v, &p.max); err != nil {
			return nil, fmt.Errorf("maxOccurs %q", v)
		}
	}
	var err error
	if v := e.SelectAttrValue("ref", ""); v != "" {
		if p.ref, err = resolveQName(e, v); err != nil {
			return nil, err
		}
	}
	if v := e.SelectAttrValue("type", ""); v != "" {
		if p.typ, err = resolveQName(e, v); err != nil {
			return nil, err
		}
	}
	if ct := xsChildren(e, "complexType"); len(ct) == 1 {
		if p.inline, err = parseXSComplexType(ct[0], ns, qualified); err != nil {
			return nil, err
		}
	} else if len(xsChildren(e, "simpleType")) == 1 {
		p.inline = &xsType{simple: true}
	}
	return p, nil
}

func parseXSComplexType(ct *etree.Element, tns string, qualified bool) (*xsType, error) {
	t := &xsType{}
	body := ct
	if cc := xsChildren(ct, "complexContent"); len(cc) == 1 {
		ext := xsChildren(cc[0], "extension")
		if len(ext) != 1 {
			return nil, errors.New("complexContent without a single xs:extension")
		}
		base, err := resolveQName(ext[0], ext[0].SelectAttrValue("base", ""))
		if err != nil {
			return nil, err
		}
		t.base, body = base, ext[0]
	} else if len(xsChildren(ct, "simpleContent")) == 1 {
		t.simple = true
		return t, nil
	}
	for _, c := range body.ChildElements() {
		if c.NamespaceURI() != nsXS {
			continue
		}
		switch c.Tag {
		case "sequence":
			for _, pe := range c.ChildElements() {
				switch pe.Tag {
				case "element":
					p, err := parseXSElement(pe, tns, qualified)
					if err != nil {
						return nil, err
					}
					t.seq = append(t.seq, *p)
				case "any":
					t.seq = append(t.seq, xsParticle{any: true, min: 0, max: -1})
				default:
					return nil, fmt.Errorf("unsupported xs:%s in a sequence", pe.Tag)
				}
			}
		case "attribute", "annotation":
		default:
			return nil, fmt.Errorf("unsupported xs:%s in a complex type", c.Tag)
		}
	}
	return t, nil
}

// sequence is t's content model, its bases' particles first.
func (s *xsSchemas) sequence(t *xsType) ([]xsParticle, error) {
	if t.base == (xsName{}) {
		return t.seq, nil
	}
	b, ok := s.types[t.base]
	if !ok {
		return nil, fmt.Errorf("base type %s is not declared", t.base)
	}
	bs, err := s.sequence(b)
	if err != nil {
		return nil, err
	}
	return append(slices.Clip(bs), t.seq...), nil
}

func (s *xsSchemas) derivesFrom(t *xsType, want xsName) bool {
	for t != nil {
		if t.name == want {
			return true
		}
		t = s.types[t.base]
	}
	return false
}

func elemName(e *etree.Element) xsName { return xsName{e.NamespaceURI(), e.Tag} }

func particleNames(seq []xsParticle) string {
	var names []string
	for _, p := range seq {
		switch {
		case p.any:
			names = append(names, "xs:any")
		case p.max != 1:
			names = append(names, p.name.local+"*")
		default:
			names = append(names, p.name.local)
		}
	}
	return strings.Join(names, ", ")
}

// checkElement checks e, declared by decl, and its descendants against the
// schemas, as an ADB stub parses them; problems are appended to probs.
func (s *xsSchemas) checkElement(e *etree.Element, path string, decl *xsParticle, probs *[]string) {
	if decl.ref != (xsName{}) {
		g, ok := s.elements[decl.ref]
		if !ok {
			*probs = append(*probs, fmt.Sprintf("%s: ref %s is not declared", path, decl.ref))
			return
		}
		decl = g
	}
	if v := xsiAttr(e, "nil"); v == "true" || v == "1" {
		if len(e.ChildElements()) > 0 {
			*probs = append(*probs, fmt.Sprintf("%s: xsi:nil element with children", path))
		}
		return
	}
	t := decl.inline
	typName := decl.typ
	if v := xsiAttr(e, "type"); v != "" {
		xt, err := resolveQName(e, v)
		if err != nil {
			*probs = append(*probs, fmt.Sprintf("%s: xsi:type: %v", path, err))
			return
		}
		if xt.ns != nsXS {
			dt, ok := s.types[xt]
			if !ok {
				*probs = append(*probs, fmt.Sprintf("%s: xsi:type %s is not a type of the WSDL (the stub's ExtensionMapper fails)", path, xt))
				return
			}
			if decl.typ != (xsName{}) && decl.typ.ns != nsXS && !s.derivesFrom(dt, decl.typ) {
				*probs = append(*probs, fmt.Sprintf("%s: xsi:type %s does not derive from the declared type %s", path, xt, decl.typ))
			}
			t = dt
		}
		typName = xt
	}
	if t == nil {
		if typName == (xsName{}) || typName.ns == nsXS {
			if typName.local == "anyType" {
				return
			}
			if c := e.ChildElements(); len(c) > 0 {
				*probs = append(*probs, fmt.Sprintf("%s: simple type %s has child element %s", path, typName, elemName(c[0])))
			}
			return
		}
		var ok bool
		if t, ok = s.types[typName]; !ok {
			*probs = append(*probs, fmt.Sprintf("%s: type %s is not declared", path, typName))
			return
		}
	}
	if t.simple {
		if c := e.ChildElements(); len(c) > 0 {
			*probs = append(*probs, fmt.Sprintf("%s: simple type %s has child element %s", path, typName, elemName(c[0])))
		}
		return
	}
	seq, err := s.sequence(t)
	if err != nil {
		*probs = append(*probs, fmt.Sprintf("%s: %v", path, err))
		return
	}
	typeDesc := typName.String()
	if typName == (xsName{}) {
		typeDesc = "the anonymous type of " + decl.name.String()
	}
	expected := fmt.Sprintf("expected the children of %s in the order [%s]", typeDesc, particleNames(seq))
	counts := map[string]int{}
	for _, c := range e.ChildElements() {
		counts[c.Tag]++
	}
	seen := map[string]int{}
	i, n := 0, 0 // current particle, occurrences of it so far
	missing := func(from, to int) {
		for k := from; k < to; k++ {
			if seq[k].min > 0 && !(k == i && n > 0) {
				*probs = append(*probs, fmt.Sprintf("%s: required element %s is missing; %s", path, seq[k].name.local, expected))
			}
		}
	}
	for _, c := range e.ChildElements() {
		cn := elemName(c)
		seen[c.Tag]++
		cpath := path + "/" + c.Tag
		if counts[c.Tag] > 1 {
			cpath += fmt.Sprintf("[%d]", seen[c.Tag])
		}
		j := -1
		for k := i; k < len(seq); k++ {
			if seq[k].any || seq[k].name == cn || (seq[k].ref != (xsName{}) && seq[k].ref == cn) {
				j = k
				break
			}
		}
		if j < 0 {
			if slices.ContainsFunc(seq[:i], func(p xsParticle) bool { return p.name == cn }) {
				*probs = append(*probs, fmt.Sprintf("%s: element %s is out of order (after %s); %s", cpath, cn, seq[i].name.local, expected))
			} else {
				*probs = append(*probs, fmt.Sprintf("%s: unexpected element %s, not declared here (ADB: Unexpected subelement); %s", cpath, cn, expected))
			}
			continue
		}
		if j == i && n > 0 {
			n++
			if seq[j].max != -1 && n > seq[j].max {
				*probs = append(*probs, fmt.Sprintf("%s: element %s occurs %d times, at most %d allowed; %s", cpath, cn, n, seq[j].max, expected))
			}
		} else {
			missing(i, j)
			i, n = j, 1
		}
		s.checkElement(c, cpath, &seq[j], probs)
	}
	if n > 0 {
		missing(i+1, len(seq))
	} else {
		missing(i, len(seq))
	}
}

func xsiAttr(e *etree.Element, key string) string {
	for _, a := range e.Attr {
		if a.Key == key && a.NamespaceURI() == nsXSI {
			return a.Value
		}
	}
	return ""
}

// checkEnvelope checks the body of a SOAP envelope: a response wrapper,
// or the detail entries of a fault that the WSDL declares. skipped says
// why nothing was checked.
func (s *xsSchemas) checkEnvelope(envelope []byte) (probs []string, skipped string) {
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(envelope); err != nil {
		return []string{fmt.Sprintf("not XML: %v", err)}, ""
	}
	env := doc.Root()
	if env == nil || env.Tag != "Envelope" || (env.NamespaceURI() != nsSOAPEnv11 && env.NamespaceURI() != nsSOAPEnv12) {
		return []string{"the root is not a SOAP Envelope"}, ""
	}
	var body *etree.Element
	for _, c := range env.ChildElements() {
		if c.Tag == "Body" && c.NamespaceURI() == env.NamespaceURI() {
			body = c
		}
	}
	if body == nil {
		return []string{"no SOAP Body"}, ""
	}
	children := body.ChildElements()
	if len(children) != 1 {
		return []string{fmt.Sprintf("/Envelope/Body has %d child elements, want 1", len(children))}, ""
	}
	top := children[0]
	if top.Tag == "Fault" && top.NamespaceURI() == env.NamespaceURI() {
		var checked int
		for _, d := range top.ChildElements() {
			if d.Tag != "detail" && d.Tag != "Detail" {
				continue
			}
			for _, entry := range d.ChildElements() {
				if g, ok := s.elements[elemName(entry)]; ok {
					s.checkElement(entry, "/Envelope/Body/Fault/"+d.Tag+"/"+entry.Tag, g, &probs)
					checked++
				}
			}
		}
		if checked == 0 {
			return nil, "a fault without a detail entry the WSDL declares"
		}
		return probs, ""
	}
	g, ok := s.elements[elemName(top)]
	if !ok && s.voidResponses[elemName(top)] {
		c := top.ChildElements()
		if len(c) > 1 || (len(c) == 1 && (c[0].Tag != "return" || c[0].NamespaceURI() != top.NamespaceURI() ||
			!slices.Contains([]string{"true", "1"}, xsiAttr(c[0], "nil")) || len(c[0].ChildElements()) > 0)) {
			return []string{fmt.Sprintf("/Envelope/Body/%s: the response of a void operation (output message without parts) "+
				"must be empty or hold only <return xsi:nil=\"true\"/> (WIRE.md §5.6)", top.Tag)}, ""
		}
		return nil, ""
	}
	if !ok {
		return []string{fmt.Sprintf("/Envelope/Body/%s: %s is not a global element of the WSDL", top.Tag, elemName(top))}, ""
	}
	s.checkElement(top, "/Envelope/Body/"+top.Tag, g, &probs)
	return probs, ""
}

// requireOriginalWSDLs skips without ../shared/legacy/wsdl, except under
// CI=true, where shared/ is checked out beside the repository.
func requireOriginalWSDLs(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(originalWSDLDir); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s: %v; CI must check out shared/ beside the repository", originalWSDLDir, err)
		}
		t.Skipf("%s: %v (shared/ is not beside the repository)", originalWSDLDir, err)
	}
}

// goldenService is the service a recorded request addresses:
// /services/<Service>[.<Service><Port>][/][?…].
func goldenService(httpFile string) (string, error) {
	b, err := os.ReadFile(httpFile)
	if err != nil {
		return "", err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	fields := strings.Fields(line)
	if len(fields) < 2 {
		return "", fmt.Errorf("%s: no request line", httpFile)
	}
	_, rest, ok := strings.Cut(fields[1], "/services/")
	if !ok {
		return "", fmt.Errorf("%s: %s is not under /services/", httpFile, fields[1])
	}
	if i := strings.IndexAny(rest, "./?"); i >= 0 {
		rest = rest[:i]
	}
	return rest, nil
}

// TestLegacyGoldenElementOrder checks every golden response of every
// profile under testdata/legacy/ against the xs:sequences of the original
// WSDL of its profile and service: element order, no undeclared element,
// xsi:type naming a declared type, multiplicity. Faults are checked when
// their detail entry is declared in the WSDL; empty bodies (202) and
// services without a mapped WSDL are skipped, and say so.
func TestLegacyGoldenElementOrder(t *testing.T) {
	requireOriginalWSDLs(t)
	dirs, err := filepath.Glob("testdata/legacy/*")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no profiles under testdata/legacy (%v)", err)
	}
	schemas := map[string]*xsSchemas{}
	var checked int
	for _, dir := range dirs {
		profile := filepath.Base(dir)
		wsdls, ok := originalWSDLs[profile]
		if !ok {
			t.Errorf("%s: no original WSDLs mapped for profile %s; add it to originalWSDLs", dir, profile)
			continue
		}
		goldens, _ := filepath.Glob(filepath.Join(dir, "*.golden"))
		for _, g := range goldens {
			name := profile + "/" + strings.TrimSuffix(filepath.Base(g), ".golden")
			t.Run(name, func(t *testing.T) {
				service, err := goldenService(strings.TrimSuffix(g, ".golden") + ".http")
				if err != nil {
					t.Fatal(err)
				}
				file, ok := wsdls[service]
				if !ok {
					t.Skipf("no original WSDL mapped for %s in profile %s", service, profile)
				}
				raw, err := os.ReadFile(g)
				if err != nil {
					t.Fatal(err)
				}
				head, body, ok := bytes.Cut(raw, []byte("\n\n"))
				if !ok {
					t.Fatalf("%s: no blank line after the headers", g)
				}
				if len(bytes.TrimSpace(body)) == 0 {
					t.Skipf("empty body (%s)", bytes.SplitN(head, []byte("\n"), 2)[0])
				}
				s := schemas[file]
				if s == nil {
					if s, err = loadXSSchemas(filepath.Join(originalWSDLDir, file)); err != nil {
						t.Fatal(err)
					}
					schemas[file] = s
				}
				probs, skipped := s.checkEnvelope(body)
				if skipped != "" {
					t.Skip(skipped)
				}
				for _, p := range probs {
					t.Errorf("%s against %s: %s", g, file, p)
				}
				checked++
			})
		}
	}
	if checked == 0 {
		t.Error("no golden was checked")
	}
}

// TestLegacyElementOrderCheckFails: the check above catches what an ADB
// stub rejects.
func TestLegacyElementOrderCheckFails(t *testing.T) {
	requireOriginalWSDLs(t)
	s, err := loadXSSchemas(filepath.Join(originalWSDLDir, originalWSDLs["is-5.3"]["OAuthAdminService"]))
	if err != nil {
		t.Fatal(err)
	}
	const (
		head = `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>`
		tail = `</soapenv:Body></soapenv:Envelope>`
		ret  = `<ns:return xmlns:ax="http://dto.oauth.identity.carbon.wso2.org/xsd" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="ax:OAuthRevocationResponseDTO">`
	)
	wrap := func(inner string) []byte {
		return []byte(head + `<ns:revokeAuthzForAppsByResoureOwnerResponse xmlns:ns="http://org.apache.axis2/xsd">` + inner +
			`</ns:revokeAuthzForAppsByResoureOwnerResponse>` + tail)
	}
	tests := []struct {
		name, envelope string
		want           string // part of the first problem; "" for none
	}{
		{name: "valid", envelope: string(wrap(ret + `<ax:error>false</ax:error><ax:errorCode xsi:nil="true"/><ax:errorMsg xsi:nil="true"/></ns:return>`))},
		{name: "valid subset", envelope: string(wrap(ret + `<ax:error>true</ax:error><ax:errorMsg>x</ax:errorMsg></ns:return>`))},
		{name: "out of order", envelope: string(wrap(ret + `<ax:errorCode xsi:nil="true"/><ax:error>false</ax:error></ns:return>`)),
			want: "/Envelope/Body/revokeAuthzForAppsByResoureOwnerResponse/return/error: element {http://dto.oauth.identity.carbon.wso2.org/xsd}error is out of order (after errorCode); expected the children of {http://dto.oauth.identity.carbon.wso2.org/xsd}OAuthRevocationResponseDTO in the order [error, errorCode, errorMsg]"},
		{name: "undeclared", envelope: string(wrap(ret + `<ax:error>false</ax:error><ax:errorDescription>x</ax:errorDescription></ns:return>`)),
			want: "return/errorDescription: unexpected element"},
		{name: "wrong namespace", envelope: string(wrap(ret + `<ns:error>false</ns:error></ns:return>`)),
			want: "unexpected element {http://org.apache.axis2/xsd}error"},
		{name: "repeated", envelope: string(wrap(ret + `<ax:error>false</ax:error><ax:error>true</ax:error></ns:return>`)),
			want: "return/error[2]: element {http://dto.oauth.identity.carbon.wso2.org/xsd}error occurs 2 times, at most 1"},
		{name: "two returns", envelope: string(wrap(ret + `</ns:return>` + ret + `</ns:return>`)),
			want: "return[2]: element {http://org.apache.axis2/xsd}return occurs 2 times"},
		{name: "unknown xsi:type", envelope: string(wrap(`<ns:return xmlns:ax="http://dto.oauth.identity.carbon.wso2.org/xsd" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="ax:TokenDTO"/>`)),
			want: "xsi:type {http://dto.oauth.identity.carbon.wso2.org/xsd}TokenDTO is not a type of the WSDL"},
		{name: "void response", envelope: head + `<ns:updateOauthSecretKeyResponse xmlns:ns="http://org.apache.axis2/xsd"><ns:return xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:nil="true"/></ns:updateOauthSecretKeyResponse>` + tail},
		{name: "void response with a value", envelope: head + `<ns:updateOauthSecretKeyResponse xmlns:ns="http://org.apache.axis2/xsd"><ns:return>x</ns:return></ns:updateOauthSecretKeyResponse>` + tail,
			want: "the response of a void operation"},
		{name: "undeclared wrapper", envelope: head + `<ns:revokeTokensResponse xmlns:ns="http://org.apache.axis2/xsd"/>` + tail,
			want: "is not a global element of the WSDL"},
		{name: "app DTO out of order", envelope: head + `<ns:getAppsAuthorizedByUserResponse xmlns:ns="http://org.apache.axis2/xsd">` +
			`<ns:return xmlns:ax="http://dto.oauth.identity.carbon.wso2.org/xsd"><ax:applicationName>a</ax:applicationName><ax:OAuthVersion>OAuth-2.0</ax:OAuthVersion></ns:return>` +
			`</ns:getAppsAuthorizedByUserResponse>` + tail,
			want: "return/OAuthVersion: element {http://dto.oauth.identity.carbon.wso2.org/xsd}OAuthVersion is out of order (after applicationName)"},
		{name: "fault detail out of order", envelope: head + `<soapenv:Fault><faultcode>soapenv:Server</faultcode><faultstring>x</faultstring><detail>` +
			`<ns:OAuthAdminServiceIdentityOAuthAdminException xmlns:ns="http://org.apache.axis2/xsd"><ns:IdentityOAuthAdminException xmlns:b="http://base.identity.carbon.wso2.org/xsd">` +
			`<b:errorCode>a</b:errorCode><b:errorCode>b</b:errorCode></ns:IdentityOAuthAdminException></ns:OAuthAdminServiceIdentityOAuthAdminException></detail></soapenv:Fault>` + tail,
			want: "/Envelope/Body/Fault/detail/OAuthAdminServiceIdentityOAuthAdminException/IdentityOAuthAdminException/errorCode[2]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			probs, skipped := s.checkEnvelope([]byte(tc.envelope))
			if skipped != "" {
				t.Fatalf("skipped: %s", skipped)
			}
			switch {
			case tc.want == "" && len(probs) > 0:
				t.Errorf("problems in a valid envelope: %q", probs)
			case tc.want != "" && (len(probs) == 0 || !strings.Contains(probs[0], tc.want)):
				t.Errorf("problems = %q, want the first to contain %q", probs, tc.want)
			}
		})
	}
}
