package main

// tokenadmin import users|apps|tokens FILE: tokenadmin's own import
// format, CSV (a header row naming the columns) or JSONL (one JSON object
// a line, the same names), chosen by the file's extension. Decisions:
//   - The file is read as a stream and written in batches (--batch-size,
//     default 1000 rows), each batch in one transaction together with a
//     checkpoint in the meta table: the file's identity (size and the
//     SHA-256 of its first MiB), the byte offset and line after the batch,
//     and the summary so far. A run that stops (Ctrl-C, kill, a crash)
//     leaves whole batches only; the same command again resumes after the
//     last one and ends with the summary an uninterrupted run prints.
//     --restart ignores the checkpoint. The last batch deletes it.
//   - Rows are matched by natural key (users by name, apps by client_id,
//     tokens by their SHA-256): a second run over the same file imports
//     nothing and reports every row present. A row stored with other data
//     is skipped and reported, never overwritten.
//   - A malformed header (unknown, duplicate or missing columns) or a CSV
//     syntax error is an error before anything more is written; a bad row
//     is skipped with its line number and the reason.
//   - Tokens of one grant are consecutive rows with the same `grant`; a
//     label that comes back after another grant starts a new grant.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"tokenadmin"
	"tokenadmin/auth"
	"tokenadmin/store"
)

// defaultImportBatch is how many rows one import transaction writes.
const defaultImportBatch = 1000

// afterImportBatch, when set (tests only), runs after each batch is
// committed, with the number of batches committed so far.
var afterImportBatch func(n int)

// rowFields is one row: column name → value, as text.
type rowFields map[string]string

// importKind is one native import format.
type importKind[T any] struct {
	name     string
	columns  []string   // every column the format knows
	required []string   // columns a CSV header must have
	oneOf    [][]string // groups of which a CSV header must have at least one
	// parse converts a row or says why it is skipped (reason: a fixed
	// phrase, detail: the row's specifics, never a secret).
	parse func(f rowFields) (row T, reason, detail string)
	// write stores a batch with the checkpoint, returning an outcome per row.
	write func(ctx context.Context, s *store.DB, rows []T, st *importState, cp *store.ImportCheckpoint) ([]store.ImportOutcome, error)
}

// importState is what a checkpoint records besides the summary.
type importState struct {
	Offset int64             `json:"offset"` // bytes of the file done
	Line   int64             `json:"line"`   // last line done
	Grant  store.ImportGrant `json:"grant"`  // tokens: the grant of the last row
}

// importCheckpoint is the JSON stored under the checkpoint's key.
type importCheckpoint struct {
	importState
	Summary rowsSummary `json:"summary"`
}

// rowsSummary is what import users|apps|tokens prints.
type rowsSummary struct {
	Kind     string `json:"kind"`
	File     string `json:"file"`
	Rows     int    `json:"rows"`
	Imported int    `json:"imported"`
	Present  int    `json:"alreadyPresent"`
	Skipped  int    `json:"skipped"`
	// ResumedAfterLine is the line after which this run resumed an
	// interrupted one (0: it started from the top).
	ResumedAfterLine int64       `json:"resumedAfterLine,omitempty"`
	Skips            []skipGroup `json:"skips"`
}

// skipGroup counts the rows skipped for one reason, with the first few.
type skipGroup struct {
	Reason   string   `json:"reason"`
	Count    int      `json:"count"`
	Examples []string `json:"examples"` // "line 17: unknown app \"x\""
}

const maxSkipExamples = 5

func (s *rowsSummary) clone() rowsSummary {
	c := *s
	c.Skips = make([]skipGroup, len(s.Skips))
	for i, g := range s.Skips {
		g.Examples = slices.Clone(g.Examples)
		c.Skips[i] = g
	}
	return c
}

func (s *rowsSummary) skip(line int64, reason, detail string) {
	s.Rows++
	s.Skipped++
	s.Skips = addSkip(s.Skips, line, reason, detail)
}

// addSkip counts a row skipped for reason in its group of gs, keeping the
// first maxSkipExamples lines as examples.
func addSkip(gs []skipGroup, line int64, reason, detail string) []skipGroup {
	i := slices.IndexFunc(gs, func(g skipGroup) bool { return g.Reason == reason })
	if i < 0 {
		gs = append(gs, skipGroup{Reason: reason, Examples: []string{}})
		i = len(gs) - 1
	}
	g := &gs[i]
	g.Count++
	if len(g.Examples) < maxSkipExamples {
		ex := fmt.Sprintf("line %d", line)
		if detail != "" {
			ex += ": " + detail
		}
		g.Examples = append(g.Examples, ex)
	}
	return gs
}

func (s *rowsSummary) add(line int64, o store.ImportOutcome) {
	switch o.Status {
	case store.RowImported:
		s.Rows++
		s.Imported++
	case store.RowPresent:
		s.Rows++
		s.Present++
	default:
		s.skip(line, o.Reason, o.Detail)
	}
}

func printRowsSummary(w io.Writer, s *rowsSummary) {
	if s.ResumedAfterLine > 0 {
		fmt.Fprintf(w, "resumed after line %d\n", s.ResumedAfterLine)
	}
	fmt.Fprintf(w, "%s: %d imported, %d already present, %d skipped\n", s.Kind, s.Imported, s.Present, s.Skipped)
	for _, g := range s.Skips {
		fmt.Fprintf(w, "  skipped: %s: %d\n", g.Reason, g.Count)
		for _, ex := range g.Examples {
			fmt.Fprintf(w, "    %s\n", ex)
		}
		if more := g.Count - len(g.Examples); more > 0 {
			fmt.Fprintf(w, "    … and %d more\n", more)
		}
	}
}

func init() {
	registerImport(usersKind)
	registerImport(appsKind)
	registerImport(tokensKind)
}

func registerImport[T any](k *importKind[T]) {
	register(&command{
		name:    "import " + k.name,
		summary: "import " + k.name + " from a CSV or JSONL file (resumable; see README \"Importing\")",
		usage:   "FILE.csv|FILE.jsonl [--restart] [--batch-size N] [--json] [--db FILE]",
		flags: func(fs *flag.FlagSet) func(*env, []string) error {
			db := dbFlag(fs)
			restart := fs.Bool("restart", false, "ignore the checkpoint of an interrupted run and start from the first row")
			batch := fs.Int("batch-size", defaultImportBatch, "rows per transaction (and per checkpoint)")
			asJSON := fs.Bool("json", false, "print the summary as JSON")
			return func(e *env, args []string) error {
				if len(args) != 1 {
					return usagef("want exactly one file")
				}
				if *batch < 1 {
					return usagef("--batch-size must be positive")
				}
				format := strings.ToLower(filepath.Ext(args[0]))
				if format != ".csv" && format != ".jsonl" {
					return usagef("%s: want a .csv or .jsonl file", args[0])
				}
				s, err := openStore(e, *db)
				if err != nil {
					return err
				}
				defer s.Close()
				sum, err := runImport(e, s, k, args[0], *batch, *restart)
				if err != nil {
					return err
				}
				if *asJSON {
					err = writeJSON(e.stdout, sum)
				} else {
					printRowsSummary(e.stdout, sum)
				}
				if err == nil && sum.Imported == 0 && sum.Skipped > 0 {
					err = fmt.Errorf("nothing imported: %d rows skipped", sum.Skipped)
				}
				return err
			}
		},
	})
}

// fileIdentity names a file's content cheaply: its size and the SHA-256
// of its first MiB. A file changed since an interrupted run (appended to,
// edited) gets another identity, and its import starts over.
func fileIdentity(f *os.File) (string, int64, error) {
	fi, err := f.Stat()
	if err != nil {
		return "", 0, err
	}
	h := sha256.New()
	if _, err := io.Copy(h, io.LimitReader(f, 1<<20)); err != nil {
		return "", 0, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", 0, err
	}
	return fmt.Sprintf("%d:%s", fi.Size(), hex.EncodeToString(h.Sum(nil))), fi.Size(), nil
}

func runImport[T any](e *env, s *store.DB, k *importKind[T], name string, batchSize int, restart bool) (*rowsSummary, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	id, size, err := fileIdentity(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	// The header is checked before anything is written, and on every
	// run: a resumed run reads the same columns.
	rr, err := newRowReader(f, name, k.columns, k.required, k.oneOf)
	if err != nil {
		return nil, err
	}
	key := k.name + ":" + id
	sum := rowsSummary{Kind: k.name, File: name, Skips: []skipGroup{}}
	var st importState
	if v, err := checkpointValue(e, s, key, restart); err != nil {
		return nil, err
	} else if v != "" {
		var cp importCheckpoint
		if err := json.Unmarshal([]byte(v), &cp); err != nil || cp.Offset > size {
			return nil, fmt.Errorf("%s: unreadable checkpoint of an earlier run; give --restart", name)
		}
		if err := rr.seek(cp.Offset, cp.Line); err != nil {
			return nil, err
		}
		st, sum = cp.importState, cp.Summary
		sum.File = name
		sum.ResumedAfterLine = cp.Line
		fmt.Fprintf(e.stderr, "resuming an interrupted import of %s after line %d (--restart to start over)\n", name, cp.Line)
	}

	prog := newProgress(e.stderr, "importing "+k.name, size)
	prog.Add(st.Offset)
	defer prog.Done()
	rows := make([]T, 0, batchSize)
	lines := make([]int64, 0, batchSize)
	var bad []rowError // rows of the batch that could not be read or parsed
	for batches := 0; ; {
		var (
			eof bool
			err error
		)
		rows, lines, bad, eof, err = readBatch(rows, lines, bad, batchSize, func() (T, int64, error) {
			var row T
			fields, line, err := rr.next()
			if err != nil {
				return row, line, err
			}
			row, reason, detail := k.parse(fields)
			if reason != "" {
				return row, line, &rowError{line: line, reason: reason, detail: detail}
			}
			return row, line, nil
		})
		if err != nil {
			return nil, interrupted(name, st.Line, err)
		}
		if err := e.ctx.Err(); err != nil {
			return nil, interrupted(name, st.Line, err)
		}
		next := importState{Offset: rr.offset(), Line: rr.line(), Grant: st.Grant}
		var after rowsSummary
		cp := &store.ImportCheckpoint{Key: key, Value: func(out []store.ImportOutcome) string {
			// The batch's rows in file order, whether parsing or the
			// store skipped them, so the examples are the first lines.
			after = sum.clone()
			inFileOrder(lines, bad, func(i int) { after.add(lines[i], out[i]) },
				func(b rowError) { after.skip(b.line, b.reason, b.detail) })
			if eof {
				return "" // done: a re-run starts over, and finds every row present
			}
			b, _ := json.Marshal(importCheckpoint{importState: next, Summary: after})
			return string(b)
		}}
		// Each batch is recorded in the audit log in its own transaction
		// (so a resumed run does not record committed batches again); an
		// empty batch only when it is the run's first, so that a run over
		// an empty file is on record too.
		ctx := e.ctx
		if len(rows) > 0 || batches == 0 {
			ctx = e.audit(s, tokenadmin.AuditImport, name+" ("+k.name+")", "")
		}
		if _, err := k.write(ctx, s, rows, &next, cp); err != nil {
			tokenadmin.EndAudit(ctx, s, 0, err)
			return nil, interrupted(name, st.Line, err)
		}
		prog.Add(next.Offset - st.Offset)
		st, sum = next, after
		batches++
		if afterImportBatch != nil {
			afterImportBatch(batches)
		}
		if eof {
			return &sum, nil
		}
	}
}

// inFileOrder goes through a batch's rows in file order: row(i) for the
// i-th row written (its first line is lines[i]), skipped(b) for each row
// that could not be read or parsed.
func inFileOrder(lines []int64, bad []rowError, row func(i int), skipped func(b rowError)) {
	i, j := 0, 0
	for i < len(lines) || j < len(bad) {
		if j == len(bad) || i < len(lines) && lines[i] < bad[j].line {
			row(i)
			i++
		} else {
			skipped(bad[j])
			j++
		}
	}
}

// checkpointValue returns the checkpoint an interrupted import left under
// key ("" for none), or drops it and returns "" when restart is set.
func checkpointValue(e *env, s *store.DB, key string, restart bool) (string, error) {
	if restart {
		return "", s.ClearImportCheckpoint(e.ctx, key)
	}
	return s.ImportCheckpointValue(e.ctx, key)
}

// readBatch reads the next batch of rows with next into rows and lines
// (the rows to write and their first lines) and bad (the rows to skip,
// which next returns as a *rowError), reusing their storage. Skipped rows
// count towards size too, so that a file of mostly bad rows does not pile
// up its skips before the first write. eof is set when next returned
// io.EOF; any other error of next ends the import.
func readBatch[T any](rows []T, lines []int64, bad []rowError, size int, next func() (T, int64, error)) (
	_ []T, _ []int64, _ []rowError, eof bool, err error) {
	rows, lines, bad = rows[:0], lines[:0], bad[:0]
	for len(rows)+len(bad) < size {
		row, line, err := next()
		var re *rowError
		switch {
		case errors.Is(err, io.EOF):
			return rows, lines, bad, true, nil
		case errors.As(err, &re):
			bad = append(bad, *re)
		case err != nil:
			return rows, lines, bad, false, err
		default:
			rows, lines = append(rows, row), append(lines, line)
		}
	}
	return rows, lines, bad, false, nil
}

// interrupted explains a stop after the rows up to line were committed.
func interrupted(name string, line int64, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: interrupted after line %d; run the same command again to resume", name, line)
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w (the batches written before it stay imported; fix the file and run again: nothing is imported twice)", name, err)
	}
	return fmt.Errorf("%s: stopped after line %d: %w", name, line, err)
}

// rowError is a row that cannot be read; it is skipped.
type rowError struct {
	line           int64
	reason, detail string
}

func (e *rowError) Error() string { return fmt.Sprintf("line %d: %s", e.line, e.reason) }

// rowReader streams the rows of a CSV or JSONL file.
type rowReader interface {
	// next returns the next row and its (first) line; io.EOF at the end;
	// a *rowError for a row to skip; any other error ends the import.
	next() (rowFields, int64, error)
	offset() int64 // bytes up to the end of the last row returned
	line() int64   // the last line of the last row returned
	// seek continues after offset, where the line was line.
	seek(offset, line int64) error
}

func newRowReader(f *os.File, name string, columns, required []string, oneOf [][]string) (rowReader, error) {
	if strings.EqualFold(filepath.Ext(name), ".jsonl") {
		return &jsonlReader{f: f, br: bufio.NewReaderSize(f, 64<<10), columns: columns, fields: rowFields{}}, nil
	}
	r := &csvReader{f: f, fields: rowFields{}}
	if err := r.start(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	header, err := r.r.Read()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: no header row (want columns %s)", name, strings.Join(columns, ","))
	}
	if err != nil {
		return nil, fmt.Errorf("%s: header: %w", name, err)
	}
	seen := map[string]bool{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		if i == 0 {
			h = strings.TrimPrefix(h, "\ufeff")
		}
		switch {
		case !slices.Contains(columns, h):
			return nil, fmt.Errorf("%s: unknown column %q (known: %s)", name, h, strings.Join(columns, ","))
		case seen[h]:
			return nil, fmt.Errorf("%s: column %q twice", name, h)
		}
		seen[h] = true
		r.header = append(r.header, h)
	}
	for _, c := range required {
		if !seen[c] {
			return nil, fmt.Errorf("%s: no %q column", name, c)
		}
	}
	for _, g := range oneOf {
		if !slices.ContainsFunc(g, func(c string) bool { return seen[c] }) {
			return nil, fmt.Errorf("%s: want a %s column", name, strings.Join(g, " or "))
		}
	}
	r.r.FieldsPerRecord = len(header)
	r.off, r.last = r.r.InputOffset(), 1
	return r, nil
}

// csvReader reads CSV rows; offsets and lines continue across seek.
type csvReader struct {
	f          *os.File
	r          *csv.Reader
	header     []string
	base, off  int64 // byte offset of r's start; of the end of the last row
	baseLine   int64 // lines before r's start
	last       int64 // last line of the last row
	fields     rowFields
	lastRecord []string
}

func (c *csvReader) reader() *csv.Reader {
	r := csv.NewReader(c.f)
	r.ReuseRecord = true
	return r
}

// start reads from the file's start, after its byte order mark if it has
// one: the CSV parser would take a quoted first header field behind it
// for a bare quote.
func (c *csvReader) start() error {
	var b [3]byte
	n, err := c.f.ReadAt(b[:], 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	c.base = 0
	if n == len(b) && string(b[:]) == "\ufeff" {
		c.base = int64(n)
	}
	if _, err := c.f.Seek(c.base, io.SeekStart); err != nil {
		return err
	}
	c.r = c.reader()
	return nil
}

func (c *csvReader) seek(offset, line int64) error {
	if _, err := c.f.Seek(offset, io.SeekStart); err != nil {
		return err
	}
	c.r = c.reader()
	c.r.FieldsPerRecord = len(c.header)
	c.base, c.off, c.baseLine, c.last = offset, offset, line, line
	return nil
}

func (c *csvReader) next() (rowFields, int64, error) {
	rec, err := c.r.Read()
	if errors.Is(err, io.EOF) {
		return nil, 0, io.EOF
	}
	c.off = c.base + c.r.InputOffset()
	var pe *csv.ParseError
	if errors.As(err, &pe) && errors.Is(err, csv.ErrFieldCount) {
		first, _ := c.r.FieldPos(0)
		c.last = c.lastLine(rec) // the row may span lines (quoted newlines): resume after all of them
		return nil, 0, &rowError{line: c.baseLine + int64(first), reason: "wrong number of fields",
			detail: fmt.Sprintf("%d fields, the header has %d", len(rec), len(c.header))}
	}
	if err != nil {
		if pe != nil {
			pe.StartLine += int(c.baseLine)
			pe.Line += int(c.baseLine)
		}
		return nil, 0, err
	}
	first, _ := c.r.FieldPos(0)
	c.last = c.lastLine(rec)
	clear(c.fields)
	for i, v := range rec {
		c.fields[c.header[i]] = strings.TrimSpace(v)
	}
	return c.fields, c.baseLine + int64(first), nil
}

// lastLine is the file line rec, just read, ends on.
func (c *csvReader) lastLine(rec []string) int64 {
	line, _ := c.r.FieldPos(len(rec) - 1)
	return c.baseLine + int64(line) + int64(strings.Count(rec[len(rec)-1], "\n"))
}

func (c *csvReader) offset() int64 { return c.off }
func (c *csvReader) line() int64   { return c.last }

// jsonlReader reads one JSON object a line.
type jsonlReader struct {
	f       *os.File
	br      *bufio.Reader
	columns []string
	off     int64
	n       int64 // lines read
	fields  rowFields
}

// maxJSONLine bounds one JSONL row; longer lines are skipped.
const maxJSONLine = 1 << 20

func (j *jsonlReader) seek(offset, line int64) error {
	if _, err := j.f.Seek(offset, io.SeekStart); err != nil {
		return err
	}
	j.br.Reset(j.f)
	j.off, j.n = offset, line
	return nil
}

func (j *jsonlReader) offset() int64 { return j.off }
func (j *jsonlReader) line() int64   { return j.n }

func (j *jsonlReader) next() (rowFields, int64, error) {
	for {
		b, tooLong, err := j.readLine()
		if err != nil {
			return nil, 0, err
		}
		j.n++
		if tooLong {
			return nil, 0, &rowError{line: j.n, reason: "line too long", detail: fmt.Sprintf("over %d bytes", maxJSONLine)}
		}
		if j.n == 1 {
			b = bytes.TrimPrefix(b, []byte("\ufeff")) // a byte order mark, as CSV headers allow
		}
		b = bytes.TrimSpace(b)
		if len(b) == 0 {
			continue
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(b, &obj); err != nil {
			return nil, 0, &rowError{line: j.n, reason: "not a JSON object"}
		}
		clear(j.fields)
		for k, raw := range obj {
			if !slices.Contains(j.columns, k) {
				return nil, 0, &rowError{line: j.n, reason: "unknown field", detail: strconv.Quote(k)}
			}
			v, ok := jsonText(raw)
			if !ok {
				return nil, 0, &rowError{line: j.n, reason: "bad field value", detail: strconv.Quote(k)}
			}
			j.fields[k] = v
		}
		return j.fields, j.n, nil
	}
}

// readLine reads one line (without its newline), counting bytes; a line
// longer than maxJSONLine is consumed but not kept.
func (j *jsonlReader) readLine() (line []byte, tooLong bool, err error) {
	var buf []byte
	for {
		chunk, err := j.br.ReadSlice('\n')
		j.off += int64(len(chunk))
		if !tooLong {
			if len(buf)+len(chunk) > maxJSONLine {
				tooLong, buf = true, nil
			} else {
				buf = append(buf, chunk...)
			}
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			if len(buf) == 0 && !tooLong {
				return nil, false, io.EOF
			}
			return buf, tooLong, nil
		case err != nil:
			return nil, false, err
		}
		return buf, tooLong, nil
	}
}

// jsonText turns a JSON value into the text a CSV cell would hold:
// strings as they are, numbers and booleans as written, null as empty,
// and an array of strings joined with spaces (scopes, grant types).
func jsonText(raw json.RawMessage) (string, bool) {
	var v any
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return "", false
	}
	switch v := v.(type) {
	case nil:
		return "", true
	case string:
		return strings.TrimSpace(v), true
	case json.Number:
		return v.String(), true
	case bool:
		return strconv.FormatBool(v), true
	case []any:
		parts := make([]string, 0, len(v))
		for _, p := range v {
			s, ok := p.(string)
			if !ok {
				return "", false
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, " "), true
	}
	return "", false
}

// The three kinds.

var usersKind = &importKind[userRow]{
	name:     "users",
	columns:  []string{"name", "role", "password", "password_hash"},
	required: []string{"name"},
	oneOf:    [][]string{{"password", "password_hash"}},
	parse: func(f rowFields) (userRow, string, string) {
		u := userRow{ImportedUser: store.ImportedUser{Name: f["name"], Role: tokenadmin.Role(f["role"]), PasswordHash: f["password_hash"]}}
		u.password = f["password"]
		if u.Role == "" {
			u.Role = tokenadmin.RoleUser
		}
		switch {
		case u.Name == "":
			return u, "no name", ""
		case !u.Role.Valid():
			return u, "unknown role", strconv.Quote(string(u.Role))
		case (u.password == "") == (u.PasswordHash == ""):
			return u, "want password or password_hash", fmt.Sprintf("user %q", u.Name)
		case len(u.password) > auth.MaxPasswordLen:
			return u, "password too long", fmt.Sprintf("user %q", u.Name)
		}
		if u.PasswordHash != "" {
			// An empty password never matches, so this parses the hash
			// without the cost of hashing (auth.VerifyPassword).
			if _, err := auth.VerifyPassword(u.PasswordHash, ""); err != nil {
				return u, "password_hash is not an argon2id PHC string", fmt.Sprintf("user %q", u.Name)
			}
		}
		return u, "", ""
	},
	write: func(ctx context.Context, s *store.DB, rows []userRow, _ *importState, cp *store.ImportCheckpoint) ([]store.ImportOutcome, error) {
		users := make([]store.ImportedUser, len(rows))
		err := parallel(ctx, len(rows), func(i int) error {
			u := rows[i]
			if u.password != "" {
				// A user already stored with this password keeps its hash
				// (present); otherwise a new hash, which differs from any
				// stored one (a new salt), so a changed user is reported.
				if have, err := s.GetUser(ctx, u.Name); err == nil {
					if ok, _ := auth.VerifyPassword(have.PasswordHash, u.password); ok {
						u.PasswordHash = have.PasswordHash
					}
				} else if tokenadmin.ErrorCode(err) != tokenadmin.CodeNotFound {
					return err
				}
				if u.PasswordHash == "" {
					h, err := auth.HashPassword(u.password)
					if err != nil {
						return err
					}
					u.PasswordHash = h
				}
			}
			users[i] = u.ImportedUser
			return nil
		})
		if err != nil {
			return nil, err
		}
		return s.ImportUsers(ctx, users, cp)
	},
}

// userRow is a user row, with its password in plain text if it came so.
type userRow struct {
	store.ImportedUser
	password string
}

// parallel runs fn(0..n-1) on as many goroutines as there are CPUs (for
// password hashing); the first error wins.
func parallel(ctx context.Context, n int, fn func(i int) error) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		next  int
	)
	for range min(n, runtime.GOMAXPROCS(0)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				stop := first != nil || ctx.Err() != nil
				mu.Unlock()
				if i >= n || stop {
					return
				}
				if err := fn(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return first
}

var appsKind = &importKind[store.ImportedApp]{
	name: "apps",
	columns: []string{"client_id", "name", "owner", "grant_types", "scopes", "access_ttl", "refresh_ttl",
		"rotate_refresh", "introspect", "state", "client_secret"},
	required: []string{"client_id", "name"},
	parse: func(f rowFields) (store.ImportedApp, string, string) {
		a := tokenadmin.NewApp(f["name"])
		a.ClientID, a.Owner = f["client_id"], f["owner"]
		in := store.ImportedApp{Secret: f["client_secret"]}
		if a.ClientID == "" {
			return in, "no client_id", ""
		}
		if v := f["grant_types"]; v != "" {
			a.GrantTypes = strings.Fields(v)
		}
		a.Scopes = strings.Fields(f["scopes"])
		var err error
		for _, d := range []struct {
			col string
			to  *time.Duration
		}{{"access_ttl", &a.AccessTTL}, {"refresh_ttl", &a.RefreshTTL}} {
			if *d.to, err = parseTTL(f[d.col]); err != nil {
				return in, "bad " + d.col, fmt.Sprintf("app %q: %q", a.ClientID, f[d.col])
			}
		}
		for _, b := range []struct {
			col string
			to  *bool
		}{{"rotate_refresh", &a.RotateRefresh}, {"introspect", &a.Introspect}} {
			if v := f[b.col]; v != "" {
				if *b.to, err = strconv.ParseBool(v); err != nil {
					return in, "bad " + b.col, fmt.Sprintf("app %q: %q", a.ClientID, v)
				}
			}
		}
		switch st := tokenadmin.AppState(strings.ToLower(f["state"])); st {
		case "", tokenadmin.AppActive:
			a.State = tokenadmin.AppActive
		case tokenadmin.AppDisabled:
			a.State = st
		default:
			return in, "bad state", fmt.Sprintf("app %q: %q", a.ClientID, f["state"])
		}
		if err := tokenadmin.ValidateAppPolicy(&a); err != nil {
			msg := err.Error()
			if de := (*tokenadmin.Error)(nil); errors.As(err, &de) {
				msg = de.Message
			}
			return in, "invalid app", fmt.Sprintf("app %q: %s", a.ClientID, msg)
		}
		in.App = a
		return in, "", ""
	},
	write: func(ctx context.Context, s *store.DB, rows []store.ImportedApp, _ *importState, cp *store.ImportCheckpoint) ([]store.ImportOutcome, error) {
		return s.ImportApps(ctx, rows, cp)
	},
}

// parseTTL reads a lifetime: a Go duration ("1h30m") or whole seconds;
// empty is 0, the server's default.
func parseTTL(v string) (time.Duration, error) {
	if v == "" {
		return 0, nil
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 && n <= int64(time.Duration(1<<62)/time.Second) {
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, errors.New("bad lifetime")
	}
	return d, nil
}

var tokensKind = &importKind[store.ImportedTokenRow]{
	name: "tokens",
	columns: []string{"value", "hash", "type", "client_id", "user", "scopes", "grant_type", "issued_at",
		"expires_at", "state", "revoked_at", "revoke_reason", "grant"},
	required: []string{"type", "client_id", "user", "issued_at", "expires_at"},
	oneOf:    [][]string{{"value", "hash"}},
	parse: func(f rowFields) (store.ImportedTokenRow, string, string) {
		t := store.ImportedTokenRow{
			Value: f["value"], ExtHash: strings.ToLower(f["hash"]), Type: tokenadmin.TokenType(f["type"]),
			ClientID: f["client_id"], User: f["user"], Scopes: strings.Fields(f["scopes"]),
			GrantType: f["grant_type"], RevokeReason: f["revoke_reason"], Grant: f["grant"],
		}
		switch {
		case t.Value == "" && t.ExtHash == "":
			return t, store.SkipNoValue, ""
		case t.Value == "" && !isSHA256Hex(t.ExtHash):
			return t, store.SkipBadHash, "hash is not 64 hex digits"
		case !t.Type.Valid():
			return t, "bad type", strconv.Quote(string(t.Type))
		case t.ClientID == "":
			return t, "no client_id", ""
		}
		var err error
		for _, c := range []struct {
			col      string
			to       *time.Time
			optional bool
		}{{"issued_at", &t.IssuedAt, false}, {"expires_at", &t.ExpiresAt, false}, {"revoked_at", &t.RevokedAt, true}} {
			v := f[c.col]
			if v == "" && c.optional {
				continue
			}
			if *c.to, err = time.Parse(time.RFC3339Nano, v); err != nil {
				return t, "bad " + c.col, fmt.Sprintf("%q is not an RFC 3339 time", v)
			}
		}
		if t.ExpiresAt.Before(t.IssuedAt) {
			return t, "expires_at before issued_at", ""
		}
		switch strings.ToLower(f["state"]) {
		case "", "active":
			t.Revoked = !t.RevokedAt.IsZero()
		case "revoked":
			t.Revoked = true
		case "expired":
			t.Expired = true
		default:
			return t, "bad state", strconv.Quote(f["state"])
		}
		return t, "", ""
	},
	write: func(ctx context.Context, s *store.DB, rows []store.ImportedTokenRow, st *importState, cp *store.ImportCheckpoint) ([]store.ImportOutcome, error) {
		return s.ImportTokenRows(ctx, rows, &st.Grant, cp)
	},
}
