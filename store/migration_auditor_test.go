package store_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"tokenadmin"
	"tokenadmin/store"
)

// TestAuditorMigration builds a database as it was before migration 0005
// (0001-0004 applied by hand, from the files), with users in it, then
// opens it with the store: the users survive with their ids and
// timestamps, the role CHECK now admits auditor and still nothing else,
// and the users_epoch triggers, with their exact SQL, still fire.
func TestAuditorMigration(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	raw, err := sql.Open("sqlite3", "file:"+path+"?_foreign_keys=on")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	raw.SetMaxOpenConns(1)
	exec := func(q string, args ...any) error {
		t.Helper()
		_, err := raw.ExecContext(ctx, q, args...)
		return err
	}
	if err := exec(`CREATE TABLE schema_migrations (name TEXT PRIMARY KEY) WITHOUT ROWID`); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"0001_init.sql", "0002_app_policy.sql", "0003_app_watermark.sql", "0004_imported_hashes.sql"} {
		body, err := os.ReadFile(filepath.Join("migrations", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := exec(string(body)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := exec(`INSERT INTO schema_migrations (name) VALUES (?)`, "migrations/"+name); err != nil {
			t.Fatal(err)
		}
	}
	insert := `INSERT INTO users (id, name, role, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`
	if err := exec(insert, 7, "alice", "admin", "hash-a", 1000, 2000); err != nil {
		t.Fatal(err)
	}
	if err := exec(insert, 9, "bob", "user", "hash-b", 3000, 4000); err != nil {
		t.Fatal(err)
	}
	if err := exec(insert, 10, "eve", "auditor", "hash-e", 1, 1); err == nil {
		t.Fatal("the schema before 0005 accepted role auditor; this test proves nothing")
	}
	triggers := func() map[string]string {
		t.Helper()
		rows, err := raw.QueryContext(ctx, `SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'users'`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		m := map[string]string{}
		for rows.Next() {
			var name, sql string
			if err := rows.Scan(&name, &sql); err != nil {
				t.Fatal(err)
			}
			m[name] = sql
		}
		return m
	}
	type row struct {
		ID               int64
		Name, Role, Hash string
		Created, Updated int64
	}
	users := func() []row {
		t.Helper()
		rows, err := raw.QueryContext(ctx, `SELECT id, name, role, password_hash, created_at, updated_at FROM users ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []row
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.ID, &r.Name, &r.Role, &r.Hash, &r.Created, &r.Updated); err != nil {
				t.Fatal(err)
			}
			out = append(out, r)
		}
		return out
	}
	epochBefore := 0
	if err := raw.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'users_epoch'`).Scan(&epochBefore); err != nil {
		t.Fatal(err)
	}
	triggersBefore, usersBefore := triggers(), users()
	if len(triggersBefore) != 3 {
		t.Fatalf("triggers before = %v, want 3", triggersBefore)
	}

	db := openAt(t, path, store.Options{})

	if got := triggers(); !reflect.DeepEqual(got, triggersBefore) {
		t.Errorf("triggers after 0005 = %v\nwant %v", got, triggersBefore)
	}
	if got := users(); !reflect.DeepEqual(got, usersBefore) {
		t.Errorf("users after 0005 = %+v\nwant %+v", got, usersBefore)
	}
	var indexes int
	if err := raw.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'users'`).Scan(&indexes); err != nil || indexes != 1 {
		t.Errorf("indexes on users = %d, %v; want 1 (UNIQUE name)", indexes, err)
	}
	if err := exec(insert, 11, "mallory", "superuser", "h", 1, 1); err == nil {
		t.Error("role superuser accepted after 0005")
	}
	epoch := func() int64 {
		t.Helper()
		v, err := db.UsersEpoch(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if e := epoch(); e != int64(epochBefore) {
		t.Errorf("UsersEpoch after 0005 = %d, want %d (unchanged)", e, epochBefore)
	}
	if u, err := db.GetUser(ctx, "bob"); err != nil || u.Role != tokenadmin.RoleUser || u.PasswordHash != "hash-b" {
		t.Errorf("GetUser(bob) = %+v, %v", u, err)
	}
	e0 := epoch()
	if err := db.CreateUser(ctx, tokenadmin.User{Name: "eve", Role: tokenadmin.RoleAuditor, PasswordHash: "hash-e"}); err != nil {
		t.Fatalf("CreateUser(auditor): %v", err)
	}
	if e := epoch(); e != e0+1 {
		t.Errorf("UsersEpoch after insert = %d, want %d", e, e0+1)
	}
	if err := db.SetRole(ctx, "bob", tokenadmin.RoleAuditor); err != nil {
		t.Fatalf("SetRole(bob, auditor): %v", err)
	}
	if e := epoch(); e != e0+2 {
		t.Errorf("UsersEpoch after update = %d, want %d", e, e0+2)
	}
	if err := exec(`DELETE FROM users WHERE name = 'eve'`); err != nil {
		t.Fatal(err)
	}
	if e := epoch(); e != e0+3 {
		t.Errorf("UsersEpoch after delete = %d, want %d", e, e0+3)
	}
	var schema string
	if err := raw.QueryRowContext(ctx, `SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'users'`).Scan(&schema); err != nil || !strings.Contains(schema, "'auditor'") {
		t.Errorf("users schema = %q, %v", schema, err)
	}
}

// TestUserMessagesNameEveryRole: a bad role names the three roles.
func TestUserMessagesNameEveryRole(t *testing.T) {
	ctx := context.Background()
	db := openDB(t, store.Options{})
	for what, err := range map[string]error{
		"CreateUser": db.CreateUser(ctx, tokenadmin.User{Name: "x", Role: "root", PasswordHash: "h"}),
		"SetRole":    db.SetRole(ctx, "x", "root"),
	} {
		wantCode(t, what, err, tokenadmin.CodeInvalid)
		if msg := tokenadmin.ErrorMessage(err); !strings.Contains(msg, "admin, auditor or user") {
			t.Errorf("%s: message %q does not name every role", what, msg)
		}
	}
}
