// Package webhook delivers the outbox's events to the application's endpoints: signed
// per the Standard Webhooks specification, at least once, in order per tenant, with
// retries that survive a restart, one deliverer per endpoint and tenant across instances.
package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SecretPrefix starts every signing secret (Standard Webhooks: "whsec_" and the key in
// base64).
const SecretPrefix = "whsec_"

// secretBytes is the length of a generated key: Standard Webhooks asks for between 24
// and 64 bytes.
const secretBytes = 32

// NewSecret generates a signing secret.
func NewSecret() string {
	b := make([]byte, secretBytes)
	rand.Read(b)
	return SecretPrefix + base64.StdEncoding.EncodeToString(b)
}

// ParseSecret decodes a whsec_ secret into its key.
func ParseSecret(secret string) ([]byte, error) {
	rest, ok := strings.CutPrefix(secret, SecretPrefix)
	if !ok {
		return nil, errors.New("a signing secret starts with whsec_")
	}
	key, err := base64.StdEncoding.DecodeString(rest)
	if err != nil {
		return nil, fmt.Errorf("a signing secret is whsec_ and base64: %w", err)
	}
	if len(key) < 24 || len(key) > 64 {
		return nil, fmt.Errorf("a signing secret's key is 24 to 64 bytes, this one %d", len(key))
	}
	return key, nil
}

// Signature is one "v1,<base64>" signature of a message: HMAC-SHA256 under key of
// "<id>.<timestamp>.<body>" (Standard Webhooks, "Signature scheme").
func Signature(key []byte, id string, ts time.Time, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + strconv.FormatInt(ts.Unix(), 10) + "."))
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Headers are the Standard Webhooks headers of a message signed with each key (two
// while a secret is being rotated, space-separated).
func Headers(keys [][]byte, id string, ts time.Time, body []byte) map[string]string {
	sigs := make([]string, 0, len(keys))
	for _, k := range keys {
		sigs = append(sigs, Signature(k, id, ts, body))
	}
	return map[string]string{
		"webhook-id":        id,
		"webhook-timestamp": strconv.FormatInt(ts.Unix(), 10),
		"webhook-signature": strings.Join(sigs, " "),
	}
}
