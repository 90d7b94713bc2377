package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"tokenadmin"
	"tokenadmin/store"
)

// TestAcknowledgedRevocationsSurviveKill runs the real binary, revokes
// tokens over SOAP from several clients, kills the process in the middle
// of the load, and checks that every revocation the server acknowledged is
// in the database afterwards: with SIGKILL (a crash: nothing runs after
// it) and with SIGTERM (a graceful shutdown).
func TestAcknowledgedRevocationsSurviveKill(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := filepath.Join(t.TempDir(), "tokenadmin")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			path := newDatabase(t)
			db := openTestStore(t, path, store.Options{})
			if err := db.Seed(t.Context(), store.SeedSpec{Users: 100, GrantsPerUser: 10, Apps: 2}); err != nil {
				t.Fatal(err)
			}
			ids := accessTokenIDs(t, db)

			cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--db", path)
			cmd.Env = append(os.Environ(), "TOKENADMIN_ADMIN_PASSWORD=crash-test-password")
			stderr, err := cmd.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
			url := serverURL(t, stderr)

			var (
				acked    sync.Map // token id → true once the server said revoked=true
				nAcked   atomic.Int64
				next     atomic.Int64
				stopping atomic.Bool
				wg       sync.WaitGroup
			)
			client := &http.Client{Timeout: 5 * time.Second}
			for range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						i := int(next.Add(1)) - 1
						if i >= len(ids) {
							return
						}
						ok, err := soapRevoke(client, url, ids[i])
						if err != nil {
							if !stopping.Load() {
								t.Errorf("revokeToken before the signal: %v", err)
							}
							return
						}
						if ok {
							acked.Store(ids[i], true)
							nAcked.Add(1)
						}
					}
				}()
			}
			for deadline := time.Now().Add(20 * time.Second); nAcked.Load() < 200; time.Sleep(time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("only %d revocations acknowledged in 20s", nAcked.Load())
				}
			}
			stopping.Store(true)
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			wg.Wait()
			werr := cmd.Wait()
			if sig == syscall.SIGTERM && werr != nil {
				t.Errorf("serve after SIGTERM: %v, want exit status 0", werr)
			}

			check := openTestStore(t, path, store.Options{})
			var lost []string
			acked.Range(func(k, _ any) bool {
				tok, err := check.GetToken(t.Context(), k.(string))
				if err != nil || tok.State != tokenadmin.StateRevoked {
					lost = append(lost, k.(string))
				}
				return true
			})
			t.Logf("%s after %d acknowledged revocations", sig, nAcked.Load())
			if len(lost) > 0 {
				t.Errorf("%d of %d acknowledged revocations were lost, e.g. %v", len(lost), nAcked.Load(), lost[:min(3, len(lost))])
			}
		})
	}
}

// accessTokenIDs lists every active access token of a seeded store.
func accessTokenIDs(t *testing.T, db *store.DB) []string {
	t.Helper()
	svc := &tokenadmin.Service{Tokens: db}
	admin := tokenadmin.Caller{Name: "admin", Role: tokenadmin.RoleAdmin}
	f := tokenadmin.TokenFilter{Type: tokenadmin.AccessToken, PageSize: tokenadmin.MaxPageSize}
	var ids []string
	for {
		page, err := svc.ListActiveTokens(t.Context(), admin, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, tok := range page.Tokens {
			ids = append(ids, tok.ID)
		}
		if f.PageToken = page.NextPageToken; f.PageToken == "" {
			return ids
		}
	}
}

// serverURL reads the server's JSON log until it says where it serves.
func serverURL(t *testing.T, stderr io.Reader) string {
	t.Helper()
	lines := bufio.NewScanner(stderr)
	for lines.Scan() {
		var entry struct {
			Msg string `json:"msg"`
			URL string `json:"url"`
		}
		if json.Unmarshal(lines.Bytes(), &entry) == nil && entry.URL != "" {
			go io.Copy(io.Discard, stderr)
			return entry.URL
		}
	}
	t.Fatalf("the server never logged its URL: %v", lines.Err())
	return ""
}

// soapRevoke revokes one token; ok reports an acknowledged revocation.
func soapRevoke(client *http.Client, url, id string) (ok bool, err error) {
	req, err := http.NewRequest("POST", url, strings.NewReader(fmt.Sprintf(
		`<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>`+
			`<revokeToken xmlns="urn:tokenadmin:v1"><tokenId>%s</tokenId></revokeToken></s:Body></s:Envelope>`, id)))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.SetBasicAuth("admin", "crash-test-password")
	resp, err := client.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return false, err
	}
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("HTTP %d: %s", resp.StatusCode, body)
	}
	return bytes.Contains(body, []byte("<tns:revoked>true</tns:revoked>")), nil
}
