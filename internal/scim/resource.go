package scim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Resource is a SCIM resource as a JSON object with canonical attribute names: core
// attributes at the top level, extension attributes in an object under their schema URN.
// The read-only common attributes (id, meta) and server-maintained attributes (a User's
// groups, a Group's members) are not part of it: the store keeps them apart.
type Resource map[string]any

// DecodeJSON parses a request body into a JSON object, keeping numbers exact.
func DecodeJSON(data []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, InvalidSyntax("request body is not valid JSON: %v", err)
	}
	if dec.More() {
		return nil, InvalidSyntax("request body has data after the JSON object")
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, InvalidSyntax("request body must be a JSON object")
	}
	return obj, nil
}

// NormalizeResource validates a client-supplied resource body against the resource type
// and returns it with canonical attribute names and values of the schema's types.
//
// Read-only attributes (id, meta, a User's groups) are ignored, not rejected: RFC 7644
// §3.5.1 says of PUT that "readOnly" attributes provided "SHALL be ignored", and clients
// such as Okta echo whatever a GET returned. Write-only attributes (password) are dropped:
// this service does not authenticate users and never keeps a password. Attributes that no
// schema of the resource type defines are ignored, since identity providers send attributes
// the application has not declared. serverManaged names attributes the caller handles
// itself (a Group's members); they are validated and returned in the second result.
//
// An attribute named twice (in different cases, or plain and schema-qualified) is refused
// with invalidSyntax: RFC 7643 §2.1 makes names case-insensitive, so the body is ambiguous.
func NormalizeResource(rt *ResourceType, body map[string]any, serverManaged ...string) (Resource, map[string]any, error) {
	if err := checkDuplicateKeys(body, "the resource"); err != nil {
		return nil, nil, err
	}
	out := Resource{}
	managed := map[string]any{}
	seen := map[string]string{}
	once := func(s *Schema, a *Attribute, key string) error {
		k := a.Name
		if s != nil {
			k = s.ID + ":" + a.Name
		}
		if other, dup := seen[k]; dup {
			return InvalidSyntax("the resource names attribute %q twice (as %q and %q)", a.Name, other, key)
		}
		seen[k] = key
		return nil
	}
	for key, raw := range body {
		switch {
		case strings.EqualFold(key, "schemas"):
			if err := checkSchemas(raw); err != nil {
				return nil, nil, err
			}
			continue
		case strings.EqualFold(key, "id"), strings.EqualFold(key, "meta"):
			continue
		}
		if ext := rt.extensionByURN(key); ext != nil {
			if raw == nil {
				continue
			}
			obj, ok := raw.(map[string]any)
			if !ok {
				return nil, nil, InvalidValue("%q must be a JSON object", key)
			}
			if err := checkDuplicateKeys(obj, fmt.Sprintf("%q", key)); err != nil {
				return nil, nil, err
			}
			extOut, _ := out[ext.ID].(map[string]any)
			if extOut == nil {
				extOut = map[string]any{}
			}
			for k, v := range obj {
				a := ext.Attr(k)
				if a == nil {
					continue
				}
				if err := once(ext, a, key+"."+k); err != nil {
					return nil, nil, err
				}
				if err := putNormalized(extOut, a, v, ext.ID+":"+a.Name); err != nil {
					return nil, nil, err
				}
			}
			if len(extOut) > 0 {
				out[ext.ID] = extOut
			}
			continue
		}
		urn, name := SplitURN(key)
		ra := rt.FindAttr(urn, name)
		if ra == nil {
			continue
		}
		if err := once(ra.Schema, ra.Def, key); err != nil {
			return nil, nil, err
		}
		if isOneOf(ra.Def.Name, serverManaged) {
			v, err := NormalizeValue(ra.Def, raw, ra.Def.Name)
			if err != nil {
				return nil, nil, err
			}
			managed[ra.Def.Name] = v
			continue
		}
		target := map[string]any(out)
		if ra.Schema != nil && ra.Schema != rt.Schema {
			ext, _ := out[ra.Schema.ID].(map[string]any)
			if ext == nil {
				ext = map[string]any{}
				out[ra.Schema.ID] = ext
			}
			target = ext
		}
		if err := putNormalized(target, ra.Def, raw, ra.Def.Name); err != nil {
			return nil, nil, err
		}
	}
	if err := CheckRequired(rt, out); err != nil {
		return nil, nil, err
	}
	if err := CheckLimits(out); err != nil {
		return nil, nil, err
	}
	return out, managed, nil
}

func isOneOf(name string, set []string) bool {
	for _, s := range set {
		if strings.EqualFold(s, name) {
			return true
		}
	}
	return false
}

// CheckRequired enforces required attributes (RFC 7643 §7 "required").
func CheckRequired(rt *ResourceType, res Resource) error {
	for _, a := range rt.Schema.Attributes {
		if !a.Required {
			continue
		}
		v, ok := res[a.Name]
		if !ok || v == nil || v == "" {
			return InvalidValue("attribute %q is required", a.Name)
		}
	}
	return checkExtensionsRequired(rt, res)
}

func checkSchemas(raw any) error {
	list, ok := raw.([]any)
	if !ok {
		return InvalidSyntax("\"schemas\" must be an array of schema URNs")
	}
	for _, s := range list {
		if _, ok := s.(string); !ok {
			return InvalidSyntax("\"schemas\" must be an array of schema URNs")
		}
	}
	return nil
}

func (rt *ResourceType) extensionByURN(urn string) *Schema {
	for _, e := range rt.Extensions {
		if strings.EqualFold(e.Schema.ID, urn) {
			return e.Schema
		}
	}
	return nil
}

// putNormalized stores the normalized value of a writable attribute into target, or
// removes the attribute when the value is null or empty (RFC 7643 §2.5: unassigned
// attributes, null and empty arrays are equivalent).
func putNormalized(target map[string]any, a *Attribute, raw any, where string) error {
	if a.Mutability == ReadOnly || a.Mutability == WriteOnly {
		return nil
	}
	v, err := NormalizeValue(a, raw, where)
	if err != nil {
		return err
	}
	if m, ok := v.(map[string]any); v == nil || (ok && len(m) == 0) {
		delete(target, a.Name)
		return nil
	}
	target[a.Name] = v
	return nil
}

// NormalizeValue checks a value against an attribute definition and returns it with
// canonical sub-attribute names and schema types; nil means unassigned. where names the
// attribute in error details.
func NormalizeValue(a *Attribute, raw any, where string) (any, error) {
	if raw == nil {
		return nil, nil
	}
	if a.MultiValued {
		list, ok := raw.([]any)
		if !ok {
			// A single value where an array is expected: some clients send one (e.g. a
			// member or a manager as a lone object); take it as a one-element list.
			list = []any{raw}
		}
		// Refused before the values are copied: a body of tiny objects costs far more
		// decoded than its size, and normalizing them would double that.
		if limit := valuesCap(a); len(list) > limit {
			return nil, InvalidValue("%q has %d values; at most %d are accepted", where, len(list), limit)
		}
		out := make([]any, 0, len(list))
		primaries := 0
		for i, item := range list {
			v, err := normalizeSingle(a, item, fmt.Sprintf("%s[%d]", where, i))
			if err != nil {
				return nil, err
			}
			if v == nil {
				continue
			}
			if m, ok := v.(map[string]any); ok {
				if len(m) == 0 {
					continue
				}
				if m["primary"] == true {
					primaries++
				}
			}
			out = append(out, v)
		}
		// RFC 7643 §2.4: "The primary attribute value "true" MUST appear no more than once."
		if primaries > 1 {
			return nil, InvalidValue("%s: more than one value is marked primary", where)
		}
		if len(out) == 0 {
			return nil, nil
		}
		return out, nil
	}
	if list, ok := raw.([]any); ok && a.Type == TypeComplex {
		// Microsoft Entra ID sends the enterprise manager as [{"value": …}].
		switch len(list) {
		case 0:
			return nil, nil
		case 1:
			raw = list[0]
		default:
			return nil, InvalidValue("%s is single-valued but got %d values", where, len(list))
		}
	}
	return normalizeSingle(a, raw, where)
}

func normalizeSingle(a *Attribute, raw any, where string) (any, error) {
	if raw == nil {
		return nil, nil
	}
	switch a.Type {
	case TypeComplex:
		obj, ok := raw.(map[string]any)
		if !ok {
			// A bare string for a complex attribute (Entra's manager "value" as a string, a
			// member id as a string) is its "value" sub-attribute. Only a string: a number
			// or boolean there (e.g. "emails": 5) is a wrong type, and RFC 7644 §3.12 makes
			// that 400 invalidValue rather than a value silently turned into "5".
			if vs := a.Sub("value"); vs != nil {
				if _, isStr := raw.(string); isStr {
					obj = map[string]any{"value": raw}
					ok = true
				}
			}
			if !ok {
				return nil, InvalidValue("%s must be a JSON object", where)
			}
		}
		if err := checkDuplicateKeys(obj, where); err != nil {
			return nil, err
		}
		out := map[string]any{}
		for k, v := range obj {
			sub := a.Sub(k)
			if sub == nil {
				continue
			}
			if sub.Mutability == ReadOnly || sub.Mutability == WriteOnly {
				// RFC 7644 §3.5.1: readOnly values provided "SHALL be ignored", for
				// sub-attributes too (the enterprise manager's displayName, RFC 7643 §4.3),
				// as for top-level attributes in putNormalized.
				continue
			}
			nv, err := normalizeSingle(sub, v, where+"."+sub.Name)
			if err != nil {
				return nil, err
			}
			if nv != nil && nv != "" {
				out[sub.Name] = nv
			}
		}
		return out, nil
	case TypeBoolean:
		switch v := raw.(type) {
		case bool:
			return v, nil
		case string:
			// Microsoft Entra ID sends "True"/"False" as strings (without aadOptscim062020).
			switch strings.ToLower(strings.TrimSpace(v)) {
			case "true":
				return true, nil
			case "false":
				return false, nil
			}
		}
		return nil, InvalidValue("%s must be a boolean, got %s", where, describe(raw))
	case TypeInteger:
		n, ok := raw.(json.Number)
		if ok {
			if _, err := n.Int64(); err == nil {
				return n, nil
			}
		}
		return nil, InvalidValue("%s must be an integer, got %s", where, describe(raw))
	case TypeDecimal:
		if n, ok := raw.(json.Number); ok {
			if _, err := n.Float64(); err == nil {
				return n, nil
			}
		}
		return nil, InvalidValue("%s must be a number, got %s", where, describe(raw))
	case TypeDateTime:
		s, ok := raw.(string)
		if ok {
			if _, err := time.Parse(time.RFC3339Nano, s); err == nil {
				return s, nil
			}
		}
		return nil, InvalidValue("%s must be an RFC 3339 date-time, got %s", where, describe(raw))
	default: // string, reference, binary
		// A number is not turned into a string: no identity provider documents sending one,
		// and a silent "5" for 5 hides a mapping error from the admin who made it.
		if v, ok := raw.(string); ok {
			return v, nil
		}
		return nil, InvalidValue("%s must be a string, got %s", where, describe(raw))
	}
}

func describe(v any) string {
	switch v.(type) {
	case string:
		return fmt.Sprintf("the string %q", v)
	case bool:
		return "a boolean"
	case json.Number, float64:
		return "a number"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

// Clone deep-copies a resource so that a failed change never alters the original.
func (r Resource) Clone() Resource {
	return cloneValue(map[string]any(r)).(map[string]any)
}

func cloneValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, x := range t {
			m[k] = cloneValue(x)
		}
		return m
	case Resource:
		return Resource(cloneValue(map[string]any(t)).(map[string]any))
	case []any:
		l := make([]any, len(t))
		for i, x := range t {
			l[i] = cloneValue(x)
		}
		return l
	}
	return v
}

// String returns a top-level string attribute, or "".
func (r Resource) String(name string) string {
	s, _ := r[name].(string)
	return s
}
