package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"tokenadmin"
	"tokenadmin/auth"
	"tokenadmin/store"
	"tokenadmin/wsdl"
)

// WS-Security password digests against the real server count towards the
// same brute-force locks as passwords, and admins' digest logins are
// audited like their Basic logins. Locks are an hour long here so that no
// slowness of the machine can end one during the test.

// digestList sends listActiveTokens with a PasswordDigest token of user
// and password, without HTTP credentials.
func digestList(t *testing.T, ts *testServer, user, password string) (int, http.Header, string) {
	t.Helper()
	return post(t, ts.endpoint(), false, "urn:tokenadmin:v1:listActiveTokens",
		strings.Replace(listAliceTokens11, "%s", digestHeader(t, "soap", user, password), 1))
}

// wantFailedDigest fails the test unless the answer is the SOAP 1.1
// wsse:FailedAuthentication fault.
func wantFailedDigest(t *testing.T, what string, status int, body string) {
	t.Helper()
	if status != http.StatusInternalServerError || wsseCode(t, body) != "wsse:FailedAuthentication" {
		t.Fatalf("%s: HTTP %d\n%s\nwant 500 wsse:FailedAuthentication", what, status, body)
	}
}

// auditEvents is every record of the server's audit log with action a.
func auditEvents(t *testing.T, db *store.DB, a tokenadmin.AuditAction) []*tokenadmin.AuditEvent {
	t.Helper()
	page, err := db.ListAuditEvents(t.Context(), tokenadmin.AuditFilter{Action: a, PageSize: tokenadmin.MaxAuditPageSize})
	if err != nil {
		t.Fatal(err)
	}
	return page.Events
}

// TestE2EDigestLoginsThrottled: DefaultUserThreshold wrong digests lock
// alice; her right digest (and her right password) then get exactly the
// wrong digest's answer, on the native API and the legacy services,
// while bob still gets in. The lock is audited and logged, and so are the
// admin's digest logins, denied and successful, with the request's id
// and client address.
func TestE2EDigestLoginsThrottled(t *testing.T) {
	t.Setenv("TOKENADMIN_ADMIN_PASSWORD", adminPassword)
	users := auth.NewThrottle(auth.DefaultUserThreshold)
	users.LockBase = time.Hour
	ts := startTestServer(t, serveConfig{UserThrottle: users})
	db := openTestStore(t, ts.path, store.Options{})
	for _, u := range []struct{ name, password, hash string }{{"alice", alicePassword, aliceHash()}, {"bob", bobPassword, bobHash()}} {
		if err := db.CreateUserWithDigest(t.Context(), tokenadmin.User{Name: u.name, Role: tokenadmin.RoleUser, PasswordHash: u.hash}, []byte(u.password)); err != nil {
			t.Fatal(err)
		}
	}
	mustRun(t, adminPassword+"\n", "user", "passwd", "admin", "--wss-digest", "--db", ts.path)

	// The admin's digest logins: one wrong, one right.
	status, _, body := digestList(t, ts, "admin", "guess")
	wantFailedDigest(t, "admin's wrong digest", status, body)
	if status, _, body := digestList(t, ts, "admin", adminPassword); status != http.StatusOK {
		t.Fatalf("admin's digest: HTTP %d\n%s", status, body)
	}

	// alice's right digest first: a success must not be the one that
	// locks, and it leaves her count at zero.
	if status, _, body := digestList(t, ts, "alice", alicePassword); status != http.StatusOK {
		t.Fatalf("alice's digest: HTTP %d\n%s", status, body)
	}
	var wrongStatus int
	var wrongHeader http.Header
	var wrongBody string
	for i := range auth.DefaultUserThreshold {
		wrongStatus, wrongHeader, wrongBody = digestList(t, ts, "alice", fmt.Sprint("wrong-digest-", i))
		wantFailedDigest(t, fmt.Sprint("wrong digest ", i), wrongStatus, wrongBody)
	}

	status, h, body := digestList(t, ts, "alice", alicePassword)
	if status != wrongStatus || body != wrongBody || h.Get("Content-Type") != wrongHeader.Get("Content-Type") {
		t.Errorf("right digest while locked: HTTP %d %v\n%s\nwant the wrong digest's HTTP %d %v\n%s",
			status, h, body, wrongStatus, wrongHeader, wrongBody)
	}
	c, _ := ts.client(t, "alice", alicePassword)
	if _, err := c.ListActiveTokensContext(t.Context(), &wsdl.ListActiveTokens{}); faultOf(t, err).status != http.StatusUnauthorized {
		t.Errorf("alice's Basic password while digests locked her: %v; want 401", err)
	}
	legacyBody := `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://org.apache.axis2/xsd"><soapenv:Header>%s</soapenv:Header><soapenv:Body><xsd:getAppsAuthorizedByUser/></soapenv:Body></soapenv:Envelope>`
	legacy := func(user, password string) (int, string) {
		status, _, body := post(t, ts.URL()+"/services/OAuthAdminService", false, "urn:getAppsAuthorizedByUser",
			fmt.Sprintf(legacyBody, digestHeader(t, "soapenv", user, password)))
		return status, body
	}
	if status, body := legacy("alice", alicePassword); status != http.StatusInternalServerError || wsseCode(t, body) != "wsse:FailedAuthentication" {
		t.Errorf("legacy, right digest while locked: HTTP %d\n%s", status, body)
	}

	if status, _, body := digestList(t, ts, "bob", bobPassword); status != http.StatusOK {
		t.Errorf("bob's digest while alice is locked: HTTP %d\n%s", status, body)
	}
	if status, body := legacy("bob", bobPassword); status != http.StatusOK {
		t.Errorf("legacy, bob's digest while alice is locked: HTTP %d\n%s", status, body)
	}

	locks := auditEvents(t, db, tokenadmin.AuditLoginLocked)
	if len(locks) != 1 || locks[0].Target != "alice" || locks[0].Outcome != tokenadmin.AuditDenied ||
		locks[0].Count != auth.DefaultUserThreshold || locks[0].ClientAddr != "127.0.0.1" || locks[0].RequestID == "" {
		t.Errorf("login.locked records = %+v; want one for alice from 127.0.0.1", locks)
	}
	var logins []string
	for _, e := range auditEvents(t, db, tokenadmin.AuditLogin) {
		if e.ClientAddr != "127.0.0.1" || e.RequestID == "" {
			t.Errorf("login record without the request's address or id: %+v", e)
		}
		logins = append(logins, fmt.Sprintf("%s/%s/%s/%s", e.Target, e.Actor, e.Role, e.Outcome))
	}
	// Only the admin's logins are audited, not alice's or bob's.
	if want := []string{"admin///denied", "admin/admin/admin/success"}; strings.Join(logins, " ") != strings.Join(want, " ") {
		t.Errorf("login records %q, want %q", logins, want)
	}
	if res, err := db.VerifyAudit(t.Context()); err != nil || !res.OK {
		t.Errorf("VerifyAudit = %+v, %v", res, err)
	}
	log := ts.stderr.String()
	if !strings.Contains(log, "too many failed logins") || !strings.Contains(log, `"user":"alice"`) {
		t.Errorf("no lock warning for alice in the server log:\n%s", log)
	}
	if strings.Contains(log, "wrong-digest-") || strings.Contains(log, alicePassword) {
		t.Errorf("a password is in the server log:\n%s", log)
	}
}

// TestE2EDigestLoginsAddressLock: wrong digests for several names lock
// the client address, and then bob's right digest gets the wrong one's
// answer although bob never failed.
func TestE2EDigestLoginsAddressLock(t *testing.T) {
	t.Setenv("TOKENADMIN_ADMIN_PASSWORD", adminPassword)
	const threshold = 3
	addrs := auth.NewThrottle(threshold)
	addrs.LockBase = time.Hour
	ts := startTestServer(t, serveConfig{AddrThrottle: addrs})
	db := openTestStore(t, ts.path, store.Options{})
	if err := db.CreateUserWithDigest(t.Context(), tokenadmin.User{Name: "bob", Role: tokenadmin.RoleUser, PasswordHash: bobHash()}, []byte(bobPassword)); err != nil {
		t.Fatal(err)
	}
	if status, _, body := digestList(t, ts, "bob", bobPassword); status != http.StatusOK {
		t.Fatalf("bob's digest: HTTP %d\n%s", status, body)
	}
	var wrongStatus int
	var wrongBody string
	for i := range threshold {
		wrongStatus, _, wrongBody = digestList(t, ts, fmt.Sprint("mallory", i), "guess")
		wantFailedDigest(t, fmt.Sprint("wrong digest ", i), wrongStatus, wrongBody)
	}
	if status, _, body := digestList(t, ts, "bob", bobPassword); status != wrongStatus || body != wrongBody {
		t.Errorf("bob's right digest from a locked address: HTTP %d\n%s\nwant the wrong digest's HTTP %d\n%s", status, body, wrongStatus, wrongBody)
	}
	locks := auditEvents(t, db, tokenadmin.AuditLoginLocked)
	if len(locks) != 1 || locks[0].Target != "127.0.0.1" || locks[0].Count != threshold {
		t.Errorf("login.locked records = %+v; want one for 127.0.0.1", locks)
	}
}
