package activity

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestRedactBody(t *testing.T) {
	for _, tc := range []struct {
		name      string
		body      string
		truncated int64
		limit     int
		want      string
	}{
		{"empty", "", 0, 100, ""},
		{"password member", `{"userName":"a","password":"Hunter2!"}`, 0, 1000, `{"userName":"a","password":"[redacted]"}`},
		{"nested and case", `{"x":{"Password":"p","clientSecret":"s","access_token":"t"}}`, 0, 1000,
			`{"x":{"Password":"[redacted]","clientSecret":"[redacted]","access_token":"[redacted]"}}`},
		{"patch op path", `{"Operations":[{"op":"replace","path":"password","value":"p"},{"op":"replace","path":"active","value":false}]}`, 0, 1000,
			`{"Operations":[{"op":"replace","path":"password","value":"[redacted]"},{"op":"replace","path":"active","value":false}]}`},
		{"patch op value object", `{"Operations":[{"op":"replace","value":{"password":"p","active":true}}]}`, 0, 1000,
			`{"Operations":[{"op":"replace","value":{"password":"[redacted]","active":true}}]}`},
		{"bulk data", `{"Operations":[{"method":"POST","data":{"password":"p"}}]}`, 0, 1000,
			`{"Operations":[{"method":"POST","data":{"password":"[redacted]"}}]}`},
		{"numbers kept", `{"n":12345678901234567890}`, 0, 1000, `{"n":12345678901234567890}`},
		{"not JSON", `password=p`, 0, 1000, "[body of 10 bytes: not JSON, not recorded]"},
		{"cut JSON", `{"password":"p"`, 0, 1000, "[body of 15 bytes: not JSON, not recorded]"},
		{"two values", `{"a":1} {"password":"p"}`, 0, 1000, "[body of 24 bytes: not JSON, not recorded]"},
		{"too large", `{"password":"p`, 70000, 1000, "[body of 70000 bytes: too large to record]"},
		{"no secret kept as sent", `{"b":1, "a":"x"}`, 0, 1000, `{"b":1, "a":"x"}`},
		{"escaped secret name", `{"pass\u0077ord":"p"}`, 0, 1000, `{"pass\u0077ord":"[redacted]"}`},
		{"escaped secret path", `[{"op":"add","path":"pass\u0077ord","value":"p"}]`, 0, 1000, `[{"op":"add","path":"pass\u0077ord","value":"[redacted]"}]`},
		{"value before path", `{"value":{"x":"p"},"op":"replace","Path":"password"}`, 0, 1000, `{"value":"[redacted]","op":"replace","Path":"password"}`},
		{"secret inside a secret path's value", `{"path":"password","value":{"token":"t","n":1},"x":{"secret":"s"}}`, 0, 1000,
			`{"path":"password","value":"[redacted]","x":{"secret":"[redacted]"}}`},
		{"secret objects and arrays", `{"password":{"a":[1,{"b":"}"}]},"tokens":["t1","t2"],"n":null}`, 0, 1000, `{"password":"[redacted]","tokens":"[redacted]","n":null}`},
		{"spaces kept", "{ \"a\" : 1 ,\n \"password\"\t: \"p\" }", 0, 1000, "{ \"a\" : 1 ,\n \"password\"\t: \"[redacted]\" }"},
		{"secret word in a value only", `{"a":"x\"}password","b":"token"}`, 0, 1000, `{"a":"x\"}password","b":"token"}`},
		{"duplicate members", `{"password":"a","password":"b"}`, 0, 1000, `{"password":"[redacted]","password":"[redacted]"}`},
		{"secret in upper case", `{"PASSWORD":"p"}`, 0, 1000, `{"PASSWORD":"[redacted]"}`},
		{"not JSON without secret", `a=b`, 0, 1000, "[body of 3 bytes: not JSON, not recorded]"},
		{"not UTF-8", "{\"a\":\"\xff\"}", 0, 1000, "[body of 9 bytes: not JSON, not recorded]"},
		{"capped without secret", `{"a":"` + strings.Repeat("é", 50) + `"}`, 0, 20, `{"a":"ééééééé…[cut: 108 bytes]`},
		{"capped", `{"token":1,"a":"` + strings.Repeat("é", 50) + `"}`, 0, 30, `{"token":"[redacted]","a":"é…[cut: 129 bytes]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := RedactBody([]byte(tc.body), tc.truncated, tc.limit); got != tc.want {
				t.Fatalf("RedactBody(%s) = %s, want %s", tc.body, got, tc.want)
			}
		})
	}
}

// TestRedactResponse: a response is redacted as a request is; only one that names no
// secret skips the second JSON validation (its own encoder wrote it).
func TestRedactResponse(t *testing.T) {
	page := `{"Resources":[` + strings.TrimSuffix(strings.Repeat(`{"userName":"ü@example.com","active":true},`, 400), ",") + `]}`
	for _, tc := range []struct {
		name, body string
		limit      int
		want       string
	}{
		{"page kept, capped", page, 60, `{"Resources":[{"userName":"ü@example.com","active":true},{"…[cut: 17615 bytes]`},
		{"secret past the cut", `{"a":"` + strings.Repeat("x", 100) + `","apiToken":"t"}`, 20, `{"a":"xxxxxxxxxxxxxx…[cut: 132 bytes]`},
		{"secret name across the cut", `{"a":"x","apiToken":"` + strings.Repeat("t", 100) + `"}`, 12, `{"a":"x","ap…[cut: 33 bytes]`},
		{"secret before the cut", `{"apiToken":"` + strings.Repeat("t", 100) + `","a":"` + strings.Repeat("x", 100) + `"}`, 30, `{"apiToken":"[redacted]","a":"…[cut: 132 bytes]`},
		{"not UTF-8 past the cut", "{\"a\":\"" + strings.Repeat("x", 40) + "\xff\"}", 20, `{"a":"xxxxxxxxxxxxxx…[cut: 49 bytes]`},
		{"not UTF-8 before the cut", "{\"a\":\"\xff" + strings.Repeat("x", 40) + "\"}", 20, "[body of 49 bytes: not JSON, not recorded]"},
		{"secret redacted", `{"id":"1","apiToken":"t"}`, 1000, `{"id":"1","apiToken":"[redacted]"}`},
		{"cut JSON naming a secret", `{"token":"t"`, 1000, "[body of 12 bytes: not JSON, not recorded]"},
		{"not UTF-8", "{\"a\":\"\xff\"}", 1000, "[body of 9 bytes: not JSON, not recorded]"},
		{"not JSON", `404 page not found`, 1000, "[body of 18 bytes: not JSON, not recorded]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := RedactResponse([]byte(tc.body), 0, tc.limit); got != tc.want {
				t.Fatalf("RedactResponse(%.80s) = %s, want %s", tc.body, got, tc.want)
			}
		})
	}
}

func TestValidRequestID(t *testing.T) {
	for id, want := range map[string]bool{
		"abc-123_x.y:z":            true,
		"":                         false,
		strings.Repeat("a", 128):   true,
		strings.Repeat("a", 129):   false,
		"with space":               false,
		"new\nline":                false,
		"quote\"":                  false,
		"6f1c0e7a9b2d4e3f8a1b2c3d": true,
	} {
		if got := ValidRequestID(id); got != want {
			t.Errorf("ValidRequestID(%q) = %v, want %v", id, got, want)
		}
	}
}

// redactDecoded is the redaction on a decoded body: what the bytes RedactBody keeps must
// decode to.
func redactDecoded(v any) any {
	switch x := v.(type) {
	case map[string]any:
		pathSecret, valueKey := false, ""
		for k, val := range x {
			switch {
			case isSecretName(k):
				x[k] = Redacted
				continue
			case strings.EqualFold(k, "path"):
				p, ok := val.(string)
				pathSecret = ok && isSecretName(p)
			case strings.EqualFold(k, "value"):
				valueKey = k
			}
			x[k] = redactDecoded(val)
		}
		if pathSecret && valueKey != "" {
			x[valueKey] = Redacted
		}
		return x
	case []any:
		for i := range x {
			x[i] = redactDecoded(x[i])
		}
		return x
	}
	return v
}

// FuzzRedactBody: whatever JSON comes, what is kept is JSON that decodes to the body
// decoded with every secret replaced, so no secret survives, and nothing else changes.
func FuzzRedactBody(f *testing.F) {
	for _, s := range []string{
		`{"userName":"a","password":"Hunter2!"}`, `{"Operations":[{"op":"Replace","path":"password","value":"p"}]}`,
		`{"value":{"x":"p"},"path":"token"}`, `[{"pass\u0077ord":"p"}]`, `{"a":"\"password\\","b":[{"Secret":{}}]}`, `"token"`, `12`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var in any
		if json.Unmarshal(body, &in) != nil || !json.Valid(body) {
			return
		}
		// Members with the same name (case aside): which one a decoder keeps is not the
		// redaction's business.
		if hasDuplicateNames(body) {
			return
		}
		got := RedactBody(body, 0, 0)
		if !utf8.Valid(body) {
			// json.Valid lets other bytes through in strings; such a body is not kept.
			if want := "[body of " + strconv.Itoa(len(bytes.TrimSpace(body))) + " bytes: not JSON, not recorded]"; got != want {
				t.Fatalf("RedactBody(%q) = %s, want %s", body, got, want)
			}
			return
		}
		// A response is kept exactly as a request would be, whatever the cap.
		for _, limit := range []int{0, 1, 7, len(body) / 2, len(body) - 1} {
			if r, q := RedactResponse(body, 0, limit), RedactBody(body, 0, limit); r != q {
				t.Fatalf("limit %d: RedactResponse(%s) = %s, RedactBody = %s", limit, body, r, q)
			}
		}
		var out any
		if err := json.Unmarshal([]byte(got), &out); err != nil {
			t.Fatalf("RedactBody(%s) = %s: not JSON: %v", body, got, err)
		}
		if want := redactDecoded(in); !reflect.DeepEqual(out, want) {
			t.Fatalf("RedactBody(%s) = %s, which decodes to %v, want %v", body, got, out, want)
		}
	})
}

// hasDuplicateNames reports whether an object in body has two members whose names are
// equal, ignoring case.
func hasDuplicateNames(body []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(body))
	var stack []map[string]bool
	expectKey := func() bool { return len(stack) > 0 && stack[len(stack)-1] != nil }
	var inObject []bool
	keyNext := false
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{':
				stack, inObject = append(stack, map[string]bool{}), append(inObject, true)
				keyNext = true
				continue
			case '[':
				stack, inObject = append(stack, nil), append(inObject, false)
			case '}', ']':
				stack, inObject = stack[:len(stack)-1], inObject[:len(inObject)-1]
			}
		case string:
			if keyNext && expectKey() {
				k := strings.ToLower(v)
				if stack[len(stack)-1][k] {
					return true
				}
				stack[len(stack)-1][k] = true
				keyNext = false
				continue
			}
		}
		keyNext = len(inObject) > 0 && inObject[len(inObject)-1]
	}
}

// TestMayHoldSecret compares the anchored scan with its definition (a secret word in any
// case, or a \u escape, anywhere) on words at every edge and on random near-misses.
func TestMayHoldSecret(t *testing.T) {
	naive := func(b []byte) bool {
		if bytes.Contains(b, []byte(`\u`)) {
			return true
		}
		for _, w := range secretWords {
			if containsFold(b, w) {
				return true
			}
		}
		return false
	}
	var cases []string
	for _, w := range secretWords {
		upper := strings.ToUpper(w)
		mixed := []byte(w)
		for i := 0; i < len(mixed); i += 2 {
			mixed[i] = upper[i]
		}
		for _, v := range []string{w, upper, string(mixed)} {
			cases = append(cases, v, `{"`+v+`":1}`, "x"+v, v+"x", v[:len(v)-1], v[1:])
		}
	}
	cases = append(cases, `\`, `\u`, `a\`, `{"a":"\\u"}`, "")
	// Random strings over the words' letters (and a few others), so that near-misses
	// (passwor, tokn, apikez) are common.
	rng := rand.New(rand.NewPCG(1, 2))
	const alphabet = `passwordsecrtknuhizyi_APSWORDKEYZ"{}:\u `
	for range 20000 {
		b := make([]byte, 1+rng.IntN(24))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		cases = append(cases, string(b))
	}
	for _, c := range cases {
		if got, want := mayHoldSecret([]byte(c)), naive([]byte(c)); got != want {
			t.Errorf("mayHoldSecret(%q) = %v, want %v", c, got, want)
		}
	}
}
