package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"

	"tokenadmin"
	"tokenadmin/store"
)

// wso2Export writes an IS 5.10-style export of n tokens (each with a
// refresh token) into dir: apps.csv (app ID 7, consumer key ck1),
// tokens.csv and scopes.csv. Token i is access-%04d/refresh-%04d of user
// i%5; its scopes are "openid" and "s<i%3>", written in two halves of
// the scopes file in opposite orders, so a token's rows are far apart.
func wso2Export(t testing.TB, dir string, n int) (apps, tokens, scopes string) {
	t.Helper()
	var tb, sb strings.Builder
	tb.WriteString("TOKEN_ID,ACCESS_TOKEN,REFRESH_TOKEN,CONSUMER_KEY_ID,AUTHZ_USER,USER_DOMAIN,TIME_CREATED,VALIDITY_PERIOD,TOKEN_SCOPE_HASH,TOKEN_STATE\n")
	sb.WriteString("TOKEN_ID,TOKEN_SCOPE,TENANT_ID\n")
	for i := range n {
		fmt.Fprintf(&tb, "tok-%04d,access-%04d,refresh-%04d,7,user%d,PRIMARY,2099-01-01 00:00:00,3600000,x,ACTIVE\n", i, i, i, i%5)
		fmt.Fprintf(&sb, "tok-%04d,s%d,-1234\n", i, i%3)
	}
	for i := n - 1; i >= 0; i-- {
		fmt.Fprintf(&sb, "tok-%04d,openid,-1234\n", i)
	}
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return write("apps.csv", "ID,CONSUMER_KEY,APP_NAME,USERNAME\n7,ck1,Portal,admin\n"),
		write("tokens.csv", tb.String()), write("scopes.csv", sb.String())
}

// wso2JSON runs an import wso2 that must succeed and returns its summary.
func wso2JSON(t *testing.T, args ...string) importSummary {
	t.Helper()
	var sum importSummary
	if err := json.Unmarshal([]byte(mustRun(t, "", append(args, "--json")...)), &sum); err != nil {
		t.Fatal(err)
	}
	return sum
}

// tokenRows counts the rows of the tokens table, and the values' keys
// stored more than once (by hash), straight from the database file.
func tokenRows(t *testing.T, path string) (rows, dupes int) {
	t.Helper()
	raw, err := sql.Open("sqlite3", "file:"+path+"?mode=ro&_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if err := raw.QueryRow(`SELECT count(*), count(*) - count(DISTINCT hash) FROM tokens`).Scan(&rows, &dupes); err != nil {
		t.Fatal(err)
	}
	return rows, dupes
}

// interruptWSO2 runs args, cancelling the run after its second batch, as
// Ctrl-C does, and expects it to stop with exit 1.
func interruptWSO2(t *testing.T, args []string, line int64) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	setImportHook(t, func(n int) {
		if n == 2 {
			cancel()
		}
	})
	defer setImportHook(t, nil)
	var stdout, stderr bytes.Buffer
	if code := Main(ctx, args, strings.NewReader(""), &stdout, &stderr); code != 1 ||
		!strings.Contains(stderr.String(), fmt.Sprintf("interrupted after line %d; run the same command again to resume", line)) {
		t.Fatalf("interrupted run: exit %d, stderr:\n%s", code, stderr.String())
	}
}

// TestImportWSO2Resume interrupts an import after two batches, runs it
// again, and compares the end state and the summary with an
// uninterrupted run's: every token imported exactly once, with the scopes
// joined from the scope table, the resumed run saying where it resumed.
func TestImportWSO2Resume(t *testing.T) {
	const n = 25
	apps, tokens, scopes := wso2Export(t, t.TempDir(), n)
	clean, resumed := newDatabase(t), newDatabase(t)
	args := func(path string) []string {
		return []string{"import", "wso2", "--apps", apps, "--tokens", tokens, "--scopes", scopes, "--batch-size", "4", "--db", path}
	}
	want := wso2JSON(t, args(clean)...)
	if want.Tokens.Imported != n || want.Tokens.RefreshTokens != n || len(want.Tokens.Skipped) != 0 {
		t.Fatalf("clean run: %+v; want %d tokens and refresh tokens imported", want.Tokens, n)
	}

	// Two batches of 4 rows: line 9, with the header.
	interruptWSO2(t, args(resumed), 9)
	if rows, _ := tokenRows(t, resumed); rows != 2*8 {
		t.Fatalf("after 2 batches of 4: %d tokens; want 16", rows)
	}
	if recs := auditRecords(t, "--action", "import", "--db", resumed); len(recs) != 2 || recs[0].Count != 8 || recs[1].Count != 8 {
		t.Errorf("audit records of the interrupted run: %+v; want 2 batches of 8 tokens", recs)
	}

	r := runMain(t, "", append(args(resumed), "--json")...)
	if r.code != 0 || !strings.Contains(r.stderr, "resuming an interrupted import of "+tokens+" after line 9") {
		t.Fatalf("resumed run: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	var got importSummary
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatal(err)
	}
	if got.Tokens.ResumedAfterLine != 9 {
		t.Errorf("resumed after line %d, want 9", got.Tokens.ResumedAfterLine)
	}
	got.Tokens.ResumedAfterLine = 0
	if !reflect.DeepEqual(got.Tokens, want.Tokens) {
		t.Errorf("tokens summary of the resumed run:\n%+v\nof a clean run:\n%+v", got.Tokens, want.Tokens)
	}
	if rows, dupes := tokenRows(t, resumed); rows != 2*n || dupes != 0 {
		t.Errorf("after resuming: %d tokens, %d twice; want %d, none twice", rows, dupes, 2*n)
	}
	total := 0
	for _, rec := range auditRecords(t, "--action", "import", "--db", resumed) {
		total += rec.Count
	}
	if total != 2*n {
		t.Errorf("import records count %d tokens, want %d", total, 2*n)
	}
	db := openTestStore(t, resumed, store.Options{})
	for _, i := range []int{0, 7, 8, 24} { // either side of the resumption
		tok, err := db.LookupToken(t.Context(), fmt.Sprintf("access-%04d", i))
		want := []string{"openid", fmt.Sprintf("s%d", i%3)}
		if err != nil || tok.State != tokenadmin.StateActive || tok.User != fmt.Sprintf("user%d", i%5) || !reflect.DeepEqual(tok.Scopes, want) {
			t.Errorf("token %d: %+v, %v; want active, of user%d, scopes %v", i, tok, err, i%5, want)
		}
	}

	// Done: the checkpoint is gone, and a re-run imports nothing.
	again := wso2JSON(t, args(resumed)...)
	if again.Tokens.Imported != 0 || again.Tokens.ResumedAfterLine != 0 || again.Tokens.Skipped[store.SkipExists] != n {
		t.Errorf("re-run: %+v; want every token already imported", again.Tokens)
	}
}

// TestImportWSO2Restart: --restart ignores the checkpoint and goes through
// the file from the top, finding the tokens of the interrupted run.
func TestImportWSO2Restart(t *testing.T) {
	const n = 10
	apps, tokens, scopes := wso2Export(t, t.TempDir(), n)
	path := newDatabase(t)
	args := []string{"import", "wso2", "--apps", apps, "--tokens", tokens, "--scopes", scopes, "--batch-size", "3", "--db", path}
	interruptWSO2(t, args, 7)

	r := runMain(t, "", append(args, "--restart", "--json")...)
	if r.code != 0 || strings.Contains(r.stderr, "resuming") {
		t.Fatalf("--restart: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	var sum importSummary
	if err := json.Unmarshal([]byte(r.stdout), &sum); err != nil {
		t.Fatal(err)
	}
	if sum.Tokens.ResumedAfterLine != 0 || sum.Tokens.Imported != n-6 || sum.Tokens.Skipped[store.SkipExists] != 6 {
		t.Errorf("--restart: %+v; want %d imported, the interrupted run's 6 already imported", sum.Tokens, n-6)
	}
	if rows, dupes := tokenRows(t, path); rows != 2*n || dupes != 0 {
		t.Errorf("%d tokens, %d twice; want %d, none twice", rows, dupes, 2*n)
	}
}

// TestImportWSO2SkipLines: rows that cannot be read or converted are
// skipped and listed by reason with their line numbers (a quoted field may
// span lines), and the rows around them are imported.
func TestImportWSO2SkipLines(t *testing.T) {
	path := newDatabase(t)
	apps := writeFile(t, "apps.csv", "CONSUMER_KEY,APP_NAME\n"+
		"ck1,Portal\n"+
		",Nameless\n"+ // line 3: no key
		"ck2,Two,extra\n") // line 4: wrong number of fields
	tokens := writeFile(t, "tokens.csv", "ACCESS_TOKEN,CONSUMER_KEY,AUTHZ_USER,USER_TYPE,TIME_CREATED,VALIDITY_PERIOD,TOKEN_STATE\n"+
		"t2,ck1,alice,APPLICATION_USER,2099-01-01 00:00:00,3600000,ACTIVE\n"+
		"t3,ck1,alice,APPLICATION_USER,2099-01-01 00:00:00,3600000\n"+ // line 3: a field short
		"t4,ck1,alice,\"APPLICATION\n_USER\",2099-01-01 00:00:00,3600000,ACTIVE\n"+ // lines 4-5: imported
		"t6,ck1,al\"ice,APPLICATION_USER,2099-01-01 00:00:00,3600000,ACTIVE\n"+ // line 6: bare quote
		"t7,ck1,alice,APPLICATION_USER,yesterday,3600000,ACTIVE\n"+ // line 7
		"t8,ck9,alice,APPLICATION_USER,2099-01-01 00:00:00,3600000,ACTIVE\n"+ // line 8
		"t9,ck1,alice,APPLICATION_USER,2099-01-01 00:00:00,3600000,SUSPENDED\n"+ // line 9
		"\"t10\"x,ck1,alice,APPLICATION_USER,2099-01-01 00:00:00,3600000,ACTIVE\n"+ // line 10: text after a quote
		"t11,ck1,alice,APPLICATION_USER,2099-01-01 00:00:00,3600000,ACTIVE\n")
	args := []string{"import", "wso2", "--apps", apps, "--tokens", tokens, "--batch-size", "2", "--db", path}
	sum := wso2JSON(t, args...)

	if sum.Apps.Created != 1 || !reflect.DeepEqual(sum.Apps.Skips, []skipGroup{
		{Reason: "no CONSUMER_KEY", Count: 1, Examples: []string{"line 3"}},
		{Reason: "wrong number of fields", Count: 1, Examples: []string{"line 4: 3 fields, the header has 2"}},
	}) {
		t.Errorf("apps: %+v", sum.Apps)
	}
	wantSkips := []skipGroup{
		{Reason: "wrong number of fields", Count: 1, Examples: []string{"line 3: 6 fields, the header has 7"}},
		{Reason: "malformed CSV", Count: 2, Examples: []string{"line 6: " + csv.ErrBareQuote.Error(), "line 10: " + csv.ErrQuote.Error()}},
		{Reason: "bad TIME_CREATED", Count: 1, Examples: []string{"line 7"}},
		{Reason: store.SkipUnknownApp, Count: 1, Examples: []string{`line 8: CONSUMER_KEY "ck9"`}},
		{Reason: store.SkipUnknownState, Count: 1, Examples: []string{`line 9: TOKEN_STATE "SUSPENDED"`}},
	}
	slices.SortFunc(sum.Tokens.Skips, func(a, b skipGroup) int { return strings.Compare(a.Examples[0], b.Examples[0]) })
	slices.SortFunc(wantSkips, func(a, b skipGroup) int { return strings.Compare(a.Examples[0], b.Examples[0]) })
	if sum.Tokens.Imported != 3 || !reflect.DeepEqual(sum.Tokens.Skips, wantSkips) {
		t.Errorf("tokens: %d imported, skips:\n%+v\nwant 3 imported, skips:\n%+v", sum.Tokens.Imported, sum.Tokens.Skips, wantSkips)
	}
	counts := map[string]int{}
	for _, g := range wantSkips {
		counts[g.Reason] = g.Count
	}
	if !reflect.DeepEqual(sum.Tokens.Skipped, counts) {
		t.Errorf("skip counts %v, want %v", sum.Tokens.Skipped, counts)
	}
	db := openTestStore(t, path, store.Options{})
	for _, v := range []string{"t2", "t4", "t11"} {
		if _, err := db.LookupToken(t.Context(), v); err != nil {
			t.Errorf("%s: %v", v, err)
		}
	}

	// The text summary lists the same lines under each reason.
	out := mustRun(t, "", args...)
	for _, want := range []string{
		"  skipped: malformed CSV: 2\n    line 6: " + csv.ErrBareQuote.Error() + "\n    line 10: " + csv.ErrQuote.Error() + "\n",
		"  skipped: already imported: 3\n    line 2: app \"ck1\", user \"alice\"\n    line 4: app \"ck1\", user \"alice\"\n    line 11: app \"ck1\", user \"alice\"\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("second run's summary:\n%s\nwant it to contain:\n%s", out, want)
		}
	}
}

// TestImportWSO2UnusableHeader: a header that cannot be used stops the
// import with exit 1 before anything, not even the apps of a good apps
// file, is written.
func TestImportWSO2UnusableHeader(t *testing.T) {
	apps := writeFile(t, "apps.csv", "CONSUMER_KEY,APP_NAME\nck1,Portal\n")
	for _, tc := range []struct {
		name, tokens, want string
	}{
		{name: "bad quoting", tokens: "ACCESS_TOKEN,\"CONSUMER\"_KEY\nx,ck1\n", want: "header"},
		{name: "empty file", tokens: "", want: "no header row"},
		{name: "no app column", tokens: "ACCESS_TOKEN,AUTHZ_USER\nx,alice\n", want: "no CONSUMER_KEY or CONSUMER_KEY_ID column"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := newDatabase(t)
			r := runMain(t, "", "import", "wso2", "--apps", apps, "--tokens", writeFile(t, "tokens.csv", tc.tokens), "--db", path)
			if r.code != 1 || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want 1 and %q", r.code, r.stderr, tc.want)
			}
			if out := mustRun(t, "", "app", "list", "--db", path); strings.Contains(out, "ck1") {
				t.Errorf("apps after a refused import:\n%s", out)
			}
		})
	}
}

// TestImportWSO2FlatMemory imports a generated export of some 20 MB whose
// rows are read and converted (most are skipped while converting, so that
// the test stays quick) and checks that the live heap, sampled after
// batches, stays far below the file's size: reading the file whole, as
// the import once did, holds more than the file.
func TestImportWSO2FlatMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 20 MB file")
	}
	dir := t.TempDir()
	const rows = 50_000
	pad := strings.Repeat("p", 350)
	var b bytes.Buffer
	b.WriteString("ACCESS_TOKEN,CONSUMER_KEY,AUTHZ_USER,TIME_CREATED,VALIDITY_PERIOD,TOKEN_STATE,PADDING\n")
	for i := range rows {
		created := "not a time" // skipped while converting
		if i%100 == 0 {
			created = "2099-01-01 00:00:00"
		}
		fmt.Fprintf(&b, "value-%06d,ck1,user%d,%s,3600000,ACTIVE,%s\n", i, i%7, created, pad)
	}
	size := int64(b.Len())
	tokens := filepath.Join(dir, "tokens.csv")
	if err := os.WriteFile(tokens, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	b = bytes.Buffer{}
	apps := writeFile(t, "apps.csv", "CONSUMER_KEY,APP_NAME\nck1,Portal\n")
	path := newDatabase(t)

	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	base, peak := ms.HeapAlloc, uint64(0)
	setImportHook(t, func(n int) {
		if n%5 == 0 {
			runtime.GC()
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
	})
	sum := wso2JSON(t, "import", "wso2", "--apps", apps, "--tokens", tokens, "--db", path)
	if sum.Tokens.Imported != rows/100 || sum.Tokens.Skipped["bad TIME_CREATED"] != rows-rows/100 {
		t.Fatalf("tokens: %+v", sum.Tokens)
	}
	grown := int64(peak) - int64(base)
	t.Logf("file %d bytes, live heap grew at most %d bytes", size, grown)
	if peak == 0 || grown > size/8 {
		t.Errorf("live heap grew by %d bytes while importing a file of %d: not streamed", grown, size)
	}
}
