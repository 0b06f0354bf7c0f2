package sdk

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Errors of Verify.
var (
	ErrNoSignature    = errors.New("scimd webhook: missing webhook-id, webhook-timestamp or webhook-signature header")
	ErrBadSecret      = errors.New("scimd webhook: the secret is not whsec_ followed by base64")
	ErrBadSignature   = errors.New("scimd webhook: no signature matches")
	ErrStaleTimestamp = errors.New("scimd webhook: the timestamp is more than 5 minutes away from now")
)

// Tolerance is how far a webhook's timestamp may be from the receiver's clock: an older
// message is refused, so that a captured one cannot be replayed later.
const Tolerance = 5 * time.Minute

// Verify checks a webhook delivery per the Standard Webhooks specification: one of the
// signatures in webhook-signature must be the HMAC-SHA256, under secret ("whsec_…"), of
// "<webhook-id>.<webhook-timestamp>.<body>", and the timestamp must be within Tolerance
// of now. Pass the body exactly as received, before any parsing. The webhook-id is the
// event's id: a receiver that has seen it already has seen a retry.
func Verify(secret string, header http.Header, body []byte) error {
	return verifyAt(secret, header, body, time.Now())
}

func verifyAt(secret string, header http.Header, body []byte, now time.Time) error {
	id, ts, sigs := header.Get("webhook-id"), header.Get("webhook-timestamp"), header.Get("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return ErrNoSignature
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil || !strings.HasPrefix(secret, "whsec_") || len(key) == 0 {
		return ErrBadSecret
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return ErrNoSignature
	}
	if d := now.Sub(time.Unix(sec, 0)); d > Tolerance || d < -Tolerance {
		return ErrStaleTimestamp
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(body)
	want := mac.Sum(nil)
	// Several signatures are sent while a secret is rotated; any one may match.
	for _, s := range strings.Fields(sigs) {
		version, sig, ok := strings.Cut(s, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(sig)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return ErrBadSignature
}
