package scim

import (
	"strings"
	"testing"
)

func TestParseSchemaFileRejects(t *testing.T) {
	ext := func(attrs string) string {
		return `{"extensions":[{"resourceType":"User","schema":{"id":"urn:example:ext:1.0:User","attributes":[` + attrs + `]}}]}`
	}
	cases := []struct {
		name, file, want string
	}{
		{"not JSON", `{`, "schema file"},
		{"unknown field", `{"extensions":[],"x":1}`, "unknown field"},
		{"bad resource type", `{"extensions":[{"resourceType":"Device","schema":{"id":"urn:x:y","attributes":[{"name":"a","type":"string"}]}}]}`, "resourceType"},
		{"not a URN", `{"extensions":[{"resourceType":"User","schema":{"id":"acme","attributes":[{"name":"a","type":"string"}]}}]}`, "not a URN"},
		{"reserved URN", `{"extensions":[{"resourceType":"User","schema":{"id":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User","attributes":[{"name":"a","type":"string"}]}}]}`, "cannot be redefined"},
		{"no attributes", ext(``), "no attributes"},
		{"bad name", ext(`{"name":"1st","type":"string"}`), "ATTRNAME"},
		{"name with dot", ext(`{"name":"a.b","type":"string"}`), "ATTRNAME"},
		{"duplicate name", ext(`{"name":"a","type":"string"},{"name":"A","type":"integer"}`), "declared twice"},
		{"unknown type", ext(`{"name":"a","type":"float"}`), "unknown type"},
		{"complex without subs", ext(`{"name":"a","type":"complex"}`), "needs subAttributes"},
		{"nested complex", ext(`{"name":"a","type":"complex","subAttributes":[{"name":"b","type":"complex","subAttributes":[{"name":"c","type":"string"}]}]}`), "cannot be complex"},
		{"subs on simple", ext(`{"name":"a","type":"string","subAttributes":[{"name":"b","type":"string"}]}`), "cannot have subAttributes"},
		{"bad mutability", ext(`{"name":"a","type":"string","mutability":"sometimes"}`), "mutability"},
		{"writeOnly returned", ext(`{"name":"a","type":"string","mutability":"writeOnly"}`), "writeOnly"},
		{"unenforced uniqueness", ext(`{"name":"a","type":"string","uniqueness":"server"}`), "uniqueness"},
		{"canonical on integer", ext(`{"name":"a","type":"integer","canonicalValues":["1"]}`), "canonicalValues"},
		{"declared twice", `{"extensions":[{"resourceType":"User","schema":{"id":"urn:x:y","attributes":[{"name":"a","type":"string"}]}},{"resourceType":"User","tenants":["t"],"schema":{"id":"URN:x:y","attributes":[{"name":"a","type":"string"}]}}]}`, "declared twice"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseSchemaFile([]byte(tc.file))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func TestParseSchemaFileDefaults(t *testing.T) {
	exts, err := ParseSchemaFile([]byte(`{"extensions":[{"resourceType":"User","schema":{"id":"urn:example:ext:1.0:User","attributes":[{"name":"level","type":"integer"}]}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	a := exts[0].Schema.Attributes[0]
	if exts[0].Schema.Name != "User" || a.Mutability != ReadWrite || a.Returned != ReturnedDefault || a.Uniqueness != "none" {
		t.Fatalf("defaults not applied: %+v %+v", exts[0].Schema, a)
	}
	rt := NewUserResourceType().WithExtensions(SchemaExtension{Schema: exts[0].Schema})
	if ra := rt.FindAttr("urn:example:ext:1.0:User", "LEVEL"); ra == nil || ra.Def != a {
		t.Fatalf("extension attribute not found through the resource type")
	}
	if base := NewUserResourceType(); len(base.Extensions) != 1 {
		t.Fatalf("WithExtensions changed the built-in type")
	}
}
