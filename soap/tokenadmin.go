package soap

import (
	"context"
	"encoding/xml"
	"errors"
	"strconv"

	"tokenadmin"
	"tokenadmin/wsdl"
)

// The TokenAdmin contract (wsdl/tokenadmin.wsdl): its target namespace
// and the path it is served at.
const (
	TokenAdminNamespace = "urn:tokenadmin:v1"
	TokenAdminPath      = "/services/TokenAdmin"
)

// tns is the prefix of TokenAdminNamespace in our envelopes.
const tns = "tns"

// TokenAdminService is what the TokenAdmin endpoint needs of the domain;
// *tokenadmin.Service satisfies it. Every method reports a *tokenadmin.Error
// for what the caller can fix (CodeInvalid, CodeInvalidPageToken,
// CodeTokenNotFound, CodeForbidden, CodeUnauthenticated, …), which goes on
// the wire with its code and message, and any other error for what it
// cannot, which is logged and answered with a generic Server fault.
type TokenAdminService interface {
	// ListActiveTokens returns one page of the active tokens matching f
	// that c may see. f.PageSize 0 means the default size.
	ListActiveTokens(ctx context.Context, c tokenadmin.Caller, f tokenadmin.TokenFilter) (*tokenadmin.TokenPage, error)
	// RevokeToken revokes the token named by r.TokenID or r.Value (exactly
	// one is set). An unknown token, or one c may not see, is
	// CodeTokenNotFound; an already revoked or expired one gives
	// Revoked=false.
	RevokeToken(ctx context.Context, c tokenadmin.Caller, r tokenadmin.RevokeRequest) (*tokenadmin.RevokeResult, error)
	// RevokeTokens revokes every active token of r.User and/or r.ClientID
	// and returns how many changed state.
	RevokeTokens(ctx context.Context, c tokenadmin.Caller, r tokenadmin.BulkRevoke) (int, error)
	// ListAuthorizedApps summarises user's active tokens per app; user ""
	// means c.
	ListAuthorizedApps(ctx context.Context, c tokenadmin.Caller, user string) ([]*tokenadmin.AuthorizedApp, error)
	// GetToken returns a token in any state; unknown, or not visible to c,
	// is CodeTokenNotFound.
	GetToken(ctx context.Context, c tokenadmin.Caller, tokenID string) (*tokenadmin.Token, error)
}

// TokenAdminHandler serves the native TokenAdmin SOAP service. Mount it at
// TokenAdminPath. Its Server's fields (Logger, MaxBodyBytes, Limits,
// TrustForwardedHeaders, …) may be adjusted before it serves.
type TokenAdminHandler struct {
	Server
	Service TokenAdminService
	// Apps serves the app operations (apps.go). While it is nil they
	// answer an UnknownOperation fault; set it before the handler serves.
	Apps AppAdminService
	// Audit serves listAuditEvents (audit.go). While it is nil that
	// operation answers an UnknownOperation fault; set it before the
	// handler serves.
	Audit AuditService
}

// NewTokenAdminHandler returns the TokenAdmin endpoint over svc. Every
// request must authenticate through auth, unless auth is nil (anonymous
// callers, whom svc then refuses).
func NewTokenAdminHandler(svc TokenAdminService, auth Authenticator) *TokenAdminHandler {
	h := &TokenAdminHandler{Service: svc}
	h.Auth = auth
	h.Realm = "tokenadmin"
	h.Namespaces = []Namespace{{Prefix: tns, URI: TokenAdminNamespace}}
	h.FaultDetail = writeTokenAdminFault
	h.WSDL = wsdl.WithAddress
	h.Path = TokenAdminPath
	for _, op := range []struct {
		name   string
		handle func(context.Context, *Request, *Writer) error
	}{
		{"listActiveTokens", h.listActiveTokens},
		{"revokeToken", h.revokeToken},
		{"revokeTokens", h.revokeTokens},
		{"listAuthorizedApps", h.listAuthorizedApps},
		{"getToken", h.getToken},
	} {
		h.Register(Operation{
			Name:   xml.Name{Space: TokenAdminNamespace, Local: op.name},
			Action: TokenAdminNamespace + ":" + op.name,
			Handle: op.handle,
		})
	}
	h.registerAppOperations()
	h.registerAuditOperations()
	return h
}

// writeTokenAdminFault writes the detail entry of every TokenAdmin fault.
func writeTokenAdminFault(w *Writer, code tokenadmin.Code, message string) {
	w.Open("tns:tokenAdminFault")
	w.Elem("tns:code", string(code))
	w.Elem("tns:message", message)
	w.Close("tns:tokenAdminFault")
}

var errNoResult = errors.New("soap: the service returned neither a result nor an error")

var listActiveTokensFields = []string{"user", "clientId", "tokenType", "pageSize", "pageToken"}

func (h *TokenAdminHandler) listActiveTokens(ctx context.Context, req *Request, w *Writer) error {
	var f [5]*Element
	d := decoder{op: req.Body}
	d.fields(listActiveTokensFields, f[:])
	filter := tokenadmin.TokenFilter{
		User:      d.str(f[0]),
		ClientID:  d.str(f[1]),
		Type:      tokenadmin.TokenType(d.enum(f[2], `"access" or "refresh"`, string(tokenadmin.AccessToken), string(tokenadmin.RefreshToken))),
		PageSize:  d.int(f[3], 1, tokenadmin.MaxPageSize),
		PageToken: d.str(f[4]),
	}
	if d.err != nil {
		return d.err
	}
	page, err := h.Service.ListActiveTokens(ctx, req.Caller, filter)
	if err != nil {
		return err
	}
	if page == nil {
		return errNoResult
	}
	w.Open("tns:listActiveTokensResponse")
	for _, t := range page.Tokens {
		if t != nil {
			writeToken(w, "tns:token", t)
		}
	}
	if page.NextPageToken != "" {
		w.Elem("tns:nextPageToken", page.NextPageToken)
	}
	w.Close("tns:listActiveTokensResponse")
	return nil
}

var revokeTokenFields = []string{"tokenId", "token", "tokenTypeHint", "reason"}

func (h *TokenAdminHandler) revokeToken(ctx context.Context, req *Request, w *Writer) error {
	var f [4]*Element
	d := decoder{op: req.Body}
	d.fields(revokeTokenFields, f[:])
	if d.err == nil && present(f[0]) == present(f[1]) {
		return invalid("exactly one of tokenId and token is required")
	}
	r := tokenadmin.RevokeRequest{
		TokenID: d.str(f[0]),
		Value:   d.str(f[1]),
		Reason:  d.str(f[3]),
	}
	// RFC 7009 §2.1 hint values, mapped to the domain's token types.
	switch d.enum(f[2], `"access_token" or "refresh_token"`, "access_token", "refresh_token") {
	case "access_token":
		r.TypeHint = tokenadmin.AccessToken
	case "refresh_token":
		r.TypeHint = tokenadmin.RefreshToken
	}
	if d.err != nil {
		return d.err
	}
	res, err := h.Service.RevokeToken(ctx, req.Caller, r)
	if err != nil {
		return err
	}
	if res == nil {
		return errNoResult
	}
	// All three are required by the schema, false and 0 included.
	w.Open("tns:revokeTokenResponse")
	w.ElemBool("tns:revoked", res.Revoked)
	w.Elem("tns:tokenId", res.TokenID)
	w.ElemInt("tns:revokedCount", int64(res.Count))
	w.Close("tns:revokeTokenResponse")
	return nil
}

var revokeTokensFields = []string{"user", "clientId", "reason"}

func (h *TokenAdminHandler) revokeTokens(ctx context.Context, req *Request, w *Writer) error {
	var f [3]*Element
	d := decoder{op: req.Body}
	d.fields(revokeTokensFields, f[:])
	r := tokenadmin.BulkRevoke{
		User:     d.str(f[0]),
		ClientID: d.str(f[1]),
		Reason:   d.str(f[2]),
	}
	if d.err != nil {
		return d.err
	}
	n, err := h.Service.RevokeTokens(ctx, req.Caller, r)
	if err != nil {
		return err
	}
	w.Open("tns:revokeTokensResponse")
	w.ElemInt("tns:revokedCount", int64(n))
	w.Close("tns:revokeTokensResponse")
	return nil
}

var listAuthorizedAppsFields = []string{"user"}

func (h *TokenAdminHandler) listAuthorizedApps(ctx context.Context, req *Request, w *Writer) error {
	var f [1]*Element
	d := decoder{op: req.Body}
	d.fields(listAuthorizedAppsFields, f[:])
	user := d.str(f[0])
	if d.err != nil {
		return d.err
	}
	apps, err := h.Service.ListAuthorizedApps(ctx, req.Caller, user)
	if err != nil {
		return err
	}
	w.Open("tns:listAuthorizedAppsResponse")
	for _, a := range apps {
		if a == nil {
			continue
		}
		w.Open("tns:app")
		w.Elem("tns:clientId", a.ClientID)
		w.Elem("tns:appName", a.AppName)
		w.ElemInt("tns:activeTokens", int64(a.ActiveTokens))
		w.ElemTime("tns:lastIssuedAt", a.LastIssuedAt)
		w.Close("tns:app")
	}
	w.Close("tns:listAuthorizedAppsResponse")
	return nil
}

var getTokenFields = []string{"tokenId"}

func (h *TokenAdminHandler) getToken(ctx context.Context, req *Request, w *Writer) error {
	var f [1]*Element
	d := decoder{op: req.Body}
	d.fields(getTokenFields, f[:])
	if d.err == nil && !present(f[0]) {
		return invalid("tokenId is required")
	}
	id := d.str(f[0])
	if d.err != nil {
		return d.err
	}
	t, err := h.Service.GetToken(ctx, req.Caller, id)
	if err != nil {
		return err
	}
	if t == nil {
		return errNoResult
	}
	w.Open("tns:getTokenResponse")
	writeToken(w, "tns:token", t)
	w.Elem("tns:state", string(t.State))
	if !t.RevokedAt.IsZero() {
		w.ElemTime("tns:revokedAt", t.RevokedAt)
	}
	if t.RevokedBy != "" {
		w.Elem("tns:revokedBy", t.RevokedBy)
	}
	if t.RevokeReason != "" {
		w.Elem("tns:revokeReason", t.RevokeReason)
	}
	w.Close("tns:getTokenResponse")
	return nil
}

// writeToken writes a tns:Token, its elements in schema order.
func writeToken(w *Writer, name string, t *tokenadmin.Token) {
	w.Open(name)
	w.Elem("tns:tokenId", t.ID)
	w.Elem("tns:tokenType", string(t.Type))
	w.Elem("tns:clientId", t.ClientID)
	w.Elem("tns:appName", t.AppName)
	w.Elem("tns:user", t.User)
	for _, s := range t.Scopes {
		w.Elem("tns:scope", s)
	}
	w.Elem("tns:grantType", t.GrantType)
	w.ElemTime("tns:issuedAt", t.IssuedAt)
	w.ElemTime("tns:expiresAt", t.ExpiresAt)
	w.Close(name)
}

// decoder reads the fields of a request wrapper element. It keeps the
// first error, so that a handler can read every field and check once.
//
// The rules: fields are the wrapper's children, in the wrapper's namespace
// (elementFormDefault="qualified"), in any order, each at most once; any
// other child is an error, and so is text in the wrapper. An xsi:nil field
// is absent. Strings are taken verbatim; numbers and enumerations are
// whitespace-collapsed first (XML Schema part 2 §4.3.6).
type decoder struct {
	op  *Element
	err error
}

func (d *decoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
}

// fields puts into out[i] the child named names[i], nil if none.
func (d *decoder) fields(names []string, out []*Element) {
	op := d.op
	if !isXMLSpace(op.Text) {
		d.fail(invalid("%s must not contain text", op.Name.Local))
		return
	}
	for _, c := range op.Children {
		if c.Name.Space != op.Name.Space {
			d.fail(invalid("element %s in %s is not in namespace %s", quoteName(c.Name.Local), op.Name.Local, op.Name.Space))
			return
		}
		i := 0
		for i < len(names) && names[i] != c.Name.Local {
			i++
		}
		switch {
		case i == len(names):
			d.fail(invalid("unexpected element %s in %s", quoteName(c.Name.Local), op.Name.Local))
			return
		case out[i] != nil:
			d.fail(invalid("element %s appears more than once in %s", quoteName(c.Name.Local), op.Name.Local))
			return
		}
		out[i] = c
	}
}

// present reports whether a field was given: there, and not xsi:nil.
func present(e *Element) bool { return e != nil && !e.IsNil() }

// value returns the text of a simple-typed field and whether it is present.
func (d *decoder) value(e *Element) (string, bool) {
	if e == nil || d.err != nil {
		return "", false
	}
	if e.IsNil() {
		// XML Schema part 1 §3.3.4: a nilled element has no content.
		if len(e.Children) > 0 || e.Text != "" {
			d.fail(invalid("element %s is nil but has content", e.Name.Local))
		}
		return "", false
	}
	if len(e.Children) > 0 {
		d.fail(invalid("element %s must not contain elements", e.Name.Local))
		return "", false
	}
	return e.Text, true
}

// str reads an xs:string field; absent is "".
func (d *decoder) str(e *Element) string {
	s, _ := d.value(e)
	return s
}

// int reads an integer field in [min, max]; absent is 0.
func (d *decoder) int(e *Element, min, max int) int {
	s, ok := d.value(e)
	if !ok {
		return 0
	}
	n, err := strconv.Atoi(collapse(s))
	if err != nil || n < min || n > max {
		d.fail(invalid("%s must be an integer between %d and %d", e.Name.Local, min, max))
		return 0
	}
	return n
}

// enum reads an enumerated field; absent is "".
func (d *decoder) enum(e *Element, want string, values ...string) string {
	s, ok := d.value(e)
	if !ok {
		return ""
	}
	s = collapse(s)
	for _, v := range values {
		if s == v {
			return v
		}
	}
	d.fail(invalid("%s must be %s", e.Name.Local, want))
	return ""
}
