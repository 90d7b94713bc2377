package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"tokenadmin"
	"tokenadmin/store"
)

const day = 24 * time.Hour

// purgeDatabase is cliDatabase with, by the real clock: two tokens revoked
// ten days ago, one revoked two days ago, three expired nine days ago and
// one live token. It returns the live token's ID and that of the one
// revoked two days ago.
func purgeDatabase(t *testing.T) (path, liveID, recentID string) {
	t.Helper()
	path, _ = cliDatabase(t)
	at := func(ago time.Duration) *store.DB {
		return openTestStore(t, path, store.Options{Now: func() time.Time { return time.Now().Add(-ago) }})
	}
	old, recent := at(10*day), at(2*day)
	req := tokenadmin.IssueRequest{ClientID: "portal", User: "alice", AccessTTL: day}
	for range 3 {
		issue(t, old, req)
	}
	revoke := func(db *store.DB) string {
		iss := issue(t, db, tokenadmin.IssueRequest{ClientID: "portal", User: "bob", AccessTTL: 30 * day})
		if _, err := db.RevokeToken(t.Context(), tokenadmin.RevokeRequest{TokenID: iss.Access.ID, Actor: "admin"}); err != nil {
			t.Fatal(err)
		}
		return iss.Access.ID
	}
	revoke(old)
	revoke(old)
	recentID = revoke(recent)
	liveID = issue(t, recent, tokenadmin.IssueRequest{ClientID: "portal", User: "alice", AccessTTL: 30 * day}).Access.ID
	return path, liveID, recentID
}

func TestPurgeCommand(t *testing.T) {
	_, liveID, recentID := purgeDatabase(t)

	r := runMain(t, "", "purge", "--dry-run")
	if r.code != 0 || r.stdout != "would purge 2 revoked and 3 expired tokens\n" || r.stderr != "" {
		t.Fatalf("purge --dry-run: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if r := runMain(t, "", "purge", "--dry-run"); r.stdout != "would purge 2 revoked and 3 expired tokens\n" {
		t.Fatalf("a dry run changed something: the second one says %q", r.stdout)
	}

	// Not a terminal: stdout is the one summary line, stderr the progress
	// report's one line.
	r = runMain(t, "", "purge")
	if r.code != 0 || r.stdout != "purged 2 revoked and 3 expired tokens\n" {
		t.Fatalf("purge: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if !regexp.MustCompile(`^purging \[=+\] 100% 5/5 \d+/s\n$`).MatchString(r.stderr) {
		t.Errorf("purge: stderr %q, want one progress line", r.stderr)
	}
	if r := runMain(t, "", "purge"); r.code != 0 || r.stdout != "purged 0 revoked and 0 expired tokens\n" {
		t.Errorf("second purge: exit %d, stdout %q", r.code, r.stdout)
	}
	if r := runMain(t, "", "token", "show", recentID); r.code != 0 || !strings.Contains(r.stdout, "revoked") {
		t.Errorf("token show of a token revoked two days ago: exit %d, %q %q; want it explained", r.code, r.stdout, r.stderr)
	}

	r = runMain(t, "", "purge", "--revoked-after", "24h", "--expired-after", "1h")
	if r.code != 0 || r.stdout != "purged 1 revoked and 0 expired tokens\n" {
		t.Errorf("purge --revoked-after 24h: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if r := runMain(t, "", "token", "show", recentID); r.code != 1 || !strings.Contains(r.stderr, "not found") {
		t.Errorf("token show of a purged token: exit %d, stderr %q; want not found", r.code, r.stderr)
	}
	if r := runMain(t, "", "token", "show", liveID); r.code != 0 {
		t.Errorf("token show of the live token: exit %d, stderr %q", r.code, r.stderr)
	}

	// Every purge is in the audit log with what it deleted; dry runs are not.
	r = runMain(t, "", "audit", "list", "--action", "purge", "--json")
	var events []struct {
		Actor, Role, Target, Outcome, Reason string
		ClientAddr                           string `json:"client_addr"`
		Count                                int
	}
	if err := json.Unmarshal([]byte(r.stdout), &events); err != nil || r.code != 0 {
		t.Fatalf("audit list --action purge: exit %d, %v, %q", r.code, err, r.stdout)
	}
	var got []string
	for _, e := range events {
		got = append(got, fmt.Sprintf("%s/%s/%s %s %d %s", e.Role, e.ClientAddr, e.Outcome, e.Target, e.Count, e.Reason))
		if !strings.HasPrefix(e.Actor, "cli") {
			t.Errorf("purge recorded with actor %q, want the CLI's", e.Actor)
		}
	}
	want := []string{
		"admin/local/success tokens 5 2 revoked, 3 expired",
		"admin/local/success tokens 0 0 revoked, 0 expired",
		"admin/local/success tokens 1 1 revoked, 0 expired",
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("purge audit records = %q, want %q", got, want)
	}
	if r := runMain(t, "", "audit", "verify"); r.code != 0 {
		t.Errorf("audit verify after purges: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
}

func TestPurgeCommandMistakes(t *testing.T) {
	purgeDatabase(t)
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{name: "unparsable duration", args: []string{"--revoked-after", "a week"}, code: 2, want: "invalid value"},
		{name: "zero retention", args: []string{"--expired-after", "0"}, code: 2, want: "--expired-after must be positive"},
		{name: "negative retention", args: []string{"--revoked-after=-1h"}, code: 2, want: "--revoked-after must be positive"},
		{name: "argument", args: []string{"everything"}, code: 2, want: `unexpected argument "everything"`},
		{name: "missing database", args: []string{"--db", "/nonexistent/tokenadmin.db"}, code: 1, want: "tokenadmin serve creates it"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runMain(t, "", append([]string{"purge"}, tc.args...)...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.want) || r.stdout != "" {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d and %q", r.code, r.stdout, r.stderr, tc.code, tc.want)
			}
		})
	}
	if r := runMain(t, "", "purge", "--dry-run"); r.stdout != "would purge 2 revoked and 3 expired tokens\n" {
		t.Errorf("a mistaken purge changed something: %q", r.stdout)
	}
}

// TestPurgeCommandInterrupted stops the purge after its first batch, as
// Ctrl-C does: what was purged is reported and stays purged, and the rest
// is left for the next run.
func TestPurgeCommandInterrupted(t *testing.T) {
	purgeDatabase(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	purgeProgressHook = func(int64) { cancel() }
	t.Cleanup(func() { purgeProgressHook = nil })
	var stdout, stderr bytes.Buffer
	code := Main(ctx, []string{"purge"}, strings.NewReader(""), &stdout, &stderr)
	// The revoked tokens are the first batch.
	if code != 1 || stdout.String() != "interrupted: purged 2 revoked and 0 expired tokens\n" || !strings.Contains(stderr.String(), "interrupted; run purge again") {
		t.Fatalf("interrupted purge: exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
	purgeProgressHook = nil
	if r := runMain(t, "", "purge"); r.code != 0 || r.stdout != "purged 0 revoked and 3 expired tokens\n" {
		t.Errorf("purge after the interruption: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

func TestServeJanitor(t *testing.T) {
	t.Run("bad flags", func(t *testing.T) {
		t.Setenv("TOKENADMIN_DB", newDatabase(t))
		for _, args := range [][]string{
			{"--purge-revoked-after", "0"},
			{"--purge-expired-after", "-1h"},
			{"--janitor-interval", "-1m"},
			{"--janitor-interval", "often"},
		} {
			if r := runMain(t, "", append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...); r.code != 2 {
				t.Errorf("serve %q: exit %d, stderr %q; want 2", args, r.code, r.stderr)
			}
		}
	})

	t.Run("purges in the background and logs each run", func(t *testing.T) {
		t.Setenv("TOKENADMIN_ADMIN_PASSWORD", adminPassword)
		path, liveID, _ := purgeDatabase(t)
		ts := startTestServer(t, serveConfig{DB: path, Janitor: store.JanitorOptions{
			Interval: 10 * time.Millisecond, RevokedRetention: store.DefaultRevokedRetention, ExpiredRetention: store.DefaultExpiredRetention,
		}})
		run := regexp.MustCompile(`"msg":"janitor run","purged_revoked":2,"purged_expired":3,`)
		for deadline := time.Now().Add(10 * time.Second); !run.MatchString(ts.stderr.String()); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("no janitor run purged the 5 tokens within 10s; log:\n%s", ts.stderr)
			}
		}
		if s := ts.db.JanitorStats(); s.PurgedRevoked != 2 || s.PurgedExpired != 3 {
			t.Errorf("JanitorStats = %+v", s)
		}
		if _, err := ts.db.GetToken(t.Context(), liveID); err != nil {
			t.Errorf("the janitor touched the live token: %v", err)
		}
		// Its run is in the audit log, by "system".
		page, err := ts.db.ListAuditEvents(t.Context(), tokenadmin.AuditFilter{Action: tokenadmin.AuditPurge, PageSize: 10})
		if err != nil || len(page.Events) != 1 {
			t.Fatalf("purge audit records: %v, %v; want 1", page, err)
		}
		if e := page.Events[0]; e.Actor != "system" || e.Count != 5 || e.Outcome != tokenadmin.AuditSuccess || e.Reason != "janitor: 2 revoked, 3 expired" {
			t.Errorf("janitor audit record = %+v", e)
		}
		// Its progress is on /metrics.
		resp, err := http.Get(ts.URL() + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		metrics, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, want := range []string{`tokenadmin_janitor_purged_total{kind="expired"} 3`, `tokenadmin_janitor_purged_total{kind="revoked"} 2`, "tokenadmin_janitor_last_run_timestamp_seconds "} {
			if !strings.Contains(string(metrics), want) {
				t.Errorf("/metrics lacks %q", want)
			}
		}
		ts.close(t)
	})
}
