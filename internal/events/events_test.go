package events

import (
	"slices"
	"testing"

	"github.com/scimd/scimd/internal/scim"
)

func TestChangedAttributes(t *testing.T) {
	for _, c := range []struct {
		name          string
		before, after scim.Resource
		want          []string
	}{
		{"nothing", scim.Resource{"a": "x"}, scim.Resource{"a": "x"}, nil},
		{"changed", scim.Resource{"a": "x", "b": 1.0}, scim.Resource{"a": "y", "b": 1.0}, []string{"a"}},
		{"added and removed", scim.Resource{"a": "x"}, scim.Resource{"b": "x"}, []string{"a", "b"}},
		{"nested", scim.Resource{"name": map[string]any{"givenName": "A"}}, scim.Resource{"name": map[string]any{"givenName": "B"}}, []string{"name"}},
		{"list order", scim.Resource{"emails": []any{"a", "b"}}, scim.Resource{"emails": []any{"b", "a"}}, []string{"emails"}},
	} {
		if got := ChangedAttributes(c.before, c.after); !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	for _, typ := range Types {
		if !Known(typ) {
			t.Errorf("%s not known", typ)
		}
	}
	if Known("user.exploded") {
		t.Error("an unknown type is known")
	}
}
