package flows

import (
	"strings"
	"testing"
)

// TestMatch checks that every matcher can fail: an expectation that passes whatever the
// server answers would hide a broken dialect.
func TestMatch(t *testing.T) {
	doc, err := decode([]byte(`{"totalResults":2,"frac":1.5,"s":"x","empty":"","none":null,"list":[],
		"members":[{"value":"a"},{"value":"b"}],
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":{"value":"m"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		want any
		ok   bool
	}{
		{"totalResults", "$integer", true},
		{"frac", "$integer", false},
		{"s", "$integer", false},
		{"totalResults", jsonNum("2"), true},
		{"totalResults", jsonNum("2.0"), true},
		{"totalResults", jsonNum("3"), false},
		{"totalResults", "2", false},
		{"s", "$present", true},
		{"missing", "$present", false},
		{"missing", "$absent", true},
		{"none", "$absent", true},
		{"s", "$absent", false},
		{"list", "$empty", true},
		{"none", "$empty", true},
		{"missing", "$empty", true},
		{"members", "$empty", false},
		{"s", "$empty", false},
		{"s", "$nonempty", true},
		{"empty", "$nonempty", false},
		{"members/#", jsonNum("2"), true},
		{"members/1/value", "b", true},
		{"members/2/value", "b", false},
		{"members/*/value", "$contains a", true},
		{"members/*/value", "$contains c", false},
		{"members/*/value", "$lacks c", true},
		{"members/*/value", "$lacks a", false},
		{"s", "$contains x", false},
		{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User/manager/value", "m", true},
		{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User/manager/value", "n", false},
	} {
		err := match(doc, tc.path, tc.want)
		if (err == nil) != tc.ok {
			t.Errorf("match(%s, %v) = %v, want ok=%v", tc.path, tc.want, err, tc.ok)
		}
	}
}

func jsonNum(s string) any {
	v, _ := decode([]byte(s))
	return v
}

func TestParseRejects(t *testing.T) {
	for _, tc := range []struct{ name, doc, want string }{
		{"unknown field", `{"provider":"p","steps":[{"name":"n","op":"o","method":"GET","path":"/Users","status":200,"expext":{}}]}`, "unknown field"},
		{"unknown matcher", `{"provider":"p","steps":[{"name":"n","op":"o","method":"GET","path":"/Users","status":200,"expect":{"a":"$prsent"}}]}`, "unknown matcher"},
		{"no status", `{"provider":"p","steps":[{"name":"n","op":"o","method":"GET","path":"/Users"}]}`, "required"},
		{"no steps", `{"provider":"p"}`, "required"},
		{"var uses a var", `{"provider":"p","vars":{"a":"x","b":"${a}"},"steps":[{"name":"n","op":"o","method":"GET","path":"/Users","status":200}]}`, "only ${rand}"},
		{"echo and body", `{"provider":"p","steps":[{"name":"n","op":"o","method":"PUT","path":"/Users/1","status":200,"echo":true,"body":{}}]}`, "exclude"},
	} {
		if _, err := Parse(tc.name, []byte(tc.doc)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Parse = %v, want an error with %q", tc.name, err, tc.want)
		}
	}
}

func TestExpand(t *testing.T) {
	r := &run{vars: map[string]string{"user": "a@b.c"}, f: Flow{BaseQuery: "aadOptscim062020"}}
	got, err := r.expand("/Users?filter=userName%20eq%20%22${upper:user}%22")
	if err != nil || got != "/Users?filter=userName%20eq%20%22A@B.C%22" {
		t.Fatalf("expand = %q, %v", got, err)
	}
	if _, err := r.expand("/Users/${uid}"); err == nil || !strings.Contains(err.Error(), "${uid}") {
		t.Fatalf("expand of an unsaved variable = %v", err)
	}
	if g1, _ := r.expand("${guid}"); len(g1) != 36 || g1[14] != '4' {
		t.Fatalf("guid %q", g1)
	}
	for in, want := range map[string]string{"/Users": "/Users?aadOptscim062020", "/Users?count=1": "/Users?aadOptscim062020&count=1"} {
		if got := r.fullPath(in); got != want {
			t.Errorf("fullPath(%s) = %s, want %s", in, got, want)
		}
	}
}
