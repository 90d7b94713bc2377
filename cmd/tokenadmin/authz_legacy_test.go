package main

import (
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"tokenadmin"
	"tokenadmin/legacy"
)

// The legacy services' rows of TestAuthorization: OAuthAdminService's
// application operations, AuthenticationAdmin's sessions, and the list
// of operations the WSDLs declare, which every row must cover.

// nsAppDTO is the namespace of OAuthAdminService's OAuthConsumerAppDTO.
const nsAppDTO = "http://dto.oauth.identity.carbon.wso2.org/xsd"

// legacyAppOp calls an application operation of OAuthAdminService on the
// app clientID (by consumer key, or by name for
// getOAuthApplicationDataByAppName; getAllOAuthApplicationData,
// getAllowedGrantTypes and isPKCESupportEnabled take no app) and checks
// its effect in the database. A failed call must change nothing.
func legacyAppOp(op string) func(f *authzFixture, a actor, clientID string) string {
	return func(f *authzFixture, a actor, clientID string) string {
		ctx := f.t.Context()
		before, err := f.ts.db.GetApp(ctx, clientID)
		if err != nil {
			f.t.Fatal(err)
		}
		inner := "<ns1:consumerKey>" + clientID + "</ns1:consumerKey>"
		switch op {
		case "updateConsumerAppState":
			inner += "<ns1:newState>REVOKED</ns1:newState>"
		case "getOAuthApplicationDataByAppName":
			inner = "<ns1:appName>" + escapeXML(before.Name) + "</ns1:appName>"
		case "updateConsumerApplication":
			inner = `<ns1:consumerAppDTO xmlns:ns2="` + nsAppDTO + `"><ns2:applicationName>Renamed</ns2:applicationName>` +
				`<ns2:oauthConsumerKey>` + clientID + `</ns2:oauthConsumerKey></ns1:consumerAppDTO>`
		case "getAllOAuthApplicationData", "getAllowedGrantTypes", "isPKCESupportEnabled":
			inner = ""
		}
		tk := f.issue("carl", clientID)
		out, body := f.legacy(a, legacy.OAuthAdminService, op, inner)
		after, err := f.ts.db.GetApp(ctx, clientID)
		if out != "" {
			if err != nil || !reflect.DeepEqual(after, before) || f.revoked(tk) {
				f.t.Errorf("%s failed with %s but changed something: %+v, %v", op, out, after, err)
			}
			return out
		}
		switch op {
		case "getOAuthApplicationData", "getOAuthApplicationDataByAppName", "getAllOAuthApplicationData":
			return effect(strings.Contains(body, ">"+clientID+"<"))
		case "getOauthApplicationState":
			return effect(strings.Contains(body, ">ACTIVE<"))
		case "getAllowedGrantTypes":
			return effect(strings.Contains(body, "<ns:return>password</ns:return>"))
		case "isPKCESupportEnabled":
			return effect(strings.Contains(body, "<ns:return>false</ns:return>"))
		case "updateConsumerApplication":
			return effect(err == nil && after.Name == "Renamed" && !f.revoked(tk))
		case "updateConsumerAppState":
			return effect(err == nil && after.State == tokenadmin.AppDisabled && f.revoked(tk))
		case "updateOauthSecretKey", "removeOAuthApplicationData":
			return effect(f.revoked(tk))
		}
		f.t.Fatalf("no effect check for %s", op)
		return ""
	}
}

var registeredKey = regexp.MustCompile(`<ns:return>([^<]+)</ns:return><ns:return>[^<]+</ns:return>`)

// legacyRegister registers an app through OAuthAdminService.
// registerOAuthApplicationData names the owner of clientID's app (the
// caller's own or another owner's) as the new app's username;
// registerOAuthConsumer registers one for the caller, whatever clientID.
// "ok+" when the new app exists with that owner; a failed call must
// create no app.
func legacyRegister(op string) func(f *authzFixture, a actor, clientID string) string {
	return func(f *authzFixture, a actor, clientID string) string {
		ctx := f.t.Context()
		app, err := f.ts.db.GetApp(ctx, clientID)
		if err != nil {
			f.t.Fatal(err)
		}
		before, err := f.ts.db.ListApps(ctx, "")
		if err != nil {
			f.t.Fatal(err)
		}
		f.apps++
		newID, owner, inner := fmt.Sprintf("legacy-registered-%d", f.apps), a.user, ""
		if op == "registerOAuthApplicationData" {
			owner = app.Owner
			inner = `<ns1:application xmlns:ns2="` + nsAppDTO + `"><ns2:OAuthVersion>OAuth-2.0</ns2:OAuthVersion>` +
				`<ns2:applicationName>Registered</ns2:applicationName><ns2:grantTypes>password refresh_token</ns2:grantTypes>` +
				`<ns2:oauthConsumerKey>` + newID + `</ns2:oauthConsumerKey><ns2:username>` + owner + `</ns2:username></ns1:application>`
		}
		out, body := f.legacy(a, legacy.OAuthAdminService, op, inner)
		if out != "" {
			if after, err := f.ts.db.ListApps(ctx, ""); err != nil || len(after) != len(before) {
				f.t.Errorf("%s failed with %s but created an app (%d apps before, %d after; %v)", op, out, len(before), len(after), err)
			}
			return out
		}
		if op == "registerOAuthConsumer" {
			m := registeredKey.FindStringSubmatch(body)
			if m == nil {
				f.t.Fatalf("registerOAuthConsumer answered:\n%s", body)
			}
			newID = m[1]
		}
		got, err := f.ts.db.GetApp(ctx, newID)
		return effect(err == nil && got.Owner == owner)
	}
}

// login calls AuthenticationAdmin.login with a's user name and password
// (none for the anonymous caller): "ok+" when it answers true and sets a
// session cookie, whose value it returns too; "ok-" when it answers
// false and sets none.
func (f *authzFixture) login(a actor) (string, string) {
	f.t.Helper()
	inner := ""
	if a.user != "" {
		inner = "<ns1:username>" + escapeXML(a.user) + "</ns1:username><ns1:password>" + escapeXML(a.password) +
			"</ns1:password><ns1:remoteAddress>127.0.0.1</ns1:remoteAddress>"
	}
	out, h, body := f.legacyCall(actor{v: a.v}, legacy.AuthenticationAdmin, "login", inner)
	if out != "" {
		return out, ""
	}
	var cookie string
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == legacy.SessionCookie {
			cookie = c.Value
		}
	}
	switch {
	case strings.Contains(body, "<ns:return>true</ns:return>") && cookie != "":
		return "ok+", cookie
	case strings.Contains(body, "<ns:return>false</ns:return>") && cookie == "":
		return "ok-", ""
	}
	f.t.Errorf("login answered %v:\n%s", h, body)
	return "bad answer", ""
}

// session logs a in and returns the session cookie's value.
func (f *authzFixture) session(a actor) string {
	f.t.Helper()
	out, cookie := f.login(a)
	if out != "ok+" {
		f.t.Fatalf("login as %s: %s", a.user, out)
	}
	return cookie
}

// legacyLogout logs a in (but for the anonymous caller) and out: "ok+"
// when logout answers HTTP 202 without a body and the session is over,
// its cookie answered with the 401 challenge.
func legacyLogout(f *authzFixture, a actor) string {
	f.t.Helper()
	probe := func() string {
		out, _ := f.legacy(a, legacy.OAuthAdminService, "getAppsAuthorizedByUser", "")
		return out
	}
	if a.user != "" {
		a = actor{role: a.role, v: a.v, session: f.session(a)}
		if out := probe(); out != "" {
			f.t.Fatalf("the new session: %s", out)
		}
	}
	out, _, body := f.legacyCall(a, legacy.AuthenticationAdmin, "logout", "")
	switch {
	case out != "":
		return out
	case body != "":
		f.t.Errorf("logout answered a body:\n%s", body)
	case a.session != "" && probe() != "401":
		return "ok-"
	}
	return "ok+"
}

// wsdlOperations lists the operations of a WSDL 1.1 document's port
// types.
func wsdlOperations(t *testing.T, doc []byte) []string {
	t.Helper()
	var defs struct {
		PortTypes []struct {
			Operations []struct {
				Name string `xml:"name,attr"`
			} `xml:"operation"`
		} `xml:"portType"`
	}
	if err := xml.Unmarshal(doc, &defs); err != nil {
		t.Fatalf("WSDL: %v", err)
	}
	var ops []string
	for _, p := range defs.PortTypes {
		for _, o := range p.Operations {
			if !slices.Contains(ops, o.Name) {
				ops = append(ops, o.Name)
			}
		}
	}
	return ops
}

// httpGet returns the body of a GET of url, which must answer 200.
func httpGet(t *testing.T, url string) []byte {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: HTTP %d, %v", url, resp.StatusCode, err)
	}
	return b
}
