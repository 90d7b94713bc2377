-- Disabling, deleting or re-keying an app makes every grant it had so far
-- dead at once, in the same write: tokens whose family_id is at or below
-- revoked_below are inactive, whatever their own row says. The chunked
-- revocation that follows records it token by token (reasons, getToken);
-- until it is done, and even if it never finishes (a crash), no such
-- token is listed, introspected as active or refreshed. revoke_reason is
-- what getToken reports for them meanwhile.
ALTER TABLE apps ADD COLUMN revoked_below INTEGER NOT NULL DEFAULT 0;
ALTER TABLE apps ADD COLUMN revoke_reason TEXT NOT NULL DEFAULT '';
