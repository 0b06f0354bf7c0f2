package sdk

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// sign signs as the Standard Webhooks specification says, independently of the server's
// code, so that the test checks Verify against the specification.
func sign(secret, id string, ts int64, body string) string {
	key, _ := base64.StdEncoding.DecodeString(secret[len("whsec_"):])
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + strconv.FormatInt(ts, 10) + "." + body))
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func TestVerify(t *testing.T) {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	const other = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"
	now := time.Unix(1_800_000_000, 0)
	body := `{"id":"e1","type":"user.created"}`
	good := sign(secret, "e1", now.Unix(), body)
	for _, c := range []struct {
		name      string
		id, ts    string
		sig, body string
		secret    string
		want      error
	}{
		{"valid", "e1", "1800000000", good, body, secret, nil},
		{"valid among several (rotation)", "e1", "1800000000", sign(other, "e1", now.Unix(), body) + " " + good, body, secret, nil},
		{"tampered body", "e1", "1800000000", good, `{"id":"e1","type":"user.deleted"}`, secret, ErrBadSignature},
		{"tampered id", "e2", "1800000000", good, body, secret, ErrBadSignature},
		{"another secret", "e1", "1800000000", good, body, other, ErrBadSignature},
		{"stale: 6 minutes old", "e1", "1799999640", sign(secret, "e1", now.Unix()-360, body), body, secret, ErrStaleTimestamp},
		{"from the future", "e1", "1800000360", sign(secret, "e1", now.Unix()+360, body), body, secret, ErrStaleTimestamp},
		{"4 minutes old is fine", "e1", "1799999760", sign(secret, "e1", now.Unix()-240, body), body, secret, nil},
		{"timestamp changed", "e1", "1800000001", good, body, secret, ErrBadSignature},
		{"unknown version only", "e1", "1800000000", "v2," + good[3:], body, secret, ErrBadSignature},
		{"no signature", "e1", "1800000000", "", body, secret, ErrNoSignature},
		{"bad secret", "e1", "1800000000", good, body, "not-a-secret", ErrBadSecret},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := http.Header{}
			h.Set("webhook-id", c.id)
			h.Set("webhook-timestamp", c.ts)
			if c.sig != "" {
				h.Set("webhook-signature", c.sig)
			}
			if err := verifyAt(c.secret, h, []byte(c.body), now); !errors.Is(err, c.want) {
				t.Fatalf("Verify = %v, want %v", err, c.want)
			}
		})
	}
}
