-- Tokens imported from WSO2 exports that hold only WSO2's hash of the value
-- (ACCESS_TOKEN_HASH: SHA-256, lower hex) keep it here, so that they stay
-- valid and revocable by value: a lookup whose HMAC finds nothing tries
-- ext_hash = lower(hex(sha256(value))). Their "hash" column holds a keyed
-- hash of the WSO2 hash instead (it is NOT NULL UNIQUE), which no token
-- value can produce. Tokens imported with their value record WSO2's hash
-- too, so that a later export of the same token as a hash only is known;
-- tokens we issue have no ext_hash.
ALTER TABLE tokens ADD COLUMN ext_hash TEXT;

CREATE UNIQUE INDEX tokens_ext_hash ON tokens (ext_hash) WHERE ext_hash IS NOT NULL;
