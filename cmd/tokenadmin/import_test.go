package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"tokenadmin"
	"tokenadmin/store"
)

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestImportWSO2(t *testing.T) {
	sum := sha256.Sum256([]byte("hashed-token"))
	hashJSON := `"{""algorithm"":""SHA-256"",""hash"":""` + hex.EncodeToString(sum[:]) + `""}"`
	eras := []struct {
		name, apps, tokens, scopes string
	}{
		{
			name: "IS 5.0 columns",
			apps: "CONSUMER_KEY,CONSUMER_SECRET,USERNAME,TENANT_ID,APP_NAME,OAUTH_VERSION,CALLBACK_URL,GRANT_TYPES\n" +
				"ck1,s3cret,admin,-1234,Portal,OAuth-2.0,,password refresh_token authorization_code\n",
			tokens: "ACCESS_TOKEN,REFRESH_TOKEN,CONSUMER_KEY,AUTHZ_USER,USER_TYPE,TIME_CREATED,VALIDITY_PERIOD,TOKEN_SCOPE,TOKEN_STATE,TOKEN_STATE_ID\n" +
				"plain-token,plain-refresh,ck1,alice,APPLICATION_USER,2099-01-01 00:00:00,3600000,read,ACTIVE,NONE\n" +
				"old-token,NULL,ck1,alice,APPLICATION_USER,2015-01-01 00:00:00.123,3600000,read,REVOKED,x\n" +
				"other-token,NULL,ck9,alice,APPLICATION_USER,2015-01-01 00:00:00,3600000,read,ACTIVE,NONE\n",
		},
		{
			name: "IS 5.10 columns",
			apps: "ID,CONSUMER_KEY,CONSUMER_SECRET,USERNAME,TENANT_ID,USER_DOMAIN,APP_NAME,OAUTH_VERSION,CALLBACK_URL,GRANT_TYPES,APP_STATE\n" +
				"7,ck1,s3cret,admin,-1234,PRIMARY,Portal,OAuth-2.0,,password refresh_token authorization_code,ACTIVE\n",
			tokens: "TOKEN_ID,ACCESS_TOKEN,REFRESH_TOKEN,CONSUMER_KEY_ID,AUTHZ_USER,TENANT_ID,USER_DOMAIN,USER_TYPE,GRANT_TYPE,TIME_CREATED,REFRESH_TOKEN_TIME_CREATED,VALIDITY_PERIOD,REFRESH_TOKEN_VALIDITY_PERIOD,TOKEN_SCOPE_HASH,TOKEN_STATE,TOKEN_STATE_ID,SUBJECT_IDENTIFIER,ACCESS_TOKEN_HASH,REFRESH_TOKEN_HASH\n" +
				"t1,plain-token,plain-refresh,7,alice,-1234,PRIMARY,APPLICATION_USER,password,2099-01-01T00:00:00Z,2099-01-01T00:00:00Z,3600000,86400000,x,ACTIVE,NONE,alice,,\n" +
				"t2,old-token,NULL,7,alice,-1234,PRIMARY,APPLICATION_USER,password,2015-01-01 00:00:00,2015-01-01 00:00:00,3600000,-1,x,REVOKED,x,alice,,\n" +
				"t3,encrypted-blob,NULL,7,bob,-1234,LDAP,APPLICATION_USER,password,2099-01-01 00:00:00,2099-01-01 00:00:00,-1,-1,x,ACTIVE,NONE,bob," + hashJSON + ",\n" +
				"t4,other-token,NULL,99,alice,-1234,PRIMARY,APPLICATION_USER,password,2015-01-01 00:00:00,2015-01-01 00:00:00,3600000,-1,x,ACTIVE,NONE,alice,,\n",
			scopes: "TOKEN_ID,TOKEN_SCOPE,TENANT_ID\nt1,openid,-1234\nt1,orders,-1234\nt3,read,-1234\n",
		},
	}
	for _, era := range eras {
		t.Run(era.name, func(t *testing.T) {
			path := newDatabase(t)
			apps := writeFile(t, "apps.csv", era.apps)
			tokens := writeFile(t, "tokens.csv", era.tokens)
			args := []string{"import", "wso2", "--apps", apps, "--tokens", tokens, "--db", path}
			if era.scopes != "" {
				args = append(args, "--scopes", writeFile(t, "scopes.csv", era.scopes))
			}
			var got importSummary
			if err := json.Unmarshal([]byte(mustRun(t, "", append(args, "--json")...)), &got); err != nil {
				t.Fatal(err)
			}
			if got.Apps.Created != 1 || !reflect.DeepEqual(got.Apps.DroppedGrantTypes, map[string]int{"authorization_code": 1}) {
				t.Errorf("apps: %+v", got.Apps)
			}
			imported := 2
			if era.name == "IS 5.10 columns" {
				imported = 3
			}
			if got.Tokens.Imported != imported || got.Tokens.RefreshTokens != 1 ||
				!reflect.DeepEqual(got.Tokens.Skipped, map[string]int{store.SkipUnknownApp: 1}) {
				t.Errorf("tokens: %+v", got.Tokens)
			}

			again := mustRun(t, "", args...)
			wantText := "apps: 0 created, 1 skipped\n  skipped: already exists: 1\n    line 2: app \"ck1\"\n" +
				"tokens: 0 imported (and 0 refresh tokens), 3 skipped\n" +
				"  skipped: already imported: 2\n" +
				"    line 2: app \"ck1\", user \"alice\"\n    line 3: app \"ck1\", user \"alice\"\n" +
				"  skipped: unknown consumer key: 1\n    line 4: CONSUMER_KEY \"ck9\"\n"
			if imported == 3 {
				wantText = "apps: 0 created, 1 skipped\n  skipped: already exists: 1\n    line 2: app \"ck1\"\n" +
					"tokens: 0 imported (and 0 refresh tokens), 4 skipped\n" +
					"  skipped: already imported: 3\n" +
					"    line 2: app \"ck1\", user \"alice\"\n    line 3: app \"ck1\", user \"alice\"\n    line 4: app \"ck1\", user \"LDAP/bob\"\n" +
					"  skipped: unknown consumer key: 1\n    line 5: CONSUMER_KEY_ID \"99\"\n"
			}
			if again != wantText {
				t.Errorf("second run:\n%s\nwant:\n%s", again, wantText)
			}

			db := openTestStore(t, path, store.Options{})
			for value, want := range map[string]tokenadmin.TokenState{
				"plain-token": tokenadmin.StateActive, "plain-refresh": tokenadmin.StateActive, "old-token": tokenadmin.StateRevoked,
			} {
				tok, err := db.LookupToken(t.Context(), value)
				if err != nil || tok.State != want || tok.User != "alice" {
					t.Errorf("%s: %+v, %v; want %s of alice", value, tok, err, want)
				}
			}
			if imported == 3 {
				// Scopes joined from IDN_OAUTH2_ACCESS_TOKEN_SCOPE.
				if tok, err := db.LookupToken(t.Context(), "plain-token"); err != nil || !reflect.DeepEqual(tok.Scopes, []string{"openid", "orders"}) {
					t.Errorf("plain-token scopes: %+v, %v; want [openid orders]", tok, err)
				}
				tok, err := db.LookupToken(t.Context(), "hashed-token")
				if err != nil || tok.State != tokenadmin.StateActive || tok.User != "LDAP/bob" {
					t.Errorf("hash-only token: %+v, %v", tok, err)
				}
			}
			if _, err := db.AuthenticateClient(t.Context(), "ck1", "s3cret"); err != nil {
				t.Errorf("imported secret: %v", err)
			}
		})
	}
}

func TestImportWSO2Errors(t *testing.T) {
	path := newDatabase(t)
	for _, tc := range []struct {
		name string
		args []string
		code int
	}{
		{name: "no files", args: []string{"import", "wso2", "--db", path}, code: 2},
		{name: "missing file", args: []string{"import", "wso2", "--tokens", filepath.Join(t.TempDir(), "none.csv"), "--db", path}, code: 1},
		{name: "malformed CSV", args: []string{"import", "wso2", "--tokens", writeFile(t, "bad.csv", "A,B\n1,2,3\n"), "--db", path}, code: 1},
		{name: "no app column", args: []string{"import", "wso2", "--tokens", writeFile(t, "t.csv", "ACCESS_TOKEN\nx\n"), "--db", path}, code: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if r := runMain(t, "", tc.args...); r.code != tc.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", r.code, tc.code, r.stderr)
			}
		})
	}
}

// TestImportWSO2NeedsScopeTable: an IS 5.1+ export keeps scopes in a table
// of its own; importing its tokens without it would drop every scope.
func TestImportWSO2NeedsScopeTable(t *testing.T) {
	path := newDatabase(t)
	tokens := writeFile(t, "tokens.csv", "TOKEN_ID,ACCESS_TOKEN,CONSUMER_KEY,AUTHZ_USER,TIME_CREATED,VALIDITY_PERIOD,TOKEN_SCOPE_HASH,TOKEN_STATE\n"+
		"t1,v,ck1,alice,2099-01-01 00:00:00,3600000,abc,ACTIVE\n")
	r := runMain(t, "", "import", "wso2", "--tokens", tokens, "--db", path)
	if r.code != 1 || !strings.Contains(r.stderr, "give --scopes") {
		t.Errorf("import without the scope table: exit %d, stderr %q; want 1 and a hint to give --scopes", r.code, r.stderr)
	}
}

// TestImportWSO2SameTokenByValueThenByHash: a token imported with its
// value is the same token when a later export holds only its hash.
func TestImportWSO2SameTokenByValueThenByHash(t *testing.T) {
	path := newDatabase(t)
	apps := writeFile(t, "apps.csv", "CONSUMER_KEY,APP_NAME\nck1,Portal\n")
	byValue := writeFile(t, "v.csv", "ACCESS_TOKEN,CONSUMER_KEY,AUTHZ_USER,TIME_CREATED,VALIDITY_PERIOD,TOKEN_STATE\n"+
		"the-token,ck1,alice,2099-01-01 00:00:00,3600000,ACTIVE\n")
	sum := sha256.Sum256([]byte("the-token"))
	byHash := writeFile(t, "h.csv", "ACCESS_TOKEN,ACCESS_TOKEN_HASH,CONSUMER_KEY,AUTHZ_USER,TIME_CREATED,VALIDITY_PERIOD,TOKEN_STATE\n"+
		"encrypted,"+hex.EncodeToString(sum[:])+",ck1,alice,2099-01-01 00:00:00,3600000,ACTIVE\n")
	mustRun(t, "", "import", "wso2", "--apps", apps, "--tokens", byValue, "--db", path)
	out := mustRun(t, "", "import", "wso2", "--tokens", byHash, "--db", path)
	if !strings.Contains(out, "tokens: 0 imported") || !strings.Contains(out, "already imported: 1") {
		t.Errorf("second import, by hash:\n%s\nwant the token recognised as already imported", out)
	}
}
