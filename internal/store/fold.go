package store

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"time"
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
	return formatUUID(b)
}

// NewTimeID returns a version 7 UUID (RFC 9562 §5.7): the time in milliseconds, then
// random bits. Ids written in time order land at the end of their index rather than on a
// random page of it, so an append-only table's unique index costs one page per commit.
// For records whose time is public anyway (events); resource ids stay version 4.
func NewTimeID(at time.Time) string {
	var b [16]byte
	if _, err := rand.Read(b[6:]); err != nil {
		panic("crypto/rand failed: " + err.Error()) // crypto/rand never fails on Linux
	}
	var ms [8]byte
	binary.BigEndian.PutUint64(ms[:], uint64(at.UnixMilli()))
	copy(b[:6], ms[2:])
	b[6] = b[6]&0x0f | 0x70
	b[8] = b[8]&0x3f | 0x80
	return formatUUID(b)
}

func formatUUID(b [16]byte) string {
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
