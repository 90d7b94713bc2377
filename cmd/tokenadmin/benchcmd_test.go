package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tokenadmin"
	"tokenadmin/store"
)

// benchResults runs bench with --json and decodes its results.
func benchResults(t *testing.T, args ...string) []loadResult {
	t.Helper()
	out := mustRun(t, "", append([]string{"bench", "--json"}, args...)...)
	var results []loadResult
	if err := json.Unmarshal([]byte(out), &results); err != nil {
		t.Fatalf("bench --json output: %v\n%s", err, out)
	}
	return results
}

// checkBench asserts that results hold exactly the wanted layer/operation
// runs, each with requests and without errors.
func checkBench(t *testing.T, results []loadResult, requests int, want ...string) {
	t.Helper()
	var got []string
	for _, r := range results {
		got = append(got, r.Layer+"/"+r.Operation)
		if r.Errors != 0 || r.Requests != requests || r.PerSecond <= 0 || r.P50 <= 0 || r.P50 > r.P90 || r.P90 > r.P99 || r.P99 > r.P999 || r.P999 > r.Max {
			t.Errorf("%s/%s: %+v", r.Layer, r.Operation, r)
		}
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("ran %v, want %v", got, want)
	}
}

func TestBenchInProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bench.db")
	results := benchResults(t, "--seed", "600", "--db", path, "--requests", "60", "--concurrency", "3")
	checkBench(t, results, 60,
		"store/listActiveTokens", "soap/listActiveTokens", "store/revokeToken", "soap/revokeToken",
		"store/introspect", "oauth/introspect", "store/token (client_credentials)", "oauth/token (client_credentials)")

	// The kept database is reused, not seeded again: the revocations of
	// the first run are still there, and the bench admin still works.
	db := openTestStore(t, path, store.Options{})
	page, err := db.ListActiveTokens(t.Context(), tokenadmin.TokenFilter{Type: tokenadmin.AccessToken, PageSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	// 30 users x 10 grants, +60 client_credentials tokens issued for
	// introspection, +60 issued by each layer of the issue run, -120
	// revoked.
	if want := 300 + 60 + 2*60 - 120; len(page.Tokens) != want {
		t.Errorf("after the run: %d active access tokens, want %d", len(page.Tokens), want)
	}
	checkBench(t, benchResults(t, "--db", path, "--ops", "list", "--requests", "30", "--store=false"), 30, "soap/listActiveTokens")
}

func TestBenchAgainstURL(t *testing.T) {
	t.Setenv("TOKENADMIN_ADMIN_PASSWORD", adminPassword)
	ts := startTestServer(t, serveConfig{})
	a := tokenadmin.NewApp("Load")
	a.ClientID, a.Introspect, a.GrantTypes = "load", true, []string{tokenadmin.GrantClientCredentials}
	_, secret, err := ts.db.RegisterApp(t.Context(), a)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		issue(t, ts.db, tokenadmin.IssueRequest{ClientID: "load", User: seededUser(i % 5), AccessTTL: time.Hour})
	}
	t.Setenv("TOKENADMIN_BENCH_CLIENT_SECRET", secret)
	results := benchResults(t, "--url", ts.URL(), "--password", adminPassword, "--client-id", "load",
		"--requests", "40", "--concurrency", "4")
	checkBench(t, results, 40, "soap/listActiveTokens", "soap/revokeToken", "oauth/introspect", "oauth/token (client_credentials)")
	// 50 issued - 40 revoked + 40 (introspection) + 40 (issue).
	page, err := ts.db.ListActiveTokens(t.Context(), tokenadmin.TokenFilter{Type: tokenadmin.AccessToken, PageSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Tokens) != 90 {
		t.Errorf("after the run: %d active access tokens, want 90", len(page.Tokens))
	}
}

func TestBenchFailuresAreReported(t *testing.T) {
	t.Setenv("TOKENADMIN_ADMIN_PASSWORD", adminPassword)
	ts := startTestServer(t, serveConfig{})
	r := runMain(t, "", "bench", "--url", ts.URL(), "--password", "wrong", "--ops", "list", "--requests", "5")
	if r.code != 1 || !strings.Contains(r.stderr, "5 of 5 requests failed") || !strings.Contains(r.stderr, "HTTP 401") {
		t.Errorf("wrong password: exit %d, stderr %q", r.code, r.stderr)
	}
	for _, args := range [][]string{
		{"--ops", "list,fly"},
		{"--url", ts.URL()},
		{"--url", ts.URL(), "--password", "x", "--ops", "issue"},
		{"--requests", "0"},
		{"--seed", "10"},
		{"--url", ts.URL(), "--password", "x", "--db", "x.db"},
	} {
		if r := runMain(t, "", append([]string{"bench"}, args...)...); r.code != 2 {
			t.Errorf("bench %v: exit %d, want 2; stderr %q", args, r.code, r.stderr)
		}
	}
}
