package soap

import (
	"context"
	"encoding/xml"
	"errors"
	"math"
	"slices"
	"strconv"
	"time"

	"tokenadmin"
)

// AppAdminService is what the app operations of the TokenAdmin endpoint
// (registerApp, updateApp, getApp, listApps, deleteApp, regenerateSecret)
// need of the domain; *tokenadmin.AppService satisfies it. It applies the
// access rules: administrators manage every app, other users the apps they
// own, and an app the caller may not manage is CodeNotFound like an unknown
// one, so that client IDs cannot be probed.
//
// The error contract is TokenAdminService's: a *tokenadmin.Error
// (CodeInvalid, CodeNotFound, CodeConflict, CodeForbidden,
// CodeUnauthenticated, …) goes on the wire with its code and message; any
// other error is logged and answered with a generic Server fault.
type AppAdminService interface {
	// Register creates an active app from a and returns it with its client
	// secret, shown this once. An empty a.ClientID gets a generated one;
	// an existing one is CodeConflict. A policy that is not valid is
	// CodeInvalid; a user other than an admin naming another owner,
	// CodeForbidden.
	Register(ctx context.Context, c tokenadmin.Caller, a tokenadmin.App) (*tokenadmin.App, string, error)
	// Get returns an app c may manage; "" is CodeInvalid.
	Get(ctx context.Context, c tokenadmin.Caller, clientID string) (*tokenadmin.App, error)
	// List returns the apps c may manage.
	List(ctx context.Context, c tokenadmin.Caller) ([]*tokenadmin.App, error)
	// Update applies u, whose nil fields leave the app as it is, and
	// returns the changed app. A resulting policy that is not valid is
	// CodeInvalid; a user other than an admin giving the app to another
	// owner, CodeForbidden.
	Update(ctx context.Context, c tokenadmin.Caller, clientID string, u tokenadmin.AppUpdate) (*tokenadmin.App, error)
	// SetState enables or disables an app. Disabling revokes the app's
	// active tokens and returns how many; enabling returns 0.
	SetState(ctx context.Context, c tokenadmin.Caller, clientID string, state tokenadmin.AppState) (int, error)
	// Delete revokes the app's tokens, deletes the app, and returns how
	// many tokens it revoked.
	Delete(ctx context.Context, c tokenadmin.Caller, clientID string) (int, error)
	// RegenerateSecret replaces the app's secret and revokes its tokens;
	// it returns the new secret, shown this once, and how many tokens it
	// revoked.
	RegenerateSecret(ctx context.Context, c tokenadmin.Caller, clientID string) (secret string, revoked int, err error)
}

// maxLifetime is the longest lifetime on the wire: the schema's Lifetime
// is an xs:int of seconds.
const maxLifetime = math.MaxInt32

var errNoSecret = errors.New("soap: the service returned an app without its client secret")

// registerAppOperations registers the app operations. They are always
// registered, as the WSDL always describes them; while h.Apps is nil they
// answer an UnknownOperation Client fault, which is what a client of a
// server without them would get.
func (h *TokenAdminHandler) registerAppOperations() {
	for _, op := range []struct {
		name   string
		handle func(context.Context, *Request, *Writer) error
	}{
		{"registerApp", h.registerApp},
		{"updateApp", h.updateApp},
		{"getApp", h.getApp},
		{"listApps", h.listApps},
		{"deleteApp", h.deleteApp},
		{"regenerateSecret", h.regenerateSecret},
	} {
		h.Register(Operation{
			Name:   xml.Name{Space: TokenAdminNamespace, Local: op.name},
			Action: TokenAdminNamespace + ":" + op.name,
			Handle: func(ctx context.Context, req *Request, w *Writer) error {
				if h.Apps == nil {
					return tokenadmin.Errorf(CodeUnknownOperation, "operation %s is not available: this server does not manage apps", op.name)
				}
				return op.handle(ctx, req, w)
			},
		})
	}
}

var registerAppFields = []string{"name", "owner", "clientId", "grantTypes", "scopes",
	"accessTokenLifetime", "refreshTokenLifetime", "rotateRefreshTokens", "introspect"}

// registerApp: absent fields keep the defaults of tokenadmin.NewApp.
func (h *TokenAdminHandler) registerApp(ctx context.Context, req *Request, w *Writer) error {
	var f [9]*Element
	d := decoder{op: req.Body}
	d.fields(registerAppFields, f[:])
	if d.err == nil && !present(f[0]) {
		return invalid("name is required")
	}
	u := d.appUpdate(f[0], f[1], f[3], f[4], f[5], f[6], f[7], f[8])
	clientID, given := d.value(f[2])
	if d.err != nil {
		return d.err
	}
	if given && clientID == "" {
		return invalid("clientId must not be empty: leave it out to have one generated")
	}
	a, secret, err := h.Apps.Register(ctx, req.Caller, withClientID(u.Apply(tokenadmin.NewApp("")), clientID))
	if err != nil {
		return err
	}
	if a == nil {
		return errNoResult
	}
	if secret == "" {
		return errNoSecret
	}
	w.Open("tns:registerAppResponse")
	writeApp(w, "tns:app", a)
	w.Elem("tns:clientSecret", secret)
	w.Close("tns:registerAppResponse")
	return nil
}

func withClientID(a tokenadmin.App, id string) tokenadmin.App {
	a.ClientID = id
	return a
}

var updateAppFields = []string{"clientId", "name", "owner", "grantTypes", "scopes",
	"accessTokenLifetime", "refreshTokenLifetime", "rotateRefreshTokens", "introspect", "state"}

// updateApp changes the policy through Update and the state through
// SetState. The two are not one transaction, so the restrictive change
// comes first: a disabling before the policy change, an enabling after
// it. A fault then never leaves an app enabled under its old policy.
func (h *TokenAdminHandler) updateApp(ctx context.Context, req *Request, w *Writer) error {
	var f [10]*Element
	d := decoder{op: req.Body}
	d.fields(updateAppFields, f[:])
	if d.err == nil && !present(f[0]) {
		return invalid("clientId is required")
	}
	id := d.str(f[0])
	u := d.appUpdate(f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8])
	state := tokenadmin.AppState(d.enum(f[9], `"active" or "disabled"`, string(tokenadmin.AppActive), string(tokenadmin.AppDisabled)))
	if d.err != nil {
		return d.err
	}

	revoked := 0
	if state == tokenadmin.AppDisabled {
		n, err := h.Apps.SetState(ctx, req.Caller, id, state)
		if err != nil {
			return err
		}
		revoked = n
	}
	var a *tokenadmin.App
	if u != (tokenadmin.AppUpdate{}) {
		var err error
		if a, err = h.Apps.Update(ctx, req.Caller, id, u); err != nil {
			return err
		}
	}
	if state == tokenadmin.AppActive {
		if _, err := h.Apps.SetState(ctx, req.Caller, id, state); err != nil {
			return err
		}
		a = nil // its state is stale
	}
	if a == nil {
		var err error
		if a, err = h.Apps.Get(ctx, req.Caller, id); err != nil {
			return err
		}
	}
	if a == nil {
		return errNoResult
	}
	w.Open("tns:updateAppResponse")
	writeApp(w, "tns:app", a)
	w.ElemInt("tns:revokedCount", int64(revoked))
	w.Close("tns:updateAppResponse")
	return nil
}

var clientIDFields = []string{"clientId"}

// clientID reads the one required field of getApp, deleteApp and
// regenerateSecret.
func clientID(req *Request) (string, error) {
	var f [1]*Element
	d := decoder{op: req.Body}
	d.fields(clientIDFields, f[:])
	if d.err == nil && !present(f[0]) {
		return "", invalid("clientId is required")
	}
	id := d.str(f[0])
	return id, d.err
}

func (h *TokenAdminHandler) getApp(ctx context.Context, req *Request, w *Writer) error {
	id, err := clientID(req)
	if err != nil {
		return err
	}
	a, err := h.Apps.Get(ctx, req.Caller, id)
	if err != nil {
		return err
	}
	if a == nil {
		return errNoResult
	}
	w.Open("tns:getAppResponse")
	writeApp(w, "tns:app", a)
	w.Close("tns:getAppResponse")
	return nil
}

func (h *TokenAdminHandler) listApps(ctx context.Context, req *Request, w *Writer) error {
	d := decoder{op: req.Body}
	d.fields(nil, nil)
	if d.err != nil {
		return d.err
	}
	apps, err := h.Apps.List(ctx, req.Caller)
	if err != nil {
		return err
	}
	w.Open("tns:listAppsResponse")
	for _, a := range apps {
		if a != nil {
			writeApp(w, "tns:app", a)
		}
	}
	w.Close("tns:listAppsResponse")
	return nil
}

func (h *TokenAdminHandler) deleteApp(ctx context.Context, req *Request, w *Writer) error {
	id, err := clientID(req)
	if err != nil {
		return err
	}
	n, err := h.Apps.Delete(ctx, req.Caller, id)
	if err != nil {
		return err
	}
	w.Open("tns:deleteAppResponse")
	w.ElemInt("tns:revokedCount", int64(n))
	w.Close("tns:deleteAppResponse")
	return nil
}

func (h *TokenAdminHandler) regenerateSecret(ctx context.Context, req *Request, w *Writer) error {
	id, err := clientID(req)
	if err != nil {
		return err
	}
	secret, n, err := h.Apps.RegenerateSecret(ctx, req.Caller, id)
	if err != nil {
		return err
	}
	if secret == "" {
		return errNoSecret
	}
	w.Open("tns:regenerateSecretResponse")
	w.Elem("tns:clientSecret", secret)
	w.ElemInt("tns:revokedCount", int64(n))
	w.Close("tns:regenerateSecretResponse")
	return nil
}

// writeApp writes a tns:AppInfo, its elements in schema order. Required
// elements are written when false or 0; owner is left out when the app
// has none. The client secret is never part of it.
func writeApp(w *Writer, name string, a *tokenadmin.App) {
	w.Open(name)
	w.Elem("tns:clientId", a.ClientID)
	w.Elem("tns:name", a.Name)
	if a.Owner != "" {
		w.Elem("tns:owner", a.Owner)
	}
	for _, g := range a.GrantTypes {
		w.Elem("tns:grantType", g)
	}
	for _, s := range a.Scopes {
		w.Elem("tns:scope", s)
	}
	w.ElemInt("tns:accessTokenLifetime", lifetimeSeconds(a.AccessTTL))
	w.ElemInt("tns:refreshTokenLifetime", lifetimeSeconds(a.RefreshTTL))
	w.ElemBool("tns:rotateRefreshTokens", a.RotateRefresh)
	w.ElemBool("tns:introspect", a.Introspect)
	w.Elem("tns:state", string(a.State))
	w.ElemBool("tns:hasSecret", a.HasSecret)
	w.ElemTime("tns:createdAt", a.CreatedAt)
	w.Close(name)
}

// lifetimeSeconds is d in whole seconds, rounded up so that a lifetime
// under a second does not read as 0 (the server's default), and capped at
// maxLifetime.
func lifetimeSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	s := int64(d / time.Second)
	if d%time.Second != 0 {
		s++
	}
	return min(s, maxLifetime)
}

// appUpdate reads the fields that registerApp and updateApp share. Each
// absent (or xsi:nil) field is a nil pointer: unchanged, or the default
// for a new app. The domain validates the values (name length, scope
// syntax); only the wire types are checked here.
func (d *decoder) appUpdate(name, owner, grantTypes, scopes, accessTTL, refreshTTL, rotate, introspect *Element) tokenadmin.AppUpdate {
	return tokenadmin.AppUpdate{
		Name:          d.optStr(name),
		Owner:         d.optStr(owner),
		GrantTypes:    d.optList(grantTypes, "grantType", true),
		Scopes:        d.optList(scopes, "scope", false),
		AccessTTL:     d.optLifetime(accessTTL),
		RefreshTTL:    d.optLifetime(refreshTTL),
		RotateRefresh: d.optBool(rotate),
		Introspect:    d.optBool(introspect),
	}
}

// optStr reads an optional xs:string field; nil when absent.
func (d *decoder) optStr(e *Element) *string {
	s, ok := d.value(e)
	if !ok {
		return nil
	}
	return &s
}

// optBool reads an optional xs:boolean field, whose lexical forms are
// true, false, 1 and 0 (XML Schema part 2 §3.2.2.1); nil when absent.
func (d *decoder) optBool(e *Element) *bool {
	s, ok := d.value(e)
	if !ok {
		return nil
	}
	var v bool
	switch collapse(s) {
	case "true", "1":
		v = true
	case "false", "0":
	default:
		d.fail(invalid("%s must be true or false", e.Name.Local))
		return nil
	}
	return &v
}

// optLifetime reads an optional Lifetime, whole seconds from 0 (the
// server's default) to maxLifetime; nil when absent.
func (d *decoder) optLifetime(e *Element) *time.Duration {
	s, ok := d.value(e)
	if !ok {
		return nil
	}
	n, err := strconv.Atoi(collapse(s))
	if err != nil || n < 0 || n > maxLifetime {
		d.fail(invalid("%s must be a whole number of seconds between 0 and %d", e.Name.Local, maxLifetime))
		return nil
	}
	ttl := time.Duration(n) * time.Second
	return &ttl
}

// optList reads an optional wrapper field whose children are item
// elements, in the wrapper's namespace, each value at most once: nil when
// the wrapper is absent, empty (not nil) when it has no items. Grant types
// are an enumeration, so their values are whitespace-collapsed and checked;
// scopes are taken verbatim.
func (d *decoder) optList(e *Element, item string, grantTypes bool) *[]string {
	if e == nil || d.err != nil {
		return nil
	}
	if e.IsNil() {
		if len(e.Children) > 0 || e.Text != "" {
			d.fail(invalid("element %s is nil but has content", e.Name.Local))
		}
		return nil
	}
	if !isXMLSpace(e.Text) {
		d.fail(invalid("%s must not contain text", e.Name.Local))
		return nil
	}
	out := make([]string, 0, len(e.Children))
	for _, c := range e.Children {
		switch {
		case c.Name.Space != e.Name.Space:
			d.fail(invalid("element %s in %s is not in namespace %s", quoteName(c.Name.Local), e.Name.Local, e.Name.Space))
			return nil
		case c.Name.Local != item:
			d.fail(invalid("unexpected element %s in %s", quoteName(c.Name.Local), e.Name.Local))
			return nil
		}
		v, ok := d.value(c)
		if !ok {
			d.fail(invalid("%s in %s must have a value", item, e.Name.Local))
			return nil
		}
		if grantTypes {
			if v = collapse(v); !slices.Contains(tokenadmin.GrantTypes, v) {
				d.fail(invalid("grantType must be password, client_credentials or refresh_token"))
				return nil
			}
		}
		if slices.Contains(out, v) {
			d.fail(invalid("%s %s appears more than once in %s", item, quoteName(v), e.Name.Local))
			return nil
		}
		out = append(out, v)
	}
	return &out
}
