package legacy

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"tokenadmin"
	"tokenadmin/soap"
)

// OAuthAdminService's application operations (WIRE.md §5, §7.3); which
// of them a profile has, its DTO fields and its void and fault behaviour
// are profile.go's. Decisions (see also doc.go):
//
//   - Lifetimes (2017-12 on): application/userAccessTokenExpiryTime ↔
//     App.AccessTTL and refreshTokenExpiryTime ↔ App.RefreshTTL, in
//     milliseconds; 0 is the server's default, both ways (so a DTO read
//     and sent back unchanged keeps following the default). Written
//     values must be whole seconds and not negative, else a fault.
//
//   - Every one of them needs an admin (Carbon's applicationmgt
//     permissions, WIRE.md §6), except that an auditor may call those
//     that only read (not in appChanges): anyone else gets the 50978
//     fault.
//   - The DTO maps onto tokenadmin.App: applicationName↔Name,
//     oauthConsumerKey↔ClientID, grantTypes↔GrantTypes (space-separated),
//     username↔Owner, state ACTIVE/REVOKED↔active/disabled. OAuthVersion
//     is always "OAuth-2.0"; callbackUrl is nil and pkce* false (not
//     stored: only the password, client_credentials and refresh_token
//     grants exist here). A non-empty callbackUrl sent to
//     registerOAuthApplicationData or updateConsumerApplication is the
//     same declared fault as "<grant> not allowed", "callback URLs are
//     not supported" (nil or empty is fine: stubs send xsi:nil).
//   - Grant types apply, as in WSO2, only when OAuthVersion is
//     "OAuth-2.0" (otherwise a new app gets the defaults and an update
//     keeps them). A grant tokenadmin does not have (authorization_code,
//     implicit, …) is WSO2's fault "<grant> not allowed": an app silently
//     registered without the grants asked for would be worse.
//   - Secrets are stored as hashes, so no read can return one:
//     oauthConsumerSecret is nil, except once. registerOAuthConsumer
//     returns [key, secret]; registerOAuthApplicationData and
//     updateOauthSecretKey return nothing in this generation, so the new
//     secret is kept in memory for the next getOAuthApplicationData or
//     getOAuthApplicationDataByAppName of that app by the same caller
//     (WSO2 portals register, then read the app back) within
//     pendingSecretTTL, and then forgotten. A client-chosen
//     oauthConsumerSecret cannot be stored: a fault.
//   - An unknown consumer key or app name is the declared
//     IdentityOAuthAdminException with WSO2's message (errorCode nil, as
//     2016-12 sets none); where WSO2 answers an empty DTO or nil, so do
//     we not: a fault is clearer and stubs handle it.
//   - getAllOAuthApplicationData lists the apps the caller owns (WSO2's
//     getOAuthConsumerAppsOfUser), sorted by name then key.

// AppAdmin is what the application operations need to manage apps;
// *tokenadmin.AppService satisfies it.
type AppAdmin interface {
	Register(ctx context.Context, c tokenadmin.Caller, a tokenadmin.App) (*tokenadmin.App, string, error)
	Get(ctx context.Context, c tokenadmin.Caller, clientID string) (*tokenadmin.App, error)
	List(ctx context.Context, c tokenadmin.Caller) ([]*tokenadmin.App, error)
	Update(ctx context.Context, c tokenadmin.Caller, clientID string, u tokenadmin.AppUpdate) (*tokenadmin.App, error)
	SetState(ctx context.Context, c tokenadmin.Caller, clientID string, state tokenadmin.AppState) (int, error)
	Delete(ctx context.Context, c tokenadmin.Caller, clientID string) (int, error)
	RegenerateSecret(ctx context.Context, c tokenadmin.Caller, clientID string) (string, int, error)
}

var _ AppAdmin = (*tokenadmin.AppService)(nil)

// WSO2's values (OAuthConstants).
const (
	oauthVersion2 = "OAuth-2.0"
	wso2Active    = "ACTIVE"
	wso2Revoked   = "REVOKED"
)

// WSO2's fault messages (OAuthAdminService, 2016-12).
const (
	msgAppByKey    = "Error while retrieving the app information using consumer key"
	msgAppByName   = "Error while retrieving the app information by app name"
	msgAppState    = "Error while updating consumer application state"
	msgAppSecret   = "Error in updating oauth app & revoking access tokens and authz codes."
	msgAppRegister = "Error while registering the OAuth application"
	msgAppUpdate   = "Error while updating the OAuth application"
	msgAppRemove   = "Error while removing the OAuth application"
	msgAppList     = "Error while retrieving the OAuth applications"
)

// registerAppOperations adds the profile's application operations to s;
// in a robust in-only generation the void ones answer 202 (WIRE.md §5.6).
func (h *Handler) registerAppOperations(s *service) {
	for name, fn := range map[string]func(context.Context, *call, *soap.Element, *soap.Writer) error{
		"getAllOAuthApplicationData":       h.getAllOAuthApplicationData,
		"getOAuthApplicationData":          h.getOAuthApplicationData,
		"getOAuthApplicationDataByAppName": h.getOAuthApplicationDataByAppName,
		"registerOAuthApplicationData":     h.registerOAuthApplicationData,
		"updateConsumerApplication":        h.updateConsumerApplication,
		"removeOAuthApplicationData":       h.removeOAuthApplicationData,
		"getAllowedGrantTypes":             h.getAllowedGrantTypes,
		"getOauthApplicationState":         h.getOauthApplicationState,
		"updateConsumerAppState":           h.updateConsumerAppState,
		"updateOauthSecretKey":             h.updateOauthSecretKey,
		"registerOAuthConsumer":            h.registerOAuthConsumer,
		"isPKCESupportEnabled":             h.isPKCESupportEnabled,
	} {
		if !slices.Contains(h.spec.appOps, name) {
			continue
		}
		inOnly := h.spec.inOnlyVoid && slices.Contains(voidOps, name)
		s.add(&operation{name: name, inOnly: inOnly, changes: slices.Contains(appChanges, name), handle: h.adminOnly(fn)})
	}
}

// appChanges are the application operations that change something;
// auditors may call the others.
var appChanges = []string{
	"registerOAuthApplicationData", "updateConsumerApplication", "removeOAuthApplicationData",
	"updateConsumerAppState", "updateOauthSecretKey", "registerOAuthConsumer",
}

// adminOnly is Carbon's AuthorizationHandler for the applicationmgt
// permissions: a caller who is neither an admin nor an auditor gets
// "Access Denied." (50978); auditors reach only the reading operations
// (operation.changes).
func (h *Handler) adminOnly(fn func(context.Context, *call, *soap.Element, *soap.Writer) error) func(context.Context, *call, *soap.Element, *soap.Writer) error {
	return func(ctx context.Context, x *call, wrapper *soap.Element, w *soap.Writer) error {
		if x.caller.Role != tokenadmin.RoleAdmin && x.caller.Role != tokenadmin.RoleAuditor {
			return tokenadmin.Errorf(tokenadmin.CodeForbidden, "application management needs an admin")
		}
		if h.AppAdmin == nil {
			return tokenadmin.Errorf(tokenadmin.CodeInternal, "legacy: Handler.AppAdmin is not set")
		}
		return fn(ctx, x, wrapper, w)
	}
}

// appError maps an AppAdmin error to the declared exception with msg:
// client errors carry no cause (nothing to log); invalid input keeps our
// message, which says what is wrong.
func appError(msg string, err error) error {
	switch tokenadmin.ErrorCode(err) {
	case tokenadmin.CodeForbidden, tokenadmin.CodeUnauthenticated:
		return err
	case tokenadmin.CodeNotFound:
		return &businessError{message: msg, oauthAdmin: true}
	case tokenadmin.CodeInvalid, tokenadmin.CodeConflict:
		return &businessError{message: tokenadmin.ErrorMessage(err), oauthAdmin: true}
	}
	return oauthAdminError(msg, err)
}

func clientError(msg string) error {
	return &businessError{message: msg, oauthAdmin: true}
}

// text is the value of wrapper's child name; "" when absent or nil.
func text(e *soap.Element, name string) (string, bool) {
	c := childByName(e, name)
	if c == nil || c.IsNil() {
		return "", false
	}
	return c.Text, true
}

func (h *Handler) getAllOAuthApplicationData(ctx context.Context, x *call, _ *soap.Element, w *soap.Writer) error {
	all, err := h.AppAdmin.List(ctx, x.caller)
	if err != nil {
		return appError(msgAppList, err)
	}
	var own []*tokenadmin.App
	for _, a := range all {
		if a.Owner == x.caller.Name {
			own = append(own, a)
		}
	}
	slices.SortFunc(own, func(a, b *tokenadmin.App) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.ClientID, b.ClientID))
	})
	const op = "getAllOAuthApplicationDataResponse"
	if len(own) == 0 {
		w.Raw(`<ns:` + op + ` xmlns:ns="` + nsAxis2 + `"/>`)
		return nil
	}
	w.Raw(`<ns:` + op + ` xmlns:ns="` + nsAxis2 + `">`)
	for _, a := range own {
		h.spec.writeAppDTO(w, newAppView(a, "", true))
	}
	w.Raw(`</ns:` + op + `>`)
	return nil
}

// appByKey is the app the request's consumerKey names, with WSO2's fault
// for a missing or unknown key.
func (h *Handler) appByKey(ctx context.Context, x *call, wrapper *soap.Element) (*tokenadmin.App, error) {
	key, _ := text(wrapper, "consumerKey")
	if key == "" {
		return nil, clientError(msgAppByKey)
	}
	a, err := h.AppAdmin.Get(ctx, x.caller, key)
	if err != nil {
		return nil, appError(msgAppByKey, err)
	}
	return a, nil
}

func (h *Handler) getOAuthApplicationData(ctx context.Context, x *call, wrapper *soap.Element, w *soap.Writer) error {
	a, err := h.appByKey(ctx, x, wrapper)
	if err != nil {
		return err
	}
	h.writeAppResponse(w, "getOAuthApplicationDataResponse", x.caller, a)
	return nil
}

// getOAuthApplicationDataByAppName: names are not unique here (WSO2's
// are, per tenant). The caller's own app of that name comes first, then
// any; among several, the smallest client ID.
func (h *Handler) getOAuthApplicationDataByAppName(ctx context.Context, x *call, wrapper *soap.Element, w *soap.Writer) error {
	name, _ := text(wrapper, "appName")
	all, err := h.AppAdmin.List(ctx, x.caller)
	if err != nil {
		return appError(msgAppByName, err)
	}
	var best *tokenadmin.App
	for _, a := range all {
		if a.Name != name || name == "" {
			continue
		}
		if best == nil || better(a, best, x.caller.Name) {
			best = a
		}
	}
	if best == nil {
		return clientError(msgAppByName)
	}
	h.writeAppResponse(w, "getOAuthApplicationDataByAppNameResponse", x.caller, best)
	return nil
}

func better(a, b *tokenadmin.App, caller string) bool {
	if (a.Owner == caller) != (b.Owner == caller) {
		return a.Owner == caller
	}
	return a.ClientID < b.ClientID
}

func (h *Handler) writeAppResponse(w *soap.Writer, op string, c tokenadmin.Caller, a *tokenadmin.App) {
	w.Raw(`<ns:` + op + ` xmlns:ns="` + nsAxis2 + `">`)
	h.spec.writeAppDTO(w, newAppView(a, h.secrets.take(c.Name, a.ClientID), true))
	w.Raw(`</ns:` + op + `>`)
}

func wso2State(s tokenadmin.AppState) string {
	if s == tokenadmin.AppDisabled {
		return wso2Revoked
	}
	return wso2Active
}

// appDTO is the part of a request's OAuthConsumerAppDTO we use.
type appDTO struct {
	name, key, owner *string
	grants           *[]string
	secretSet        bool
	// access and refresh are the lifetimes, in generations whose DTO has
	// them (profileSpec.lifetimes); nil: unchanged or the default.
	access, refresh *time.Duration
}

// readAppDTO reads an OAuthConsumerAppDTO leniently (WIRE.md §8.3).
// Grant types count only with OAuthVersion "OAuth-2.0", as in WSO2, and
// each must be one of ours.
func (p *profileSpec) readAppDTO(e *soap.Element) (appDTO, error) {
	var d appDTO
	var err error
	if d.access, d.refresh, err = p.lifetimes(e); err != nil {
		return d, err
	}
	opt := func(name string) *string {
		if v, ok := text(e, name); ok {
			return &v
		}
		return nil
	}
	d.name, d.key, d.owner = opt("applicationName"), opt("oauthConsumerKey"), opt("username")
	if s := opt("oauthConsumerSecret"); s != nil && *s != "" {
		d.secretSet = true
	}
	if v := opt("OAuthVersion"); v != nil && *v == oauthVersion2 {
		grants := []string{}
		if g := opt("grantTypes"); g != nil {
			for _, f := range strings.Fields(*g) {
				if !slices.Contains(tokenadmin.GrantTypes, f) {
					return d, clientError(f + " not allowed")
				}
				if !slices.Contains(grants, f) {
					grants = append(grants, f)
				}
			}
		}
		d.grants = &grants
	}
	// No callback URL is stored (only grants without redirects exist
	// here): dropping one silently would leave a portal believing it was
	// registered. Checked after the grants, so that authorization_code
	// with its callback keeps the more telling "not allowed" fault.
	if c := opt("callbackUrl"); c != nil && strings.TrimSpace(*c) != "" {
		return d, clientError(msgCallbackURL)
	}
	return d, nil
}

// msgCallbackURL is the fault of a DTO with a non-empty callbackUrl.
const msgCallbackURL = "callback URLs are not supported"

// registerOAuthApplicationData creates an app owned by username, or by
// the caller when username is empty. The consumer key is the request's
// or a random one; the secret is always ours (see the decisions above).
func (h *Handler) registerOAuthApplicationData(ctx context.Context, x *call, wrapper *soap.Element, w *soap.Writer) error {
	dtoElem := childByName(wrapper, "application")
	if dtoElem == nil || dtoElem.IsNil() {
		// WSO2 registers nothing and answers success.
		writeVoid(w, "registerOAuthApplicationDataResponse")
		return nil
	}
	d, err := h.spec.readAppDTO(dtoElem)
	if err != nil {
		return err
	}
	if d.secretSet {
		return clientError("oauthConsumerSecret cannot be chosen: tokenadmin generates client secrets")
	}
	app := tokenadmin.NewApp("")
	if d.name != nil {
		app.Name = *d.name
	}
	if d.key != nil {
		app.ClientID = *d.key
	}
	app.Owner = x.caller.Name
	if d.owner != nil && *d.owner != "" {
		app.Owner = *d.owner
	}
	if d.grants != nil {
		app.GrantTypes = *d.grants
	}
	if d.access != nil {
		app.AccessTTL = *d.access
	}
	if d.refresh != nil {
		app.RefreshTTL = *d.refresh
	}
	created, secret, err := h.AppAdmin.Register(ctx, x.caller, app)
	if err != nil {
		return appError(msgAppRegister, err)
	}
	h.secrets.put(x.caller.Name, created.ClientID, secret)
	writeVoid(w, "registerOAuthApplicationDataResponse")
	return nil
}

// updateConsumerApplication changes name and grant types (the way a
// portal switches the refresh grant off for one app), the owner when
// username is set, and, from 2017-12, the token lifetimes
// (profileSpec.lifetimes). Nil or absent fields stay as they are; the PKCE
// flags are ignored; a new secret or a callbackUrl is refused.
func (h *Handler) updateConsumerApplication(ctx context.Context, x *call, wrapper *soap.Element, w *soap.Writer) error {
	dtoElem := childByName(wrapper, "consumerAppDTO")
	if dtoElem == nil || dtoElem.IsNil() {
		return clientError(msgAppByKey)
	}
	d, err := h.spec.readAppDTO(dtoElem)
	if err != nil {
		return err
	}
	if d.key == nil || *d.key == "" {
		return clientError(msgAppByKey)
	}
	cur, err := h.AppAdmin.Get(ctx, x.caller, *d.key)
	if err != nil {
		return appError(msgAppByKey, err)
	}
	if d.secretSet {
		// A round-tripped DTO carries no secret (ours are never read
		// back), so this is an attempt to choose one.
		return clientError("oauthConsumerSecret cannot be changed: use updateOauthSecretKey")
	}
	var u tokenadmin.AppUpdate
	if d.name != nil && *d.name != "" && *d.name != cur.Name {
		u.Name = d.name
	}
	if d.owner != nil && *d.owner != "" && *d.owner != cur.Owner {
		u.Owner = d.owner
	}
	if d.grants != nil {
		u.GrantTypes = d.grants
	}
	u.AccessTTL, u.RefreshTTL = d.access, d.refresh
	if _, err := h.AppAdmin.Update(ctx, x.caller, cur.ClientID, u); err != nil {
		return appError(msgAppUpdate, err)
	}
	writeVoid(w, "updateConsumerApplicationResponse")
	return nil
}

// removeOAuthApplicationData revokes the app's tokens and deletes it.
func (h *Handler) removeOAuthApplicationData(ctx context.Context, x *call, wrapper *soap.Element, w *soap.Writer) error {
	key, _ := text(wrapper, "consumerKey")
	if key == "" {
		return clientError(msgAppRemove)
	}
	if _, err := h.AppAdmin.Delete(ctx, x.caller, key); err != nil {
		return appError(msgAppRemove, err)
	}
	h.secrets.forget(key)
	writeVoid(w, "removeOAuthApplicationDataResponse")
	return nil
}

// getAllowedGrantTypes lists tokenadmin's grant types, in WSO2's names
// (they are the same).
func (h *Handler) getAllowedGrantTypes(_ context.Context, _ *call, _ *soap.Element, w *soap.Writer) error {
	w.Raw(`<ns:getAllowedGrantTypesResponse xmlns:ns="` + nsAxis2 + `">`)
	for _, g := range tokenadmin.GrantTypes {
		w.Elem("ns:return", g)
	}
	w.Raw(`</ns:getAllowedGrantTypesResponse>`)
	return nil
}

// getOauthApplicationState is ACTIVE or REVOKED (disabled).
func (h *Handler) getOauthApplicationState(ctx context.Context, x *call, wrapper *soap.Element, w *soap.Writer) error {
	a, err := h.appByKey(ctx, x, wrapper)
	if err != nil {
		return err
	}
	w.Raw(`<ns:getOauthApplicationStateResponse xmlns:ns="` + nsAxis2 + `">`)
	w.Elem("ns:return", wso2State(a.State))
	w.Raw(`</ns:getOauthApplicationStateResponse>`)
	return nil
}

// updateConsumerAppState sets ACTIVE or REVOKED (any case); REVOKED
// disables the app and revokes its tokens, as in WSO2. Any other state is
// a fault.
func (h *Handler) updateConsumerAppState(ctx context.Context, x *call, wrapper *soap.Element, w *soap.Writer) error {
	key, _ := text(wrapper, "consumerKey")
	state, _ := text(wrapper, "newState")
	var s tokenadmin.AppState
	switch strings.ToUpper(strings.TrimSpace(state)) {
	case wso2Active:
		s = tokenadmin.AppActive
	case wso2Revoked:
		s = tokenadmin.AppDisabled
	default:
		return clientError("Invalid application state : " + state + " (ACTIVE or REVOKED)")
	}
	if key == "" {
		return clientError(msgAppState)
	}
	if _, err := h.AppAdmin.SetState(ctx, x.caller, key, s); err != nil {
		return appError(msgAppState, err)
	}
	writeVoid(w, "updateConsumerAppStateResponse")
	return nil
}

// updateOauthSecretKey replaces the secret and revokes the app's tokens,
// as WSO2 does; the new secret is readable once (see above).
func (h *Handler) updateOauthSecretKey(ctx context.Context, x *call, wrapper *soap.Element, w *soap.Writer) error {
	key, _ := text(wrapper, "consumerKey")
	if key == "" {
		return clientError(msgAppSecret)
	}
	secret, _, err := h.AppAdmin.RegenerateSecret(ctx, x.caller, key)
	if err != nil {
		return appError(msgAppSecret, err)
	}
	h.secrets.put(x.caller.Name, key, secret)
	writeVoid(w, "updateOauthSecretKeyResponse")
	return nil
}

// registerOAuthConsumer registers an app of the caller with the default
// grants, named "OAuth consumer", and returns [key, secret].
func (h *Handler) registerOAuthConsumer(ctx context.Context, x *call, _ *soap.Element, w *soap.Writer) error {
	app := tokenadmin.NewApp("OAuth consumer")
	app.Owner = x.caller.Name
	created, secret, err := h.AppAdmin.Register(ctx, x.caller, app)
	if err != nil {
		return appError(msgAppRegister, err)
	}
	w.Raw(`<ns:registerOAuthConsumerResponse xmlns:ns="` + nsAxis2 + `">`)
	w.Elem("ns:return", created.ClientID)
	w.Elem("ns:return", secret)
	w.Raw(`</ns:registerOAuthConsumerResponse>`)
	return nil
}

// isPKCESupportEnabled: no authorization-code grant, so no PKCE.
func (h *Handler) isPKCESupportEnabled(_ context.Context, _ *call, _ *soap.Element, w *soap.Writer) error {
	w.Raw(`<ns:isPKCESupportEnabledResponse xmlns:ns="` + nsAxis2 + `">`)
	w.ElemBool("ns:return", false)
	w.Raw(`</ns:isPKCESupportEnabledResponse>`)
	return nil
}

// writeVoid is a void in-out operation's answer from 2016-12 on (WIRE.md
// §5.6): HTTP 200 and a nil return.
func writeVoid(w *soap.Writer, op string) {
	w.Raw(`<ns:` + op + ` xmlns:ns="` + nsAxis2 + `"><ns:return xmlns:xsi="` + nsXSI + `" xsi:nil="true"/></ns:` + op + `>`)
}

// pendingSecretTTL is how long a new secret waits for its one read.
const pendingSecretTTL = 10 * time.Minute

// maxPendingSecrets bounds the memory pending secrets take; the oldest
// goes first.
const maxPendingSecrets = 1000

// pendingSecrets keeps new client secrets for their one read by the
// caller that made them (the 2016-12 register and regenerate operations
// return nothing). The zero value is ready.
type pendingSecrets struct {
	mu sync.Mutex
	m  map[string]pendingSecret // by caller + "\x00" + client ID
}

type pendingSecret struct {
	secret string
	until  time.Time
}

func (p *pendingSecrets) put(caller, clientID, secret string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if p.m == nil {
		p.m = make(map[string]pendingSecret)
	}
	for k, v := range p.m {
		if now.After(v.until) || strings.HasSuffix(k, "\x00"+clientID) {
			delete(p.m, k)
		}
	}
	if len(p.m) >= maxPendingSecrets {
		var oldest string
		var t time.Time
		for k, v := range p.m {
			if oldest == "" || v.until.Before(t) {
				oldest, t = k, v.until
			}
		}
		delete(p.m, oldest)
	}
	p.m[caller+"\x00"+clientID] = pendingSecret{secret: secret, until: now.Add(pendingSecretTTL)}
}

// take returns the pending secret of clientID for caller, once; "" if
// there is none.
func (p *pendingSecrets) take(caller, clientID string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	k := caller + "\x00" + clientID
	v, ok := p.m[k]
	if !ok {
		return ""
	}
	delete(p.m, k)
	if time.Now().After(v.until) {
		return ""
	}
	return v.secret
}

// forget drops every pending secret of clientID.
func (p *pendingSecrets) forget(clientID string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k := range p.m {
		if strings.HasSuffix(k, "\x00"+clientID) {
			delete(p.m, k)
		}
	}
}
