package soap

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"math"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"
	gowsdlsoap "github.com/hooklift/gowsdl/soap"

	"tokenadmin"
	"tokenadmin/internal/xsdcheck"
	"tokenadmin/wsdl"
)

var _ AppAdminService = (*tokenadmin.AppService)(nil)

// testSecret is the client secret fakeAppService hands out; it must appear
// in registerApp and regenerateSecret responses and nowhere else.
const testSecret = "cs_9f8e7d6c5b4a"

// fakeAppService records what it was asked and answers what it was told.
type fakeAppService struct {
	mu     sync.Mutex
	calls  []string
	caller tokenadmin.Caller
	app    tokenadmin.App // Register's argument
	id     string
	update tokenadmin.AppUpdate

	result *tokenadmin.App   // what Register, Get and Update return; Get and Update say NotFound when nil
	apps   []*tokenadmin.App // what List returns
	count  int               // tokens revoked by disabling, Delete and RegenerateSecret
	err    error
	errOn  string // the one method that fails with err; every method when empty
}

func (f *fakeAppService) called(call string, c tokenadmin.Caller, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
	f.caller = c
	f.id = id
	if f.errOn != "" && !strings.HasPrefix(call, f.errOn) {
		return nil
	}
	return f.err
}

func (f *fakeAppService) found() (*tokenadmin.App, error) {
	if f.result == nil {
		return nil, tokenadmin.Errorf(tokenadmin.CodeNotFound, "app not found")
	}
	a := *f.result
	return &a, nil
}

func (f *fakeAppService) Register(_ context.Context, c tokenadmin.Caller, a tokenadmin.App) (*tokenadmin.App, string, error) {
	f.app = a
	if err := f.called("Register", c, a.ClientID); err != nil {
		return nil, "", err
	}
	if f.result != nil {
		return f.result, testSecret, nil
	}
	if a.ClientID == "" { // as a store does
		a.ClientID = "client-generated"
	}
	a.CreatedAt = testNow
	a.HasSecret = true
	return &a, testSecret, nil
}

func (f *fakeAppService) Get(_ context.Context, c tokenadmin.Caller, id string) (*tokenadmin.App, error) {
	if err := f.called("Get", c, id); err != nil {
		return nil, err
	}
	return f.found()
}

func (f *fakeAppService) List(_ context.Context, c tokenadmin.Caller) ([]*tokenadmin.App, error) {
	if err := f.called("List", c, ""); err != nil {
		return nil, err
	}
	return f.apps, nil
}

func (f *fakeAppService) Update(_ context.Context, c tokenadmin.Caller, id string, u tokenadmin.AppUpdate) (*tokenadmin.App, error) {
	f.update = u
	if err := f.called("Update", c, id); err != nil {
		return nil, err
	}
	return f.found()
}

func (f *fakeAppService) SetState(_ context.Context, c tokenadmin.Caller, id string, state tokenadmin.AppState) (int, error) {
	if err := f.called("SetState "+string(state), c, id); err != nil {
		return 0, err
	}
	if state == tokenadmin.AppDisabled {
		return f.count, nil
	}
	return 0, nil
}

func (f *fakeAppService) Delete(_ context.Context, c tokenadmin.Caller, id string) (int, error) {
	if err := f.called("Delete", c, id); err != nil {
		return 0, err
	}
	return f.count, nil
}

func (f *fakeAppService) RegenerateSecret(_ context.Context, c tokenadmin.Caller, id string) (string, int, error) {
	if err := f.called("RegenerateSecret", c, id); err != nil {
		return "", 0, err
	}
	return testSecret, f.count, nil
}

// newAppHandler returns a TokenAdmin endpoint whose app operations are
// served by apps.
func newAppHandler(apps *fakeAppService, log *bytes.Buffer) *TokenAdminHandler {
	h := newHandler(&fakeService{}, log)
	h.Apps = apps
	return h
}

func sampleApp() *tokenadmin.App {
	return &tokenadmin.App{
		ClientID: "client-a",
		Name:     "App <A> & Co",
		Owner:    "alice",
		// Not UTC, with nanoseconds: the wire has UTC seconds.
		CreatedAt:     time.Date(2025, 3, 1, 9, 30, 0, 999, time.FixedZone("CET", 3600)),
		GrantTypes:    []string{tokenadmin.GrantPassword, tokenadmin.GrantRefreshToken},
		Scopes:        []string{"read", "write"},
		AccessTTL:     15 * time.Minute,
		RefreshTTL:    1500 * time.Millisecond, // rounds up to 2 s
		RotateRefresh: true,
		Introspect:    false,
		State:         tokenadmin.AppActive,
		HasSecret:     true,
	}
}

// bareApp has every field zero or empty that can be: no owner, no grant
// types or scopes, server-default lifetimes, disabled, no secret.
func bareApp() *tokenadmin.App {
	return &tokenadmin.App{
		ClientID:  "client-b",
		Name:      "B",
		CreatedAt: time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC),
		State:     tokenadmin.AppDisabled,
	}
}

// describeUpdate renders an AppUpdate for comparison: pointers by value,
// nil as <nil>, and an empty list as [] (unlike nil).
func describeUpdate(u tokenadmin.AppUpdate) string {
	var b strings.Builder
	field := func(name string, isNil bool, v func() any) {
		if isNil {
			fmt.Fprintf(&b, "%s=<nil> ", name)
		} else {
			fmt.Fprintf(&b, "%s=%q ", name, v())
		}
	}
	field("name", u.Name == nil, func() any { return *u.Name })
	field("owner", u.Owner == nil, func() any { return *u.Owner })
	field("grantTypes", u.GrantTypes == nil, func() any { return *u.GrantTypes })
	field("scopes", u.Scopes == nil, func() any { return *u.Scopes })
	field("accessTTL", u.AccessTTL == nil, func() any { return u.AccessTTL.String() })
	field("refreshTTL", u.RefreshTTL == nil, func() any { return u.RefreshTTL.String() })
	field("rotate", u.RotateRefresh == nil, func() any { return fmt.Sprint(*u.RotateRefresh) })
	field("introspect", u.Introspect == nil, func() any { return fmt.Sprint(*u.Introspect) })
	return strings.TrimSpace(b.String())
}

func TestAppOperations(t *testing.T) {
	nilAttr := ` xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:nil="true"`
	internal := errorsNew("store: database is locked (UPDATE apps SET …)")
	defaults := tokenadmin.NewApp("App A")
	tests := []struct {
		name   string
		v      Version
		user   string // admin when empty
		pass   string
		op     string // the SOAPAction's operation
		body   string
		apps   *fakeAppService
		golden string // compare the response with testdata/<golden>.golden
		// schemaValid says the request is valid against the WSDL's schema
		// too (some cases test the decoder's leniency, others its errors).
		schemaValid bool

		fault string          // expected fault code (1.1 faultcode / 1.2 Value); "" for success
		code  tokenadmin.Code // expected detail code
		msg   string          // text the fault message must contain

		calls  []string // the service calls, in order; nil: not checked
		check  func(t *testing.T, apps *fakeAppService)
		result []string // text the response must contain
	}{
		// registerApp
		{name: "registerApp defaults SOAP 1.1", v: SOAP11, op: "registerApp", golden: "registerApp11", schemaValid: true,
			body:  `<t:registerApp><t:name>App A</t:name></t:registerApp>`,
			apps:  &fakeAppService{},
			calls: []string{"Register"},
			check: func(t *testing.T, apps *fakeAppService) {
				if !reflect.DeepEqual(apps.app, defaults) {
					t.Errorf("app = %+v, want the defaults %+v", apps.app, defaults)
				}
				if apps.caller.Name != adminUser {
					t.Errorf("caller = %+v", apps.caller)
				}
			}},
		{name: "registerApp every field SOAP 1.2", v: SOAP12, op: "registerApp", user: aliceUser, pass: alicePassword, schemaValid: true,
			body: `<t:registerApp><t:name>App A</t:name><t:owner>alice</t:owner><t:clientId>my-app</t:clientId>` +
				`<t:grantTypes><t:grantType>client_credentials</t:grantType><t:grantType>refresh_token</t:grantType></t:grantTypes>` +
				`<t:scopes><t:scope>read</t:scope><t:scope>write:all</t:scope></t:scopes>` +
				`<t:accessTokenLifetime>600</t:accessTokenLifetime><t:refreshTokenLifetime>0</t:refreshTokenLifetime>` +
				`<t:rotateRefreshTokens>false</t:rotateRefreshTokens><t:introspect>1</t:introspect></t:registerApp>`,
			apps:  &fakeAppService{},
			calls: []string{"Register"},
			result: []string{`<tns:app><tns:clientId>my-app</tns:clientId><tns:name>App A</tns:name><tns:owner>alice</tns:owner>` +
				`<tns:grantType>client_credentials</tns:grantType><tns:grantType>refresh_token</tns:grantType>` +
				`<tns:scope>read</tns:scope><tns:scope>write:all</tns:scope>` +
				`<tns:accessTokenLifetime>600</tns:accessTokenLifetime><tns:refreshTokenLifetime>0</tns:refreshTokenLifetime>` +
				`<tns:rotateRefreshTokens>false</tns:rotateRefreshTokens><tns:introspect>true</tns:introspect>` +
				`<tns:state>active</tns:state><tns:hasSecret>true</tns:hasSecret><tns:createdAt>2025-03-14T15:09:26Z</tns:createdAt></tns:app>` +
				`<tns:clientSecret>` + testSecret + `</tns:clientSecret></tns:registerAppResponse>`},
			check: func(t *testing.T, apps *fakeAppService) {
				want := tokenadmin.App{
					ClientID: "my-app", Name: "App A", Owner: "alice",
					GrantTypes: []string{"client_credentials", "refresh_token"}, Scopes: []string{"read", "write:all"},
					AccessTTL: 10 * time.Minute, RefreshTTL: 0, RotateRefresh: false, Introspect: true, State: tokenadmin.AppActive,
				}
				if !reflect.DeepEqual(apps.app, want) {
					t.Errorf("app = %+v, want %+v", apps.app, want)
				}
				if apps.caller != (tokenadmin.Caller{Name: aliceUser, Role: tokenadmin.RoleUser}) {
					t.Errorf("caller = %+v", apps.caller)
				}
			}},
		{name: "registerApp empty wrappers mean none", v: SOAP11, op: "registerApp", schemaValid: true,
			body: `<t:registerApp><t:name>App A</t:name><t:grantTypes/><t:scopes>
				</t:scopes></t:registerApp>`,
			apps: &fakeAppService{},
			check: func(t *testing.T, apps *fakeAppService) {
				if apps.app.GrantTypes == nil || len(apps.app.GrantTypes) != 0 || apps.app.Scopes == nil || len(apps.app.Scopes) != 0 {
					t.Errorf("grant types = %#v, scopes = %#v; want both empty, not nil", apps.app.GrantTypes, apps.app.Scopes)
				}
			},
			result: []string{`<tns:name>App A</tns:name><tns:accessTokenLifetime>0</tns:accessTokenLifetime>`}},
		{name: "registerApp xsi:nil fields are absent", v: SOAP12, op: "registerApp", schemaValid: true,
			body: `<t:registerApp><t:name>App A</t:name><t:owner` + nilAttr + `/><t:clientId` + nilAttr + `/><t:grantTypes` + nilAttr + `/>` +
				`<t:scopes` + nilAttr + `/><t:accessTokenLifetime` + nilAttr + `/><t:refreshTokenLifetime` + nilAttr + `/>` +
				`<t:rotateRefreshTokens` + nilAttr + `/><t:introspect` + nilAttr + `/></t:registerApp>`,
			apps: &fakeAppService{},
			check: func(t *testing.T, apps *fakeAppService) {
				if !reflect.DeepEqual(apps.app, defaults) {
					t.Errorf("app = %+v, want the defaults %+v", apps.app, defaults)
				}
			}},
		{name: "registerApp without name", v: SOAP11, op: "registerApp",
			body: `<t:registerApp><t:owner>alice</t:owner></t:registerApp>`,
			apps: &fakeAppService{}, fault: "soap:Client", code: tokenadmin.CodeInvalid, msg: "name is required", calls: []string{}},
		{name: "registerApp empty clientId", v: SOAP12, op: "registerApp",
			body: `<t:registerApp><t:name>A</t:name><t:clientId></t:clientId></t:registerApp>`,
			apps: &fakeAppService{}, fault: "env:Sender", code: tokenadmin.CodeInvalid, msg: "clientId must not be empty", calls: []string{}},
		{name: "registerApp unknown element", v: SOAP11, op: "registerApp",
			body: `<t:registerApp><t:name>A</t:name><t:clientSecret>mine</t:clientSecret></t:registerApp>`,
			apps: &fakeAppService{}, fault: "soap:Client", code: tokenadmin.CodeInvalid, msg: `unexpected element "clientSecret" in registerApp`, calls: []string{}},
		{name: "registerApp grantType outside its wrapper", v: SOAP12, op: "registerApp",
			body: `<t:registerApp><t:name>A</t:name><t:grantType>password</t:grantType></t:registerApp>`,
			apps: &fakeAppService{}, fault: "env:Sender", code: tokenadmin.CodeInvalid, msg: `unexpected element "grantType" in registerApp`},
		{name: "registerApp bad grant type", v: SOAP11, op: "registerApp",
			body: `<t:registerApp><t:name>A</t:name><t:grantTypes><t:grantType>implicit</t:grantType></t:grantTypes></t:registerApp>`,
			apps: &fakeAppService{}, fault: "soap:Client", code: tokenadmin.CodeInvalid, msg: "grantType must be", calls: []string{}},
		{name: "registerApp repeated grant type", v: SOAP12, op: "registerApp",
			body: `<t:registerApp><t:name>A</t:name><t:grantTypes><t:grantType>password</t:grantType><t:grantType>password </t:grantType></t:grantTypes></t:registerApp>`,
			apps: &fakeAppService{}, fault: "env:Sender", code: tokenadmin.CodeInvalid, msg: `grantType "password" appears more than once`},
		{name: "registerApp unknown element in grantTypes", v: SOAP11, op: "registerApp",
			body: `<t:registerApp><t:name>A</t:name><t:grantTypes><t:scope>read</t:scope></t:grantTypes></t:registerApp>`,
			apps: &fakeAppService{}, fault: "soap:Client", code: tokenadmin.CodeInvalid, msg: `unexpected element "scope" in grantTypes`},
		{name: "registerApp unqualified element in scopes", v: SOAP11, op: "registerApp",
			body: `<t:registerApp><t:name>A</t:name><t:scopes><scope>read</scope></t:scopes></t:registerApp>`,
			apps: &fakeAppService{}, fault: "soap:Client", code: tokenadmin.CodeInvalid, msg: `"scope" in scopes is not in namespace`},
		{name: "registerApp text in scopes", v: SOAP11, op: "registerApp",
			body: `<t:registerApp><t:name>A</t:name><t:scopes>read write</t:scopes></t:registerApp>`,
			apps: &fakeAppService{}, fault: "soap:Client", code: tokenadmin.CodeInvalid, msg: "scopes must not contain text"},
		{name: "registerApp nil scope", v: SOAP11, op: "registerApp",
			body: `<t:registerApp><t:name>A</t:name><t:scopes><t:scope` + nilAttr + `/></t:scopes></t:registerApp>`,
			apps: &fakeAppService{}, fault: "soap:Client", code: tokenadmin.CodeInvalid, msg: "scope in scopes must have a value"},
		{name: "registerApp negative lifetime", v: SOAP12, op: "registerApp",
			body: `<t:registerApp><t:name>A</t:name><t:accessTokenLifetime>-1</t:accessTokenLifetime></t:registerApp>`,
			apps: &fakeAppService{}, fault: "env:Sender", code: tokenadmin.CodeInvalid, msg: "accessTokenLifetime must be a whole number of seconds", calls: []string{}},
		{name: "registerApp lifetime beyond xs:int", v: SOAP11, op: "registerApp",
			body: `<t:registerApp><t:name>A</t:name><t:refreshTokenLifetime>2147483648</t:refreshTokenLifetime></t:registerApp>`,
			apps: &fakeAppService{}, fault: "soap:Client", code: tokenadmin.CodeInvalid, msg: "refreshTokenLifetime"},
		{name: "registerApp fractional lifetime", v: SOAP11, op: "registerApp",
			body: `<t:registerApp><t:name>A</t:name><t:accessTokenLifetime>1.5</t:accessTokenLifetime></t:registerApp>`,
			apps: &fakeAppService{}, fault: "soap:Client", code: tokenadmin.CodeInvalid, msg: "accessTokenLifetime"},
		{name: "registerApp bad boolean", v: SOAP11, op: "registerApp",
			body: `<t:registerApp><t:name>A</t:name><t:rotateRefreshTokens>yes</t:rotateRefreshTokens></t:registerApp>`,
			apps: &fakeAppService{}, fault: "soap:Client", code: tokenadmin.CodeInvalid, msg: "rotateRefreshTokens must be true or false"},
		{name: "registerApp for another owner", v: SOAP11, op: "registerApp", user: aliceUser, pass: alicePassword,
			body:  `<t:registerApp><t:name>A</t:name><t:owner>bob</t:owner></t:registerApp>`,
			apps:  &fakeAppService{err: tokenadmin.Errorf(tokenadmin.CodeForbidden, "users may register apps only for themselves")},
			fault: "soap:Client", code: tokenadmin.CodeForbidden, msg: "only for themselves"},
		{name: "registerApp existing clientId", v: SOAP12, op: "registerApp",
			body:  `<t:registerApp><t:name>A</t:name><t:clientId>taken</t:clientId></t:registerApp>`,
			apps:  &fakeAppService{err: tokenadmin.Errorf(tokenadmin.CodeConflict, `app "taken" already exists`)},
			fault: "env:Sender", code: tokenadmin.CodeConflict, msg: "already exists"},
		{name: "registerApp internal error", v: SOAP11, op: "registerApp",
			body:  `<t:registerApp><t:name>A</t:name></t:registerApp>`,
			apps:  &fakeAppService{err: internal},
			fault: "soap:Server", code: tokenadmin.CodeInternal, msg: "internal error"},

		// updateApp
		{name: "updateApp policy SOAP 1.2: 0 and false on the wire", v: SOAP12, op: "updateApp", golden: "updateApp12", schemaValid: true,
			body: `<t:updateApp><t:clientId>client-b</t:clientId><t:name>B</t:name><t:owner></t:owner>` +
				`<t:grantTypes/><t:scopes/><t:accessTokenLifetime>0</t:accessTokenLifetime><t:refreshTokenLifetime>86400</t:refreshTokenLifetime>` +
				`<t:rotateRefreshTokens>0</t:rotateRefreshTokens><t:introspect>false</t:introspect></t:updateApp>`,
			apps:  &fakeAppService{result: bareApp()},
			calls: []string{"Update"},
			check: func(t *testing.T, apps *fakeAppService) {
				want := `name="B" owner="" grantTypes=[] scopes=[] accessTTL="0s" refreshTTL="24h0m0s" rotate="false" introspect="false"`
				if got := describeUpdate(apps.update); got != want {
					t.Errorf("update = %s\n          want %s", got, want)
				}
				if apps.id != "client-b" {
					t.Errorf("clientId = %q", apps.id)
				}
			}},
		{name: "updateApp one field SOAP 1.1", v: SOAP11, op: "updateApp", schemaValid: true,
			body:  `<t:updateApp><t:clientId>client-a</t:clientId><t:grantTypes><t:grantType>password</t:grantType></t:grantTypes></t:updateApp>`,
			apps:  &fakeAppService{result: sampleApp()},
			calls: []string{"Update"},
			check: func(t *testing.T, apps *fakeAppService) {
				want := `name=<nil> owner=<nil> grantTypes=["password"] scopes=<nil> accessTTL=<nil> refreshTTL=<nil> rotate=<nil> introspect=<nil>`
				if got := describeUpdate(apps.update); got != want {
					t.Errorf("update = %s\n          want %s", got, want)
				}
			},
			result: []string{`<tns:app><tns:clientId>client-a</tns:clientId>`, `</tns:app><tns:revokedCount>0</tns:revokedCount></tns:updateAppResponse>`}},
		{name: "updateApp disable: revoke first, then the policy", v: SOAP11, op: "updateApp", schemaValid: true,
			body:   `<t:updateApp><t:clientId>client-a</t:clientId><t:accessTokenLifetime>60</t:accessTokenLifetime><t:state>disabled</t:state></t:updateApp>`,
			apps:   &fakeAppService{result: bareApp(), count: 7},
			calls:  []string{"SetState disabled", "Update"},
			result: []string{`<tns:state>disabled</tns:state>`, `<tns:revokedCount>7</tns:revokedCount>`}},
		{name: "updateApp disable only, enumeration collapsed", v: SOAP12, op: "updateApp",
			body:   `<t:updateApp><t:clientId>client-b</t:clientId><t:state> disabled </t:state></t:updateApp>`,
			apps:   &fakeAppService{result: bareApp(), count: 3},
			calls:  []string{"SetState disabled", "Get"},
			result: []string{`<tns:revokedCount>3</tns:revokedCount>`}},
		{name: "updateApp enable: the policy first, then enable", v: SOAP11, op: "updateApp",
			body:   `<t:updateApp><t:clientId>client-a</t:clientId><t:state>active</t:state><t:introspect>true</t:introspect></t:updateApp>`,
			apps:   &fakeAppService{result: sampleApp(), count: 9},
			calls:  []string{"Update", "SetState active", "Get"},
			result: []string{`<tns:revokedCount>0</tns:revokedCount>`}},
		{name: "updateApp policy refused after disabling", v: SOAP12, op: "updateApp",
			body:  `<t:updateApp><t:clientId>client-a</t:clientId><t:name></t:name><t:state>disabled</t:state></t:updateApp>`,
			apps:  &fakeAppService{result: sampleApp(), err: tokenadmin.Errorf(tokenadmin.CodeInvalid, "app name must be 1 to 200 bytes"), errOn: "Update"},
			fault: "env:Sender", code: tokenadmin.CodeInvalid, msg: "app name",
			calls: []string{"SetState disabled", "Update"}},
		{name: "updateApp enabling not reached when the policy is refused", v: SOAP11, op: "updateApp",
			body: `<t:updateApp><t:clientId>client-a</t:clientId><t:owner>bob</t:owner><t:state>active</t:state></t:updateApp>`,
			user: aliceUser, pass: alicePassword,
			apps:  &fakeAppService{result: sampleApp(), err: tokenadmin.Errorf(tokenadmin.CodeForbidden, "only an admin may change an app's owner")},
			fault: "soap:Client", code: tokenadmin.CodeForbidden, msg: "only an admin",
			calls: []string{"Update"}},
		{name: "updateApp nothing to change, fields in any order", v: SOAP11, op: "updateApp",
			body:  `<t:updateApp><t:clientId>client-a</t:clientId><t:state` + nilAttr + `/><t:scopes` + nilAttr + `/></t:updateApp>`,
			apps:  &fakeAppService{result: sampleApp()},
			calls: []string{"Get"}},
		{name: "updateApp unknown app", v: SOAP12, op: "updateApp",
			body:  `<t:updateApp><t:clientId>nope</t:clientId><t:name>X</t:name></t:updateApp>`,
			apps:  &fakeAppService{},
			fault: "env:Sender", code: tokenadmin.CodeNotFound, msg: "app not found"},
		{name: "updateApp bad state", v: SOAP11, op: "updateApp",
			body: `<t:updateApp><t:clientId>client-a</t:clientId><t:state>deleted</t:state></t:updateApp>`,
			apps: &fakeAppService{}, fault: "soap:Client", code: tokenadmin.CodeInvalid, msg: `state must be "active" or "disabled"`, calls: []string{}},
		{name: "updateApp negative lifetime", v: SOAP12, op: "updateApp",
			body: `<t:updateApp><t:clientId>client-a</t:clientId><t:refreshTokenLifetime>-3600</t:refreshTokenLifetime></t:updateApp>`,
			apps: &fakeAppService{}, fault: "env:Sender", code: tokenadmin.CodeInvalid, msg: "refreshTokenLifetime", calls: []string{}},
		{name: "updateApp without clientId", v: SOAP11, op: "updateApp",
			body: `<t:updateApp><t:name>X</t:name></t:updateApp>`,
			apps: &fakeAppService{}, fault: "soap:Client", code: tokenadmin.CodeInvalid, msg: "clientId is required", calls: []string{}},
		{name: "updateApp unknown element", v: SOAP11, op: "updateApp",
			body: `<t:updateApp><t:clientId>client-a</t:clientId><t:enabled>true</t:enabled></t:updateApp>`,
			apps: &fakeAppService{}, fault: "soap:Client", code: tokenadmin.CodeInvalid, msg: `unexpected element "enabled"`, calls: []string{}},

		// getApp
		{name: "getApp SOAP 1.1", v: SOAP11, op: "getApp", schemaValid: true,
			body:  `<t:getApp><t:clientId>client-a</t:clientId></t:getApp>`,
			apps:  &fakeAppService{result: sampleApp()},
			calls: []string{"Get"},
			result: []string{`<tns:getAppResponse><tns:app><tns:clientId>client-a</tns:clientId><tns:name>App &lt;A&gt; &amp; Co</tns:name><tns:owner>alice</tns:owner>` +
				`<tns:grantType>password</tns:grantType><tns:grantType>refresh_token</tns:grantType><tns:scope>read</tns:scope><tns:scope>write</tns:scope>` +
				`<tns:accessTokenLifetime>900</tns:accessTokenLifetime><tns:refreshTokenLifetime>2</tns:refreshTokenLifetime>` +
				`<tns:rotateRefreshTokens>true</tns:rotateRefreshTokens><tns:introspect>false</tns:introspect><tns:state>active</tns:state>` +
				`<tns:hasSecret>true</tns:hasSecret><tns:createdAt>2025-03-01T08:30:00Z</tns:createdAt></tns:app></tns:getAppResponse>`},
			check: func(t *testing.T, apps *fakeAppService) {
				if apps.id != "client-a" {
					t.Errorf("clientId = %q", apps.id)
				}
			}},
		{name: "getApp bare app SOAP 1.2", v: SOAP12, op: "getApp", golden: "getApp12", schemaValid: true,
			body: `<t:getApp><t:clientId>client-b</t:clientId></t:getApp>`,
			apps: &fakeAppService{result: bareApp()}},
		{name: "getApp unknown or another user's", v: SOAP11, op: "getApp", user: aliceUser, pass: alicePassword,
			body: `<t:getApp><t:clientId>bobs-app</t:clientId></t:getApp>`,
			apps: &fakeAppService{}, fault: "soap:Client", code: tokenadmin.CodeNotFound, msg: "app not found"},
		{name: "getApp without clientId", v: SOAP12, op: "getApp",
			body: `<t:getApp><t:clientId` + nilAttr + `/></t:getApp>`,
			apps: &fakeAppService{}, fault: "env:Sender", code: tokenadmin.CodeInvalid, msg: "clientId is required", calls: []string{}},

		// listApps
		{name: "listApps SOAP 1.1", v: SOAP11, op: "listApps", golden: "listApps11", schemaValid: true,
			body:  `<t:listApps/>`,
			apps:  &fakeAppService{apps: []*tokenadmin.App{sampleApp(), nil, bareApp()}},
			calls: []string{"List"}},
		{name: "listApps none SOAP 1.2", v: SOAP12, op: "listApps", schemaValid: true,
			body:   `<t:listApps></t:listApps>`,
			apps:   &fakeAppService{},
			result: []string{`<env:Body><tns:listAppsResponse></tns:listAppsResponse></env:Body>`}},
		{name: "listApps with a filter", v: SOAP11, op: "listApps",
			body: `<t:listApps><t:owner>alice</t:owner></t:listApps>`,
			apps: &fakeAppService{}, fault: "soap:Client", code: tokenadmin.CodeInvalid, msg: `unexpected element "owner" in listApps`, calls: []string{}},

		// deleteApp
		{name: "deleteApp no tokens: 0 on the wire SOAP 1.1", v: SOAP11, op: "deleteApp", golden: "deleteApp11", schemaValid: true,
			body:  `<t:deleteApp><t:clientId>client-a</t:clientId></t:deleteApp>`,
			apps:  &fakeAppService{},
			calls: []string{"Delete"}},
		{name: "deleteApp SOAP 1.2", v: SOAP12, op: "deleteApp", schemaValid: true,
			body:   `<t:deleteApp><t:clientId>client-a</t:clientId></t:deleteApp>`,
			apps:   &fakeAppService{count: 5},
			result: []string{`<tns:deleteAppResponse><tns:revokedCount>5</tns:revokedCount></tns:deleteAppResponse>`}},
		{name: "deleteApp unknown", v: SOAP12, op: "deleteApp",
			body: `<t:deleteApp><t:clientId>nope</t:clientId></t:deleteApp>`,
			apps: &fakeAppService{err: tokenadmin.Errorf(tokenadmin.CodeNotFound, `app "nope" not found`)}, fault: "env:Sender", code: tokenadmin.CodeNotFound, msg: "not found"},
		{name: "deleteApp without clientId", v: SOAP11, op: "deleteApp",
			body: `<t:deleteApp/>`,
			apps: &fakeAppService{}, fault: "soap:Client", code: tokenadmin.CodeInvalid, msg: "clientId is required"},

		// regenerateSecret
		{name: "regenerateSecret SOAP 1.2", v: SOAP12, op: "regenerateSecret", golden: "regenerateSecret12", schemaValid: true,
			body:  `<t:regenerateSecret><t:clientId>client-a</t:clientId></t:regenerateSecret>`,
			apps:  &fakeAppService{count: 4},
			calls: []string{"RegenerateSecret"}},
		{name: "regenerateSecret no tokens SOAP 1.1", v: SOAP11, op: "regenerateSecret", schemaValid: true,
			body:   `<t:regenerateSecret><t:clientId>client-a</t:clientId></t:regenerateSecret>`,
			apps:   &fakeAppService{},
			result: []string{`<tns:regenerateSecretResponse><tns:clientSecret>` + testSecret + `</tns:clientSecret><tns:revokedCount>0</tns:revokedCount></tns:regenerateSecretResponse>`}},
		{name: "regenerateSecret another user's", v: SOAP11, op: "regenerateSecret", user: aliceUser, pass: alicePassword,
			body: `<t:regenerateSecret><t:clientId>bobs-app</t:clientId></t:regenerateSecret>`,
			apps: &fakeAppService{err: tokenadmin.Errorf(tokenadmin.CodeNotFound, `app "bobs-app" not found`)}, fault: "soap:Client", code: tokenadmin.CodeNotFound, msg: "not found"},
		{name: "regenerateSecret unknown element", v: SOAP12, op: "regenerateSecret",
			body: `<t:regenerateSecret><t:clientId>client-a</t:clientId><t:secret>x</t:secret></t:regenerateSecret>`,
			apps: &fakeAppService{}, fault: "env:Sender", code: tokenadmin.CodeInvalid, msg: `unexpected element "secret"`, calls: []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log bytes.Buffer
			h := newAppHandler(tt.apps, &log)
			env := soapEnvelope(tt.v, "", tt.body)
			res := serve(t, h, call{version: tt.v, user: tt.user, pass: tt.pass, action: TokenAdminNamespace + ":" + tt.op, body: env})
			vc := tt.v.vocab()
			if tt.fault == "" {
				if res.status != 200 || res.faultCode != "" {
					t.Fatalf("status = %d, want 200\n%s", res.status, res.body)
				}
				if res.contentType != vc.contentType {
					t.Errorf("Content-Type = %q, want %q", res.contentType, vc.contentType)
				}
				validate(t, res)
			} else {
				status := 500
				if tt.v == SOAP12 && tt.code != tokenadmin.CodeInternal {
					status = 400
				}
				checkFault(t, res, status, vc.contentType, tt.fault, tt.code)
				if !strings.Contains(res.faultString, tt.msg) || res.detailMessage != res.faultString {
					t.Errorf("fault message = %q / %q, want it to contain %q", res.faultString, res.detailMessage, tt.msg)
				}
				if tt.code == tokenadmin.CodeInternal && !strings.Contains(log.String(), "database is locked") {
					t.Errorf("internal error not logged:\n%s", log.String())
				}
				if bytes.Contains(res.body, []byte("database")) {
					t.Errorf("internal detail leaked:\n%s", res.body)
				}
			}
			if tt.schemaValid {
				xsdcheck.Validate(t, []byte(env))
			}

			// The secret is shown by registerApp and regenerateSecret, and
			// only when they succeed.
			showsSecret := tt.fault == "" && (tt.op == "registerApp" || tt.op == "regenerateSecret")
			if got := bytes.Contains(res.body, []byte("<tns:clientSecret>"+testSecret+"</tns:clientSecret>")); got != showsSecret {
				t.Errorf("response shows the client secret: %v, want %v\n%s", got, showsSecret, res.body)
			}
			if !showsSecret && (bytes.Contains(res.body, []byte(testSecret)) || bytes.Contains(res.body, []byte("clientSecret>"))) {
				t.Errorf("response carries a secret:\n%s", res.body)
			}

			for _, s := range tt.result {
				if !bytes.Contains(res.body, []byte(s)) {
					t.Errorf("response does not contain %s\n%s", s, res.body)
				}
			}
			if tt.golden != "" {
				golden(t, tt.golden, res.body)
			}
			if tt.calls != nil && !slices.Equal(tt.apps.calls, tt.calls) {
				t.Errorf("service calls = %q, want %q", tt.apps.calls, tt.calls)
			}
			if tt.check != nil {
				tt.check(t, tt.apps)
			}
		})
	}
}

// TestAppOperationsWithoutAppService: a handler whose Apps is not set
// answers the app operations as operations it does not have, a Client
// fault that is not logged as an internal error.
func TestAppOperationsWithoutAppService(t *testing.T) {
	for _, op := range []string{"registerApp", "updateApp", "getApp", "listApps", "deleteApp", "regenerateSecret"} {
		for _, v := range []Version{SOAP11, SOAP12} {
			t.Run(op+" "+v.String(), func(t *testing.T) {
				var log bytes.Buffer
				h := newHandler(&fakeService{}, &log)
				res := serve(t, h, call{version: v, action: TokenAdminNamespace + ":" + op,
					body: soapEnvelope(v, "", `<t:`+op+`><t:clientId>client-a</t:clientId></t:`+op+`>`)})
				status, faultCode := 500, "soap:Client"
				if v == SOAP12 {
					status, faultCode = 400, "env:Sender"
				}
				checkFault(t, res, status, v.vocab().contentType, faultCode, CodeUnknownOperation)
				if want := "operation " + op + " is not available"; !strings.Contains(res.faultString, want) {
					t.Errorf("fault message = %q, want it to contain %q", res.faultString, want)
				}
				if log.Len() > 0 {
					t.Errorf("logged:\n%s", log.String())
				}
			})
		}
	}
}

// TestEveryWSDLOperationIsServed checks that the handler registers each
// operation of the WSDL's portType under the soapAction of its bindings.
func TestEveryWSDLOperationIsServed(t *testing.T) {
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(wsdl.WSDL); err != nil {
		t.Fatal(err)
	}
	h := NewTokenAdminHandler(&fakeService{}, nil)
	served := map[string]bool{}
	for _, binding := range doc.Root().SelectElements("binding") {
		for _, op := range binding.SelectElements("operation") {
			name := op.SelectAttrValue("name", "")
			served[name] = true
			so := op.SelectElement("operation")
			if so == nil {
				t.Errorf("binding %s, operation %s: no soap operation", binding.SelectAttrValue("name", ""), name)
				continue
			}
			registered := h.ops[xml.Name{Space: TokenAdminNamespace, Local: name}]
			switch action := so.SelectAttrValue("soapAction", ""); {
			case registered == nil:
				t.Errorf("operation %s of the WSDL is not registered", name)
			case registered.Action != action:
				t.Errorf("operation %s: registered action %q, WSDL soapAction %q", name, registered.Action, action)
			}
		}
	}
	for name := range h.ops {
		if !served[name.Local] {
			t.Errorf("registered operation %s is not in the WSDL", name.Local)
		}
	}
	if len(served) != 12 {
		t.Errorf("the WSDL binds %d operations, want 12", len(served))
	}
}

// TestGeneratedClientApps runs the app operations through the client gowsdl
// generates: its pointers are what let it send false, 0 and empty lists,
// and it must read back what we write.
func TestGeneratedClientApps(t *testing.T) {
	apps := &fakeAppService{result: sampleApp(), apps: []*tokenadmin.App{sampleApp(), bareApp()}, count: 2}
	srv := httptest.NewServer(newAppHandler(apps, nil))
	defer srv.Close()
	client := wsdl.NewTokenAdmin(gowsdlsoap.NewClient(srv.URL+TokenAdminPath,
		gowsdlsoap.WithBasicAuth(adminUser, adminPassword),
		gowsdlsoap.WithHTTPClient(srv.Client())))

	t.Run("registerApp", func(t *testing.T) {
		name, zero, no := wsdl.AppName("App A"), wsdl.Lifetime(0), false
		res, err := client.RegisterApp(&wsdl.RegisterApp{
			Name:                &name,
			GrantTypes:          &wsdl.GrantTypeList{},
			AccessTokenLifetime: &zero,
			RotateRefreshTokens: &no,
		})
		if err != nil {
			t.Fatal(err)
		}
		want := tokenadmin.NewApp("App A")
		want.GrantTypes = []string{}
		want.RotateRefresh = false
		if !reflect.DeepEqual(apps.app, want) {
			t.Errorf("app = %+v, want %+v", apps.app, want)
		}
		if res.ClientSecret != testSecret || res.App == nil || res.App.ClientId != "client-a" {
			t.Errorf("response = %+v", res)
		}
	})
	t.Run("updateApp", func(t *testing.T) {
		state, yes, ttl := wsdl.AppStateDisabled, true, wsdl.Lifetime(60)
		scope := wsdl.Scope("read")
		res, err := client.UpdateApp(&wsdl.UpdateApp{
			ClientId:            "client-a",
			Scopes:              &wsdl.ScopeList{Scope: []*wsdl.Scope{&scope}},
			AccessTokenLifetime: &ttl,
			Introspect:          &yes,
			State:               &state,
		})
		if err != nil {
			t.Fatal(err)
		}
		want := `name=<nil> owner=<nil> grantTypes=<nil> scopes=["read"] accessTTL="1m0s" refreshTTL=<nil> rotate=<nil> introspect="true"`
		if got := describeUpdate(apps.update); got != want {
			t.Errorf("update = %s\n          want %s", got, want)
		}
		if res.RevokedCount != 2 || res.App == nil {
			t.Errorf("response = %+v", res)
		}
	})
	t.Run("getApp", func(t *testing.T) {
		res, err := client.GetApp(&wsdl.GetApp{ClientId: "client-a"})
		if err != nil {
			t.Fatal(err)
		}
		a := res.App
		if a == nil || a.Name != "App <A> & Co" || a.Owner != "alice" || len(a.GrantType) != 2 || *a.GrantType[1] != wsdl.GrantTypeRefresh_token ||
			strings.Join(a.Scope, " ") != "read write" || *a.AccessTokenLifetime != 900 || *a.RefreshTokenLifetime != 2 ||
			!a.RotateRefreshTokens || a.Introspect || *a.State != wsdl.AppStateActive || !a.HasSecret {
			t.Fatalf("app = %+v", a)
		}
		if got, want := a.CreatedAt.ToGoTime(), sampleApp().CreatedAt.Truncate(time.Second); !got.Equal(want) {
			t.Errorf("createdAt = %v, want %v", got, want)
		}
	})
	t.Run("listApps", func(t *testing.T) {
		res, err := client.ListApps(&wsdl.ListApps{})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.App) != 2 || res.App[1].ClientId != "client-b" || *res.App[1].State != wsdl.AppStateDisabled || res.App[1].Owner != "" {
			t.Errorf("response = %+v", res)
		}
	})
	t.Run("deleteApp", func(t *testing.T) {
		res, err := client.DeleteApp(&wsdl.DeleteApp{ClientId: "client-a"})
		if err != nil {
			t.Fatal(err)
		}
		if res.RevokedCount != 2 || apps.id != "client-a" {
			t.Errorf("response = %+v, clientId = %q", res, apps.id)
		}
	})
	t.Run("regenerateSecret", func(t *testing.T) {
		res, err := client.RegenerateSecret(&wsdl.RegenerateSecret{ClientId: "client-a"})
		if err != nil {
			t.Fatal(err)
		}
		if res.ClientSecret != testSecret || res.RevokedCount != 2 {
			t.Errorf("response = %+v", res)
		}
	})
}

func TestLifetimeSeconds(t *testing.T) {
	tests := []struct {
		name string
		in   time.Duration
		want int64
	}{
		{name: "server default", in: 0, want: 0},
		{name: "negative reads as default", in: -time.Second, want: 0},
		{name: "whole seconds", in: time.Hour, want: 3600},
		{name: "a nanosecond is not the default", in: time.Nanosecond, want: 1},
		{name: "fractions round up", in: 1500 * time.Millisecond, want: 2},
		{name: "capped at xs:int", in: time.Duration(math.MaxInt64), want: math.MaxInt32},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := lifetimeSeconds(tt.in); got != tt.want {
				t.Errorf("lifetimeSeconds(%v) = %d, want %d", tt.in, got, tt.want)
			}
		})
	}
}

// FuzzAppOperations fuzzes the content of the app operations' wrapper
// elements, where their decoders work: whatever it is, the answer is a
// well-formed response or Client fault, never a panic or internal error.
func FuzzAppOperations(f *testing.F) {
	ops := []string{"registerApp", "updateApp", "getApp", "listApps", "deleteApp", "regenerateSecret"}
	nilAttr := ` xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:nil="true"`
	for i, seed := range []struct {
		op    uint8
		inner string
	}{
		{op: 0, inner: `<t:name>A</t:name><t:grantTypes><t:grantType>password</t:grantType></t:grantTypes><t:scopes><t:scope>read</t:scope></t:scopes>`},
		{op: 0, inner: `<t:name>A</t:name><t:accessTokenLifetime>60</t:accessTokenLifetime><t:rotateRefreshTokens>0</t:rotateRefreshTokens><t:grantTypes/>`},
		{op: 1, inner: `<t:clientId>c</t:clientId><t:state>disabled</t:state><t:scopes` + nilAttr + `/><t:introspect>true</t:introspect>`},
		{op: 1, inner: `<t:clientId>c</t:clientId><t:grantTypes><t:grantType> refresh_token </t:grantType><x:grantType xmlns:x="urn:x"/></t:grantTypes>`},
		{op: 2, inner: `<t:clientId>c</t:clientId>`},
		{op: 3, inner: ``},
		{op: 4, inner: `<t:clientId` + nilAttr + `/>`},
		{op: 5, inner: `<t:clientId>c&amp;d</t:clientId>`},
	} {
		f.Add(seed.op, i%2 == 1, []byte(seed.inner))
	}
	f.Fuzz(func(t *testing.T, opIndex uint8, soap12 bool, inner []byte) {
		op := ops[int(opIndex)%len(ops)]
		v := SOAP11
		if soap12 {
			v = SOAP12
		}
		var log bytes.Buffer
		apps := &fakeAppService{result: sampleApp(), apps: []*tokenadmin.App{sampleApp(), bareApp()}, count: 1}
		h := newAppHandler(apps, &log)
		res := serve(t, h, call{version: v, action: TokenAdminNamespace + ":" + op,
			body: soapEnvelope(v, "", `<t:`+op+`>`+string(inner)+`</t:`+op+`>`)})
		if strings.Contains(log.String(), "soap: panic") || strings.Contains(log.String(), "internal error") {
			t.Fatalf("handler failed internally:\n%s", log.String())
		}
		switch {
		case res.status == 200:
		case res.faultCode == "soap:Client" || res.faultCode == "env:Sender":
		default:
			t.Fatalf("status %d, fault %q\n%s", res.status, res.faultCode, res.body)
		}
		checkWellFormed(t, res.body, v.vocab().ns, res.status == 200)
	})
}
