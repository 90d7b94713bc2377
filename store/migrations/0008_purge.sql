-- Indexes for the janitor (purge.go), so that finding what to purge costs
-- O(log n + candidates) at any table size instead of a scan of every token.
--
-- Revoked tokens by revocation time. This is the one index a revocation
-- now writes to (an entry added; the live indexes lose theirs as before).
CREATE INDEX tokens_revoked ON tokens (revoked_at) WHERE revoked_at IS NOT NULL;
-- Unrevoked tokens that the sweep has marked expired, by expiry. No
-- revocation ever touches these (a revocation needs expired = 0); the sweep
-- adds their entries. Unrevoked tokens that expired but are not swept yet
-- are found through tokens_unswept_expiry.
CREATE INDEX tokens_swept_expiry ON tokens (expires_at) WHERE expired = 1 AND revoked_at IS NULL;
