package scim

import "strings"

// ParseSortBy resolves a sortBy parameter (RFC 7644 §3.4.2.3): "The "sortBy" parameter
// MUST be in standard attribute notation form" — an attribute or sub-attribute, optionally
// schema-qualified. Complex attributes are sorted by a sub-attribute ("If the attribute is
// complex, the attribute name must be a path to a sub-attribute in standard attribute
// notation"), multi-valued ones by their primary (or first) value, which the store picks.
func ParseSortBy(rt *ResourceType, raw string) (*AttrPath, error) {
	raw = strings.TrimSpace(raw)
	urn, rest := SplitURN(raw)
	name, sub, _ := strings.Cut(rest, ".")
	if name == "" || strings.ContainsAny(rest, " []()\"") {
		return nil, InvalidValue("sortBy %q is not an attribute path", raw)
	}
	ra := rt.FindAttr(urn, name)
	if ra == nil {
		return nil, InvalidValue("unknown sortBy attribute %q", raw)
	}
	p := &AttrPath{Name: ra.Def.Name, Schema: ra.Schema, Attr: ra.Def}
	if ra.Schema != nil && ra.Schema != rt.Schema {
		p.URN = ra.Schema.ID
	}
	if sub != "" {
		s := ra.Def.Sub(sub)
		if s == nil || strings.Contains(sub, ".") {
			return nil, InvalidValue("unknown sortBy attribute %q", raw)
		}
		p.Sub, p.SubAttr = s.Name, s
	} else if ra.Def.Type == TypeComplex && !ra.Def.MultiValued {
		return nil, InvalidValue("sortBy %q names a complex attribute: name one of its sub-attributes", raw)
	}
	if ra.Def.Returned == ReturnedNever {
		return nil, InvalidValue("cannot sort by %q: it is never returned", raw)
	}
	return p, nil
}
