package tokenvalidation_test

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// originalWSDL is WSO2's stub WSDL, beside the repository (see the
// go:generate line in generate.go).
const originalWSDL = "../../../../shared/legacy/wsdl/OAuth2TokenValidationService.2016-03.wsdl"

// TestGeneratedCodeIsUpToDate regenerates tokenvalidation.go into a temporary
// directory with the pinned gowsdl and compares bytes, so that a gowsdl
// upgrade without `go generate` (or a hand edit) fails. Without the
// original WSDL beside the repository it skips, except under CI=true.
func TestGeneratedCodeIsUpToDate(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go tool gowsdl")
	}
	if _, err := os.Stat(originalWSDL); errors.Is(err, fs.ErrNotExist) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing: CI must check out shared/ beside the repository", originalWSDL)
		}
		t.Skipf("%s is missing (shared/ is not beside the repository)", originalWSDL)
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go is not on PATH: %v", err)
	}
	dir := t.TempDir()
	cmd := exec.Command(gobin, "tool", "gowsdl", "-d", dir, "-p", "tokenvalidation", "-o", "tokenvalidation.go", originalWSDL)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go tool gowsdl: %v\n%s", err, out)
	}
	got, err := os.ReadFile(filepath.Join(dir, "tokenvalidation", "tokenvalidation.go"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("tokenvalidation.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("tokenvalidation.go is not what gowsdl generates from %s; run `go generate ./internal/wso2client/tokenvalidation` and commit the result\n%s",
			originalWSDL, firstDifference(want, got))
	}
}

// firstDifference describes the first line where committed and generated
// differ.
func firstDifference(committed, generated []byte) string {
	a := strings.Split(string(committed), "\n")
	b := strings.Split(string(generated), "\n")
	for i := 0; i < len(a) || i < len(b); i++ {
		var la, lb string
		if i < len(a) {
			la = a[i]
		}
		if i < len(b) {
			lb = b[i]
		}
		if la != lb {
			return fmt.Sprintf("first difference at line %d:\n  committed: %q\n  generated: %q", i+1, la, lb)
		}
	}
	return "files differ"
}
