package activity

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Redacted replaces a secret's value in a recorded body.
const Redacted = "[redacted]"

// secretWords mark a JSON member whose value is a secret when its name contains one of
// them (case-insensitively): SCIM's password, and the tokens and secrets of extensions
// and of management calls.
var secretWords = []string{"password", "passwd", "secret", "token", "authorization", "apikey", "api_key"}

func isSecretName(name string) bool {
	name = strings.ToLower(name)
	for _, w := range secretWords {
		if strings.Contains(name, w) {
			return true
		}
	}
	return false
}

// RedactBody returns body as the log keeps it: JSON with every secret replaced by
// Redacted, cut to limit bytes. A body that is not JSON is not kept at all (a secret in
// it could not be found), only its size; nor is one that was cut before it was read
// whole (truncated is its full size).
func RedactBody(body []byte, truncated int64, limit int) string {
	if truncated > 0 {
		return "[body of " + strconv.FormatInt(truncated, 10) + " bytes: too large to record]"
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return ""
	}
	// Most bodies (every response but an error's, most requests) name no secret: they are
	// kept as sent, which costs a scan instead of a decode and an encode.
	if !mayHoldSecret(body) {
		if !json.Valid(body) {
			return "[body of " + strconv.Itoa(len(body)) + " bytes: not JSON, not recorded]"
		}
		return capBytes(bytes.TrimSpace(body), limit)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil || dec.More() {
		return "[body of " + strconv.Itoa(len(body)) + " bytes: not JSON, not recorded]"
	}
	v = redact(v)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "[body of " + strconv.Itoa(len(body)) + " bytes: not recorded]"
	}
	return capBytes(bytes.TrimRight(buf.Bytes(), "\n"), limit)
}

// capBytes cuts out to limit bytes on a character boundary, saying how long it was.
func capBytes(out []byte, limit int) string {
	if limit > 0 && len(out) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(out[cut]) {
			cut--
		}
		return string(out[:cut]) + "…[cut: " + strconv.Itoa(len(out)) + " bytes]"
	}
	return string(out)
}

// mayHoldSecret reports whether a body may name a secret: it holds one of secretWords in
// any case, or a \u escape (which could spell one).
func mayHoldSecret(body []byte) bool {
	if bytes.Contains(body, []byte(`\u`)) {
		return true
	}
	for _, w := range secretWords {
		if containsFold(body, w) {
			return true
		}
	}
	return false
}

// containsFold reports whether b contains the lower-case ASCII word w in any case.
func containsFold(b []byte, w string) bool {
	for i := 0; i+len(w) <= len(b); i++ {
		j := 0
		for ; j < len(w); j++ {
			c := b[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != w[j] {
				break
			}
		}
		if j == len(w) {
			return true
		}
	}
	return false
}

// redact replaces secrets inside a decoded JSON value. A PATCH operation whose path names
// a secret ({"op":"replace","path":"password","value":"…"}) has its value replaced too.
func redact(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if isSecretName(k) {
				x[k] = Redacted
				continue
			}
			x[k] = redact(val)
		}
		if p, ok := x["path"].(string); ok && isSecretName(p) {
			if _, has := x["value"]; has {
				x["value"] = Redacted
			}
		}
		return x
	case []any:
		for i := range x {
			x[i] = redact(x[i])
		}
		return x
	}
	return v
}
