package scim

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// PatchOperation is one operation of a PATCH request (RFC 7644 §3.5.2), with its op name
// lower-cased and its path parsed and resolved. Path is nil for a path-less add or
// replace, whose Value is then an object of attributes.
type PatchOperation struct {
	Op    string // "add", "replace" or "remove"
	Path  *PatchPath
	Value any

	// echoed marks an operation made by ExpandPathless from a key of a path-less value,
	// where clients echo read-only attributes of a GET (see applyOne).
	echoed bool
	// index is the operation's position in the request, for error details.
	index int
}

// ParsePatch reads a PatchOp request body. Op names are matched case-insensitively because
// Microsoft Entra ID sends "Add", "Replace" and "Remove"; so are the member names of the
// body and of each operation (RFC 7643 §2.1), and a name given twice in different cases
// is refused rather than one of them picked at random.
//
// A path that is an extension's schema URN names the whole extension (RFC 7644 §3.10: an
// extension's attributes are qualified by its URN): add and replace take an object of its
// attributes and become a path-less operation on {URN: value}; remove becomes one remove
// per attribute of the extension.
func ParsePatch(rt *ResourceType, body map[string]any) ([]PatchOperation, error) {
	if err := checkDuplicateKeys(body, "the PATCH request"); err != nil {
		return nil, err
	}
	var rawOps any
	found, hasSchemas := false, false
	for k, v := range body {
		switch {
		case strings.EqualFold(k, "schemas"):
			hasSchemas = true
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
	// RFC 7644 §3.5.2: the body "MUST contain" the "schemas" attribute with the PatchOp URN;
	// every identity provider in the field sends it, so a body without it (or with a
	// misspelt key) is a client's mistake, reported rather than guessed at.
	if !hasSchemas {
		return nil, InvalidSyntax("a PATCH request needs \"schemas\" containing %q", PatchOpSchema)
	}
	if !found {
		return nil, InvalidSyntax("a PATCH request needs an \"Operations\" array")
	}
	list, ok := rawOps.([]any)
	if !ok {
		return nil, InvalidSyntax("\"Operations\" must be an array")
	}
	// An empty list is a no-op rather than a 400, although RFC 7644 §3.5.2 asks for "one
	// or more PATCH operations": Microsoft's SCIM Validator sends one (compat.Dialects).
	ops := make([]PatchOperation, 0, len(list))
	for i, item := range list {
		parsed, err := parseOperation(rt, i, item)
		if err != nil {
			return nil, err
		}
		ops = append(ops, parsed...)
	}
	return ops, nil
}

func parseOperation(rt *ResourceType, i int, item any) ([]PatchOperation, error) {
	obj, ok := item.(map[string]any)
	if !ok {
		return nil, InvalidSyntax("Operations[%d] must be an object", i)
	}
	if err := checkDuplicateKeys(obj, fmt.Sprintf("Operations[%d]", i)); err != nil {
		return nil, err
	}
	op := PatchOperation{index: i}
	var path string
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
			path = strings.TrimSpace(s)
		case "value":
			op.Value, hasValue = v, true
		}
	}
	switch op.Op {
	case "add", "replace":
		if !hasValue {
			return nil, InvalidSyntax("Operations[%d]: %q needs a \"value\"", i, op.Op)
		}
	case "remove":
		// RFC 7644 §3.5.2.2: "If "path" is unspecified, the operation fails with HTTP
		// status code 400 and a "scimType" error code of "noTarget"."
		if path == "" {
			return nil, BadRequest(ErrNoTarget, "Operations[%d]: \"remove\" needs a \"path\"", i)
		}
	default:
		return nil, InvalidSyntax("Operations[%d]: unknown op %q (want add, replace or remove)", i, op.Op)
	}
	if path == "" {
		if _, ok := op.Value.(map[string]any); !ok {
			return nil, InvalidSyntax("Operations[%d]: without a \"path\", \"value\" must be an object of attributes", i)
		}
		return []PatchOperation{op}, nil
	}
	if ext := rt.extensionByURN(path); ext != nil {
		return extensionOps(ext, op)
	}
	p, err := parseResolvePath(rt, path)
	if err != nil {
		return nil, opError(i, err)
	}
	op.Path = p
	return []PatchOperation{op}, nil
}

// extensionOps rewrites an operation whose path is an extension's URN.
func extensionOps(ext *Schema, op PatchOperation) ([]PatchOperation, error) {
	if op.Op == "remove" {
		return removeExtension(ext, op), nil
	}
	switch op.Value.(type) {
	case map[string]any, nil:
	default:
		return nil, InvalidValue("Operations[%d]: the value of %q must be an object of its attributes, got %s", op.index, ext.ID, describe(op.Value))
	}
	op.Value = map[string]any{ext.ID: op.Value}
	return []PatchOperation{op}, nil
}

// removeExtension is one remove per writable attribute of the extension: the extension
// becomes unassigned (RFC 7644 §3.5.2.2) and leaves the resource's "schemas".
func removeExtension(ext *Schema, op PatchOperation) []PatchOperation {
	var out []PatchOperation
	for _, a := range ext.Attributes {
		if a.Mutability == ReadOnly {
			continue
		}
		out = append(out, PatchOperation{
			Op:    "remove",
			Path:  &PatchPath{Attr: AttrPath{URN: ext.ID, Name: a.Name, Schema: ext, Attr: a}},
			index: op.index,
		})
	}
	return out
}

// checkDuplicateKeys refuses an object that names the same member twice in different
// cases: attribute names are case-insensitive (RFC 7643 §2.1), so {"userName": "a",
// "UserName": "b"} is ambiguous, and Go's map order would pick one at random.
func checkDuplicateKeys(obj map[string]any, where string) error {
	if len(obj) < 2 {
		return nil
	}
	seen := make(map[string]string, len(obj))
	for k := range obj {
		l := strings.ToLower(k)
		if other, dup := seen[l]; dup {
			a, b := other, k
			if b < a {
				a, b = b, a
			}
			return InvalidSyntax("%s names %q and %q, the same attribute (names are case-insensitive)", where, a, b)
		}
		seen[l] = k
	}
	return nil
}

// ExpandPathless turns a path-less add or replace into one operation per attribute named in
// its value object. Keys may be plain ("displayName"), dotted ("name.givenName"),
// schema-qualified ("urn:…:enterprise:2.0:User:department") or an extension URN whose value
// is an object of that extension's attributes; Microsoft Entra ID sends all of these.
// "schemas" keys are skipped; "id" and "meta" are checked by applyOne against the current
// values. The operations come out in a fixed order (by attribute, a whole attribute before
// its sub-attributes), and two keys naming the same attribute are refused.
func ExpandPathless(rt *ResourceType, op PatchOperation) ([]PatchOperation, error) {
	obj, ok := op.Value.(map[string]any)
	if !ok {
		return nil, InvalidSyntax("without a \"path\", \"value\" must be an object of attributes")
	}
	if err := checkDuplicateKeys(obj, "the PATCH value"); err != nil {
		return nil, err
	}
	type keyed struct {
		key string
		op  PatchOperation
	}
	var out []keyed
	seen := map[string]string{}
	add := func(key string, p *PatchPath, v any) error {
		canon := canonicalKey(p, key)
		if other, dup := seen[canon]; dup {
			return InvalidSyntax("the PATCH value names %q twice (as %q and %q)", p.String(), other, key)
		}
		seen[canon] = key
		out = append(out, keyed{canon, PatchOperation{Op: op.Op, Path: p, Value: v, echoed: true, index: op.index}})
		return nil
	}
	for key, v := range obj {
		if strings.EqualFold(key, "schemas") {
			continue
		}
		if ext := rt.extensionByURN(key); ext != nil {
			if v == nil {
				// RFC 7643 §2.5: null is "unassigned"; the extension's attributes go.
				for _, r := range removeExtension(ext, op) {
					if err := add(key, r.Path, nil); err != nil {
						return nil, err
					}
					out[len(out)-1].op.Op = "remove"
				}
				continue
			}
			inner, ok := v.(map[string]any)
			if !ok {
				return nil, InvalidValue("%q must be an object of its attributes, got %s", key, describe(v))
			}
			if err := checkDuplicateKeys(inner, fmt.Sprintf("%q", key)); err != nil {
				return nil, err
			}
			for k, iv := range inner {
				p, err := resolvedPath(rt, ext.ID+":"+k)
				if err != nil {
					return nil, err
				}
				if p.Attr.Schema != ext {
					return nil, InvalidValue("%q in the object of %q is not one of its attributes", k, ext.ID)
				}
				if err := add(key+"."+k, p, iv); err != nil {
					return nil, err
				}
			}
			continue
		}
		p, err := resolvedPath(rt, key)
		if err != nil {
			return nil, err
		}
		if err := add(key, p, v); err != nil {
			return nil, err
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	ops := make([]PatchOperation, len(out))
	for i, k := range out {
		ops[i] = k.op
	}
	return ops, nil
}

// canonicalKey identifies the target of a resolved path: the schema, the attribute and
// sub-attribute in their canonical spelling, and the filter as the client wrote it.
func canonicalKey(p *PatchPath, raw string) string {
	var b strings.Builder
	if p.Attr.Schema != nil {
		b.WriteString(p.Attr.Schema.ID)
	}
	b.WriteString("\x00")
	b.WriteString(p.Attr.Name)
	if p.Filter != nil {
		b.WriteString("[" + strings.ToLower(raw) + "]")
	}
	if s := p.Attr.SubAttr; s != nil {
		b.WriteString("." + s.Name)
	}
	if p.SubAttr != nil {
		b.WriteString("." + p.SubAttr.Name)
	}
	return b.String()
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

// opError prefixes a protocol error's detail with the operation it comes from.
func opError(i int, err error) error {
	e, ok := AsError(err)
	if !ok {
		return err
	}
	prefix := fmt.Sprintf("Operations[%d]: ", i)
	if strings.HasPrefix(e.Detail, prefix) {
		return e
	}
	return &Error{Status: e.Status, ScimType: e.ScimType, Detail: prefix + e.Detail}
}

// ApplyPatch applies operations to a copy of res and returns it; res is never changed, so
// a failing operation leaves nothing half-applied (RFC 7644 §3.5.2: "If a single
// operation encounters an error condition, the original SCIM resource MUST be restored").
// id is the resource's id, against which an echoed "id" is compared. Operations on
// attributes the caller keeps apart (a Group's members) must have been taken out.
// Every error is an *Error.
func ApplyPatch(rt *ResourceType, id string, res Resource, ops []PatchOperation) (Resource, error) {
	out := res.Clone()
	for _, op := range ops {
		expanded := []PatchOperation{op}
		if op.Path == nil {
			var err error
			if expanded, err = ExpandPathless(rt, op); err != nil {
				return nil, opError(op.index, err)
			}
		}
		for _, e := range expanded {
			if err := applyOne(rt, id, out, e); err != nil {
				return nil, opError(op.index, err)
			}
		}
	}
	if err := CheckRequired(rt, out); err != nil {
		return nil, err
	}
	if err := CheckLimits(out); err != nil {
		return nil, err
	}
	if err := checkPrimaries(rt, out); err != nil {
		return nil, err
	}
	return out, nil
}

func applyOne(rt *ResourceType, id string, res Resource, op PatchOperation) error {
	p := op.Path
	if p == nil || p.Attr.Attr == nil {
		return InvalidPath("operation without a resolved path")
	}
	a := p.Attr.Attr
	switch a.Mutability {
	case ReadOnly:
		// Okta echoes "id" in a path-less replace: a value equal to the current one is not
		// a change. RFC 7644 §3.5.2: "a client MUST NOT modify an attribute that has
		// mutability "readOnly" or "immutable"".
		if p.Attr.Schema == nil && a.Name == "id" && op.Op != "remove" && p.Filter == nil && op.Value == id {
			return nil
		}
		// Echoed "meta", "groups" and "roles" keys of a path-less value are ignored like the rest
		// of a GET's output. An explicit path naming them is a real attempt to change
		// them, and a 200 that changes nothing would mislead the client.
		if op.echoed && (a.Name == "meta" || a.Name == "groups" || a.Name == "roles") {
			return nil
		}
		return BadRequest(ErrMutability, "attribute %q is readOnly and cannot be changed", p.String())
	case WriteOnly:
		return nil // password: accepted, never kept
	}
	if err := checkDefaulted(p, op); err != nil {
		return err
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
	if a.Mutability == Immutable {
		if err := checkImmutable(container, a, p, op); err != nil || op.Op != "add" {
			return err // replace of an equal value: nothing to do
		}
	}
	where := p.Attr.String()
	switch {
	case p.Filter != nil:
		return applyFiltered(container, a, p, op)
	case p.Attr.SubAttr != nil:
		return applySub(container, a, p.Attr.SubAttr, op, where)
	}
	switch op.Op {
	case "remove":
		if a.MultiValued && op.Value != nil {
			// Microsoft Entra ID removes members as {"op":"Remove","path":"members",
			// "value":[{"value":"…"}]}: only the values given go, not all of them.
			return removeValues(container, a, op.Value, where)
		}
		delete(container, a.Name)
		return nil
	case "add":
		if a.MultiValued {
			return addValues(container, a, op.Value, where)
		}
		if a.Type == TypeComplex {
			return mergeComplex(container, a, op.Value, where)
		}
	case "replace":
		if !a.MultiValued && a.Type == TypeComplex {
			// RFC 7644 §3.5.2.3: "Sub-attributes that are not specified in the "value"
			// parameter are left unchanged."
			return mergeComplex(container, a, op.Value, where)
		}
	}
	// RFC 7644 §3.5.2.3: "If the target location is a multi-valued attribute and no
	// filter is specified, the attribute and all values are replaced."
	return putNormalized(container, a, op.Value, where)
}

// checkDefaulted refuses to unassign an attribute that has a Default.
//
// RFC 7643 §2.5: "Unassigned attributes, the null value, or empty array (in the case of
// a multi-valued attribute) SHALL be considered to be equivalent in "state"", so
// {"op":"replace","path":"active","value":null} and {"op":"remove","path":"active"}
// both make "active" unassigned. RFC 7643 §4.1.1 leaves the meaning of "active" to the
// service provider ("The definitive meaning of this attribute is determined by the
// service provider"), and this one reads an unassigned "active" as true. Either
// operation would therefore re-activate a deactivated user although the client never
// sent true; a deprovisioning mistake must not grant access back. They fail with 400
// invalidValue (RFC 7644 §3.12: "A required value was missing, or the value specified
// was not compatible with the operation or attribute type"), as unassigning the
// required userName does, and the client is told to send true or false.
func checkDefaulted(p *PatchPath, op PatchOperation) error {
	a := p.Attr.Attr
	if a.Default == nil || p.Filter != nil || p.Attr.SubAttr != nil {
		return nil
	}
	if op.Op == "remove" || op.Value == nil {
		return InvalidValue("attribute %q cannot be removed or set to null: without a value it means %v; send the value wanted", p.String(), a.Default)
	}
	return nil
}

// checkImmutable enforces RFC 7644 §3.5.2: "A client MUST NOT modify an attribute that has
// mutability "readOnly" or "immutable". However, a client MAY "add" a value to an
// "immutable" attribute if the attribute had no previous value." A value equal to the
// current one is not a modification.
func checkImmutable(container map[string]any, a *Attribute, p *PatchPath, op PatchOperation) error {
	cur, has := container[a.Name]
	if !has && op.Op == "add" {
		return nil
	}
	if op.Op != "remove" && p.Filter == nil && p.Attr.SubAttr == nil {
		if v, err := NormalizeValue(a, op.Value, p.String()); err == nil && reflect.DeepEqual(v, cur) {
			return nil
		}
	}
	return BadRequest(ErrMutability, "attribute %q is immutable and cannot be changed", p.String())
}

// mergeComplex sets the sub-attributes given in raw on a single-valued complex attribute;
// those given as null become unassigned, the others are left as they are. A null raw
// unassigns the attribute.
func mergeComplex(container map[string]any, a *Attribute, raw any, where string) error {
	if raw == nil {
		delete(container, a.Name)
		return nil
	}
	v, err := NormalizeValue(a, raw, where)
	if err != nil {
		return err
	}
	obj, _ := v.(map[string]any)
	cur, _ := container[a.Name].(map[string]any)
	if cur == nil {
		cur = map[string]any{}
	}
	if given, ok := rawObject(raw); ok {
		for k, x := range given {
			if sub := a.Sub(k); sub != nil && (x == nil || x == "") {
				delete(cur, sub.Name)
			}
		}
	}
	for k, x := range obj {
		cur[k] = x
	}
	if len(cur) == 0 {
		delete(container, a.Name)
		return nil
	}
	container[a.Name] = cur
	return nil
}

// rawObject is the object a client gave for a complex value: itself, or the single
// element of a one-element array (Entra's manager).
func rawObject(raw any) (map[string]any, bool) {
	if list, ok := raw.([]any); ok && len(list) == 1 {
		raw = list[0]
	}
	m, ok := raw.(map[string]any)
	return m, ok
}

// addValues adds values to a multi-valued attribute. RFC 7644 §3.5.2.1: "If the target
// location specifies a multi-valued attribute, a new value is added to the attribute",
// and "If the target location already contains the value specified, no changes SHOULD be
// made to the resource". A value already there (see sameValue) is not added again; only
// its "primary" and "display" are taken from the new one, so that re-adding an e-mail
// with "primary": true makes it primary rather than adding a second copy. JumpCloud
// repeats member adds, which therefore succeed without a second membership.
func addValues(container map[string]any, a *Attribute, raw any, where string) error {
	v, err := NormalizeValue(a, raw, where)
	if err != nil || v == nil {
		return err
	}
	cur, _ := container[a.Name].([]any)
	for _, nv := range v.([]any) {
		i := indexOfSame(a, cur, nv)
		if i < 0 {
			cur = append(cur, nv)
			i = len(cur) - 1
		} else if m, ok := nv.(map[string]any); ok {
			for _, k := range []string{"primary", "display"} {
				if x, ok := m[k]; ok {
					cur[i].(map[string]any)[k] = x
				}
			}
		}
		if isPrimary(nv) {
			clearPrimary(cur, i)
		}
	}
	container[a.Name] = cur
	return nil
}

// removeValues removes from a multi-valued attribute the values that match one of the
// given ones: a given value matches when each sub-attribute it names is equal.
func removeValues(container map[string]any, a *Attribute, raw any, where string) error {
	v, err := NormalizeValue(a, raw, where)
	if err != nil || v == nil {
		return err
	}
	cur, _ := container[a.Name].([]any)
	kept := cur[:0:0]
	for _, c := range cur {
		drop := false
		for _, rv := range v.([]any) {
			if matchesGiven(a, c, rv) {
				drop = true
				break
			}
		}
		if !drop {
			kept = append(kept, c)
		}
	}
	setList(container, a.Name, kept)
	return nil
}

// sameValue reports whether two values of a multi-valued attribute are the same value.
// RFC 7643 does not define identity for complex values; here it is "value" and "type"
// when the attribute has a "value" sub-attribute (an e-mail address of a given type,
// whatever its display or primary flag), and every sub-attribute but "primary" and
// "display" otherwise (an address). Strings compare as the sub-attribute's caseExact says.
func sameValue(a *Attribute, x, y any) bool {
	xm, xok := x.(map[string]any)
	ym, yok := y.(map[string]any)
	if !xok || !yok {
		return equalValue(a, x, y)
	}
	if a.Sub("value") != nil {
		return equalSub(a, xm, ym, "value") && equalSub(a, xm, ym, "type")
	}
	for _, s := range a.SubAttributes {
		if s.Name == "primary" || s.Name == "display" {
			continue
		}
		if !equalSub(a, xm, ym, s.Name) {
			return false
		}
	}
	return true
}

// matchesGiven reports whether existing has every sub-attribute of given, equal.
func matchesGiven(a *Attribute, existing, given any) bool {
	em, eok := existing.(map[string]any)
	gm, gok := given.(map[string]any)
	if !eok || !gok {
		return equalValue(a, existing, given)
	}
	for k := range gm {
		if !equalSub(a, em, gm, k) {
			return false
		}
	}
	return true
}

func equalSub(a *Attribute, x, y map[string]any, name string) bool {
	xv, xok := x[name]
	yv, yok := y[name]
	if xok != yok {
		return false
	}
	sub := a.Sub(name)
	if sub == nil {
		return reflect.DeepEqual(xv, yv)
	}
	return equalValue(sub, xv, yv)
}

// equalValue compares two normalized simple values of attribute a.
func equalValue(a *Attribute, x, y any) bool {
	xs, xok := x.(string)
	ys, yok := y.(string)
	if xok && yok && !a.CaseExact && a.Type != TypeBinary {
		return strings.EqualFold(xs, ys)
	}
	return reflect.DeepEqual(x, y)
}

func indexOfSame(a *Attribute, list []any, v any) int {
	for i, x := range list {
		if sameValue(a, x, v) {
			return i
		}
	}
	return -1
}

func isPrimary(v any) bool {
	m, _ := v.(map[string]any)
	return m != nil && m["primary"] == true
}

// clearPrimary enforces RFC 7644 §3.5.2: "For multi-valued attributes, a PATCH operation
// that sets a value's "primary" sub-attribute to "true" SHALL cause the server to
// automatically set "primary" to "false" for any other values in the array." keep is the
// index of the value that stays primary (-1 for none).
func clearPrimary(list []any, keep int) {
	for i, x := range list {
		if m, ok := x.(map[string]any); ok && i != keep && m["primary"] == true {
			m["primary"] = false
		}
	}
}

// checkPrimaries enforces RFC 7643 §2.4: "The primary attribute value "true" MUST appear
// no more than once", on the result of a PATCH (a sub-attribute path such as
// emails.primary, or a filter matching several values, could otherwise set it twice).
func checkPrimaries(rt *ResourceType, res Resource) error {
	check := func(container map[string]any, attrs []*Attribute) error {
		for _, a := range attrs {
			if !a.MultiValued || a.Sub("primary") == nil {
				continue
			}
			list, _ := container[a.Name].([]any)
			n := 0
			for _, v := range list {
				if isPrimary(v) {
					n++
				}
			}
			if n > 1 {
				return InvalidValue("%s: the PATCH would mark %d values primary; at most one may be", a.Name, n)
			}
		}
		return nil
	}
	if err := check(res, rt.Schema.Attributes); err != nil {
		return err
	}
	for _, e := range rt.Extensions {
		if ext, ok := res[e.Schema.ID].(map[string]any); ok {
			if err := check(ext, e.Schema.Attributes); err != nil {
				return err
			}
		}
	}
	return nil
}

// setList stores a multi-valued attribute's values, dropping empty values and exact
// duplicates; no values left means unassigned (RFC 7644 §3.5.2.2: "If the complex
// multi-valued attribute has no remaining records, the attribute SHALL be considered
// unassigned").
func setList(container map[string]any, name string, list []any) {
	out := list[:0:0]
	for _, v := range list {
		if m, ok := v.(map[string]any); ok && len(m) == 0 {
			continue
		}
		dup := false
		for _, o := range out {
			if reflect.DeepEqual(o, v) {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, v)
		}
	}
	if len(out) == 0 {
		delete(container, name)
		return
	}
	container[name] = out
}

// subValue normalizes the value of a sub-attribute named by a path; nil (null or the
// empty string, which a complex value never keeps) means "unassign it".
func subValue(sub *Attribute, op PatchOperation, where string) (any, error) {
	if op.Op == "remove" {
		return nil, nil
	}
	if sub.Mutability == ReadOnly {
		return nil, BadRequest(ErrMutability, "attribute %q is readOnly and cannot be changed", where)
	}
	nv, err := NormalizeValue(sub, op.Value, where)
	if err != nil || nv == "" {
		return nil, err
	}
	return nv, nil
}

// checkSubMutability applies the rule of checkImmutable to an immutable sub-attribute of
// each value a path designates: it may be given where it has no value, or set to the
// value it has.
func checkSubMutability(sub *Attribute, targets []map[string]any, nv any, where string) error {
	if sub.Mutability != Immutable {
		return nil
	}
	for _, m := range targets {
		if cur, has := m[sub.Name]; has && (nv == nil || !equalValue(sub, cur, nv)) {
			return BadRequest(ErrMutability, "attribute %q is immutable and cannot be changed", where)
		}
	}
	return nil
}

// checkValueMutability checks that setting the sub-attributes of nv on the matched values
// (or, with whole, replacing those values by nv) leaves their immutable sub-attributes
// as they are.
func checkValueMutability(a *Attribute, list []any, matched []int, nv map[string]any, whole bool, where string) error {
	for _, s := range a.SubAttributes {
		if s.Mutability != Immutable {
			continue
		}
		x, given := nv[s.Name]
		if !given && !whole {
			continue
		}
		for _, i := range matched {
			cur, has := list[i].(map[string]any)[s.Name]
			if has && (!given || !equalValue(s, cur, x)) {
				return BadRequest(ErrMutability, "%s: sub-attribute %q is immutable and cannot be changed", where, s.Name)
			}
		}
	}
	return nil
}

// applySub handles "name.familyName" (single complex) and "emails.type" (every value of a
// multi-valued complex attribute).
func applySub(container map[string]any, a, sub *Attribute, op PatchOperation, where string) error {
	if sub.Mutability == ReadOnly {
		return BadRequest(ErrMutability, "attribute %q is readOnly and cannot be changed", where)
	}
	nv, err := subValue(sub, op, where)
	if err != nil {
		return err
	}
	var targets []map[string]any
	if a.MultiValued {
		list, _ := container[a.Name].([]any)
		for _, item := range list {
			if m, ok := item.(map[string]any); ok {
				targets = append(targets, m)
			}
		}
	} else if cur, ok := container[a.Name].(map[string]any); ok {
		targets = append(targets, cur)
	}
	if err := checkSubMutability(sub, targets, nv, where); err != nil {
		return err
	}
	if len(targets) == 0 {
		if nv != nil {
			// RFC 7644 §3.5.2.1: "If the target location does not exist, the attribute and
			// value are added"; §3.5.2.3 treats a replace of a missing attribute as an add.
			var v any = map[string]any{sub.Name: nv}
			if a.MultiValued {
				v = []any{v}
			}
			container[a.Name] = v
		}
		return nil
	}
	for _, m := range targets {
		if nv == nil {
			delete(m, sub.Name)
		} else {
			m[sub.Name] = nv
		}
	}
	if a.MultiValued {
		list, _ := container[a.Name].([]any)
		setList(container, a.Name, list)
	} else if len(targets[0]) == 0 {
		delete(container, a.Name)
	}
	return nil
}

// applyFiltered handles value paths such as emails[type eq "work"] and
// emails[type eq "work"].value.
func applyFiltered(container map[string]any, a *Attribute, p *PatchPath, op PatchOperation) error {
	if !a.MultiValued || a.Type != TypeComplex {
		return InvalidPath("a value filter needs a multi-valued complex attribute; %q is not one", p.Attr.Name)
	}
	list, _ := container[a.Name].([]any)
	var matched []int
	for i, item := range list {
		if m, ok := item.(map[string]any); ok && MatchValue(p.Filter, m) {
			matched = append(matched, i)
		}
	}
	where := p.Attr.Name + "[…]"
	if p.SubAttr != nil {
		where += "." + p.SubAttr.Name
	}
	if len(matched) == 0 {
		if op.Op == "add" {
			return addThroughFilter(container, a, p, op, where)
		}
		// RFC 7644 §3.5.2.3: "If the target location is a multi-valued attribute for which a
		// value selection filter ("valuePath") has been supplied and no record match was
		// made, the service provider SHALL indicate failure by returning HTTP status code
		// 400 and a "scimType" error code of "noTarget"." The same holds for remove
		// (§3.5.2.2 and §3.12: noTarget, "The specified "path" did not yield an attribute
		// or attribute value that could be operated on").
		return BadRequest(ErrNoTarget, "no value of %q matches the filter in path %q", p.Attr.Name, p.String())
	}
	isMatch := func(i int) bool {
		for _, j := range matched {
			if i == j {
				return true
			}
		}
		return false
	}
	primary := -1 // the value that must stay the only primary one
	switch {
	case p.SubAttr == nil && (op.Op == "remove" || op.Value == nil):
		// A null value makes the matched values unassigned (RFC 7643 §2.5), as a remove.
		// RFC 7644 §3.5.2.2: "the matching records are removed".
		kept := list[:0:0]
		for i, item := range list {
			if !isMatch(i) {
				kept = append(kept, item)
			}
		}
		list = kept
	case p.SubAttr != nil:
		// RFC 7644 §3.5.2.3: "the matching sub-attribute of all matching records is
		// replaced"; remove unassigns it.
		if p.SubAttr.Mutability == ReadOnly {
			return BadRequest(ErrMutability, "attribute %q is readOnly and cannot be changed", where)
		}
		nv, err := subValue(p.SubAttr, op, where)
		if err != nil {
			return err
		}
		targets := make([]map[string]any, len(matched))
		for j, i := range matched {
			targets[j] = list[i].(map[string]any)
		}
		if err := checkSubMutability(p.SubAttr, targets, nv, where); err != nil {
			return err
		}
		for _, i := range matched {
			m := list[i].(map[string]any)
			if nv == nil {
				delete(m, p.SubAttr.Name)
			} else {
				m[p.SubAttr.Name] = nv
			}
		}
		if p.SubAttr.Name == "primary" && nv == true && len(matched) == 1 {
			// Several values made primary at once is an error, left to checkPrimaries.
			primary = matched[0]
		}
	case op.Op == "add":
		// Adding to a complex value sets the sub-attributes given (RFC 7644 §3.5.2.1: "If
		// the target location specifies a complex attribute, a set of sub-attributes SHALL
		// be specified in the "value" parameter").
		nv, err := normalizeSingle(a, op.Value, where)
		if err != nil {
			return err
		}
		obj, _ := nv.(map[string]any)
		if err := checkValueMutability(a, list, matched, obj, false, where); err != nil {
			return err
		}
		for _, i := range matched {
			m := list[i].(map[string]any)
			for k, x := range obj {
				m[k] = x
			}
		}
		if isPrimary(obj) && len(matched) == 1 {
			primary = matched[0]
		}
	default: // replace
		// RFC 7644 §3.5.2.3: "If the target location is a multi-valued attribute and a value
		// selection ("valuePath") filter is specified that matches one or more values of
		// the multi-valued attribute, then all matching record values SHALL be replaced."
		// The equality terms of the filter are kept when the new value leaves them out, so
		// that the value is still found where the client put it; several matched values
		// replaced by the same one become one.
		nv, err := normalizeSingle(a, op.Value, where)
		if err != nil {
			return err
		}
		obj, _ := nv.(map[string]any)
		repl := seedFromFilter(a, p.Filter)
		for k, x := range obj {
			repl[k] = x
		}
		if err := checkValueMutability(a, list, matched, repl, true, where); err != nil {
			return err
		}
		out := list[:0:0]
		for i, item := range list {
			switch {
			case i == matched[0]:
				out = append(out, repl)
				if isPrimary(repl) {
					primary = len(out) - 1
				}
			case !isMatch(i):
				out = append(out, item)
			}
		}
		list = out
	}
	if primary >= 0 {
		clearPrimary(list, primary)
	}
	setList(container, a.Name, list)
	return nil
}

// addThroughFilter is an add whose value filter matches nothing: it adds the value the
// filter describes. Microsoft Entra ID adds a first work e-mail as
// {"op":"Add","path":"emails[type eq \"work\"].value","value":"…"}. The new value must
// match the filter; if it does not (the filter is not made of equalities, or the value
// contradicts it) there is no target (RFC 7644 §3.12 noTarget).
func addThroughFilter(container map[string]any, a *Attribute, p *PatchPath, op PatchOperation, where string) error {
	m := seedFromFilter(a, p.Filter)
	if p.SubAttr != nil {
		if p.SubAttr.Mutability == ReadOnly {
			return BadRequest(ErrMutability, "attribute %q is readOnly and cannot be changed", where)
		}
		nv, err := subValue(p.SubAttr, op, where)
		if err != nil || nv == nil {
			return err
		}
		m[p.SubAttr.Name] = nv
	} else {
		nv, err := normalizeSingle(a, op.Value, where)
		if err != nil || nv == nil {
			return err
		}
		for k, x := range nv.(map[string]any) {
			m[k] = x
		}
	}
	v, err := normalizeSingle(a, m, where)
	if err != nil {
		return err
	}
	nm, _ := v.(map[string]any)
	if len(nm) == 0 || !MatchValue(p.Filter, nm) {
		return BadRequest(ErrNoTarget, "no value of %q matches the filter in path %q, and the value given would not match it", p.Attr.Name, p.String())
	}
	return addValues(container, a, []any{nm}, where)
}

// seedFromFilter builds the value that the equality terms of a value filter describe:
// {"type": "work"} for `type eq "work"`, both terms for `type eq "work" and primary eq
// true`. Terms under or/not say nothing certain and are left out.
func seedFromFilter(a *Attribute, f Filter) map[string]any {
	m := map[string]any{}
	var walk func(Filter)
	walk = func(f Filter) {
		switch t := f.(type) {
		case *AndFilter:
			walk(t.Left)
			walk(t.Right)
		case *CompareFilter:
			if t.Op != OpEq || t.Value == nil || t.Path.URN != "" || t.Path.Sub != "" {
				return
			}
			if sub := a.Sub(t.Path.Name); sub != nil && sub.Mutability != ReadOnly {
				if v, err := normalizeSingle(sub, t.Value, sub.Name); err == nil && v != nil && v != "" {
					m[sub.Name] = v
				}
			}
		}
	}
	walk(f)
	return m
}
