-- Apps get OAuth client credentials and a policy. Lifetimes are seconds,
-- 0 meaning the server's default. The secret is HMAC-SHA-256 under the
-- server key; NULL means the app has none (it cannot authenticate).
-- A deleted app stays as a tombstone so that its revoked tokens still
-- name it in getToken; its client ID is not reused.
ALTER TABLE apps ADD COLUMN secret_hash    BLOB;
ALTER TABLE apps ADD COLUMN grant_types    TEXT NOT NULL DEFAULT '';
ALTER TABLE apps ADD COLUMN scopes         TEXT NOT NULL DEFAULT '';
ALTER TABLE apps ADD COLUMN access_ttl     INTEGER NOT NULL DEFAULT 0;
ALTER TABLE apps ADD COLUMN refresh_ttl    INTEGER NOT NULL DEFAULT 0;
ALTER TABLE apps ADD COLUMN rotate_refresh INTEGER NOT NULL DEFAULT 1;
ALTER TABLE apps ADD COLUMN introspect     INTEGER NOT NULL DEFAULT 0;
ALTER TABLE apps ADD COLUMN state          TEXT NOT NULL DEFAULT 'active'
	CHECK (state IN ('active', 'disabled', 'deleted'));

CREATE INDEX apps_owner ON apps (owner, name) WHERE state != 'deleted';
