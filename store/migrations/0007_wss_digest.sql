-- WS-Security PasswordDigest needs the user's password (or a separate
-- WS-Security secret) in plaintext at the server. Users who opt in
-- (tokenadmin user add|passwd --wss-digest) keep it here, sealed with
-- AES-256-GCM under a key derived from the database key (<db>.key) with
-- HKDF-SHA-256, the user name as additional data: 0x01 || nonce(12) ||
-- ciphertext+tag. NULL: no digest credential, digests fail for this user.
-- Setting or clearing it is an UPDATE of users, so users_epoch_update
-- (0001) bumps the epoch and credential caches and sessions see the change.
ALTER TABLE users ADD COLUMN wss_digest BLOB;
