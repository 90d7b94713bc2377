package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"tokenadmin"
	"tokenadmin/auth"
	"tokenadmin/store"
)

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// runImportJSON runs an import with --json and decodes its summary.
func runImportJSON(t *testing.T, wantCode int, args ...string) rowsSummary {
	t.Helper()
	r := runMain(t, "", append(args, "--json")...)
	if r.code != wantCode {
		t.Fatalf("tokenadmin %s: exit %d, want %d; stderr:\n%s", strings.Join(args, " "), r.code, wantCode, r.stderr)
	}
	var sum rowsSummary
	if err := json.Unmarshal([]byte(r.stdout), &sum); err != nil {
		t.Fatalf("summary: %v\n%s", err, r.stdout)
	}
	return sum
}

// dbBytes is everything the database keeps on disk (after its handles
// are closed: the WAL is checkpointed then, but read it too if left).
func dbBytes(t *testing.T, path string) []byte {
	t.Helper()
	var all []byte
	for _, name := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(name)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	return all
}

// The same rows in both formats; CSV cells and JSON values.
var (
	usersCSV = "name,role,password,password_hash\n" +
		"imp-alice,user,imported-alice-password,\n" +
		"imp-bob,admin,,\"%s\"\n" // the PHC string has commas
	usersJSONL = `{"name":"imp-alice","role":"user","password":"imported-alice-password"}` + "\n" +
		`{"name":"imp-bob","role":"admin","password_hash":"%s"}` + "\n"

	appsCSV = "client_id,name,owner,grant_types,scopes,access_ttl,refresh_ttl,rotate_refresh,introspect,state,client_secret\n" +
		"portal,HR Portal,imp-alice,password refresh_token,openid profile,1h,86400,false,true,active,imported-client-secret\n" +
		"batch,Batch Job,,client_credentials,,,,,,disabled,\n"
	appsJSONL = `{"client_id":"portal","name":"HR Portal","owner":"imp-alice","grant_types":["password","refresh_token"],"scopes":"openid profile","access_ttl":"1h","refresh_ttl":86400,"rotate_refresh":false,"introspect":true,"client_secret":"imported-client-secret"}` + "\n" +
		`{"client_id":"batch","name":"Batch Job","grant_types":"client_credentials","state":"disabled"}` + "\n"

	tokensCSV = "value,hash,type,client_id,user,scopes,grant_type,issued_at,expires_at,state,revoked_at,revoke_reason,grant\n" +
		"imported-access-value,,access,portal,alice,openid,password,2025-01-01T00:00:00Z,2099-01-01T00:00:00Z,,,,g1\n" +
		"imported-refresh-value,,refresh,portal,alice,openid,password,2025-01-01T00:00:00Z,2099-01-01T00:00:00Z,,,,g1\n" +
		",%s,access,portal,bob,,password,2025-01-01T00:00:00Z,2099-01-01T00:00:00Z,,,,g2\n" +
		"imported-old-value,,access,portal,alice,,password,2025-01-01T00:00:00Z,2099-01-01T00:00:00Z,revoked,2025-02-01T00:00:00Z,lost phone,\n"
	tokensJSONL = `{"value":"imported-access-value","type":"access","client_id":"portal","user":"alice","scopes":["openid"],"grant_type":"password","issued_at":"2025-01-01T00:00:00Z","expires_at":"2099-01-01T00:00:00Z","grant":"g1"}` + "\n" +
		`{"value":"imported-refresh-value","type":"refresh","client_id":"portal","user":"alice","scopes":"openid","grant_type":"password","issued_at":"2025-01-01T00:00:00Z","expires_at":"2099-01-01T00:00:00Z","grant":"g1"}` + "\n" +
		"\n" + // blank lines are allowed
		`{"hash":"%s","type":"access","client_id":"portal","user":"bob","grant_type":"password","issued_at":"2025-01-01T00:00:00Z","expires_at":"2099-01-01T00:00:00Z","grant":"g2"}` + "\n" +
		`{"value":"imported-old-value","type":"access","client_id":"portal","user":"alice","grant_type":"password","issued_at":"2025-01-01T00:00:00Z","expires_at":"2099-01-01T00:00:00Z","state":"revoked","revoked_at":"2025-02-01T00:00:00Z","revoke_reason":"lost phone"}` + "\n"
)

// TestImportNative imports users, apps and tokens from CSV and from
// JSONL, checks what the database holds (and that no secret is in its
// bytes), and that a second run imports nothing.
func TestImportNative(t *testing.T) {
	bobHash := bobHash()
	hashOnly := sha256Hex("hash-only-token-value")
	for _, format := range []struct{ ext, users, apps, tokens string }{
		{ext: ".csv", users: usersCSV, apps: appsCSV, tokens: tokensCSV},
		{ext: ".jsonl", users: usersJSONL, apps: appsJSONL, tokens: tokensJSONL},
	} {
		t.Run(strings.TrimPrefix(format.ext, "."), func(t *testing.T) {
			path := newDatabase(t)
			files := map[string]string{
				"users":  writeFile(t, "users"+format.ext, fmt.Sprintf(format.users, bobHash)),
				"apps":   writeFile(t, "apps"+format.ext, format.apps),
				"tokens": writeFile(t, "tokens"+format.ext, fmt.Sprintf(format.tokens, hashOnly)),
			}
			want := map[string]int{"users": 2, "apps": 2, "tokens": 4}
			for _, kind := range []string{"users", "apps", "tokens"} {
				sum := runImportJSON(t, 0, "import", kind, files[kind], "--db", path)
				if sum.Imported != want[kind] || sum.Present != 0 || sum.Skipped != 0 {
					t.Errorf("import %s: %+v; want %d imported", kind, sum, want[kind])
				}
			}
			for _, kind := range []string{"users", "apps", "tokens"} {
				sum := runImportJSON(t, 0, "import", kind, files[kind], "--db", path)
				if sum.Imported != 0 || sum.Present != want[kind] || sum.Skipped != 0 {
					t.Errorf("second import %s: %+v; want all %d present", kind, sum, want[kind])
				}
			}

			raw := dbBytes(t, path)
			for _, secret := range []string{"imported-alice-password", "imported-client-secret",
				"imported-access-value", "imported-refresh-value", "imported-old-value"} {
				if bytes.Contains(raw, []byte(secret)) {
					t.Errorf("the database file holds %q in plain text", secret)
				}
			}

			db := openTestStore(t, path, store.Options{})
			ctx := t.Context()
			alice, err := db.GetUser(ctx, "imp-alice")
			if err != nil || alice.Role != tokenadmin.RoleUser {
				t.Fatalf("imp-alice: %+v, %v", alice, err)
			}
			if ok, err := auth.VerifyPassword(alice.PasswordHash, "imported-alice-password"); !ok || err != nil {
				t.Errorf("imp-alice's imported password does not verify: %v", err)
			}
			if bob, err := db.GetUser(ctx, "imp-bob"); err != nil || bob.Role != tokenadmin.RoleAdmin || bob.PasswordHash != bobHash {
				t.Errorf("imp-bob: %+v, %v; want the password_hash kept as is", bob, err)
			}

			portal, err := db.AuthenticateClient(ctx, "portal", "imported-client-secret")
			if err != nil {
				t.Fatalf("portal's imported secret: %v", err)
			}
			wantPortal := tokenadmin.App{ClientID: "portal", Name: "HR Portal", Owner: "imp-alice",
				GrantTypes: []string{"password", "refresh_token"}, Scopes: []string{"openid", "profile"},
				AccessTTL: 3600e9, RefreshTTL: 86400e9, Introspect: true, State: tokenadmin.AppActive, HasSecret: true}
			portal.CreatedAt = wantPortal.CreatedAt
			if !reflect.DeepEqual(*portal, wantPortal) {
				t.Errorf("portal:\n got %+v\nwant %+v", *portal, wantPortal)
			}
			if batch, err := db.GetApp(ctx, "batch"); err != nil || batch.State != tokenadmin.AppDisabled || batch.HasSecret ||
				!reflect.DeepEqual(batch.GrantTypes, []string{"client_credentials"}) || !batch.RotateRefresh {
				t.Errorf("batch: %+v, %v", batch, err)
			}

			for value, want := range map[string]tokenadmin.TokenState{
				"imported-access-value": tokenadmin.StateActive, "imported-refresh-value": tokenadmin.StateActive,
				"hash-only-token-value": tokenadmin.StateActive, "imported-old-value": tokenadmin.StateRevoked,
			} {
				tok, err := db.LookupToken(ctx, value)
				if err != nil || tok.State != want || tok.ClientID != "portal" {
					t.Errorf("%s: %+v, %v; want %s", value, tok, err, want)
				}
			}
			if tok, _ := db.LookupToken(ctx, "imported-old-value"); tok.RevokeReason != "lost phone" || tok.RevokedBy != store.ImportActor {
				t.Errorf("revoked token: %+v; want reason \"lost phone\" by %s", tok, store.ImportActor)
			}

			// A token imported as its hash only is revocable by value; a
			// refresh token takes its grant's access token with it.
			out := mustRun(t, "hash-only-token-value\n", "token", "revoke", "--token", "-", "--json", "--db", path)
			if !strings.Contains(out, `"revoked_count": 1`) {
				t.Errorf("revoke the hash-only token by value: %s", out)
			}
			out = mustRun(t, "imported-refresh-value\n", "token", "revoke", "--token", "-", "--json", "--db", path)
			if !strings.Contains(out, `"revoked_count": 2`) {
				t.Errorf("revoke the imported refresh token: %s; want its grant's access token revoked too", out)
			}
			for _, value := range []string{"hash-only-token-value", "imported-access-value"} {
				if tok, err := db.LookupToken(ctx, value); err != nil || tok.State != tokenadmin.StateRevoked {
					t.Errorf("%s after the revocations: %+v, %v", value, tok, err)
				}
			}
		})
	}
}

// TestImportSkips: bad rows are skipped and reported by reason with
// their lines, the rest is imported; rows that exist with other data are
// not overwritten.
func TestImportSkips(t *testing.T) {
	path := newDatabase(t)
	mustRun(t, "", "import", "apps", writeFile(t, "apps.csv", appsCSV), "--db", path)
	tokens := writeFile(t, "tokens.csv", "value,hash,type,client_id,user,issued_at,expires_at\n"+
		"ok-1,,access,portal,alice,2025-01-01T00:00:00Z,2099-01-01T00:00:00Z\n"+ // line 2
		"x-1,,access,nope,alice,2025-01-01T00:00:00Z,2099-01-01T00:00:00Z\n"+ // 3: unknown app
		"x-2,,access,portal,alice,yesterday,2099-01-01T00:00:00Z\n"+ // 4: bad time
		",abc,access,portal,alice,2025-01-01T00:00:00Z,2099-01-01T00:00:00Z\n"+ // 5: bad hash
		"x-3,,bearer,portal,alice,2025-01-01T00:00:00Z,2099-01-01T00:00:00Z\n"+ // 6: bad type
		"x-4,,access,portal\n"+ // 7: too few fields
		"x-5,,access,other,alice,2025-01-01T00:00:00Z,2099-01-01T00:00:00Z\n"+ // 8: unknown app
		"ok-2,,access,portal,alice,2025-01-01T00:00:00Z,2099-01-01T00:00:00Z\n")
	r := runMain(t, "", "import", "tokens", tokens, "--db", path)
	want := `tokens: 2 imported, 0 already present, 6 skipped
  skipped: unknown app: 2
    line 3: unknown app "nope"
    line 8: unknown app "other"
  skipped: bad issued_at: 1
    line 4: "yesterday" is not an RFC 3339 time
  skipped: malformed hash: 1
    line 5: hash is not 64 hex digits
  skipped: bad type: 1
    line 6: "bearer"
  skipped: wrong number of fields: 1
    line 7: 4 fields, the header has 7
`
	if r.code != 0 || r.stdout != want {
		t.Errorf("exit %d, summary:\n%s\nwant:\n%s\nstderr: %s", r.code, r.stdout, want, r.stderr)
	}

	// Present with other data: skipped, not overwritten. Nothing imported
	// and something skipped is a failure (exit 1), after the summary.
	changed := writeFile(t, "changed.jsonl", `{"value":"ok-1","type":"access","client_id":"portal","user":"mallory","issued_at":"2025-01-01T00:00:00Z","expires_at":"2099-01-01T00:00:00Z"}`+"\n")
	sum := runImportJSON(t, 1, "import", "tokens", changed, "--db", path)
	wantSkips := []skipGroup{{Reason: store.SkipDifferent, Count: 1, Examples: []string{`line 1: token of app "portal", user "mallory"`}}}
	if sum.Imported != 0 || !reflect.DeepEqual(sum.Skips, wantSkips) {
		t.Errorf("changed token: %+v", sum)
	}
	apps := writeFile(t, "apps.jsonl", `{"client_id":"portal","name":"Renamed"}`+"\n"+
		`{"client_id":"portal","name":"HR Portal","owner":"imp-alice","grant_types":"password refresh_token","scopes":"openid profile","access_ttl":"1h","refresh_ttl":"24h","rotate_refresh":false,"introspect":true,"client_secret":"wrong"}`+"\n")
	sum = runImportJSON(t, 1, "import", "apps", apps, "--db", path)
	if sum.Skipped != 2 || sum.Skips[0].Reason != store.SkipDifferent {
		t.Errorf("changed apps: %+v; want both skipped as different", sum)
	}
	db := openTestStore(t, path, store.Options{})
	if tok, err := db.LookupToken(t.Context(), "ok-1"); err != nil || tok.User != "alice" {
		t.Errorf("ok-1 after a conflicting import: %+v, %v", tok, err)
	}
	if a, err := db.GetApp(t.Context(), "portal"); err != nil || a.Name != "HR Portal" {
		t.Errorf("portal after a conflicting import: %+v, %v", a, err)
	}
}

// TestImportMalformed: a file whose structure is wrong is refused before
// anything is written.
func TestImportMalformed(t *testing.T) {
	path := newDatabase(t)
	dir := t.TempDir()
	file := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{name: "unknown column", args: []string{"users", file("a.csv", "name,password,shoe_size\nx,y,42\n")}, code: 1, stderr: `unknown column "shoe_size"`},
		{name: "missing column", args: []string{"tokens", file("b.csv", "value,type,client_id,user,issued_at\nv,access,c,u,2025-01-01T00:00:00Z\n")}, code: 1, stderr: `no "expires_at" column`},
		{name: "neither of two columns", args: []string{"users", file("c.csv", "name,role\nx,user\n")}, code: 1, stderr: "want a password or password_hash column"},
		{name: "column twice", args: []string{"users", file("d.csv", "name,password,name\nx,y,z\n")}, code: 1, stderr: `column "name" twice`},
		{name: "no header", args: []string{"apps", file("e.csv", "")}, code: 1, stderr: "no header row"},
		{name: "bad quoting", args: []string{"users", file("f.csv", "name,password\n\"x,y\n")}, code: 1, stderr: "f.csv"},
		{name: "missing file", args: []string{"users", filepath.Join(dir, "none.csv")}, code: 1, stderr: "none.csv"},
		{name: "unknown extension", args: []string{"users", file("g.txt", "name,password\n")}, code: 2, stderr: "want a .csv or .jsonl file"},
		{name: "no file", args: []string{"users"}, code: 2, stderr: "want exactly one file"},
		{name: "bad batch size", args: []string{"users", file("h.csv", "name,password\n"), "--batch-size", "0"}, code: 2, stderr: "--batch-size"},
		{name: "every JSON line bad", args: []string{"users", file("i.jsonl", "{\"name\":\"x\",\"pasword\":\"y\"}\n[1]\n")}, code: 1, stderr: "nothing imported"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runMain(t, "", append(append([]string{"import"}, tc.args...), "--db", path)...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.stderr) {
				t.Errorf("exit %d, stderr %q; want %d and %q", r.code, r.stderr, tc.code, tc.stderr)
			}
		})
	}
	db := openTestStore(t, path, store.Options{})
	if n, err := db.CountUsers(t.Context()); err != nil || n != 0 {
		t.Errorf("%d users after refused imports (%v); want none", n, err)
	}
}

// grantsFile writes n grants of an access and a refresh token each, in
// the given format, and returns the path and the token values.
func grantsFile(t testing.TB, dir, ext string, n int) (string, []string) {
	var b strings.Builder
	var values []string
	if ext == ".csv" {
		b.WriteString("value,type,client_id,user,scopes,issued_at,expires_at,grant\n")
	}
	for i := range n {
		for _, typ := range []string{"access", "refresh"} {
			v := fmt.Sprintf("%s-value-%06d", typ, i)
			values = append(values, v)
			user := fmt.Sprintf("user%d", i%7)
			if ext == ".csv" {
				fmt.Fprintf(&b, "%s,%s,portal,%s,openid,2025-01-01T00:00:00Z,2099-01-01T00:00:00Z,g%d\n", v, typ, user, i)
			} else {
				fmt.Fprintf(&b, `{"value":%q,"type":%q,"client_id":"portal","user":%q,"scopes":"openid","issued_at":"2025-01-01T00:00:00Z","expires_at":"2099-01-01T00:00:00Z","grant":"g%d"}`+"\n", v, typ, user, i)
			}
		}
	}
	path := filepath.Join(dir, "grants"+ext)
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, values
}

// setImportHook installs afterImportBatch for one test.
func setImportHook(t testing.TB, fn func(n int)) {
	afterImportBatch = fn
	t.Cleanup(func() { afterImportBatch = nil })
}

// TestImportResume interrupts an import after some batches (as Ctrl-C
// does, by cancelling the context), runs it again, and compares the end
// state and summary with an uninterrupted run's. Batches of 3 rows split
// grants of 2, so a grant spans a resumption.
func TestImportResume(t *testing.T) {
	for _, ext := range []string{".csv", ".jsonl"} {
		t.Run(strings.TrimPrefix(ext, "."), func(t *testing.T) {
			file, values := grantsFile(t, t.TempDir(), ext, 10)
			clean, resumed := newDatabase(t), newDatabase(t)
			for _, path := range []string{clean, resumed} {
				mustRun(t, "", "import", "apps", writeFile(t, "apps.csv", appsCSV), "--db", path)
			}
			args := func(path string) []string {
				return []string{"import", "tokens", file, "--batch-size", "3", "--db", path, "--json"}
			}
			// Two batches of 3 rows: line 7 of the CSV (with its header), 6 of the JSONL.
			line := map[string]int64{".csv": 7, ".jsonl": 6}[ext]
			var want rowsSummary
			if err := json.Unmarshal([]byte(mustRun(t, "", args(clean)...)), &want); err != nil {
				t.Fatal(err)
			}

			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			setImportHook(t, func(n int) {
				if n == 2 {
					cancel()
				}
			})
			var stdout, stderr bytes.Buffer
			if code := Main(ctx, args(resumed), strings.NewReader(""), &stdout, &stderr); code != 1 ||
				!strings.Contains(stderr.String(), fmt.Sprintf("interrupted after line %d; run the same command again to resume", line)) {
				t.Fatalf("interrupted run: exit %d, stderr:\n%s", code, stderr.String())
			}
			setImportHook(t, nil)
			db := openTestStore(t, resumed, store.Options{})
			if page, err := db.ListActiveTokens(t.Context(), tokenadmin.TokenFilter{PageSize: 100}); err != nil || len(page.Tokens) != 6 {
				t.Fatalf("after 2 batches of 3: %d tokens (%v); want 6", len(page.Tokens), err)
			}

			r := runMain(t, "", args(resumed)...)
			if r.code != 0 || !strings.Contains(r.stderr, "resuming an interrupted import") {
				t.Fatalf("resumed run: exit %d, stderr:\n%s", r.code, r.stderr)
			}
			var got rowsSummary
			if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
				t.Fatal(err)
			}
			if got.ResumedAfterLine != line {
				t.Errorf("resumed after line %d, want %d", got.ResumedAfterLine, line)
			}
			got.ResumedAfterLine = 0
			if !reflect.DeepEqual(got, want) {
				t.Errorf("summary of the resumed run:\n%+v\nof a clean run:\n%+v", got, want)
			}
			assertSameTokens(t, clean, resumed, values)

			// Done: the checkpoint is gone, a re-run finds everything.
			if sum := runImportJSON(t, 0, args(resumed)[:len(args(resumed))-1]...); sum.Present != 20 || sum.ResumedAfterLine != 0 {
				t.Errorf("re-run: %+v; want all 20 present", sum)
			}
		})
	}
}

// TestImportRestart: --restart ignores the checkpoint, and natural keys
// keep the result the same.
func TestImportRestart(t *testing.T) {
	file, values := grantsFile(t, t.TempDir(), ".csv", 5)
	clean, path := newDatabase(t), newDatabase(t)
	for _, p := range []string{clean, path} {
		mustRun(t, "", "import", "apps", writeFile(t, "apps.csv", appsCSV), "--db", p)
	}
	mustRun(t, "", "import", "tokens", file, "--db", clean)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	setImportHook(t, func(n int) { cancel() })
	var out bytes.Buffer
	if code := Main(ctx, []string{"import", "tokens", file, "--batch-size", "4", "--db", path}, strings.NewReader(""), &out, &out); code != 1 {
		t.Fatalf("interrupted run: exit %d\n%s", code, out.String())
	}
	setImportHook(t, nil)
	sum := runImportJSON(t, 0, "import", "tokens", file, "--restart", "--db", path)
	if sum.ResumedAfterLine != 0 || sum.Present != 4 || sum.Imported != 6 {
		t.Errorf("--restart: %+v; want 4 present (the first batch), 6 imported", sum)
	}
	assertSameTokens(t, clean, path, values)
}

// assertSameTokens compares what two databases hold for each value, and
// that revoking each refresh token revokes as many tokens in both.
func assertSameTokens(t *testing.T, a, b string, values []string) {
	t.Helper()
	dbs := []*store.DB{openTestStore(t, a, store.Options{}), openTestStore(t, b, store.Options{})}
	for _, v := range values {
		var toks [2]*tokenadmin.Token
		for i, db := range dbs {
			tok, err := db.LookupToken(t.Context(), v)
			if err != nil {
				t.Fatalf("%s in %s: %v", v, []string{a, b}[i], err)
			}
			tok.ID = "" // random per import
			toks[i] = tok
		}
		if !reflect.DeepEqual(toks[0], toks[1]) {
			t.Errorf("%s:\n%+v\n%+v", v, toks[0], toks[1])
		}
	}
	for _, v := range values {
		if !strings.HasPrefix(v, "refresh-") {
			continue
		}
		var counts [2]int
		for i, db := range dbs {
			res, err := db.RevokeToken(t.Context(), tokenadmin.RevokeRequest{Value: v, Actor: "test"})
			if err != nil {
				t.Fatalf("revoke %s: %v", v, err)
			}
			counts[i] = res.Count
		}
		if counts != [2]int{2, 2} {
			t.Errorf("revoking %s revoked %v tokens; want its grant of 2 in both", v, counts)
		}
	}
}

// BenchmarkImportTokensMemory imports a generated file of grants
// (TOKENADMIN_BENCH_IMPORT_GRANTS, default 100,000: 200,000 lines) and
// reports the largest live heap seen after a batch: it stays flat
// however large the file, since the file is streamed.
func BenchmarkImportTokensMemory(b *testing.B) {
	n := 100_000
	if v := os.Getenv("TOKENADMIN_BENCH_IMPORT_GRANTS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	dir := b.TempDir()
	file, _ := grantsFile(b, dir, ".jsonl", n)
	var peak uint64
	setImportHook(b, func(int) {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		peak = max(peak, m.HeapAlloc)
	})
	for i := 0; b.Loop(); i++ {
		path := filepath.Join(dir, fmt.Sprintf("bench-%d.db", i))
		db, err := store.Open(b.Context(), path, store.Options{})
		if err != nil {
			b.Fatal(err)
		}
		db.Close()
		var out bytes.Buffer
		if code := Main(b.Context(), []string{"import", "apps", writeBenchFile(b, dir, appsCSV), "--db", path}, nil, &out, &out); code != 0 {
			b.Fatal(out.String())
		}
		if code := Main(b.Context(), []string{"import", "tokens", file, "--db", path}, nil, &out, &out); code != 0 {
			b.Fatal(out.String())
		}
	}
	b.ReportMetric(float64(peak), "peak-heap-B")
	b.ReportMetric(float64(2*n), "lines")
}

func writeBenchFile(b *testing.B, dir, body string) string {
	p := filepath.Join(dir, "apps.csv")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		b.Fatal(err)
	}
	return p
}

// TestImportSkippedRowsFillBatches: rows that are skipped count towards a
// batch, so a file of mostly bad rows is written (and checkpointed) every
// --batch-size rows instead of holding all its skips until the end.
func TestImportSkippedRowsFillBatches(t *testing.T) {
	path := newDatabase(t)
	mustRun(t, "", "import", "apps", writeFile(t, "apps.csv", appsCSV), "--db", path)
	var b strings.Builder
	b.WriteString("value,hash,type,client_id,user,issued_at,expires_at\n")
	for i := range 10 {
		fmt.Fprintf(&b, "bad-%d,,bearer,portal,alice,2025-01-01T00:00:00Z,2099-01-01T00:00:00Z\n", i)
	}
	b.WriteString("ok-1,,access,portal,alice,2025-01-01T00:00:00Z,2099-01-01T00:00:00Z\n")
	batches := 0
	setImportHook(t, func(n int) { batches = n })
	sum := runImportJSON(t, 0, "import", "tokens", writeFile(t, "mostly-bad.csv", b.String()), "--batch-size", "3", "--db", path)
	if sum.Imported != 1 || sum.Skipped != 10 {
		t.Errorf("summary %+v, want 1 imported and 10 skipped", sum)
	}
	if batches != 4 { // 3 + 3 + 3 + 2 rows
		t.Errorf("%d batches for 11 rows of batch size 3, want 4", batches)
	}
}
