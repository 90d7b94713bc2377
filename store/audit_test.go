package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"tokenadmin"
	"tokenadmin/store"
)

// auditCtx carries the skeleton of an event, as the service layer attaches it.
func auditCtx(action tokenadmin.AuditAction, target, reason string) context.Context {
	ctx := tokenadmin.WithRequestInfo(context.Background(), &tokenadmin.RequestInfo{ID: "req-1", ClientAddr: "192.0.2.7"})
	return tokenadmin.WithAudit(ctx, &tokenadmin.AuditEvent{
		Actor: "root", Role: tokenadmin.RoleAdmin, ClientAddr: "192.0.2.7", RequestID: "req-1",
		Action: action, Target: target, Reason: reason,
	})
}

// allAudit reads the whole audit log.
func allAudit(t testing.TB, db *store.DB) []*tokenadmin.AuditEvent {
	t.Helper()
	var out []*tokenadmin.AuditEvent
	f := tokenadmin.AuditFilter{PageSize: tokenadmin.MaxAuditPageSize}
	for {
		p, err := db.ListAuditEvents(context.Background(), f)
		if err != nil {
			t.Fatalf("ListAuditEvents: %v", err)
		}
		out = append(out, p.Events...)
		if f.PageToken = p.NextPageToken; f.PageToken == "" {
			return out
		}
	}
}

func mustVerify(t testing.TB, db *store.DB) store.AuditVerifyResult {
	t.Helper()
	res, err := db.VerifyAudit(context.Background())
	if err != nil {
		t.Fatalf("VerifyAudit: %v", err)
	}
	return res
}

func TestAuditRecordsStateChanges(t *testing.T) {
	t.Parallel()
	clock := newFixedClock(epoch)
	db := openDB(t, store.Options{Now: clock.Now, ChunkSize: 3})
	mustApp(t, db, "a1")
	iss := mustIssue(t, db, "a1", "alice", true)
	for range 7 {
		mustIssue(t, db, "a1", "bob", false)
	}

	if _, err := db.RevokeToken(auditCtx(tokenadmin.AuditTokenRevoke, "", "lost phone"),
		tokenadmin.RevokeRequest{Value: iss.RefreshValue, Actor: "root", Reason: "lost phone"}); err != nil {
		t.Fatal(err)
	}
	n, err := db.RevokeTokens(auditCtx(tokenadmin.AuditTokensRevoke, "user=bob", "bulk"),
		tokenadmin.BulkRevoke{User: "bob", Actor: "root", Reason: "bulk"})
	if err != nil || n != 7 {
		t.Fatalf("RevokeTokens = %d, %v; want 7", n, err)
	}
	if _, _, err := db.RegisterApp(auditCtx(tokenadmin.AuditAppCreate, "", ""), tokenadmin.NewApp("HR")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.RegenerateSecret(auditCtx(tokenadmin.AuditAppSecret, "a1", tokenadmin.ReasonSecretRotated), "a1", "root"); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateUser(auditCtx(tokenadmin.AuditUserCreate, "", ""), tokenadmin.User{Name: "carol", Role: tokenadmin.RoleUser, PasswordHash: "$argon2id$x"}); err != nil {
		t.Fatal(err)
	}
	if err := db.SetPassword(auditCtx(tokenadmin.AuditUserPassword, "", ""), "carol", "$argon2id$y"); err != nil {
		t.Fatal(err)
	}
	// Writes without an event attached are not audited, and a failed
	// change records nothing by itself (the service records the attempt).
	mustIssue(t, db, "a1", "alice", false)
	if err := db.SetPassword(auditCtx(tokenadmin.AuditUserPassword, "", ""), "nobody", "$argon2id$z"); tokenadmin.ErrorCode(err) != tokenadmin.CodeNotFound {
		t.Fatalf("SetPassword(nobody) = %v, want NotFound", err)
	}

	got := allAudit(t, db)
	type rec struct {
		action tokenadmin.AuditAction
		target string
		count  int
		reason string
	}
	want := []rec{
		{tokenadmin.AuditTokenRevoke, iss.Refresh.ID, 2, "lost phone"},
		{tokenadmin.AuditTokensRevoke, "user=bob", 7, "bulk"},
		{tokenadmin.AuditAppCreate, "", 0, ""}, // target: the generated client ID, checked below
		{tokenadmin.AuditAppSecret, "a1", 0, tokenadmin.ReasonSecretRotated},
		{tokenadmin.AuditUserCreate, "carol", 0, ""},
		{tokenadmin.AuditUserPassword, "carol", 0, ""},
	}
	if len(got) != len(want) {
		t.Fatalf("%d audit records, want %d: %+v", len(got), len(want), got)
	}
	for i, e := range got {
		w := want[i]
		if i == 2 {
			w.target = e.Target
			if len(e.Target) < 16 {
				t.Errorf("app.create target %q, want the generated client ID", e.Target)
			}
		}
		if (rec{e.Action, e.Target, e.Count, e.Reason}) != w {
			t.Errorf("record %d = %+v, want %+v", i+1, rec{e.Action, e.Target, e.Count, e.Reason}, w)
		}
		if e.Seq != int64(i+1) || e.Outcome != tokenadmin.AuditSuccess || e.Actor != "root" || e.Role != tokenadmin.RoleAdmin ||
			e.ClientAddr != "192.0.2.7" || e.RequestID != "req-1" || !e.Time.Equal(epoch) {
			t.Errorf("record %d = %+v", i+1, e)
		}
		prev := store.GenesisHash
		if i > 0 {
			prev = got[i-1].Hash
		}
		if e.PrevHash != prev || len(e.Hash) != 64 {
			t.Errorf("record %d: prev %s hash %s, want prev %s", i+1, e.PrevHash, e.Hash, prev)
		}
		for _, secret := range []string{iss.RefreshValue, iss.AccessValue, "$argon2id$"} {
			if strings.Contains(fmt.Sprint(*e), secret) {
				t.Errorf("record %d holds a secret: %+v", i+1, e)
			}
		}
	}
	if res := mustVerify(t, db); !res.OK || res.Records != 6 || res.LastHash != got[5].Hash {
		t.Errorf("VerifyAudit = %+v, want intact with 6 records", res)
	}
}

func TestAuditListFiltersAndPages(t *testing.T) {
	t.Parallel()
	clock := newFixedClock(epoch)
	db := openDB(t, store.Options{Now: clock.Now})
	ctx := context.Background()
	for i := range 30 {
		actor, action := "alice", tokenadmin.AuditTokenRevoke
		if i%3 == 0 {
			actor, action = "bob", tokenadmin.AuditAppUpdate
		}
		e := tokenadmin.AuditEvent{Actor: actor, Role: tokenadmin.RoleUser, Action: action, Outcome: tokenadmin.AuditSuccess,
			Target: fmt.Sprint(i), Time: epoch.Add(time.Duration(i) * time.Minute)}
		if err := db.AppendAudit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		f    tokenadmin.AuditFilter
		want []string // targets
	}{
		{name: "actor", f: tokenadmin.AuditFilter{Actor: "bob", PageSize: 4},
			want: []string{"0", "3", "6", "9", "12", "15", "18", "21", "24", "27"}},
		{name: "action and time range", f: tokenadmin.AuditFilter{Action: tokenadmin.AuditTokenRevoke,
			Since: epoch.Add(10 * time.Minute), Until: epoch.Add(17 * time.Minute), PageSize: 2},
			want: []string{"10", "11", "13", "14", "16"}},
		{name: "nothing", f: tokenadmin.AuditFilter{Actor: "carol", PageSize: 5}, want: nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			f := tc.f
			for pages := 0; ; pages++ {
				p, err := db.ListAuditEvents(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				if len(p.Events) > f.PageSize {
					t.Fatalf("page of %d, want at most %d", len(p.Events), f.PageSize)
				}
				for _, e := range p.Events {
					got = append(got, e.Target)
				}
				if f.PageToken = p.NextPageToken; f.PageToken == "" {
					break
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("targets %v, want %v", got, tc.want)
			}
		})
	}

	p, err := db.ListAuditEvents(ctx, tokenadmin.AuditFilter{Actor: "bob", PageSize: 2})
	if err != nil || p.NextPageToken == "" {
		t.Fatalf("ListAuditEvents = %+v, %v", p, err)
	}
	_, err = db.ListAuditEvents(ctx, tokenadmin.AuditFilter{Actor: "alice", PageSize: 2, PageToken: p.NextPageToken})
	wantCode(t, "page token of another filter", err, tokenadmin.CodeInvalidPageToken)
	_, err = db.ListAuditEvents(ctx, tokenadmin.AuditFilter{PageSize: 2, PageToken: "garbage"})
	wantCode(t, "garbage page token", err, tokenadmin.CodeInvalidPageToken)
	_, err = db.ListAuditEvents(ctx, tokenadmin.AuditFilter{PageSize: 0})
	wantCode(t, "page size 0", err, tokenadmin.CodeInvalid)
}

// auditedDB returns a database with n audit records, and its path.
func auditedDB(t *testing.T, n int) (string, *store.DB) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tokens.db")
	db := openAt(t, path, store.Options{Now: newFixedClock(epoch).Now})
	for i := range n {
		if err := db.AppendAudit(context.Background(), tokenadmin.AuditEvent{Actor: "root", Role: tokenadmin.RoleAdmin,
			Action: tokenadmin.AuditUserCreate, Target: fmt.Sprintf("user%d", i+1), Outcome: tokenadmin.AuditSuccess}); err != nil {
			t.Fatal(err)
		}
	}
	return path, db
}

func TestVerifyAuditDetectsTampering(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		sql     []string
		seq     int64
		problem string
	}{
		{name: "intact"},
		{name: "field updated", sql: []string{`UPDATE audit SET target = 'mallory' WHERE seq = 3`}, seq: 3, problem: "altered"},
		{name: "count updated", sql: []string{`UPDATE audit SET count = 99 WHERE seq = 5`}, seq: 5, problem: "altered"},
		{name: "record deleted in the middle", sql: []string{`DELETE FROM audit WHERE seq = 2`}, seq: 3, problem: "record 2 is missing"},
		{name: "last record deleted", sql: []string{`DELETE FROM audit WHERE seq = 5`}, seq: 5, problem: "missing at the end"},
		{name: "forged record appended", sql: []string{
			`INSERT INTO audit (seq, time, actor, role, client_addr, request_id, action, target, outcome, count, reason, prev_hash, hash)
			 SELECT 6, time, 'mallory', 'admin', '', '', 'user.create', 'mallory', 'success', 0, '', hash, hash FROM audit WHERE seq = 5`},
			seq: 6, problem: "altered"},
		{name: "forged record renumbered in", sql: []string{
			`UPDATE audit SET seq = seq + 10 WHERE seq >= 3`,
			`UPDATE audit SET seq = seq - 9 WHERE seq >= 13`,
			`INSERT INTO audit (seq, time, actor, role, client_addr, request_id, action, target, outcome, count, reason, prev_hash, hash)
			 SELECT 3, time, actor, role, client_addr, request_id, action, 'mallory', outcome, count, reason, hash, hash FROM audit WHERE seq = 2`},
			seq: 3, problem: "altered"},
		{name: "records swapped", sql: []string{
			`UPDATE audit SET seq = 100 WHERE seq = 2`, `UPDATE audit SET seq = 2 WHERE seq = 3`, `UPDATE audit SET seq = 3 WHERE seq = 100`},
			seq: 2, problem: "does not follow"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path, db := auditedDB(t, 5)
			raw := rawDB(t, path)
			for _, q := range tc.sql {
				if _, err := raw.Exec(q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			res := mustVerify(t, db)
			if tc.sql == nil {
				if !res.OK || res.Records != 5 || res.LastSeq != 5 {
					t.Errorf("VerifyAudit = %+v, want intact", res)
				}
				return
			}
			if res.OK || res.BrokenSeq != tc.seq || !strings.Contains(res.Problem, tc.problem) {
				t.Errorf("VerifyAudit = %+v, want broken at %d with %q", res, tc.seq, tc.problem)
			}
			// A later append chains to the recorded head, so the damage
			// stays visible.
			if err := db.AppendAudit(context.Background(), tokenadmin.AuditEvent{Action: tokenadmin.AuditLogin, Outcome: tokenadmin.AuditDenied}); err != nil {
				t.Fatal(err)
			}
			if res := mustVerify(t, db); res.OK {
				t.Errorf("after another append: VerifyAudit = %+v, want broken", res)
			}
		})
	}
}

// TestAuditIsAtomicWithTheChange: a change and its record commit together.
// A trigger makes the audit insert fail; the revocation must then fail and
// leave the token active. Concurrent audited revocations (sharing batch
// transactions) give one record each and an intact chain.
func TestAuditIsAtomicWithTheChange(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "tokens.db")
	db := openAt(t, path, store.Options{})
	mustApp(t, db, "a1")
	issued := issueMany(t, db, "a1", "alice", 40)
	raw := rawDB(t, path)

	if _, err := raw.Exec(`CREATE TRIGGER audit_refuse BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT, 'refused'); END`); err != nil {
		t.Fatal(err)
	}
	ctx := auditCtx(tokenadmin.AuditTokenRevoke, "", "")
	if _, err := db.RevokeToken(ctx, tokenadmin.RevokeRequest{TokenID: issued[0].Access.ID, Actor: "root"}); err == nil {
		t.Fatal("RevokeToken succeeded though its audit record could not be written")
	}
	wantRevoked(t, db, issued[0].Access.ID, false)
	if n, err := db.RevokeTokens(auditCtx(tokenadmin.AuditTokensRevoke, "", ""), tokenadmin.BulkRevoke{User: "alice", Actor: "root"}); err == nil {
		t.Fatalf("RevokeTokens = %d, nil; want the last chunk to fail", n)
	}
	if _, err := raw.Exec(`DROP TRIGGER audit_refuse`); err != nil {
		t.Fatal(err)
	}
	if got := allAudit(t, db); len(got) != 0 {
		t.Fatalf("%d audit records after failed changes, want 0", len(got))
	}

	var wg sync.WaitGroup
	for i := range issued {
		wg.Go(func() {
			if _, err := db.RevokeToken(ctx, tokenadmin.RevokeRequest{TokenID: issued[i].Access.ID, Actor: "root"}); err != nil {
				t.Errorf("RevokeToken: %v", err)
			}
		})
	}
	wg.Wait()
	got := allAudit(t, db)
	if len(got) != len(issued) {
		t.Fatalf("%d audit records, want %d", len(got), len(issued))
	}
	seen := map[string]bool{}
	for _, e := range got {
		seen[e.Target] = true
	}
	for _, iss := range issued {
		wantRevoked(t, db, iss.Access.ID, true)
		if !seen[iss.Access.ID] {
			t.Errorf("no audit record for the revocation of %s", iss.Access.ID)
		}
	}
	if res := mustVerify(t, db); !res.OK {
		t.Errorf("VerifyAudit = %+v", res)
	}
}
