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
//   - Every file's header is checked before anything is written; a header
//     that cannot be used (unreadable, no app column, …) is an error.
//   - The tokens file is read as a stream and written in batches
//     (--batch-size, default 1000 rows), each in one transaction with its
//     audit record and a checkpoint, as the native imports do
//     (importrows.go): after an interruption the same command resumes
//     after the last batch written; --restart ignores the checkpoint. The
//     checkpoint is keyed by the identity (fileIdentity) of the tokens,
//     scopes and apps files, so changed input starts over, which imports
//     nothing twice. The apps file is read as a stream too and gone
//     through on every run (existing apps are skipped): it is small, and
//     its ID column is needed to resolve the tokens' CONSUMER_KEY_ID.
//   - A row that cannot be read (wrong number of fields, bad quoting) is
//     skipped like a row that cannot be converted; the summary groups
//     skips by reason with the first lines of each.

import (
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
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

// importSummary is what import wso2 prints. The maps count skips by
// reason; Skips groups the same skips with the first lines of each.
type importSummary struct {
	Apps struct {
		Created           int            `json:"created"`
		Skipped           map[string]int `json:"skipped"`
		DroppedGrantTypes map[string]int `json:"droppedGrantTypes"`
		Skips             []skipGroup    `json:"skips"`
	} `json:"apps"`
	Tokens wso2TokenSummary `json:"tokens"`
	// Scopes is there when --scopes was given.
	Scopes *wso2ScopeSummary `json:"scopes,omitempty"`
}

// wso2TokenSummary is the tokens part of import wso2's summary; a
// checkpoint carries it across an interruption.
type wso2TokenSummary struct {
	Imported      int            `json:"imported"`
	RefreshTokens int            `json:"refreshTokens"`
	Skipped       map[string]int `json:"skipped"`
	Skips         []skipGroup    `json:"skips"`
	// ResumedAfterLine is the line of the tokens file after which this run
	// resumed an interrupted one (0: it started from the top).
	ResumedAfterLine int64 `json:"resumedAfterLine,omitempty"`
}

func (s *wso2TokenSummary) skip(line int64, reason, detail string) {
	s.Skipped[reason]++
	s.Skips = addSkip(s.Skips, line, reason, detail)
}

func (s *wso2TokenSummary) clone() wso2TokenSummary {
	c := *s
	c.Skipped = maps.Clone(s.Skipped)
	c.Skips = make([]skipGroup, len(s.Skips))
	for i, g := range s.Skips {
		g.Examples = slices.Clone(g.Examples)
		c.Skips[i] = g
	}
	return c
}

// wso2ScopeSummary counts the rows of the scopes file.
type wso2ScopeSummary struct {
	Rows    int            `json:"rows"`
	Skipped map[string]int `json:"skipped"`
	Skips   []skipGroup    `json:"skips"`
}

// wso2Checkpoint is the JSON stored after each batch of tokens.
type wso2Checkpoint struct {
	Offset int64            `json:"offset"` // bytes of the tokens file done
	Line   int64            `json:"line"`   // last line done
	Tokens wso2TokenSummary `json:"tokens"` // the tokens' summary so far
}

func init() {
	register(&command{
		name:    "import wso2",
		summary: "import apps and tokens from CSV exports of WSO2's IDN_OAUTH_CONSUMER_APPS and IDN_OAUTH2_ACCESS_TOKEN (resumable)",
		usage:   "[--apps APPS.csv] [--tokens TOKENS.csv [--scopes SCOPES.csv]] [--restart] [--batch-size N] [--json] [--db FILE]",
		flags: func(fs *flag.FlagSet) func(*env, []string) error {
			db := dbFlag(fs)
			appsFile := fs.String("apps", "", "CSV `file` of IDN_OAUTH_CONSUMER_APPS, with a header row")
			tokensFile := fs.String("tokens", "", "CSV `file` of IDN_OAUTH2_ACCESS_TOKEN, with a header row")
			scopesFile := fs.String("scopes", "", "CSV `file` of IDN_OAUTH2_ACCESS_TOKEN_SCOPE (TOKEN_ID, TOKEN_SCOPE): where IS 5.1 and later keep scopes")
			restart := fs.Bool("restart", false, "ignore the checkpoint of an interrupted run and start from the first token")
			batch := fs.Int("batch-size", defaultImportBatch, "tokens per transaction (and per checkpoint)")
			asJSON := fs.Bool("json", false, "print the summary as JSON")
			return func(e *env, args []string) error {
				if len(args) != 0 {
					return usagef("unexpected argument %q", args[0])
				}
				if *appsFile == "" && *tokensFile == "" {
					return usagef("give --apps, --tokens or both")
				}
				if *scopesFile != "" && *tokensFile == "" {
					return usagef("--scopes goes with --tokens")
				}
				if *batch < 1 {
					return usagef("--batch-size must be positive")
				}
				in, err := openWSO2Files(*appsFile, *tokensFile, *scopesFile)
				if err != nil {
					return err
				}
				defer in.close()
				s, err := openStore(e, *db)
				if err != nil {
					return err
				}
				defer s.Close()
				sum, err := importWSO2(e, s, in, *batch, *restart)
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

// wso2Table is an open CSV export whose first row names the columns, read
// one row at a time.
type wso2Table struct {
	name string
	f    *os.File
	id   string // fileIdentity
	size int64
	cols map[string]bool // upper-case column names
	r    *csvReader
}

// openWSO2Table opens name and reads its header; a file without a
// readable header is an error.
func openWSO2Table(name string) (*wso2Table, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	t := &wso2Table{name: name, f: f, cols: map[string]bool{}, r: &csvReader{f: f, fields: rowFields{}}}
	if err := t.readHeader(); err != nil {
		f.Close()
		return nil, err
	}
	return t, nil
}

func (t *wso2Table) readHeader() error {
	var err error
	if t.id, t.size, err = fileIdentity(t.f); err != nil {
		return fmt.Errorf("%s: %w", t.name, err)
	}
	c := t.r
	if err := c.start(); err != nil {
		return fmt.Errorf("%s: %w", t.name, err)
	}
	header, err := c.r.Read()
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("%s: no header row", t.name)
	}
	if err != nil {
		return fmt.Errorf("%s: header: %w", t.name, err)
	}
	for i, h := range header {
		if i == 0 {
			h = strings.TrimPrefix(h, "\ufeff")
		}
		h = strings.ToUpper(strings.TrimSpace(h))
		t.cols[h] = true
		c.header = append(c.header, h)
	}
	c.r.FieldsPerRecord = len(header)
	line, _ := c.r.FieldPos(len(header) - 1)
	c.off, c.last = c.r.InputOffset(), int64(line)+int64(strings.Count(header[len(header)-1], "\n"))
	return nil
}

func (t *wso2Table) close() {
	if t != nil {
		t.f.Close()
	}
}

// has reports whether any of cols is a column of t.
func (t *wso2Table) has(cols ...string) bool {
	return slices.ContainsFunc(cols, func(c string) bool { return t.cols[c] })
}

// next returns the next row and its first line; io.EOF at the end. A row
// that cannot be read (wrong number of fields, bad quoting) is a
// *rowError, to skip; any other error ends the import. The row is valid
// until the next call.
func (t *wso2Table) next() (wso2Row, int64, error) {
	f, line, err := t.r.next()
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		// The reader has consumed the record up to its error's line; the
		// next Read starts after it.
		t.r.last = int64(pe.Line)
		return nil, 0, &rowError{line: int64(pe.StartLine), reason: "malformed CSV", detail: pe.Err.Error()}
	}
	return wso2Row(f), line, err
}

// wso2Row is one row: upper-case column name → value, trimmed.
type wso2Row rowFields

// get returns the value of the first of cols present; SQL NULL exports
// read as empty.
func (r wso2Row) get(cols ...string) string {
	for _, c := range cols {
		if v, ok := r[c]; ok {
			if v == "NULL" || v == `\N` {
				return ""
			}
			return v
		}
	}
	return ""
}

// wso2Files are the open exports of one import wso2; any may be nil.
type wso2Files struct {
	apps, tokens, scopes *wso2Table
}

func (in *wso2Files) close() {
	in.apps.close()
	in.tokens.close()
	in.scopes.close()
}

// openWSO2Files opens the files given (names may be empty) and checks
// their headers, together, so that a header that cannot be used stops the
// import before anything is written.
func openWSO2Files(apps, tokens, scopes string) (*wso2Files, error) {
	in := new(wso2Files)
	if err := in.open(apps, tokens, scopes); err != nil {
		in.close()
		return nil, err
	}
	return in, nil
}

func (in *wso2Files) open(apps, tokens, scopes string) (err error) {
	for _, f := range []struct {
		name string
		to   **wso2Table
	}{{apps, &in.apps}, {tokens, &in.tokens}, {scopes, &in.scopes}} {
		if f.name == "" {
			continue
		}
		if *f.to, err = openWSO2Table(f.name); err != nil {
			return err
		}
	}
	if in.apps != nil && !in.apps.has("CONSUMER_KEY") {
		return fmt.Errorf("%s: no CONSUMER_KEY column", in.apps.name)
	}
	t := in.tokens
	if t == nil {
		return nil
	}
	switch {
	case t.has("CONSUMER_KEY"):
	case t.has("CONSUMER_KEY_ID") && in.apps != nil && in.apps.has("ID"):
	case t.has("CONSUMER_KEY_ID"):
		return fmt.Errorf("%s names apps by CONSUMER_KEY_ID: give --apps with the ID column", t.name)
	default:
		return fmt.Errorf("%s: no CONSUMER_KEY or CONSUMER_KEY_ID column", t.name)
	}
	// From IS 5.1 on, scopes live in IDN_OAUTH2_ACCESS_TOKEN_SCOPE and the
	// token row has only an md5 of them: without that table, every token
	// would come in without its scope, so refuse rather than lose them.
	if sc := in.scopes; sc != nil {
		if !sc.has("TOKEN_ID") || !sc.has("TOKEN_SCOPE") {
			return fmt.Errorf("%s: want TOKEN_ID and TOKEN_SCOPE columns", sc.name)
		}
		if !t.has("TOKEN_ID") {
			return fmt.Errorf("%s: no TOKEN_ID column to join %s on", t.name, sc.name)
		}
	} else if t.has("TOKEN_SCOPE_HASH") && !t.has("TOKEN_SCOPE", "SCOPES", "SCOPE") {
		return fmt.Errorf("%s keeps scopes in IDN_OAUTH2_ACCESS_TOKEN_SCOPE: export it too and give --scopes", t.name)
	}
	return nil
}

// wso2User is the user name of a WSO2 user in a user-store domain.
func wso2User(name, domain string) string {
	domain = strings.ToUpper(domain)
	if name == "" || domain == "" || domain == "PRIMARY" {
		return name
	}
	return domain + "/" + name
}

// wso2Scopes is IDN_OAUTH2_ACCESS_TOKEN_SCOPE, indexed by TOKEN_ID for the
// join with the tokens file. It is the one part of import wso2 that grows
// with the export: the two tables come in no order that a merge join
// could rely on (a database exports in whatever order its plan yields),
// so one side has to be looked up by key, and the scope table is the
// narrow one. To keep that small, a token is keyed by 16 bytes of the
// SHA-256 of its TOKEN_ID (a collision among even 10^9 IDs has odds
// below 10^-20) and points at its scope set, kept once however many
// tokens share it: some 30-50 bytes per token that has scopes, against
// the hundreds its rows take as text.
type wso2Scopes struct {
	byToken map[[16]byte]uint32 // token → index in sets
	sets    []string            // distinct scope sets: sorted, space-separated
	index   map[string]uint32   // set → its index in sets
}

func wso2ScopeKey(tokenID string) [16]byte {
	sum := sha256.Sum256([]byte(tokenID))
	return [16]byte(sum[:16])
}

// add adds the scopes of one row (one scope, as WSO2 writes it) to the
// token's set.
func (w *wso2Scopes) add(tokenID, scope string) {
	key := wso2ScopeKey(tokenID)
	var set []string
	if i, ok := w.byToken[key]; ok {
		set = strings.Fields(w.sets[i])
	}
	n := len(set)
	for _, sc := range strings.Fields(scope) {
		if !slices.Contains(set, sc) {
			set = append(set, sc)
		}
	}
	if len(set) == n {
		return
	}
	slices.Sort(set)
	joined := strings.Join(set, " ")
	i, ok := w.index[joined]
	if !ok {
		i = uint32(len(w.sets))
		w.sets = append(w.sets, joined)
		w.index[joined] = i
	}
	w.byToken[key] = i
}

// get returns the token's scopes, sorted; nil if it has none.
func (w *wso2Scopes) get(tokenID string) []string {
	if i, ok := w.byToken[wso2ScopeKey(tokenID)]; ok {
		return strings.Fields(w.sets[i])
	}
	return nil
}

// readWSO2Scopes reads the scopes file; rows it cannot read are skipped
// and counted.
func readWSO2Scopes(e *env, t *wso2Table) (*wso2Scopes, *wso2ScopeSummary, error) {
	w := &wso2Scopes{byToken: map[[16]byte]uint32{}, index: map[string]uint32{}}
	sum := &wso2ScopeSummary{Skipped: map[string]int{}, Skips: []skipGroup{}}
	prog := newProgress(e.stderr, "reading wso2 token scopes", t.size)
	defer prog.Done()
	done := t.r.offset()
	prog.Add(done)
	for n := 0; ; n++ {
		row, line, err := t.next()
		if errors.Is(err, io.EOF) {
			return w, sum, nil
		}
		var re *rowError
		if errors.As(err, &re) {
			sum.Rows++
			sum.Skipped[re.reason]++
			sum.Skips = addSkip(sum.Skips, re.line, re.reason, re.detail)
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", t.name, err)
		}
		sum.Rows++
		id, sc := row.get("TOKEN_ID"), row.get("TOKEN_SCOPE")
		if id == "" || sc == "" {
			const reason = "no TOKEN_ID or TOKEN_SCOPE"
			sum.Skipped[reason]++
			sum.Skips = addSkip(sum.Skips, line, reason, "")
			continue
		}
		w.add(id, sc)
		if n%1024 == 0 {
			if err := e.ctx.Err(); err != nil {
				return nil, nil, fmt.Errorf("%s: interrupted; nothing imported yet", t.name)
			}
			prog.Add(t.r.offset() - done)
			done = t.r.offset()
		}
	}
}

func importWSO2(e *env, s *store.DB, in *wso2Files, batchSize int, restart bool) (*importSummary, error) {
	sum := new(importSummary)
	sum.Apps.Skipped, sum.Apps.DroppedGrantTypes, sum.Apps.Skips = map[string]int{}, map[string]int{}, []skipGroup{}
	var scopes *wso2Scopes
	if in.scopes != nil {
		var err error
		if scopes, sum.Scopes, err = readWSO2Scopes(e, in.scopes); err != nil {
			return nil, err
		}
	}
	keyByID := map[string]string{}
	if in.apps != nil {
		if err := importWSO2Apps(e, s, in.apps, sum, keyByID); err != nil {
			return nil, err
		}
	}
	if in.tokens == nil {
		sum.Tokens = wso2TokenSummary{Skipped: map[string]int{}, Skips: []skipGroup{}}
		return sum, nil
	}
	tok, err := importWSO2Tokens(e, s, in, scopes, keyByID, batchSize, restart)
	if err != nil {
		return nil, err
	}
	sum.Tokens = *tok
	return sum, nil
}

// importWSO2Apps creates the apps of the apps file, one at a time (each
// creation is audited as app.create), and fills keyByID (ID → consumer
// key) for tokens that name their app by CONSUMER_KEY_ID.
func importWSO2Apps(e *env, s *store.DB, t *wso2Table, sum *importSummary, keyByID map[string]string) error {
	skip := func(line int64, reason, detail string) {
		sum.Apps.Skipped[reason]++
		sum.Apps.Skips = addSkip(sum.Apps.Skips, line, reason, detail)
	}
	for {
		row, line, err := t.next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		var re *rowError
		if errors.As(err, &re) {
			skip(re.line, re.reason, re.detail)
			continue
		}
		if err != nil {
			return fmt.Errorf("%s: %w", t.name, err)
		}
		if err := e.ctx.Err(); err != nil {
			return fmt.Errorf("%s: interrupted at line %d; run the same command again to resume", t.name, line)
		}
		key := row.get("CONSUMER_KEY")
		if key == "" {
			skip(line, "no CONSUMER_KEY", "")
			continue
		}
		if id := row.get("ID"); id != "" {
			keyByID[id] = key
		}
		a := tokenadmin.NewApp(row.get("APP_NAME"))
		if a.Name == "" {
			a.Name = key
		}
		a.ClientID = key
		a.Owner = wso2User(row.get("USERNAME"), row.get("USER_DOMAIN"))
		var dropped []string
		if t.has("GRANT_TYPES") {
			a.GrantTypes = nil
			for _, g := range strings.Fields(row.get("GRANT_TYPES")) {
				if slices.Contains(tokenadmin.GrantTypes, g) {
					a.GrantTypes = append(a.GrantTypes, g)
				} else {
					dropped = append(dropped, g)
				}
			}
		}
		if strings.EqualFold(row.get("APP_STATE"), "REVOKED") {
			a.State = tokenadmin.AppDisabled
		}
		secret := row.get("CONSUMER_SECRET")
		_, err = s.CreateApp(e.audit(s, tokenadmin.AuditAppCreate, key, "import"), a)
		if tokenadmin.ErrorCode(err) == tokenadmin.CodeConflict {
			// An earlier run may have stopped between creating the app
			// and setting its secret: finish that, and nothing else.
			if secret != "" {
				if have, gerr := s.GetApp(e.ctx, key); gerr == nil && !have.HasSecret {
					if err := s.SetClientSecret(e.audit(s, tokenadmin.AuditAppSecret, key, "import"), key, secret); err != nil {
						return fmt.Errorf("app %q: %w", key, err)
					}
				}
			}
			skip(line, "already exists", "app "+strconv.Quote(key))
			continue
		}
		if err != nil {
			return fmt.Errorf("app %q: %w", key, err)
		}
		if secret != "" {
			if err := s.SetClientSecret(e.audit(s, tokenadmin.AuditAppSecret, key, "import"), key, secret); err != nil {
				return fmt.Errorf("app %q: %w", key, err)
			}
		}
		sum.Apps.Created++
		for _, g := range dropped {
			sum.Apps.DroppedGrantTypes[g]++
		}
	}
}

// importWSO2Tokens streams the tokens file into the store in batches,
// each with its checkpoint (see the decisions at the top).
func importWSO2Tokens(e *env, s *store.DB, in *wso2Files, scopes *wso2Scopes, keyByID map[string]string,
	batchSize int, restart bool) (*wso2TokenSummary, error) {
	t := in.tokens
	key := "wso2:" + t.id
	for _, f := range []*wso2Table{in.scopes, in.apps} {
		key += ":"
		if f != nil {
			key += f.id
		}
	}
	sum := wso2TokenSummary{Skipped: map[string]int{}, Skips: []skipGroup{}}
	st := wso2Checkpoint{Offset: t.r.offset(), Line: t.r.line()}
	if v, err := checkpointValue(e, s, key, restart); err != nil {
		return nil, err
	} else if v != "" {
		var cp wso2Checkpoint
		if err := json.Unmarshal([]byte(v), &cp); err != nil || cp.Offset > t.size || cp.Offset < st.Offset {
			return nil, fmt.Errorf("%s: unreadable checkpoint of an earlier run; give --restart", t.name)
		}
		if err := t.r.seek(cp.Offset, cp.Line); err != nil {
			return nil, fmt.Errorf("%s: %w", t.name, err)
		}
		st, sum = cp, cp.Tokens
		if sum.Skipped == nil {
			sum.Skipped = map[string]int{}
		}
		if sum.Skips == nil {
			sum.Skips = []skipGroup{}
		}
		sum.ResumedAfterLine = cp.Line
		fmt.Fprintf(e.stderr, "resuming an interrupted import of %s after line %d (--restart to start over)\n", t.name, cp.Line)
	}

	prog := newProgress(e.stderr, "importing wso2 tokens", t.size)
	prog.Add(st.Offset)
	defer prog.Done()
	rows := make([]store.ImportedToken, 0, batchSize)
	lines := make([]int64, 0, batchSize)
	var bad []rowError // rows of the batch that could not be read or converted
	for batches := 0; ; {
		var (
			eof bool
			err error
		)
		rows, lines, bad, eof, err = readBatch(rows, lines, bad, batchSize, func() (store.ImportedToken, int64, error) {
			row, line, err := t.next()
			if err != nil {
				return store.ImportedToken{}, line, err
			}
			it, reason := wso2Token(row, keyByID)
			if reason != "" {
				return it, line, &rowError{line: line, reason: reason}
			}
			if it.ClientID == "" && row.get("CONSUMER_KEY") == "" {
				return it, line, &rowError{line: line, reason: store.SkipUnknownApp,
					detail: "CONSUMER_KEY_ID " + strconv.Quote(row.get("CONSUMER_KEY_ID"))}
			}
			if scopes != nil && len(it.Scopes) == 0 {
				it.Scopes = scopes.get(row.get("TOKEN_ID"))
			}
			return it, line, nil
		})
		if err != nil {
			return nil, interrupted(t.name, st.Line, err)
		}
		if err := e.ctx.Err(); err != nil {
			return nil, interrupted(t.name, st.Line, err)
		}
		next := wso2Checkpoint{Offset: t.r.offset(), Line: t.r.line()}
		cp := &store.ImportCheckpoint{Key: key, Value: func(out []store.ImportOutcome) string {
			// The batch's rows in file order, whether reading or the store
			// skipped them, so the examples are the first lines.
			next.Tokens = sum.clone()
			after := &next.Tokens
			inFileOrder(lines, bad, func(i int) {
				switch o := out[i]; o.Status {
				case store.RowImported:
					after.Imported++
					if rows[i].HasRefresh() {
						after.RefreshTokens++
					}
				default:
					after.skip(lines[i], o.Reason, o.Detail)
				}
			}, func(b rowError) { after.skip(b.line, b.reason, b.detail) })
			if eof {
				return "" // done: a re-run starts over, and finds every token imported
			}
			b, _ := json.Marshal(next)
			return string(b)
		}}
		// One audit record per batch, in the batch's transaction; an empty
		// batch only when it is the run's first, so that every run is on
		// record.
		ctx := e.ctx
		if len(rows) > 0 || batches == 0 {
			ctx = e.audit(s, tokenadmin.AuditImport, t.name, "")
		}
		if _, err := s.ImportTokenBatch(ctx, rows, cp); err != nil {
			tokenadmin.EndAudit(ctx, s, 0, err)
			return nil, interrupted(t.name, st.Line, err)
		}
		prog.Add(next.Offset - st.Offset)
		st, sum = next, next.Tokens
		batches++
		if afterImportBatch != nil {
			afterImportBatch(batches)
		}
		if eof {
			return &sum, nil
		}
	}
}

// wso2Token converts one token row, or says why it cannot.
func wso2Token(row wso2Row, keyByID map[string]string) (store.ImportedToken, string) {
	it := store.ImportedToken{
		ClientID:  row.get("CONSUMER_KEY"),
		User:      wso2User(row.get("AUTHZ_USER"), row.get("USER_DOMAIN")),
		GrantType: row.get("GRANT_TYPE"),
		State:     row.get("TOKEN_STATE"),
		Scopes: strings.FieldsFunc(row.get("TOKEN_SCOPE", "SCOPES", "SCOPE"), func(r rune) bool {
			return r == ' ' || r == ','
		}),
	}
	if it.ClientID == "" {
		it.ClientID = keyByID[row.get("CONSUMER_KEY_ID")]
	}
	var ok bool
	if it.Value, it.ExtHash, ok = wso2Value(row.get("ACCESS_TOKEN"), row.get("ACCESS_TOKEN_HASH")); !ok {
		return it, "unsupported ACCESS_TOKEN_HASH algorithm"
	}
	if it.RefreshValue, it.RefreshExtHash, ok = wso2Value(row.get("REFRESH_TOKEN"), row.get("REFRESH_TOKEN_HASH")); !ok {
		return it, "unsupported REFRESH_TOKEN_HASH algorithm"
	}
	var err error
	if it.IssuedAt, err = wso2Time(row.get("TIME_CREATED")); err != nil {
		return it, "bad TIME_CREATED"
	}
	if it.Validity, err = wso2Millis(row.get("VALIDITY_PERIOD"), wso2AccessDefault); err != nil {
		return it, "bad VALIDITY_PERIOD"
	}
	if v := row.get("REFRESH_TOKEN_TIME_CREATED"); v != "" {
		if it.RefreshIssuedAt, err = wso2Time(v); err != nil {
			return it, "bad REFRESH_TOKEN_TIME_CREATED"
		}
	}
	if it.RefreshValidity, err = wso2Millis(row.get("REFRESH_TOKEN_VALIDITY_PERIOD"), wso2RefreshDefault); err != nil {
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
	if s.Scopes != nil && len(s.Scopes.Skipped) > 0 {
		fmt.Fprintf(w, "scopes: %d rows, %d skipped\n", s.Scopes.Rows, total(s.Scopes.Skipped))
		printSkips(w, s.Scopes.Skipped, s.Scopes.Skips)
	}
	fmt.Fprintf(w, "apps: %d created, %d skipped\n", s.Apps.Created, total(s.Apps.Skipped))
	printSkips(w, s.Apps.Skipped, s.Apps.Skips)
	printCounts(w, "grant type dropped (not supported)", s.Apps.DroppedGrantTypes)
	if s.Tokens.ResumedAfterLine > 0 {
		fmt.Fprintf(w, "tokens: resumed after line %d\n", s.Tokens.ResumedAfterLine)
	}
	fmt.Fprintf(w, "tokens: %d imported (and %d refresh tokens), %d skipped\n",
		s.Tokens.Imported, s.Tokens.RefreshTokens, total(s.Tokens.Skipped))
	printSkips(w, s.Tokens.Skipped, s.Tokens.Skips)
}

// printSkips prints the count of each reason, in order, with the lines of
// its group.
func printSkips(w io.Writer, counts map[string]int, groups []skipGroup) {
	for _, k := range slices.Sorted(maps.Keys(counts)) {
		fmt.Fprintf(w, "  skipped: %s: %d\n", k, counts[k])
		i := slices.IndexFunc(groups, func(g skipGroup) bool { return g.Reason == k })
		if i < 0 {
			continue
		}
		for _, ex := range groups[i].Examples {
			fmt.Fprintf(w, "    %s\n", ex)
		}
		if more := groups[i].Count - len(groups[i].Examples); more > 0 {
			fmt.Fprintf(w, "    … and %d more\n", more)
		}
	}
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
