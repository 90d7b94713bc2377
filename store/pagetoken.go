package store

import (
	"encoding/base64"
	"encoding/binary"
	"hash/fnv"

	"tokenadmin"
)

// A page token carries the last id of the previous page and a fingerprint
// of the filter it was issued for, so that a token reused with another
// filter (a client bug) is refused instead of silently skipping rows.
//
//	version byte (1) | uvarint last id | 4-byte FNV-1a of the filter

const pageTokenVersion = 1

func filterFingerprint(f tokenadmin.TokenFilter) uint32 {
	h := fnv.New32a()
	for _, s := range []string{f.User, f.ClientID, string(f.Type)} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return h.Sum32()
}

func encodePageToken(lastID int64, f tokenadmin.TokenFilter) string {
	b := make([]byte, 0, 1+binary.MaxVarintLen64+4)
	b = append(b, pageTokenVersion)
	b = binary.AppendUvarint(b, uint64(lastID))
	b = binary.BigEndian.AppendUint32(b, filterFingerprint(f))
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodePageToken returns the id to continue after; 0 for no token.
func decodePageToken(s string, f tokenadmin.TokenFilter) (int64, error) {
	if s == "" {
		return 0, nil
	}
	bad := tokenadmin.Errorf(tokenadmin.CodeInvalidPageToken, "pageToken is not valid for this query")
	if len(s) > 32 {
		return 0, bad
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) < 1+1+4 || b[0] != pageTokenVersion {
		return 0, bad
	}
	id, n := binary.Uvarint(b[1:])
	if n <= 0 || 1+n+4 != len(b) || id > 1<<62 {
		return 0, bad
	}
	if binary.BigEndian.Uint32(b[1+n:]) != filterFingerprint(f) {
		return 0, bad
	}
	return int64(id), nil
}
