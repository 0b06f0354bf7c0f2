package activity

import (
	"bytes"
	"cmp"
	"encoding/json"
	"slices"
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

// RedactBody returns body as the log keeps it: JSON with every secret's value replaced by
// Redacted, cut to limit bytes. A body that is not JSON is not kept at all (a secret in
// it could not be found), only its size; nor is one that was cut before it was read
// whole (truncated is its full size).
//
// The body is kept as sent, its members in their order: a secret's value is replaced in
// the bytes, found by one scan of them, rather than by decoding the body and encoding it
// again, which cost several times more (an identity provider's every create names a
// password).
func RedactBody(body []byte, truncated int64, limit int) string {
	return redactBody(body, truncated, limit, false)
}

// RedactResponse is RedactBody for a body that scimd's own JSON encoder wrote (a
// response): one that names no secret is not validated again as JSON, which for a page
// of a hundred users was most of the log's work per request. It is still checked for
// UTF-8, and one that may name a secret is validated before it is redacted.
func RedactResponse(body []byte, truncated int64, limit int) string {
	return redactBody(body, truncated, limit, true)
}

func redactBody(body []byte, truncated int64, limit int, ownJSON bool) string {
	if truncated > 0 {
		return "[body of " + strconv.FormatInt(truncated, 10) + " bytes: too large to record]"
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return ""
	}
	secret := mayHoldSecret(body)
	if ownJSON && !secret && limit > 0 && len(body) > limit && (body[0] == '{' || body[0] == '[') {
		// Nothing to redact and only the first limit bytes kept: only they need be UTF-8
		// (what follows, of a page of users most of the body, is not checked at all).
		if cut := runeCut(body, limit); utf8.Valid(body[:cut]) {
			return string(body[:cut]) + "…[cut: " + strconv.Itoa(len(body)) + " bytes]"
		}
	}
	trusted := ownJSON && !secret && (body[0] == '{' || body[0] == '[')
	// JSON text is UTF-8, but json.Valid lets other bytes through in strings; PostgreSQL's
	// text refuses them, and would fail the whole batch.
	if !utf8.Valid(body) || (!trusted && !json.Valid(body)) {
		return "[body of " + strconv.Itoa(len(body)) + " bytes: not JSON, not recorded]"
	}
	if secret {
		body = redactJSON(body)
	}
	return capBytes(body, limit)
}

// capBytes cuts out to limit bytes on a character boundary, saying how long it was.
func capBytes(out []byte, limit int) string {
	if limit > 0 && len(out) > limit {
		return string(out[:runeCut(out, limit)]) + "…[cut: " + strconv.Itoa(len(out)) + " bytes]"
	}
	return string(out)
}

// runeCut is the largest length up to limit (< len(b)) that ends on a character boundary.
func runeCut(b []byte, limit int) int {
	cut := limit
	for cut > 0 && !utf8.RuneStart(b[cut]) {
		cut--
	}
	return cut
}

// mayHoldSecret reports whether a body may name a secret: it holds one of secretWords in
// any case, or a \u escape (which could spell one). One pass over the body, looking only
// at each word's rarest letter (the w of password, the k of token, …) and at backslashes:
// a byte that anchors no word costs a table look-up, and most bytes of a page of users
// anchor none (a word's first letter, p, s, t or a, would anchor a check at every few
// bytes).
func mayHoldSecret(body []byte) bool {
	for i, c := range body {
		list := anchorsByByte[c]
		if list == nil {
			continue
		}
		for _, a := range list {
			if a.word == "" {
				if i+1 < len(body) && body[i+1] == 'u' {
					return true
				}
				continue
			}
			if i >= a.at && hasFoldAt(body, i-a.at, a.word) {
				return true
			}
		}
	}
	return false
}

// anchor is a secret word and the index in it of the letter that anchors a check.
type anchor struct {
	word string // "" anchors the \u escape
	at   int
}

// anchorLetters are tried in order for a word's anchor: letters rare in SCIM JSON first.
const anchorLetters = "zwkqjxyvbgfhcdmluponratise_"

// anchorsByByte lists, for each byte, the words it anchors, in either case.
var anchorsByByte = func() (t [256][]anchor) {
	t['\\'] = []anchor{{}}
	for _, w := range secretWords {
		at := -1
		for _, l := range []byte(anchorLetters) {
			if at = strings.IndexByte(w, l); at >= 0 {
				break
			}
		}
		if at < 0 {
			panic("no anchor letter in secret word " + w)
		}
		c := w[at]
		t[c] = append(t[c], anchor{word: w, at: at})
		if 'a' <= c && c <= 'z' {
			t[c-'a'+'A'] = append(t[c-'a'+'A'], anchor{word: w, at: at})
		}
	}
	return t
}()

// hasFoldAt reports whether b holds the lower-case ASCII word w at i, in any case.
func hasFoldAt(b []byte, i int, w string) bool {
	if len(b)-i < len(w) {
		return false
	}
	for j := 0; j < len(w); j++ {
		c := b[i+j]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != w[j] {
			return false
		}
	}
	return true
}

// containsFold reports whether b contains the lower-case ASCII word w in any case.
func containsFold(b []byte, w string) bool {
	for i := range b {
		if hasFoldAt(b, i, w) {
			return true
		}
	}
	return false
}

// isSecretNameBytes is isSecretName of a name as it is in the body, unescaped.
func isSecretNameBytes(name []byte) bool {
	for _, w := range secretWords {
		if containsFold(name, w) {
			return true
		}
	}
	return false
}

// redactJSON replaces, in a valid JSON text, the value of every member whose name is a
// secret's, and the "value" of a PATCH operation whose "path" names one
// ({"op":"replace","path":"password","value":"…"}), with "[redacted]".
func redactJSON(body []byte) []byte {
	s := redactor{b: body}
	s.value()
	if len(s.spans) == 0 {
		return body
	}
	// An operation's value is known to be secret only once its object is read: its span
	// may hold spans found inside it, and it follows them. Sorted by start, a span inside
	// another comes after it and is dropped.
	slices.SortFunc(s.spans, func(a, b span) int { return cmp.Compare(a.start, b.start) })
	out := make([]byte, 0, len(body))
	prev := 0
	for _, sp := range s.spans {
		if sp.start < prev {
			continue
		}
		out = append(out, body[prev:sp.start]...)
		out = append(out, `"`+Redacted+`"`...)
		prev = sp.end
	}
	return append(out, body[prev:]...)
}

type span struct{ start, end int }

// redactor walks a JSON text already known to be valid, noting the spans of secret
// values.
type redactor struct {
	b     []byte
	i     int
	spans []span
}

func (s *redactor) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// value reads the value at s.i, noting the secrets inside it.
func (s *redactor) value() {
	s.ws()
	switch s.b[s.i] {
	case '{':
		s.object()
	case '[':
		s.i++
		for {
			s.ws()
			if s.b[s.i] == ']' {
				s.i++
				return
			}
			s.value()
			s.ws()
			if s.b[s.i] == ',' {
				s.i++
			}
		}
	case '"':
		s.str()
	default: // a number, true, false or null
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return
			}
			s.i++
		}
	}
}

// str reads the string at s.i and returns its contents as written and whether it has an
// escape.
func (s *redactor) str() (raw []byte, escaped bool) {
	start := s.i + 1
	for s.i = start; s.b[s.i] != '"'; s.i++ {
		if s.b[s.i] == '\\' {
			escaped = true
			s.i++
		}
	}
	s.i++
	return s.b[start : s.i-1], escaped
}

// name is a member name or string value unescaped (a copy only when it has an escape).
func (s *redactor) name(raw []byte, escaped bool) []byte {
	if !escaped {
		return raw
	}
	var v string
	quoted := s.b[s.i-len(raw)-2 : s.i]
	if err := json.Unmarshal(quoted, &v); err != nil {
		return raw
	}
	return []byte(v)
}

func (s *redactor) object() {
	s.i++ // {
	var path bool
	value := span{-1, -1}
	for {
		s.ws()
		if s.b[s.i] == '}' {
			s.i++
			break
		}
		key := s.name(s.str())
		s.ws()
		s.i++ // :
		s.ws()
		start := s.i
		switch {
		case isSecretNameBytes(key):
			s.value()
			s.spans = append(s.spans, span{start, s.i})
		case bytes.EqualFold(key, []byte("path")) && s.b[s.i] == '"':
			path = isSecretNameBytes(s.name(s.str()))
		case bytes.EqualFold(key, []byte("value")):
			s.value()
			value = span{start, s.i}
		default:
			s.value()
		}
		s.ws()
		if s.b[s.i] == ',' {
			s.i++
		}
	}
	if path && value.start >= 0 {
		s.spans = append(s.spans, value)
	}
}
