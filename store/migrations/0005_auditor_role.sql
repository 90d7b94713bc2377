-- The auditor role: reads everything, changes nothing. SQLite cannot
-- change a CHECK constraint in place, so users is rebuilt (the procedure
-- of https://sqlite.org/lang_altertable.html#otheralter): the same
-- columns, the same UNIQUE index on name, the same epoch triggers. Nothing
-- references users by foreign key, and ids are kept, so nothing else
-- changes. Copying does not move users_epoch: the users are the same.

CREATE TABLE users_new (
	id            INTEGER PRIMARY KEY,
	name          TEXT NOT NULL UNIQUE,
	role          TEXT NOT NULL CHECK (role IN ('admin', 'auditor', 'user')),
	password_hash TEXT NOT NULL,
	created_at    INTEGER NOT NULL,
	updated_at    INTEGER NOT NULL
);

INSERT INTO users_new (id, name, role, password_hash, created_at, updated_at)
	SELECT id, name, role, password_hash, created_at, updated_at FROM users;

DROP TABLE users;
ALTER TABLE users_new RENAME TO users;

CREATE TRIGGER users_epoch_insert AFTER INSERT ON users
BEGIN UPDATE meta SET value = value + 1 WHERE key = 'users_epoch'; END;
CREATE TRIGGER users_epoch_update AFTER UPDATE ON users
BEGIN UPDATE meta SET value = value + 1 WHERE key = 'users_epoch'; END;
CREATE TRIGGER users_epoch_delete AFTER DELETE ON users
BEGIN UPDATE meta SET value = value + 1 WHERE key = 'users_epoch'; END;
