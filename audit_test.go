package tokenadmin_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tokenadmin"
	"tokenadmin/store"
)

// auditStack is the Service, AppService and AuditService over one real
// SQLite store, auditing into it.
type auditStack struct {
	db    *store.DB
	svc   *tokenadmin.Service
	apps  *tokenadmin.AppService
	audit *tokenadmin.AuditService
}

func newAuditStack(t *testing.T) *auditStack {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "tokenadmin.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	return &auditStack{db: db, svc: &tokenadmin.Service{Tokens: db, Audit: db},
		apps: &tokenadmin.AppService{Apps: db, Audit: db}, audit: &tokenadmin.AuditService{Log: db}}
}

// records returns the whole log as "actor role action target outcome count reason" lines.
func (s *auditStack) records(t *testing.T) []string {
	t.Helper()
	p, err := s.db.ListAuditEvents(context.Background(), tokenadmin.AuditFilter{PageSize: tokenadmin.MaxAuditPageSize})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range p.Events {
		out = append(out, fmt.Sprintf("%s %s %s %s %s %d %s", e.Actor, e.Role, e.Action, e.Target, e.Outcome, e.Count, e.Reason))
	}
	return out
}

var (
	auditAdmin   = tokenadmin.Caller{Name: "root", Role: tokenadmin.RoleAdmin}
	auditAlice   = tokenadmin.Caller{Name: "alice", Role: tokenadmin.RoleUser}
	auditAuditor = tokenadmin.Caller{Name: "ivy", Role: tokenadmin.RoleAuditor}
)

func TestServicesAuditRefusedAndFailedAttempts(t *testing.T) {
	s := newAuditStack(t)
	ctx := tokenadmin.WithRequestInfo(context.Background(), &tokenadmin.RequestInfo{ID: "r-42", ClientAddr: "198.51.100.9"})
	if _, err := s.db.CreateApp(ctx, tokenadmin.App{ClientID: "portal", Name: "Portal", Owner: "bob"}); err != nil {
		t.Fatal(err)
	}
	iss, err := s.db.IssueTokens(ctx, tokenadmin.IssueRequest{ClientID: "portal", User: "bob", AccessTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}

	_, err = s.svc.RevokeTokens(ctx, auditAlice, tokenadmin.BulkRevoke{User: "bob", Reason: "mine now"})
	wantCode(t, "alice revokes bob's tokens", err, tokenadmin.CodeForbidden)
	_, err = s.svc.RevokeToken(ctx, auditAlice, tokenadmin.RevokeRequest{TokenID: iss.Access.ID})
	wantCode(t, "alice revokes bob's token", err, tokenadmin.CodeTokenNotFound)
	_, err = s.svc.RevokeToken(ctx, auditAlice, tokenadmin.RevokeRequest{Value: iss.AccessValue, TokenID: iss.Access.ID})
	wantCode(t, "both tokenId and token", err, tokenadmin.CodeInvalid)
	_, err = s.svc.RevokeToken(ctx, auditAlice, tokenadmin.RevokeRequest{Value: iss.AccessValue})
	wantCode(t, "alice revokes bob's token by value", err, tokenadmin.CodeTokenNotFound)
	_, err = s.apps.Delete(ctx, auditAlice, "portal")
	wantCode(t, "alice deletes bob's app", err, tokenadmin.CodeNotFound)
	_, _, err = s.apps.Register(ctx, auditAlice, tokenadmin.App{Name: "X", Owner: "bob"})
	wantCode(t, "alice registers an app for bob", err, tokenadmin.CodeForbidden)
	res, err := s.svc.RevokeToken(ctx, auditAdmin, tokenadmin.RevokeRequest{Value: iss.AccessValue, Reason: "by value"})
	if err != nil || res.Count != 1 {
		t.Fatalf("admin RevokeToken = %+v, %v", res, err)
	}
	secret, _, err := s.apps.RegenerateSecret(ctx, auditAdmin, "portal")
	if err != nil {
		t.Fatal(err)
	}

	want := []string{
		"alice user tokens.revoke user=bob denied 0 users may act only on their own tokens",
		"alice user token.revoke " + tokenadmin.UnknownTarget(iss.Access.ID) + " failed 0 token not found", // never the text: it may be a value
		"alice user token.revoke " + iss.Access.ID + " failed 0 exactly one of tokenId and token is required",
		"alice user token.revoke  failed 0 token not found", // by value: no target, never the value
		"alice user app.delete " + tokenadmin.UnknownTarget("portal") + " failed 0 app not found",
		"alice user app.create  denied 0 users may register apps only for themselves",
		"root admin token.revoke " + iss.Access.ID + " success 1 by value",
		"root admin app.secret portal success 0 secret_regenerated",
	}
	got := s.records(t)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	p, err := s.db.ListAuditEvents(ctx, tokenadmin.AuditFilter{PageSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range p.Events {
		if e.RequestID != "r-42" || e.ClientAddr != "198.51.100.9" {
			t.Errorf("record %d: request %q from %q, want r-42 from 198.51.100.9", e.Seq, e.RequestID, e.ClientAddr)
		}
		if s := fmt.Sprint(*e); strings.Contains(s, iss.AccessValue) || strings.Contains(s, secret) {
			t.Errorf("record %d holds a secret: %s", e.Seq, s)
		}
	}
	if r, err := s.db.VerifyAudit(ctx); err != nil || !r.OK || r.Records != int64(len(want)) {
		t.Errorf("VerifyAudit = %+v, %v", r, err)
	}
}

func TestServicesWithoutAuditRecordNothing(t *testing.T) {
	s := newAuditStack(t)
	svc := &tokenadmin.Service{Tokens: s.db}
	apps := &tokenadmin.AppService{Apps: s.db}
	ctx := context.Background()
	if _, _, err := apps.Register(ctx, auditAdmin, tokenadmin.NewApp("Portal")); err != nil {
		t.Fatal(err)
	}
	_, err := svc.RevokeTokens(ctx, auditAlice, tokenadmin.BulkRevoke{User: "bob"})
	wantCode(t, "refused", err, tokenadmin.CodeForbidden)
	if got := s.records(t); len(got) != 0 {
		t.Errorf("audit log without Audit set: %q", got)
	}
}

func TestAuditServiceRules(t *testing.T) {
	s := newAuditStack(t)
	ctx := context.Background()
	if err := s.db.AppendAudit(ctx, tokenadmin.AuditEvent{Actor: "root", Action: tokenadmin.AuditLogin, Outcome: tokenadmin.AuditSuccess}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		caller tokenadmin.Caller
		f      tokenadmin.AuditFilter
		code   tokenadmin.Code
	}{
		{name: "admin", caller: auditAdmin},
		{name: "auditor", caller: auditAuditor},
		{name: "user is forbidden", caller: auditAlice, code: tokenadmin.CodeForbidden},
		{name: "anonymous", caller: tokenadmin.Caller{}, code: tokenadmin.CodeUnauthenticated},
		{name: "page size too big", caller: auditAdmin, f: tokenadmin.AuditFilter{PageSize: tokenadmin.MaxAuditPageSize + 1}, code: tokenadmin.CodeInvalid},
		{name: "since not before until", caller: auditAuditor,
			f: tokenadmin.AuditFilter{Since: time.Unix(100, 0), Until: time.Unix(100, 0)}, code: tokenadmin.CodeInvalid},
		{name: "bad page token", caller: auditAdmin, f: tokenadmin.AuditFilter{PageToken: "nope"}, code: tokenadmin.CodeInvalidPageToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := s.audit.ListAuditEvents(ctx, tc.caller, tc.f)
			wantCode(t, "ListAuditEvents", err, tc.code)
			if tc.code == "" && (p == nil || len(p.Events) != 1) {
				t.Errorf("page = %+v, want the one record", p)
			}
		})
	}
}
