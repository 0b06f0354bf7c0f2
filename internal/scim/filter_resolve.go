package scim

import (
	"encoding/json"
	"strconv"
	"strings"
)

// schemasAttr stands for the "schemas" attribute, which every resource has (RFC 7643 §3)
// but no schema defines, so that filters such as the RFC's own
// `schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"` resolve. It is
// never modified.
var schemasAttr = &Attribute{
	Name:        "schemas",
	Type:        TypeString,
	MultiValued: true,
	CaseExact:   false,
	Mutability:  ReadOnly,
	Returned:    ReturnedAlways,
	Uniqueness:  "none",
	Description: "The URNs of the schemas the resource uses.",
}

// IsSchemasAttr reports whether a resolved attribute is the resource's "schemas" list, which
// ResolveFilter accepts although no schema defines it.
func IsSchemasAttr(a *Attribute) bool { return a == schemasAttr }

// ResolveFilter checks a parsed filter against a resource type and completes it in place:
// every AttrPath gets its Schema, Attr and SubAttr, and its URN, Name and Sub are rewritten
// to the schema's spelling (URN is "" for core and common attributes, the extension's ID
// otherwise). Inside a value path, paths name sub-attributes of the outer attribute and
// their Attr is the sub-attribute's definition. A complex attribute compared with a value
// is taken to mean its "value" sub-attribute (Sub becomes "value"); compared with null it
// stays whole ("eq null" is "not pr"). Values are checked against
// the attribute types, and the strings "true"/"false" compared with a boolean attribute
// become booleans. Errors are *Error with scimType invalidFilter.
func ResolveFilter(rt *ResourceType, f Filter) error {
	r := resolver{rt: rt, fail: InvalidFilter, in: "filter", allowSchemas: true}
	if err := r.check(); err != nil {
		return err
	}
	return r.filter(f, nil)
}

// ResolvePatchPath is ResolveFilter for a PATCH path: it resolves the attribute, the value
// filter relative to it and the sub-attribute after "]" (into SubAttr). Errors are *Error
// with scimType invalidPath. "schemas" is not a valid path.
func ResolvePatchPath(rt *ResourceType, p *PatchPath) error {
	r := resolver{rt: rt, fail: InvalidPath, in: "path"}
	if err := r.check(); err != nil {
		return err
	}
	if err := r.path(&p.Attr, nil); err != nil {
		return err
	}
	if p.Filter == nil {
		if p.Sub != "" {
			return r.fail("invalid path %q: a sub-attribute after the attribute needs a value filter before it", p.String())
		}
		return nil
	}
	if err := r.valueFilterTarget(&p.Attr); err != nil {
		return err
	}
	if err := r.filter(p.Filter, &p.Attr); err != nil {
		return err
	}
	if p.Sub != "" {
		s := p.Attr.Attr.Sub(p.Sub)
		if s == nil {
			return r.fail("unknown attribute %q in path", p.Attr.Name+"."+p.Sub)
		}
		p.Sub, p.SubAttr = s.Name, s
	}
	return nil
}

type resolver struct {
	rt           *ResourceType
	fail         func(format string, args ...any) *Error
	in           string // "filter" or "path", for messages
	allowSchemas bool
}

func (r *resolver) check() error {
	if r.rt == nil || r.rt.Schema == nil {
		return r.fail("no resource type to resolve the %s against", r.in)
	}
	return nil
}

// filter resolves f; outer is the attribute of the enclosing value path, or nil.
func (r *resolver) filter(f Filter, outer *AttrPath) error {
	switch f := f.(type) {
	case *AndFilter:
		if f != nil {
			return r.pair(f.Left, f.Right, outer)
		}
	case *OrFilter:
		if f != nil {
			return r.pair(f.Left, f.Right, outer)
		}
	case *NotFilter:
		if f != nil {
			return r.filter(f.X, outer)
		}
	case *PresentFilter:
		if f != nil {
			return r.path(&f.Path, outer)
		}
	case *CompareFilter:
		if f != nil {
			if err := r.path(&f.Path, outer); err != nil {
				return err
			}
			return r.compare(f)
		}
	case *ValuePathFilter:
		if f != nil {
			if outer != nil {
				return r.fail("value filters cannot be nested: %q inside %q", f.Path.String(), outer.Name)
			}
			if err := r.path(&f.Path, nil); err != nil {
				return err
			}
			if err := r.valueFilterTarget(&f.Path); err != nil {
				return err
			}
			return r.filter(f.Filter, &f.Path)
		}
	}
	return r.fail("invalid %s: empty expression", r.in)
}

func (r *resolver) pair(a, b Filter, outer *AttrPath) error {
	if err := r.filter(a, outer); err != nil {
		return err
	}
	return r.filter(b, outer)
}

func (r *resolver) valueFilterTarget(p *AttrPath) error {
	if p.SubAttr != nil || p.Attr.Type != TypeComplex {
		return r.fail("attribute %q is not complex and cannot take a value filter", p.String())
	}
	return nil
}

// path resolves one attribute path. Inside a value path (outer != nil) it names a
// sub-attribute of outer's attribute, written without URN or further sub-attribute.
func (r *resolver) path(p *AttrPath, outer *AttrPath) error {
	if outer != nil {
		var s *Attribute
		if p.URN == "" && p.Sub == "" {
			s = outer.Attr.Sub(p.Name)
		}
		if s == nil {
			return r.fail("unknown attribute %q of %q in %s", p.String(), outer.Name, r.in)
		}
		p.Name, p.Schema, p.Attr, p.SubAttr = s.Name, outer.Schema, s, nil
		return nil
	}
	if r.allowSchemas && p.URN == "" && p.Sub == "" && strings.EqualFold(p.Name, schemasAttr.Name) {
		p.Name, p.Schema, p.Attr, p.SubAttr = schemasAttr.Name, nil, schemasAttr, nil
		return nil
	}
	ra := r.rt.FindAttr(p.URN, p.Name)
	if ra == nil {
		return r.fail("unknown attribute %q in %s", p.String(), r.in)
	}
	p.URN = ""
	if ra.Schema != nil && ra.Schema != r.rt.Schema {
		p.URN = ra.Schema.ID
	}
	p.Name, p.Schema, p.Attr, p.SubAttr = ra.Def.Name, ra.Schema, ra.Def, nil
	if p.Sub != "" {
		s := ra.Def.Sub(p.Sub)
		if s == nil {
			return r.fail("unknown attribute %q in %s", p.String(), r.in)
		}
		p.Sub, p.SubAttr = s.Name, s
	}
	return nil
}

func isOrdering(op CompareOp) bool {
	return op == OpGt || op == OpGe || op == OpLt || op == OpLe
}

func isSubstring(op CompareOp) bool {
	return op == OpCo || op == OpSw || op == OpEw
}

// compare checks that the operator and value suit the resolved attribute.
func (r *resolver) compare(f *CompareFilter) error {
	p := &f.Path
	leaf := p.Leaf()
	if !knownOp(f.Op) {
		return r.fail("unknown comparison operator %q", string(f.Op))
	}
	if f.Value == nil {
		// "eq null" is "not pr" (RFC 7643 §2.5: null and unassigned are one state), so it
		// applies to any attribute, a complex one as a whole too (`name eq null`).
		if f.Op != OpEq && f.Op != OpNe {
			return r.fail("%s %s null: null can only be compared with eq or ne", p.String(), f.Op)
		}
		return nil
	}
	if leaf.Type == TypeComplex {
		// `emails co "example.com"` is an RFC 7644 §3.4.2.2 example: a complex attribute
		// compared as a whole stands for its "value" sub-attribute.
		v := leaf.Sub("value")
		if p.SubAttr != nil || v == nil {
			return r.fail("attribute %q is complex: compare one of its sub-attributes", p.String())
		}
		p.Sub, p.SubAttr, leaf = v.Name, v, v
	}
	switch leaf.Type {
	case TypeBoolean, TypeBinary:
		// RFC 7644 §3.4.2.2, for gt, ge, lt and le: "Boolean and Binary attributes SHALL
		// cause a failed response (HTTP status code 400) with "scimType" of
		// "invalidFilter"."
		if isOrdering(f.Op) {
			return r.fail("attribute %q is %s and cannot be compared with %s", p.String(), leaf.Type, f.Op)
		}
	}
	if s, ok := f.Value.(string); ok && leaf.Type == TypeBoolean {
		// Clients quote booleans (`active eq "true"`); there is no other reading of it.
		switch {
		case strings.EqualFold(s, "true"):
			f.Value = true
		case strings.EqualFold(s, "false"):
			f.Value = false
		}
	}
	if leaf.Type == TypeDateTime && isSubstring(f.Op) {
		// A dateTime is an instant, not text: one instant has many RFC 3339 spellings, so
		// "contains" or "starts with" has no meaning for it (the RFC 7644 §3.12
		// invalidFilter case of an unsupported "attribute and filter comparison
		// combination").
		return r.fail("attribute %q is a dateTime and cannot be compared with %s: use eq, ne, gt, ge, lt or le", p.String(), f.Op)
	}
	if _, ok := f.Value.(string); !ok && isSubstring(f.Op) {
		return r.fail("%s %s %s: %s needs a string value", p.String(), f.Op, renderValue(f.Value), f.Op)
	}
	ok := false
	switch leaf.Type {
	case TypeBoolean:
		_, ok = f.Value.(bool)
	case TypeInteger:
		n, isNum := toNumber(f.Value)
		ok = isNum && n.isInt
	case TypeDecimal:
		_, ok = toNumber(f.Value)
	case TypeDateTime:
		if s, isStr := f.Value.(string); isStr {
			_, err := ParseDateTime(s)
			ok = err == nil
		}
		if !ok {
			return r.fail("attribute %q is a dateTime and needs an RFC 3339 timestamp, not %s", p.String(), renderValue(f.Value))
		}
	case TypeString, TypeReference, TypeBinary:
		_, ok = f.Value.(string)
	}
	if !ok {
		return r.fail("attribute %q is of type %s and cannot be compared with %s", p.String(), leaf.Type, renderValue(f.Value))
	}
	return nil
}

func knownOp(op CompareOp) bool {
	switch op {
	case OpEq, OpNe, OpCo, OpSw, OpEw, OpGt, OpGe, OpLt, OpLe:
		return true
	}
	return false
}

// renderValue shows a comparison value the way it would be written in a filter.
func renderValue(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case string:
		return quoteSnippet(v)
	case json.Number:
		if len(v) > 40 {
			return string(v[:40]) + "…"
		}
		return string(v)
	case bool:
		return strconv.FormatBool(v)
	}
	if n, ok := toNumber(v); ok {
		if n.isInt {
			return strconv.FormatInt(n.i, 10)
		}
		return strconv.FormatFloat(n.f, 'g', -1, 64)
	}
	return "a value of an unsupported type"
}
