package store

import (
	"context"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mattn/go-sqlite3"
)

//go:embed migrations/*.sql
var migrations embed.FS

// The writer's connection does not checkpoint the WAL itself: a commit
// that happens to cross the auto-checkpoint threshold would copy pages back
// into the database and fsync it while every queued write waits. The
// checkpointer goroutine does that work on its own connection instead, and
// SQLite checkpoints when the last connection closes (an admin command).
// The writer keeps a larger page cache, since every write walks several
// indexes.
const writerDriver = "sqlite3_tokenadmin_writer"

func init() {
	sql.Register(writerDriver, &sqlite3.SQLiteDriver{
		ConnectHook: func(c *sqlite3.SQLiteConn) error {
			// journal_size_limit 512 MiB: the WAL file keeps the size it
			// grew to before a restart (256 MiB under steady load,
			// checkpoint.go), so later writes overwrite blocks the file
			// already has, and a WAL fsync need not also commit newly
			// allocated blocks: 11–22 % more SOAP revocations a second than
			// truncating it back to 64 MiB after each restart
			// (docs/stalls.md). Only a WAL grown past 512 MiB is cut back.
			_, err := c.Exec("PRAGMA wal_autocheckpoint = 0; PRAGMA cache_size = -65536; PRAGMA journal_size_limit = 536870912", nil)
			return err
		},
	})
}

// Options configure Open. The zero value is a production configuration.
type Options struct {
	// KeyFile holds the token-hashing key; default: the database path plus ".key".
	KeyFile string
	// Now is the store's clock, which judges expiry; default time.Now.
	Now func() time.Time
	// Rand supplies token values and IDs; default crypto/rand.Reader.
	Rand io.Reader
	// MaxBatch bounds how many writes share one transaction; default 256.
	// 1 commits every write on its own (with SyncInline, one fsync each).
	MaxBatch int
	// SyncInline makes SQLite fsync inside every commit (synchronous=FULL)
	// instead of the syncer doing it after the commit, outside the write
	// lock. Both are durable; inline is slower and kept for comparison.
	SyncInline bool
	// ChunkSize is how many tokens one bulk-revocation transaction revokes;
	// default 1000, which keeps each chunk to a few milliseconds.
	ChunkSize int
	// ReadConns bounds the read pool; default twice the cores, at least 4.
	ReadConns int
	// SweepInterval, when positive, runs SweepExpired that often in the
	// background (the server does; short-lived admin commands need not).
	SweepInterval time.Duration
	// Janitor purges old revoked and expired tokens in the background
	// (janitor.go); off when its Interval is zero.
	Janitor JanitorOptions
	// Log receives background errors (the expiry sweep); none when nil.
	Log func(msg string, err error)
	// ActiveResync, when positive, keeps Stats().ActiveTokens: counted in
	// the background after Open, adjusted by every write of this process,
	// and counted again that often (stats.go). The server sets it.
	ActiveResync time.Duration
	// OnRevoke, when set, is told of every revocation once it is durable:
	// the context of the call that revoked (a request's, with its
	// tokenadmin.RequestInfo), the reason, and how many tokens it revoked
	// (n > 0). It must be quick: it runs on the caller's goroutine.
	// Retirement by refresh rotation is not a revocation here.
	OnRevoke func(ctx context.Context, reason string, n int)
}

// DB is a token store on one SQLite file. It is safe for concurrent use;
// several processes may open the same file.
type DB struct {
	path      string
	now       func() time.Time
	rand      io.Reader
	chunkSize int

	key   []byte       // HMAC key for token values
	pages cipher.Block // page-token cipher, derived from key

	read  *sql.DB
	write *sql.DB

	writes     chan *writeOp
	maxBatch   int
	closeOnce  sync.Once
	closed     chan struct{}   // closed by Close
	syncs      chan *committed // writer → syncer
	stopped    chan struct{}   // closed when the writer and the syncer have stopped
	syncInline bool
	wal        *os.File      // the WAL, opened by the syncer
	file       *os.File      // the database file, for flushDB; closed after SQLite's connections (Open)
	syncHook   func() error  // tests: runs before each WAL sync
	sweepDone  chan struct{} // closed when the sweep loop has stopped
	janitor    janitorState

	checkpointDone chan struct{}      // closed when the checkpointer has stopped
	walBehind      atomic.Bool        // the checkpoint lags: bulk work pauses
	hold           chan chan struct{} // checkpointer → writer: wait between transactions until closed
	ckpt           ckptState          // checkpoint.go
	failed         atomic.Value       // error: a sync failed (DB.fail), no write is safe any more
	log            func(msg string, err error)
	stats          stats // stats.go
}

// dsn builds a connection string with every per-connection setting in it,
// so each pooled connection gets them (house style #10).
func dsn(path string, extra url.Values) string {
	v := url.Values{
		"_journal_mode": {"WAL"},
		"_synchronous":  {"FULL"},
		"_busy_timeout": {"10000"},
		"_foreign_keys": {"on"},
		// Statements are prepared once per connection and reused.
		"_stmt_cache_size": {"64"},
	}
	for k, vs := range extra {
		v[k] = vs
	}
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + v.Encode()
}

// Open opens (creating and migrating if needed) the database at path.
func Open(ctx context.Context, path string, opts Options) (*DB, error) {
	if path == "" {
		return nil, errors.New("store: empty database path")
	}
	db := &DB{
		path:      path,
		now:       opts.Now,
		rand:      opts.Rand,
		chunkSize: opts.ChunkSize,
		maxBatch:  opts.MaxBatch,
		writes:    make(chan *writeOp, 1024),
		closed:    make(chan struct{}),

		syncs:      make(chan *committed, 64),
		stopped:    make(chan struct{}),
		syncInline: opts.SyncInline,
		sweepDone:  make(chan struct{}),

		checkpointDone: make(chan struct{}),
		hold:           make(chan chan struct{}),
		log:            opts.Log,
		stats:          stats{track: opts.ActiveResync > 0, done: make(chan struct{}), onRevoke: opts.OnRevoke},
	}
	if db.now == nil {
		db.now = time.Now
	}
	if db.rand == nil {
		db.rand = rand.Reader
	}
	if db.chunkSize <= 0 {
		db.chunkSize = 1000
	}
	if db.maxBatch <= 0 {
		db.maxBatch = 256
	}
	readConns := opts.ReadConns
	if readConns <= 0 {
		// Each reader is an OS thread inside SQLite; more of them than
		// cores only adds kernel time-slicing to the tail latency.
		readConns = max(4, 2*runtime.GOMAXPROCS(0))
	}

	var err error
	writeSync := "NORMAL" // the syncer makes commits durable; see syncWAL
	if db.syncInline {
		writeSync = "FULL"
	}
	if db.write, err = sql.Open(writerDriver, dsn(path, url.Values{"_txlock": {"immediate"}, "_synchronous": {writeSync}})); err != nil {
		return nil, fmt.Errorf("store: open: %w", err)
	}
	db.write.SetMaxOpenConns(1)
	db.write.SetMaxIdleConns(1)
	db.write.SetConnMaxLifetime(0)
	db.write.SetConnMaxIdleTime(0)
	if err := db.migrate(ctx); err != nil {
		db.write.Close()
		return nil, err
	}
	if db.read, err = sql.Open("sqlite3", dsn(path, url.Values{"_query_only": {"true"}})); err != nil {
		db.write.Close()
		return nil, fmt.Errorf("store: open: %w", err)
	}
	db.read.SetMaxOpenConns(readConns)
	db.read.SetMaxIdleConns(readConns)
	db.read.SetConnMaxIdleTime(0)

	keyFile := opts.KeyFile
	if keyFile == "" {
		keyFile = path + ".key"
	}
	if err := db.loadKey(ctx, keyFile); err != nil {
		db.read.Close()
		db.write.Close()
		return nil, err
	}
	if db.pages, err = pageCipher(db.key); err != nil {
		db.read.Close()
		db.write.Close()
		return nil, fmt.Errorf("store: %w", err)
	}
	// A short busy timeout: the checkpointer must never queue behind the
	// writer for long (a TRUNCATE checkpoint that cannot start just fails).
	cp, err := sql.Open("sqlite3", dsn(path, url.Values{"_busy_timeout": {"100"}}))
	if err != nil {
		db.read.Close()
		db.write.Close()
		return nil, fmt.Errorf("store: open: %w", err)
	}
	cp.SetMaxOpenConns(1)
	// flushDB writes the database file back through a descriptor of its
	// own, kept open until SQLite's connections are closed: closing any
	// descriptor of the file drops every POSIX lock this process holds on
	// it, SQLite's included (sqlite.org/howtocorrupt.html §2.2).
	if db.file, err = os.Open(path); err != nil {
		cp.Close()
		db.read.Close()
		db.write.Close()
		return nil, fmt.Errorf("store: open: %w", err)
	}
	go db.checkpointer(cp)
	go db.writer()
	go db.syncer()
	if opts.SweepInterval > 0 {
		go db.sweepLoop(opts.SweepInterval)
	} else {
		close(db.sweepDone)
	}
	if db.stats.track {
		go db.recountLoop(opts.ActiveResync)
	} else {
		close(db.stats.done)
	}
	db.startJanitor(opts.Janitor)
	return db, nil
}

// Close stops the writer after the writes already queued and closes the
// database. Writes submitted after Close fail.
func (db *DB) Close() error {
	db.closeOnce.Do(func() { close(db.closed) })
	<-db.sweepDone
	<-db.stats.done
	<-db.janitor.done
	<-db.checkpointDone
	<-db.stopped
	err := errors.Join(db.read.Close(), db.write.Close())
	// Only now that SQLite has let go of its locks (Open).
	if ferr := db.file.Close(); !errors.Is(ferr, os.ErrClosed) {
		err = errors.Join(err, ferr)
	}
	return err
}

// Path returns the database file path.
func (db *DB) Path() string { return db.path }

// migrate applies the embedded migrations not yet recorded, each in its own
// transaction together with its record.
func (db *DB) migrate(ctx context.Context) error {
	if _, err := db.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY) WITHOUT ROWID`); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := db.applyMigration(ctx, name); err != nil {
			return fmt.Errorf("store: migration %s: %w", name, err)
		}
	}
	return nil
}

func (db *DB) applyMigration(ctx context.Context, name string) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE name = ?`, name).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	body, err := migrations.ReadFile(name)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, string(body)); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (name) VALUES (?)`, name); err != nil {
		return err
	}
	return tx.Commit()
}

// keyCheck is what the database records of the key: an HMAC of a fixed
// label, so a wrong or replaced key file is detected at start instead of
// silently making every stored token unverifiable.
func keyCheck(key []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("tokenadmin key check v1"))
	return hex.EncodeToString(m.Sum(nil))
}

func (db *DB) loadKey(ctx context.Context, keyFile string) error {
	tx, err := db.write.BeginTx(ctx, nil) // immediate: serialises first starts
	if err != nil {
		return fmt.Errorf("store: key: %w", err)
	}
	defer tx.Rollback()
	var recorded string
	err = tx.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'key_check'`).Scan(&recorded)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("store: key: %w", err)
	}
	raw, readErr := os.ReadFile(keyFile)
	switch {
	case readErr == nil:
		key, err := hex.DecodeString(strings.TrimSpace(string(raw)))
		if err != nil || len(key) != 32 {
			return fmt.Errorf("store: key file %s: want 64 hex digits", keyFile)
		}
		if recorded != "" && !hmac.Equal([]byte(recorded), []byte(keyCheck(key))) {
			return fmt.Errorf("store: key file %s does not belong to database %s", keyFile, db.path)
		}
		db.key = key
	case errors.Is(readErr, fs.ErrNotExist) && recorded == "":
		key := make([]byte, 32)
		if _, err := io.ReadFull(db.rand, key); err != nil {
			return fmt.Errorf("store: key: %w", err)
		}
		if err := writeKeyFile(keyFile, key); err != nil {
			return err
		}
		db.key = key
	case errors.Is(readErr, fs.ErrNotExist):
		return fmt.Errorf("store: key file %s is missing; without it no stored token can be verified", keyFile)
	default:
		return fmt.Errorf("store: key: %w", readErr)
	}
	if recorded == "" {
		if _, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('key_check', ?)`, keyCheck(db.key)); err != nil {
			return fmt.Errorf("store: key: %w", err)
		}
	}
	return tx.Commit()
}

// writeKeyFile creates the key file with mode 0600, never overwriting one.
func writeKeyFile(name string, key []byte) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("store: create key file: %w", err)
	}
	_, err = f.WriteString(hex.EncodeToString(key) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = syncDir(filepath.Dir(name)) // the new name must survive a power cut too
	}
	if err != nil {
		os.Remove(name)
		return fmt.Errorf("store: write key file: %w", err)
	}
	return nil
}

// hashValue is the stored form of a token value. Tokens are found by
// value with an indexed lookup of this HMAC, not by comparing values, and
// that is no timing oracle: the attacker does not choose the bytes
// compared in the index, only their preimage, and without the key cannot
// steer the HMAC towards a stored one, so how far a lookup gets says
// nothing about any token. (The unkeyed SHA-256 of imported WSO2 hashes,
// extHash, is looked up the same way: learning a prefix of a stored
// SHA-256 still leaves a 256-bit preimage to find.)
//
// A value of 43 base64url characters, the form IssueTokens makes, is
// stored as its first 7 characters followed by the HMAC: issued values
// start with the millisecond they were made (newTokenValue), so their
// hashes sort in the order they were issued and the hash index grows at
// its end instead of taking each issuance on a random page. The prefix
// shows no more than the value's holder sees; the HMAC covers the whole
// value. Only the prefix is chosen by whoever presents a value, so the
// most a lookup's timing can tell (to an authenticated client: every
// lookup by value needs one) is whether tokens were issued in a given
// millisecond, never anything of a token's secret part.
func (db *DB) hashValue(value string) []byte {
	sum := db.plainHash(value)
	if !prefixKeyed(value) {
		return sum
	}
	return append([]byte(value[:7]), sum...)
}

// plainHash is the HMAC alone: the stored form of every value before
// prefixed keys, kept by tokens issued or imported by earlier versions,
// and of every imported value (importKey: its first characters are no
// time). Lookups by value try it when hashValue's form finds nothing
// (hashKeys).
func (db *DB) plainHash(value string) []byte {
	m := hmac.New(sha256.New, db.key)
	m.Write([]byte(value))
	return m.Sum(nil)
}

// hashKeys returns the stored forms a token value may have, in the order
// to look them up: hashValue's, then, when that is prefixed, plainHash's.
func (db *DB) hashKeys(value string) [][]byte {
	k := db.hashValue(value)
	if !prefixKeyed(value) {
		return [][]byte{k}
	}
	return [][]byte{k, k[7:]}
}

// prefixKeyed reports whether hashValue prefixes value's hash: 43
// characters, all of base64url's alphabet.
func prefixKeyed(value string) bool {
	if len(value) != 43 {
		return false
	}
	for i := 0; i < len(value); i++ {
		if c := value[i]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// isUnique reports a UNIQUE constraint violation, by code (house style #6).
func isUnique(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && se.ExtendedCode == sqlite3.ErrConstraintUnique
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }
