package scim

import (
	"reflect"
	"strings"
)

// PatchOperation is one operation of a PATCH request (RFC 7644 §3.5.2), with its op name
// lower-cased and its path parsed and resolved.
type PatchOperation struct {
	Op    string // "add", "replace" or "remove"
	Path  *PatchPath
	Value any

	// echoed marks an operation made by ExpandPathless from a key of a path-less value,
	// where clients echo read-only attributes of a GET (see applyOne).
	echoed bool
}

// ParsePatch reads a PatchOp request body. Op names are matched case-insensitively because
// Microsoft Entra ID sends "Add", "Replace" and "Remove".
func ParsePatch(rt *ResourceType, body map[string]any) ([]PatchOperation, error) {
	var rawOps any
	found := false
	for k, v := range body {
		switch {
		case strings.EqualFold(k, "schemas"):
			list, _ := v.([]any)
			ok := false
			for _, s := range list {
				if str, _ := s.(string); strings.EqualFold(str, PatchOpSchema) {
					ok = true
				}
			}
			if !ok {
				return nil, InvalidSyntax("a PATCH request's \"schemas\" must contain %q", PatchOpSchema)
			}
		case strings.EqualFold(k, "Operations"):
			rawOps, found = v, true
		}
	}
	if !found {
		return nil, InvalidSyntax("a PATCH request needs an \"Operations\" array")
	}
	list, ok := rawOps.([]any)
	if !ok {
		return nil, InvalidSyntax("\"Operations\" must be an array")
	}
	ops := make([]PatchOperation, 0, len(list))
	for i, item := range list {
		obj, ok := item.(map[string]any)
		if !ok {
			return nil, InvalidSyntax("Operations[%d] must be an object", i)
		}
		var op PatchOperation
		var hasValue bool
		for k, v := range obj {
			switch strings.ToLower(k) {
			case "op":
				s, _ := v.(string)
				op.Op = strings.ToLower(s)
			case "path":
				s, ok := v.(string)
				if !ok && v != nil {
					return nil, InvalidPath("Operations[%d].path must be a string", i)
				}
				if strings.TrimSpace(s) == "" {
					continue
				}
				p, err := parseResolvePath(rt, s)
				if err != nil {
					return nil, err
				}
				op.Path = p
			case "value":
				op.Value, hasValue = v, true
			}
		}
		switch op.Op {
		case "add", "replace":
			if !hasValue {
				return nil, InvalidSyntax("Operations[%d]: %q needs a \"value\"", i, op.Op)
			}
			if op.Path == nil {
				if _, ok := op.Value.(map[string]any); !ok {
					return nil, InvalidSyntax("Operations[%d]: without a \"path\", \"value\" must be an object of attributes", i)
				}
			}
		case "remove":
			// RFC 7644 §3.5.2.2: "If "path" is unspecified, the operation fails with HTTP
			// status code 400 and a "scimType" error code of "noTarget"."
			if op.Path == nil {
				return nil, BadRequest(ErrNoTarget, "Operations[%d]: \"remove\" needs a \"path\"", i)
			}
		default:
			return nil, InvalidSyntax("Operations[%d]: unknown op %q (want add, replace or remove)", i, op.Op)
		}
		ops = append(ops, op)
	}
	return ops, nil
}

// ExpandPathless turns a path-less add or replace into one operation per attribute named in
// its value object. Keys may be plain ("displayName"), dotted ("name.givenName"),
// schema-qualified ("urn:…:enterprise:2.0:User:department") or an extension URN whose value
// is an object of that extension's attributes; Microsoft Entra ID sends all of these.
// "schemas", "id" and "meta" keys are kept with a nil Path... they are skipped here and
// checked by the caller against the current values.
func ExpandPathless(rt *ResourceType, op PatchOperation) ([]PatchOperation, error) {
	obj := op.Value.(map[string]any)
	var out []PatchOperation
	for key, v := range obj {
		if strings.EqualFold(key, "schemas") {
			continue
		}
		if ext := rt.extensionByURN(key); ext != nil {
			inner, ok := v.(map[string]any)
			if !ok {
				if v == nil {
					continue
				}
				return nil, InvalidValue("%q must be an object", key)
			}
			for k, iv := range inner {
				p, err := resolvedPath(rt, ext.ID+":"+k)
				if err != nil {
					return nil, err
				}
				out = append(out, PatchOperation{Op: op.Op, Path: p, Value: iv, echoed: true})
			}
			continue
		}
		p, err := resolvedPath(rt, key)
		if err != nil {
			return nil, err
		}
		out = append(out, PatchOperation{Op: op.Op, Path: p, Value: v, echoed: true})
	}
	return out, nil
}

func resolvedPath(rt *ResourceType, s string) (*PatchPath, error) {
	p, err := parseResolvePath(rt, s)
	if err != nil {
		return nil, InvalidValue("attribute %q in the PATCH value: %s", s, errDetail(err))
	}
	return p, nil
}

// parseResolvePath parses and resolves a PATCH path. An unqualified name that no core or
// common attribute has but exactly one extension defines is taken as that extension's:
// Microsoft Entra ID's documented manager update is {"op":"Add","path":"manager",…}
// without the enterprise URN. Anything else fails as ResolvePatchPath says.
func parseResolvePath(rt *ResourceType, s string) (*PatchPath, error) {
	p, err := ParsePatchPath(s)
	if err != nil {
		return nil, err
	}
	rerr := ResolvePatchPath(rt, &p)
	if rerr == nil {
		return &p, nil
	}
	if p.Attr.URN != "" || rt.FindAttr("", p.Attr.Name) != nil {
		return nil, rerr
	}
	var owner *Schema
	for _, e := range rt.Extensions {
		if e.Schema.Attr(p.Attr.Name) != nil {
			if owner != nil {
				return nil, rerr // ambiguous
			}
			owner = e.Schema
		}
	}
	if owner == nil {
		return nil, rerr
	}
	q, err := ParsePatchPath(owner.ID + ":" + s)
	if err != nil {
		return nil, rerr
	}
	if err := ResolvePatchPath(rt, &q); err != nil {
		return nil, rerr
	}
	return &q, nil
}

func errDetail(err error) string {
	if e, ok := AsError(err); ok {
		return e.Detail
	}
	return err.Error()
}

// ApplyPatch applies operations to a copy of res and returns it; res is never changed, so
// a failing operation leaves nothing half-applied. id is the resource's id, against which
// an echoed "id" is compared. Operations on attributes listed in serverManaged must have
// been taken out by the caller.
func ApplyPatch(rt *ResourceType, id string, res Resource, ops []PatchOperation) (Resource, error) {
	out := res.Clone()
	for _, op := range ops {
		expanded := []PatchOperation{op}
		if op.Path == nil {
			var err error
			if expanded, err = ExpandPathless(rt, op); err != nil {
				return nil, err
			}
		}
		for _, e := range expanded {
			if err := applyOne(rt, id, out, e); err != nil {
				return nil, err
			}
		}
	}
	if err := CheckRequired(rt, out); err != nil {
		return nil, err
	}
	return out, nil
}

func applyOne(rt *ResourceType, id string, res Resource, op PatchOperation) error {
	p := op.Path
	a := p.Attr.Attr
	if a.Mutability == ReadOnly || a.Mutability == Immutable {
		// Okta echoes "id" (and clients echo "meta") in a path-less replace: a value equal
		// to the current one is not a change. RFC 7644 §3.5.2: an attempt to modify a
		// readOnly attribute fails with scimType "mutability".
		if strings.EqualFold(a.Name, "id") && op.Value == id {
			return nil
		}
		// Echoed "meta" and "groups" keys of a path-less value are ignored like the rest
		// of a GET's output. An explicit path naming them is a real attempt to change
		// them, and a 200 that changes nothing would mislead the client: RFC 7644 §3.5.2,
		// "a client MUST NOT modify an attribute that has mutability "readOnly"".
		if op.echoed && (strings.EqualFold(a.Name, "meta") || strings.EqualFold(a.Name, "groups")) {
			return nil
		}
		return BadRequest(ErrMutability, "attribute %q is %s and cannot be changed", p.Attr.String(), a.Mutability)
	}
	if a.Mutability == WriteOnly {
		return nil // password: accepted, never kept
	}
	container := map[string]any(res)
	if p.Attr.Schema != nil && p.Attr.Schema != rt.Schema {
		ext, _ := res[p.Attr.Schema.ID].(map[string]any)
		if ext == nil {
			ext = map[string]any{}
			res[p.Attr.Schema.ID] = ext
		}
		container = ext
		defer func() {
			if len(ext) == 0 {
				delete(res, p.Attr.Schema.ID)
			}
		}()
	}
	where := p.Attr.Name
	switch {
	case p.Filter != nil:
		return applyFiltered(container, a, p, op)
	case p.Attr.SubAttr != nil:
		return applySub(container, a, p.Attr.SubAttr, op, where+"."+p.Attr.SubAttr.Name)
	}
	switch op.Op {
	case "remove":
		if a.MultiValued && op.Value != nil {
			return removeValues(container, a, op.Value)
		}
		delete(container, a.Name)
		return nil
	case "add":
		if a.MultiValued {
			return addValues(container, a, op.Value)
		}
		if a.Type == TypeComplex {
			return mergeComplex(container, a, op.Value)
		}
	case "replace":
		if !a.MultiValued && a.Type == TypeComplex {
			// RFC 7644 §3.5.2.3: "Sub-attributes that are not specified in the "value"
			// parameter are left unchanged."
			return mergeComplex(container, a, op.Value)
		}
	}
	return putNormalized(container, a, op.Value, where)
}

func mergeComplex(container map[string]any, a *Attribute, raw any) error {
	v, err := NormalizeValue(a, raw, a.Name)
	if err != nil || v == nil {
		return err
	}
	cur, _ := container[a.Name].(map[string]any)
	if cur == nil {
		cur = map[string]any{}
	}
	for k, x := range v.(map[string]any) {
		cur[k] = x
	}
	if len(cur) > 0 {
		container[a.Name] = cur
	}
	return nil
}

func addValues(container map[string]any, a *Attribute, raw any) error {
	v, err := NormalizeValue(a, raw, a.Name)
	if err != nil || v == nil {
		return err
	}
	cur, _ := container[a.Name].([]any)
	for _, nv := range v.([]any) {
		if containsValue(cur, nv) {
			continue
		}
		if isPrimary(nv) {
			clearPrimary(cur)
		}
		cur = append(cur, nv)
	}
	container[a.Name] = cur
	return nil
}

func removeValues(container map[string]any, a *Attribute, raw any) error {
	v, err := NormalizeValue(a, raw, a.Name)
	if err != nil || v == nil {
		return err
	}
	cur, _ := container[a.Name].([]any)
	kept := cur[:0:0]
	for _, c := range cur {
		drop := false
		for _, rv := range v.([]any) {
			if sameValue(c, rv) {
				drop = true
			}
		}
		if !drop {
			kept = append(kept, c)
		}
	}
	setList(container, a.Name, kept)
	return nil
}

// sameValue compares two values of a multi-valued attribute by their "value"
// sub-attribute when both have one, else entirely.
func sameValue(x, y any) bool {
	xm, xok := x.(map[string]any)
	ym, yok := y.(map[string]any)
	if xok && yok {
		if xv, ok := xm["value"]; ok {
			return reflect.DeepEqual(xv, ym["value"])
		}
	}
	return reflect.DeepEqual(x, y)
}

func containsValue(list []any, v any) bool {
	for _, x := range list {
		if reflect.DeepEqual(x, v) {
			return true
		}
	}
	return false
}

func isPrimary(v any) bool {
	m, _ := v.(map[string]any)
	return m != nil && m["primary"] == true
}

func clearPrimary(list []any) {
	for _, x := range list {
		if m, ok := x.(map[string]any); ok && m["primary"] == true {
			delete(m, "primary")
		}
	}
}

func setList(container map[string]any, name string, list []any) {
	if len(list) == 0 {
		delete(container, name)
		return
	}
	container[name] = list
}

// applySub handles "name.familyName" (single complex) and "emails.type" (every value of a
// multi-valued complex attribute).
func applySub(container map[string]any, a, sub *Attribute, op PatchOperation, where string) error {
	if sub.Mutability == ReadOnly {
		return BadRequest(ErrMutability, "attribute %q is readOnly", where)
	}
	var nv any
	if op.Op != "remove" {
		var err error
		if nv, err = NormalizeValue(sub, op.Value, where); err != nil {
			return err
		}
	}
	set := func(m map[string]any) {
		if nv == nil {
			delete(m, sub.Name)
		} else {
			m[sub.Name] = nv
		}
	}
	if a.MultiValued {
		list, _ := container[a.Name].([]any)
		for _, item := range list {
			if m, ok := item.(map[string]any); ok {
				set(m)
			}
		}
		return nil
	}
	cur, _ := container[a.Name].(map[string]any)
	if cur == nil {
		if nv == nil {
			return nil
		}
		cur = map[string]any{}
		container[a.Name] = cur
	}
	set(cur)
	if len(cur) == 0 {
		delete(container, a.Name)
	}
	return nil
}

// applyFiltered handles value paths such as emails[type eq "work"] and
// emails[type eq "work"].value.
func applyFiltered(container map[string]any, a *Attribute, p *PatchPath, op PatchOperation) error {
	list, _ := container[a.Name].([]any)
	var matched []map[string]any
	for _, item := range list {
		if m, ok := item.(map[string]any); ok && MatchValue(p.Filter, m) {
			matched = append(matched, m)
		}
	}
	where := p.Attr.Name + "[…]"
	if len(matched) == 0 {
		if op.Op == "add" {
			// An add through a filter that matches nothing creates the value the filter
			// describes: Microsoft Entra ID adds a first work e-mail as
			// emails[type eq "work"].value.
			m := seedFromFilter(p.Filter)
			if p.SubAttr == nil {
				return addValues(container, a, op.Value)
			}
			nv, err := NormalizeValue(p.SubAttr, op.Value, where+"."+p.SubAttr.Name)
			if err != nil {
				return err
			}
			m[p.SubAttr.Name] = nv
			return addValues(container, a, m)
		}
		// RFC 7644 §3.5.2.3: "If the target location is a multi-valued attribute for which a
		// value selection filter ("valuePath") has been supplied and no record match was
		// made, the service provider SHALL indicate failure by returning HTTP status code
		// 400 and a "scimType" error code of "noTarget"."
		return BadRequest(ErrNoTarget, "no value of %q matches the filter in path", p.Attr.Name)
	}
	switch {
	case op.Op == "remove" && p.SubAttr == nil:
		kept := list[:0:0]
		for _, item := range list {
			m, ok := item.(map[string]any)
			if ok && MatchValue(p.Filter, m) {
				continue
			}
			kept = append(kept, item)
		}
		setList(container, a.Name, kept)
		return nil
	case p.SubAttr != nil:
		var nv any
		if op.Op != "remove" {
			var err error
			if nv, err = NormalizeValue(p.SubAttr, op.Value, where+"."+p.SubAttr.Name); err != nil {
				return err
			}
		}
		for _, m := range matched {
			if nv == nil {
				delete(m, p.SubAttr.Name)
			} else {
				if p.SubAttr.Name == "primary" && nv == true {
					clearPrimary(list)
				}
				m[p.SubAttr.Name] = nv
			}
		}
		return nil
	default: // add or replace a whole matched value: merge the given sub-attributes
		nv, err := normalizeSingle(a, op.Value, where)
		if err != nil {
			return err
		}
		obj, _ := nv.(map[string]any)
		if obj["primary"] == true {
			clearPrimary(list)
		}
		for _, m := range matched {
			for k, x := range obj {
				m[k] = x
			}
		}
		return nil
	}
}

// seedFromFilter builds the value that an eq-only filter such as `type eq "work"` describes.
func seedFromFilter(f Filter) map[string]any {
	m := map[string]any{}
	var walk func(Filter)
	walk = func(f Filter) {
		switch t := f.(type) {
		case *AndFilter:
			walk(t.Left)
			walk(t.Right)
		case *CompareFilter:
			if t.Op == OpEq {
				m[t.Path.Name] = t.Value
			}
		}
	}
	walk(f)
	return m
}
