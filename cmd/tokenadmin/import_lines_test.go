package main

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// A row with the wrong number of fields that spans lines (a quoted
// newline) ends a batch: the checkpoint records its last line, so a
// resumed run numbers the lines after it as an uninterrupted run does.
func TestImportResumeAfterMultiLineBadRow(t *testing.T) {
	const ok = ",,access,portal,alice,2025-01-01T00:00:00Z,2099-01-01T00:00:00Z\n"
	file := writeFile(t, "tokens.csv", "value,hash,type,client_id,user,issued_at,expires_at\n"+ // line 1
		"ok-1"+ok+ // line 2
		"\"two\nlines\",,access\n"+ // lines 3-4: 3 fields, the header has 7
		"bad-type,,bearer,portal,alice,2025-01-01T00:00:00Z,2099-01-01T00:00:00Z\n"+ // line 5
		"ok-2"+ok) // line 6
	clean, resumed := newDatabase(t), newDatabase(t)
	for _, path := range []string{clean, resumed} {
		mustRun(t, "", "import", "apps", writeFile(t, "apps.csv", appsCSV), "--db", path)
	}
	args := func(path string) []string {
		return []string{"import", "tokens", file, "--batch-size", "2", "--db", path, "--json"}
	}
	var want rowsSummary
	if err := json.Unmarshal([]byte(mustRun(t, "", args(clean)...)), &want); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	setImportHook(t, func(n int) { cancel() })
	var stdout, stderr bytes.Buffer
	if code := Main(ctx, args(resumed), strings.NewReader(""), &stdout, &stderr); code != 1 ||
		!strings.Contains(stderr.String(), "interrupted after line 4;") {
		t.Fatalf("interrupted run: exit %d, want 1 and a stop after line 4; stderr:\n%s", code, stderr.String())
	}
	setImportHook(t, nil)
	r := runMain(t, "", args(resumed)...)
	if r.code != 0 {
		t.Fatalf("resumed run: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	var got rowsSummary
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatal(err)
	}
	if got.ResumedAfterLine != 4 {
		t.Errorf("resumed after line %d, want 4", got.ResumedAfterLine)
	}
	got.ResumedAfterLine = 0
	if !reflect.DeepEqual(got, want) {
		t.Errorf("summary of the resumed run:\n%+v\nof a clean run:\n%+v", got, want)
	}
}

// A JSONL file saved with a byte order mark (as some Windows editors do)
// imports its first row, as a CSV file with one does.
func TestImportJSONLWithBOM(t *testing.T) {
	path := newDatabase(t)
	mustRun(t, "", "import", "apps", writeFile(t, "apps.csv", appsCSV), "--db", path)
	file := writeFile(t, "tokens.jsonl", "\ufeff"+
		`{"value":"bom-first","type":"access","client_id":"portal","user":"alice","issued_at":"2025-01-01T00:00:00Z","expires_at":"2099-01-01T00:00:00Z"}`+"\r\n"+
		`{"value":"bom-second","type":"access","client_id":"portal","user":"alice","issued_at":"2025-01-01T00:00:00Z","expires_at":"2099-01-01T00:00:00Z"}`+"\r\n")
	if sum := runImportJSON(t, 0, "import", "tokens", file, "--db", path); sum.Imported != 2 || sum.Skipped != 0 {
		t.Errorf("summary %+v, want both rows imported", sum)
	}
}

// A CSV file saved with a byte order mark whose first header field is
// quoted (as spreadsheet exports write it) imports like one without: the
// mark is skipped before parsing, in the native and the WSO2 imports, and
// the lines and offsets after it stay right.
func TestImportCSVWithBOMAndQuotedHeader(t *testing.T) {
	path := newDatabase(t)
	apps := writeFile(t, "apps.csv", "\ufeff\"client_id\",\"name\"\r\nportal,HR Portal\r\n")
	if sum := runImportJSON(t, 0, "import", "apps", apps, "--db", path); sum.Imported != 1 || sum.Skipped != 0 {
		t.Errorf("apps: %+v, want 1 imported", sum)
	}
	tokens := writeFile(t, "tokens.csv", "\ufeff\"value\",type,client_id,user,issued_at,expires_at\r\n"+
		"bom-1,access,portal,alice,2025-01-01T00:00:00Z,2099-01-01T00:00:00Z\r\n"+
		"bom-2,bearer,portal,alice,2025-01-01T00:00:00Z,2099-01-01T00:00:00Z\r\n")
	sum := runImportJSON(t, 0, "import", "tokens", tokens, "--db", path)
	if sum.Imported != 1 || len(sum.Skips) != 1 || !slices.Contains(sum.Skips[0].Examples, `line 3: "bearer"`) {
		t.Errorf("tokens: %+v, want 1 imported and line 3 skipped", sum)
	}
	wso2Apps := writeFile(t, "wso2-apps.csv", "\ufeff\"CONSUMER_KEY\",CONSUMER_SECRET,USERNAME,APP_NAME,GRANT_TYPES\r\n"+
		"ck1,s3cret,admin,Portal,password\r\n")
	r := runMain(t, "", "import", "wso2", "--apps", wso2Apps, "--json", "--db", path)
	if r.code != 0 || !strings.Contains(r.stdout, `"created": 1`) {
		t.Errorf("import wso2 --apps: exit %d, stdout %s, stderr %s", r.code, r.stdout, r.stderr)
	}
}
