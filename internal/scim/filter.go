package scim

// AttrPath names an attribute in a filter or PATCH path: an optional schema URN, the
// attribute name and an optional sub-attribute name (RFC 7644 §3.4.2.2 "attrPath").
// The parser fills URN, Name and Sub as written; Resolve fills Attr and SubAttr and
// rewrites the names to their canonical spelling from the schema.
type AttrPath struct {
	URN  string
	Name string
	Sub  string

	// Set by resolution against a ResourceType.
	Schema  *Schema    // nil for the common attributes id, externalId, meta
	Attr    *Attribute // the top-level attribute
	SubAttr *Attribute // the sub-attribute, when Sub != ""
}

// String renders the path as a client would write it.
func (p AttrPath) String() string {
	s := p.Name
	if p.URN != "" {
		s = p.URN + ":" + s
	}
	if p.Sub != "" {
		s += "." + p.Sub
	}
	return s
}

// Leaf is the definition the path finally designates (the sub-attribute if any).
func (p AttrPath) Leaf() *Attribute {
	if p.SubAttr != nil {
		return p.SubAttr
	}
	return p.Attr
}

// CompareOp is a filter comparison operator (RFC 7644 §3.4.2.2, Table 3).
type CompareOp string

const (
	OpEq CompareOp = "eq"
	OpNe CompareOp = "ne"
	OpCo CompareOp = "co"
	OpSw CompareOp = "sw"
	OpEw CompareOp = "ew"
	OpGt CompareOp = "gt"
	OpGe CompareOp = "ge"
	OpLt CompareOp = "lt"
	OpLe CompareOp = "le"
)

// Filter is a node of a parsed filter expression.
type Filter interface{ filterNode() }

// AndFilter matches when both sides match.
type AndFilter struct{ Left, Right Filter }

// OrFilter matches when either side matches.
type OrFilter struct{ Left, Right Filter }

// NotFilter matches when X does not.
type NotFilter struct{ X Filter }

// CompareFilter is `attrPath compareOp compValue`. Value is a string, bool, nil (for null)
// or a json.Number.
type CompareFilter struct {
	Path  AttrPath
	Op    CompareOp
	Value any
}

// PresentFilter is `attrPath pr`.
type PresentFilter struct{ Path AttrPath }

// ValuePathFilter is `attrPath "[" valFilter "]"`, e.g. emails[type eq "work"]: it matches
// when one value of the multi-valued attribute Path matches Filter, whose attribute paths
// are relative to that value (their Name is a sub-attribute name of Path.Attr).
type ValuePathFilter struct {
	Path   AttrPath
	Filter Filter
}

func (*AndFilter) filterNode()       {}
func (*OrFilter) filterNode()        {}
func (*NotFilter) filterNode()       {}
func (*CompareFilter) filterNode()   {}
func (*PresentFilter) filterNode()   {}
func (*ValuePathFilter) filterNode() {}
