package scim

import "strings"

// Projection says which attributes a response carries (RFC 7644 §3.9 "attributes" and
// "excludedAttributes", with each attribute's "returned" characteristic of RFC 7643 §7).
type Projection struct {
	include map[string]bool // "userName", "name.givenName", "urn:…:User:department"
	exclude map[string]bool
}

// ParseProjection reads the comma-separated attribute lists. Names are resolved against
// the resource type and kept in canonical form; names that do not resolve are ignored
// (RFC 7644 §3.9 gives no error for them, and clients send lists written for other servers).
func ParseProjection(rt *ResourceType, attributes, excluded string) *Projection {
	p := &Projection{}
	p.include = parseAttrList(rt, attributes)
	p.exclude = parseAttrList(rt, excluded)
	return p
}

func parseAttrList(rt *ResourceType, list string) map[string]bool {
	if strings.TrimSpace(list) == "" {
		return nil
	}
	out := map[string]bool{}
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if i := strings.IndexByte(item, '['); i >= 0 {
			item = item[:i] // emails[type eq "work"] selects the attribute
		}
		// A whole extension, named by its URN. SplitURN would cut it at its last colon
		// ("…:2.0" and "User"), so it is recognised before splitting.
		if ext := rt.extensionByURN(item); ext != nil {
			out[ext.ID] = true
			continue
		}
		urn, rest := SplitURN(item)
		name, sub, _ := strings.Cut(rest, ".")
		ra := rt.FindAttr(urn, name)
		if ra == nil {
			continue
		}
		key := ra.Def.Name
		if ra.Schema != nil && ra.Schema != rt.Schema {
			key = ra.Schema.ID + ":" + key
		}
		if sub != "" {
			s := ra.Def.Sub(sub)
			if s == nil {
				continue
			}
			key += "." + s.Name
		}
		out[key] = true
	}
	return out
}

// Includes reports whether a top-level attribute (key as in ParseProjection: a core name or
// "urn:…:name") is returned, given its definition.
func (p *Projection) Includes(key string, def *Attribute) bool {
	if def != nil {
		switch def.Returned {
		case ReturnedAlways:
			return true
		case ReturnedNever:
			return false
		}
	}
	if p == nil {
		return def == nil || def.Returned != ReturnedRequest
	}
	if p.include != nil {
		if p.include[key] {
			return true
		}
		prefix := key + "."
		for k := range p.include {
			if strings.HasPrefix(k, prefix) {
				return true
			}
		}
		return false
	}
	if p.exclude[key] {
		return false
	}
	return def == nil || def.Returned != ReturnedRequest
}

// IncludesSub reports whether a sub-attribute of an included complex attribute is returned.
func (p *Projection) IncludesSub(key, sub string, def *Attribute) bool {
	if def != nil && def.Returned == ReturnedNever {
		return false
	}
	if p == nil {
		return true
	}
	full := key + "." + sub
	if p.include != nil {
		if p.include[key] || p.include[full] {
			return true
		}
		return false
	}
	return !p.exclude[full]
}

// Explicit reports whether the request named any attributes at all.
func (p *Projection) Explicit() bool {
	return p != nil && (p.include != nil || p.exclude != nil)
}

// Project filters a resource's attributes (as stored, canonical names) in place of a copy.
func (p *Projection) Project(rt *ResourceType, res Resource) Resource {
	out := Resource{}
	for k, v := range res {
		if ext := rt.extensionByURN(k); ext != nil {
			// RFC 7644 §3.9 lets attribute names be fully qualified URNs; excluding an
			// extension's URN excludes all of its attributes, as including it includes
			// them.
			if p != nil && p.include == nil && p.exclude[ext.ID] {
				continue
			}
			obj, _ := v.(map[string]any)
			sub := map[string]any{}
			for ak, av := range obj {
				def := ext.Attr(ak)
				key := ext.ID + ":" + ak
				if p.Includes(key, def) || (p != nil && p.include[ext.ID]) {
					sub[ak] = projectValue(p, key, def, av)
				}
			}
			if len(sub) > 0 {
				out[k] = sub
			}
			continue
		}
		ra := rt.FindAttr("", k)
		var def *Attribute
		if ra != nil {
			def = ra.Def
		}
		if p.Includes(k, def) {
			out[k] = projectValue(p, k, def, v)
		}
	}
	return out
}

func projectValue(p *Projection, key string, def *Attribute, v any) any {
	if def == nil || def.Type != TypeComplex {
		return v
	}
	filter := func(m map[string]any) map[string]any {
		o := map[string]any{}
		for sk, sv := range m {
			if p.IncludesSub(key, sk, def.Sub(sk)) {
				o[sk] = sv
			}
		}
		return o
	}
	switch t := v.(type) {
	case map[string]any:
		return filter(t)
	case []any:
		l := make([]any, 0, len(t))
		for _, x := range t {
			if m, ok := x.(map[string]any); ok {
				l = append(l, filter(m))
			} else {
				l = append(l, x)
			}
		}
		return l
	}
	return v
}
