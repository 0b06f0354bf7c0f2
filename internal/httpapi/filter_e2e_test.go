package httpapi_test

// End-to-end tests of filtering (RFC 7644 §3.4.2.2) over HTTP on every backend: the RFC's
// own examples against users designed so that each has a known answer that is neither
// everyone nor no one, the cases the RFC leaves to the server, groups, and every kind of
// invalid filter. internal/store/sqlstore's property test compares the store with the
// reference evaluator on random filters; these tests pin the answers themselves.

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/scim"
	"github.com/scimd/scimd/internal/scimclient"
	"github.com/scimd/scimd/internal/storetest"
)

// createSpaced creates users one after another with a pause between them, so that their
// meta.created and meta.lastModified are distinct and ordered as the bodies are.
func createSpaced(t *testing.T, c *scimclient.Client, bodies ...map[string]any) []string {
	t.Helper()
	ids := make([]string, len(bodies))
	for i, b := range bodies {
		time.Sleep(2 * time.Millisecond)
		ids[i] = idOf(t, createUser(t, c, b))
	}
	return ids
}

func email(typ, value string) map[string]any {
	m := map[string]any{"value": value}
	if typ != "" {
		m["type"] = typ
	}
	return m
}

func TestFilterRFCExamples(t *testing.T) {
	forEachBackend(t, func(t *testing.T, srv *storetest.Server) {
		c := newClient(t, srv, "rfc-examples")
		ent := map[string]any{"department": "Tour Operations"}
		ids := createSpaced(t, c,
			userBody("bjensen", map[string]any{
				"name": map[string]any{"givenName": "Barbara", "familyName": "Jensen"}, "title": "Tour Guide", "userType": "Employee",
				"emails":                  []any{email("work", "bjensen@example.com"), email("home", "babs@jensen.org")},
				scim.EnterpriseUserSchema: ent,
			}),
			userBody("JSmith", map[string]any{
				"name": map[string]any{"familyName": "O'Malley-Smith"}, "title": "", "userType": "Intern",
				"emails": []any{email("home", "jsmith@example.org")}, "ims": []any{email("xmpp", "jsmith@foo.com")},
			}),
			userBody("jdoe", map[string]any{
				"userType": "Employee",
				// The example.com address is not the work one: a value path needs one value
				// that meets all of its conditions.
				"emails": []any{email("home", "jd@example.com"), email("work", "john@example.org")},
			}),
			userBody("omalley", map[string]any{
				"name": map[string]any{"familyName": "o'malley"}, "title": "Manager", "userType": "Contractor",
				scim.EnterpriseUserSchema: map[string]any{"manager": map[string]any{"value": "m-1"}},
			}),
			userBody("kim", map[string]any{
				"title": "VP", "userType": "Employee",
				"emails": []any{email("work", "kim@example.net")}, "ims": []any{email("aim", "kim@foo.com")},
			}),
			userBody("Jane.Roe", map[string]any{"title": "Editor", "emails": []any{email("work", "jane@example.com")}}),
			userBody("lee", map[string]any{"userType": "intern", "ims": []any{email("xmpp", "lee@FOO.com")}}),
		)
		bjensen, jsmith, jdoe, omalley, kim, jane, lee := ids[0], ids[1], ids[2], ids[3], ids[4], ids[5], ids[6]
		cutoff := timeOf(t, mustDo(t, c, http.MethodGet, "/Users/"+omalley, nil, http.StatusOK), "meta", "lastModified")
		inIndia := cutoff.In(time.FixedZone("IST", 5*3600+1800)).Format(time.RFC3339Nano)
		utc := cutoff.UTC().Format(time.RFC3339Nano)

		cases := []struct {
			filter string
			want   []string
		}{
			// RFC 7644 §3.4.2.2, the examples in the RFC's order and spelling.
			{`userName eq "bjensen"`, []string{bjensen}},
			{`name.familyName co "O'Malley"`, []string{jsmith, omalley}},
			{`userName sw "J"`, []string{jsmith, jdoe, jane}},
			{`urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J"`, []string{jsmith, jdoe, jane}},
			{`title pr`, []string{bjensen, omalley, kim, jane}}, // JSmith's title is ""
			// Every user here was modified after the RFC's date; the same filters with a
			// date between the users follow.
			{`meta.lastModified gt "2011-05-13T04:42:34Z"`, ids},
			{`meta.lastModified ge "2011-05-13T04:42:34Z"`, ids},
			{`meta.lastModified lt "2011-05-13T04:42:34Z"`, nil},
			{`meta.lastModified le "2011-05-13T04:42:34Z"`, nil},
			{`title pr and userType eq "Employee"`, []string{bjensen, kim}},
			{`title pr or userType eq "Intern"`, []string{bjensen, jsmith, omalley, kim, jane, lee}},
			{`schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"`, []string{bjensen, omalley}},
			{`userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")`, []string{bjensen, jdoe}},
			{`userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")`, []string{omalley, lee}},
			{`userType eq "Employee" and (emails.type eq "work")`, []string{bjensen, jdoe, kim}},
			{`userType eq "Employee" and emails[type eq "work" and value co "@example.com"]`, []string{bjensen}},
			{`emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]`, []string{bjensen, jsmith, jane, lee}},

			// The dateTime examples with a date between the users, in UTC and with an offset.
			{`meta.lastModified gt "` + utc + `"`, []string{kim, jane, lee}},
			{`meta.lastModified ge "` + utc + `"`, []string{omalley, kim, jane, lee}},
			{`meta.lastModified lt "` + utc + `"`, []string{bjensen, jsmith, jdoe}},
			{`meta.lastModified le "` + utc + `"`, []string{bjensen, jsmith, jdoe, omalley}},
			{`meta.lastModified eq "` + inIndia + `"`, []string{omalley}},
			{`meta.created ge "` + inIndia + `"`, []string{omalley, kim, jane, lee}},
		}
		for _, tc := range cases {
			t.Run(tc.filter, func(t *testing.T) {
				expectIDs(t, filterUsers(t, c, tc.filter), tc.want...)
			})
		}
	})
}

// The semantics of filters beyond the RFC's examples: the operators, attribute kinds and
// the cases RFC 7644 leaves to the server, decided as scim.MatchFilter documents.
func TestFilterSemantics(t *testing.T) {
	forEachBackend(t, func(t *testing.T, srv *storetest.Server) {
		c := newClient(t, srv, "filter-semantics")
		ids := createSpaced(t, c,
			userBody("Émile", map[string]any{
				"externalId": "Ext-1", "title": "Éditeur", "active": false, "name": map[string]any{"givenName": "Émile", "familyName": "Zola"},
				"emails": []any{
					map[string]any{"value": "emile@example.com", "type": "work", "primary": true},
					map[string]any{"value": "zola@example.org", "type": "home"},
				},
				"phoneNumbers":     []any{map[string]any{"value": "555-0100", "type": "mobile"}},
				"x509Certificates": []any{map[string]any{"value": "QUJD"}},
				scim.EnterpriseUserSchema: map[string]any{"department": "R&D", "employeeNumber": "0042",
					"manager": map[string]any{"value": "boss-1"}},
			}),
			userBody("zoe", map[string]any{
				"externalId": "ext-1", "title": "", "nickName": "Zo",
				"emails":                  []any{map[string]any{"value": "zoe@example.com", "type": "home", "primary": false}},
				"name":                    map[string]any{"givenName": ""}, // stored as an empty name
				scim.EnterpriseUserSchema: map[string]any{"department": "Sales", "manager": map[string]any{"value": "BOSS-1"}},
			}),
			userBody("sam", nil),
		)
		emile, zoe, sam := ids[0], ids[1], ids[2]
		urnEnt := scim.EnterpriseUserSchema + ":"

		cases := []struct {
			filter string
			want   []string
		}{
			// Every comparison operator on a case-insensitive string, beyond ASCII too.
			{`userName eq "ÉMILE"`, []string{emile}},
			{`title eq "éditeur"`, []string{emile}},
			{`name.givenName co "MIL"`, []string{emile}},
			{`userName sw "é"`, []string{emile}},
			{`userName ew "OE"`, []string{zoe}},
			{`userName gt "sam"`, []string{emile, zoe}}, // "é" sorts after ASCII
			{`userName ge "SAM"`, []string{emile, zoe, sam}},
			{`userName lt "zoe"`, []string{sam}},
			{`userName le "ZOE"`, []string{zoe, sam}},
			{`userName ne "sam"`, []string{emile, zoe}},
			// caseExact attributes (RFC 7643 §3.1: id and externalId are caseExact).
			{`externalId eq "ext-1"`, []string{zoe}},
			{`externalId eq "EXT-1"`, nil},
			{`externalId sw "Ext"`, []string{emile}},
			{fmt.Sprintf("id eq %q", emile), []string{emile}},
			{fmt.Sprintf("id eq %q", strings.ToUpper(emile)), nil},
			// Binary values are case exact whatever the schema says (RFC 7643 §2.3.6).
			{`x509Certificates.value eq "QUJD"`, []string{emile}},
			{`x509Certificates.value eq "qujd"`, nil},
			// Attribute names and schema URNs are case-insensitive.
			{`NAME.GIVENNAME eq "émile"`, []string{emile}},
			{`URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER:Title pr`, []string{emile}},
			// The enterprise extension, by URN, with its sub-attributes and value paths.
			{urnEnt + `department eq "r&d"`, []string{emile}},
			{urnEnt + `employeeNumber eq "0042"`, []string{emile}},
			{urnEnt + `manager.value eq "boss-1"`, []string{emile, zoe}}, // caseExact false
			{urnEnt + `manager eq "BOSS-1"`, []string{emile, zoe}},
			{urnEnt + `manager[value sw "boss"]`, []string{emile, zoe}},
			{urnEnt + `manager pr`, []string{emile, zoe}},
			{urnEnt + `manager[not (value pr)]`, nil}, // sam has no manager: no value to test
			{`schemas eq "` + scim.EnterpriseUserSchema + `"`, []string{emile, zoe}},
			{`schemas ne "` + scim.EnterpriseUserSchema + `"`, []string{sam}},
			{`schemas co "enterprise"`, []string{emile, zoe}},
			{`schemas sw "urn:ietf:params:scim:schemas:core"`, []string{emile, zoe, sam}},
			// Booleans, also quoted; the absent "active" is true, as it is returned.
			{`active eq false`, []string{emile}},
			{`active eq true`, []string{zoe, sam}},
			{`active ne "true"`, []string{emile}},
			{`emails[primary eq true]`, []string{emile}},
			{`emails[primary eq false]`, []string{zoe}},
			{`emails.primary pr`, []string{emile, zoe}},
			// null is unassigned (RFC 7643 §2.5), "" is no value, so eq null is "not pr".
			{`title pr`, []string{emile}},
			{`title eq null`, []string{zoe, sam}},
			{`title ne null`, []string{emile}},
			{`title eq ""`, nil},
			{`name pr`, []string{emile}}, // zoe's name has no part
			{`name eq null`, []string{zoe, sam}},
			{`phoneNumbers eq null`, []string{zoe, sam}},
			{`emails.value eq null`, []string{sam}},
			{`nickName co ""`, []string{zoe}},
			// ne on a multi-valued attribute: no value equals; absent attributes are not equal.
			{`emails.type ne "home"`, []string{sam}},
			{`emails.type ne "work"`, []string{zoe, sam}},
			{`not (emails.type eq "work")`, []string{zoe, sam}},
			// Value paths, with nested logic, and the value path followed by a sub-attribute.
			{`emails[type eq "work" and value co "@example.com"]`, []string{emile}},
			{`emails[type eq "home" and not (value ew ".org")]`, []string{zoe}},
			{`emails[type eq "home" or primary eq true]`, []string{emile, zoe}},
			{`emails[type eq "work"].value eq "EMILE@example.com"`, []string{emile}},
			{`emails[type eq "home"].value ew ".com"`, []string{zoe}},
			{`emails[type eq "work"].value ew ".org"`, nil},
			{`phoneNumbers[type eq "mobile"].value pr`, []string{emile}},
			{`not (emails[type eq "work"].value pr)`, []string{zoe, sam}},
			// Precedence: and binds tighter than or; parentheses override it.
			{`userName eq "sam" or userName eq "zoe" and title pr`, []string{sam}},
			{`(userName eq "sam" or userName eq "zoe") and title eq null`, []string{zoe, sam}},
			{`not (userName eq "sam" or active eq false) and nickName pr`, []string{zoe}},
			// meta.
			{`meta.resourceType eq "User"`, []string{emile, zoe, sam}},
			{`meta.resourceType eq "Group"`, nil},
			{`meta.version eq "W/\"1\""`, []string{emile, zoe, sam}},
			{`meta.location pr`, []string{emile, zoe, sam}},
			{`meta[resourceType eq "User" and version ne "W/\"1\""]`, nil},
			{`meta.created lt "2999-01-01T00:00:00+14:00" and meta.created gt "1999-12-31t23:59:60z"`, []string{emile, zoe, sam}},
		}
		for _, tc := range cases {
			t.Run(tc.filter, func(t *testing.T) {
				expectIDs(t, filterUsers(t, c, tc.filter), tc.want...)
			})
		}

		// A change gives a new version and lastModified, which filters see.
		before := timeOf(t, mustDo(t, c, http.MethodGet, "/Users/"+sam, nil, http.StatusOK), "meta", "lastModified")
		time.Sleep(2 * time.Millisecond)
		mustDo(t, c, http.MethodPatch, "/Users/"+sam, patchBody(patchOp("replace", "title", "Boss")), http.StatusOK)
		expectIDs(t, filterUsers(t, c, `meta.version eq "W/\"2\""`), sam)
		expectIDs(t, filterUsers(t, c, `meta.lastModified gt "`+before.Format(time.RFC3339Nano)+`"`), sam)
		expectIDs(t, filterUsers(t, c, `title pr`), emile, sam)
	})
}

func TestGroupFilters(t *testing.T) {
	forEachBackend(t, func(t *testing.T, srv *storetest.Server) {
		c := newClient(t, srv, "group-filters")
		users := createSpaced(t, c, userBody("ann", nil), userBody("Bob", nil), userBody("cy", nil))
		ann, bob := users[0], users[1]
		mk := func(body map[string]any) string {
			time.Sleep(2 * time.Millisecond)
			g := mustDo(t, c, http.MethodPost, "/Groups", body, http.StatusCreated)
			return idOf(t, g)
		}
		members := func(ids ...string) []any {
			var out []any
			for _, id := range ids {
				out = append(out, map[string]any{"value": id})
			}
			return out
		}
		admins := mk(map[string]any{"schemas": []string{scim.GroupSchema}, "displayName": "Admins", "externalId": "G-1", "members": members(ann, bob)})
		readers := mk(map[string]any{"schemas": []string{scim.GroupSchema}, "displayName": "Readers", "members": members(bob)})
		empty := mk(map[string]any{"schemas": []string{scim.GroupSchema}, "displayName": "Öffentlich", "externalId": "g-1"})
		cutoff := timeOf(t, mustDo(t, c, http.MethodGet, "/Groups/"+readers, nil, http.StatusOK), "meta", "created")

		cases := []struct {
			filter string
			want   []string
		}{
			{`displayName eq "admins"`, []string{admins}},
			{`displayName sw "öff"`, []string{empty}},
			{`displayName gt "b"`, []string{readers, empty}},
			{`externalId eq "G-1"`, []string{admins}},
			{`externalId pr`, []string{admins, empty}},
			{fmt.Sprintf("id eq %q", readers), []string{readers}},
			{fmt.Sprintf("members.value eq %q", bob), []string{admins, readers}},
			{fmt.Sprintf("members.value eq %q", strings.ToUpper(ann)), []string{admins}}, // caseExact false
			{fmt.Sprintf("members eq %q", ann), []string{admins}},
			{fmt.Sprintf("members.value ne %q", ann), []string{readers, empty}},
			{`members.display eq "BOB"`, []string{admins, readers}},
			{`members[display eq "ann" or display eq "bob"]`, []string{admins, readers}},
			{fmt.Sprintf("members[value eq %q].display eq %q", bob, "Bob"), []string{admins, readers}},
			{`members[type eq "User"]`, []string{admins, readers}},
			{`members pr`, []string{admins, readers}},
			{`members eq null`, []string{empty}},
			{`members.$ref pr`, []string{admins, readers}},
			{`not (members pr) or displayName eq "Readers"`, []string{readers, empty}},
			{`schemas eq "` + scim.GroupSchema + `"`, []string{admins, readers, empty}},
			{`urn:ietf:params:scim:schemas:core:2.0:Group:displayName ew "S"`, []string{admins, readers}},
			{`meta.resourceType eq "Group"`, []string{admins, readers, empty}},
			{`meta.created ge "` + cutoff.Format(time.RFC3339Nano) + `"`, []string{readers, empty}},
			{`meta.created lt "` + cutoff.Format(time.RFC3339Nano) + `"`, []string{admins}},
		}
		for _, tc := range cases {
			t.Run(tc.filter, func(t *testing.T) {
				expectIDs(t, mustList(t, c, "/Groups?excludedAttributes=members&"+filterParam(tc.filter)), tc.want...)
			})
		}
	})
}

// Every kind of filter the server refuses is 400 invalidFilter with a detail that says
// what is wrong (RFC 7644 §3.4.2.2 and §3.12), never a 500 or a silently empty answer.
func TestFilterErrors(t *testing.T) {
	forEachBackend(t, func(t *testing.T, srv *storetest.Server) {
		c := newClient(t, srv, "filter-errors")
		createUser(t, c, userBody("someone", nil))
		urnEnt := scim.EnterpriseUserSchema + ":"
		cases := []struct {
			resource, filter, detail string
		}{
			// Syntax.
			{"Users", `userName eq`, `position 12: expected comparison value, found end of input`},
			{"Users", `userName xx "a"`, `expected comparison operator, found "xx"`},
			{"Users", `(userName eq "a"`, `expected "and", "or" or ")"`},
			{"Users", `userName eq "a" title pr`, `expected "and", "or" or end of filter, found "title"`},
			{"Users", `not userName eq "a"`, `expected "(" after "not"`},
			{"Users", `userName eq "abc`, `unterminated string literal`},
			{"Users", `emails[type eq "work"`, `expected "and", "or" or "]"`},
			{"Users", `emails[value[type pr]]`, `value filters cannot be nested`},
			{"Users", `emails[type eq "work"].`, `expected sub-attribute name after "]"`},
			{"Users", `emails[type eq "work"].value`, `expected comparison operator, found end of input`},
			// Unknown attributes.
			{"Users", `nosuch eq "x"`, `unknown attribute "nosuch" in filter`},
			{"Users", `name.nosuch pr`, `unknown attribute "name.nosuch" in filter`},
			{"Users", `department eq "x"`, `unknown attribute "department" in filter`}, // needs its URN
			{"Users", urnEnt + `nosuch eq "x"`, `unknown attribute`},
			{"Users", `urn:example:nope:userName eq "x"`, `unknown attribute "urn:example:nope:userName"`},
			{"Users", `emails[nosuch eq "x"]`, `unknown attribute "nosuch" of "emails" in filter`},
			{"Groups", `userName eq "x"`, `unknown attribute "userName" in filter`},
			{"Users", `userName[value eq "x"]`, `attribute "userName" is not complex and cannot take a value filter`},
			{"Users", `name eq "x"`, `attribute "name" is complex: compare one of its sub-attributes`},
			// Wrong value types.
			{"Users", `active eq "yes"`, `attribute "active" is of type boolean and cannot be compared with "yes"`},
			{"Users", `userName eq true`, `attribute "userName" is of type string and cannot be compared with true`},
			{"Users", `userName eq 42`, `cannot be compared with 42`},
			{"Users", `userName co 3`, `co needs a string value`},
			{"Users", `userName gt null`, `null can only be compared with eq or ne`},
			{"Users", `meta.lastModified gt "yesterday"`, `attribute "meta.lastModified" is a dateTime and needs an RFC 3339 timestamp, not "yesterday"`},
			{"Users", `meta.created eq 1305261754`, `needs an RFC 3339 timestamp, not 1305261754`},
			{"Users", `meta.created lt "2011-05-13T04:42:34"`, `needs an RFC 3339 timestamp`},
			{"Groups", `meta.created gt true`, `needs an RFC 3339 timestamp, not true`},
			{"Users", `meta.created sw "2011-05-13T04:42:34Z"`, `is a dateTime and cannot be compared with sw`},
			// RFC 7644 §3.4.2.2: gt, ge, lt and le on Boolean and Binary attributes.
			{"Users", `active gt true`, `attribute "active" is boolean and cannot be compared with gt`},
			{"Users", `active le false`, `cannot be compared with le`},
			{"Users", `emails[primary ge true]`, `attribute "primary" is boolean and cannot be compared with ge`},
			{"Users", `x509Certificates.value lt "QUJD"`, `attribute "x509Certificates.value" is binary and cannot be compared with lt`},
			// What the server renders rather than stores.
			{"Users", `groups.$ref eq "https://example.com/Groups/1"`, `"groups.$ref" can only be tested with pr`},
			{"Groups", `members[$ref co "Users"]`, `"$ref" can only be tested with pr`},
			{"Users", `meta.location eq "https://example.com/Users/1"`, `meta.location can only be tested with pr`},
			{"Users", `meta.version gt "W/\"1\""`, `meta.version can only be compared with eq, ne or pr`},
			// Over-complexity.
			{"Users", strings.Repeat("(", 33) + `title pr` + strings.Repeat(")", 33), `nesting exceeds the limit of 32 levels (MaxDepth)`},
			{"Users", strings.TrimSuffix(strings.Repeat(`title pr or `, 129), " or "), `exceeds the limit of 256 nodes (MaxNodes)`},
			{"Users", `title eq "` + strings.Repeat("x", 8200) + `"`, `longer than the limit of 8192 bytes (MaxLength)`},
		}
		for _, tc := range cases {
			t.Run(tc.filter[:min(len(tc.filter), 80)], func(t *testing.T) {
				body := expectError(t, do(t, c, http.MethodGet, "/"+tc.resource+"?"+filterParam(tc.filter), nil), http.StatusBadRequest, scim.ErrInvalidFilter)
				if d, _ := body["detail"].(string); !strings.Contains(d, tc.detail) {
					t.Fatalf("detail %q does not contain %q", d, tc.detail)
				}
			})
		}
	})
}

// The largest filters the limits allow run in the database on every backend (no SQL
// expression depth or parameter limit is reached first).
func TestFilterAtLimits(t *testing.T) {
	forEachBackend(t, func(t *testing.T, srv *storetest.Server) {
		c := newClient(t, srv, "filter-limits")
		id := idOf(t, createUser(t, c, userBody("wide", map[string]any{"emails": []any{email("work", "w@example.com")}})))
		createUser(t, c, userBody("other", nil))
		// 51 value paths of two comparisons each and the "or" nodes between them: 254 nodes.
		terms := make([]string, 51)
		for i := range terms {
			terms[i] = fmt.Sprintf(`emails[type eq "t%d" and value co "%d"]`, i, i)
		}
		terms[50] = `emails[type eq "work" and value co "w@"]`
		expectIDs(t, filterUsers(t, c, strings.Join(terms, " or ")), id)
		// 32 levels of nesting, alternating not and parentheses.
		deep := `userName eq "wide"`
		for i := range 32 {
			if i%2 == 0 {
				deep = "not (" + deep + ")"
			} else {
				deep = "(" + deep + ")"
			}
		}
		expectIDs(t, filterUsers(t, c, deep), id)
		// 127 conditions in one and-chain, each on a JSON attribute.
		conds := make([]string, 127)
		for i := range conds {
			conds[i] = fmt.Sprintf(`title ne "%d"`, i)
		}
		expectIDs(t, filterUsers(t, c, strings.Join(conds, " and ")+` and userName sw "w"`), id)
	})
}
