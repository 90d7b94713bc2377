package store

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"io"

	"tokenadmin"
)

// WS-Security digest credentials (migration 0007): the secret a
// PasswordDigest UsernameToken is computed from, sealed under a key
// derived from the database key, so that a copy of the database file alone
// does not reveal it. Whoever holds both files (or the running process)
// can read it: that is the price of PasswordDigest, which needs the
// plaintext at the server, unlike argon2id password hashes.

const (
	digestSealVersion = 1
	digestHKDFInfo    = "tokenadmin wss digest credential v1"
)

// digestAEAD derives the sealing key from the database key (HKDF-SHA-256,
// RFC 5869) and returns AES-256-GCM under it.
func (db *DB) digestAEAD() (cipher.AEAD, error) {
	k, err := hkdf.Key(sha256.New, db.key, nil, digestHKDFInfo, 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// sealDigest seals secret for user: version byte, nonce, ciphertext; the
// user name is the additional data, so a sealed secret moved to another
// user's row does not open.
func (db *DB) sealDigest(user string, secret []byte) ([]byte, error) {
	aead, err := db.digestAEAD()
	if err != nil {
		return nil, err
	}
	out := make([]byte, 1+aead.NonceSize(), 1+aead.NonceSize()+len(secret)+aead.Overhead())
	out[0] = digestSealVersion
	if _, err := io.ReadFull(db.rand, out[1:]); err != nil {
		return nil, err
	}
	return aead.Seal(out, out[1:], secret, []byte(user)), nil
}

func (db *DB) openDigest(user string, sealed []byte) ([]byte, error) {
	aead, err := db.digestAEAD()
	if err != nil {
		return nil, err
	}
	if len(sealed) < 1+aead.NonceSize()+aead.Overhead() || sealed[0] != digestSealVersion {
		return nil, errors.New("malformed sealed digest credential")
	}
	n := sealed[1 : 1+aead.NonceSize()]
	return aead.Open(nil, n, sealed[1+aead.NonceSize():], []byte(user))
}

// CreateUserWithDigest is CreateUser that also stores secret as the user's
// WS-Security digest credential (in the same transaction).
func (db *DB) CreateUserWithDigest(ctx context.Context, u tokenadmin.User, secret []byte) error {
	if len(secret) == 0 {
		return tokenadmin.Errorf(tokenadmin.CodeInvalid, "the WS-Security digest secret must not be empty")
	}
	sealed, err := db.sealDigest(u.Name, secret)
	if err != nil {
		return fmt.Errorf("store: seal digest credential: %w", err)
	}
	return db.createUser(ctx, u, sealed)
}

// SetPasswordAndDigest replaces a user's password hash and sets secret as
// their WS-Security digest credential, in one update; unknown is
// CodeNotFound. SetPassword alone clears the digest credential, so that an
// old password never keeps working through digests.
func (db *DB) SetPasswordAndDigest(ctx context.Context, name, passwordHash string, secret []byte) error {
	if len(secret) == 0 {
		return tokenadmin.Errorf(tokenadmin.CodeInvalid, "the WS-Security digest secret must not be empty")
	}
	sealed, err := db.sealDigest(name, secret)
	if err != nil {
		return fmt.Errorf("store: seal digest credential: %w", err)
	}
	return wrapErr("set password", db.updateUser(ctx, name, `password_hash = ?, wss_digest = ?`, passwordHash, sealed))
}

// DigestSecret returns the caller name identifies and their WS-Security
// digest secret, unsealed (soap.DigestCredentials). An unknown user and a
// user without a digest credential are both CodeNotFound (the latter with
// the user's Caller, for the audit of a failed login); a credential
// that does not open (another database key, a row tampered with) is an
// internal error.
func (db *DB) DigestSecret(ctx context.Context, name string) (tokenadmin.Caller, []byte, error) {
	var (
		role   string
		sealed []byte
	)
	err := db.read.QueryRowContext(ctx, `SELECT role, wss_digest FROM users WHERE name = +?`, name).Scan(&role, &sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return tokenadmin.Caller{}, nil, tokenadmin.Errorf(tokenadmin.CodeNotFound, "no WS-Security digest credential for user %q", name)
	}
	if err == nil && sealed == nil {
		// The user exists: the Caller goes with the error, so that an
		// admin's failed digest login is audited like a wrong password.
		return tokenadmin.Caller{Name: name, Role: tokenadmin.Role(role)}, nil,
			tokenadmin.Errorf(tokenadmin.CodeNotFound, "no WS-Security digest credential for user %q", name)
	}
	if err != nil {
		return tokenadmin.Caller{}, nil, fmt.Errorf("store: digest credential: %w", err)
	}
	secret, err := db.openDigest(name, sealed)
	if err != nil {
		return tokenadmin.Caller{}, nil, fmt.Errorf("store: digest credential of %q: %w", name, err)
	}
	r := tokenadmin.Role(role)
	if !r.Valid() {
		return tokenadmin.Caller{}, nil, fmt.Errorf("store: user %q: unknown role %q", name, role)
	}
	return tokenadmin.Caller{Name: name, Role: r}, secret, nil
}

// HasDigestCredential reports whether user name has a WS-Security digest
// credential; unknown is CodeNotFound.
func (db *DB) HasDigestCredential(ctx context.Context, name string) (bool, error) {
	var has bool
	err := db.read.QueryRowContext(ctx, `SELECT wss_digest IS NOT NULL FROM users WHERE name = ?`, name).Scan(&has)
	if errors.Is(err, sql.ErrNoRows) {
		return false, tokenadmin.Errorf(tokenadmin.CodeNotFound, "user %q not found", name)
	}
	if err != nil {
		return false, fmt.Errorf("store: digest credential: %w", err)
	}
	return has, nil
}
