package tokenadmin_test

// Every OAuthAdminService operation each profile serves, driven through
// the client gowsdl generates from that profile's original WSDL
// (internal/wso2client/is50, is53, is55, is57), plus
// OAuth2TokenValidationService through internal/wso2client/tokenvalidation
// and AuthenticationAdmin by hand (see internal/wso2client/authadmin).
//
// Quirks of the generated clients worked around here:
//   - AuthenticationAdmin.wsdl does not generate compilable code with
//     gowsdl v0.5.0 (AuthenticationException declared twice: a global
//     element and a complex type of the same local name in two
//     namespaces), so login and logout are hand-built requests following
//     that WSDL's schema; the session cookie they set is carried to the
//     generated validation client by an http.Client with a cookie jar,
//     passed with gowsdl's WithHTTPClient (gowsdl's soap.Client keeps no
//     cookies of its own).
//   - The void operations (output message without parts) are called with
//     struct{}{} as the response, not a pointer: decoding any 200 answer
//     fails with "non-pointer passed to Unmarshal". IS 5.0's are robust
//     in-only (202, no Content-Type, no body), on which the client fails
//     with "mime: no media type". Both errors come only after the status
//     was found below 400, so statusRecorder.voidResult takes them, with
//     the recorded status (200, or 202 for IS 5.0), as success, and the
//     effects are checked in the store.
//   - Every field is omitempty: false booleans and 0 lifetimes are never
//     sent, so "0 keeps the server's default" is what an update without
//     lifetimes means here.
//   - encoding/xml ignores xsi:nil: nil strings decode as "" (deref).
//   - Faults come back as *soap.HTTPError (HTTP 500) with the raw body.

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	gowsdlsoap "github.com/hooklift/gowsdl/soap"

	"tokenadmin"
	"tokenadmin/internal/wso2client/is50"
	"tokenadmin/internal/wso2client/is53"
	"tokenadmin/internal/wso2client/is55"
	"tokenadmin/internal/wso2client/is57"
	"tokenadmin/internal/wso2client/tokenvalidation"
	"tokenadmin/legacy"
)

// wsApp is an OAuthConsumerAppDTO of any generation; the lifetimes are
// those of 2017-12 and later (ms).
type wsApp struct {
	version, name, callback, grants, key, secret, state, user string
	appMS, userMS, refreshMS                                  int64
}

// adminPort is the operations of OAuthAdminService a test drives, over
// one profile's generated client. The 2016-12+ operations are nil for
// IS 5.0; notServed calls an operation of the profile's WSDL that the
// server deliberately does not serve.
type adminPort struct {
	getApps          func() ([]wsApp, error)
	revoke           func(apps ...string) (isErr bool, code, msg string, err error)
	getAll           func() ([]wsApp, error)
	get              func(key string) (wsApp, error)
	getByName        func(name string) (wsApp, error)
	register         func(a wsApp) error
	update           func(a wsApp) error
	remove           func(key string) error
	grantTypes       func() ([]string, error)
	registerConsumer func() ([]string, error)
	getState         func(key string) (string, error)
	setState         func(key, state string) error
	newSecret        func(key string) error
	pkce             func() (bool, error)
	notServed        func() error
	notServedOp      string
}

func opt(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func derefAll(ss []*string) []string {
	var out []string
	for _, s := range ss {
		out = append(out, deref(s))
	}
	return out
}

const adminSOAP11Path = "/services/OAuthAdminService.OAuthAdminServiceHttpsSoap11Endpoint/"

// statusRecorder keeps the HTTP status of the last response, which
// gowsdl's client does not report for the void operations.
type statusRecorder struct {
	next http.RoundTripper
	last int
}

func (r *statusRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.next.RoundTrip(req)
	if err == nil {
		r.last = resp.StatusCode
	}
	return resp, err
}

// voidResult is what a void operation's call through gowsdl's client
// means. gowsdl v0.5.0 passes struct{}{} (not a pointer) as the response
// of operations whose output message has no parts, so decoding any 2016-12+
// response fails with "non-pointer passed to Unmarshal"; and on IS 5.0's
// robust in-only answer (202, no Content-Type, no body) it fails parsing
// the Content-Type ("mime: no media type"). Both happen only after the
// status was found below 400, so with the status the recorder saw being
// want, they are success.
func (r *statusRecorder) voidResult(want int, err error) error {
	var he *gowsdlsoap.HTTPError
	if errors.As(err, &he) {
		return err
	}
	if r.last != want {
		return fmt.Errorf("HTTP %d, want %d (%v)", r.last, want, err)
	}
	if err == nil || errors.Is(err, io.EOF) || err.Error() == "non-pointer passed to Unmarshal" || err.Error() == "mime: no media type" {
		return nil
	}
	return err
}

func is50Port(c *gowsdlsoap.Client, rec *statusRecorder) *adminPort {
	p := is50.NewOAuthAdminServicePortType(c)
	conv := func(a *is50.OAuthConsumerAppDTO) wsApp {
		if a == nil {
			return wsApp{}
		}
		return wsApp{version: deref(a.OAuthVersion), name: deref(a.ApplicationName), callback: deref(a.CallbackUrl), grants: deref(a.GrantTypes),
			key: deref(a.OauthConsumerKey), secret: deref(a.OauthConsumerSecret), user: deref(a.Username)}
	}
	dto := func(a wsApp) *is50.OAuthConsumerAppDTO {
		return &is50.OAuthConsumerAppDTO{OAuthVersion: opt(a.version), ApplicationName: opt(a.name), CallbackUrl: opt(a.callback),
			GrantTypes: opt(a.grants), OauthConsumerKey: opt(a.key)}
	}
	list := func(as []*is50.OAuthConsumerAppDTO) []wsApp {
		var out []wsApp
		for _, a := range as {
			out = append(out, conv(a))
		}
		return out
	}
	inOnly := func(err error) error { return rec.voidResult(http.StatusAccepted, err) }
	return &adminPort{
		getApps: func() ([]wsApp, error) {
			r, err := p.GetAppsAuthorizedByUser(&is50.GetAppsAuthorizedByUser{})
			if err != nil {
				return nil, err
			}
			return list(r.Return_), nil
		},
		revoke: func(apps ...string) (bool, string, string, error) {
			r, err := p.RevokeAuthzForAppsByResoureOwner(&is50.RevokeAuthzForAppsByResoureOwner{
				RevokeRequestDTO: &is50.OAuthRevocationRequestDTO{Apps: toPtrs(apps)}})
			if err != nil || r.Return_ == nil {
				return false, "", "", errors.Join(err, errors.New("no return"))
			}
			return r.Return_.Error, deref(r.Return_.ErrorCode), deref(r.Return_.ErrorMsg), nil
		},
		getAll: func() ([]wsApp, error) {
			r, err := p.GetAllOAuthApplicationData(&is50.GetAllOAuthApplicationData{})
			if err != nil {
				return nil, err
			}
			return list(r.Return_), nil
		},
		get: func(key string) (wsApp, error) {
			r, err := p.GetOAuthApplicationData(&is50.GetOAuthApplicationData{ConsumerKey: &key})
			if err != nil {
				return wsApp{}, err
			}
			return conv(r.Return_), nil
		},
		register: func(a wsApp) error {
			return inOnly(p.RegisterOAuthApplicationData(&is50.RegisterOAuthApplicationData{Application: dto(a)}))
		},
		update: func(a wsApp) error {
			return inOnly(p.UpdateConsumerApplication(&is50.UpdateConsumerApplication{ConsumerAppDTO: dto(a)}))
		},
		remove: func(key string) error {
			return inOnly(p.RemoveOAuthApplicationData(&is50.RemoveOAuthApplicationData{ConsumerKey: &key}))
		},
		grantTypes: func() ([]string, error) {
			r, err := p.GetAllowedGrantTypes(&is50.GetAllowedGrantTypes{})
			if err != nil {
				return nil, err
			}
			return derefAll(r.Return_), nil
		},
		registerConsumer: func() ([]string, error) {
			r, err := p.RegisterOAuthConsumer(&is50.RegisterOAuthConsumer{})
			if err != nil {
				return nil, err
			}
			return derefAll(r.Return_), nil
		},
	}
}

func toPtrs(ss []string) []*string {
	out := []*string{}
	for _, s := range ss {
		out = append(out, &s)
	}
	return out
}

func is53Port(c *gowsdlsoap.Client, rec *statusRecorder) *adminPort {
	p := is53.NewOAuthAdminServicePortType(c)
	conv := func(a *is53.OAuthConsumerAppDTO) wsApp {
		if a == nil {
			return wsApp{}
		}
		return wsApp{version: deref(a.OAuthVersion), name: deref(a.ApplicationName), callback: deref(a.CallbackUrl), grants: deref(a.GrantTypes),
			key: deref(a.OauthConsumerKey), secret: deref(a.OauthConsumerSecret), state: deref(a.State), user: deref(a.Username)}
	}
	dto := func(a wsApp) *is53.OAuthConsumerAppDTO {
		return &is53.OAuthConsumerAppDTO{OAuthVersion: opt(a.version), ApplicationName: opt(a.name), CallbackUrl: opt(a.callback),
			GrantTypes: opt(a.grants), OauthConsumerKey: opt(a.key), State: opt(a.state)}
	}
	list := func(as []*is53.OAuthConsumerAppDTO) []wsApp {
		var out []wsApp
		for _, a := range as {
			out = append(out, conv(a))
		}
		return out
	}
	void := func(err error) error { return rec.voidResult(http.StatusOK, err) }
	return &adminPort{
		getApps: func() ([]wsApp, error) {
			r, err := p.GetAppsAuthorizedByUser(&is53.GetAppsAuthorizedByUser{})
			if err != nil {
				return nil, err
			}
			return list(r.Return_), nil
		},
		revoke: func(apps ...string) (bool, string, string, error) {
			r, err := p.RevokeAuthzForAppsByResoureOwner(&is53.RevokeAuthzForAppsByResoureOwner{
				RevokeRequestDTO: &is53.OAuthRevocationRequestDTO{Apps: toPtrs(apps)}})
			if err != nil || r.Return_ == nil {
				return false, "", "", errors.Join(err, errors.New("no return"))
			}
			return r.Return_.Error, deref(r.Return_.ErrorCode), deref(r.Return_.ErrorMsg), nil
		},
		getAll: func() ([]wsApp, error) {
			r, err := p.GetAllOAuthApplicationData(&is53.GetAllOAuthApplicationData{})
			if err != nil {
				return nil, err
			}
			return list(r.Return_), nil
		},
		get: func(key string) (wsApp, error) {
			r, err := p.GetOAuthApplicationData(&is53.GetOAuthApplicationData{ConsumerKey: &key})
			if err != nil {
				return wsApp{}, err
			}
			return conv(r.Return_), nil
		},
		getByName: func(name string) (wsApp, error) {
			r, err := p.GetOAuthApplicationDataByAppName(&is53.GetOAuthApplicationDataByAppName{AppName: &name})
			if err != nil {
				return wsApp{}, err
			}
			return conv(r.Return_), nil
		},
		register: func(a wsApp) error {
			return void(p.RegisterOAuthApplicationData(&is53.RegisterOAuthApplicationData{Application: dto(a)}))
		},
		update: func(a wsApp) error {
			return void(p.UpdateConsumerApplication(&is53.UpdateConsumerApplication{ConsumerAppDTO: dto(a)}))
		},
		remove: func(key string) error {
			return void(p.RemoveOAuthApplicationData(&is53.RemoveOAuthApplicationData{ConsumerKey: &key}))
		},
		grantTypes: func() ([]string, error) {
			r, err := p.GetAllowedGrantTypes(&is53.GetAllowedGrantTypes{})
			if err != nil {
				return nil, err
			}
			return derefAll(r.Return_), nil
		},
		registerConsumer: func() ([]string, error) {
			r, err := p.RegisterOAuthConsumer(&is53.RegisterOAuthConsumer{})
			if err != nil {
				return nil, err
			}
			return derefAll(r.Return_), nil
		},
		getState: func(key string) (string, error) {
			r, err := p.GetOauthApplicationState(&is53.GetOauthApplicationState{ConsumerKey: &key})
			if err != nil {
				return "", err
			}
			return deref(r.Return_), nil
		},
		setState: func(key, state string) error {
			return void(p.UpdateConsumerAppState(&is53.UpdateConsumerAppState{ConsumerKey: &key, NewState: &state}))
		},
		newSecret: func(key string) error {
			return void(p.UpdateOauthSecretKey(&is53.UpdateOauthSecretKey{ConsumerKey: &key}))
		},
		pkce: func() (bool, error) {
			r, err := p.IsPKCESupportEnabled(&is53.IsPKCESupportEnabled{})
			if err != nil {
				return false, err
			}
			return r.Return_, nil
		},
		notServedOp: "updateApproveAlwaysForAppConsentByResourceOwner",
		notServed: func() error {
			_, err := p.UpdateApproveAlwaysForAppConsentByResourceOwner(&is53.UpdateApproveAlwaysForAppConsentByResourceOwner{AppName: new("Mobile App"), State: new("true")})
			return err
		},
	}
}

func is55Port(c *gowsdlsoap.Client, rec *statusRecorder) *adminPort {
	p := is55.NewOAuthAdminServicePortType(c)
	conv := func(a *is55.OAuthConsumerAppDTO) wsApp {
		if a == nil {
			return wsApp{}
		}
		return wsApp{version: deref(a.OAuthVersion), name: deref(a.ApplicationName), callback: deref(a.CallbackUrl), grants: deref(a.GrantTypes),
			key: deref(a.OauthConsumerKey), secret: deref(a.OauthConsumerSecret), state: deref(a.State), user: deref(a.Username), appMS: a.ApplicationAccessTokenExpiryTime, userMS: a.UserAccessTokenExpiryTime, refreshMS: a.RefreshTokenExpiryTime}
	}
	dto := func(a wsApp) *is55.OAuthConsumerAppDTO {
		return &is55.OAuthConsumerAppDTO{OAuthVersion: opt(a.version), ApplicationName: opt(a.name), CallbackUrl: opt(a.callback),
			GrantTypes: opt(a.grants), OauthConsumerKey: opt(a.key), State: opt(a.state), ApplicationAccessTokenExpiryTime: a.appMS, UserAccessTokenExpiryTime: a.userMS, RefreshTokenExpiryTime: a.refreshMS}
	}
	list := func(as []*is55.OAuthConsumerAppDTO) []wsApp {
		var out []wsApp
		for _, a := range as {
			out = append(out, conv(a))
		}
		return out
	}
	void := func(err error) error { return rec.voidResult(http.StatusOK, err) }
	return &adminPort{
		getApps: func() ([]wsApp, error) {
			r, err := p.GetAppsAuthorizedByUser(&is55.GetAppsAuthorizedByUser{})
			if err != nil {
				return nil, err
			}
			return list(r.Return_), nil
		},
		revoke: func(apps ...string) (bool, string, string, error) {
			r, err := p.RevokeAuthzForAppsByResoureOwner(&is55.RevokeAuthzForAppsByResoureOwner{
				RevokeRequestDTO: &is55.OAuthRevocationRequestDTO{Apps: toPtrs(apps)}})
			if err != nil || r.Return_ == nil {
				return false, "", "", errors.Join(err, errors.New("no return"))
			}
			return r.Return_.Error, deref(r.Return_.ErrorCode), deref(r.Return_.ErrorMsg), nil
		},
		getAll: func() ([]wsApp, error) {
			r, err := p.GetAllOAuthApplicationData(&is55.GetAllOAuthApplicationData{})
			if err != nil {
				return nil, err
			}
			return list(r.Return_), nil
		},
		get: func(key string) (wsApp, error) {
			r, err := p.GetOAuthApplicationData(&is55.GetOAuthApplicationData{ConsumerKey: &key})
			if err != nil {
				return wsApp{}, err
			}
			return conv(r.Return_), nil
		},
		getByName: func(name string) (wsApp, error) {
			r, err := p.GetOAuthApplicationDataByAppName(&is55.GetOAuthApplicationDataByAppName{AppName: &name})
			if err != nil {
				return wsApp{}, err
			}
			return conv(r.Return_), nil
		},
		register: func(a wsApp) error {
			return void(p.RegisterOAuthApplicationData(&is55.RegisterOAuthApplicationData{Application: dto(a)}))
		},
		update: func(a wsApp) error {
			return void(p.UpdateConsumerApplication(&is55.UpdateConsumerApplication{ConsumerAppDTO: dto(a)}))
		},
		remove: func(key string) error {
			return void(p.RemoveOAuthApplicationData(&is55.RemoveOAuthApplicationData{ConsumerKey: &key}))
		},
		grantTypes: func() ([]string, error) {
			r, err := p.GetAllowedGrantTypes(&is55.GetAllowedGrantTypes{})
			if err != nil {
				return nil, err
			}
			return derefAll(r.Return_), nil
		},
		registerConsumer: func() ([]string, error) {
			r, err := p.RegisterOAuthConsumer(&is55.RegisterOAuthConsumer{})
			if err != nil {
				return nil, err
			}
			return derefAll(r.Return_), nil
		},
		getState: func(key string) (string, error) {
			r, err := p.GetOauthApplicationState(&is55.GetOauthApplicationState{ConsumerKey: &key})
			if err != nil {
				return "", err
			}
			return deref(r.Return_), nil
		},
		setState: func(key, state string) error {
			return void(p.UpdateConsumerAppState(&is55.UpdateConsumerAppState{ConsumerKey: &key, NewState: &state}))
		},
		newSecret: func(key string) error {
			return void(p.UpdateOauthSecretKey(&is55.UpdateOauthSecretKey{ConsumerKey: &key}))
		},
		pkce: func() (bool, error) {
			r, err := p.IsPKCESupportEnabled(&is55.IsPKCESupportEnabled{})
			if err != nil {
				return false, err
			}
			return r.Return_, nil
		},
		notServedOp: "getTokenExpiryTimes",
		notServed: func() error {
			_, err := p.GetTokenExpiryTimes(&is55.GetTokenExpiryTimes{})
			return err
		},
	}
}

func is57Port(c *gowsdlsoap.Client, rec *statusRecorder) *adminPort {
	p := is57.NewOAuthAdminServicePortType(c)
	conv := func(a *is57.OAuthConsumerAppDTO) wsApp {
		if a == nil {
			return wsApp{}
		}
		return wsApp{version: deref(a.OAuthVersion), name: deref(a.ApplicationName), callback: deref(a.CallbackUrl), grants: deref(a.GrantTypes),
			key: deref(a.OauthConsumerKey), secret: deref(a.OauthConsumerSecret), state: deref(a.State), user: deref(a.Username), appMS: a.ApplicationAccessTokenExpiryTime, userMS: a.UserAccessTokenExpiryTime, refreshMS: a.RefreshTokenExpiryTime}
	}
	dto := func(a wsApp) *is57.OAuthConsumerAppDTO {
		return &is57.OAuthConsumerAppDTO{OAuthVersion: opt(a.version), ApplicationName: opt(a.name), CallbackUrl: opt(a.callback),
			GrantTypes: opt(a.grants), OauthConsumerKey: opt(a.key), State: opt(a.state), ApplicationAccessTokenExpiryTime: a.appMS, UserAccessTokenExpiryTime: a.userMS, RefreshTokenExpiryTime: a.refreshMS}
	}
	list := func(as []*is57.OAuthConsumerAppDTO) []wsApp {
		var out []wsApp
		for _, a := range as {
			out = append(out, conv(a))
		}
		return out
	}
	void := func(err error) error { return rec.voidResult(http.StatusOK, err) }
	return &adminPort{
		getApps: func() ([]wsApp, error) {
			r, err := p.GetAppsAuthorizedByUser(&is57.GetAppsAuthorizedByUser{})
			if err != nil {
				return nil, err
			}
			return list(r.Return_), nil
		},
		revoke: func(apps ...string) (bool, string, string, error) {
			r, err := p.RevokeAuthzForAppsByResoureOwner(&is57.RevokeAuthzForAppsByResoureOwner{
				RevokeRequestDTO: &is57.OAuthRevocationRequestDTO{Apps: toPtrs(apps)}})
			if err != nil || r.Return_ == nil {
				return false, "", "", errors.Join(err, errors.New("no return"))
			}
			return r.Return_.Error, deref(r.Return_.ErrorCode), deref(r.Return_.ErrorMsg), nil
		},
		getAll: func() ([]wsApp, error) {
			r, err := p.GetAllOAuthApplicationData(&is57.GetAllOAuthApplicationData{})
			if err != nil {
				return nil, err
			}
			return list(r.Return_), nil
		},
		get: func(key string) (wsApp, error) {
			r, err := p.GetOAuthApplicationData(&is57.GetOAuthApplicationData{ConsumerKey: &key})
			if err != nil {
				return wsApp{}, err
			}
			return conv(r.Return_), nil
		},
		getByName: func(name string) (wsApp, error) {
			r, err := p.GetOAuthApplicationDataByAppName(&is57.GetOAuthApplicationDataByAppName{AppName: &name})
			if err != nil {
				return wsApp{}, err
			}
			return conv(r.Return_), nil
		},
		register: func(a wsApp) error {
			return void(p.RegisterOAuthApplicationData(&is57.RegisterOAuthApplicationData{Application: dto(a)}))
		},
		update: func(a wsApp) error {
			return void(p.UpdateConsumerApplication(&is57.UpdateConsumerApplication{ConsumerAppDTO: dto(a)}))
		},
		remove: func(key string) error {
			return void(p.RemoveOAuthApplicationData(&is57.RemoveOAuthApplicationData{ConsumerKey: &key}))
		},
		grantTypes: func() ([]string, error) {
			r, err := p.GetAllowedGrantTypes(&is57.GetAllowedGrantTypes{})
			if err != nil {
				return nil, err
			}
			return derefAll(r.Return_), nil
		},
		registerConsumer: func() ([]string, error) {
			r, err := p.RegisterOAuthConsumer(&is57.RegisterOAuthConsumer{})
			if err != nil {
				return nil, err
			}
			return derefAll(r.Return_), nil
		},
		getState: func(key string) (string, error) {
			r, err := p.GetOauthApplicationState(&is57.GetOauthApplicationState{ConsumerKey: &key})
			if err != nil {
				return "", err
			}
			return deref(r.Return_), nil
		},
		setState: func(key, state string) error {
			return void(p.UpdateConsumerAppState(&is57.UpdateConsumerAppState{ConsumerKey: &key, NewState: &state}))
		},
		newSecret: func(key string) error {
			return void(p.UpdateOauthSecretKey(&is57.UpdateOauthSecretKey{ConsumerKey: &key}))
		},
		pkce: func() (bool, error) {
			r, err := p.IsPKCESupportEnabled(&is57.IsPKCESupportEnabled{})
			if err != nil {
				return false, err
			}
			return r.Return_, nil
		},
		notServedOp: "getScopes",
		notServed: func() error {
			_, err := p.GetScopes(&is57.GetScopes{})
			return err
		},
	}
}

// generatedPort is the profile's generated client as user:password.
func generatedPort(p legacy.Profile, url string, hc *http.Client, basic ...string) *adminPort {
	rec := &statusRecorder{next: hc.Transport}
	hc2 := *hc
	hc2.Transport = rec
	opts := []gowsdlsoap.Option{gowsdlsoap.WithHTTPClient(&hc2)}
	if len(basic) == 2 {
		opts = append(opts, gowsdlsoap.WithBasicAuth(basic[0], basic[1]))
	}
	c := gowsdlsoap.NewClient(url, opts...)
	switch p {
	case legacy.IS50:
		return is50Port(c, rec)
	case legacy.IS53:
		return is53Port(c, rec)
	case legacy.IS55:
		return is55Port(c, rec)
	case legacy.IS57:
		return is57Port(c, rec)
	}
	panic("no generated client for " + string(p))
}

func appNames(as []wsApp) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.name+"|"+a.key)
	}
	return out
}

// TestLegacyGeneratedClientsAllOperations drives, per profile, every
// OAuthAdminService operation the profile serves through the client
// generated from that profile's original WSDL, and checks the decoded
// results and the effects in the store.
func TestLegacyGeneratedClientsAllOperations(t *testing.T) {
	requireOriginalWSDLs(t)
	for _, p := range []legacy.Profile{legacy.IS50, legacy.IS53, legacy.IS55, legacy.IS57} {
		t.Run(string(p), func(t *testing.T) {
			st := newLegacyStackProfile(t, p, false)
			ctx := t.Context()
			v2016 := p != legacy.IS50
			lifetimes := p == legacy.IS55 || p == legacy.IS57
			must := func(op string, err error) {
				t.Helper()
				if err != nil {
					t.Fatalf("%s: %v", op, err)
				}
			}
			tokenState := func(name string) tokenadmin.TokenState {
				t.Helper()
				tok, err := st.db.LookupToken(ctx, st.tokens[name].value)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				return tok.State
			}

			// The resource owner's operations, as alice.
			alice := generatedPort(p, st.srv.URL+adminSOAP11Path, st.srv.Client(), "alice", "alice-secret")
			apps, err := alice.getApps()
			must("getAppsAuthorizedByUser", err)
			if got, want := appNames(apps), []string{"Customer Portal|portal", "Customer Portal|portal-eu", "Mobile App|mobile"}; !slices.Equal(got, want) {
				t.Errorf("getAppsAuthorizedByUser: %q, want %q", got, want)
			}
			isErr, code, msg, err := alice.revoke("Customer Portal")
			must("revokeAuthzForAppsByResoureOwner", err)
			if isErr || code != "" || msg != "" {
				t.Errorf("revokeAuthzForAppsByResoureOwner: error=%v %q %q", isErr, code, msg)
			}
			for name, want := range map[string]tokenadmin.TokenState{
				"alice-portal-access": tokenadmin.StateRevoked, "alice-portal-eu-refresh": tokenadmin.StateRevoked,
				"alice-mobile-access": tokenadmin.StateActive, "bob-portal-access": tokenadmin.StateActive,
			} {
				if got := tokenState(name); got != want {
					t.Errorf("%s after the owner's revocation: %s, want %s", name, got, want)
				}
			}
			apps, err = alice.getApps()
			must("getAppsAuthorizedByUser", err)
			if got := appNames(apps); !slices.Equal(got, []string{"Mobile App|mobile"}) {
				t.Errorf("getAppsAuthorizedByUser after the revocation: %q", got)
			}

			// The application operations, as admin.
			admin := generatedPort(p, st.srv.URL+adminSOAP11Path, st.srv.Client(), "admin", "admin-secret")
			grants, err := admin.grantTypes()
			must("getAllowedGrantTypes", err)
			if !slices.Equal(grants, tokenadmin.GrantTypes) {
				t.Errorf("getAllowedGrantTypes: %q, want %q", grants, tokenadmin.GrantTypes)
			}
			if v2016 {
				pk, err := admin.pkce()
				must("isPKCESupportEnabled", err)
				if pk {
					t.Error("isPKCESupportEnabled: true, want false (no authorization-code grant)")
				}
			}

			must("registerOAuthApplicationData", admin.register(wsApp{version: "OAuth-2.0", name: "Partner Portal", grants: "password refresh_token"}))
			var created wsApp
			if v2016 {
				created, err = admin.getByName("Partner Portal")
				must("getOAuthApplicationDataByAppName", err)
			} else {
				all, err := admin.getAll()
				must("getAllOAuthApplicationData", err)
				for _, a := range all {
					if a.name == "Partner Portal" {
						created, err = admin.get(a.key)
						must("getOAuthApplicationData", err)
					}
				}
			}
			if created.key == "" || created.secret == "" || created.name != "Partner Portal" || created.version != "OAuth-2.0" ||
				created.grants != "password refresh_token" || created.user != "admin" || (v2016 && created.state != "ACTIVE") {
				t.Fatalf("the registered app read back: %+v", created)
			}
			if a, err := st.db.AuthenticateClient(ctx, created.key, created.secret); err != nil || a.Owner != "admin" || a.Name != "Partner Portal" ||
				!slices.Equal(a.GrantTypes, []string{"password", "refresh_token"}) {
				t.Errorf("registered app in the store: %+v, %v", a, err)
			}
			again, err := admin.get(created.key)
			must("getOAuthApplicationData", err)
			if again.secret != "" || again.key != created.key || again.name != "Partner Portal" {
				t.Errorf("second read: %+v, want the app without its secret", again)
			}

			// Grant types without refresh_token switch the refresh grant off;
			// 2017-12 on, the lifetimes set the app's policy.
			upd := wsApp{version: "OAuth-2.0", name: "Customer Portal", grants: "password", key: "portal"}
			if lifetimes {
				upd.appMS, upd.userMS, upd.refreshMS = 900_000, 900_000, 604_800_000
			}
			must("updateConsumerApplication", admin.update(upd))
			a, err := st.db.GetApp(ctx, "portal")
			if err != nil || !slices.Equal(a.GrantTypes, []string{"password"}) || tokenadmin.DefaultPolicy.RefreshAllowed(a) {
				t.Errorf("portal after the update: %+v, %v", a, err)
			}
			if lifetimes && (a.AccessTTL != 15*time.Minute || a.RefreshTTL != 7*24*time.Hour) {
				t.Errorf("portal's lifetimes: access %v, refresh %v; want 15m, 168h", a.AccessTTL, a.RefreshTTL)
			}
			got, err := admin.get("portal")
			must("getOAuthApplicationData", err)
			if got.grants != "password" || (lifetimes && (got.appMS != 900_000 || got.userMS != 900_000 || got.refreshMS != 604_800_000)) {
				t.Errorf("portal read back: %+v", got)
			}

			if v2016 {
				must("updateConsumerAppState", admin.setState("portal", "REVOKED"))
				s, err := admin.getState("portal")
				must("getOauthApplicationState", err)
				if s != "REVOKED" {
					t.Errorf("getOauthApplicationState: %q, want REVOKED", s)
				}
				if a, _ := st.db.GetApp(ctx, "portal"); a == nil || a.State != tokenadmin.AppDisabled {
					t.Errorf("portal after REVOKED: %+v", a)
				}
				if got := tokenState("bob-portal-access"); got != tokenadmin.StateRevoked {
					t.Errorf("bob-portal-access after REVOKED: %s", got)
				}
				must("updateConsumerAppState", admin.setState("portal", "ACTIVE"))
				if s, err := admin.getState("portal"); err != nil || s != "ACTIVE" {
					t.Errorf("getOauthApplicationState: %q, %v; want ACTIVE", s, err)
				}

				must("updateOauthSecretKey", admin.newSecret(created.key))
				fresh, err := admin.get(created.key)
				must("getOAuthApplicationData", err)
				if fresh.secret == "" || fresh.secret == created.secret {
					t.Fatalf("the regenerated secret: %+v", fresh)
				}
				if _, err := st.db.AuthenticateClient(ctx, created.key, fresh.secret); err != nil {
					t.Errorf("new secret: %v", err)
				}
				if _, err := st.db.AuthenticateClient(ctx, created.key, created.secret); err == nil {
					t.Error("the old secret still works")
				}
			}

			kv, err := admin.registerConsumer()
			must("registerOAuthConsumer", err)
			if len(kv) != 2 {
				t.Fatalf("registerOAuthConsumer: %q, want [key, secret]", kv)
			}
			if a, err := st.db.AuthenticateClient(ctx, kv[0], kv[1]); err != nil || a.Owner != "admin" {
				t.Errorf("registerOAuthConsumer's credentials: %+v, %v", a, err)
			}

			must("removeOAuthApplicationData", admin.remove("reports"))
			if _, err := st.db.GetApp(ctx, "reports"); tokenadmin.ErrorCode(err) != tokenadmin.CodeNotFound {
				t.Errorf("the removed app: %v", err)
			}
			if got := tokenState("bob-reports-access"); got != tokenadmin.StateRevoked {
				t.Errorf("bob-reports-access after the removal: %s", got)
			}

			all, err := admin.getAll()
			must("getAllOAuthApplicationData", err)
			keys := []string{}
			for _, a := range all {
				if a.user != "admin" || a.secret != "" {
					t.Errorf("getAllOAuthApplicationData: %+v", a)
				}
				keys = append(keys, a.key)
			}
			slices.Sort(keys)
			want := []string{created.key, kv[0], "portal"}
			slices.Sort(want)
			if !slices.Equal(keys, want) {
				t.Errorf("getAllOAuthApplicationData: keys %q, want %q", keys, want)
			}

			// An unknown key is the declared fault, which gowsdl hands back
			// as an HTTPError with the body.
			// (2014: OAuthAdminServiceException; later IdentityOAuthAdminException.)
			wantDetail := "<ns:OAuthAdminServiceIdentityOAuthAdminException "
			if !v2016 {
				wantDetail = "<ns:OAuthAdminServiceException "
			}
			_, err = admin.get("no-such-app")
			var he *gowsdlsoap.HTTPError
			if !errors.As(err, &he) || he.StatusCode != http.StatusInternalServerError ||
				!strings.Contains(string(he.ResponseBody), wantDetail) {
				t.Errorf("getOAuthApplicationData of an unknown key: %v", err)
			}

			// An operation of the WSDL the server does not serve: Axis2's
			// "operation not found".
			if admin.notServed != nil {
				err := admin.notServed()
				if !errors.As(err, &he) || he.StatusCode != http.StatusInternalServerError ||
					!strings.Contains(string(he.ResponseBody), "The endpoint reference (EPR) for the Operation not found") ||
					!strings.Contains(string(he.ResponseBody), "urn:"+admin.notServedOp) {
					t.Errorf("%s: %v, want Axis2's operation-not-found fault", admin.notServedOp, err)
				}
			}
		})
	}
}

// authAdminCall posts a hand-built AuthenticationAdmin request (see the
// file comment: gowsdl cannot generate this client) that follows
// AuthenticationAdmin.wsdl: SOAP 1.1, SOAPAction urn:<op>, the wrapper
// and its children in http://authentication.services.core.carbon.wso2.org.
func authAdminCall(t *testing.T, c *http.Client, st *legacyStack, op, inner string) (int, string) {
	t.Helper()
	env := `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>` +
		`<aut:` + op + ` xmlns:aut="http://authentication.services.core.carbon.wso2.org">` + inner + `</aut:` + op + `>` +
		`</soapenv:Body></soapenv:Envelope>`
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost,
		st.srv.URL+"/services/AuthenticationAdmin.AuthenticationAdminHttpsSoap11Endpoint/", strings.NewReader(env))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("SOAPAction", "urn:"+op)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestLegacyGeneratedClientsSession: AuthenticationAdmin login and logout
// in every profile, the session carried by a cookie jar; where the profile
// has OAuth2TokenValidationService, validate and
// findOAuthConsumerIfTokenIsValid through its generated client on that
// session, and refused after logout.
func TestLegacyGeneratedClientsSession(t *testing.T) {
	requireOriginalWSDLs(t)
	for _, p := range []legacy.Profile{legacy.IS50, legacy.IS53, legacy.IS55, legacy.IS57} {
		t.Run(string(p), func(t *testing.T) {
			st := newLegacyStackProfile(t, p, false)
			jar, err := cookiejar.New(nil)
			if err != nil {
				t.Fatal(err)
			}
			hc := &http.Client{Transport: st.srv.Client().Transport, Jar: jar}
			status, body := authAdminCall(t, hc, st, "login",
				`<aut:username>admin</aut:username><aut:password>admin-secret</aut:password><aut:remoteAddress>127.0.0.1</aut:remoteAddress>`)
			if status != http.StatusOK || !strings.Contains(body, "<ns:return>true</ns:return>") {
				t.Fatalf("login: %d %s", status, body)
			}
			if len(jar.Cookies(mustParseURL(t, st.srv.URL+"/services/"))) == 0 {
				t.Fatal("login set no cookie")
			}
			// The session serves OAuthAdminService through the generated
			// client too, without Basic credentials.
			admin := generatedPort(p, st.srv.URL+adminSOAP11Path, hc)
			if g, err := admin.grantTypes(); err != nil || len(g) == 0 {
				t.Errorf("getAllowedGrantTypes on the session: %q, %v", g, err)
			}

			var tv tokenvalidation.OAuth2TokenValidationServicePortType
			if _, ok := originalWSDLs[string(p)]["OAuth2TokenValidationService"]; ok {
				tv = tokenvalidation.NewOAuth2TokenValidationServicePortType(gowsdlsoap.NewClient(
					st.srv.URL+"/services/OAuth2TokenValidationService.OAuth2TokenValidationServiceHttpsSoap11Endpoint/",
					gowsdlsoap.WithHTTPClient(hc)))
				req := func(token string) *tokenvalidation.OAuth2TokenValidationRequestDTO {
					return &tokenvalidation.OAuth2TokenValidationRequestDTO{AccessToken: &tokenvalidation.OAuth2TokenValidationRequestDTO_OAuth2AccessToken{
						Identifier: &token, TokenType: new("bearer")}}
				}
				v, err := tv.ValidateContext(t.Context(), &tokenvalidation.Validate{ValidationReqDTO: req(st.tokens["bob-portal-access"].value)})
				if err != nil || v.Return_ == nil {
					t.Fatalf("validate: %+v, %v", v, err)
				}
				if r := v.Return_; !r.Valid || deref(r.AuthorizedUser) != "bob" || r.ExpiryTime <= 0 || deref(r.ErrorMsg) != "" {
					t.Errorf("validate of an active token: %s", describeValidation(r))
				}
				v, err = tv.ValidateContext(t.Context(), &tokenvalidation.Validate{ValidationReqDTO: req("no-such-token")})
				if err != nil || v.Return_ == nil || v.Return_.Valid || deref(v.Return_.ErrorMsg) == "" {
					t.Errorf("validate of an unknown token: %+v, %v", v, err)
				}
				f, err := tv.FindOAuthConsumerIfTokenIsValidContext(t.Context(),
					&tokenvalidation.FindOAuthConsumerIfTokenIsValid{ValidationReqDTO: req(st.tokens["bob-portal-access"].value)})
				if err != nil || f.Return_ == nil {
					t.Fatalf("findOAuthConsumerIfTokenIsValid: %+v, %v", f, err)
				}
				if r := f.Return_; deref(r.ConsumerKey) != "portal" || r.AccessTokenValidationResponse == nil ||
					!r.AccessTokenValidationResponse.Valid || deref(r.AccessTokenValidationResponse.AuthorizedUser) != "bob" {
					t.Errorf("findOAuthConsumerIfTokenIsValid: key %q, %s", deref(r.ConsumerKey), describeValidation(r.AccessTokenValidationResponse))
				}
			}

			status, body = authAdminCall(t, hc, st, "logout", "")
			if status >= 300 {
				t.Fatalf("logout: %d %s", status, body)
			}
			// The jar still sends the ended session: refused.
			_, err = admin.grantTypes()
			var he *gowsdlsoap.HTTPError
			if !errors.As(err, &he) || he.StatusCode != http.StatusUnauthorized {
				t.Errorf("getAllowedGrantTypes after logout: %v, want HTTP 401", err)
			}
			if tv != nil {
				_, err = tv.ValidateContext(t.Context(), &tokenvalidation.Validate{})
				if !errors.As(err, &he) || he.StatusCode != http.StatusUnauthorized {
					t.Errorf("validate after logout: %v, want HTTP 401", err)
				}
			}
		})
	}
}

func describeValidation(r *tokenvalidation.OAuth2TokenValidationResponseDTO) string {
	if r == nil {
		return "<nil>"
	}
	return fmt.Sprintf("valid=%v user=%q expiry=%d error=%q scope=%q", r.Valid, deref(r.AuthorizedUser), r.ExpiryTime, deref(r.ErrorMsg), derefAll(r.Scope))
}

func mustParseURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
