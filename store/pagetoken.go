package store

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"

	"tokenadmin"
)

// A page token is one AES block under a key derived from the server key:
// the last id of the previous page and a MAC binding it to the filter it
// was issued for. Clients can neither read the id (and so the table's
// size or growth) nor forge a token, and a token reused with another
// filter (a client bug) is refused instead of silently skipping rows.
//
//	AES(8-byte big-endian last id | first 8 bytes of HMAC(id, filter))

// pageCipher derives the page-token cipher from the server key.
func pageCipher(key []byte) (cipher.Block, error) {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("tokenadmin page token v1"))
	return aes.NewCipher(m.Sum(nil)[:16])
}

func (db *DB) pageMAC(id uint64, f tokenadmin.TokenFilter) []byte {
	m := hmac.New(sha256.New, db.key)
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], id)
	m.Write(b[:])
	for _, s := range []string{f.User, f.ClientID, string(f.Type)} {
		binary.BigEndian.PutUint64(b[:], uint64(len(s)))
		m.Write(b[:])
		m.Write([]byte(s))
	}
	return m.Sum(nil)[:8]
}

func (db *DB) encodePageToken(lastID int64, f tokenadmin.TokenFilter) string {
	var block [aes.BlockSize]byte
	binary.BigEndian.PutUint64(block[:8], uint64(lastID))
	copy(block[8:], db.pageMAC(uint64(lastID), f))
	db.pages.Encrypt(block[:], block[:])
	return base64.RawURLEncoding.EncodeToString(block[:])
}

// decodePageToken returns the id to continue after; 0 for no token.
func (db *DB) decodePageToken(s string, f tokenadmin.TokenFilter) (int64, error) {
	if s == "" {
		return 0, nil
	}
	bad := tokenadmin.Errorf(tokenadmin.CodeInvalidPageToken, "pageToken is not valid for this query")
	var block [aes.BlockSize]byte
	if base64.RawURLEncoding.DecodedLen(len(s)) != len(block) {
		return 0, bad
	}
	if n, err := base64.RawURLEncoding.Decode(block[:], []byte(s)); err != nil || n != len(block) {
		return 0, bad
	}
	db.pages.Decrypt(block[:], block[:])
	id := binary.BigEndian.Uint64(block[:8])
	if !hmac.Equal(block[8:], db.pageMAC(id, f)) || id > 1<<62 {
		return 0, bad
	}
	return int64(id), nil
}
