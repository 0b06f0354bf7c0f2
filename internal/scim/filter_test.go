package scim

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// dump renders a filter AST as an S-expression, so that tests can state its exact shape.
func dump(f Filter) string {
	switch f := f.(type) {
	case *AndFilter:
		return "(and " + dump(f.Left) + " " + dump(f.Right) + ")"
	case *OrFilter:
		return "(or " + dump(f.Left) + " " + dump(f.Right) + ")"
	case *NotFilter:
		return "(not " + dump(f.X) + ")"
	case *PresentFilter:
		return "(pr " + f.Path.String() + ")"
	case *CompareFilter:
		return "(" + string(f.Op) + " " + f.Path.String() + " " + dumpValue(f.Value) + ")"
	case *ValuePathFilter:
		return "(" + f.Path.String() + "[] " + dump(f.Filter) + ")"
	case nil:
		return "<nil>"
	}
	return fmt.Sprintf("<%T>", f)
}

func dumpValue(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case string:
		return fmt.Sprintf("%q", v)
	case json.Number:
		return "#" + string(v)
	case bool:
		return fmt.Sprint(v)
	}
	return fmt.Sprintf("<%T>", v)
}

// render writes a filter back as filter text, fully parenthesised, for round-trip checks.
func render(f Filter) string {
	switch f := f.(type) {
	case *AndFilter:
		return "(" + render(f.Left) + " and " + render(f.Right) + ")"
	case *OrFilter:
		return "(" + render(f.Left) + " or " + render(f.Right) + ")"
	case *NotFilter:
		return "not (" + render(f.X) + ")"
	case *PresentFilter:
		return f.Path.String() + " pr"
	case *CompareFilter:
		v := "null"
		switch x := f.Value.(type) {
		case string:
			b, _ := json.Marshal(x)
			v = string(b)
		case json.Number:
			v = string(x)
		case bool:
			v = fmt.Sprint(x)
		}
		return f.Path.String() + " " + string(f.Op) + " " + v
	case *ValuePathFilter:
		return f.Path.String() + "[" + render(f.Filter) + "]"
	}
	return "?"
}

const sampleUserJSON = `{
	"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
	"id": "2819c223-7f76-453a-919d-413861904646",
	"externalId": "bjensen",
	"userName": "bjensen",
	"name": {"familyName": "O'Malley", "givenName": "Barbara"},
	"nickName": "",
	"title": "Tour Guide",
	"userType": "Employee",
	"active": true,
	"emails": [
		{"value": "bjensen@example.com", "type": "work", "primary": true},
		{"value": "babs@jensen.org", "type": "home"}
	],
	"ims": [{"value": "babs@foo.com", "type": "xmpp"}],
	"phoneNumbers": [],
	"meta": {"resourceType": "User", "created": "2010-01-23T04:56:22Z", "lastModified": "2011-05-13T04:42:34Z"},
	"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
		"employeeNumber": "701984",
		"department": "Tour Operations",
		"manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"}
	}
}`

func decodeJSON(t testing.TB, s string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

// widgetResourceType has the attribute types the built-in schemas lack.
func widgetResourceType() *ResourceType {
	return &ResourceType{ID: "Widget", Name: "Widget", Endpoint: "/Widgets", Schema: &Schema{
		ID: "urn:example:params:scim:schemas:Widget", Name: "Widget",
		Attributes: []*Attribute{
			{Name: "count", Type: TypeInteger},
			{Name: "price", Type: TypeDecimal},
			{Name: "code", Type: TypeString, CaseExact: true},
			{Name: "tags", Type: TypeString, MultiValued: true},
			{Name: "when", Type: TypeDateTime},
			{Name: "blob", Type: TypeBinary},
			{Name: "dims", Type: TypeComplex, SubAttributes: []*Attribute{{Name: "w", Type: TypeInteger}}},
		},
	}}
}

func mustParse(t *testing.T, s string) Filter {
	t.Helper()
	f, err := ParseFilter(s)
	if err != nil {
		t.Fatalf("ParseFilter(%q): %v", s, err)
	}
	return f
}

func mustResolve(t *testing.T, rt *ResourceType, s string) Filter {
	t.Helper()
	f := mustParse(t, s)
	if err := ResolveFilter(rt, f); err != nil {
		t.Fatalf("ResolveFilter(%q): %v", s, err)
	}
	return f
}

// The example filters of RFC 7644 §3.4.2.2, in the RFC's order.
var rfcFilters = []struct{ filter, ast string }{
	{`userName eq "bjensen"`, `(eq userName "bjensen")`},
	{`name.familyName co "O'Malley"`, `(co name.familyName "O'Malley")`},
	{`userName sw "J"`, `(sw userName "J")`},
	{`urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J"`, `(sw urn:ietf:params:scim:schemas:core:2.0:User:userName "J")`},
	{`title pr`, `(pr title)`},
	{`meta.lastModified gt "2011-05-13T04:42:34Z"`, `(gt meta.lastModified "2011-05-13T04:42:34Z")`},
	{`meta.lastModified ge "2011-05-13T04:42:34Z"`, `(ge meta.lastModified "2011-05-13T04:42:34Z")`},
	{`meta.lastModified lt "2011-05-13T04:42:34Z"`, `(lt meta.lastModified "2011-05-13T04:42:34Z")`},
	{`meta.lastModified le "2011-05-13T04:42:34Z"`, `(le meta.lastModified "2011-05-13T04:42:34Z")`},
	{`title pr and userType eq "Employee"`, `(and (pr title) (eq userType "Employee"))`},
	{`title pr or userType eq "Intern"`, `(or (pr title) (eq userType "Intern"))`},
	{`schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"`,
		`(eq schemas "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")`},
	{`userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")`,
		`(and (eq userType "Employee") (or (co emails "example.com") (co emails.value "example.org")))`},
	{`userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")`,
		`(and (ne userType "Employee") (not (or (co emails "example.com") (co emails.value "example.org"))))`},
	{`userType eq "Employee" and (emails.type eq "work")`,
		`(and (eq userType "Employee") (eq emails.type "work"))`},
	{`userType eq "Employee" and emails[type eq "work" and value co "@example.com"]`,
		`(and (eq userType "Employee") (emails[] (and (eq type "work") (co value "@example.com"))))`},
	{`emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]`,
		`(or (emails[] (and (eq type "work") (co value "@example.com"))) (ims[] (and (eq type "xmpp") (co value "@foo.com"))))`},
}

func TestParseFilterRFCExamples(t *testing.T) {
	rt := NewUserResourceType()
	for _, tc := range rfcFilters {
		f := mustParse(t, tc.filter)
		if got := dump(f); got != tc.ast {
			t.Errorf("ParseFilter(%q)\n got %s\nwant %s", tc.filter, got, tc.ast)
		}
		if err := ResolveFilter(rt, f); err != nil {
			t.Errorf("ResolveFilter(%q): %v", tc.filter, err)
		}
	}
}

func TestParseFilterSyntax(t *testing.T) {
	tests := []struct{ filter, ast string }{
		// Keywords and operators are case-insensitive (ABNF literals are).
		{`userName EQ "x"`, `(eq userName "x")`},
		{`title PR And userType Ne "x" OR NOT (active eq TRUE)`, `(or (and (pr title) (ne userType "x")) (not (eq active true)))`},
		{`not(title pr)`, `(not (pr title))`},
		// compValue forms.
		{`active eq false`, `(eq active false)`},
		{`title eq null`, `(eq title null)`},
		{`count gt 42`, `(gt count #42)`},
		{`price le -1.5e3`, `(le price #-1.5e3)`},
		{`title eq "a\"b\\c\u00e9\n"`, `(eq title "a\"b\\cé\n")`},
		{`title eq ""`, `(eq title "")`},
		// Bare words are strings; a number with a leading zero is not a JSON number.
		{`name.FamilyName eq Employee`, `(eq name.FamilyName "Employee")`},
		{`userName sw O`, `(sw userName "O")`},
		{`employeeNumber eq 0123`, `(eq employeeNumber "0123")`},
		{`emails[type eq work]`, `(emails[] (eq type "work"))`},
		// Attribute names are kept as written.
		{`USERNAME eq "x"`, `(eq USERNAME "x")`},
		{`members[$ref eq "x"]`, `(members[] (eq $ref "x"))`},
		// Extra whitespace and no whitespace around brackets.
		{"  userName\teq  \"x\"  ", `(eq userName "x")`},
		{`(userName eq "x")`, `(eq userName "x")`},
		{`((userName eq "x"))and(title pr)`, `(and (eq userName "x") (pr title))`},
		// A value path followed by a sub-attribute is read as one value filter.
		{`emails[type eq "work"].value eq "x@y"`, `(emails[] (and (eq type "work") (eq value "x@y")))`},
		{`emails[type eq "work" or primary eq true].VALUE co "@y" and title pr`,
			`(and (emails[] (and (or (eq type "work") (eq primary true)) (co VALUE "@y"))) (pr title))`},
		{`emails[type eq "work"].value pr`, `(emails[] (and (eq type "work") (pr value)))`},
		{`emails[type eq "work"].value ne null`, `(emails[] (and (eq type "work") (ne value null)))`},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager[value pr].displayName sw "B"`,
			`(urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager[] (and (pr value) (sw displayName "B")))`},
		{`not (emails[type eq "work"].value ew ".org")`, `(not (emails[] (and (eq type "work") (ew value ".org"))))`},
	}
	for _, tc := range tests {
		if got := dump(mustParse(t, tc.filter)); got != tc.ast {
			t.Errorf("ParseFilter(%q)\n got %s\nwant %s", tc.filter, got, tc.ast)
		}
	}
}

func TestParseFilterSchemaQualified(t *testing.T) {
	tests := []struct{ filter, urn, name, sub string }{
		{`urn:ietf:params:scim:schemas:core:2.0:User:userName eq "x"`, UserSchema, "userName", ""},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "x"`, EnterpriseUserSchema, "department", ""},
		{`urn:ietf:params:scim:schemas:core:2.0:User:name.familyName eq "x"`, UserSchema, "name", "familyName"},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value pr`, EnterpriseUserSchema, "manager", "value"},
		{`name.familyName eq "x"`, "", "name", "familyName"},
	}
	for _, tc := range tests {
		var p AttrPath
		switch f := mustParse(t, tc.filter).(type) {
		case *CompareFilter:
			p = f.Path
		case *PresentFilter:
			p = f.Path
		}
		if p.URN != tc.urn || p.Name != tc.name || p.Sub != tc.sub {
			t.Errorf("%q: got URN=%q Name=%q Sub=%q, want %q %q %q", tc.filter, p.URN, p.Name, p.Sub, tc.urn, tc.name, tc.sub)
		}
	}
}

// Chains of three or more terms must nest, and "and" must bind tighter than "or"
// (RFC 7644 §3.4.2.2).
func TestParseFilterPrecedence(t *testing.T) {
	tests := []struct{ filter, ast string }{
		{`a eq 1 or b eq 2 or c eq 3`, `(or (or (eq a #1) (eq b #2)) (eq c #3))`},
		{`a eq 1 and b eq 2 and c eq 3`, `(and (and (eq a #1) (eq b #2)) (eq c #3))`},
		{`a pr and b pr or c pr and d pr`, `(or (and (pr a) (pr b)) (and (pr c) (pr d)))`},
		{`a pr or b pr and c pr`, `(or (pr a) (and (pr b) (pr c)))`},
		{`a pr and b pr or c pr`, `(or (and (pr a) (pr b)) (pr c))`},
		{`a pr or b pr and c pr or d pr`, `(or (or (pr a) (and (pr b) (pr c))) (pr d))`},
		{`a pr and (b pr or c pr)`, `(and (pr a) (or (pr b) (pr c)))`},
		{`not (a pr) and b pr`, `(and (not (pr a)) (pr b))`},
		{`a pr or not (b pr or c pr) and d pr`, `(or (pr a) (and (not (or (pr b) (pr c))) (pr d)))`},
		{`e[a pr or b pr and c pr or d pr]`, `(e[] (or (or (pr a) (and (pr b) (pr c))) (pr d)))`},
	}
	for _, tc := range tests {
		if got := dump(mustParse(t, tc.filter)); got != tc.ast {
			t.Errorf("ParseFilter(%q)\n got %s\nwant %s", tc.filter, got, tc.ast)
		}
	}
}

func wantError(t *testing.T, err error, scimType, detail string) {
	t.Helper()
	e, ok := AsError(err)
	if !ok {
		t.Fatalf("got %v, want a *Error", err)
	}
	if e.Status != 400 || e.ScimType != scimType {
		t.Errorf("got %d %s, want 400 %s (%s)", e.Status, e.ScimType, scimType, e.Detail)
	}
	if !strings.Contains(e.Detail, detail) {
		t.Errorf("detail %q does not contain %q", e.Detail, detail)
	}
}

func TestParseFilterErrors(t *testing.T) {
	nested := strings.Repeat("(", 33) + "a pr" + strings.Repeat(")", 33)
	terms := make([]string, 129) // 129 comparisons and 128 "or" nodes
	for i := range terms {
		terms[i] = "a pr"
	}
	tests := []struct{ filter, detail string }{
		{``, `position 1: expected attribute path, "(" or "not", found end of input`},
		{`   `, `position 4: expected attribute path`},
		{`userName xx "a"`, `invalid filter at position 10: expected comparison operator, found "xx"`},
		{`userName`, `position 9: expected comparison operator, found end of input`},
		{`userName eq`, `position 12: expected comparison value, found end of input`},
		{`userName eq )`, `expected comparison value, found ")"`},
		{`userName eq and title pr`, `expected comparison value, found "and"`},
		{`userName eq "abc`, `position 13: unterminated string literal`},
		{`userName eq "a\qb"`, `position 13: invalid string literal`},
		{"userName eq \"a\tb\"", `invalid string literal`},
		{`emails[type eq "work"`, `position 22: expected "and", "or" or "]", found end of input`},
		{`emails[type eq "work")`, `expected "and", "or" or "]", found ")"`},
		{`(userName eq "a"`, `expected "and", "or" or ")", found end of input`},
		{`userName eq "a" userName`, `position 17: expected "and", "or" or end of filter, found "userName"`},
		{`userName eq "a")`, `expected "and", "or" or end of filter, found ")"`},
		{`userName eq "a" and`, `position 20: expected attribute path, "(" or "not", found end of input`},
		{`userName eq "a" or or`, `expected attribute path, "(" or "not", found "or"`},
		{`not userName eq "a"`, `position 5: expected "(" after "not", found "userName"`},
		{`@foo eq 1`, `position 1: expected attribute path, found "@foo"`},
		{`name..x eq 1`, `expected attribute path, found "name..x"`},
		{`name.x.y eq 1`, `expected attribute path`},
		{`urn: eq 1`, `expected attribute path`},
		{`a:b eq 1`, `expected attribute path`},
		{`1abc eq 1`, `expected attribute path`},
		{`]`, `expected attribute path, "(" or "not", found "]"`},
		// A value path followed by a sub-attribute needs a sub-attribute name, then "pr" or
		// an operator and a value.
		{`emails[type eq "work"].value`, `position 29: expected comparison operator, found end of input`},
		{`emails[type eq "work"].value eq`, `expected comparison value, found end of input`},
		{`emails[type eq "work"].`, `expected sub-attribute name after "]", found "."`},
		{`emails[type eq "work"].value.display eq "x"`, `expected sub-attribute name after "]"`},
		{`emails[type eq "work"].value[type pr]`, `expected comparison operator, found "["`},
		{`emails[type eq "work"]value eq "x"`, `expected "and", "or" or end of filter, found "value"`},
		{`emails[value[type eq "x"]]`, `position 13: value filters cannot be nested`},
		{`emails[]`, `expected attribute path, "(" or "not", found "]"`},
		{`title pr pr`, `expected "and", "or" or end of filter, found "pr"`},
		// Long tokens are cut at a character boundary.
		{`userName ` + strings.Repeat("é", 30), `found "` + strings.Repeat("é", 20) + `"…`},
		// Positions count characters, not bytes.
		{`displayName eq "é" xx`, `position 20: expected "and", "or" or end of filter, found "xx"`},
		// Limits.
		{strings.Repeat(" ", 8193), `longer than the limit of 8192 bytes (MaxLength)`},
		{nested, `position 33: filter nesting exceeds the limit of 32 levels (MaxDepth)`},
		{strings.Join(terms, " or "), `filter exceeds the limit of 256 nodes (MaxNodes)`},
		{`a[b pr and ` + strings.Repeat("not (", 32) + "c pr" + strings.Repeat(")", 32) + `]`, `(MaxDepth)`},
	}
	for _, tc := range tests {
		f, err := ParseFilter(tc.filter)
		if err == nil {
			t.Errorf("ParseFilter(%q) = %s, want error", tc.filter, dump(f))
			continue
		}
		t.Run("", func(t *testing.T) { wantError(t, err, ErrInvalidFilter, tc.detail) })
	}
}

func TestParseFilterLimits(t *testing.T) {
	ok := strings.Repeat("(", 32) + "a pr" + strings.Repeat(")", 32)
	if _, err := ParseFilter(ok); err != nil {
		t.Errorf("32 levels: %v", err)
	}
	terms := make([]string, 128) // 255 nodes
	for i := range terms {
		terms[i] = "a pr"
	}
	if _, err := ParseFilter(strings.Join(terms, " and ")); err != nil {
		t.Errorf("255 nodes: %v", err)
	}

	lim := FilterLimits{MaxLength: 20, MaxDepth: 1, MaxNodes: 3}
	for _, tc := range []struct{ filter, detail string }{
		{`userName eq "bjensen1"`, `limit of 20 bytes`},
		{`((a pr))`, `limit of 1 levels`},
		{`a pr or b pr or c pr`, `limit of 3 nodes`},
	} {
		_, err := ParseFilterWithLimits(tc.filter, lim)
		wantError(t, err, ErrInvalidFilter, tc.detail)
	}
	if _, err := ParseFilterWithLimits(`(a pr) or b pr`, lim); err != nil {
		t.Errorf("within limits: %v", err)
	}
	if DefaultFilterLimits != (FilterLimits{MaxLength: 8192, MaxDepth: 32, MaxNodes: 256}) {
		t.Errorf("DefaultFilterLimits = %+v", DefaultFilterLimits)
	}
}

func TestResolveFilter(t *testing.T) {
	user := NewUserResourceType()
	ent := user.Extensions[0].Schema

	f := mustResolve(t, user, `USERNAME eq "x"`).(*CompareFilter)
	if f.Path.URN != "" || f.Path.Name != "userName" || f.Path.Schema != user.Schema || f.Path.Attr != user.Schema.Attr("userName") {
		t.Errorf("USERNAME: %+v", f.Path)
	}

	f = mustResolve(t, user, `urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J"`).(*CompareFilter)
	if f.Path.URN != "" || f.Path.Name != "userName" || f.Path.Schema != user.Schema {
		t.Errorf("core URN should be dropped: %+v", f.Path)
	}

	f = mustResolve(t, user, `URN:IETF:params:scim:schemas:extension:ENTERPRISE:2.0:User:Department eq "x"`).(*CompareFilter)
	if f.Path.URN != EnterpriseUserSchema || f.Path.Name != "department" || f.Path.Schema != ent || f.Path.Attr != ent.Attr("department") {
		t.Errorf("enterprise: %+v", f.Path)
	}

	f = mustResolve(t, user, `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.VALUE eq "x"`).(*CompareFilter)
	if f.Path.Sub != "value" || f.Path.SubAttr != ent.Attr("manager").Sub("value") {
		t.Errorf("manager.value: %+v", f.Path)
	}

	f = mustResolve(t, user, `name.FAMILYNAME eq "x"`).(*CompareFilter)
	if f.Path.Name != "name" || f.Path.Sub != "familyName" || f.Path.SubAttr == nil || f.Path.Leaf() != f.Path.SubAttr {
		t.Errorf("name.familyName: %+v", f.Path)
	}

	f = mustResolve(t, user, `Emails co "example.com"`).(*CompareFilter)
	if f.Path.Name != "emails" || f.Path.Sub != "value" || f.Path.SubAttr != user.Schema.Attr("emails").Sub("value") {
		t.Errorf("emails co: %+v", f.Path)
	}

	f = mustResolve(t, user, `active eq "TRUE"`).(*CompareFilter)
	if f.Value != true {
		t.Errorf(`active eq "TRUE": value %#v`, f.Value)
	}
	f = mustResolve(t, user, `active ne "False"`).(*CompareFilter)
	if f.Value != false {
		t.Errorf(`active ne "False": value %#v`, f.Value)
	}

	f = mustResolve(t, user, `meta.LASTMODIFIED gt "2011-05-13T04:42:34Z"`).(*CompareFilter)
	if f.Path.Schema != nil || f.Path.Name != "meta" || f.Path.Sub != "lastModified" || f.Path.Leaf().Type != TypeDateTime {
		t.Errorf("meta.lastModified: %+v", f.Path)
	}

	f = mustResolve(t, user, `SCHEMAS eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"`).(*CompareFilter)
	if f.Path.Name != "schemas" || !IsSchemasAttr(f.Path.Attr) || f.Path.Schema != nil {
		t.Errorf("schemas: %+v", f.Path)
	}

	vp := mustResolve(t, user, `emails[TYPE eq "work" and primary eq "true"]`).(*ValuePathFilter)
	inner := vp.Filter.(*AndFilter)
	typ, prim := inner.Left.(*CompareFilter), inner.Right.(*CompareFilter)
	emails := user.Schema.Attr("emails")
	if typ.Path.Name != "type" || typ.Path.Attr != emails.Sub("type") || typ.Path.URN != "" || typ.Path.Sub != "" {
		t.Errorf("inner type: %+v", typ.Path)
	}
	if prim.Path.Attr != emails.Sub("primary") || prim.Value != true {
		t.Errorf("inner primary: %+v %#v", prim.Path, prim.Value)
	}

	// Resolving twice changes nothing.
	again := mustResolve(t, user, `emails co "x" and active eq "true"`)
	before := dump(again)
	if err := ResolveFilter(user, again); err != nil || dump(again) != before {
		t.Errorf("second resolve: %v, %s vs %s", err, dump(again), before)
	}

	// Compared with null, a complex attribute stays whole.
	f = mustResolve(t, user, `emails eq null`).(*CompareFilter)
	if f.Path.Name != "emails" || f.Path.Sub != "" || f.Path.SubAttr != nil {
		t.Errorf("emails eq null: %+v", f.Path)
	}

	// A value path followed by a sub-attribute resolves as one value filter.
	vp = mustResolve(t, user, `emails[type eq "work"].VALUE eq "x"`).(*ValuePathFilter)
	if v := vp.Filter.(*AndFilter).Right.(*CompareFilter); v.Path.Name != "value" || v.Path.Attr != emails.Sub("value") {
		t.Errorf("emails[…].value: %+v", v.Path)
	}

	group := NewGroupResourceType()
	mustResolve(t, group, `members[value eq "2819c223-7f76-453a-919d-413861904646"]`)
	mustResolve(t, group, `displayName eq "Admins" and members.value pr`)

	widget := widgetResourceType()
	for _, s := range []string{
		`count eq 42`, `count gt -3`, `count eq 1e2`, `price le 9.99`, `price gt 1`, `code eq "X"`,
		`when ge "2020-01-01T00:00:00.123456+02:00"`, `blob eq "AAAA"`, `dims.w lt 3`, `code eq null`, `count ne null`, `dims pr`,
	} {
		mustResolve(t, widget, s)
	}
}

func TestResolveFilterErrors(t *testing.T) {
	user := NewUserResourceType()
	widget := widgetResourceType()
	tests := []struct {
		rt             *ResourceType
		filter, detail string
	}{
		{user, `foo eq "x"`, `unknown attribute "foo" in filter`},
		{user, `name.foo eq "x"`, `unknown attribute "name.foo" in filter`},
		{user, `userName.foo eq "x"`, `unknown attribute "userName.foo" in filter`},
		{user, `urn:example:nope:foo eq "x"`, `unknown attribute "urn:example:nope:foo" in filter`},
		// Extension attributes need their URN (RFC 7644 §3.10).
		{user, `department eq "x"`, `unknown attribute "department" in filter`},
		{user, `emails[foo eq "x"]`, `unknown attribute "foo" of "emails" in filter`},
		{user, `emails[emails.type eq "x"]`, `unknown attribute "emails.type" of "emails"`},
		{user, `userName[value eq "x"]`, `attribute "userName" is not complex and cannot take a value filter`},
		{user, `name.givenName[value eq "x"]`, `not complex`},
		{user, `name eq "x"`, `attribute "name" is complex: compare one of its sub-attributes`},
		{user, `schemas.value eq "x"`, `unknown attribute "schemas.value"`},
		{NewGroupResourceType(), `userName eq "x"`, `unknown attribute "userName"`},
		// RFC 7644 §3.4.2.2: gt/ge/lt/le on Boolean and Binary attributes fail.
		{user, `active gt true`, `attribute "active" is boolean and cannot be compared with gt`},
		{user, `active le "false"`, `cannot be compared with le`},
		{user, `emails[primary ge true]`, `attribute "primary" is boolean`},
		{widget, `blob lt "AAAA"`, `attribute "blob" is binary and cannot be compared with lt`},
		// Type mismatches.
		{user, `active eq 3`, `attribute "active" is of type boolean and cannot be compared with 3`},
		{user, `active eq "yes"`, `cannot be compared with "yes"`},
		{user, `userName eq true`, `attribute "userName" is of type string and cannot be compared with true`},
		{user, `userName eq 3`, `cannot be compared with 3`},
		{widget, `count eq "3"`, `attribute "count" is of type integer`},
		{widget, `count eq 1.5`, `cannot be compared with 1.5`},
		{widget, `price eq true`, `of type decimal`},
		{widget, `price eq 1e999`, `of type decimal`},
		{user, `meta.lastModified gt "yesterday"`, `attribute "meta.lastModified" is a dateTime and needs an RFC 3339 timestamp, not "yesterday"`},
		{user, `meta.created eq 2011`, `needs an RFC 3339 timestamp`},
		{user, `meta.created eq "2011-05-13 04:42:34Z"`, `needs an RFC 3339 timestamp`},
		{user, `meta.created gt "2011-05-13T04:42:34"`, `needs an RFC 3339 timestamp`},
		{user, `meta.created gt "2011-05-13T25:42:34Z"`, `needs an RFC 3339 timestamp`},
		{user, `meta.created gt "2011-05-13T04:42:34+0530"`, `needs an RFC 3339 timestamp`},
		{user, `meta.lastModified lt true`, `needs an RFC 3339 timestamp, not true`},
		{user, `meta.lastModified eq 1305261754`, `needs an RFC 3339 timestamp, not 1305261754`},
		// "contains" and "starts with" mean nothing for an instant, which has many spellings.
		{user, `meta.created sw "2011-05-13T04:42:34Z"`, `attribute "meta.created" is a dateTime and cannot be compared with sw`},
		{user, `meta.lastModified co "2011-05-13T04:42:34Z"`, `cannot be compared with co`},
		{widget, `when ew "2020-06-01T12:00:00Z"`, `attribute "when" is a dateTime and cannot be compared with ew`},
		{user, `userName co 3`, `userName co 3: co needs a string value`},
		{user, `active sw true`, `sw needs a string value`},
		{widget, `count ew 1`, `ew needs a string value`},
		{user, `userName gt null`, `null can only be compared with eq or ne`},
		{user, `emails[value co null]`, `null can only be compared with eq or ne`},
	}
	for _, tc := range tests {
		f := mustParse(t, tc.filter)
		err := ResolveFilter(tc.rt, f)
		if err == nil {
			t.Errorf("ResolveFilter(%q) succeeded: %s", tc.filter, dump(f))
			continue
		}
		t.Run("", func(t *testing.T) { wantError(t, err, ErrInvalidFilter, tc.detail) })
	}

	// Hand-built ASTs that the parser never produces.
	for _, f := range []Filter{
		nil, &AndFilter{}, &NotFilter{}, (*OrFilter)(nil),
		&ValuePathFilter{Path: AttrPath{Name: "emails"}, Filter: &ValuePathFilter{Path: AttrPath{Name: "type"}}},
		&CompareFilter{Path: AttrPath{Name: "userName"}, Op: "xx", Value: "a"},
	} {
		if err := ResolveFilter(user, f); err == nil {
			t.Errorf("ResolveFilter(%s) succeeded", dump(f))
		}
	}
	if err := ResolveFilter(nil, mustParse(t, `a pr`)); err == nil {
		t.Error("ResolveFilter(nil rt) succeeded")
	}
}

func TestMatchFilter(t *testing.T) {
	user := NewUserResourceType()
	res := decodeJSON(t, sampleUserJSON)
	tests := []struct {
		filter string
		want   bool
	}{
		// The RFC 7644 §3.4.2.2 examples.
		{`userName eq "bjensen"`, true},
		{`name.familyName co "O'Malley"`, true},
		{`userName sw "J"`, false},
		{`userName sw "B"`, true},
		{`urn:ietf:params:scim:schemas:core:2.0:User:userName sw "bj"`, true},
		{`title pr`, true},
		{`meta.lastModified gt "2011-05-13T04:42:34Z"`, false},
		{`meta.lastModified ge "2011-05-13T04:42:34Z"`, true},
		{`meta.lastModified lt "2011-05-13T04:42:34Z"`, false},
		{`meta.lastModified le "2011-05-13T04:42:34Z"`, true},
		{`title pr and userType eq "Employee"`, true},
		{`title pr or userType eq "Intern"`, true},
		{`schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"`, true},
		{`userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")`, true},
		{`userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")`, false},
		{`userType eq "Employee" and (emails.type eq "work")`, true},
		{`userType eq "Employee" and emails[type eq "work" and value co "@example.com"]`, true},
		{`emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]`, true},
		{`emails[type eq "work" and value co "@example.org"] or ims[type eq "xmpp" and value co "@bar.com"]`, false},

		// Case sensitivity: userName is caseExact=false, id is caseExact.
		{`userName eq "BJENSEN"`, true},
		{`USERNAME eq "bjensen"`, true},
		{`id eq "2819c223-7f76-453a-919d-413861904646"`, true},
		{`id eq "2819C223-7F76-453A-919D-413861904646"`, false},
		{`schemas eq "URN:IETF:params:scim:schemas:extension:enterprise:2.0:User"`, true},
		{`userName gt "a"`, true},
		{`userName gt "C"`, false},
		{`userName lt "BK"`, true},
		{`name.familyName ew "MALLEY"`, true},

		// Chronological, not lexical, comparison of dateTimes.
		{`meta.lastModified eq "2011-05-13T06:42:34+02:00"`, true},
		{`meta.lastModified gt "2011-05-13T05:42:34+02:00"`, true},
		{`meta.lastModified gt "2011-05-13T04:42:33.999Z"`, true},
		{`meta.lastModified lt "2011-05-13T04:42:34.001Z"`, true},
		{`meta.created lt "2010-01-23T04:56:22.5Z"`, true},

		// Presence: "" and [] are not present.
		{`nickName pr`, false},
		{`displayName pr`, false},
		{`phoneNumbers pr`, false},
		{`emails pr`, true},
		{`name pr`, true},
		{`emails.primary pr`, true},
		{`ims.primary pr`, false},

		// null and ne on absent attributes.
		{`displayName eq null`, true},
		{`nickName eq null`, true},
		{`title eq null`, false},
		{`title ne null`, true},
		{`displayName ne "x"`, true},
		{`not (displayName eq "x")`, true},
		{`title ne "tour guide"`, false},
		{`title ne "Pilot"`, true},

		// Multi-valued: any value matches; ne is the negation of eq.
		{`emails.type eq "home"`, true},
		{`emails.type ne "work"`, false},
		{`not (emails.type eq "work")`, false},
		{`emails.type ne "other"`, true},
		{`emails co "jensen.org"`, true},
		{`emails.value ew ".org"`, true},
		// A value path needs one value to satisfy the whole filter; flattened paths do not.
		{`emails[type eq "home" and value ew ".com"]`, false},
		{`emails.type eq "home" and emails.value ew ".com"`, true},
		{`emails[type eq "home" and value ew ".org"]`, true},
		{`emails[primary eq true]`, true},
		{`emails[primary eq "true" and type eq "work"]`, true},
		{`emails[not (primary eq true)]`, true},
		{`ims[primary eq true]`, false},
		{`phoneNumbers[type eq "work"]`, false},

		// Booleans.
		{`active eq true`, true},
		{`active eq "True"`, true},
		{`active eq false`, false},
		{`active ne false`, true},

		// Extension attributes.
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department sw "tour"`, true},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915-6090-4610-87e4-49d8ca9f808d"`, true},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager[value pr]`, true},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter pr`, false},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq 701984x`, false},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984"`, true},

		// Precedence and grouping as evaluated.
		{`userName eq "x" or userName eq "y" or userName eq "bjensen"`, true},
		{`userName eq "x" or userName eq "y" or userName eq "z"`, false},
		{`userName eq "x" and title pr or active eq true`, true},
		{`userName eq "x" and (title pr or active eq true)`, false},
		{`active eq true or userName eq "x" and title eq "y"`, true},
		{`(active eq true or userName eq "x") and title eq "y"`, false},
		{`title pr and userType eq "Employee" and active eq true and userName eq "bjensen"`, true},
		{`title pr and userType eq "Employee" and active eq false and userName eq "bjensen"`, false},
	}
	for _, tc := range tests {
		f := mustResolve(t, user, tc.filter)
		if got := MatchFilter(f, res); got != tc.want {
			t.Errorf("MatchFilter(%q) = %v, want %v", tc.filter, got, tc.want)
		}
		// `not` is exact negation.
		if got := MatchFilter(&NotFilter{X: f}, res); got == tc.want {
			t.Errorf("MatchFilter(not (%q)) = %v", tc.filter, got)
		}
	}
}

// The decisions MatchFilter documents for cases the RFC leaves open, on a resource that
// has them: an empty string, an empty complex value, binary and caseExact values.
func TestMatchFilterEdgeCases(t *testing.T) {
	user := NewUserResourceType()
	res := decodeJSON(t, `{
		"id": "Ab-1", "userName": "Émile", "title": "", "nickName": "Nick",
		"name": {},
		"emails": [{"value": "a@x.org", "type": "work"}, {"value": "", "type": "home"}],
		"x509Certificates": [{"value": "QUJD"}],
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "R&D"}
	}`)
	tests := []struct {
		filter string
		want   bool
	}{
		// "" is no value: not present, equal to null, equal to nothing else.
		{`title pr`, false},
		{`title eq null`, true},
		{`title ne null`, false},
		{`title eq ""`, false},
		{`title ne ""`, true},
		{`title co ""`, false},
		{`title lt "a"`, false},
		{`nickName co ""`, true},
		{`nickName ew ""`, true},
		{`emails[value eq ""]`, false},
		{`emails[type eq "home" and value pr]`, false},
		{`emails[type eq "home" and value eq null]`, true},
		{`emails.value eq null`, false},
		// An empty complex value is absent, also for its value path.
		{`name pr`, false},
		{`name eq null`, true},
		{`name[not (givenName pr)]`, false},
		// null on a complex attribute is about the attribute as a whole, not its value.
		{`emails eq null`, false},
		{`emails ne null`, true},
		{`phoneNumbers eq null`, true},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager[not (value pr)]`, false},
		// Binary is case exact whatever its schema says (RFC 7643 §2.3.6).
		{`x509Certificates.value eq "QUJD"`, true},
		{`x509Certificates.value eq "qujd"`, false},
		{`x509Certificates[value sw "QU"]`, true},
		// caseExact id; case-insensitive userName, also beyond ASCII.
		{`id eq "Ab-1"`, true},
		{`id eq "ab-1"`, false},
		{`userName eq "émile"`, true},
		{`userName sw "ÉM"`, true},
		{`userName gt "z"`, true}, // "é" is above ASCII in code point order
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "r&d"`, true},
	}
	for _, tc := range tests {
		f := mustResolve(t, user, tc.filter)
		if got := MatchFilter(f, res); got != tc.want {
			t.Errorf("MatchFilter(%q) = %v, want %v", tc.filter, got, tc.want)
		}
	}
}

func TestParseDateTime(t *testing.T) {
	want := func(s string) time.Time {
		t.Helper()
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	for _, tc := range []struct {
		in   string
		want time.Time
	}{
		{"2011-05-13T04:42:34Z", want("2011-05-13T04:42:34Z")},
		{"2011-05-13t04:42:34z", want("2011-05-13T04:42:34Z")},
		{"2011-05-13T10:12:34+05:30", want("2011-05-13T04:42:34Z")},
		{"2011-05-12T23:42:34.5-05:00", want("2011-05-13T04:42:34.5Z")},
		{"2011-05-13T04:42:34.123456789123Z", want("2011-05-13T04:42:34.123456789Z")},
		{"2016-12-31T23:59:60Z", want("2016-12-31T23:59:59.999999999Z")},
		{"2016-12-31T23:59:60.5Z", want("2016-12-31T23:59:59.999999999Z")},
	} {
		got, err := ParseDateTime(tc.in)
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("ParseDateTime(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, s := range []string{"", "2011-05-13", "2011-05-13T04:42:34", "2011-05-13 04:42:34Z", "2011-13-13T04:42:34Z",
		"2011-05-13T04:42:61Z", "2011-05-13T04:42:60", "2011-05-13T04:42:34+0530", "yesterday", "2011-05-13T04:42:34ZZ"} {
		if got, err := ParseDateTime(s); err == nil {
			t.Errorf("ParseDateTime(%q) = %v, want an error", s, got)
		}
	}
}

func TestMatchFilterNumbers(t *testing.T) {
	asNumbers := decodeJSON(t, `{"count": 42, "price": 9.99, "big": 1, "code": "AbC", "tags": ["Red", "green"],
		"when": "2020-06-01T12:00:00Z", "dims": {"w": 3}}`)
	asFloats := map[string]any{"count": float64(42), "price": 9.99, "code": "AbC", "tags": []string{"Red", "green"},
		"when": "2020-06-01T12:00:00Z", "dims": map[string]any{"w": 3}}
	widget := widgetResourceType()
	widget.Schema.Attributes = append(widget.Schema.Attributes, &Attribute{Name: "big", Type: TypeInteger})
	tests := []struct {
		filter string
		want   bool
	}{
		{`count eq 42`, true},
		{`count eq 42.0`, true},
		{`count eq 4.2e1`, true},
		{`count gt 41`, true},
		{`count gt 42`, false},
		{`count ge 42`, true},
		{`count lt -1`, false},
		{`count ne 42`, false},
		{`price le 9.99`, true},
		{`price gt 9.989`, true},
		{`price lt 10`, true},
		{`price eq 9.99`, true},
		{`code eq "AbC"`, true},
		{`code eq "abc"`, false},
		{`code sw "Ab"`, true},
		{`tags eq "red"`, true},
		{`tags co "ree"`, true},
		{`tags ne "blue"`, true},
		{`when gt "2020-06-01T11:00:00Z"`, true},
		{`when lt "2020-06-01T13:00:00+02:00"`, false},
		{`dims.w le 3`, true},
		{`dims[w gt 2]`, true},
	}
	for _, tc := range tests {
		f := mustResolve(t, widget, tc.filter)
		for name, res := range map[string]map[string]any{"json.Number": asNumbers, "float64": asFloats} {
			if got := MatchFilter(f, res); got != tc.want {
				t.Errorf("%s: MatchFilter(%q) = %v, want %v", name, tc.filter, got, tc.want)
			}
		}
	}
	// Integers beyond float64 precision compare exactly.
	exact := decodeJSON(t, `{"big": 9223372036854775806}`)
	if MatchFilter(mustResolve(t, widget, `big eq 9223372036854775807`), exact) {
		t.Error("9223372036854775806 eq 9223372036854775807")
	}
	if !MatchFilter(mustResolve(t, widget, `big lt 9223372036854775807`), exact) {
		t.Error("9223372036854775806 lt 9223372036854775807")
	}
	// Values of the wrong JSON type never match, and ne is their negation.
	wrong := map[string]any{"count": "42", "code": 7, "when": "yesterday"}
	for filter, want := range map[string]bool{`count eq 42`: false, `count ne 42`: true, `code eq "7"`: false, `when lt "2030-01-01T00:00:00Z"`: false} {
		if got := MatchFilter(mustResolve(t, widget, filter), wrong); got != want {
			t.Errorf("wrong types: MatchFilter(%q) = %v, want %v", filter, got, want)
		}
	}
}

func TestMatchValue(t *testing.T) {
	user := NewUserResourceType()
	vp := mustResolve(t, user, `emails[type eq "work" and value co "@example.com"]`).(*ValuePathFilter)
	for _, tc := range []struct {
		value map[string]any
		want  bool
	}{
		{map[string]any{"type": "Work", "value": "b@EXAMPLE.com"}, true},
		{map[string]any{"type": "home", "value": "b@example.com"}, false},
		{map[string]any{"type": "work"}, false},
		{map[string]any{"TYPE": "work", "Value": "b@example.com"}, true},
		{map[string]any{}, false},
	} {
		if got := MatchValue(vp.Filter, tc.value); got != tc.want {
			t.Errorf("MatchValue(%v) = %v, want %v", tc.value, got, tc.want)
		}
	}
	// A non-canonical resource (keys in another case) still evaluates.
	if !MatchFilter(mustResolve(t, user, `userName eq "x"`), map[string]any{"USERNAME": "X"}) {
		t.Error("case-insensitive key lookup")
	}
	// Nothing in a hand-built or unresolved filter makes the evaluator panic.
	for _, f := range []Filter{nil, &AndFilter{}, &OrFilter{}, &NotFilter{}, (*ValuePathFilter)(nil), (*CompareFilter)(nil),
		&CompareFilter{Path: AttrPath{Name: "userName"}, Op: "xx", Value: "a"}, &CompareFilter{Path: AttrPath{Name: "userName"}, Op: OpEq, Value: []int{1}}} {
		MatchFilter(f, decodeJSON(t, sampleUserJSON))
	}
}

func TestParsePatchPath(t *testing.T) {
	user, group := NewUserResourceType(), NewGroupResourceType()
	tests := []struct {
		rt                   *ResourceType
		path                 string
		urn, name, sub       string // resolved Attr
		filter, afterBracket string
	}{
		{group, `members[value eq "2819c223-7f76-453a-919d-413861904646"]`, "", "members", "",
			`(eq value "2819c223-7f76-453a-919d-413861904646")`, ""},
		{group, `members`, "", "members", "", "", ""},
		{user, `emails[type eq "work"].value`, "", "emails", "", `(eq type "work")`, "value"},
		{user, `EMAILS[TYPE EQ "work" and primary eq true].VALUE`, "", "emails", "", `(and (eq type "work") (eq primary true))`, "value"},
		{user, `addresses[type eq "work"].streetAddress`, "", "addresses", "", `(eq type "work")`, "streetAddress"},
		{user, `name.familyName`, "", "name", "familyName", "", ""},
		{user, `userName`, "", "userName", "", "", ""},
		{user, `urn:ietf:params:scim:schemas:core:2.0:User:name.givenName`, "", "name", "givenName", "", ""},
		{user, `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department`, EnterpriseUserSchema, "department", "", "", ""},
		{user, `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value`, EnterpriseUserSchema, "manager", "value", "", ""},
		{user, `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager[value pr].displayName`, EnterpriseUserSchema, "manager", "", `(pr value)`, "displayName"},
		{user, ` emails[type eq "work"] `, "", "emails", "", `(eq type "work")`, ""},
	}
	for _, tc := range tests {
		p, err := ParsePatchPath(tc.path)
		if err != nil {
			t.Errorf("ParsePatchPath(%q): %v", tc.path, err)
			continue
		}
		if err := ResolvePatchPath(tc.rt, &p); err != nil {
			t.Errorf("ResolvePatchPath(%q): %v", tc.path, err)
			continue
		}
		got := ""
		if p.Filter != nil {
			got = dump(p.Filter)
		}
		if p.Attr.URN != tc.urn || p.Attr.Name != tc.name || p.Attr.Sub != tc.sub || got != tc.filter || p.Sub != tc.afterBracket {
			t.Errorf("%q: got %q %q %q %s %q", tc.path, p.Attr.URN, p.Attr.Name, p.Attr.Sub, got, p.Sub)
		}
		if p.Attr.Attr == nil || (p.Attr.Sub != "") != (p.Attr.SubAttr != nil) || (p.Sub != "") != (p.SubAttr != nil) {
			t.Errorf("%q: definitions not filled: %+v", tc.path, p)
		}
		if p.SubAttr != nil && p.SubAttr.Name != p.Sub {
			t.Errorf("%q: SubAttr %q vs Sub %q", tc.path, p.SubAttr.Name, p.Sub)
		}
	}

	// The filter of a resolved path drives MatchValue.
	p, _ := ParsePatchPath(`emails[type eq "work"].value`)
	if err := ResolvePatchPath(user, &p); err != nil {
		t.Fatal(err)
	}
	if !MatchValue(p.Filter, map[string]any{"type": "WORK"}) || MatchValue(p.Filter, map[string]any{"type": "home"}) {
		t.Error("MatchValue on a PATCH path filter")
	}
}

func TestParsePatchPathErrors(t *testing.T) {
	for _, tc := range []struct{ path, detail string }{
		{``, `invalid path at position 1: expected attribute path, found end of input`},
		{`emails[type eq "work"`, `expected "and", "or" or "]", found end of input`},
		{`emails[type eq "work"]value`, `position 23: expected ".subAttribute" or end of path, found "value"`},
		{`emails[type eq "work"].`, `expected sub-attribute name, found "."`},
		{`emails[type eq "work"].value.display`, `expected sub-attribute name`},
		{`emails[type eq "work"].value[type pr]`, `expected ".subAttribute" or end of path, found "["`},
		{`emails[type zz "work"]`, `expected comparison operator, found "zz"`},
		{`emails[value[type pr]]`, `value filters cannot be nested`},
		{`name.familyName extra`, `expected "[" or end of path, found "extra"`},
		{`name.familyName.x`, `expected attribute path`},
		{`"userName"`, `expected attribute path, found "\"userName\""`},
		{`emails[type eq "work`, `unterminated string literal`},
		{strings.Repeat("a", 8193), `longer than the limit of 8192 bytes`},
	} {
		_, err := ParsePatchPath(tc.path)
		if err == nil {
			t.Errorf("ParsePatchPath(%q) succeeded", tc.path)
			continue
		}
		t.Run("", func(t *testing.T) { wantError(t, err, ErrInvalidPath, tc.detail) })
	}

	user := NewUserResourceType()
	for _, tc := range []struct{ path, detail string }{
		{`foo`, `unknown attribute "foo" in path`},
		{`schemas`, `unknown attribute "schemas" in path`},
		{`name.foo`, `unknown attribute "name.foo" in path`},
		{`emails[type eq "work"].foo`, `unknown attribute "emails.foo" in path`},
		{`emails[foo eq "work"]`, `unknown attribute "foo" of "emails" in path`},
		{`userName[value eq "x"]`, `attribute "userName" is not complex`},
		{`emails[primary gt true]`, `attribute "primary" is boolean and cannot be compared with gt`},
		{`emails[type eq 3]`, `attribute "type" is of type string`},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:nope`, `unknown attribute "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:nope" in path`},
	} {
		p, err := ParsePatchPath(tc.path)
		if err != nil {
			t.Errorf("ParsePatchPath(%q): %v", tc.path, err)
			continue
		}
		err = ResolvePatchPath(user, &p)
		if err == nil {
			t.Errorf("ResolvePatchPath(%q) succeeded", tc.path)
			continue
		}
		t.Run("", func(t *testing.T) { wantError(t, err, ErrInvalidPath, tc.detail) })
	}
	if err := ResolvePatchPath(user, &PatchPath{Attr: AttrPath{Name: "name"}, Sub: "givenName"}); err == nil {
		t.Error("Sub without a filter resolved")
	}
}

// Rendering a parsed filter fully parenthesised and parsing it again gives the same tree.
func TestParseFilterRoundTrip(t *testing.T) {
	for _, tc := range rfcFilters {
		checkRoundTrip(t, mustParse(t, tc.filter))
	}
	checkRoundTrip(t, mustParse(t, `a pr or b eq 1 and not (c eq "x\"y" or d lt -2.5e-3) and e[f pr or g eq null] or h eq false`))
}

func checkRoundTrip(t *testing.T, f Filter) {
	t.Helper()
	text := render(f)
	g, err := ParseFilterWithLimits(text, FilterLimits{MaxLength: 1 << 20, MaxDepth: 1 << 10, MaxNodes: 1 << 10})
	if err != nil {
		t.Fatalf("reparse of %q: %v", text, err)
	}
	if dump(f) != dump(g) {
		t.Fatalf("round trip through %q:\n got %s\nwant %s", text, dump(g), dump(f))
	}
}

var fuzzFilterSeeds = []string{
	`userName eq "bjensen"`,
	`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "x"`,
	`userType eq "Employee" and emails[type eq "work" and value co "@example.com"]`,
	`not (a pr or b ne 1) and c gt -1.5e3 or d eq null`,
	`meta.lastModified gt "2011-05-13T04:42:34Z"`,
	`active eq "true" or emails co example.com`,
	`(((x pr)))`,
	`userName eq "\u00e9\"`,
	`emails[type eq "work"].value eq "x@y" or ims[type eq "xmpp"].value pr`,
	`name eq null and meta.created gt "2011-05-13t04:42:34.5+05:30"`,
	`meta[resourceType eq "User"] and schemas co "enterprise"`,
}

func FuzzParseFilter(f *testing.F) {
	for _, s := range fuzzFilterSeeds {
		f.Add(s)
	}
	rt := NewUserResourceType()
	res := decodeJSON(f, sampleUserJSON)
	f.Fuzz(func(t *testing.T, s string) {
		flt, err := ParseFilter(s)
		if err != nil {
			if e, ok := AsError(err); !ok || e.ScimType != ErrInvalidFilter || e.Status != 400 {
				t.Fatalf("ParseFilter(%q): error %v is not invalidFilter", s, err)
			}
			return
		}
		if flt == nil {
			t.Fatalf("ParseFilter(%q) returned nil without error", s)
		}
		if utf8.ValidString(s) {
			checkRoundTrip(t, flt)
		}
		MatchFilter(flt, res) // unresolved
		if err := ResolveFilter(rt, flt); err != nil {
			if e, ok := AsError(err); !ok || e.ScimType != ErrInvalidFilter {
				t.Fatalf("ResolveFilter(%q): error %v is not invalidFilter", s, err)
			}
			return
		}
		got := MatchFilter(flt, res)
		if MatchFilter(&NotFilter{X: flt}, res) == got {
			t.Fatalf("not (%q) evaluates like the filter", s)
		}
		if err := ResolveFilter(rt, flt); err != nil {
			t.Fatalf("second ResolveFilter(%q): %v", s, err)
		}
		if MatchFilter(flt, res) != got {
			t.Fatalf("%q: result changed on second resolve", s)
		}
	})
}

func FuzzParsePatchPath(f *testing.F) {
	for _, s := range []string{
		`members[value eq "2819c223-7f76-453a-919d-413861904646"]`,
		`emails[type eq "work"].value`,
		`name.familyName`,
		`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value`,
		`addresses[type eq "work" and primary eq true].streetAddress`,
	} {
		f.Add(s)
	}
	rt := NewUserResourceType()
	res := decodeJSON(f, sampleUserJSON)
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePatchPath(s)
		if err != nil {
			if e, ok := AsError(err); !ok || e.ScimType != ErrInvalidPath {
				t.Fatalf("ParsePatchPath(%q): error %v is not invalidPath", s, err)
			}
			return
		}
		if err := ResolvePatchPath(rt, &p); err != nil {
			if e, ok := AsError(err); !ok || e.ScimType != ErrInvalidPath {
				t.Fatalf("ResolvePatchPath(%q): error %v is not invalidPath", s, err)
			}
			return
		}
		if p.Attr.Attr == nil || (p.Sub != "" && p.SubAttr == nil) {
			t.Fatalf("ResolvePatchPath(%q) left definitions unset: %+v", s, p)
		}
		if p.Filter != nil {
			for _, v := range res {
				for _, item := range flatten(v) {
					if m, ok := item.(map[string]any); ok {
						MatchValue(p.Filter, m)
					}
				}
			}
		}
	})
}
