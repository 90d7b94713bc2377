// Package store keeps tokens, apps and users in SQLite (mattn/go-sqlite3).
//
// The database runs in WAL mode. Reads use a pool of connections; every
// write goes through one writer goroutine that gathers concurrent writes
// into a single transaction (group commit). A syncer goroutine then fsyncs
// the WAL, once for every batch committed meanwhile, and only then answers
// the writes: an acknowledged revocation survives a crash of the process
// or the machine, no request pays an fsync of its own, and the writer goes
// on with the next batch while the disk syncs. (A committed write may be
// seen by readers just before it is durable; it is never acknowledged
// before.)
// One failing write never undoes another in the same batch: a write makes
// a single change, which SQLite applies atomically, or runs in a savepoint.
//
// Token values are never stored. The store keeps HMAC-SHA-256(value) under
// a 256-bit server key that lives in a separate file (by default the
// database path plus ".key", created with mode 0600 on first start), so a
// copy of the database alone does not let anyone test guessed token values.
package store
