-- The audit log: one row per state change (or login), append-only and
-- hash-chained. hash is the lower-hex SHA-256 of the canonical encoding of
-- every other column and prev_hash (store/audit.go, auditHash); prev_hash
-- is the hash of the row before, or the genesis value for seq 1. Times are
-- Unix milliseconds (UTC). No secret is ever written here.
CREATE TABLE audit (
	seq         INTEGER PRIMARY KEY, -- 1, 2, 3, … without gaps
	time        INTEGER NOT NULL,
	actor       TEXT NOT NULL,
	role        TEXT NOT NULL,
	client_addr TEXT NOT NULL,
	request_id  TEXT NOT NULL,
	action      TEXT NOT NULL,
	target      TEXT NOT NULL,
	outcome     TEXT NOT NULL,
	count       INTEGER NOT NULL,
	reason      TEXT NOT NULL,
	prev_hash   TEXT NOT NULL,
	hash        TEXT NOT NULL
);

-- Listings filter by actor or action and walk seq in order; a time range
-- alone walks seq (time grows with seq) between bounds found by audit_time.
CREATE INDEX audit_actor  ON audit (actor, seq);
CREATE INDEX audit_action ON audit (action, seq);
CREATE INDEX audit_time   ON audit (time, seq);

-- The head of the chain, updated with every append in the same statement:
-- the table alone cannot show that its last records were deleted, the
-- head can.
INSERT INTO meta (key, value) VALUES ('audit_head_seq', 0), ('audit_head_hash', '');

CREATE TRIGGER audit_head AFTER INSERT ON audit
BEGIN
	UPDATE meta SET value = NEW.seq WHERE key = 'audit_head_seq';
	UPDATE meta SET value = NEW.hash WHERE key = 'audit_head_hash';
END;
