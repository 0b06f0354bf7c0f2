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
	var idBytes [9]byte
	var secret [32]byte
	mustRead(idBytes[:])
	mustRead(secret[:])
	id := "scimd_" + hex.EncodeToString(idBytes[:])
	password := base64.RawURLEncoding.EncodeToString(secret[:])
	return Issued{
		Credential: store.Credential{ID: id, TenantID: tenantID, SecretHash: Hash(password), Created: now},
		Password:   password,
		Bearer:     id + "." + password,
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

// SplitBearer splits a bearer token into the credential id and the secret.
func SplitBearer(token string) (id, secret string, ok bool) {
	return strings.Cut(token, ".")
}
