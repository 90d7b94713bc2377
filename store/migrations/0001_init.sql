-- Schema v1. Times are Unix milliseconds (UTC). Token values are never
-- stored: "hash" is HMAC-SHA-256 of the value under the server key, and
-- "token_id" is a separate random public identifier.

CREATE TABLE meta (
	key   TEXT PRIMARY KEY,
	value ANY NOT NULL
) WITHOUT ROWID;

-- users_epoch changes whenever a user is added, changed or deleted, by any
-- process, so that the server can drop cached credential checks.
INSERT INTO meta (key, value) VALUES ('users_epoch', 0);

CREATE TABLE users (
	id            INTEGER PRIMARY KEY,
	name          TEXT NOT NULL UNIQUE,
	role          TEXT NOT NULL CHECK (role IN ('admin', 'user')),
	password_hash TEXT NOT NULL,
	created_at    INTEGER NOT NULL,
	updated_at    INTEGER NOT NULL
);

CREATE TRIGGER users_epoch_insert AFTER INSERT ON users
BEGIN UPDATE meta SET value = value + 1 WHERE key = 'users_epoch'; END;
CREATE TRIGGER users_epoch_update AFTER UPDATE ON users
BEGIN UPDATE meta SET value = value + 1 WHERE key = 'users_epoch'; END;
CREATE TRIGGER users_epoch_delete AFTER DELETE ON users
BEGIN UPDATE meta SET value = value + 1 WHERE key = 'users_epoch'; END;

CREATE TABLE apps (
	id         INTEGER PRIMARY KEY,
	client_id  TEXT NOT NULL UNIQUE,
	name       TEXT NOT NULL,
	owner      TEXT NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL
);

CREATE TABLE tokens (
	id            INTEGER PRIMARY KEY AUTOINCREMENT, -- listing order; never reused
	token_id      TEXT NOT NULL UNIQUE,
	hash          BLOB NOT NULL UNIQUE,
	type          TEXT NOT NULL CHECK (type IN ('access', 'refresh')),
	app_id        INTEGER NOT NULL REFERENCES apps (id),
	user_name     TEXT NOT NULL,
	scope         TEXT NOT NULL DEFAULT '',     -- space-separated, RFC 6749 §3.3
	grant_type    TEXT NOT NULL DEFAULT '',
	family_id     INTEGER NOT NULL,             -- id of the grant's first token
	issued_at     INTEGER NOT NULL,
	expires_at    INTEGER NOT NULL,
	revoked_at    INTEGER,
	revoked_by    TEXT,
	revoke_reason TEXT,
	-- Set by the expiry sweep once expires_at has passed, to take the token
	-- out of the live indexes. Expiry itself is always judged by expires_at.
	expired       INTEGER NOT NULL DEFAULT 0
);

-- Partial indexes over live tokens (neither revoked nor swept as expired):
-- a listing page walks one of them from the page token's id, so it costs
-- O(log n + page) however many dead tokens the table holds.
CREATE INDEX tokens_live      ON tokens (id)            WHERE revoked_at IS NULL AND expired = 0;
CREATE INDEX tokens_live_user ON tokens (user_name, id) WHERE revoked_at IS NULL AND expired = 0;
CREATE INDEX tokens_live_app  ON tokens (app_id, id)    WHERE revoked_at IS NULL AND expired = 0;

-- These two only drop a token once it is swept, not when it is revoked, so
-- that a revocation rewrites as few index pages as possible. Families are
-- small, and the sweep marks revoked tokens too.
CREATE INDEX tokens_unswept_family ON tokens (family_id)  WHERE expired = 0;
CREATE INDEX tokens_unswept_expiry ON tokens (expires_at) WHERE expired = 0;
