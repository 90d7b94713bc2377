package main

// tokenadmin import wso2: apps and tokens from CSV exports of WSO2's
// IDN_OAUTH_CONSUMER_APPS and IDN_OAUTH2_ACCESS_TOKEN tables, any era of
// ../shared/legacy/WIRE.md §9. Decisions:
//   - Column names are matched case-insensitively; unknown columns are
//     ignored. MySQL's NULL and \N read as empty.
//   - Tokens name their app by CONSUMER_KEY (IS 5.0) or CONSUMER_KEY_ID,
//     the apps file's ID (IS 5.1 on).
//   - User names: a USER_DOMAIN other than blank or PRIMARY is prefixed
//     as WSO2 writes qualified names, "DOMAIN/user"; TENANT_ID is ignored.
//   - CONSUMER_SECRET, exported in plain text, becomes the app's secret
//     (kept as our keyed hash) so that clients keep authenticating. If
//     the IS encrypted secrets, regenerate them afterwards.
//   - Grant types tokenadmin lacks (authorization_code, implicit, …) are
//     dropped from the app and counted in the summary. APP_STATE REVOKED
//     makes a disabled app. An app that exists already is left alone.
//   - ACCESS_TOKEN is taken as the token's value unless ACCESS_TOKEN_HASH
//     is present and is not its SHA-256 (the IS hashed or encrypted the
//     column): then only the hash is imported (see store.ImportTokens).
//   - An empty VALIDITY_PERIOD is WSO2's default, 3600 s; an empty
//     REFRESH_TOKEN_VALIDITY_PERIOD its default, 84600 s.

import (
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"tokenadmin"
	"tokenadmin/store"
)

const (
	wso2AccessDefault  = 3600 * time.Second
	wso2RefreshDefault = 84600 * time.Second
)

// importSummary is what import wso2 prints.
type importSummary struct {
	Apps struct {
		Created           int            `json:"created"`
		Skipped           map[string]int `json:"skipped"`
		DroppedGrantTypes map[string]int `json:"droppedGrantTypes"`
	} `json:"apps"`
	Tokens struct {
		Imported      int            `json:"imported"`
		RefreshTokens int            `json:"refreshTokens"`
		Skipped       map[string]int `json:"skipped"`
	} `json:"tokens"`
}

func init() {
	register(&command{
		name:    "import wso2",
		summary: "import apps and tokens from CSV exports of WSO2's IDN_OAUTH_CONSUMER_APPS and IDN_OAUTH2_ACCESS_TOKEN",
		usage:   "[--apps APPS.csv] [--tokens TOKENS.csv [--scopes SCOPES.csv]] [--json] [--db FILE]",
		flags: func(fs *flag.FlagSet) func(*env, []string) error {
			db := dbFlag(fs)
			appsFile := fs.String("apps", "", "CSV `file` of IDN_OAUTH_CONSUMER_APPS, with a header row")
			tokensFile := fs.String("tokens", "", "CSV `file` of IDN_OAUTH2_ACCESS_TOKEN, with a header row")
			scopesFile := fs.String("scopes", "", "CSV `file` of IDN_OAUTH2_ACCESS_TOKEN_SCOPE (TOKEN_ID, TOKEN_SCOPE): where IS 5.1 and later keep scopes")
			asJSON := fs.Bool("json", false, "print the summary as JSON")
			return func(e *env, args []string) error {
				if len(args) != 0 {
					return usagef("unexpected argument %q", args[0])
				}
				if *appsFile == "" && *tokensFile == "" {
					return usagef("give --apps, --tokens or both")
				}
				var apps, tokens, scopes *csvTable
				var err error
				if *scopesFile != "" {
					if *tokensFile == "" {
						return usagef("--scopes goes with --tokens")
					}
					if scopes, err = readCSV(*scopesFile); err != nil {
						return err
					}
				}
				if *appsFile != "" {
					if apps, err = readCSV(*appsFile); err != nil {
						return err
					}
				}
				if *tokensFile != "" {
					if tokens, err = readCSV(*tokensFile); err != nil {
						return err
					}
				}
				s, err := openStore(e, *db)
				if err != nil {
					return err
				}
				defer s.Close()
				sum, err := importWSO2(e, s, apps, tokens, scopes)
				if err != nil {
					return err
				}
				if *asJSON {
					return writeJSON(e.stdout, sum)
				}
				printImportSummary(e.stdout, sum)
				return nil
			}
		},
	})
}

// csvTable is a CSV file whose first row names the columns.
type csvTable struct {
	name string
	cols map[string]int // upper-case column name → index
	rows [][]string
}

func readCSV(name string) (*csvTable, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: no header row", name)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	t := &csvTable{name: name, cols: map[string]int{}}
	for i, h := range header {
		t.cols[strings.ToUpper(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))] = i
	}
	if t.rows, err = r.ReadAll(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return t, nil
}

// has reports whether any of cols is a column of t.
func (t *csvTable) has(cols ...string) bool {
	for _, c := range cols {
		if _, ok := t.cols[c]; ok {
			return true
		}
	}
	return false
}

// get returns the row's value of the first of cols present, trimmed; SQL
// NULL exports read as empty.
func (t *csvTable) get(row []string, cols ...string) string {
	for _, c := range cols {
		if i, ok := t.cols[c]; ok {
			v := strings.TrimSpace(row[i])
			if v == "NULL" || v == `\N` {
				return ""
			}
			return v
		}
	}
	return ""
}

// wso2User is the user name of a WSO2 user in a user-store domain.
func wso2User(name, domain string) string {
	domain = strings.ToUpper(domain)
	if name == "" || domain == "" || domain == "PRIMARY" {
		return name
	}
	return domain + "/" + name
}

func importWSO2(e *env, s *store.DB, apps, tokens, scopes *csvTable) (*importSummary, error) {
	sum := new(importSummary)
	sum.Apps.Skipped, sum.Apps.DroppedGrantTypes, sum.Tokens.Skipped = map[string]int{}, map[string]int{}, map[string]int{}
	keyByID := map[string]string{}
	if apps != nil {
		if !apps.has("CONSUMER_KEY") {
			return nil, fmt.Errorf("%s: no CONSUMER_KEY column", apps.name)
		}
		for _, row := range apps.rows {
			key := apps.get(row, "CONSUMER_KEY")
			if key == "" {
				sum.Apps.Skipped["no CONSUMER_KEY"]++
				continue
			}
			if id := apps.get(row, "ID"); id != "" {
				keyByID[id] = key
			}
			a := tokenadmin.NewApp(apps.get(row, "APP_NAME"))
			if a.Name == "" {
				a.Name = key
			}
			a.ClientID = key
			a.Owner = wso2User(apps.get(row, "USERNAME"), apps.get(row, "USER_DOMAIN"))
			var dropped []string
			if apps.has("GRANT_TYPES") {
				a.GrantTypes = nil
				for _, g := range strings.Fields(apps.get(row, "GRANT_TYPES")) {
					if slices.Contains(tokenadmin.GrantTypes, g) {
						a.GrantTypes = append(a.GrantTypes, g)
					} else {
						dropped = append(dropped, g)
					}
				}
			}
			if strings.EqualFold(apps.get(row, "APP_STATE"), "REVOKED") {
				a.State = tokenadmin.AppDisabled
			}
			_, err := s.CreateApp(e.audit(s, tokenadmin.AuditAppCreate, key, "import"), a)
			if tokenadmin.ErrorCode(err) == tokenadmin.CodeConflict {
				// An earlier run may have stopped between creating the app
				// and setting its secret: finish that, and nothing else.
				if secret := apps.get(row, "CONSUMER_SECRET"); secret != "" {
					if have, gerr := s.GetApp(e.ctx, key); gerr == nil && !have.HasSecret {
						if err := s.SetClientSecret(e.audit(s, tokenadmin.AuditAppSecret, key, "import"), key, secret); err != nil {
							return nil, fmt.Errorf("app %q: %w", key, err)
						}
					}
				}
				sum.Apps.Skipped["already exists"]++
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("app %q: %w", key, err)
			}
			if secret := apps.get(row, "CONSUMER_SECRET"); secret != "" {
				if err := s.SetClientSecret(e.audit(s, tokenadmin.AuditAppSecret, key, "import"), key, secret); err != nil {
					return nil, fmt.Errorf("app %q: %w", key, err)
				}
			}
			sum.Apps.Created++
			for _, g := range dropped {
				sum.Apps.DroppedGrantTypes[g]++
			}
		}
	}
	if tokens == nil {
		return sum, nil
	}
	switch {
	case tokens.has("CONSUMER_KEY"):
	case tokens.has("CONSUMER_KEY_ID") && apps != nil && apps.has("ID"):
	case tokens.has("CONSUMER_KEY_ID"):
		return nil, fmt.Errorf("%s names apps by CONSUMER_KEY_ID: give --apps with the ID column", tokens.name)
	default:
		return nil, fmt.Errorf("%s: no CONSUMER_KEY or CONSUMER_KEY_ID column", tokens.name)
	}
	// From IS 5.1 on, scopes live in IDN_OAUTH2_ACCESS_TOKEN_SCOPE and the
	// token row has only an md5 of them: without that table, every token
	// would come in without its scope, so refuse rather than lose them.
	scopesByToken := map[string][]string{}
	if scopes != nil {
		if !scopes.has("TOKEN_ID") || !scopes.has("TOKEN_SCOPE") {
			return nil, fmt.Errorf("%s: want TOKEN_ID and TOKEN_SCOPE columns", scopes.name)
		}
		if !tokens.has("TOKEN_ID") {
			return nil, fmt.Errorf("%s: no TOKEN_ID column to join %s on", tokens.name, scopes.name)
		}
		for _, row := range scopes.rows {
			if id, sc := scopes.get(row, "TOKEN_ID"), scopes.get(row, "TOKEN_SCOPE"); id != "" && sc != "" {
				scopesByToken[id] = append(scopesByToken[id], sc)
			}
		}
	} else if tokens.has("TOKEN_SCOPE_HASH") && !tokens.has("TOKEN_SCOPE", "SCOPES", "SCOPE") {
		return nil, fmt.Errorf("%s keeps scopes in IDN_OAUTH2_ACCESS_TOKEN_SCOPE: export it too and give --scopes", tokens.name)
	}
	var batch []store.ImportedToken
	for _, row := range tokens.rows {
		it, reason := wso2Token(tokens, row, keyByID)
		if sc, ok := scopesByToken[tokens.get(row, "TOKEN_ID")]; ok && len(it.Scopes) == 0 {
			slices.Sort(sc)
			it.Scopes = slices.Compact(sc)
		}
		if reason != "" {
			sum.Tokens.Skipped[reason]++
			continue
		}
		batch = append(batch, it)
	}
	// In batches, with a progress report on stderr; each batch is its own
	// write (and audit record), and a re-run skips the tokens already
	// imported.
	ctx := e.audit(s, tokenadmin.AuditImport, tokens.name, "")
	prog := newProgress(e.stderr, "importing wso2 tokens", int64(len(tokens.rows)))
	defer prog.Done()
	prog.Add(int64(len(tokens.rows) - len(batch))) // skipped while reading
	for len(batch) > 0 {
		part := batch[:min(defaultImportBatch, len(batch))]
		batch = batch[len(part):]
		res, err := s.ImportTokens(ctx, part)
		if err != nil {
			tokenadmin.EndAudit(ctx, s, 0, err)
			return nil, err
		}
		sum.Tokens.Imported += res.Imported
		sum.Tokens.RefreshTokens += res.Refresh
		for k, v := range res.Skipped {
			sum.Tokens.Skipped[k] += v
		}
		prog.Add(int64(len(part)))
	}
	return sum, nil
}

// wso2Token converts one token row, or says why it cannot.
func wso2Token(t *csvTable, row []string, keyByID map[string]string) (store.ImportedToken, string) {
	it := store.ImportedToken{
		ClientID:  t.get(row, "CONSUMER_KEY"),
		User:      wso2User(t.get(row, "AUTHZ_USER"), t.get(row, "USER_DOMAIN")),
		GrantType: t.get(row, "GRANT_TYPE"),
		State:     t.get(row, "TOKEN_STATE"),
		Scopes: strings.FieldsFunc(t.get(row, "TOKEN_SCOPE", "SCOPES", "SCOPE"), func(r rune) bool {
			return r == ' ' || r == ','
		}),
	}
	if it.ClientID == "" {
		it.ClientID = keyByID[t.get(row, "CONSUMER_KEY_ID")]
	}
	var ok bool
	if it.Value, it.ExtHash, ok = wso2Value(t.get(row, "ACCESS_TOKEN"), t.get(row, "ACCESS_TOKEN_HASH")); !ok {
		return it, "unsupported ACCESS_TOKEN_HASH algorithm"
	}
	if it.RefreshValue, it.RefreshExtHash, ok = wso2Value(t.get(row, "REFRESH_TOKEN"), t.get(row, "REFRESH_TOKEN_HASH")); !ok {
		return it, "unsupported REFRESH_TOKEN_HASH algorithm"
	}
	var err error
	if it.IssuedAt, err = wso2Time(t.get(row, "TIME_CREATED")); err != nil {
		return it, "bad TIME_CREATED"
	}
	if it.Validity, err = wso2Millis(t.get(row, "VALIDITY_PERIOD"), wso2AccessDefault); err != nil {
		return it, "bad VALIDITY_PERIOD"
	}
	if v := t.get(row, "REFRESH_TOKEN_TIME_CREATED"); v != "" {
		if it.RefreshIssuedAt, err = wso2Time(v); err != nil {
			return it, "bad REFRESH_TOKEN_TIME_CREATED"
		}
	}
	if it.RefreshValidity, err = wso2Millis(t.get(row, "REFRESH_TOKEN_VALIDITY_PERIOD"), wso2RefreshDefault); err != nil {
		return it, "bad REFRESH_TOKEN_VALIDITY_PERIOD"
	}
	return it, ""
}

// wso2Value splits a token column and its hash column into the value to
// import, or WSO2's SHA-256 hash when the value column does not hold the
// plain token. ok is false for a hash of another algorithm.
func wso2Value(column, hashColumn string) (value, ext string, ok bool) {
	hash, ok := wso2Hash(hashColumn)
	if !ok {
		return "", "", false
	}
	if h, isHash := wso2HashJSON(column); isHash {
		// The hashing persistence processor stored the hash itself.
		if h == "" {
			return "", "", false
		}
		return "", h, true
	}
	if hash == "" || column == "" {
		return column, hash, true
	}
	sum := sha256.Sum256([]byte(column))
	if hex.EncodeToString(sum[:]) == hash {
		return column, "", true
	}
	return "", hash, true // hashed or encrypted by the IS
}

// wso2Hash reads an ACCESS_TOKEN_HASH (WIRE.md §9.4): JSON
// {"algorithm":"SHA-256","hash":"<hex>"}, or bare hex. ok is false for
// another algorithm.
func wso2Hash(v string) (hash string, ok bool) {
	if v == "" {
		return "", true
	}
	if strings.HasPrefix(v, "{") {
		h, _ := wso2HashJSON(v)
		return h, h != ""
	}
	h := strings.ToLower(v)
	return h, isSHA256Hex(h)
}

// isSHA256Hex reports whether h is a SHA-256 digest in lower-case hex.
func isSHA256Hex(h string) bool {
	if len(h) != 64 {
		return false
	}
	for i := range len(h) {
		if c := h[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// wso2HashJSON parses the JSON form; hash is "" for another algorithm or
// a value that is not a SHA-256 digest.
func wso2HashJSON(v string) (hash string, isJSON bool) {
	if !strings.HasPrefix(v, "{") {
		return "", false
	}
	var h struct{ Algorithm, Hash string }
	if err := json.Unmarshal([]byte(v), &h); err != nil || h.Hash == "" {
		return "", false
	}
	if !strings.EqualFold(strings.ReplaceAll(h.Algorithm, "-", ""), "SHA256") {
		return "", true
	}
	if hash := strings.ToLower(h.Hash); isSHA256Hex(hash) {
		return hash, true
	}
	return "", true
}

// wso2Time reads a TIMESTAMP as exported (UTC, WIRE.md §9.4).
func wso2Time(v string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02 15:04:05.999999999", time.RFC3339Nano} {
		if t, err := time.ParseInLocation(layout, v, time.UTC); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("bad time %q", v)
}

// wso2Millis reads a validity period in milliseconds; empty is def.
func wso2Millis(v string, def time.Duration) (time.Duration, error) {
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, err
	}
	// Negative means never expires (WIRE.md §9.4); so does a period too
	// long for a time.Duration (about 292 years, such as Long.MAX_VALUE).
	if n < 0 || n > math.MaxInt64/int64(time.Millisecond) {
		return -1, nil
	}
	return time.Duration(n) * time.Millisecond, nil
}

func printImportSummary(w io.Writer, s *importSummary) {
	fmt.Fprintf(w, "apps: %d created, %d skipped\n", s.Apps.Created, total(s.Apps.Skipped))
	printCounts(w, "skipped", s.Apps.Skipped)
	printCounts(w, "grant type dropped (not supported)", s.Apps.DroppedGrantTypes)
	fmt.Fprintf(w, "tokens: %d imported (and %d refresh tokens), %d skipped\n",
		s.Tokens.Imported, s.Tokens.RefreshTokens, total(s.Tokens.Skipped))
	printCounts(w, "skipped", s.Tokens.Skipped)
}

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func printCounts(w io.Writer, what string, m map[string]int) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "  %s: %s: %d\n", what, k, m[k])
	}
}
