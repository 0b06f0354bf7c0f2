package compat

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestDialectsCode checks that every registered dialect names a function that exists where
// it says, so that the registry cannot silently drift from the code it describes, and
// that names are unique and switches are real.
func TestDialectsCode(t *testing.T) {
	root := filepath.Join("..", "..")
	seen := map[string]bool{}
	switches := map[string]bool{} // Switches' JSON names
	st := reflect.TypeOf(Switches{})
	for i := 0; i < st.NumField(); i++ {
		switches[st.Field(i).Tag.Get("json")] = true
	}
	used := map[string]bool{}
	for _, d := range Dialects {
		if d.Name == "" || seen[d.Name] || len(d.Clients) == 0 || d.Sends == "" {
			t.Errorf("%q: want a unique name, clients and what they send", d.Name)
		}
		seen[d.Name] = true
		if d.Switch != "" && !switches[d.Switch] {
			t.Errorf("%s: no switch %q", d.Name, d.Switch)
		}
		used[d.Switch] = true
		file, fn, ok := strings.Cut(d.Code, ":")
		if !ok {
			t.Errorf("%s: code %q is not file:function", d.Name, d.Code)
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(root, file), nil, parser.SkipObjectResolution)
		if err != nil {
			t.Errorf("%s: %v", d.Name, err)
			continue
		}
		found := false
		for _, decl := range f.Decls {
			if fd, ok := decl.(*ast.FuncDecl); ok && fd.Name.Name == fn {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: no function %s in %s", d.Name, fn, file)
		}
	}
}

func TestEverySwitchRegistered(t *testing.T) {
	used := map[string]bool{}
	for _, d := range Dialects {
		used[d.Switch] = true
	}
	st := reflect.TypeOf(Switches{})
	for i := 0; i < st.NumField(); i++ {
		if name := st.Field(i).Tag.Get("json"); !used[name] {
			t.Errorf("switch %s is in no registered dialect", name)
		}
	}
}

func TestBodyMediaType(t *testing.T) {
	for ct, want := range map[string]bool{
		"application/scim+json":                true,
		"application/scim+json; charset=utf-8": true,
		"application/json":                     true,
		"Application/JSON; charset=UTF-8":      true,
		"text/plain":                           false,
		"application/xml":                      false,
		"application/json; =":                  false,
	} {
		if got := BodyMediaType(ct); got != want {
			t.Errorf("BodyMediaType(%q) = %v, want %v", ct, got, want)
		}
	}
}
