// Package credential mints and checks the secrets with which an identity provider
// authenticates as a tenant; only a hash of each secret is ever stored.
package credential

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"time"

	"github.com/scimd/scimd/internal/store"
)

// Issued is a new credential together with the secret, which exists only here and in the
// output shown once to the operator.
type Issued struct {
	Credential store.Credential
	Password   string // the Basic auth password
	Bearer     string // the bearer token: "<id>.<password>"
}

// New mints a credential for a tenant: a public id (the Basic user name) and a 256-bit
// random secret. The secret is high-entropy, so a fast hash (SHA-256) is enough: no
// dictionary can guess it, and every request can afford to check it.
func New(tenantID string, now time.Time) Issued {
	id := newID("scimd_")
	password := NewSecret()
	return Issued{
		Credential: store.Credential{ID: id, TenantID: tenantID, SecretHash: Hash(password), Created: now},
		Password:   password,
		Bearer:     id + "." + password,
	}
}

// Reissue is a new secret for an existing credential (a rotation): the id, and so the
// Basic user name, stays; only the password and bearer token change.
func Reissue(c store.Credential) Issued {
	password := NewSecret()
	c.SecretHash = Hash(password)
	return Issued{Credential: c, Password: password, Bearer: c.ID + "." + password}
}

func newID(prefix string) string {
	var b [9]byte
	mustRead(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// NewSecret returns 256 random bits, base64url-encoded.
func NewSecret() string {
	var secret [32]byte
	mustRead(secret[:])
	return base64.RawURLEncoding.EncodeToString(secret[:])
}

// IssuedKey is a new management API key with its secret, shown once.
type IssuedKey struct {
	Key    store.APIKey
	Secret string // "<id>.<secret>", the bearer token the application sends
}

// NewAPIKey mints a management API key; tenantID "" makes it span every tenant.
func NewAPIKey(tenantID, scope, name string, now time.Time) IssuedKey {
	id := newID("scimd_key_")
	secret := NewSecret()
	return IssuedKey{
		Key:    store.APIKey{ID: id, TenantID: tenantID, Scope: scope, Name: name, SecretHash: Hash(secret), Created: now},
		Secret: id + "." + secret,
	}
}

func mustRead(b []byte) {
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand failed: " + err.Error()) // never happens on Linux
	}
}

// Hash is the stored form of a secret.
func Hash(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// Matches compares a presented secret with the stored hash in constant time.
func Matches(c store.Credential, secret string) bool {
	return subtle.ConstantTimeCompare(Hash(secret), c.SecretHash) == 1
}

// Valid reports whether secret authenticates c at now: c is not revoked, its tenant is
// enabled, and secret is its current secret or, until the overlap a rotation granted
// ends, its previous one. Both hashes are compared every time, so the answer takes as
// long whichever matches.
func Valid(c store.Credential, secret string, now time.Time) bool {
	h := Hash(secret)
	current := subtle.ConstantTimeCompare(h, c.SecretHash) == 1
	previous := len(c.PreviousHash) > 0 && subtle.ConstantTimeCompare(h, c.PreviousHash) == 1 &&
		c.PreviousExpires != nil && now.Before(*c.PreviousExpires)
	return (current || previous) && c.Revoked == nil && !c.TenantDisabled
}

// ValidKey reports whether secret authenticates the API key k.
func ValidKey(k store.APIKey, secret string) bool {
	return subtle.ConstantTimeCompare(Hash(secret), k.SecretHash) == 1 && k.Revoked == nil
}

// SplitBearer splits a bearer token into the credential id and the secret.
func SplitBearer(token string) (id, secret string, ok bool) {
	return strings.Cut(token, ".")
}
