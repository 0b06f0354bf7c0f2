package sqlstore

import (
	"encoding/json"
	"math"
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
}

// relation is a multi-valued attribute kept in another table (a user's groups, a group's
// members); a filter on it becomes an IN over that table, so that it runs from its index.
type relation struct {
	// prefix is "<key> IN (SELECT … WHERE m.tenant_id = ? AND r.tenant_id = ? AND " and
	// is followed by a condition and ")". The tenant is a parameter, not a correlation
	// with the outer row: a correlated subquery is run per outer row, while this one is a
	// semi-join that starts from the related table's index.
	prefix string
	subs   map[string]column
}

// relSub finds the column of a related value's sub-attribute. "$ref" is published (e.g.
// groups.$ref) but not stored: it is the related resource's URL, built from the request's
// base URL, and present exactly when the value is, so "pr" on it is answered from the id;
// comparing it with a value is not supported.
func (r relation) relSub(name string, present bool) (column, bool) {
	if name == "$ref" && present {
		col, ok := r.subs["value"]
		return col, ok
	}
	col, ok := r.subs[name]
	return col, ok
}

// resourceTable describes how one resource type is stored, for the filter compiler.
type resourceTable struct {
	alias     string
	from      string              // " FROM users u"
	columns   map[string]column   // by canonical path: "userName", "meta.created"
	relations map[string]relation // by canonical attribute name: "groups"
	// indexedEq are sub-attributes of multi-valued attributes with a lookup table for eq.
	indexedEq map[string]string // path -> "u.seq IN (SELECT … tenant_id = ? AND value_fold = ?)"
}

var usersTable = resourceTable{
	alias: "u",
	from:  " FROM users u",
	columns: map[string]column{
		"id":                {expr: "u.id"},
		"externalId":        {expr: "u.external_id"},
		"userName":          {expr: "u.user_name_fold", fold: true},
		"active":            {expr: "u.active"},
		"meta.created":      {expr: "u.created", time: true},
		"meta.lastModified": {expr: "u.modified", time: true},
	},
	relations: map[string]relation{
		"groups": {
			prefix: "u.seq IN (SELECT m.user_seq FROM group_members m JOIN groups r ON r.seq = m.group_seq WHERE m.tenant_id = ? AND r.tenant_id = ? AND ",
			subs: map[string]column{
				"value":   {expr: "r.id"},
				"display": {expr: "r.display_name_fold", fold: true},
				"type":    {expr: "'direct'"},
			},
		},
	},
	indexedEq: map[string]string{
		"emails.value": "u.seq IN (SELECT e.user_seq FROM user_emails e WHERE e.tenant_id = ? AND e.value_fold = ?)",
	},
}

var groupsTable = resourceTable{
	alias: "g",
	from:  " FROM groups g",
	columns: map[string]column{
		"id":                {expr: "g.id"},
		"externalId":        {expr: "g.external_id"},
		"displayName":       {expr: "g.display_name_fold", fold: true},
		"meta.created":      {expr: "g.created", time: true},
		"meta.lastModified": {expr: "g.modified", time: true},
	},
	relations: map[string]relation{
		"members": {
			prefix: "g.seq IN (SELECT m.group_seq FROM group_members m JOIN users r ON r.seq = m.user_seq WHERE m.tenant_id = ? AND r.tenant_id = ? AND ",
			subs: map[string]column{
				"value":   {expr: "r.id"},
				"display": {expr: "r.user_name_fold", fold: true},
				"type":    {expr: "'User'"},
			},
		},
	},
}

// compileFilter turns a resolved filter into a SQL condition with bound parameters. Values
// are always parameters; the only names in the SQL come from the schema definitions.
func compileFilter(d Dialect, t *resourceTable, rt *scim.ResourceType, tenantID string, f scim.Filter) (string, []any, error) {
	c := &compiler{d: d, t: t, rt: rt, tenantID: tenantID}
	sql, err := c.expr(f)
	return sql, c.args, err
}

type compiler struct {
	d        Dialect
	tenantID string
	t        *resourceTable
	rt       *scim.ResourceType
	args     []any
	// Inside a value path filter, paths name sub-attributes of one value: elem is the SQL
	// of that value (a JSON array element), or rel the related table it lives in.
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
		// COALESCE: a comparison with an absent attribute is NULL, and NOT NULL is NULL too.
		return "NOT COALESCE((" + x + "), FALSE)", nil
	case *scim.CompareFilter:
		if f.Op == scim.OpNe && f.Value != nil {
			// "ne" is "not eq" (as in the reference evaluator): on a multi-valued attribute it
			// holds when no value is equal, and an absent attribute is not equal.
			eq, err := c.attr(f.Path, scim.OpEq, f.Value, false)
			if err != nil {
				return "", err
			}
			return "NOT COALESCE((" + eq + "), FALSE)", nil
		}
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

// docPath is where an attribute lives inside the stored JSON document.
func docPath(p scim.AttrPath) []string {
	if p.URN != "" && p.Schema != nil {
		return []string{p.Schema.ID, p.Attr.Name}
	}
	return []string{p.Attr.Name}
}

func (c *compiler) attr(p scim.AttrPath, op scim.CompareOp, value any, present bool) (string, error) {
	if c.rel != nil {
		col, ok := c.rel.relSub(p.Name, present)
		if !ok {
			return "", scim.InvalidFilter("filtering on %q inside a value path is not supported", p.Name)
		}
		return c.compare(col, op, value, present)
	}
	if c.elem != "" {
		if p.Attr == nil {
			return "", scim.InvalidFilter("unknown sub-attribute %q in value path", p.Name)
		}
		return c.compare(c.jsonColumn(c.elem, []string{p.Attr.Name}, p.Attr), op, value, present)
	}
	key := pathKey(p)
	if p.URN == "" {
		if scim.IsSchemasAttr(p.Attr) {
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
			col, ok := rel.relSub(sub, present)
			if !ok {
				return "", scim.InvalidFilter("filtering on %q is not supported", p.String())
			}
			c.arg(c.tenantID)
			c.arg(c.tenantID)
			cond, err := c.compare(col, op, value, present)
			if err != nil {
				return "", err
			}
			return rel.prefix + cond + ")", nil
		}
		if lookup, ok := c.t.indexedEq[key]; ok && op == scim.OpEq {
			if s, ok := value.(string); ok {
				c.arg(c.tenantID)
				c.arg(store.Fold(s))
				return lookup, nil
			}
		}
	}
	if p.Attr == nil {
		return "", scim.InvalidFilter("unknown attribute %q in filter", p.String())
	}
	doc := c.t.alias + ".doc"
	if p.Attr.MultiValued {
		if p.SubAttr == nil && p.Attr.Type == scim.TypeComplex {
			if present {
				// RFC 7644 §3.4.2.2 "pr": "If the attribute has a non-empty value, or if it
				// contains a non-empty node for complex attributes, there is a match."
				// Empty values and lists are never stored, so any element is a match.
				return "EXISTS (SELECT 1 FROM " + c.d.JSONElements(doc, docPath(p)) + ")", nil
			}
			return "", scim.InvalidFilter("filter on %q needs a sub-attribute", p.String())
		}
		var col column
		if p.SubAttr != nil {
			col = c.jsonColumn("j.value", []string{p.SubAttr.Name}, p.SubAttr)
		} else {
			col = c.jsonColumn("j.value", nil, p.Attr)
		}
		cond, err := c.compare(col, op, value, present)
		if err != nil {
			return "", err
		}
		return "EXISTS (SELECT 1 FROM " + c.d.JSONElements(doc, docPath(p)) + " WHERE " + cond + ")", nil
	}
	path := docPath(p)
	if p.SubAttr != nil {
		path = append(path, p.SubAttr.Name)
	}
	return c.compare(c.jsonColumn(doc, path, p.Leaf()), op, value, present)
}

// jsonColumn is the comparable expression of an attribute inside a JSON value.
func (c *compiler) jsonColumn(doc string, path []string, leaf *scim.Attribute) column {
	col := column{expr: c.d.JSONValue(doc, path, leaf.Type)}
	if (leaf.Type == scim.TypeString || leaf.Type == scim.TypeReference) && !leaf.CaseExact {
		col.expr = c.d.Fold(col.expr)
		col.fold = true
	}
	return col
}

func (c *compiler) schemas(op scim.CompareOp, value any, present bool) (string, error) {
	if present {
		return "TRUE", nil
	}
	s, _ := value.(string)
	has := "FALSE"
	if strings.EqualFold(s, c.rt.Schema.ID) {
		has = "TRUE"
	}
	for _, e := range c.rt.Extensions {
		if strings.EqualFold(s, e.Schema.ID) {
			has = "(" + c.d.JSONValue(c.t.alias+".doc", []string{e.Schema.ID}, scim.TypeComplex) + " IS NOT NULL)"
		}
	}
	if op == scim.OpEq {
		return has, nil
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
	v, err := sqlValue(col, value)
	if err != nil {
		return "", err
	}
	switch op {
	case scim.OpEq:
		return col.expr + " = " + c.arg(v), nil
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
		// A range keeps "starts with" on an index (text compares bytewise in both backends).
		c.arg(s)
		c.arg(s + string(utf8.MaxRune))
		return "(" + col.expr + " >= ? AND " + col.expr + " < ?)", nil
	case scim.OpCo:
		c.arg(s)
		return c.d.Contains(col.expr), nil
	case scim.OpEw:
		if s == "" {
			return col.expr + " IS NOT NULL", nil
		}
		c.arg(s)
		c.arg(s)
		return c.d.EndsWith(col.expr), nil
	}
	return "", scim.InvalidFilter("unsupported operator %q", op)
}

// The times whose Unix nanoseconds fit an int64.
var (
	minNanoTime = time.Unix(0, math.MinInt64)
	maxNanoTime = time.Unix(0, math.MaxInt64)
)

func sqlValue(col column, value any) (any, error) {
	if col.time {
		s, ok := value.(string)
		if !ok {
			return nil, scim.InvalidFilter("a dateTime must be compared with an RFC 3339 string")
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return nil, scim.InvalidFilter("%q is not an RFC 3339 date-time", s)
		}
		// UnixNano is undefined outside 1678–2262 (it wraps, so "gt 2999-…" matched
		// everything): clamp to the ends of the column's range, which no stored time
		// reaches, so that comparisons with far dates keep their meaning.
		switch {
		case t.After(maxNanoTime):
			return int64(math.MaxInt64), nil
		case t.Before(minNanoTime):
			return int64(math.MinInt64), nil
		}
		return t.UnixNano(), nil
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
		return v, nil
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
			c.arg(c.tenantID)
			c.arg(c.tenantID)
			c.rel = &rel
			cond, err := c.expr(f.Filter)
			c.rel = nil
			if err != nil {
				return "", err
			}
			return rel.prefix + cond + ")", nil
		}
	}
	if p.Attr == nil || p.Attr.Type != scim.TypeComplex {
		return "", scim.InvalidFilter("%q is not a complex attribute", p.String())
	}
	if !p.Attr.MultiValued {
		// manager[value pr]: the filter applies to the one value.
		c.elem = c.d.JSONValue(c.t.alias+".doc", docPath(p), scim.TypeComplex)
		cond, err := c.expr(f.Filter)
		c.elem = ""
		return cond, err
	}
	c.elem = "j.value"
	cond, err := c.expr(f.Filter)
	c.elem = ""
	if err != nil {
		return "", err
	}
	return "EXISTS (SELECT 1 FROM " + c.d.JSONElements(c.t.alias+".doc", docPath(p)) + " WHERE " + cond + ")", nil
}
