package scim

import (
	"encoding/json"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// maxBodyDepth bounds the nesting of a request body: SCIM resources nest three levels
// (an extension's complex attribute's sub-attribute), a bulk request five more.
const maxBodyDepth = 32

// DecodeBody parses a request body: one JSON object, numbers kept exact (json.Number), in
// one pass over data, which it does not copy (a 1 MiB body of tiny objects cost about
// ten times its size with encoding/json's decoder plus the copies around it).
//
// It is stricter than encoding/json, so that both stores see the same strings and a body
// means one thing:
//   - the body must be UTF-8 (RFC 8259 §8.1: JSON text "MUST be encoded using UTF-8");
//     encoding/json would replace invalid bytes, and PostgreSQL refuses what SQLite keeps.
//     400 invalidValue.
//   - no string (key or value) may contain NUL (U+0000): PostgreSQL text cannot hold it.
//     400 invalidValue naming the attribute.
//   - a key given twice in one object is 400 invalidSyntax: RFC 8259 §4 "The names within
//     an object SHOULD be unique", and which of two values a client meant is a guess.
func DecodeBody(data []byte) (map[string]any, error) {
	if !utf8.Valid(data) {
		return nil, InvalidValue("request body is not valid UTF-8 (RFC 8259 §8.1)")
	}
	d := bodyDecoder{data: data}
	d.ws()
	if d.pos >= len(d.data) || d.data[d.pos] != '{' {
		if d.pos >= len(d.data) {
			return nil, InvalidSyntax("request body is empty: a JSON object is expected")
		}
		if _, err := d.value(); err != nil {
			return nil, err
		}
		return nil, InvalidSyntax("request body must be a JSON object")
	}
	v, err := d.value()
	if err != nil {
		return nil, err
	}
	d.ws()
	if d.pos < len(d.data) {
		return nil, InvalidSyntax("request body has data after the JSON object (at byte %d)", d.pos)
	}
	return v.(map[string]any), nil
}

type bodyDecoder struct {
	data  []byte
	pos   int
	depth int
	// keys are the object keys leading to the value being read, for error details.
	keys []string
}

func (d *bodyDecoder) where() string {
	if len(d.keys) == 0 {
		return "the request body"
	}
	return "attribute " + `"` + strings.Join(d.keys, ".") + `"`
}

func (d *bodyDecoder) syntax(format string, args ...any) error {
	return InvalidSyntax("request body is not valid JSON: "+format+" (at byte %d)", append(args, d.pos)...)
}

func (d *bodyDecoder) ws() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

func (d *bodyDecoder) value() (any, error) {
	d.ws()
	if d.pos >= len(d.data) {
		return nil, d.syntax("unexpected end")
	}
	switch c := d.data[d.pos]; {
	case c == '{':
		return d.object()
	case c == '[':
		return d.array()
	case c == '"':
		return d.str()
	case c == 't':
		return true, d.literal("true")
	case c == 'f':
		return false, d.literal("false")
	case c == 'n':
		return nil, d.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return d.number()
	default:
		return nil, d.syntax("unexpected character %q", c)
	}
}

func (d *bodyDecoder) literal(word string) error {
	if !strings.HasPrefix(string(d.data[d.pos:min(d.pos+len(word), len(d.data))]), word) {
		return d.syntax("invalid literal")
	}
	d.pos += len(word)
	return nil
}

func (d *bodyDecoder) enter() error {
	d.depth++
	if d.depth > maxBodyDepth {
		return InvalidSyntax("request body nests deeper than %d levels", maxBodyDepth)
	}
	return nil
}

func (d *bodyDecoder) object() (any, error) {
	if err := d.enter(); err != nil {
		return nil, err
	}
	defer func() { d.depth-- }()
	d.pos++ // {
	m := map[string]any{}
	d.ws()
	if d.pos < len(d.data) && d.data[d.pos] == '}' {
		d.pos++
		return m, nil
	}
	for {
		d.ws()
		if d.pos >= len(d.data) || d.data[d.pos] != '"' {
			return nil, d.syntax("an object key is expected")
		}
		k, err := d.str()
		if err != nil {
			return nil, err
		}
		if _, dup := m[k]; dup {
			return nil, InvalidSyntax("%s has the key %q twice: each name may appear once in an object (RFC 8259 §4)", d.where(), k)
		}
		d.ws()
		if d.pos >= len(d.data) || d.data[d.pos] != ':' {
			return nil, d.syntax("':' is expected after an object key")
		}
		d.pos++
		d.keys = append(d.keys, k)
		v, err := d.value()
		d.keys = d.keys[:len(d.keys)-1]
		if err != nil {
			return nil, err
		}
		m[k] = v
		d.ws()
		if d.pos >= len(d.data) {
			return nil, d.syntax("unexpected end in an object")
		}
		switch d.data[d.pos] {
		case ',':
			d.pos++
		case '}':
			d.pos++
			return m, nil
		default:
			return nil, d.syntax("',' or '}' is expected in an object")
		}
	}
}

func (d *bodyDecoder) array() (any, error) {
	if err := d.enter(); err != nil {
		return nil, err
	}
	defer func() { d.depth-- }()
	d.pos++ // [
	list := []any{}
	d.ws()
	if d.pos < len(d.data) && d.data[d.pos] == ']' {
		d.pos++
		return list, nil
	}
	for {
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		list = append(list, v)
		d.ws()
		if d.pos >= len(d.data) {
			return nil, d.syntax("unexpected end in an array")
		}
		switch d.data[d.pos] {
		case ',':
			d.pos++
		case ']':
			d.pos++
			return list, nil
		default:
			return nil, d.syntax("',' or ']' is expected in an array")
		}
	}
}

// str reads a string; the input is known to be valid UTF-8.
func (d *bodyDecoder) str() (string, error) {
	d.pos++ // "
	start := d.pos
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		switch {
		case c == '"':
			s := string(d.data[start:d.pos])
			d.pos++
			return s, nil
		case c == '\\':
			return d.escaped(start)
		case c < 0x20:
			return "", d.syntax("control character in a string")
		}
		d.pos++
	}
	return "", d.syntax("unterminated string")
}

// escaped finishes a string that has escapes, from start (after the opening quote).
func (d *bodyDecoder) escaped(start int) (string, error) {
	b := make([]byte, 0, d.pos-start+16)
	b = append(b, d.data[start:d.pos]...)
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		switch {
		case c == '"':
			d.pos++
			return string(b), nil
		case c < 0x20:
			return "", d.syntax("control character in a string")
		case c != '\\':
			b = append(b, c)
			d.pos++
			continue
		}
		d.pos++
		if d.pos >= len(d.data) {
			break
		}
		e := d.data[d.pos]
		d.pos++
		switch e {
		case '"', '\\', '/':
			b = append(b, e)
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r, ok := d.hex4()
			if !ok {
				return "", d.syntax("invalid \\u escape")
			}
			if utf16.IsSurrogate(r) {
				// A pair makes one character; a lone surrogate is U+FFFD, as encoding/json
				// reads it.
				r2 := rune(-1)
				if d.pos+1 < len(d.data) && d.data[d.pos] == '\\' && d.data[d.pos+1] == 'u' {
					save := d.pos
					d.pos += 2
					if x, ok := d.hex4(); ok {
						r2 = x
					}
					if utf16.DecodeRune(r, r2) == utf8.RuneError {
						d.pos, r2 = save, -1
					}
				}
				r = utf16.DecodeRune(r, r2)
			}
			if r == 0 {
				return "", InvalidValue("%s contains a NUL character (\\u0000), which no stored string may hold", d.where())
			}
			b = utf8.AppendRune(b, r)
		default:
			return "", d.syntax("invalid escape '\\%c'", e)
		}
	}
	return "", d.syntax("unterminated string")
}

func (d *bodyDecoder) hex4() (rune, bool) {
	if d.pos+4 > len(d.data) {
		return 0, false
	}
	var r rune
	for _, c := range d.data[d.pos : d.pos+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	d.pos += 4
	return r, true
}

func (d *bodyDecoder) number() (any, error) {
	start := d.pos
	digits := func() int {
		n := 0
		for d.pos < len(d.data) && d.data[d.pos] >= '0' && d.data[d.pos] <= '9' {
			d.pos++
			n++
		}
		return n
	}
	if d.data[d.pos] == '-' {
		d.pos++
	}
	if d.pos < len(d.data) && d.data[d.pos] == '0' {
		d.pos++
	} else if digits() == 0 {
		return nil, d.syntax("invalid number")
	}
	if d.pos < len(d.data) && d.data[d.pos] == '.' {
		d.pos++
		if digits() == 0 {
			return nil, d.syntax("invalid number")
		}
	}
	if d.pos < len(d.data) && (d.data[d.pos] == 'e' || d.data[d.pos] == 'E') {
		d.pos++
		if d.pos < len(d.data) && (d.data[d.pos] == '+' || d.data[d.pos] == '-') {
			d.pos++
		}
		if digits() == 0 {
			return nil, d.syntax("invalid number")
		}
	}
	return json.Number(string(d.data[start:d.pos])), nil
}
