package activity

import (
	"strings"
	"testing"
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
		{"password member", `{"userName":"a","password":"Hunter2!"}`, 0, 1000, `{"password":"[redacted]","userName":"a"}`},
		{"nested and case", `{"x":{"Password":"p","clientSecret":"s","access_token":"t"}}`, 0, 1000,
			`{"x":{"Password":"[redacted]","access_token":"[redacted]","clientSecret":"[redacted]"}}`},
		{"patch op path", `{"Operations":[{"op":"replace","path":"password","value":"p"},{"op":"replace","path":"active","value":false}]}`, 0, 1000,
			`{"Operations":[{"op":"replace","path":"password","value":"[redacted]"},{"op":"replace","path":"active","value":false}]}`},
		{"patch op value object", `{"Operations":[{"op":"replace","value":{"password":"p","active":true}}]}`, 0, 1000,
			`{"Operations":[{"op":"replace","value":{"active":true,"password":"[redacted]"}}]}`},
		{"bulk data", `{"Operations":[{"method":"POST","data":{"password":"p"}}]}`, 0, 1000,
			`{"Operations":[{"data":{"password":"[redacted]"},"method":"POST"}]}`},
		{"numbers kept", `{"n":12345678901234567890}`, 0, 1000, `{"n":12345678901234567890}`},
		{"not JSON", `password=p`, 0, 1000, "[body of 10 bytes: not JSON, not recorded]"},
		{"cut JSON", `{"password":"p"`, 0, 1000, "[body of 15 bytes: not JSON, not recorded]"},
		{"two values", `{"a":1} {"password":"p"}`, 0, 1000, "[body of 24 bytes: not JSON, not recorded]"},
		{"too large", `{"password":"p`, 70000, 1000, "[body of 70000 bytes: too large to record]"},
		{"no secret kept as sent", `{"b":1, "a":"x"}`, 0, 1000, `{"b":1, "a":"x"}`},
		{"escaped secret name", `{"pass\u0077ord":"p"}`, 0, 1000, `{"password":"[redacted]"}`},
		{"secret in upper case", `{"PASSWORD":"p"}`, 0, 1000, `{"PASSWORD":"[redacted]"}`},
		{"not JSON without secret", `a=b`, 0, 1000, "[body of 3 bytes: not JSON, not recorded]"},
		{"capped without secret", `{"a":"` + strings.Repeat("é", 50) + `"}`, 0, 20, `{"a":"ééééééé…[cut: 108 bytes]`},
		{"capped", `{"token":1,"a":"` + strings.Repeat("é", 50) + `"}`, 0, 20, `{"a":"ééééééé…[cut: 129 bytes]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := RedactBody([]byte(tc.body), tc.truncated, tc.limit); got != tc.want {
				t.Fatalf("RedactBody(%s) = %s, want %s", tc.body, got, tc.want)
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
