package main

import (
	"database/sql"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"tokenadmin"
	"tokenadmin/wsdl"
)

// auditRecords runs `audit list --json` with args and decodes it.
func auditRecords(t *testing.T, args ...string) []auditJSON {
	t.Helper()
	out := mustRun(t, "", append([]string{"audit", "list", "--json"}, args...)...)
	var recs []auditJSON
	if err := json.Unmarshal([]byte(out), &recs); err != nil {
		t.Fatalf("audit list --json: %v\n%s", err, out)
	}
	return recs
}

// tamper changes the database file behind the store's back.
func tamper(t *testing.T, path, query string) {
	t.Helper()
	raw, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(query); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

func TestAuditCommands(t *testing.T) {
	path, db := cliDatabase(t)
	iss := issue(t, db, tokenadmin.IssueRequest{ClientID: "portal", User: "alice", GrantType: "password", AccessTTL: time.Hour, RefreshTTL: time.Hour})

	mustRun(t, "", "token", "revoke", "--id", iss.Refresh.ID, "--reason", "lost phone")
	if r := runMain(t, "", "token", "revoke", "--id", "no-such-token"); r.code != 1 {
		t.Fatalf("token revoke of an unknown token: exit %d, want 1", r.code)
	}
	mustRun(t, "", "app", "disable", "portal")
	mustRun(t, "carol-password\n", "user", "add", "carol", "--role", "admin")
	mustRun(t, "alice-new-password\n", "user", "passwd", "alice")
	if r := runMain(t, "x-password\n", "user", "passwd", "nobody"); r.code != 1 {
		t.Fatalf("user passwd nobody: exit %d, want 1", r.code)
	}

	recs := auditRecords(t)
	type rec struct {
		action, target, outcome string
		count                   int
	}
	want := []rec{
		{"token.revoke", iss.Refresh.ID, "success", 2},
		{"token.revoke", tokenadmin.UnknownTarget("no-such-token"), "failed", 0},
		{"app.update", "portal", "success", 0}, // the refresh family was revoked already
		{"user.create", "carol", "success", 0},
		{"user.password", "alice", "success", 0},
		{"user.password", tokenadmin.UnknownTarget("nobody"), "failed", 0},
	}
	if len(recs) != len(want) {
		t.Fatalf("%d records, want %d: %+v", len(recs), len(want), recs)
	}
	for i, r := range recs {
		if got := (rec{r.Action, r.Target, r.Outcome, r.Count}); got != want[i] {
			t.Errorf("record %d = %+v, want %+v", i+1, got, want[i])
		}
		if r.Actor != "cli:tester" || r.Role != "admin" || r.ClientAddr != "local" || !strings.HasPrefix(r.RequestID, "cli-") {
			t.Errorf("record %d: actor %q role %q from %q request %q, want cli:tester, admin, local, cli-…", i+1, r.Actor, r.Role, r.ClientAddr, r.RequestID)
		}
	}
	if recs[0].Reason != "lost phone" {
		t.Errorf("revocation reason %q, want %q", recs[0].Reason, "lost phone")
	}
	out := mustRun(t, "", "audit", "list")
	for _, secret := range []string{iss.AccessValue, iss.RefreshValue, "carol-password", "alice-new-password", "$argon2id"} {
		if strings.Contains(out, secret) {
			t.Errorf("audit list shows a secret %q:\n%s", secret, out)
		}
	}
	if !strings.Contains(out, "SEQ") || !strings.Contains(out, "lost phone") {
		t.Errorf("audit list table:\n%s", out)
	}

	t.Run("filters", func(t *testing.T) {
		if got := auditRecords(t, "--action", "user.password"); len(got) != 2 || got[0].Target != "alice" {
			t.Errorf("--action user.password: %+v", got)
		}
		if got := auditRecords(t, "--actor", "someone-else"); len(got) != 0 {
			t.Errorf("--actor someone-else: %+v", got)
		}
		if got := auditRecords(t, "--limit", "2"); len(got) != 2 || got[1].Seq != 2 {
			t.Errorf("--limit 2: %+v", got)
		}
		future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
		if got := auditRecords(t, "--since", future); len(got) != 0 {
			t.Errorf("--since %s: %+v", future, got)
		}
		if got := auditRecords(t, "--until", future); len(got) != len(want) {
			t.Errorf("--until %s: %d records, want %d", future, len(got), len(want))
		}
	})

	t.Run("usage errors", func(t *testing.T) {
		for _, args := range [][]string{
			{"audit", "list", "--since", "yesterday"},
			{"audit", "list", "--since", "2030-01-02T00:00:00Z", "--until", "2030-01-01T00:00:00Z"},
			{"audit", "list", "--limit", "-1"},
			{"audit", "verify", "extra"},
		} {
			if r := runMain(t, "", args...); r.code != 2 || r.stderr == "" {
				t.Errorf("%q: exit %d, stderr %q; want 2 with a message", args, r.code, r.stderr)
			}
		}
	})

	t.Run("verify", func(t *testing.T) {
		out := mustRun(t, "", "audit", "verify")
		if !strings.HasPrefix(out, "audit log intact: 6 records, last hash "+recs[5].Hash) {
			t.Errorf("audit verify: %q", out)
		}
		tamper(t, path, `UPDATE audit SET reason = 'nothing to see' WHERE seq = 1`)
		r := runMain(t, "", "audit", "verify")
		if r.code != 1 || !strings.Contains(r.stderr, "broken at record 1") || !strings.Contains(r.stderr, "altered") {
			t.Errorf("after an UPDATE: exit %d, stderr %q; want 1, broken at record 1", r.code, r.stderr)
		}
		tamper(t, path, `UPDATE audit SET reason = 'lost phone' WHERE seq = 1`)
		mustRun(t, "", "audit", "verify")
		tamper(t, path, `DELETE FROM audit WHERE seq = 6`)
		r = runMain(t, "", "audit", "verify")
		if r.code != 1 || !strings.Contains(r.stderr, "broken at record 6") {
			t.Errorf("after deleting the last record: exit %d, stderr %q; want 1, broken at record 6", r.code, r.stderr)
		}
	})
}

// TestE2EAuditLog: the running server records SOAP state changes and
// refusals, and listAuditEvents serves them to admins through the client
// generated from the WSDL, while users are refused.
func TestE2EAuditLog(t *testing.T) {
	f := newFixture(t)
	admin, _ := f.admin(t)
	alice, _ := f.client(t, "alice", alicePassword)

	res, err := admin.RevokeToken(&wsdl.RevokeToken{TokenSelector: &wsdl.TokenSelector{TokenId: f.bobPortal.Refresh.ID}, Reason: ptr(wsdl.Reason("offboarding"))})
	if err != nil || res.RevokedCount != 2 {
		t.Fatalf("RevokeToken = %+v, %v", res, err)
	}
	_, err = alice.RevokeTokens(&wsdl.RevokeTokens{User: ptr("bob")})
	wantFault(t, err, tokenadmin.CodeForbidden)
	_, err = alice.ListAuditEvents(&wsdl.ListAuditEvents{})
	wantFault(t, err, tokenadmin.CodeForbidden)

	var events []*wsdl.AuditRecord
	req := &wsdl.ListAuditEvents{Action: ptr("token.revoke"), PageSize: ptr(wsdl.PageSize(1))}
	for pages := 0; pages < 10; pages++ {
		page, err := admin.ListAuditEvents(req)
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, page.Event...)
		if page.NextPageToken == "" {
			break
		}
		req.PageToken = ptr(page.NextPageToken)
	}
	if len(events) != 1 {
		t.Fatalf("%d token.revoke events, want 1: %+v", len(events), events)
	}
	e := events[0]
	if e.Actor != "admin" || e.Role != "admin" || e.Target != f.bobPortal.Refresh.ID || e.Outcome != "success" ||
		e.Count != 2 || e.Reason != "offboarding" || len(e.Hash) != 64 || len(e.PrevHash) != 64 {
		t.Errorf("revocation record = %+v", e)
	}

	all, err := admin.ListAuditEvents(&wsdl.ListAuditEvents{})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range all.Event {
		actions = append(actions, e.Actor+" "+e.Action+" "+e.Outcome)
	}
	// The bootstrap of the first admin, the admin's login (the first
	// verification of the password; later requests hit the cache and are
	// no logins), the revocation, alice's refused bulk revocation (alice
	// is no admin: her login is not audited).
	wantActions := []string{"serve user.create success", "admin login success", "admin token.revoke success", "alice tokens.revoke denied"}
	if strings.Join(actions, "|") != strings.Join(wantActions, "|") {
		t.Errorf("audit log = %q, want %q", actions, wantActions)
	}
	if res, err := f.db.VerifyAudit(t.Context()); err != nil || !res.OK {
		t.Errorf("VerifyAudit = %+v, %v", res, err)
	}
}
