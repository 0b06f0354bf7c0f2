package store

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
)

// Fold is the case folding applied to attributes with caseExact=false (userName,
// displayName, e-mail values) before they are indexed or compared, identical in every
// backend so that uniqueness and filters agree.
func Fold(s string) string {
	return strings.ToLower(s)
}

// NewID returns a random resource id (a version 4 UUID).
func NewID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("crypto/rand failed: " + err.Error()) // crypto/rand never fails on Linux
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
