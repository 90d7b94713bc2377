package main

import (
	"cmp"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"tokenadmin"
	"tokenadmin/legacy"
	"tokenadmin/soap"
	"tokenadmin/store"
	"tokenadmin/wsdl"
)

// TestAuthorization drives every API of the real server (native SOAP,
// the legacy WSO2 services, the OAuth endpoints) and the real CLI with
// every operation, as every role, on tokens and apps of every kind of
// owner, and checks the exact outcome: success and its effect, read back
// from the database, or the exact fault. Every SOAP row runs in SOAP 1.1
// and in SOAP 1.2 (soapVersion adapts the request and reads the fault in
// that version's form), and a last check fails when an operation of
// wsdl/tokenadmin.wsdl or of a legacy service's served WSDL (profile
// is-5.3, the default, which serves every legacy operation) has no row.
// The legacy OAuthAdminService rows run on an is-5.0 server too, whose
// void operations answer HTTP 202. Legacy rows also run with the session
// cookie of AuthenticationAdmin.login instead of Basic, and native ones
// with a WS-Security UsernameToken.
//
// The cast: admin, audrey (auditor), bob (a user who owns no app), olga
// (a user who owns the app "olga-app") and an unauthenticated caller.
// carl holds tokens and calls nothing; otto owns "otto-app".
//
// Token targets, issued fresh for each case (so cases do not depend on
// one another): the caller's own token (of app "portal", owned by "ops";
// carl's for the unauthenticated caller), another user's token of
// "portal", carl's token of olga-app (olga's own app's token held by
// another user) and carl's token of otto-app (another owner's app).
//
// Outcomes: "ok+" success with the effect (revoked, listed, shown),
// "ok-" success without it (nothing revoked, not listed), a native
// fault code (Forbidden, TokenNotFound, NotFound), "denied" (the legacy
// 50978 Access Denied fault), or an HTTP status ("401", "403").
func TestAuthorization(t *testing.T) {
	t.Setenv("TOKENADMIN_ADMIN_PASSWORD", adminPassword)
	f := newAuthzFixture(t, serveConfig{})
	ts := f.ts

	actors := []actor{
		{role: "admin", user: "admin", password: adminPassword},
		{role: "auditor", user: "audrey", password: alicePassword},
		{role: "user", user: "bob", password: bobPassword},
		{role: "owner", user: "olga", password: alicePassword},
		{role: "anonymous"},
	}
	// runOn is one row on f's server: do's outcome must be want.
	runOn := func(f *authzFixture, name, want string, do func() string) {
		t.Run(name, func(t *testing.T) {
			f.t = t
			if got := do(); got != want {
				t.Errorf("got %s, want %s", got, want)
			}
		})
	}
	run := func(name, want string, do func() string) { runOn(f, name, want, do) }

	// Token operations: want[role] lists the outcomes for the targets
	// own, another user's, own app's held by another, another owner's app.
	all := func(s string) [4]string { return [4]string{s, s, s, s} }
	tokenOps := []struct {
		name string
		do   func(f *authzFixture, a actor, tk target) string
		want map[string][4]string
	}{
		{"native getToken", nativeGetToken, map[string][4]string{
			"admin": all("ok+"), "auditor": all("ok+"),
			"user":  {"ok+", "TokenNotFound", "TokenNotFound", "TokenNotFound"},
			"owner": {"ok+", "TokenNotFound", "ok+", "TokenNotFound"}}},
		{"native revokeToken by id", nativeRevokeByID, map[string][4]string{
			"admin": all("ok+"), "auditor": all("Forbidden"),
			"user":  {"ok+", "TokenNotFound", "TokenNotFound", "TokenNotFound"},
			"owner": {"ok+", "TokenNotFound", "ok+", "TokenNotFound"}}},
		{"native revokeToken by value", nativeRevokeByValue, map[string][4]string{
			"admin": all("ok+"), "auditor": all("Forbidden"),
			"user":  {"ok+", "TokenNotFound", "TokenNotFound", "TokenNotFound"},
			"owner": {"ok+", "TokenNotFound", "ok+", "TokenNotFound"}}},
		{"native listActiveTokens clientId", nativeListByApp, map[string][4]string{
			"admin": all("ok+"), "auditor": all("ok+"),
			"user":  {"ok+", "ok-", "ok-", "ok-"},
			"owner": {"ok+", "ok-", "ok+", "ok-"}}},
		{"native listActiveTokens clientId user", nativeListByHolder, map[string][4]string{
			"admin": all("ok+"), "auditor": all("ok+"),
			"user":  {"ok+", "Forbidden", "Forbidden", "Forbidden"},
			"owner": {"ok+", "Forbidden", "ok+", "Forbidden"}}},
		{"native revokeTokens clientId", nativeRevokeApp, map[string][4]string{
			"admin": all("ok+"), "auditor": all("Forbidden"),
			"user":  {"ok+", "ok-", "ok-", "ok-"},
			"owner": {"ok+", "ok-", "ok+", "ok-"}}},
		{"native revokeTokens clientId user", nativeRevokeHolder, map[string][4]string{
			"admin": all("ok+"), "auditor": all("Forbidden"),
			"user":  {"ok+", "Forbidden", "Forbidden", "Forbidden"},
			"owner": {"ok+", "Forbidden", "ok+", "Forbidden"}}},
		{"native listAuthorizedApps user", nativeAuthorizedApps, map[string][4]string{
			"admin": all("ok+"), "auditor": all("ok+"),
			"user":  {"ok+", "Forbidden", "Forbidden", "Forbidden"},
			"owner": {"ok+", "Forbidden", "Forbidden", "Forbidden"}}},
		{"legacy revokeAccessToken", legacyRevokeAccessToken(""), map[string][4]string{
			"admin": all("ok+"), "auditor": all("denied"),
			"user":  {"ok+", "denied", "denied", "denied"},
			"owner": {"ok+", "denied", "ok+", "denied"}}},
		// consumerKey naming olga's app instead of the token's: it only
		// lets olga name another authorizedUser; the token is still
		// revoked by the caller's rules, and one she may not revoke
		// answers 202 all the same (no probing), unrevoked.
		{"legacy revokeAccessToken consumerKey olga-app", legacyRevokeAccessToken("olga-app"), map[string][4]string{
			"admin": all("ok+"), "auditor": all("denied"),
			"user":  {"ok+", "denied", "denied", "denied"},
			"owner": {"ok+", "ok-", "ok+", "ok-"}}},
		// An app owner may not name another user here, not even a
		// holder of their own app's tokens: the operation lists that
		// user's authorized apps first, which only admins may (as the
		// native listAuthorizedApps). The native revokeTokens with
		// user and clientId, or revokeAccessToken by value, do it.
		{"legacy revokeTokensOfUserByApp", legacyRevokeOfUserByApp, map[string][4]string{
			"admin": all("ok+"), "auditor": all("denied"),
			"user":  {"ok+", "denied", "denied", "denied"},
			"owner": {"ok+", "denied", "denied", "denied"}}},
		{"legacy revokeAuthzForAppsByResoureOwner", legacyRevokeAuthz, map[string][4]string{
			"admin": {"ok+", "ok-", "ok-", "ok-"}, "auditor": all("denied"),
			"user":  {"ok+", "ok-", "ok-", "ok-"},
			"owner": {"ok+", "ok-", "ok-", "ok-"}}},
		{"legacy getAppsAuthorizedByUser (the caller's own)", legacyAppsAuthorized, map[string][4]string{
			"admin": all("ok+"), "auditor": all("ok+"), "user": all("ok+"), "owner": all("ok+")}},
		{"legacy validate", legacyValidate("validate"), map[string][4]string{
			"admin": all("ok+"), "auditor": all("ok+"), "user": all("denied"), "owner": all("denied")}},
		{"legacy findOAuthConsumerIfTokenIsValid", legacyValidate("findOAuthConsumerIfTokenIsValid"), map[string][4]string{
			"admin": all("ok+"), "auditor": all("ok+"), "user": all("denied"), "owner": all("denied")}},
	}
	targetNames := [4]string{"own token", "other user's token", "own app's token of another user", "other owner's app's token"}

	// App operations: want[role] for the caller's own app and another
	// owner's. Apps are registered fresh for each case.
	appOps := []struct {
		name string
		do   func(f *authzFixture, a actor, clientID string) string
		want map[string][2]string
	}{
		{"native getApp", nativeAppOp("getApp"), map[string][2]string{
			"admin": {"ok+", "ok+"}, "auditor": {"ok+", "ok+"}, "user": {"ok+", "NotFound"}, "owner": {"ok+", "NotFound"}}},
		{"native listApps", nativeListApps, map[string][2]string{
			"admin": {"ok+", "ok+"}, "auditor": {"ok+", "ok+"}, "user": {"ok+", "ok-"}, "owner": {"ok+", "ok-"}}},
		{"native updateApp", nativeAppOp("updateApp"), map[string][2]string{
			"admin": {"ok+", "ok+"}, "auditor": {"Forbidden", "Forbidden"}, "user": {"ok+", "NotFound"}, "owner": {"ok+", "NotFound"}}},
		{"native regenerateSecret", nativeAppOp("regenerateSecret"), map[string][2]string{
			"admin": {"ok+", "ok+"}, "auditor": {"Forbidden", "Forbidden"}, "user": {"ok+", "NotFound"}, "owner": {"ok+", "NotFound"}}},
		{"native deleteApp", nativeAppOp("deleteApp"), map[string][2]string{
			"admin": {"ok+", "ok+"}, "auditor": {"Forbidden", "Forbidden"}, "user": {"ok+", "NotFound"}, "owner": {"ok+", "NotFound"}}},
		{"native registerApp", nativeRegisterApp, map[string][2]string{
			"admin": {"ok+", "ok+"}, "auditor": {"Forbidden", "Forbidden"}, "user": {"ok+", "Forbidden"}, "owner": {"ok+", "Forbidden"}}},
		// OAuthAdminService's application operations are Carbon's
		// applicationmgt permission: admins; auditors those that read;
		// users, app owners included, none (they use the native API).
		{"legacy getOAuthApplicationData", legacyAppOp("getOAuthApplicationData"), map[string][2]string{
			"admin": {"ok+", "ok+"}, "auditor": {"ok+", "ok+"}, "user": {"denied", "denied"}, "owner": {"denied", "denied"}}},
		{"legacy getOAuthApplicationDataByAppName", legacyAppOp("getOAuthApplicationDataByAppName"), map[string][2]string{
			"admin": {"ok+", "ok+"}, "auditor": {"ok+", "ok+"}, "user": {"denied", "denied"}, "owner": {"denied", "denied"}}},
		// WSO2's getOAuthConsumerAppsOfUser: the caller's own apps only,
		// for admins too.
		{"legacy getAllOAuthApplicationData (the caller's own)", legacyAppOp("getAllOAuthApplicationData"), map[string][2]string{
			"admin": {"ok+", "ok-"}, "auditor": {"ok+", "ok-"}, "user": {"denied", "denied"}, "owner": {"denied", "denied"}}},
		{"legacy getOauthApplicationState", legacyAppOp("getOauthApplicationState"), map[string][2]string{
			"admin": {"ok+", "ok+"}, "auditor": {"ok+", "ok+"}, "user": {"denied", "denied"}, "owner": {"denied", "denied"}}},
		{"legacy getAllowedGrantTypes (no app)", legacyAppOp("getAllowedGrantTypes"), map[string][2]string{
			"admin": {"ok+", "ok+"}, "auditor": {"ok+", "ok+"}, "user": {"denied", "denied"}, "owner": {"denied", "denied"}}},
		{"legacy isPKCESupportEnabled (no app)", legacyAppOp("isPKCESupportEnabled"), map[string][2]string{
			"admin": {"ok+", "ok+"}, "auditor": {"ok+", "ok+"}, "user": {"denied", "denied"}, "owner": {"denied", "denied"}}},
		{"legacy registerOAuthApplicationData (for the app's owner)", legacyRegister("registerOAuthApplicationData"), map[string][2]string{
			"admin": {"ok+", "ok+"}, "auditor": {"denied", "denied"}, "user": {"denied", "denied"}, "owner": {"denied", "denied"}}},
		{"legacy registerOAuthConsumer (for the caller)", legacyRegister("registerOAuthConsumer"), map[string][2]string{
			"admin": {"ok+", "ok+"}, "auditor": {"denied", "denied"}, "user": {"denied", "denied"}, "owner": {"denied", "denied"}}},
		{"legacy updateConsumerApplication", legacyAppOp("updateConsumerApplication"), map[string][2]string{
			"admin": {"ok+", "ok+"}, "auditor": {"denied", "denied"}, "user": {"denied", "denied"}, "owner": {"denied", "denied"}}},
		{"legacy updateConsumerAppState", legacyAppOp("updateConsumerAppState"), map[string][2]string{
			"admin": {"ok+", "ok+"}, "auditor": {"denied", "denied"}, "user": {"denied", "denied"}, "owner": {"denied", "denied"}}},
		{"legacy updateOauthSecretKey", legacyAppOp("updateOauthSecretKey"), map[string][2]string{
			"admin": {"ok+", "ok+"}, "auditor": {"denied", "denied"}, "user": {"denied", "denied"}, "owner": {"denied", "denied"}}},
		{"legacy removeOAuthApplicationData", legacyAppOp("removeOAuthApplicationData"), map[string][2]string{
			"admin": {"ok+", "ok+"}, "auditor": {"denied", "denied"}, "user": {"denied", "denied"}, "owner": {"denied", "denied"}}},
	}
	appTargets := func(f *authzFixture, a actor, i int) string {
		owner := a.user
		if i == 1 || owner == "" {
			owner = "otto"
		}
		return f.app(owner)
	}

	// The same outcomes with other credentials than Basic: a WS-Security
	// UsernameToken (#PasswordText) in the SOAP header on the native API,
	// and on the legacy services the session cookie of
	// AuthenticationAdmin.login (the session carries its user's role).
	credentials := []struct {
		name string
		ops  []string
		use  func(f *authzFixture, a actor) actor
	}{
		{"with UsernameToken", []string{"native getToken", "native revokeToken by id", "native revokeToken by value",
			"native listActiveTokens clientId", "native listActiveTokens clientId user", "native revokeTokens clientId"},
			func(_ *authzFixture, a actor) actor { a.wss = true; return a }},
		{"with a session cookie", []string{"legacy revokeAccessToken", "legacy revokeTokensOfUserByApp",
			"legacy getAppsAuthorizedByUser (the caller's own)", "legacy validate",
			"legacy getOAuthApplicationData", "legacy updateConsumerAppState"},
			func(f *authzFixture, a actor) actor { a.session = f.session(a); return a }},
	}

	// rows runs, on f's server in SOAP version v, the rows of tokenOps
	// and appOps that keep accepts, as every actor with HTTP Basic.
	rows := func(f *authzFixture, prefix string, v *soapVersion, keep func(row string) bool) {
		for _, op := range tokenOps {
			for _, a := range actors {
				a.v = v
				want := op.want[a.role]
				if a.role == "anonymous" {
					want = all("401")
				}
				for i, name := range targetNames {
					if keep(op.name) {
						runOn(f, fmt.Sprintf("%s/%s/%s/%s", prefix, op.name, a.role, name), want[i],
							func() string { return op.do(f, a, f.token(a, i)) })
					}
				}
			}
		}
		for _, op := range appOps {
			for _, a := range actors {
				a.v = v
				want := op.want[a.role]
				if a.role == "anonymous" {
					want = [2]string{"401", "401"}
				}
				for i, name := range []string{"own app", "other owner's app"} {
					if keep(op.name) {
						runOn(f, fmt.Sprintf("%s/%s/%s/%s", prefix, op.name, a.role, name), want[i],
							func() string { return op.do(f, a, appTargets(f, a, i)) })
					}
				}
			}
		}
	}

	for _, v := range soapVersions {
		rows(f, v.name, v, func(string) bool { return true })
		for _, c := range credentials {
			for _, a := range actors[:len(actors)-1] { // the anonymous caller has none
				a.v = v
				for _, op := range tokenOps {
					if !slices.Contains(c.ops, op.name) {
						continue
					}
					for i, name := range targetNames {
						run(fmt.Sprintf("%s/%s/%s %s/%s", v.name, op.name, a.role, c.name, name), op.want[a.role][i],
							func() string { return op.do(f, c.use(f, a), f.token(a, i)) })
					}
				}
				for _, op := range appOps {
					if !slices.Contains(c.ops, op.name) {
						continue
					}
					for i, name := range []string{"own app", "other owner's app"} {
						run(fmt.Sprintf("%s/%s/%s %s/%s", v.name, op.name, a.role, c.name, name), op.want[a.role][i],
							func() string { return op.do(f, c.use(f, a), appTargets(f, a, i)) })
					}
				}
			}
		}

		for _, a := range actors {
			a.v = v
			// The audit log: admins and auditors read it, with Basic or
			// a UsernameToken; nobody else does. The server's bootstrap
			// of the first admin is a record, so there is always an
			// event to see.
			want := map[string]string{"admin": "ok+", "auditor": "ok+", "user": "Forbidden", "owner": "Forbidden", "anonymous": "401"}[a.role]
			run(fmt.Sprintf("%s/native listAuditEvents/%s", v.name, a.role), want, func() string { return nativeListAuditEvents(f, a) })
			if a := a; a.role != "anonymous" {
				a.wss = true
				run(fmt.Sprintf("%s/native listAuditEvents/%s with UsernameToken", v.name, a.role), want,
					func() string { return nativeListAuditEvents(f, a) })
			}

			// AuthenticationAdmin: every role logs in with its password
			// ("ok+": true and a session cookie); a wrong password or none
			// answers false without a session ("ok-"), not a fault; logout
			// ends the session, whose cookie then gets the 401 challenge.
			// What a session may do is the rows "with a session cookie".
			want = "ok+"
			if a.role == "anonymous" {
				want = "ok-"
			}
			run(fmt.Sprintf("%s/legacy login/%s", v.name, a.role), want, func() string { out, _ := f.login(a); return out })
			if a.role != "anonymous" {
				wrong := a
				wrong.password = "wrong-password"
				run(fmt.Sprintf("%s/legacy login/%s with a wrong password", v.name, a.role), "ok-",
					func() string { out, _ := f.login(wrong); return out })
			}
			run(fmt.Sprintf("%s/legacy logout/%s", v.name, a.role), "ok+", func() string { return legacyLogout(f, a) })
		}
	}

	// is-5.0 (2014) serves fewer of OAuthAdminService's operations, and
	// its void ones are robust in-only (HTTP 202 without a body; faults
	// without a typed detail): the same rules on that wire. The other
	// services are the same in every profile.
	f50 := newAuthzFixture(t, serveConfig{LegacyProfile: string(legacy.IS50)})
	served50 := wsdlOperations(t, httpGet(t, f50.ts.URL()+"/services/"+legacy.OAuthAdminService+"?wsdl"))
	for _, v := range soapVersions {
		rows(f50, "is-5.0/"+v.name, v, func(row string) bool {
			op, ok := strings.CutPrefix(row, "legacy ")
			return ok && slices.Contains(served50, strings.Fields(op)[0])
		})
	}

	t.Run("every operation has rows", func(t *testing.T) {
		if r := flag.Lookup("test.run"); r != nil && strings.Contains(r.Value.String(), "/") {
			t.Skip("-run selects some rows only")
		}
		ops := map[string][]string{"TokenAdmin": wsdlOperations(t, wsdl.WSDL)}
		for _, s := range []string{legacy.OAuthAdminService, legacy.AuthenticationAdmin,
			legacy.OAuth2TokenValidationService, legacy.APIKeyMgtSubscriberService} {
			ops[s] = wsdlOperations(t, httpGet(t, ts.URL()+"/services/"+s+"?wsdl"))
		}
		for _, v := range soapVersions {
			for s, names := range ops {
				if len(names) == 0 {
					t.Errorf("%s: no operations in its WSDL", s)
				}
				for _, op := range names {
					if !f.called[v.name+" "+s+"/"+op] {
						t.Errorf("%s %s/%s has no rows", v.name, s, op)
					}
				}
			}
			for _, op := range served50 {
				if !f50.called[v.name+" "+legacy.OAuthAdminService+"/"+op] {
					t.Errorf("is-5.0 %s %s/%s has no rows", v.name, legacy.OAuthAdminService, op)
				}
			}
		}
	})

	// OAuth endpoints authenticate clients, not users: RFC 7009 §2.1, a
	// client revokes only its own tokens (another's answers 200 and
	// stays active, §2.2); introspection needs the app's permission or
	// an admin's or auditor's credentials (RFC 7662 §2.1).
	introspector := tokenadmin.NewApp("Gateway")
	introspector.ClientID, introspector.Introspect = "gateway", true
	if _, secret, err := ts.db.RegisterApp(t.Context(), introspector); err != nil {
		t.Fatal(err)
	} else {
		f.secrets["gateway"] = secret
	}
	for _, c := range []struct {
		name     string
		endpoint string
		user     string // Basic user (a client ID or a user name); "" for none
		password string
		app      string // the token's app
		want     string
	}{
		{"revoke/own client's token", "revoke", "olga-app", f.secrets["olga-app"], "olga-app", "ok+"},
		{"revoke/another client's token", "revoke", "olga-app", f.secrets["olga-app"], "otto-app", "ok-"},
		{"revoke/wrong secret", "revoke", "olga-app", "wrong", "olga-app", "401"},
		{"revoke/a user's credentials", "revoke", "olga", alicePassword, "olga-app", "401"},
		{"revoke/admin's credentials", "revoke", "admin", adminPassword, "olga-app", "401"},
		{"revoke/anonymous", "revoke", "", "", "olga-app", "401"},
		{"introspect/client with the permission", "introspect", "gateway", f.secrets["gateway"], "otto-app", "ok+"},
		{"introspect/client without it", "introspect", "olga-app", f.secrets["olga-app"], "olga-app", "403"},
		{"introspect/admin", "introspect", "admin", adminPassword, "otto-app", "ok+"},
		{"introspect/auditor", "introspect", "audrey", alicePassword, "otto-app", "ok+"},
		{"introspect/user", "introspect", "bob", bobPassword, "portal", "403"},
		{"introspect/app owner", "introspect", "olga", alicePassword, "olga-app", "403"},
		{"introspect/anonymous", "introspect", "", "", "otto-app", "401"},
	} {
		t.Run("oauth "+c.name, func(t *testing.T) {
			f.t = t
			tk := f.issue("carl", c.app)
			if got := f.oauth(c.endpoint, c.user, c.password, tk); got != c.want {
				t.Errorf("got %s, want %s", got, c.want)
			}
		})
	}

	// The CLI works on the database file: whoever can open it is an
	// administrator, so every row is an admin's outcome.
	for _, c := range []struct {
		name string
		do   func(f *authzFixture, tk target) string
	}{
		{"token show", cliTokenShow},
		{"token list --client --user", cliTokenList},
		{"token revoke --id", cliRevokeID},
		{"token revoke --user --client", cliRevokeHolder},
		{"app show", cliAppShow},
	} {
		for i, name := range targetNames[1:] {
			t.Run(fmt.Sprintf("cli %s/%s", c.name, name), func(t *testing.T) {
				f.t = t
				if got := c.do(f, f.token(actor{}, i+1)); got != "ok+" {
					t.Errorf("got %s, want ok+", got)
				}
			})
		}
	}
}

// newAuthzFixture starts the real server with c and creates the cast of
// TestAuthorization: its users (the admin comes from
// $TOKENADMIN_ADMIN_PASSWORD) and apps.
func newAuthzFixture(t *testing.T, c serveConfig) *authzFixture {
	t.Helper()
	ts := startTestServer(t, c)
	f := &authzFixture{t: t, ts: ts, secrets: map[string]string{}, called: map[string]bool{}}
	createUser(t, ts.db, "audrey", tokenadmin.RoleAuditor, aliceHash())
	createUser(t, ts.db, "bob", tokenadmin.RoleUser, bobHash())
	createUser(t, ts.db, "olga", tokenadmin.RoleUser, aliceHash())
	for _, a := range []struct{ id, name, owner string }{
		{"portal", "Portal", "ops"}, {"olga-app", "Olga App", "olga"}, {"otto-app", "Otto App", "otto"},
	} {
		app := tokenadmin.NewApp(a.name)
		app.ClientID, app.Owner = a.id, a.owner
		_, secret, err := ts.db.RegisterApp(t.Context(), app)
		if err != nil {
			t.Fatal(err)
		}
		f.secrets[a.id] = secret
	}
	return f
}

// actor is who calls: a role and credentials (none for anonymous).
type actor struct {
	role, user, password string
	// wss sends the credentials as a WS-Security UsernameToken
	// (#PasswordText) in the SOAP header instead of HTTP Basic (native
	// API only).
	wss bool
	// session is the value of a legacy session cookie
	// (AuthenticationAdmin.login's), sent instead of HTTP Basic.
	session string
	// v is the SOAP version of the calls; SOAP 1.1 when nil.
	v *soapVersion
}

func (a actor) version() *soapVersion {
	if a.v == nil {
		return soapVersions[0]
	}
	return a.v
}

// soapVersion adapts the rows to one SOAP version: how a request says
// its version and action, and the form of the faults that come back.
type soapVersion struct {
	name string // in row names; also in called's keys
	ns   string // the envelope's namespace
	// mediaType is the request's; SOAP 1.2 adds the action to it (SOAP
	// 1.2 part 2 §7.1.4, RFC 3902), SOAP 1.1 sends SOAPAction instead.
	mediaType    string
	actionHeader bool
	// clientCode and clientStatus: a native fault for a bad or refused
	// request is a Client fault with HTTP 500 in SOAP 1.1 (§6.2), a
	// Sender fault with HTTP 400 in SOAP 1.2 (part 2 §7.5.2.2).
	clientCode   string
	clientStatus int
	nativeCode   *regexp.Regexp // the native fault's code
	// legacyFault reads a legacy (Axis2) fault's code, local part only,
	// and its text. Axis2 answers every such fault with HTTP 500.
	legacyFault *regexp.Regexp
}

var soapVersions = []*soapVersion{
	{name: "SOAP 1.1", ns: "http://schemas.xmlsoap.org/soap/envelope/", mediaType: "text/xml; charset=utf-8", actionHeader: true,
		clientCode: "soap:Client", clientStatus: http.StatusInternalServerError,
		nativeCode:  regexp.MustCompile(`<faultcode>([^<]*)</faultcode>`),
		legacyFault: regexp.MustCompile(`<faultcode>[^<]*:([^<:]*)</faultcode><faultstring>([^<]*)</faultstring>`)},
	{name: "SOAP 1.2", ns: "http://www.w3.org/2003/05/soap-envelope", mediaType: "application/soap+xml; charset=utf-8",
		clientCode: "env:Sender", clientStatus: http.StatusBadRequest,
		nativeCode: regexp.MustCompile(`<env:Code><env:Value>([^<]*)</env:Value>`),
		legacyFault: regexp.MustCompile(`<soapenv:Code><soapenv:Value>[^<]*:([^<:]*)</soapenv:Value></soapenv:Code>` +
			`<soapenv:Reason><soapenv:Text xml:lang="en-US">([^<]*)</soapenv:Text>`)},
}

// soapPost posts a SOAP envelope to url in a's SOAP version with
// a's credentials, and checks that an answer with a body is in that
// version.
func (f *authzFixture) soapPost(a actor, url, action, env string) (int, http.Header, string) {
	f.t.Helper()
	v := a.version()
	ct, soapAction := v.mediaType, ""
	if v.actionHeader {
		soapAction = action
	} else {
		ct += `; action="` + action + `"`
	}
	status, h, body := f.post(a, url, ct, soapAction, env)
	if got := h.Get("Content-Type"); body != "" && !strings.HasPrefix(got, strings.Split(v.mediaType, ";")[0]) {
		f.t.Errorf("%s: %s request answered %s", action, v.name, got)
	}
	return status, h, body
}

// target is a token issued for one case.
type target struct {
	id, value, user, clientID, appName string
}

type authzFixture struct {
	t       *testing.T
	ts      *testServer
	secrets map[string]string // client secrets by client ID
	apps    int               // apps registered by app()
	// called records the operations rows called, by SOAP version,
	// service and operation ("SOAP 1.1 TokenAdmin/getToken").
	called map[string]bool
}

var appNames = map[string]string{"portal": "Portal", "olga-app": "Olga App", "otto-app": "Otto App"}

// token issues the target token number i for a (see TestAuthorization).
func (f *authzFixture) token(a actor, i int) target {
	f.t.Helper()
	holder := a.user
	if holder == "" || i > 0 {
		holder = "carl"
	}
	return f.issue(holder, [4]string{"portal", "portal", "olga-app", "otto-app"}[i])
}

func (f *authzFixture) issue(user, clientID string) target {
	f.t.Helper()
	iss := issue(f.t, f.ts.db, tokenadmin.IssueRequest{ClientID: clientID, User: user, GrantType: tokenadmin.GrantPassword, AccessTTL: time.Hour})
	return target{id: iss.Access.ID, value: iss.AccessValue, user: user, clientID: clientID, appName: appNames[clientID]}
}

// app registers a new app of owner and returns its client ID.
func (f *authzFixture) app(owner string) string {
	f.t.Helper()
	f.apps++
	a := tokenadmin.NewApp(fmt.Sprintf("App %d", f.apps))
	a.ClientID, a.Owner = fmt.Sprintf("app-%d", f.apps), owner
	if _, _, err := f.ts.db.RegisterApp(f.t.Context(), a); err != nil {
		f.t.Fatal(err)
	}
	return a.ClientID
}

// revoked reports whether tk is revoked, from the database.
func (f *authzFixture) revoked(tk target) bool {
	f.t.Helper()
	got, err := f.ts.db.GetToken(f.t.Context(), tk.id)
	if err != nil {
		f.t.Fatal(err)
	}
	return got.State == tokenadmin.StateRevoked
}

// effect is "ok+" when ok, "ok-" otherwise.
func effect(ok bool) string {
	if ok {
		return "ok+"
	}
	return "ok-"
}

// post sends body to url with a's credentials: the session cookie if
// a has one, else HTTP Basic unless a sends a UsernameToken.
func (f *authzFixture) post(a actor, url, contentType, action, body string) (int, http.Header, string) {
	f.t.Helper()
	req, err := http.NewRequestWithContext(f.t.Context(), http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	if action != "" {
		req.Header.Set("SOAPAction", `"`+action+`"`)
	}
	switch {
	case a.session != "":
		req.AddCookie(&http.Cookie{Name: legacy.SessionCookie, Value: a.session})
	case a.user != "" && !a.wss:
		req.SetBasicAuth(a.user, a.password)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

var (
	nativeCode   = regexp.MustCompile(`<tns:code>([^<]*)</tns:code>`)
	xmlEscaper   = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")
	escapeXML    = xmlEscaper.Replace
	nativeFields = func(kv ...string) string {
		var b strings.Builder
		for i := 0; i+1 < len(kv); i += 2 {
			fmt.Fprintf(&b, "<t:%s>%s</t:%s>", kv[i], escapeXML(kv[i+1]), kv[i])
		}
		return b.String()
	}
)

// native calls a TokenAdmin operation in a's SOAP version. It returns
// "" and the body on success, or the outcome of a failure: "401" or the
// fault code, after checking that the fault is that version's client
// fault.
func (f *authzFixture) native(a actor, op string, kv ...string) (string, string) {
	f.t.Helper()
	v := a.version()
	f.called[v.name+" TokenAdmin/"+op] = true
	header := ""
	if a.wss {
		header = `<soap:Header><wsse:Security xmlns:wsse="` + soap.NSWSSE + `" soap:mustUnderstand="1"><wsse:UsernameToken>` +
			`<wsse:Username>` + escapeXML(a.user) + `</wsse:Username><wsse:Password Type="` + soap.PasswordTextType + `">` +
			escapeXML(a.password) + `</wsse:Password></wsse:UsernameToken></wsse:Security></soap:Header>`
	}
	env := `<soap:Envelope xmlns:soap="` + v.ns + `" xmlns:t="urn:tokenadmin:v1">` + header + `<soap:Body><t:` +
		op + `>` + nativeFields(kv...) + `</t:` + op + `></soap:Body></soap:Envelope>`
	status, _, body := f.soapPost(a, f.ts.endpoint(), "urn:tokenadmin:v1:"+op, env)
	switch {
	case status == http.StatusUnauthorized:
		return "401", body
	case status == http.StatusOK:
		return "", body
	}
	m := nativeCode.FindStringSubmatch(body)
	if m == nil {
		f.t.Fatalf("%s: HTTP %d without a fault code:\n%s", op, status, body)
	}
	if c := v.nativeCode.FindStringSubmatch(body); c == nil || c[1] != v.clientCode || status != v.clientStatus {
		f.t.Errorf("%s: %s fault with HTTP %d, want %s with HTTP %d:\n%s", op, v.name, status, v.clientCode, v.clientStatus, body)
	}
	return m[1], body
}

func nativeGetToken(f *authzFixture, a actor, tk target) string {
	if out, body := f.native(a, "getToken", "tokenId", tk.id); out != "" {
		return out
	} else {
		return effect(strings.Contains(body, tk.id))
	}
}

func nativeRevokeByID(f *authzFixture, a actor, tk target) string {
	if out, _ := f.native(a, "revokeToken", "tokenId", tk.id); out != "" {
		return out
	}
	return effect(f.revoked(tk))
}

// nativeListAuditEvents reads the audit log's first page: "ok+" when it
// holds events, each with its hash.
func nativeListAuditEvents(f *authzFixture, a actor) string {
	out, body := f.native(a, "listAuditEvents", "pageSize", "10")
	if out != "" {
		return out
	}
	return effect(strings.Contains(body, "<tns:event>") && strings.Count(body, "<tns:event>") == strings.Count(body, "<tns:hash>"))
}

func nativeRevokeByValue(f *authzFixture, a actor, tk target) string {
	if out, _ := f.native(a, "revokeToken", "token", tk.value); out != "" {
		return out
	}
	return effect(f.revoked(tk))
}

func nativeListByApp(f *authzFixture, a actor, tk target) string {
	out, body := f.native(a, "listActiveTokens", "clientId", tk.clientID, "pageSize", "1000")
	if out != "" {
		return out
	}
	return effect(strings.Contains(body, tk.id))
}

func nativeListByHolder(f *authzFixture, a actor, tk target) string {
	out, body := f.native(a, "listActiveTokens", "user", tk.user, "clientId", tk.clientID, "pageSize", "1000")
	if out != "" {
		return out
	}
	return effect(strings.Contains(body, tk.id))
}

func nativeRevokeApp(f *authzFixture, a actor, tk target) string {
	if out, _ := f.native(a, "revokeTokens", "clientId", tk.clientID); out != "" {
		return out
	}
	return effect(f.revoked(tk))
}

func nativeRevokeHolder(f *authzFixture, a actor, tk target) string {
	if out, _ := f.native(a, "revokeTokens", "user", tk.user, "clientId", tk.clientID); out != "" {
		return out
	}
	return effect(f.revoked(tk))
}

func nativeAuthorizedApps(f *authzFixture, a actor, tk target) string {
	out, body := f.native(a, "listAuthorizedApps", "user", tk.user)
	if out != "" {
		return out
	}
	return effect(strings.Contains(body, ">"+tk.clientID+"<"))
}

// nativeAppOp calls an app operation that takes a clientId and checks
// its effect in the database.
func nativeAppOp(op string) func(f *authzFixture, a actor, clientID string) string {
	return func(f *authzFixture, a actor, clientID string) string {
		ctx := f.t.Context()
		before, err := f.ts.db.GetApp(ctx, clientID)
		if err != nil {
			f.t.Fatal(err)
		}
		kv := []string{"clientId", clientID}
		if op == "updateApp" {
			kv = append(kv, "name", "Renamed")
		}
		out, body := f.native(a, op, kv...)
		if out != "" {
			if after, err := f.ts.db.GetApp(ctx, clientID); err != nil || !reflect.DeepEqual(after, before) {
				f.t.Errorf("%s failed with %s but changed the app: %+v, %v", op, out, after, err)
			}
			return out
		}
		after, err := f.ts.db.GetApp(ctx, clientID)
		switch op {
		case "getApp":
			return effect(err == nil && strings.Contains(body, ">"+clientID+"<"))
		case "updateApp":
			return effect(err == nil && after.Name == "Renamed")
		case "regenerateSecret":
			return effect(err == nil && strings.Contains(body, "clientSecret>"))
		case "deleteApp":
			return effect(tokenadmin.ErrorCode(err) == tokenadmin.CodeNotFound)
		}
		f.t.Fatalf("no effect check for %s", op)
		return ""
	}
}

func nativeListApps(f *authzFixture, a actor, clientID string) string {
	out, body := f.native(a, "listApps")
	if out != "" {
		return out
	}
	return effect(strings.Contains(body, ">"+clientID+"<"))
}

// nativeRegisterApp registers an app for the caller (own) or for otto
// (other owner's); clientID only tells which.
func nativeRegisterApp(f *authzFixture, a actor, clientID string) string {
	owner := a.user
	app, err := f.ts.db.GetApp(f.t.Context(), clientID)
	if err != nil {
		f.t.Fatal(err)
	}
	if app.Owner == "otto" {
		owner = "otto"
	}
	f.apps++
	newID := fmt.Sprintf("registered-%d", f.apps)
	kv := []string{"name", "Registered", "owner", owner, "clientId", newID}
	out, _ := f.native(a, "registerApp", kv...)
	got, err := f.ts.db.GetApp(f.t.Context(), newID)
	if out != "" {
		if err == nil {
			f.t.Errorf("registerApp failed with %s but created %+v", out, got)
		}
		return out
	}
	return effect(err == nil && got.Owner == owner)
}

// legacyNS is the namespace of a legacy service's wrapper elements:
// Axis2's, except for AuthenticationAdmin's own.
func legacyNS(service string) string {
	if service == legacy.AuthenticationAdmin {
		return "http://authentication.services.core.carbon.wso2.org"
	}
	return "http://org.apache.axis2/xsd"
}

// legacy calls a WSO2 service operation in a's SOAP version. It returns
// "" and the body on success (HTTP 200 or 202), "401", "denied" for the
// 50978 fault, or "fault " and the fault string.
func (f *authzFixture) legacy(a actor, service, op, inner string) (string, string) {
	out, _, body := f.legacyCall(a, service, op, inner)
	return out, body
}

// legacyCall is legacy with the response's header.
func (f *authzFixture) legacyCall(a actor, service, op, inner string) (string, http.Header, string) {
	f.t.Helper()
	v := a.version()
	f.called[v.name+" "+service+"/"+op] = true
	env := `<?xml version='1.0' encoding='UTF-8'?><soapenv:Envelope xmlns:soapenv="` + v.ns + `"><soapenv:Body><ns1:` +
		op + ` xmlns:ns1="` + legacyNS(service) + `">` + inner + `</ns1:` + op + `></soapenv:Body></soapenv:Envelope>`
	status, h, body := f.soapPost(a, f.ts.URL()+"/services/"+service, "urn:"+op, env)
	switch status {
	case http.StatusUnauthorized:
		return "401", h, body
	case http.StatusOK, http.StatusAccepted:
		return "", h, body
	}
	m := v.legacyFault.FindStringSubmatch(body)
	switch {
	case m == nil || status != http.StatusInternalServerError:
		f.t.Fatalf("%s: HTTP %d without a %s fault:\n%s", op, status, v.name, body)
	case m[1] == "50978":
		return "denied", h, body
	}
	return "fault " + m[2], h, body
}

// legacyRevokeAccessToken revokes tk by value, naming its holder as
// authorizedUser and consumerKey as consumerKey (tk's app when "").
func legacyRevokeAccessToken(consumerKey string) func(f *authzFixture, a actor, tk target) string {
	return func(f *authzFixture, a actor, tk target) string {
		key := cmp.Or(consumerKey, tk.clientID)
		out, _ := f.legacy(a, "APIKeyMgtSubscriberService", "revokeAccessToken",
			"<ns1:key>"+tk.value+"</ns1:key><ns1:consumerKey>"+key+"</ns1:consumerKey><ns1:authorizedUser>"+tk.user+"</ns1:authorizedUser>")
		if out != "" {
			return out
		}
		return effect(f.revoked(tk))
	}
}

func legacyRevokeOfUserByApp(f *authzFixture, a actor, tk target) string {
	out, body := f.legacy(a, "APIKeyMgtSubscriberService", "revokeTokensOfUserByApp",
		"<ns1:userName>"+tk.user+"</ns1:userName><ns1:appName>"+tk.appName+"</ns1:appName>")
	if out != "" {
		return out
	}
	if !strings.Contains(body, "<ns:return>true</ns:return>") {
		f.t.Errorf("revokeTokensOfUserByApp answered:\n%s", body)
	}
	return effect(f.revoked(tk))
}

func legacyRevokeAuthz(f *authzFixture, a actor, tk target) string {
	out, body := f.legacy(a, "OAuthAdminService", "revokeAuthzForAppsByResoureOwner",
		`<ns1:revokeRequestDTO><ns2:apps xmlns:ns2="http://dto.oauth.identity.carbon.wso2.org/xsd">`+tk.appName+`</ns2:apps></ns1:revokeRequestDTO>`)
	if out != "" {
		return out
	}
	if !strings.Contains(body, ":error>false<") {
		f.t.Errorf("revokeAuthzForAppsByResoureOwner answered:\n%s", body)
	}
	return effect(f.revoked(tk))
}

// legacyAppsAuthorized: the list is always the caller's own, whatever
// their role (WSO2 takes the user from the session). ok+ means it names
// the target's app exactly when the caller holds an active token of it,
// which is always so for their own token.
func legacyAppsAuthorized(f *authzFixture, a actor, tk target) string {
	out, body := f.legacy(a, "OAuthAdminService", "getAppsAuthorizedByUser", "")
	if out != "" {
		return out
	}
	held, err := f.ts.db.ListAuthorizedApps(f.t.Context(), a.user)
	if err != nil {
		f.t.Fatal(err)
	}
	holds := tk.user == a.user
	for _, h := range held {
		holds = holds || h.ClientID == tk.clientID
	}
	return effect(strings.Contains(body, ">"+tk.clientID+"<") == holds)
}

func legacyValidate(op string) func(f *authzFixture, a actor, tk target) string {
	return func(f *authzFixture, a actor, tk target) string {
		out, body := f.legacy(a, "OAuth2TokenValidationService", op,
			`<ns1:validationReqDTO><ns2:accessToken xmlns:ns2="http://dto.oauth2.identity.carbon.wso2.org/xsd"><ns2:identifier>`+
				tk.value+`</ns2:identifier><ns2:tokenType>bearer</ns2:tokenType></ns2:accessToken></ns1:validationReqDTO>`)
		if out != "" {
			return out
		}
		return effect(strings.Contains(body, ":valid>true<") && strings.Contains(body, ">"+tk.user+"<"))
	}
}

// oauth calls /oauth2/revoke or /oauth2/introspect with Basic
// credentials user:password (client credentials are form-urlencoded
// first, RFC 6749 §2.3.1).
func (f *authzFixture) oauth(endpoint, user, password string, tk target) string {
	f.t.Helper()
	a := actor{user: url.QueryEscape(user), password: url.QueryEscape(password)}
	status, _, body := f.post(a, f.ts.URL()+"/oauth2/"+endpoint, "application/x-www-form-urlencoded", "",
		url.Values{"token": {tk.value}}.Encode())
	if status != http.StatusOK {
		return fmt.Sprint(status)
	}
	if endpoint == "introspect" {
		return effect(strings.HasPrefix(body, `{"active":true`) && strings.Contains(body, `"client_id":"`+tk.clientID+`"`))
	}
	return effect(f.revoked(tk))
}

// cli runs the real command line on the server's database.
func (f *authzFixture) cli(args ...string) (int, string) {
	f.t.Helper()
	r := runMain(f.t, "", append(args, "--db", f.ts.path)...)
	return r.code, r.stdout + r.stderr
}

func cliTokenShow(f *authzFixture, tk target) string {
	code, out := f.cli("token", "show", tk.id)
	return effect(code == 0 && strings.Contains(out, tk.id))
}

func cliTokenList(f *authzFixture, tk target) string {
	code, out := f.cli("token", "list", "--client", tk.clientID, "--user", tk.user, "--all")
	return effect(code == 0 && strings.Contains(out, tk.id))
}

func cliRevokeID(f *authzFixture, tk target) string {
	code, _ := f.cli("token", "revoke", "--id", tk.id)
	return effect(code == 0 && f.revoked(tk))
}

func cliRevokeHolder(f *authzFixture, tk target) string {
	code, _ := f.cli("token", "revoke", "--user", tk.user, "--client", tk.clientID)
	return effect(code == 0 && f.revoked(tk))
}

func cliAppShow(f *authzFixture, tk target) string {
	code, out := f.cli("app", "show", tk.clientID)
	return effect(code == 0 && strings.Contains(out, tk.clientID))
}

// TestUserAddAuditor: the CLI creates auditors, and the migrated schema
// stores them.
func TestUserAddAuditor(t *testing.T) {
	path := newDatabase(t)
	out := mustRun(t, "eve-password\n", "user", "add", "eve", "--role", "auditor", "--db", path)
	if !strings.Contains(out, "added user eve (role auditor)") {
		t.Errorf("stdout = %q", out)
	}
	u, err := openTestStore(t, path, store.Options{}).GetUser(t.Context(), "eve")
	if err != nil || u.Role != tokenadmin.RoleAuditor {
		t.Errorf("GetUser(eve) = %+v, %v; want role auditor", u, err)
	}
}
