package store_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tokenadmin"
	"tokenadmin/store"
	"tokenadmin/store/storetest"
)

var (
	_ storetest.Store   = (*store.DB)(nil)
	_ storetest.Fixture = (*store.DB)(nil)
)

func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Harness{New: func(t *testing.T, c storetest.Config) (storetest.Store, storetest.Fixture) {
		db := openDB(t, store.Options{Now: c.Now, ChunkSize: c.ChunkSize})
		return db, db
	}})
}

// openDB opens a store on a new temp-file database, closed when t ends.
func openDB(t testing.TB, opts store.Options) *store.DB {
	t.Helper()
	return openAt(t, filepath.Join(t.TempDir(), "tokens.db"), opts)
}

// openAt opens the store at path, closed when t ends (Close is idempotent,
// so tests may close it earlier).
func openAt(t testing.TB, path string, opts store.Options) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), path, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

// rawDB opens the database file with the driver alone, for what the
// store's API does not show (locks, query plans). Settings go in the DSN
// so every pooled connection has them.
func rawDB(t testing.TB, path string) *sql.DB {
	t.Helper()
	raw, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=10000&_journal_mode=WAL")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return raw
}

// fixedClock is a store clock that tests set by hand.
type fixedClock struct{ ns atomic.Int64 }

func newFixedClock(t time.Time) *fixedClock {
	c := new(fixedClock)
	c.ns.Store(t.UnixNano())
	return c
}

func (c *fixedClock) Now() time.Time { return time.Unix(0, c.ns.Load()).UTC() }

var epoch = time.Date(2030, time.January, 2, 3, 4, 5, 0, time.UTC)

func mustApp(t testing.TB, db *store.DB, clientID string) {
	t.Helper()
	if _, err := db.CreateApp(context.Background(), tokenadmin.App{ClientID: clientID, Name: "App " + clientID}); err != nil {
		t.Fatalf("CreateApp(%q): %v", clientID, err)
	}
}

func mustIssue(t testing.TB, db *store.DB, clientID, user string, refresh bool) *tokenadmin.Issued {
	t.Helper()
	r := tokenadmin.IssueRequest{ClientID: clientID, User: user, Scopes: []string{"read"}, GrantType: "authorization_code", AccessTTL: time.Hour}
	if refresh {
		r.RefreshTTL = 24 * time.Hour
	}
	iss, err := db.IssueTokens(context.Background(), r)
	if err != nil {
		t.Fatalf("IssueTokens(%+v): %v", r, err)
	}
	return iss
}

// issueMany issues n access tokens of user from a few goroutines.
func issueMany(t testing.TB, db *store.DB, clientID, user string, n int) []*tokenadmin.Issued {
	t.Helper()
	out := make([]*tokenadmin.Issued, n)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := g; i < n; i += 8 {
				iss, err := db.IssueTokens(context.Background(), tokenadmin.IssueRequest{ClientID: clientID, User: user, AccessTTL: time.Hour})
				if err != nil {
					t.Errorf("IssueTokens: %v", err)
					return
				}
				out[i] = iss
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	return out
}

func wantCode(t testing.TB, what string, err error, code tokenadmin.Code) {
	t.Helper()
	if got := tokenadmin.ErrorCode(err); got != code {
		t.Errorf("%s: error code %q (err %v), want %q", what, got, err, code)
	}
}

func wantRevoked(t testing.TB, db *store.DB, id string, revoked bool) {
	t.Helper()
	tok, err := db.GetToken(context.Background(), id)
	if err != nil {
		t.Fatalf("GetToken(%q): %v", id, err)
	}
	if got := !tok.RevokedAt.IsZero(); got != revoked {
		t.Errorf("token %s: revoked %v, want %v", id, got, revoked)
	}
}

func TestOpen(t *testing.T) {
	ctx := context.Background()

	t.Run("creates the database and a key file of mode 0600", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "tokens.db")
		db := openAt(t, path, store.Options{})
		if db.Path() != path {
			t.Errorf("Path() = %q, want %q", db.Path(), path)
		}
		if fi, err := os.Stat(path); err != nil || !fi.Mode().IsRegular() {
			t.Errorf("database file: %v, %v", fi, err)
		}
		fi, err := os.Stat(path + ".key")
		if err != nil {
			t.Fatalf("key file: %v", err)
		}
		if perm := fi.Mode().Perm(); perm != 0o600 {
			t.Errorf("key file mode %v, want 0600", perm)
		}
		raw, err := os.ReadFile(path + ".key")
		if err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`^[0-9a-f]{64}\n$`).Match(raw) {
			t.Errorf("key file holds %q, want 64 hex digits and a newline", raw)
		}
	})

	t.Run("Options.KeyFile names the key file", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		path, keyFile := filepath.Join(dir, "tokens.db"), filepath.Join(dir, "elsewhere.key")
		db := openAt(t, path, store.Options{KeyFile: keyFile})
		if fi, err := os.Stat(keyFile); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("key file %s: %v, %v; want mode 0600", keyFile, fi, err)
		}
		if _, err := os.Stat(path + ".key"); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("default key file: %v, want none", err)
		}
		db.Close()
		if _, err := store.Open(ctx, path, store.Options{}); err == nil {
			t.Error("reopening without Options.KeyFile succeeded; the default key file does not exist")
		}
		openAt(t, path, store.Options{KeyFile: keyFile})
	})

	t.Run("a reopened database still knows its tokens by value", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "tokens.db")
		db := openAt(t, path, store.Options{})
		mustApp(t, db, "a1")
		iss := mustIssue(t, db, "a1", "alice", true)
		other := mustIssue(t, db, "a1", "bob", false)
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		db = openAt(t, path, store.Options{})
		for _, tc := range []struct {
			value, id string
			count     int
		}{
			{value: other.AccessValue, id: other.Access.ID, count: 1},
			{value: iss.RefreshValue, id: iss.Refresh.ID, count: 2},
		} {
			res, err := db.RevokeToken(ctx, tokenadmin.RevokeRequest{Value: tc.value, Actor: "admin"})
			if err != nil || !res.Revoked || res.TokenID != tc.id || res.Count != tc.count {
				t.Errorf("RevokeToken by value after reopen = %+v, %v; want token %s revoked, Count %d", res, err, tc.id, tc.count)
			}
		}
	})

	t.Run("a missing key file of an existing database is an error", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "tokens.db")
		openAt(t, path, store.Options{}).Close()
		if err := os.Remove(path + ".key"); err != nil {
			t.Fatal(err)
		}
		if db, err := store.Open(ctx, path, store.Options{}); err == nil {
			db.Close()
			t.Fatal("Open succeeded without the key file")
		}
		// A new key would make every stored token unverifiable.
		if _, err := os.Stat(path + ".key"); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Open created a new key file (%v)", err)
		}
	})

	t.Run("the key file of another database is an error", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		a, b := filepath.Join(dir, "a.db"), filepath.Join(dir, "b.db")
		openAt(t, a, store.Options{}).Close()
		openAt(t, b, store.Options{}).Close()
		if db, err := store.Open(ctx, a, store.Options{KeyFile: b + ".key"}); err == nil {
			db.Close()
			t.Error("Open succeeded with another database's key file")
		}
		aKey, _ := os.ReadFile(a + ".key")
		bKey, _ := os.ReadFile(b + ".key")
		if bytes.Equal(aKey, bKey) {
			t.Error("two databases got the same key")
		}
	})

	t.Run("a malformed key file is an error", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			name string
			key  string
		}{
			{name: "empty", key: ""},
			{name: "not hex", key: strings.Repeat("zz", 32) + "\n"},
			{name: "too short", key: strings.Repeat("ab", 31) + "\n"},
			{name: "too long", key: strings.Repeat("ab", 33) + "\n"},
			{name: "raw bytes", key: strings.Repeat("\x01", 32)},
		} {
			for _, existing := range []bool{false, true} {
				name := tc.name + "/new database"
				if existing {
					name = tc.name + "/existing database"
				}
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					path := filepath.Join(t.TempDir(), "tokens.db")
					if existing {
						openAt(t, path, store.Options{}).Close()
					}
					if err := os.WriteFile(path+".key", []byte(tc.key), 0o600); err != nil {
						t.Fatal(err)
					}
					if db, err := store.Open(ctx, path, store.Options{}); err == nil {
						db.Close()
						t.Errorf("Open succeeded with key file %q", tc.key)
					}
				})
			}
		}
	})

	t.Run("a path with spaces and URI characters works", func(t *testing.T) {
		t.Parallel()
		dir := filepath.Join(t.TempDir(), "a b?c#d%e&f=g")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "tokens.db")
		db := openAt(t, path, store.Options{})
		mustApp(t, db, "a1")
		iss := mustIssue(t, db, "a1", "alice", false)
		db.Close()
		if _, err := os.Stat(path); err != nil {
			t.Errorf("database is not at %s: %v", path, err)
		}
		db = openAt(t, path, store.Options{})
		wantRevoked(t, db, iss.Access.ID, false)
	})

	t.Run("an empty path is an error", func(t *testing.T) {
		t.Parallel()
		if db, err := store.Open(ctx, "", store.Options{}); err == nil {
			db.Close()
			t.Error("Open(\"\") succeeded")
		}
	})
}

func TestDurability(t *testing.T) {
	ctx := context.Background()
	const n = 200

	for _, tc := range []struct {
		name     string
		maxBatch int
	}{
		{name: "group commit (default MaxBatch)", maxBatch: 0},
		{name: "MaxBatch 1", maxBatch: 1},
		{name: "MaxBatch 7", maxBatch: 7},
	} {
		t.Run(tc.name+": acknowledged concurrent revocations survive Close and reopen", func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "tokens.db")
			db := openAt(t, path, store.Options{MaxBatch: tc.maxBatch})
			mustApp(t, db, "a1")
			issued := issueMany(t, db, "a1", "alice", n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for _, iss := range issued {
				wg.Go(func() {
					<-start
					res, err := db.RevokeToken(ctx, tokenadmin.RevokeRequest{TokenID: iss.Access.ID, Actor: "admin"})
					if err != nil || !res.Revoked || res.Count != 1 {
						t.Errorf("RevokeToken(%s) = %+v, %v; want revoked", iss.Access.ID, res, err)
					}
				})
			}
			close(start)
			wg.Wait()
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			db = openAt(t, path, store.Options{})
			for _, iss := range issued {
				wantRevoked(t, db, iss.Access.ID, true)
			}
			page, err := db.ListActiveTokens(ctx, tokenadmin.TokenFilter{PageSize: 10})
			if err != nil || len(page.Tokens) != 0 {
				t.Errorf("after reopen, ListActiveTokens = %v, %v; want nothing active", page, err)
			}
		})
	}

	t.Run("writes racing Close either fail or are durable", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "tokens.db")
		db := openAt(t, path, store.Options{})
		mustApp(t, db, "a1")
		issued := issueMany(t, db, "a1", "alice", n)
		acked := make([]bool, n)
		var wg sync.WaitGroup
		var started atomic.Int32
		for i, iss := range issued {
			wg.Go(func() {
				started.Add(1)
				res, err := db.RevokeToken(ctx, tokenadmin.RevokeRequest{TokenID: iss.Access.ID, Actor: "admin"})
				acked[i] = err == nil && res.Revoked
			})
		}
		for started.Load() < n/2 {
			time.Sleep(time.Millisecond)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		db = openAt(t, path, store.Options{})
		nacked := 0
		for i, iss := range issued {
			// Acknowledged means committed; failed means not applied.
			wantRevoked(t, db, iss.Access.ID, acked[i])
			if acked[i] {
				nacked++
			}
		}
		t.Logf("%d of %d revocations were acknowledged before Close", nacked, n)
	})
}

// TestFailedWritesDoNotUndoTheirBatch holds the database's write lock from
// another connection while writes queue up, so that the writer gathers
// them into one transaction when the lock is released: failing writes
// (unknown token, duplicate app, unknown app) among succeeding ones.
func TestFailedWritesDoNotUndoTheirBatch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tokens.db")
	db := openAt(t, path, store.Options{})
	mustApp(t, db, "a1")
	const n = 60
	issued := issueMany(t, db, "a1", "alice", n)

	lock, err := rawDB(t, path).Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if _, err := lock.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}

	type result struct {
		kind string
		err  error
		id   string // of a token revoked or issued
	}
	results := make([]result, 4*n)
	var wg sync.WaitGroup
	for i := range results {
		wg.Go(func() {
			r := &results[i]
			switch i % 4 {
			case 0:
				r.kind = "revoke"
				res, err := db.RevokeToken(ctx, tokenadmin.RevokeRequest{TokenID: issued[i/4].Access.ID, Actor: "admin"})
				r.err, r.id = err, issued[i/4].Access.ID
				if err == nil && !res.Revoked {
					r.err = fmt.Errorf("not revoked: %+v", res)
				}
			case 1:
				r.kind = "revoke unknown"
				_, r.err = db.RevokeToken(ctx, tokenadmin.RevokeRequest{TokenID: fmt.Sprintf("unknown-%d", i), Actor: "admin"})
			case 2:
				r.kind = "duplicate app"
				_, r.err = db.CreateApp(ctx, tokenadmin.App{ClientID: "a1", Name: "again"})
			case 3:
				if i%8 == 3 {
					r.kind = "issue for unknown app"
					_, r.err = db.IssueTokens(ctx, tokenadmin.IssueRequest{ClientID: "no-such-app", User: "bob", AccessTTL: time.Hour})
					break
				}
				r.kind = "issue"
				iss, err := db.IssueTokens(ctx, tokenadmin.IssueRequest{ClientID: "a1", User: "bob", AccessTTL: time.Hour})
				if r.err = err; err == nil {
					r.id = iss.Access.ID
				}
			}
		})
	}
	time.Sleep(300 * time.Millisecond) // let the writes queue behind the lock
	if _, err := lock.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	wg.Wait()

	wantCodes := map[string]tokenadmin.Code{
		"revoke": "", "issue": "",
		"revoke unknown": tokenadmin.CodeTokenNotFound, "duplicate app": tokenadmin.CodeConflict, "issue for unknown app": tokenadmin.CodeNotFound,
	}
	for _, r := range results {
		wantCode(t, r.kind, r.err, wantCodes[r.kind])
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openAt(t, path, store.Options{})
	for _, r := range results {
		switch r.kind {
		case "revoke":
			wantRevoked(t, db, r.id, true)
		case "issue":
			wantRevoked(t, db, r.id, false) // exists, and active
		}
	}
	if app, err := db.GetApp(ctx, "a1"); err != nil || app.Name != "App a1" {
		t.Errorf("GetApp(a1) = %+v, %v; want the original app", app, err)
	}
}

func TestUsers(t *testing.T) {
	ctx := context.Background()
	user := func(name string, role tokenadmin.Role) tokenadmin.User {
		return tokenadmin.User{Name: name, Role: role, PasswordHash: "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$" + name}
	}

	t.Run("CreateUser, GetUser and CountUsers", func(t *testing.T) {
		t.Parallel()
		db := openDB(t, store.Options{})
		if n, err := db.CountUsers(ctx); err != nil || n != 0 {
			t.Errorf("CountUsers = %d, %v; want 0", n, err)
		}
		for _, u := range []tokenadmin.User{user("alice", tokenadmin.RoleAdmin), user("bob", tokenadmin.RoleUser)} {
			if err := db.CreateUser(ctx, u); err != nil {
				t.Fatalf("CreateUser(%s): %v", u.Name, err)
			}
			if got, err := db.GetUser(ctx, u.Name); err != nil || *got != u {
				t.Errorf("GetUser(%s) = %+v, %v; want %+v", u.Name, got, err, u)
			}
		}
		if n, err := db.CountUsers(ctx); err != nil || n != 2 {
			t.Errorf("CountUsers = %d, %v; want 2", n, err)
		}
	})

	t.Run("a duplicate user is CodeConflict and changes nothing", func(t *testing.T) {
		t.Parallel()
		db := openDB(t, store.Options{})
		alice := user("alice", tokenadmin.RoleUser)
		if err := db.CreateUser(ctx, alice); err != nil {
			t.Fatal(err)
		}
		before, _ := db.UsersEpoch(ctx)
		wantCode(t, "CreateUser again", db.CreateUser(ctx, user("alice", tokenadmin.RoleAdmin)), tokenadmin.CodeConflict)
		if got, err := db.GetUser(ctx, "alice"); err != nil || *got != alice {
			t.Errorf("GetUser = %+v, %v; want %+v", got, err, alice)
		}
		if after, _ := db.UsersEpoch(ctx); after != before {
			t.Errorf("UsersEpoch moved from %d to %d on a failed CreateUser", before, after)
		}
	})

	t.Run("an unknown user is CodeNotFound", func(t *testing.T) {
		t.Parallel()
		db := openDB(t, store.Options{})
		before, _ := db.UsersEpoch(ctx)
		_, err := db.GetUser(ctx, "nobody")
		wantCode(t, "GetUser", err, tokenadmin.CodeNotFound)
		wantCode(t, "SetPassword", db.SetPassword(ctx, "nobody", "hash"), tokenadmin.CodeNotFound)
		wantCode(t, "SetRole", db.SetRole(ctx, "nobody", tokenadmin.RoleAdmin), tokenadmin.CodeNotFound)
		if after, _ := db.UsersEpoch(ctx); after != before {
			t.Errorf("UsersEpoch moved from %d to %d without a change", before, after)
		}
	})

	t.Run("an incomplete user or unknown role is CodeInvalid", func(t *testing.T) {
		t.Parallel()
		db := openDB(t, store.Options{})
		for _, tc := range []struct {
			name string
			u    tokenadmin.User
		}{
			{name: "no name", u: tokenadmin.User{Role: tokenadmin.RoleUser, PasswordHash: "h"}},
			{name: "no role", u: tokenadmin.User{Name: "a", PasswordHash: "h"}},
			{name: "unknown role", u: tokenadmin.User{Name: "a", Role: "root", PasswordHash: "h"}},
			{name: "no password", u: tokenadmin.User{Name: "a", Role: tokenadmin.RoleUser}},
		} {
			wantCode(t, "CreateUser with "+tc.name, db.CreateUser(ctx, tc.u), tokenadmin.CodeInvalid)
		}
		if err := db.CreateUser(ctx, user("alice", tokenadmin.RoleUser)); err != nil {
			t.Fatal(err)
		}
		wantCode(t, "SetRole root", db.SetRole(ctx, "alice", "root"), tokenadmin.CodeInvalid)
	})

	t.Run("every change moves UsersEpoch, also when made through another DB on the file", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "tokens.db")
		server := openAt(t, path, store.Options{})
		cli := openAt(t, path, store.Options{}) // the CLI, another process in production
		for _, tc := range []struct {
			name   string
			change func() error
			want   tokenadmin.User
		}{
			{name: "CreateUser through the server",
				change: func() error { return server.CreateUser(ctx, user("alice", tokenadmin.RoleUser)) },
				want:   user("alice", tokenadmin.RoleUser)},
			{name: "CreateUser through the CLI",
				change: func() error { return cli.CreateUser(ctx, user("bob", tokenadmin.RoleUser)) },
				want:   user("bob", tokenadmin.RoleUser)},
			{name: "SetPassword through the CLI",
				change: func() error { return cli.SetPassword(ctx, "alice", "new-hash") },
				want:   tokenadmin.User{Name: "alice", Role: tokenadmin.RoleUser, PasswordHash: "new-hash"}},
			{name: "SetRole through the CLI",
				change: func() error { return cli.SetRole(ctx, "alice", tokenadmin.RoleAdmin) },
				want:   tokenadmin.User{Name: "alice", Role: tokenadmin.RoleAdmin, PasswordHash: "new-hash"}},
			{name: "SetPassword through the server",
				change: func() error { return server.SetPassword(ctx, "bob", "bob-hash") },
				want:   tokenadmin.User{Name: "bob", Role: tokenadmin.RoleUser, PasswordHash: "bob-hash"}},
			{name: "SetRole to the same role",
				change: func() error { return cli.SetRole(ctx, "bob", tokenadmin.RoleUser) },
				want:   tokenadmin.User{Name: "bob", Role: tokenadmin.RoleUser, PasswordHash: "bob-hash"}},
		} {
			before, err := server.UsersEpoch(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := tc.change(); err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			for _, db := range []*store.DB{server, cli} {
				after, err := db.UsersEpoch(ctx)
				if err != nil || after <= before {
					t.Errorf("%s: UsersEpoch %d, %v; want more than %d", tc.name, after, err, before)
				}
				if got, err := db.GetUser(ctx, tc.want.Name); err != nil || *got != tc.want {
					t.Errorf("%s: GetUser = %+v, %v; want %+v", tc.name, got, err, tc.want)
				}
			}
		}
		if n, err := server.CountUsers(ctx); err != nil || n != 2 {
			t.Errorf("CountUsers = %d, %v; want 2", n, err)
		}
	})
}

func TestApps(t *testing.T) {
	ctx := context.Background()

	t.Run("CreateApp keeps a given ClientID", func(t *testing.T) {
		t.Parallel()
		clock := newFixedClock(epoch.Add(1500 * time.Millisecond))
		db := openDB(t, store.Options{Now: clock.Now})
		want := tokenadmin.App{ClientID: "c1", Name: "App One", Owner: "alice", CreatedAt: clock.Now(), State: tokenadmin.AppActive}
		got, err := db.CreateApp(ctx, tokenadmin.App{ClientID: "c1", Name: "App One", Owner: "alice"})
		if err != nil || !reflect.DeepEqual(*got, want) {
			t.Errorf("CreateApp = %+v, %v; want %+v", got, err, want)
		}
		if got, err := db.GetApp(ctx, "c1"); err != nil || !got.CreatedAt.Equal(want.CreatedAt) || got.ClientID != want.ClientID || got.Name != want.Name || got.Owner != want.Owner {
			t.Errorf("GetApp = %+v, %v; want %+v", got, err, want)
		}
	})

	t.Run("CreateApp without a ClientID gets a random one", func(t *testing.T) {
		t.Parallel()
		db := openDB(t, store.Options{})
		seen := map[string]bool{}
		for range 3 {
			a, err := db.CreateApp(ctx, tokenadmin.App{Name: "Anonymous"})
			if err != nil {
				t.Fatal(err)
			}
			if len(a.ClientID) < 16 || seen[a.ClientID] {
				t.Errorf("ClientID %q: too short or repeated", a.ClientID)
			}
			seen[a.ClientID] = true
			if got, err := db.GetApp(ctx, a.ClientID); err != nil || got.Name != "Anonymous" {
				t.Errorf("GetApp(%q) = %+v, %v", a.ClientID, got, err)
			}
		}
	})

	t.Run("a duplicate ClientID is CodeConflict and changes nothing", func(t *testing.T) {
		t.Parallel()
		db := openDB(t, store.Options{})
		mustApp(t, db, "c1")
		_, err := db.CreateApp(ctx, tokenadmin.App{ClientID: "c1", Name: "Impostor"})
		wantCode(t, "CreateApp again", err, tokenadmin.CodeConflict)
		if got, err := db.GetApp(ctx, "c1"); err != nil || got.Name != "App c1" {
			t.Errorf("GetApp = %+v, %v; want the original", got, err)
		}
	})

	t.Run("an app without a name is CodeInvalid", func(t *testing.T) {
		t.Parallel()
		db := openDB(t, store.Options{})
		_, err := db.CreateApp(ctx, tokenadmin.App{ClientID: "c1"})
		wantCode(t, "CreateApp", err, tokenadmin.CodeInvalid)
	})

	t.Run("an unknown app is CodeNotFound", func(t *testing.T) {
		t.Parallel()
		db := openDB(t, store.Options{})
		_, err := db.GetApp(ctx, "nope")
		wantCode(t, "GetApp", err, tokenadmin.CodeNotFound)
	})

	t.Run("IssueTokens checks its request", func(t *testing.T) {
		t.Parallel()
		db := openDB(t, store.Options{})
		mustApp(t, db, "c1")
		for _, tc := range []struct {
			name string
			r    tokenadmin.IssueRequest
			want tokenadmin.Code
		}{
			{name: "unknown app is CodeNotFound", r: tokenadmin.IssueRequest{ClientID: "nope", User: "alice", AccessTTL: time.Hour, RefreshTTL: time.Hour},
				want: tokenadmin.CodeNotFound},
			{name: "no lifetime is CodeInvalid", r: tokenadmin.IssueRequest{ClientID: "c1", User: "alice"},
				want: tokenadmin.CodeInvalid},
			{name: "no user is CodeInvalid", r: tokenadmin.IssueRequest{ClientID: "c1", GrantType: "authorization_code", AccessTTL: time.Hour},
				want: tokenadmin.CodeInvalid},
			{name: "client credentials need no user", r: tokenadmin.IssueRequest{ClientID: "c1", GrantType: "client_credentials", AccessTTL: time.Hour},
				want: ""},
		} {
			_, err := db.IssueTokens(ctx, tc.r)
			wantCode(t, tc.name, err, tc.want)
		}
		page, err := db.ListActiveTokens(ctx, tokenadmin.TokenFilter{PageSize: 10})
		if err != nil || len(page.Tokens) != 1 {
			t.Errorf("ListActiveTokens = %v, %v; want only the client credentials token", page, err)
		}
	})
}

// TestTokenValuesAreNotStored reads the database files byte by byte: no
// token value may be there, in text, raw, or as a plain (unkeyed) hash, and
// neither may the key.
func TestTokenValuesAreNotStored(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tokens.db")
	db := openAt(t, path, store.Options{})
	mustApp(t, db, "a1")
	var values []string
	for i := range 20 {
		iss := mustIssue(t, db, "a1", "alice", true)
		values = append(values, iss.AccessValue, iss.RefreshValue)
		if i%4 == 0 { // a value that went through a revocation too
			if _, err := db.RevokeToken(ctx, tokenadmin.RevokeRequest{Value: iss.RefreshValue, Actor: "admin"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	keyHex, err := os.ReadFile(path + ".key")
	if err != nil {
		t.Fatal(err)
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(keyHex)))
	if err != nil {
		t.Fatal(err)
	}
	secrets := map[string][]byte{"key (hex)": bytes.TrimSpace(keyHex), "key": key}
	for i, v := range values {
		secrets[fmt.Sprintf("value %d", i)] = []byte(v)
		sum := sha256.Sum256([]byte(v))
		secrets[fmt.Sprintf("SHA-256 of value %d", i)] = sum[:]
		if raw, err := base64.RawURLEncoding.DecodeString(v); err == nil && len(raw) >= 16 {
			secrets[fmt.Sprintf("decoded value %d", i)] = raw
		}
	}
	check := func(when string) {
		t.Helper()
		for _, file := range []string{path, path + "-wal"} {
			data, err := os.ReadFile(file)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			for what, secret := range secrets {
				if bytes.Contains(data, secret) {
					t.Errorf("%s: %s holds the %s", when, filepath.Base(file), what)
				}
			}
		}
	}
	check("while open")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	check("after Close")
}

// TestQueryPlans asks SQLite how it runs the store's statements: every
// access to tokens must search an index (a page then costs O(log n + page
// size)), and a listing must come out of the index in order, without
// sorting. The statements are copied from tokens.go, which builds them
// inline; keep them in step.
func TestQueryPlans(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "tokens.db")
	db := openAt(t, path, store.Options{})
	mustApp(t, db, "a1")
	for range 5 {
		mustIssue(t, db, "a1", "alice", true)
	}
	raw := rawDB(t, path)

	type plan struct {
		name     string
		query    string
		args     []any
		index    string // the index tokens must be searched with; "" for the table's own key
		sortedOK bool   // a temp B-tree is fine (the result is a few rows per app)
	}
	var plans []plan
	for _, f := range []tokenadmin.TokenFilter{
		{},
		{User: "alice"},
		{ClientID: "a1"},
		{User: "alice", ClientID: "a1"},
		{Type: tokenadmin.AccessToken},
		{User: "alice", Type: tokenadmin.RefreshToken},
		{ClientID: "a1", Type: tokenadmin.AccessToken},
		{User: "alice", ClientID: "a1", Type: tokenadmin.AccessToken},
	} {
		q, args, index := store.ListQuery(f, 1, 0, 101)
		plans = append(plans, plan{name: fmt.Sprintf("ListActiveTokens %+v", f), query: q, args: args, index: index})
	}
	for _, r := range []tokenadmin.BulkRevoke{{User: "alice"}, {ClientID: "a1"}, {User: "alice", ClientID: "a1"}} {
		app := int64(0)
		if r.ClientID != "" {
			app = 1
		}
		bound, update, args, index := store.BulkQueries(r.User, app)
		plans = append(plans,
			plan{name: fmt.Sprintf("RevokeTokens %+v chunk bound", r), query: bound, args: append(args, 0, 1000, 999), index: index},
			plan{name: fmt.Sprintf("RevokeTokens %+v update", r), query: update,
				args: append(append([]any{1, "admin", "reason"}, args...), 0, 1000, 1), index: index})
	}
	plans = append(plans,
		plan{name: "RevokeTokens max id", query: `SELECT coalesce(max(id), 0) FROM tokens`},
		plan{name: "RevokeTokens app", query: `SELECT id FROM apps WHERE client_id = +?`, args: []any{"a1"}},
		plan{name: "RevokeToken by ID", query: store.RevokeLookupByIDSQL, args: []any{"x"}, index: "sqlite_autoindex_tokens_1"},
		plan{name: "RevokeToken by value", query: store.RevokeLookupByHashSQL, args: []any{[]byte("x")}, index: "sqlite_autoindex_tokens_2"},
		plan{name: "RevokeToken by WSO2 hash", query: store.RevokeLookupByExtSQL, args: []any{"x"}, index: "tokens_ext_hash"},
		plan{name: "LookupToken by WSO2 hash", query: store.LookupTokenByExtSQL, args: []any{"x"}, index: "tokens_ext_hash"},
		plan{name: "RevokeToken family", query: store.RevokeFamilySQL, args: []any{1, "a", "r", 1, 1}, index: "tokens_unswept_family"},
		plan{name: "RevokeToken one", query: store.RevokeOneSQL, args: []any{1, "a", "r", 1, 1}},
		plan{name: "GetToken", query: store.GetTokenSQL, args: []any{"x"}, index: "sqlite_autoindex_tokens_1"},
		plan{name: "LookupToken by value", query: store.LookupTokenSQL, args: []any{[]byte("x")}, index: "sqlite_autoindex_tokens_2"},
		plan{name: "RefreshTokens by value", query: store.RefreshLookupSQL + `t.hash = +?`, args: []any{[]byte("x")}, index: "sqlite_autoindex_tokens_2"},
		plan{name: "RefreshTokens by WSO2 hash", query: store.RefreshLookupSQL + `t.ext_hash = +?`, args: []any{"x"}, index: "tokens_ext_hash"},
		plan{name: "RefreshTokens reuse token ID", query: `SELECT token_id FROM tokens WHERE id = +?`, args: []any{1}},
		// Lookups of apps and users: no SCAN (checked below for every table).
		plan{name: "IssueTokens app", query: `SELECT id, name, state FROM apps WHERE client_id = +?`, args: []any{"a1"}},
		plan{name: "GetApp", query: `SELECT client_id FROM apps WHERE client_id = +? AND state != 'deleted'`, args: []any{"a1"}},
		plan{name: "AuthenticateClient", query: `SELECT client_id, secret_hash FROM apps WHERE client_id = +?`, args: []any{"a1"}},
		plan{name: "GetUser", query: `SELECT name, role, password_hash FROM users WHERE name = +?`, args: []any{"alice"}},
		plan{name: "WSS digest credentials", query: `SELECT role, wss_digest FROM users WHERE name = +?`, args: []any{"alice"}},
		plan{name: "ListAuthorizedApps", query: store.AuthorizedAppsSQL, args: []any{"alice", 1}, index: "tokens_live_user", sortedOK: true},
		plan{name: "IssueTokens next id", query: store.NextTokenIDSQL},
		plan{name: "SweepExpired", query: store.SweepSQL, args: []any{1, 1000}}, // rowid lookups fed by tokens_unswept_expiry
	)

	for _, p := range plans {
		t.Run(p.name, func(t *testing.T) {
			rows, err := raw.Query("EXPLAIN QUERY PLAN "+p.query, p.args...)
			if err != nil {
				t.Fatalf("EXPLAIN QUERY PLAN: %v\n%s", err, p.query)
			}
			defer rows.Close()
			var details []string
			for rows.Next() {
				var id, parent, unused int
				var detail string
				if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
					t.Fatal(err)
				}
				details = append(details, detail)
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			searched := false
			for _, d := range details {
				switch {
				case strings.HasPrefix(d, "SCAN "):
					t.Errorf("plan scans: %q", d)
				case strings.HasPrefix(d, "USE TEMP B-TREE") && !p.sortedOK:
					t.Errorf("plan sorts: %q", d)
				case regexp.MustCompile(`^SEARCH (t|tokens)\b`).MatchString(d):
					searched = true
					if p.index != "" && !strings.Contains(d, " INDEX "+p.index+" ") {
						t.Errorf("plan searches tokens with %q, want index %s", d, p.index)
					}
				}
			}
			if !searched && strings.Contains(p.query, "tokens") && !strings.Contains(p.query, "sqlite_sequence") {
				t.Errorf("plan never searches tokens")
			}
			if t.Failed() {
				t.Logf("plan:\n\t%s\nquery:\n%s", strings.Join(details, "\n\t"), p.query)
			}
		})
	}
}

// TestSweepTakesExpiredTokensOutOfLiveIndexes checks the mechanism that
// keeps a page O(log n + page size) as tokens expire: after a sweep the
// live indexes hold exactly the active tokens, so a listing never steps
// over expired ones. (BenchmarkListActiveTokensPage shows the cost.)
func TestSweepTakesExpiredTokensOutOfLiveIndexes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tokens.db")
	var now atomic.Int64
	now.Store(benchEpoch.UnixMilli())
	clock := func() time.Time { return time.UnixMilli(now.Load()) }
	db := openAt(t, path, store.Options{Now: clock, ChunkSize: 3})
	mustApp(t, db, "a1")
	for i := range 10 {
		ttl := time.Minute
		if i%2 == 0 {
			ttl = time.Hour
		}
		if _, err := db.IssueTokens(ctx, tokenadmin.IssueRequest{ClientID: "a1", User: "alice", AccessTTL: ttl}); err != nil {
			t.Fatal(err)
		}
	}
	raw := rawDB(t, path)
	liveEntries := func() int {
		t.Helper()
		n := -1
		for _, index := range []string{"tokens_live", "tokens_live_user", "tokens_live_app", "tokens_unswept_family", "tokens_unswept_expiry"} {
			var c int
			q := `SELECT count(*) FROM tokens INDEXED BY ` + index + ` WHERE revoked_at IS NULL AND expired = 0`
			if strings.HasPrefix(index, "tokens_unswept") {
				q = `SELECT count(*) FROM tokens INDEXED BY ` + index + ` WHERE expired = 0`
			}
			if err := raw.QueryRow(q).Scan(&c); err != nil {
				t.Fatal(err)
			}
			if n >= 0 && c != n {
				t.Fatalf("index %s has %d live entries, the others %d", index, c, n)
			}
			n = c
		}
		return n
	}
	if n, err := db.SweepExpired(ctx); err != nil || n != 0 {
		t.Fatalf("SweepExpired before any expiry = %d, %v; want 0", n, err)
	}
	if got := liveEntries(); got != 10 {
		t.Fatalf("live index entries = %d, want 10", got)
	}
	now.Add((2 * time.Minute).Milliseconds())
	// Before the sweep, listings already exclude the expired tokens.
	page, err := db.ListActiveTokens(ctx, tokenadmin.TokenFilter{PageSize: 100})
	if err != nil || len(page.Tokens) != 5 {
		t.Fatalf("ListActiveTokens after expiry = %v, %v; want 5 tokens", page, err)
	}
	if n, err := db.SweepExpired(ctx); err != nil || n != 5 {
		t.Fatalf("SweepExpired = %d, %v; want 5 (in chunks of 3)", n, err)
	}
	if got := liveEntries(); got != 5 {
		t.Fatalf("live index entries after the sweep = %d, want 5", got)
	}
	if n, err := db.SweepExpired(ctx); err != nil || n != 0 {
		t.Fatalf("second SweepExpired = %d, %v; want 0", n, err)
	}
	page, err = db.ListActiveTokens(ctx, tokenadmin.TokenFilter{PageSize: 100})
	if err != nil || len(page.Tokens) != 5 {
		t.Fatalf("ListActiveTokens after the sweep = %v, %v; want 5 tokens", page, err)
	}
	// A swept token is still there for getToken, as expired, and revoking
	// it changes nothing.
	var sweptID string
	if err := raw.QueryRow(`SELECT token_id FROM tokens WHERE expired = 1 LIMIT 1`).Scan(&sweptID); err != nil {
		t.Fatal(err)
	}
	tok, err := db.GetToken(ctx, sweptID)
	if err != nil || tok.StateAt(clock()) != tokenadmin.StateExpired {
		t.Fatalf("GetToken(swept) = %+v, %v; want an expired token", tok, err)
	}
	res, err := db.RevokeToken(ctx, tokenadmin.RevokeRequest{TokenID: sweptID, Actor: "admin"})
	if err != nil || res.Revoked || res.Count != 0 {
		t.Fatalf("RevokeToken(swept) = %+v, %v; want revoked=false", res, err)
	}

	t.Run("background sweep marks expired tokens", func(t *testing.T) {
		bg := filepath.Join(t.TempDir(), "bg.db")
		db := openAt(t, bg, store.Options{Now: clock, SweepInterval: 10 * time.Millisecond})
		mustApp(t, db, "a1")
		if _, err := db.IssueTokens(ctx, tokenadmin.IssueRequest{ClientID: "a1", User: "bob", AccessTTL: time.Minute}); err != nil {
			t.Fatal(err)
		}
		now.Add((2 * time.Minute).Milliseconds())
		raw := rawDB(t, bg)
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			var swept int
			if err := raw.QueryRow(`SELECT count(*) FROM tokens WHERE expired = 1`).Scan(&swept); err != nil {
				t.Fatal(err)
			}
			if swept == 1 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatal("the background sweep did not mark the expired token within 5s")
			}
		}
	})
}

func TestClose(t *testing.T) {
	ctx := context.Background()

	t.Run("calls after Close are errors and change nothing", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "tokens.db")
		db := openAt(t, path, store.Options{})
		mustApp(t, db, "a1")
		iss := mustIssue(t, db, "a1", "alice", true)
		if err := db.CreateUser(ctx, tokenadmin.User{Name: "alice", Role: tokenadmin.RoleUser, PasswordHash: "h"}); err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		for _, tc := range []struct {
			name string
			call func() error
		}{
			{name: "RevokeToken", call: func() error {
				_, err := db.RevokeToken(ctx, tokenadmin.RevokeRequest{TokenID: iss.Access.ID, Actor: "admin"})
				return err
			}},
			{name: "RevokeTokens", call: func() error {
				_, err := db.RevokeTokens(ctx, tokenadmin.BulkRevoke{User: "alice", Actor: "admin"})
				return err
			}},
			{name: "IssueTokens", call: func() error {
				_, err := db.IssueTokens(ctx, tokenadmin.IssueRequest{ClientID: "a1", User: "bob", AccessTTL: time.Hour})
				return err
			}},
			{name: "CreateApp", call: func() error {
				_, err := db.CreateApp(ctx, tokenadmin.App{ClientID: "a2", Name: "Two"})
				return err
			}},
			{name: "CreateUser", call: func() error {
				return db.CreateUser(ctx, tokenadmin.User{Name: "bob", Role: tokenadmin.RoleUser, PasswordHash: "h"})
			}},
			{name: "SetPassword", call: func() error { return db.SetPassword(ctx, "alice", "other") }},
			{name: "SetRole", call: func() error { return db.SetRole(ctx, "alice", tokenadmin.RoleAdmin) }},
			{name: "ListActiveTokens", call: func() error {
				_, err := db.ListActiveTokens(ctx, tokenadmin.TokenFilter{PageSize: 1})
				return err
			}},
			{name: "GetToken", call: func() error {
				_, err := db.GetToken(ctx, iss.Access.ID)
				return err
			}},
		} {
			// Many times: a write after Close races the closed signal in a
			// select, and more writes than the store queues must not hang.
			done := make(chan struct{})
			go func() {
				defer close(done)
				for range 1100 {
					if err := tc.call(); err == nil {
						t.Errorf("%s after Close succeeded", tc.name)
						return
					}
				}
			}()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				t.Fatalf("%s after Close hangs", tc.name)
			}
		}
		if err := db.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}

		db = openAt(t, path, store.Options{})
		wantRevoked(t, db, iss.Access.ID, false)
		if _, err := db.GetApp(ctx, "a2"); tokenadmin.ErrorCode(err) != tokenadmin.CodeNotFound {
			t.Errorf("app created after Close exists (%v)", err)
		}
		if u, err := db.GetUser(ctx, "alice"); err != nil || u.PasswordHash != "h" || u.Role != tokenadmin.RoleUser {
			t.Errorf("user changed after Close: %+v, %v", u, err)
		}
		if n, _ := db.CountUsers(ctx); n != 1 {
			t.Errorf("CountUsers = %d, want 1", n)
		}
	})

	t.Run("Close twice is safe", func(t *testing.T) {
		t.Parallel()
		db := openDB(t, store.Options{})
		for i := range 3 {
			if err := db.Close(); err != nil {
				t.Errorf("Close #%d: %v", i+1, err)
			}
		}
	})

	t.Run("concurrent Close calls are safe", func(t *testing.T) {
		t.Parallel()
		db := openDB(t, store.Options{})
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				if err := db.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
		}
		wg.Wait()
	})
}

// TestBulkRevocationLetsOtherWritesThrough checks that RevokeTokens works
// in chunks, each its own transaction queued behind other writes: a
// revocation submitted while a bulk revocation runs completes long before
// the bulk does, instead of waiting for all of it.
func TestBulkRevocationLetsOtherWritesThrough(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tokens.db")
	const chunk, grants = 20, 2000 // 4,000 tokens: 200 chunks
	db := openAt(t, path, store.Options{ChunkSize: chunk})
	if err := db.Seed(ctx, store.SeedSpec{Users: grants / 10, GrantsPerUser: 10, Apps: 1}); err != nil {
		t.Fatal(err)
	}
	mustApp(t, db, "other")
	var others []*tokenadmin.Issued
	for range 5 {
		others = append(others, mustIssue(t, db, "other", "bob", false))
	}
	raw := rawDB(t, path)
	revokedOfBig := func() int {
		var n int
		if err := raw.QueryRow(`SELECT count(*) FROM tokens t JOIN apps a ON a.id = t.app_id
			WHERE a.client_id = 'seed-app-0' AND t.revoked_at IS NOT NULL`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	bulk := make(chan error, 1)
	var bulkCount int
	go func() {
		var err error
		bulkCount, err = db.RevokeTokens(ctx, tokenadmin.BulkRevoke{ClientID: "seed-app-0", Actor: "admin", Reason: "app retired"})
		bulk <- err
	}()
	// Wait until the bulk revocation has committed its first chunk.
	for deadline := time.Now().Add(10 * time.Second); revokedOfBig() == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the bulk revocation committed nothing within 10s")
		}
	}
	for i, o := range others {
		res, err := db.RevokeToken(ctx, tokenadmin.RevokeRequest{TokenID: o.Access.ID, Actor: "admin"})
		if err != nil || !res.Revoked {
			t.Fatalf("RevokeToken during the bulk revocation = %+v, %v", res, err)
		}
		if i == 0 {
			if n := revokedOfBig(); n >= 2*grants {
				t.Errorf("a single revocation waited for the whole bulk revocation (%d of %d tokens already revoked)", n, 2*grants)
			}
		}
	}
	if err := <-bulk; err != nil {
		t.Fatal(err)
	}
	if bulkCount != 2*grants || revokedOfBig() != 2*grants {
		t.Errorf("bulk revocation revoked %d (database: %d), want %d", bulkCount, revokedOfBig(), 2*grants)
	}
}

// TestWritesAreAcknowledgedOnlyAfterTheWALSync holds the WAL sync and
// checks that a committed revocation is not acknowledged before it, and
// that a failed sync fails the write and every write after it (an fsync
// error may have lost pages that a later, successful fsync says nothing
// about).
func TestWritesAreAcknowledgedOnlyAfterTheWALSync(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openAt(t, filepath.Join(t.TempDir(), "tokens.db"), store.Options{})
	mustApp(t, db, "a1")
	a, b := mustIssue(t, db, "a1", "alice", false), mustIssue(t, db, "a1", "alice", false)

	entered, release := make(chan struct{}), make(chan error)
	db.SetSyncHook(func() error {
		entered <- struct{}{}
		return <-release
	})
	done := make(chan error, 1)
	go func() {
		_, err := db.RevokeToken(ctx, tokenadmin.RevokeRequest{TokenID: a.Access.ID, Actor: "admin"})
		done <- err
	}()
	<-entered // committed; the syncer is syncing
	select {
	case err := <-done:
		t.Fatalf("RevokeToken returned (%v) before the WAL sync finished", err)
	case <-time.After(50 * time.Millisecond):
	}
	release <- nil
	if err := <-done; err != nil {
		t.Fatalf("RevokeToken after the sync: %v", err)
	}

	go func() {
		_, err := db.RevokeToken(ctx, tokenadmin.RevokeRequest{TokenID: b.Access.ID, Actor: "admin"})
		done <- err
	}()
	<-entered
	release <- errors.New("EIO")
	if err := <-done; err == nil {
		t.Fatal("RevokeToken succeeded although its WAL sync failed")
	}
	if _, err := db.RevokeToken(ctx, tokenadmin.RevokeRequest{TokenID: b.Access.ID, Actor: "admin"}); err == nil {
		t.Fatal("a write after a failed sync succeeded; the store must refuse writes until restarted")
	}
}

// TestAppChangesFinishWhenTheCallerGoesAway deletes an app with a context
// that ends during the chunked revocation: the grants are dead from the
// first write on, and the revocation is still recorded for every token.
func TestAppChangesFinishWhenTheCallerGoesAway(t *testing.T) {
	t.Parallel()
	db := openAt(t, filepath.Join(t.TempDir(), "tokens.db"), store.Options{ChunkSize: 1})
	a := tokenadmin.NewApp("Doomed")
	a.ClientID = "doomed"
	if _, _, err := db.RegisterApp(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	var values []string
	for range 100 {
		values = append(values, mustIssue(t, db, "doomed", "alice", false).AccessValue)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var synced atomic.Int32
	db.SetSyncHook(func() error {
		if synced.Add(1) == 2 { // the state change and one chunk are in
			cancel()
		}
		return nil
	})
	n, err := db.DeleteApp(ctx, "doomed", "admin")
	if err != nil || n != 100 {
		t.Fatalf("DeleteApp with a context ending midway = %d, %v; want all 100 revoked", n, err)
	}
	for _, v := range values {
		tok, err := db.LookupToken(context.Background(), v)
		if err != nil || tok.State != tokenadmin.StateRevoked || tok.RevokeReason != tokenadmin.ReasonAppDeleted {
			t.Fatalf("LookupToken after DeleteApp = %+v, %v; want revoked (app_deleted)", tok, err)
		}
	}
}

// Token IDs made later sort later (the token_id index grows at its end):
// their first 7 characters are the millisecond they were made, in
// base64url's alphabet taken in ASCII order; the other 15 are random.
func TestTokenIDsSortByTime(t *testing.T) {
	t.Parallel()
	clock := newFixedClock(epoch)
	db := openDB(t, store.Options{Now: clock.Now})
	mustApp(t, db, "c1")
	const alphabet = "-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
	var (
		prev   string
		prevMS int64
	)
	seen := map[string]bool{}
	for i, step := range []time.Duration{0, time.Millisecond, time.Millisecond, time.Second, 0, 365 * 24 * time.Hour} {
		clock.ns.Add(int64(step))
		iss := mustIssue(t, db, "c1", "alice", true)
		for _, id := range []string{iss.Access.ID, iss.Refresh.ID} {
			if len(id) != 22 || seen[id] {
				t.Fatalf("token %d: id %q: want 22 characters, unique", i, id)
			}
			seen[id] = true
			var ms int64
			for _, ch := range id[:7] {
				ms = ms<<6 | int64(strings.IndexRune(alphabet, ch))
			}
			if want := clock.Now().UnixMilli(); ms != want {
				t.Errorf("token %d: id %q encodes %d ms, want %d", i, id, ms, want)
			}
			if prev != "" && ((ms > prevMS && id <= prev) || (ms == prevMS && id[:7] != prev[:7])) {
				t.Errorf("token %d: id %q (%d ms) against the one before, %q (%d ms): out of order", i, id, ms, prev, prevMS)
			}
			prev, prevMS = id, ms
		}
	}
}

// Revoking one token from many goroutines at once revokes it once: all
// of them are queued before the first one runs, and exactly one caller is
// told it revoked the token (with the access token of its grant, for a
// refresh token), the others that it was already revoked.
func TestConcurrentRevocationsOfOneTokenRevokeItOnce(t *testing.T) {
	t.Parallel()
	db := openDB(t, store.Options{})
	mustApp(t, db, "c1")
	for _, refresh := range []bool{false, true} {
		iss := mustIssue(t, db, "c1", "alice", true)
		r := tokenadmin.RevokeRequest{TokenID: iss.Access.ID, Actor: "root"}
		wantCount := 1
		if refresh {
			r.TokenID, wantCount = iss.Refresh.ID, 2
		}
		release := db.HoldWriter()
		results := make([]*tokenadmin.RevokeResult, 16)
		var wg sync.WaitGroup
		for i := range results {
			wg.Go(func() {
				res, err := db.RevokeToken(context.Background(), r)
				if err != nil {
					t.Errorf("RevokeToken: %v", err)
					return
				}
				results[i] = res
			})
		}
		for db.QueuedWrites() < len(results) {
			runtime.Gosched()
		}
		release()
		wg.Wait()
		revoked := 0
		for _, res := range results {
			if res == nil {
				continue
			}
			if res.TokenID != r.TokenID {
				t.Errorf("result for %s, want %s", res.TokenID, r.TokenID)
			}
			if res.Revoked {
				revoked++
				if res.Count != wantCount {
					t.Errorf("refresh=%v: the revoking call counted %d tokens, want %d", refresh, res.Count, wantCount)
				}
			} else if res.Count != 0 {
				t.Errorf("refresh=%v: a call that did not revoke counted %d", refresh, res.Count)
			}
		}
		if revoked != 1 {
			t.Errorf("refresh=%v: %d of 16 calls revoked the token, want exactly 1", refresh, revoked)
		}
	}
}
