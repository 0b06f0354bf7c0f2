package scim

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// decodeStd is what encoding/json makes of a body, as DecodeJSON reads it.
func decodeStd(data []byte) (map[string]any, bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	// Trailing data other than white space is an error (Decoder.More alone lets "{}]" through).
	if dec.Decode(&v) != nil || len(bytes.TrimLeft(data[dec.InputOffset():], " \t\r\n")) > 0 {
		return nil, false
	}
	m, ok := v.(map[string]any)
	return m, ok
}

// FuzzDecodeBody: on a valid UTF-8 body, DecodeBody accepts what encoding/json accepts and
// gives the same value, except that it refuses duplicate keys, NUL characters and nesting
// over maxBodyDepth; it never accepts what encoding/json refuses.
func FuzzDecodeBody(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"a":1}`, `{"a":[1,2.5e-3,-0,"x",true,false,null,{}]}`, ` {"a" : "\u00e9\ud83d\ude00\ud800x\/\"\\\b\f\n\r\t"} `,
		`{"a":1,"a":2}`, `{"a":"\u0000"}`, `[1]`, `{"a":01}`, `{"a":1.}`, `{"a":"x`, `{"a":1}x`, `{"a":"\ud800\u0041"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := DecodeBody(data)
		want, ok := decodeStd(data)
		if err == nil {
			if !ok {
				t.Fatalf("DecodeBody accepts %q, which encoding/json refuses", data)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("DecodeBody(%q) = %#v, encoding/json gives %#v", data, got, want)
			}
			return
		}
		if !ok || !utf8.Valid(data) {
			return
		}
		e, _ := AsError(err)
		if e == nil || e.Status != 400 {
			t.Fatalf("DecodeBody(%q): %v, not a 400", data, err)
		}
		if !strings.Contains(e.Detail, "twice") && !strings.Contains(e.Detail, "NUL") && !strings.Contains(e.Detail, "deeper") {
			t.Fatalf("DecodeBody refuses %q, which encoding/json accepts: %v", data, err)
		}
	})
}

func TestDecodeBodyStrictness(t *testing.T) {
	for _, tc := range []struct{ body, scimType, detail string }{
		{`{"userName":"a","userName":"b"}`, ErrInvalidSyntax, `"userName" twice`},
		{`{"name":{"givenName":"a","givenName":"b"}}`, ErrInvalidSyntax, `attribute "name" has the key "givenName" twice`},
		{`{"userName":"a\u0000b"}`, ErrInvalidValue, `attribute "userName" contains a NUL`},
		{"{\"userName\":\"a\xffb\"}", ErrInvalidValue, "UTF-8"},
		{`{"a":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`, ErrInvalidSyntax, "deeper"},
		{`["a"]`, ErrInvalidSyntax, "JSON object"},
		{``, ErrInvalidSyntax, "empty"},
	} {
		_, err := DecodeBody([]byte(tc.body))
		e, ok := AsError(err)
		if !ok || e.ScimType != tc.scimType || !strings.Contains(e.Detail, tc.detail) {
			t.Errorf("DecodeBody(%q) = %v, want %s naming %q", tc.body, err, tc.scimType, tc.detail)
		}
	}
}
