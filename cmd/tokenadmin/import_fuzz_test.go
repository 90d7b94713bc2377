package main

// Native fuzz targets for the WSO2 CSV import's parsers of untrusted bytes
// (HOUSE_STYLE habit 13). Crashers land in testdata/fuzz/<Target>/ and
// replay on every go test.

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Seed rows of both WSO2 eras: IS 5.0 (CONSUMER_KEY, no hash columns) and
// IS 5.1+/5.10 (ID / CONSUMER_KEY_ID, USER_DOMAIN, ACCESS_TOKEN_HASH JSON).
var (
	fuzzHashHex  = func() string { s := sha256.Sum256([]byte("hashed-token")); return hex.EncodeToString(s[:]) }()
	fuzzHashJSON = `{"algorithm":"SHA-256","hash":"` + fuzzHashHex + `"}`

	fuzzApps50 = "CONSUMER_KEY,CONSUMER_SECRET,USERNAME,TENANT_ID,APP_NAME,OAUTH_VERSION,CALLBACK_URL,GRANT_TYPES\n" +
		"ck1,s3cret,admin,-1234,Portal,OAuth-2.0,,password refresh_token authorization_code\n"
	fuzzTokens50 = "ACCESS_TOKEN,REFRESH_TOKEN,CONSUMER_KEY,AUTHZ_USER,USER_TYPE,TIME_CREATED,VALIDITY_PERIOD,TOKEN_SCOPE,TOKEN_STATE,TOKEN_STATE_ID\n" +
		"plain-token,plain-refresh,ck1,alice,APPLICATION_USER,2099-01-01 00:00:00,3600000,read,ACTIVE,NONE\n" +
		"old-token,NULL,ck1,alice,APPLICATION_USER,2015-01-01 00:00:00.123,3600000,read write,REVOKED,x\n" +
		"other-token,\\N,ck9,alice,APPLICATION_USER,2015-01-01 00:00:00,,read,ACTIVE,NONE\n"
	fuzzApps510 = "\ufeffID,CONSUMER_KEY,CONSUMER_SECRET,USERNAME,TENANT_ID,USER_DOMAIN,APP_NAME,OAUTH_VERSION,CALLBACK_URL,GRANT_TYPES,APP_STATE\n" +
		"7,ck1,s3cret,admin,-1234,PRIMARY,Portal,OAuth-2.0,,password refresh_token authorization_code,ACTIVE\n" +
		"8,ck2,NULL,bob,-1234,LDAP,,OAuth-2.0,,client_credentials,REVOKED\n"
	fuzzTokens510 = "TOKEN_ID,ACCESS_TOKEN,REFRESH_TOKEN,CONSUMER_KEY_ID,AUTHZ_USER,TENANT_ID,USER_DOMAIN,USER_TYPE,GRANT_TYPE,TIME_CREATED,REFRESH_TOKEN_TIME_CREATED,VALIDITY_PERIOD,REFRESH_TOKEN_VALIDITY_PERIOD,TOKEN_SCOPE_HASH,TOKEN_STATE,TOKEN_STATE_ID,SUBJECT_IDENTIFIER,ACCESS_TOKEN_HASH,REFRESH_TOKEN_HASH\n" +
		"t1,plain-token,plain-refresh,7,alice,-1234,PRIMARY,APPLICATION_USER,password,2099-01-01T00:00:00Z,2099-01-01T00:00:00Z,3600000,86400000,x,ACTIVE,NONE,alice,,\n" +
		"t2,old-token,NULL,7,alice,-1234,PRIMARY,APPLICATION_USER,password,2015-01-01 00:00:00,2015-01-01 00:00:00,3600000,-1,x,REVOKED,x,alice,,\n" +
		`t3,encrypted-blob,NULL,7,bob,-1234,LDAP,APPLICATION_USER,password,2099-01-01 00:00:00,2099-01-01 00:00:00,-1,-1,x,ACTIVE,NONE,bob,"` + strings.ReplaceAll(fuzzHashJSON, `"`, `""`) + "\",\n" +
		`t4,"` + strings.ReplaceAll(fuzzHashJSON, `"`, `""`) + `",NULL,8,carol,-1234,PRIMARY,APPLICATION_USER,client_credentials,2020-06-01T12:00:00.5+02:00,,3600000,,x,ACTIVE,NONE,carol,` + fuzzHashHex + ",\n"
)

func isLowerHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func FuzzWSO2Hash(f *testing.F) {
	for _, s := range []string{"", fuzzHashJSON, strings.ToUpper(fuzzHashHex), fuzzHashHex,
		`{"hash":"` + fuzzHashHex + `","algorithm":"SHA256"}`,
		`{"algorithm":"SHA-512","hash":"abcd"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		h, ok := wso2Hash(v)
		if ok && h != "" && !isLowerHex64(h) {
			t.Fatalf("wso2Hash(%q) = %q, ok; want 64 lower-hex chars", v, h)
		}
		if jh, isJSON := wso2HashJSON(v); isJSON && jh != "" && !isLowerHex64(jh) {
			t.Fatalf("wso2HashJSON(%q) = %q; want 64 lower-hex chars", v, jh)
		}
	})
}

func FuzzWSO2Value(f *testing.F) {
	f.Add("plain-token", "")
	f.Add("hashed-token", fuzzHashJSON)
	f.Add("encrypted-blob", fuzzHashJSON)
	f.Add(fuzzHashJSON, "")
	f.Add("", fuzzHashHex)
	f.Add("x", `{"algorithm":"MD5","hash":"00"}`)
	f.Fuzz(func(t *testing.T, column, hashColumn string) {
		value, ext, ok := wso2Value(column, hashColumn)
		if !ok {
			if value != "" || ext != "" {
				t.Fatalf("wso2Value(%q, %q) = %q, %q, false", column, hashColumn, value, ext)
			}
			return
		}
		if value != "" && ext != "" {
			t.Fatalf("wso2Value(%q, %q) = both value %q and hash %q", column, hashColumn, value, ext)
		}
		if value != "" && value != column {
			t.Fatalf("wso2Value(%q, %q) value = %q, not the column", column, hashColumn, value)
		}
		if ext != "" && ext != strings.ToLower(ext) {
			t.Fatalf("wso2Value(%q, %q) hash %q not lower case", column, hashColumn, ext)
		}
	})
}

func FuzzWSO2Time(f *testing.F) {
	for _, s := range []string{"2015-01-01 00:00:00", "2015-01-01 00:00:00.123", "2099-01-01T00:00:00Z",
		"2020-06-01T12:00:00.5+02:00", "2020-02-30 00:00:00", "", "NULL"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		tm, err := wso2Time(v)
		if err != nil {
			if !tm.IsZero() {
				t.Fatalf("wso2Time(%q) = %v with error %v", v, tm, err)
			}
			return
		}
		if tm.Location() != time.UTC {
			t.Fatalf("wso2Time(%q) = %v in %v, want UTC", v, tm, tm.Location())
		}
	})
}

func FuzzWSO2Millis(f *testing.F) {
	for _, s := range []string{"", "3600000", "86400000", "-1", "0", "+5", "1e3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		d, err := wso2Millis(v, wso2AccessDefault)
		if err != nil {
			return
		}
		if v == "" {
			if d != wso2AccessDefault {
				t.Fatalf("wso2Millis(\"\") = %v", d)
			}
			return
		}
		n, _ := strconv.ParseInt(v, 10, 64)
		switch {
		case (n < 0 || n > math.MaxInt64/int64(time.Millisecond)) && d != -1:
			t.Fatalf("wso2Millis(%q) = %v, want -1 (never expires)", v, d)
		case n >= 0 && n <= math.MaxInt64/int64(time.Millisecond) && (d < 0 || int64(d/time.Millisecond) != n):
			t.Fatalf("wso2Millis(%q) = %v: overflows time.Duration", v, d)
		}
	})
}

// FuzzWSO2CSV feeds raw bytes through the streaming reader of import wso2
// and converts every row as importWSO2 does (apps → keyByID, tokens →
// wso2Token), without a store.
func FuzzWSO2CSV(f *testing.F) {
	f.Add([]byte(fuzzApps50), []byte(fuzzTokens50))
	f.Add([]byte(fuzzApps510), []byte(fuzzTokens510))
	f.Add([]byte(""), []byte("ACCESS_TOKEN\nx\n"))
	f.Add([]byte("A,B\n1,2,3\n"), []byte("CONSUMER_KEY,CONSUMER_KEY\nk,\n"))
	f.Add([]byte("CONSUMER_KEY,ID\n\"k\"x,1\nk2,2\n"), []byte("CONSUMER_KEY_ID,ACCESS_TOKEN\n1,\"open\n2,y\n"))
	f.Fuzz(func(t *testing.T, appsCSV, tokensCSV []byte) {
		dir := t.TempDir()
		read := func(name string, b []byte) []wso2Row {
			p := filepath.Join(dir, name)
			if err := os.WriteFile(p, b, 0o600); err != nil {
				t.Fatal(err)
			}
			tab, err := openWSO2Table(p)
			if err != nil {
				return nil
			}
			defer tab.close()
			var rows []wso2Row
			for last := int64(0); ; {
				row, line, err := tab.next()
				var re *rowError
				switch {
				case errors.Is(err, io.EOF):
					return rows
				case errors.As(err, &re):
					line = re.line
				case err != nil:
					t.Fatalf("%s: %v", name, err)
				default:
					if len(row) != len(tab.cols) {
						t.Fatalf("%s: row of %d columns, header has %d", name, len(row), len(tab.cols))
					}
					rows = append(rows, maps.Clone(row))
				}
				if line <= last || tab.r.line() < line {
					t.Fatalf("%s: row at line %d after line %d, reader at line %d", name, line, last, tab.r.line())
				}
				last = tab.r.line()
			}
		}
		apps, tokens := read("apps.csv", appsCSV), read("tokens.csv", tokensCSV)
		keyByID := map[string]string{}
		for _, row := range apps {
			key := row.get("CONSUMER_KEY")
			if id := row.get("ID"); id != "" && key != "" {
				keyByID[id] = key
			}
			_ = wso2User(row.get("USERNAME"), row.get("USER_DOMAIN"))
		}
		for _, row := range tokens {
			it, reason := wso2Token(row, keyByID)
			if reason != "" {
				continue
			}
			if it.IssuedAt.Location() != time.UTC {
				t.Fatalf("IssuedAt %v not UTC", it.IssuedAt)
			}
			if !it.RefreshIssuedAt.IsZero() && it.RefreshIssuedAt.Location() != time.UTC {
				t.Fatalf("RefreshIssuedAt %v not UTC", it.RefreshIssuedAt)
			}
			if it.Value != "" && it.ExtHash != "" || it.RefreshValue != "" && it.RefreshExtHash != "" {
				t.Fatalf("token with both value and hash: %+v", it)
			}
			for _, s := range it.Scopes {
				if s == "" || strings.ContainsAny(s, " ,") {
					t.Fatalf("bad scope %q in %q", s, it.Scopes)
				}
			}
			if it.Validity < -1 || it.RefreshValidity < -1 {
				t.Fatalf("validity %v / refresh %v below -1 (overflow?)", it.Validity, it.RefreshValidity)
			}
		}
	})
}
