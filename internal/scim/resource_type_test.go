package scim

import "testing"

// TestWithReadWrite: the copy has the attribute readWrite; the resource type it was made
// from keeps its own (it is shared by every tenant).
func TestWithReadWrite(t *testing.T) {
	users := NewUserResourceType()
	mutability := func(rt *ResourceType, name string) string {
		for _, a := range rt.Schema.Attributes {
			if a.Name == name {
				return a.Mutability
			}
		}
		return ""
	}
	before := mutability(users, "roles")
	if before == ReadWrite {
		t.Fatalf("roles is already readWrite in the built-in User type")
	}
	writable := users.WithReadWrite("roles")
	if got := mutability(writable, "roles"); got != ReadWrite {
		t.Errorf("copy: roles is %q, want %q", got, ReadWrite)
	}
	if got := mutability(users, "roles"); got != before {
		t.Errorf("original: roles became %q, was %q", got, before)
	}
	if mutability(writable, "userName") != mutability(users, "userName") {
		t.Errorf("copy changed another attribute")
	}
}
