package store_test

import (
	"fmt"
	"testing"

	"tokenadmin"
	"tokenadmin/store"
)

// Each batch of a native import records the event its context carries,
// counting only the rows it imported (not those present or skipped), in
// the batch's transaction with its checkpoint.
func TestImportBatchesAudited(t *testing.T) {
	db := openDB(t, store.Options{})
	ctx := auditCtx(tokenadmin.AuditImport, "users.csv (users)", "")
	rows := []store.ImportedUser{
		{Name: "u1", Role: tokenadmin.RoleUser, PasswordHash: "h1"},
		{Name: "u2", Role: tokenadmin.RoleUser, PasswordHash: "h2"},
	}
	cp := &store.ImportCheckpoint{Key: "k", Value: func([]store.ImportOutcome) string { return "after batch" }}
	if _, err := db.ImportUsers(ctx, rows, cp); err != nil {
		t.Fatal(err)
	}
	rows = append(rows, store.ImportedUser{Name: "u1", Role: tokenadmin.RoleAdmin, PasswordHash: "other"}, store.ImportedUser{Name: "u3", Role: tokenadmin.RoleUser, PasswordHash: "h3"})
	out, err := db.ImportUsers(ctx, rows, cp)
	if err != nil {
		t.Fatal(err)
	}
	if out[0].Status != store.RowPresent || out[2].Status != store.RowSkipped || out[3].Status != store.RowImported {
		t.Fatalf("outcomes %+v", out)
	}
	// Without an event, nothing is recorded.
	app := tokenadmin.NewApp("Portal")
	app.ClientID = "portal"
	if out, err := db.ImportApps(t.Context(), []store.ImportedApp{{App: app}}, nil); err != nil || out[0].Status != store.RowImported {
		t.Fatal(out, err)
	}

	var got []string
	for _, e := range allAudit(t, db) {
		got = append(got, e.Actor+" "+string(e.Action)+" "+e.Target+" "+string(e.Outcome)+" "+fmt.Sprint(e.Count))
	}
	want := []string{"root import users.csv (users) success 2", "root import users.csv (users) success 1"}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("audit log %q, want %q", got, want)
	}
	if v, err := db.ImportCheckpointValue(t.Context(), "k"); err != nil || v != "after batch" {
		t.Errorf("checkpoint %q, %v", v, err)
	}
	if res, err := db.VerifyAudit(t.Context()); err != nil || !res.OK {
		t.Errorf("VerifyAudit = %+v, %v", res, err)
	}
}
