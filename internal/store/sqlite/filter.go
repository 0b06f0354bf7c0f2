package sqlite

import (
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/scimd/scimd/internal/scim"
	"github.com/scimd/scimd/internal/store"
)

// column is an attribute kept in its own (indexed) column rather than only in the JSON doc.
type column struct {
	expr string
	fold bool // the column holds store.Fold of the value
	time bool // the column holds Unix nanoseconds
	bool bool // the column holds 0 or 1
}

// relation is a multi-valued attribute kept in another table (a user's groups, a group's
// members); filters on it become an IN over that table so that they run from its index.
type relation struct {
	// in is "<outer key> IN (SELECT … WHERE m.tenant_id = ? AND " + condition + ")".
	prefix string
	subs   map[string]column
}

// resourceTable describes how one resource type is stored, for the filter compiler.
type resourceTable struct {
	alias     string
	columns   map[string]column   // by canonical path: "userName", "meta.created"
	relations map[string]relation // by canonical attribute name: "groups"
	// indexedEq are multi-valued sub-attributes with a lookup table for eq ("emails.value").
	indexedEq map[string]string // path -> "u.seq IN (SELECT … AND value_fold = ?)"
}

var usersTable = resourceTable{
	alias: "u",
	columns: map[string]column{
		"id":                {expr: "u.id"},
		"externalId":        {expr: "u.external_id"},
		"userName":          {expr: "u.user_name_fold", fold: true},
		"active":            {expr: "u.active", bool: true},
		"meta.created":      {expr: "u.created", time: true},
		"meta.lastModified": {expr: "u.modified", time: true},
	},
	relations: map[string]relation{
		"groups": {
			prefix: "u.seq IN (SELECT m.user_seq FROM group_members m JOIN groups r ON r.seq = m.group_seq WHERE m.tenant_id = u.tenant_id AND ",
			subs: map[string]column{
				"value":   {expr: "r.id"},
				"display": {expr: "r.display_name_fold", fold: true},
				"type":    {expr: "'direct'"},
			},
		},
	},
	indexedEq: map[string]string{
		"emails.value": "u.seq IN (SELECT e.user_seq FROM user_emails e WHERE e.tenant_id = u.tenant_id AND e.value_fold = ?)",
	},
}

var groupsTable = resourceTable{
	alias: "g",
	columns: map[string]column{
		"id":                {expr: "g.id"},
		"externalId":        {expr: "g.external_id"},
		"displayName":       {expr: "g.display_name_fold", fold: true},
		"meta.created":      {expr: "g.created", time: true},
		"meta.lastModified": {expr: "g.modified", time: true},
	},
	relations: map[string]relation{
		"members": {
			prefix: "g.seq IN (SELECT m.group_seq FROM group_members m JOIN users r ON r.seq = m.user_seq WHERE m.tenant_id = g.tenant_id AND ",
			subs: map[string]column{
				"value":   {expr: "r.id"},
				"display": {expr: "r.user_name_fold", fold: true},
				"type":    {expr: "'User'"},
			},
		},
	},
}

// compileFilter turns a resolved filter into a SQL condition with bound parameters. It
// never builds SQL from client text: attribute names come from the schema, values are
// parameters.
func compileFilter(t *resourceTable, rt *scim.ResourceType, f scim.Filter) (string, []any, error) {
	c := &compiler{t: t, rt: rt}
	sql, err := c.expr(f)
	return sql, c.args, err
}

type compiler struct {
	t    *resourceTable
	rt   *scim.ResourceType
	args []any
	// Inside a value path filter, paths name sub-attributes of one value: elem is the SQL
	// of that value (a json_each row), or rel the related table it lives in.
	elem string
	rel  *relation
}

func (c *compiler) arg(v any) string {
	c.args = append(c.args, v)
	return "?"
}

func (c *compiler) expr(f scim.Filter) (string, error) {
	switch f := f.(type) {
	case *scim.AndFilter:
		return c.binary(f.Left, f.Right, "AND")
	case *scim.OrFilter:
		return c.binary(f.Left, f.Right, "OR")
	case *scim.NotFilter:
		x, err := c.expr(f.X)
		if err != nil {
			return "", err
		}
		// IFNULL: a comparison with an absent attribute is NULL, and NOT NULL is NULL too.
		return "NOT IFNULL((" + x + "), 0)", nil
	case *scim.CompareFilter:
		return c.attr(f.Path, f.Op, f.Value, false)
	case *scim.PresentFilter:
		return c.attr(f.Path, "", nil, true)
	case *scim.ValuePathFilter:
		return c.valuePath(f)
	}
	return "", scim.InvalidFilter("unsupported filter node %T", f)
}

func (c *compiler) binary(l, r scim.Filter, op string) (string, error) {
	ls, err := c.expr(l)
	if err != nil {
		return "", err
	}
	rs, err := c.expr(r)
	if err != nil {
		return "", err
	}
	return "(" + ls + " " + op + " " + rs + ")", nil
}

func pathKey(p scim.AttrPath) string {
	if p.Sub != "" {
		return p.Name + "." + p.Sub
	}
	return p.Name
}

func (c *compiler) attr(p scim.AttrPath, op scim.CompareOp, value any, present bool) (string, error) {
	key := pathKey(p)
	if c.rel != nil {
		col, ok := c.rel.subs[p.Name]
		if !ok {
			return "", scim.InvalidFilter("filtering on %q inside a value path is not supported", p.Name)
		}
		return c.compare(col, op, value, present)
	}
	if c.elem != "" {
		if p.Attr == nil {
			return "", scim.InvalidFilter("unknown sub-attribute %q in value path", p.Name)
		}
		expr := "json_extract(" + c.elem + ", " + sqlString("$."+quoteKey(p.Attr.Name)) + ")"
		return c.compare(jsonColumn(expr, p.Attr), op, value, present)
	}
	if p.URN == "" {
		if strings.EqualFold(p.Name, "schemas") {
			return c.schemas(op, value, present)
		}
		if col, ok := c.t.columns[key]; ok {
			return c.compare(col, op, value, present)
		}
		if rel, ok := c.t.relations[p.Name]; ok {
			sub := p.Sub
			if sub == "" {
				sub = "value"
			}
			col, ok := rel.subs[sub]
			if !ok {
				return "", scim.InvalidFilter("filtering on %q is not supported", p.String())
			}
			cond, err := c.compare(col, op, value, present)
			if err != nil {
				return "", err
			}
			return rel.prefix + cond + ")", nil
		}
		if lookup, ok := c.t.indexedEq[key]; ok && op == scim.OpEq {
			if s, ok := value.(string); ok {
				c.arg(store.Fold(s))
				return lookup, nil
			}
		}
	}
	if p.Attr == nil {
		return "", scim.InvalidFilter("unknown attribute %q in filter", p.String())
	}
	doc := c.t.alias + ".doc"
	base := jsonPath(p)
	if p.Attr.MultiValued {
		if p.SubAttr == nil && p.Attr.Type == scim.TypeComplex {
			return "", scim.InvalidFilter("filter on %q needs a sub-attribute", p.String())
		}
		inner := "j.value"
		leaf := p.Attr
		if p.SubAttr != nil {
			inner = "json_extract(j.value, " + sqlString("$."+quoteKey(p.SubAttr.Name)) + ")"
			leaf = p.SubAttr
		}
		cond, err := c.compare(jsonColumn(inner, leaf), op, value, present)
		if err != nil {
			return "", err
		}
		return "EXISTS (SELECT 1 FROM json_each(" + doc + ", " + sqlString(base) + ") j WHERE " + cond + ")", nil
	}
	leaf := p.Leaf()
	full := base
	if p.SubAttr != nil {
		full += "." + quoteKey(p.SubAttr.Name)
	}
	expr := "json_extract(" + doc + ", " + sqlString(full) + ")"
	return c.compare(jsonColumn(expr, leaf), op, value, present)
}

// sqlString quotes a JSON path for SQL. Paths are built from attribute names of the
// schema, never from client text, but quoting keeps that true for any configured name.
func sqlString(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

func jsonColumn(expr string, leaf *scim.Attribute) column {
	col := column{expr: expr}
	switch leaf.Type {
	case scim.TypeBoolean:
		col.bool = true
	case scim.TypeString, scim.TypeReference:
		if !leaf.CaseExact {
			col.expr = "scim_fold(" + expr + ")"
			col.fold = true
		}
	}
	return col
}

// jsonPath is the SQLite JSON path of an attribute's top level inside the doc.
func jsonPath(p scim.AttrPath) string {
	if p.Schema != nil && p.URN != "" && !strings.EqualFold(p.URN, scim.UserSchema) && !strings.EqualFold(p.URN, scim.GroupSchema) {
		return "$." + quoteKey(p.URN) + "." + quoteKey(p.Attr.Name)
	}
	return "$." + quoteKey(p.Attr.Name)
}

func quoteKey(k string) string {
	return `"` + strings.ReplaceAll(k, `"`, `\"`) + `"`
}

func (c *compiler) schemas(op scim.CompareOp, value any, present bool) (string, error) {
	if present {
		return "1", nil
	}
	s, _ := value.(string)
	has := "0"
	if strings.EqualFold(s, c.rt.Schema.ID) {
		has = "1"
	}
	for _, e := range c.rt.Extensions {
		if strings.EqualFold(s, e.Schema.ID) {
			has = "(json_extract(" + c.t.alias + ".doc, " + sqlString("$."+quoteKey(e.Schema.ID)) + ") IS NOT NULL)"
		}
	}
	switch op {
	case scim.OpEq:
		return has, nil
	case scim.OpNe:
		return "NOT " + has, nil
	}
	return "", scim.InvalidFilter("only eq, ne and pr are supported on \"schemas\"")
}

func (c *compiler) compare(col column, op scim.CompareOp, value any, present bool) (string, error) {
	if present {
		return col.expr + " IS NOT NULL", nil
	}
	if value == nil {
		switch op {
		case scim.OpEq:
			return col.expr + " IS NULL", nil
		case scim.OpNe:
			return col.expr + " IS NOT NULL", nil
		}
		return "", scim.InvalidFilter("null can only be compared with eq or ne")
	}
	v, err := c.sqlValue(col, value)
	if err != nil {
		return "", err
	}
	switch op {
	case scim.OpEq:
		return col.expr + " = " + c.arg(v), nil
	case scim.OpNe:
		// An absent attribute is "not equal" to any value.
		return "(" + col.expr + " IS NULL OR " + col.expr + " <> " + c.arg(v) + ")", nil
	case scim.OpGt:
		return col.expr + " > " + c.arg(v), nil
	case scim.OpGe:
		return col.expr + " >= " + c.arg(v), nil
	case scim.OpLt:
		return col.expr + " < " + c.arg(v), nil
	case scim.OpLe:
		return col.expr + " <= " + c.arg(v), nil
	}
	s, ok := v.(string)
	if !ok {
		return "", scim.InvalidFilter("operator %q needs a string value", op)
	}
	switch op {
	case scim.OpSw:
		// A range keeps "starts with" on an index.
		return "(" + col.expr + " >= " + c.arg(s) + " AND " + col.expr + " < " + c.arg(s+string(utf8.MaxRune)) + ")", nil
	case scim.OpCo:
		return "instr(" + col.expr + ", " + c.arg(s) + ") > 0", nil
	case scim.OpEw:
		return "substr(" + col.expr + ", -" + c.arg(utf8.RuneCountInString(s)) + ") = " + c.arg(s), nil
	}
	return "", scim.InvalidFilter("unsupported operator %q", op)
}

func (c *compiler) sqlValue(col column, value any) (any, error) {
	switch {
	case col.time:
		s, ok := value.(string)
		if !ok {
			return nil, scim.InvalidFilter("a dateTime must be compared with an RFC 3339 string")
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return nil, scim.InvalidFilter("%q is not an RFC 3339 date-time", s)
		}
		return t.UnixNano(), nil
	case col.bool:
		b, ok := value.(bool)
		if !ok {
			return nil, scim.InvalidFilter("a boolean attribute must be compared with true or false")
		}
		if b {
			return 1, nil
		}
		return 0, nil
	}
	switch v := value.(type) {
	case string:
		if col.fold {
			return store.Fold(v), nil
		}
		return v, nil
	case json.Number:
		if i, err := v.Int64(); err == nil {
			return i, nil
		}
		f, err := v.Float64()
		if err != nil {
			return nil, scim.InvalidFilter("%q is not a number", v)
		}
		return f, nil
	case bool:
		if v {
			return 1, nil
		}
		return 0, nil
	}
	return nil, scim.InvalidFilter("unsupported comparison value %v", value)
}

func (c *compiler) valuePath(f *scim.ValuePathFilter) (string, error) {
	if c.elem != "" || c.rel != nil {
		return "", scim.InvalidFilter("value paths cannot be nested")
	}
	p := f.Path
	if p.URN == "" {
		if rel, ok := c.t.relations[p.Name]; ok {
			c.rel = &rel
			cond, err := c.expr(f.Filter)
			c.rel = nil
			if err != nil {
				return "", err
			}
			return rel.prefix + cond + ")", nil
		}
	}
	if p.Attr == nil || !p.Attr.MultiValued || p.Attr.Type != scim.TypeComplex {
		return "", scim.InvalidFilter("%q is not a multi-valued complex attribute", p.String())
	}
	c.elem = "j.value"
	cond, err := c.expr(f.Filter)
	c.elem = ""
	if err != nil {
		return "", err
	}
	return "EXISTS (SELECT 1 FROM json_each(" + c.t.alias + ".doc, " + sqlString(jsonPath(p)) + ") j WHERE " + cond + ")", nil
}
