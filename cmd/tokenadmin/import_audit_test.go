package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"tokenadmin/store"
)

// TestImportAudited: every committed batch of the native import is one
// audit record (the CLI's actor, the file and kind as target, the rows
// the batch imported as count), written with the batch: an interrupted
// run leaves the records of its committed batches, the resumed run adds
// those of the others only, and the chain verifies.
func TestImportAudited(t *testing.T) {
	t.Setenv("USER", "importer")
	path := newDatabase(t)
	dir := t.TempDir()

	apps := writeFile(t, "apps.csv", appsCSV)
	mustRun(t, "", "import", "apps", apps, "--db", path)
	recs := auditRecords(t, "--action", "import", "--db", path)
	if len(recs) != 1 {
		t.Fatalf("import records after importing apps: %+v; want 1; all: %+v", recs, auditRecords(t, "--db", path))
	}
	if r := recs[0]; r.Actor != "cli:importer" || r.Role != "admin" || r.ClientAddr != "local" || r.Target != apps+" (apps)" ||
		r.Outcome != "success" || r.Count != strings.Count(appsCSV, "\n")-1 || !strings.HasPrefix(r.RequestID, "cli-") {
		t.Errorf("apps import record = %+v", r)
	}

	// 20 token rows in batches of 3: 7 batches. Interrupted after 2.
	file, _ := grantsFile(t, dir, ".csv", 10)
	args := []string{"import", "tokens", file, "--batch-size", "3", "--db", path}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	setImportHook(t, func(n int) {
		if n == 2 {
			cancel()
		}
	})
	var stdout, stderr bytes.Buffer
	if code := Main(ctx, args, strings.NewReader(""), &stdout, &stderr); code != 1 {
		t.Fatalf("interrupted run: exit %d, stderr:\n%s", code, stderr.String())
	}
	setImportHook(t, nil)
	tokenRecords := func() []auditJSON {
		var out []auditJSON
		for _, r := range auditRecords(t, "--action", "import", "--db", path) {
			if r.Target == file+" (tokens)" {
				out = append(out, r)
			}
		}
		return out
	}
	var counts []int
	for _, r := range tokenRecords() {
		counts = append(counts, r.Count)
	}
	if len(counts) != 2 || counts[0] != 3 || counts[1] != 3 {
		t.Fatalf("records of the interrupted run's batches: counts %v; want [3 3]", counts)
	}

	mustRun(t, "", args...)
	recs = tokenRecords()
	counts, total := nil, 0
	for _, r := range recs {
		if r.Outcome != "success" || r.Actor != "cli:importer" {
			t.Errorf("token import record = %+v", r)
		}
		counts = append(counts, r.Count)
		total += r.Count
	}
	if len(recs) != 7 || total != 20 {
		t.Errorf("token import records after resuming: counts %v; want 7 batches counting 20 rows", counts)
	}
	if len(recs) == 7 && (recs[1].RequestID != recs[0].RequestID || recs[2].RequestID == recs[1].RequestID || recs[6].RequestID != recs[2].RequestID) {
		t.Errorf("request ids: the first run's 2 batches and the resumed run's 5 should each share one: %+v", recs)
	}

	// A file of no rows is an import on record too, of nothing.
	empty := writeFile(t, "users.csv", "name,password\n")
	mustRun(t, "", "import", "users", empty, "--db", path)
	var emptyRecs []auditJSON
	for _, r := range auditRecords(t, "--action", "import", "--db", path) {
		if r.Target == empty+" (users)" {
			emptyRecs = append(emptyRecs, r)
		}
	}
	if len(emptyRecs) != 1 || emptyRecs[0].Count != 0 || emptyRecs[0].Outcome != "success" {
		t.Errorf("records of an empty import: %+v; want one counting 0", emptyRecs)
	}

	if out := mustRun(t, "", "audit", "verify", "--db", path); !strings.HasPrefix(out, "audit log intact: ") {
		t.Errorf("audit verify: %s", out)
	}
	db := openTestStore(t, path, store.Options{})
	if res, err := db.VerifyAudit(t.Context()); err != nil || !res.OK {
		t.Errorf("VerifyAudit = %+v, %v", res, err)
	}
}
