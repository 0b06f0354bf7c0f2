package sqlstore

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/scimd/scimd/internal/scim"
	"github.com/scimd/scimd/internal/store"
)

// The filter compiler turns a resolved filter (RFC 7644 §3.4.2.2) into one SQL condition
// with bound parameters, so that the database does the filtering: no filter loads rows
// to test them in Go. Its semantics are those of scim.MatchFilter, applied to a resource
// as the server returns it (with id, meta, schemas, "active" and a user's groups), and a
// property test holds the two to the same answers on every backend. In short:
//
//   - A comparison with an absent attribute is false, so "ne" is compiled as the negation
//     of "eq" and "not" as a negation that treats SQL's NULL as false.
//   - "pr" is true for a value that is not null and not "" (RFC 7644 §3.4.2.2: "If the
//     attribute has a non-empty value … there is a match"); "eq null" is its negation and
//     "ne null" is "pr".
//   - Strings compare case-insensitively, through store.Fold on both sides, unless the
//     attribute is caseExact (scim.FilterCaseExact), and order by their UTF-8 bytes.
//
// Values are always parameters; the only names in the SQL come from the schema definitions.

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
	version   string              // the column meta.version is rendered from
	relations map[string]relation // by canonical attribute name: "groups"
	// indexedEq are sub-attributes of multi-valued attributes with a lookup table for eq.
	indexedEq map[string]string // path -> "u.seq IN (SELECT … tenant_id = ? AND value_fold = ?)"
}

// Related resources are matched by id. The value sub-attributes that hold ids (groups.value,
// members.value) are caseExact false in RFC 7643 §8.7.1, but ids are lower-case hex
// (store.NewID), so an id column is its own store.Fold and compares with folded operands
// while keeping its index.
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
	version: "u.version",
	relations: map[string]relation{
		"groups": {
			prefix: "u.seq IN (SELECT m.user_seq FROM group_members m JOIN groups r ON r.seq = m.group_seq WHERE m.tenant_id = ? AND r.tenant_id = ? AND ",
			subs: map[string]column{
				"value":   {expr: "r.id", fold: true},
				"display": {expr: "r.display_name_fold", fold: true},
				"type":    {expr: "'direct'", fold: true},
			},
		},
		// The roles a user holds are derived (docs/roles.md), so a filter on them reads
		// the derived roles, not what an identity provider may have assigned.
		"roles": {
			prefix: "u.seq IN (SELECT r.user_seq FROM user_roles r WHERE r.tenant_id = ? AND r.tenant_id = ? AND ",
			subs: map[string]column{
				"value": {expr: "r.role_fold", fold: true},
				// Rendered roles carry none of these: no role matches a filter on them.
				"display": {expr: "CAST(NULL AS TEXT)", fold: true},
				"type":    {expr: "CAST(NULL AS TEXT)", fold: true},
				"primary": {expr: "CAST(NULL AS BOOLEAN)"},
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
	version: "g.version",
	relations: map[string]relation{
		"members": {
			prefix: "g.seq IN (SELECT m.group_seq FROM group_members m JOIN users r ON r.seq = m.user_seq WHERE m.tenant_id = ? AND r.tenant_id = ? AND ",
			subs: map[string]column{
				"value":   {expr: "r.id", fold: true},
				"display": {expr: "r.user_name_fold", fold: true},
				// Rendered as "User"; the constant is its fold, since type is caseExact false.
				"type": {expr: "'user'", fold: true},
			},
		},
	},
}

// compileFilter turns a resolved filter into a SQL condition with bound parameters.
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
	// of that value (a JSON value), rel the related table it lives in, or meta says that
	// it is the resource's meta, whose sub-attributes have columns.
	elem string
	rel  *relation
	meta *scim.AttrPath
}

func (c *compiler) arg(v any) string {
	c.args = append(c.args, v)
	return "?"
}

// not negates a condition; COALESCE because a comparison with an absent attribute is
// NULL, and NOT NULL is NULL too, where the filter means true.
func not(cond string) string {
	return "NOT COALESCE((" + cond + "), FALSE)"
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
		return not(x), nil
	case *scim.CompareFilter:
		if f.Value == nil {
			// RFC 7643 §2.5: null and unassigned are one state, so "eq null" is "not pr"
			// and "ne null" is "pr", on multi-valued attributes too (`emails.value eq null`:
			// no e-mail has a value).
			pr, err := c.attr(f.Path, "", nil, true)
			if err != nil {
				return "", err
			}
			switch f.Op {
			case scim.OpEq:
				return not(pr), nil
			case scim.OpNe:
				return pr, nil
			}
			return "", scim.InvalidFilter("%s %s null: null can only be compared with eq or ne", f.Path.String(), f.Op)
		}
		if f.Op == scim.OpNe {
			// "ne" is "not eq": on a multi-valued attribute it holds when no value is equal,
			// and an absent attribute is not equal.
			eq, err := c.attr(f.Path, scim.OpEq, f.Value, false)
			if err != nil {
				return "", err
			}
			return not(eq), nil
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

// attr compiles one comparison (op and value) or presence test (present) of a path. It
// never sees "ne" or null, which expr turns into negations and presence tests.
func (c *compiler) attr(p scim.AttrPath, op scim.CompareOp, value any, present bool) (string, error) {
	if c.rel != nil {
		col, ok := c.rel.relSub(p.Name, present)
		if !ok {
			return "", unsupportedRef(p.Name)
		}
		return c.compare(col, op, value, present)
	}
	if c.meta != nil {
		// meta[lastModified gt "…"] is meta.lastModified gt "…".
		m := *c.meta
		m.Sub, m.SubAttr = p.Name, p.Attr
		p = m
	} else if c.elem != "" {
		if p.Attr == nil {
			return "", scim.InvalidFilter("unknown sub-attribute %q in value path", p.Name)
		}
		return c.compare(c.jsonColumn(c.elem, []string{p.Attr.Name}, p.Attr), op, value, present)
	}
	key := pathKey(p)
	if p.URN == "" {
		if scim.IsSchemasAttr(p.Attr) {
			return c.schemas(p, op, value, present)
		}
		if p.Name == "meta" && p.Schema == nil {
			return c.metaAttr(p, op, value, present)
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
				return "", unsupportedRef(p.String())
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
	if p.SubAttr == nil && p.Attr.Type == scim.TypeComplex {
		if !present {
			return "", scim.InvalidFilter("filter on %q needs a sub-attribute", p.String())
		}
		return c.complexPresent(doc, path, p.Attr), nil
	}
	if p.SubAttr != nil {
		path = append(path, p.SubAttr.Name)
	}
	return c.compare(c.jsonColumn(doc, path, p.Leaf()), op, value, present)
}

func unsupportedRef(path string) error {
	return scim.InvalidFilter("%q can only be tested with pr: it is a URL the server builds from the value, so compare the value instead", path)
}

// complexPresent is "pr" of a single-valued complex attribute in a JSON document: true
// when one of its sub-attributes has a value (an object without any, "name": {}, is empty).
func (c *compiler) complexPresent(doc string, path []string, a *scim.Attribute) string {
	var conds []string
	for _, s := range a.SubAttributes {
		col := c.jsonColumn(doc, append(path[:len(path):len(path)], s.Name), s)
		conds = append(conds, col.expr+" IS NOT NULL")
	}
	if len(conds) == 0 {
		return "FALSE"
	}
	return "(" + strings.Join(conds, " OR ") + ")"
}

// jsonColumn is the comparable expression of an attribute inside a JSON value. A string
// "" becomes NULL: it is no value (see scim.MatchFilter).
func (c *compiler) jsonColumn(doc string, path []string, leaf *scim.Attribute) column {
	col := column{expr: c.d.JSONValue(doc, path, leaf.Type)}
	switch leaf.Type {
	case scim.TypeString, scim.TypeReference, scim.TypeBinary:
		col.expr = "NULLIF(" + col.expr + ", '')"
		if !scim.FilterCaseExact(leaf) {
			col.expr = c.d.Fold(col.expr)
			col.fold = true
		}
	}
	return col
}

// constant decides a comparison of a value the server supplies (a schema URN, the
// resource type) when the filter is compiled, with the reference evaluator.
func constant(p scim.AttrPath, op scim.CompareOp, value any, res map[string]any) string {
	if scim.MatchFilter(&scim.CompareFilter{Path: p, Op: op, Value: value}, res) {
		return "TRUE"
	}
	return "FALSE"
}

// schemas compiles a comparison with the "schemas" list the server returns: the core
// schema's URN, and each extension's that the resource has attributes of.
func (c *compiler) schemas(p scim.AttrPath, op scim.CompareOp, value any, present bool) (string, error) {
	if present {
		return "TRUE", nil
	}
	one := func(urn string) string {
		return constant(p, op, value, map[string]any{p.Name: []any{urn}})
	}
	if one(c.rt.Schema.ID) == "TRUE" {
		return "TRUE", nil
	}
	var conds []string
	for _, e := range c.rt.Extensions {
		if one(e.Schema.ID) == "TRUE" {
			conds = append(conds, c.d.JSONValue(c.t.alias+".doc", []string{e.Schema.ID}, scim.TypeComplex)+" IS NOT NULL")
		}
	}
	if len(conds) == 0 {
		return "FALSE", nil
	}
	return "(" + strings.Join(conds, " OR ") + ")", nil
}

// metaAttr compiles a filter on meta (RFC 7643 §3.1), which the server maintains outside
// the document: created and lastModified have columns, resourceType is fixed, version is
// the ETag of the version column, and location is built from the request's base URL.
func (c *compiler) metaAttr(p scim.AttrPath, op scim.CompareOp, value any, present bool) (string, error) {
	if present {
		// Every returned resource has every meta sub-attribute.
		return "TRUE", nil
	}
	switch p.Sub {
	case "created", "lastModified":
		return c.compare(c.t.columns[pathKey(p)], op, value, false)
	case "resourceType":
		return constant(p, op, value, map[string]any{"meta": map[string]any{"resourceType": c.rt.ID}}), nil
	case "version":
		if op != scim.OpEq {
			return "", scim.InvalidFilter("meta.version can only be compared with eq, ne or pr")
		}
		s, _ := value.(string)
		// An entity tag as the server writes it: W/"<version>" (caseExact, so exactly).
		digits, ok := strings.CutPrefix(s, `W/"`)
		digits, ok2 := strings.CutSuffix(digits, `"`)
		n, err := strconv.ParseInt(digits, 10, 64)
		if !ok || !ok2 || err != nil || strconv.FormatInt(n, 10) != digits {
			return "FALSE", nil
		}
		return c.t.version + " = " + c.arg(n), nil
	case "location":
		return "", scim.InvalidFilter("meta.location can only be tested with pr: it is built from the request's URL, so compare id instead")
	}
	return "", scim.InvalidFilter("unknown attribute %q in filter", p.String())
}

func (c *compiler) compare(col column, op scim.CompareOp, value any, present bool) (string, error) {
	if present {
		return col.expr + " IS NOT NULL", nil
	}
	if value == nil {
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
		t, err := scim.ParseDateTime(s)
		if err != nil {
			return nil, scim.InvalidFilter("%v", err)
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
	if c.elem != "" || c.rel != nil || c.meta != nil {
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
		if p.Name == "meta" && p.Schema == nil {
			// meta is always there, so its value path is its filter on meta's columns.
			c.meta = &p
			cond, err := c.expr(f.Filter)
			c.meta = nil
			return cond, err
		}
	}
	if p.Attr == nil || p.Attr.Type != scim.TypeComplex {
		return "", scim.InvalidFilter("%q is not a complex attribute", p.String())
	}
	doc := c.t.alias + ".doc"
	if !p.Attr.MultiValued {
		// manager[value pr]: the filter applies to the one value, if there is one (a
		// `not (…)` inside must not match a user without a manager).
		c.elem = c.d.JSONValue(doc, docPath(p), scim.TypeComplex)
		cond, err := c.expr(f.Filter)
		c.elem = ""
		if err != nil {
			return "", err
		}
		return "(" + c.complexPresent(doc, docPath(p), p.Attr) + " AND " + cond + ")", nil
	}
	c.elem = "j.value"
	cond, err := c.expr(f.Filter)
	c.elem = ""
	if err != nil {
		return "", err
	}
	return "EXISTS (SELECT 1 FROM " + c.d.JSONElements(doc, docPath(p)) + " WHERE " + cond + ")", nil
}
