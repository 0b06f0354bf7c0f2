package sqlstore_test

// The property test of the filter compiler: for random users and groups and random filters
// drawn from the RFC 7644 §3.4.2.2 grammar, the store's answer (every page of ListUsers or
// ListGroups, run in the database) is the set of resources that scim.MatchFilter, the
// reference evaluator, accepts when applied to each resource exactly as the server returns
// it (GET /Users/{id}, with id, meta, schemas, active and groups). It runs on every backend
// with a fixed seed, so a failure reproduces, and reports the filter and the differing ids.

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/scimd/scimd/internal/scim"
	"github.com/scimd/scimd/internal/scimclient"
	"github.com/scimd/scimd/internal/store"
	"github.com/scimd/scimd/internal/storetest"
)

const (
	propSeed      = 20240611
	propUsers     = 48
	propGroups    = 12
	propFilters   = 320 // user filters per backend
	propGroupFlts = 120 // group filters per backend
	propPageSize  = 7   // small, so that most answers take several pages
)

// Pools of attribute values: users are built from them and filters compare with them (in
// other cases, cut into substrings), so that most comparisons have a chance to match.
// They mix case, non-ASCII letters whose case folds ("É", "Σ", "Ö") and empty strings.
var (
	poolWords   = []string{"Barbara", "barbara", "BARBARA", "Jensen", "jensen", "O'Malley", "o'malley", "Émile", "émile", "ÉMILE", "Zoë", "ZOË", "Σίσυφος", "σίσυφος", "Smith", "Ann", "Lee", "Öz", "a", "B", ""}
	poolDomains = []string{"example.com", "Example.COM", "jensen.org", "foo.com", "exämple.org"}
	poolTitles  = []string{"Tour Guide", "tour guide", "VP", "vp", "Engineer", "Éditeur", ""}
	poolTypes   = []string{"Employee", "employee", "EMPLOYEE", "Intern", "Contractor"}
	poolExt     = []string{"ext-A", "EXT-a", "ext-b", "701984", ""}
	poolEmailT  = []string{"work", "Work", "home", "other", "WORK"}
	poolPhoneT  = []string{"work", "mobile", "Home"}
	poolImT     = []string{"xmpp", "aim", "XMPP"}
	poolDept    = []string{"Tour Operations", "tour operations", "R&D", "Sales", "Émission", ""}
	poolEmpNo   = []string{"701984", "0123", "A-17", "a-17"}
	poolCost    = []string{"4130", "CC-1", "cc-1"}
	poolOrg     = []string{"Universal Studios", "universal studios", "Acme"}
	poolMgr     = []string{"m-1", "M-1", "m-2", "26118915-6090-4610-87e4-49d8ca9f808d"}
	poolCountry = []string{"USA", "usa", "DE", "Österreich"}
	poolCity    = []string{"Hollywood", "hollywood", "Berlin", "Wien"}
	poolLocale  = []string{"en-US", "en-us", "de-AT", "fr"}
	poolTZ      = []string{"America/Los_Angeles", "Europe/Vienna", "europe/vienna"}
	poolURL     = []string{"https://login.example.com/bjensen", "https://Login.Example.com/BJensen", "http://x.test/"}
	poolCert    = []string{"QUJD", "qujd", "TUlJQg==", "tuljqg=="}
	poolGroupDN = []string{"Admins", "admins-eu", "Tour Guides", "Émile's Team", "ops", "OPS-US", "Σ Group", "Readers", "σ-Ops", "Öffentlich", "tour operators", "ADMINS-APAC"}
	poolDisplay = []string{"Babs Jensen", "babs jensen", "Émile Zola", "Jim", ""}
	poolRefURL  = []string{"https://example.com/v2/Users/m-1", "https://EXAMPLE.com/v2/Users/M-1"}
)

type propRand struct{ *rand.Rand }

func (r propRand) pick(pool []string) string { return pool[r.IntN(len(pool))] }
func (r propRand) chance(p float64) bool     { return r.Float64() < p }

// mangleCase writes an attribute name the way a careless client might: attribute names
// are case-insensitive (RFC 7643 §2.1).
func (r propRand) mangleCase(s string) string {
	switch r.IntN(6) {
	case 0:
		return strings.ToUpper(s)
	case 1:
		return strings.ToLower(s)
	}
	return s
}

func (r propRand) maybe(p float64, v any) any {
	if r.chance(p) {
		return v
	}
	return nil
}

// randomUser builds a User request body; absent attributes are left out (nil values are
// dropped before sending).
func randomUser(r propRand, i int) map[string]any {
	name := map[string]any{}
	for _, sub := range []string{"givenName", "familyName", "middleName", "formatted", "honorificPrefix"} {
		if r.chance(0.45) {
			name[sub] = r.pick(poolWords)
		}
	}
	multi := func(n int, mk func(k int) map[string]any) []any {
		var out []any
		for k := range r.IntN(n + 1) {
			out = append(out, mk(k))
		}
		return out
	}
	primaryTaken := false
	emails := multi(3, func(int) map[string]any {
		e := map[string]any{"value": strings.ToLower(r.pick(poolWords)) + fmt.Sprint(r.IntN(3)) + "@" + r.pick(poolDomains)}
		if r.chance(0.8) {
			e["type"] = r.pick(poolEmailT)
		}
		if r.chance(0.3) {
			e["display"] = r.pick(poolDisplay)
		}
		if !primaryTaken && r.chance(0.4) {
			e["primary"] = true
			primaryTaken = true
		} else if r.chance(0.2) {
			e["primary"] = false
		}
		return e
	})
	if len(emails) > 0 && r.chance(0.2) {
		emails = append(emails, map[string]any{"type": r.pick(poolEmailT)}) // an e-mail without a value
	}
	phones := multi(2, func(k int) map[string]any {
		return map[string]any{"value": fmt.Sprintf("555-%04d", r.IntN(4)), "type": r.pick(poolPhoneT)}
	})
	ims := multi(2, func(int) map[string]any {
		m := map[string]any{"value": strings.ToLower(r.pick(poolWords)) + "@" + r.pick(poolDomains)}
		if r.chance(0.7) {
			m["type"] = r.pick(poolImT)
		}
		return m
	})
	addrs := multi(2, func(k int) map[string]any {
		a := map[string]any{"locality": r.pick(poolCity), "country": r.pick(poolCountry), "type": r.pick(poolEmailT)}
		if k == 0 && r.chance(0.5) {
			a["primary"] = true
		}
		return a
	})
	certs := multi(1, func(int) map[string]any { return map[string]any{"value": r.pick(poolCert)} })

	u := map[string]any{
		"schemas":           []any{scim.UserSchema},
		"userName":          fmt.Sprintf("%s.%d@%s", r.pick(poolWords), i, r.pick(poolDomains)),
		"externalId":        r.maybe(0.6, r.pick(poolExt)),
		"displayName":       r.maybe(0.5, r.pick(poolDisplay)),
		"nickName":          r.maybe(0.3, r.pick(poolWords)),
		"title":             r.maybe(0.5, r.pick(poolTitles)),
		"userType":          r.maybe(0.6, r.pick(poolTypes)),
		"locale":            r.maybe(0.3, r.pick(poolLocale)),
		"timezone":          r.maybe(0.3, r.pick(poolTZ)),
		"preferredLanguage": r.maybe(0.2, r.pick(poolLocale)),
		"profileUrl":        r.maybe(0.3, r.pick(poolURL)),
	}
	if len(name) > 0 || r.chance(0.1) {
		u["name"] = name // possibly {}, or all of its parts "", which is stored as {}
	}
	switch r.IntN(4) {
	case 0:
		u["active"] = true
	case 1:
		u["active"] = false
	case 2:
		u["active"] = "False" // as Microsoft Entra ID sends it
	}
	for k, v := range map[string][]any{"emails": emails, "phoneNumbers": phones, "ims": ims, "addresses": addrs, "x509Certificates": certs} {
		if len(v) > 0 {
			u[k] = v
		}
	}
	if r.chance(0.6) {
		ent := map[string]any{
			"department":     r.maybe(0.6, r.pick(poolDept)),
			"employeeNumber": r.maybe(0.5, r.pick(poolEmpNo)),
			"costCenter":     r.maybe(0.3, r.pick(poolCost)),
			"organization":   r.maybe(0.4, r.pick(poolOrg)),
			"division":       r.maybe(0.2, r.pick(poolOrg)),
		}
		if r.chance(0.5) {
			m := map[string]any{}
			if r.chance(0.8) {
				m["value"] = r.pick(poolMgr)
			}
			if r.chance(0.3) {
				m["$ref"] = r.pick(poolRefURL)
			}
			ent["manager"] = m
		}
		u[scim.EnterpriseUserSchema] = ent
		u["schemas"] = []any{scim.UserSchema, scim.EnterpriseUserSchema}
	}
	return dropNil(u)
}

func dropNil(m map[string]any) map[string]any {
	for k, v := range m {
		switch x := v.(type) {
		case nil:
			delete(m, k)
		case map[string]any:
			m[k] = dropNil(x)
		}
	}
	return m
}

// propWorld is what one backend holds: the resources as served, for the evaluator.
type propWorld struct {
	st       store.Store
	tenantID string
	users    []map[string]any // GET /Users/{id}
	groups   []map[string]any // GET /Groups/{id}
	userIDs  []string
	groupIDs []string
	times    []time.Time // every meta.created and meta.lastModified
}

func mustSend(t *testing.T, c *scimclient.Client, method, path string, body any, want int) map[string]any {
	t.Helper()
	resp, err := c.Do(context.Background(), method, path, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	if resp.Status != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.Status, want, resp.Body)
	}
	if resp.Status == http.StatusNoContent {
		return nil
	}
	m, err := resp.JSON()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// seedWorld creates the users and groups through the HTTP API, so that they are stored as
// a client's would be, then changes some so that lastModified and version vary. A second
// tenant gets look-alike users that no filter of the first may return.
func seedWorld(t *testing.T, b storetest.Backend) *propWorld {
	st := b.Open(t)
	srv := storetest.StartServer(t, st)
	tn := srv.NewTenant(t, "prop")
	other := srv.NewTenant(t, "prop-other")
	r := propRand{rand.New(rand.NewPCG(propSeed, 1))}
	w := &propWorld{st: st, tenantID: tn.ID}
	for i := range propUsers {
		u := randomUser(r, i)
		created := mustSend(t, tn.Client, http.MethodPost, "/Users", u, http.StatusCreated)
		w.userIDs = append(w.userIDs, created["id"].(string))
		if i%8 == 0 {
			mustSend(t, other.Client, http.MethodPost, "/Users", u, http.StatusCreated)
		}
	}
	for i := range propGroups {
		var members []any
		for _, id := range w.userIDs {
			if r.chance(0.25) {
				members = append(members, map[string]any{"value": id})
			}
		}
		g := map[string]any{"schemas": []any{scim.GroupSchema}, "displayName": poolGroupDN[i], "members": members}
		if r.chance(0.6) {
			g["externalId"] = r.pick(poolExt)
		}
		created := mustSend(t, tn.Client, http.MethodPost, "/Groups", g, http.StatusCreated)
		w.groupIDs = append(w.groupIDs, created["id"].(string))
	}
	// Later changes: a new lastModified and version for some users and groups.
	for i, id := range w.userIDs {
		if i%3 == 0 {
			op := map[string]any{"op": "replace", "path": "title", "value": r.pick(poolTitles[:len(poolTitles)-1])}
			mustSend(t, tn.Client, http.MethodPatch, "/Users/"+id, map[string]any{"schemas": []any{scim.PatchOpSchema}, "Operations": []any{op}}, http.StatusOK)
		}
	}
	for i, id := range w.groupIDs {
		if i%2 == 0 {
			op := map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": w.userIDs[i]}}}
			resp, err := tn.Client.Do(context.Background(), http.MethodPatch, "/Groups/"+id, map[string]any{"schemas": []any{scim.PatchOpSchema}, "Operations": []any{op}})
			if err != nil || (resp.Status != http.StatusOK && resp.Status != http.StatusNoContent) {
				t.Fatalf("PATCH group: %v %v", err, resp)
			}
		}
	}
	for _, id := range w.userIDs {
		u := mustSend(t, tn.Client, http.MethodGet, "/Users/"+id, nil, http.StatusOK)
		w.users = append(w.users, u)
		w.times = append(w.times, servedTimes(t, u)...)
	}
	for _, id := range w.groupIDs {
		g := mustSend(t, tn.Client, http.MethodGet, "/Groups/"+id, nil, http.StatusOK)
		w.groups = append(w.groups, g)
		w.times = append(w.times, servedTimes(t, g)...)
	}
	return w
}

func servedTimes(t *testing.T, res map[string]any) []time.Time {
	var out []time.Time
	for _, k := range []string{"created", "lastModified"} {
		s, _ := res["meta"].(map[string]any)[k].(string)
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatalf("meta.%s = %q: %v", k, s, err)
		}
		out = append(out, tm)
	}
	return out
}

// ---- the filter grammar ----

type valueKind int

const (
	kString       valueKind = iota
	kBool                   // eq, ne
	kBinary                 // no ordering (RFC 7644 §3.4.2.2)
	kTime                   // chronological
	kVersion                // meta.version: eq, ne
	kResourceType           // meta.resourceType, compared in the compiler
	kSchemas                // the schemas list
	kPresentOnly            // pr and null only: $ref of a relation, meta.location
	kComplex                // a complex attribute as a whole: pr and null only
)

// attrSpec is an attribute a filter may name: its path as written (the last dot separates
// the sub-attribute), how its values compare and where its values come from.
type attrSpec struct {
	path string
	kind valueKind
	pool func(w *propWorld) []string
	subs []attrSpec // the sub-attributes usable in a value path, for a complex attribute
}

func fixed(pool []string) func(*propWorld) []string { return func(*propWorld) []string { return pool } }

func emailValues(*propWorld) []string {
	var out []string
	for _, w := range poolWords[:6] {
		for _, d := range poolDomains {
			out = append(out, strings.ToLower(w)+"0@"+d)
		}
	}
	return out
}

func userIDs(w *propWorld) []string {
	return append(slices.Clone(w.userIDs), strings.ToUpper(w.userIDs[0]), "no-such-id")
}

func groupIDs(w *propWorld) []string {
	return append(slices.Clone(w.groupIDs), strings.ToUpper(w.groupIDs[1]), "no-such-id")
}

func userNames(w *propWorld) []string {
	var out []string
	for _, u := range w.users {
		out = append(out, u["userName"].(string))
	}
	return out
}

const (
	coreUserURN = "urn:ietf:params:scim:schemas:core:2.0:User:"
	entURN      = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:"
	coreGrpURN  = "urn:ietf:params:scim:schemas:core:2.0:Group:"
)

var metaSpec = attrSpec{path: "meta", kind: kComplex, subs: []attrSpec{
	{path: "created", kind: kTime}, {path: "lastModified", kind: kTime},
	{path: "resourceType", kind: kResourceType, pool: fixed([]string{"User", "user", "Group", "Use", "ser", "USER"})},
	{path: "version", kind: kVersion}, {path: "location", kind: kPresentOnly},
}}

func metaSpecs() []attrSpec {
	out := []attrSpec{metaSpec}
	for _, s := range metaSpec.subs {
		s.path = "meta." + s.path
		out = append(out, s)
	}
	return out
}

func mvComplex(name string, valueKind valueKind, value, types func(*propWorld) []string) []attrSpec {
	subs := []attrSpec{{path: "value", kind: valueKind, pool: value}, {path: "type", kind: kString, pool: types},
		{path: "display", kind: kString, pool: fixed(poolDisplay)}, {path: "primary", kind: kBool}}
	out := []attrSpec{{path: name, kind: kComplex, subs: subs}, {path: name, kind: valueKind, pool: value}}
	for _, s := range subs {
		s.path = name + "." + s.path
		out = append(out, s)
	}
	return out
}

func userSpecs() []attrSpec {
	specs := []attrSpec{
		{path: "userName", kind: kString, pool: userNames},
		{path: "id", kind: kString, pool: userIDs},
		{path: "externalId", kind: kString, pool: fixed(poolExt)},
		{path: "displayName", kind: kString, pool: fixed(poolDisplay)},
		{path: "nickName", kind: kString, pool: fixed(poolWords)},
		{path: "title", kind: kString, pool: fixed(poolTitles)},
		{path: "userType", kind: kString, pool: fixed(poolTypes)},
		{path: "locale", kind: kString, pool: fixed(poolLocale)},
		{path: "timezone", kind: kString, pool: fixed(poolTZ)},
		{path: "preferredLanguage", kind: kString, pool: fixed(poolLocale)},
		{path: "profileUrl", kind: kString, pool: fixed(poolURL)},
		{path: "active", kind: kBool},
		{path: "schemas", kind: kSchemas, pool: fixed([]string{scim.UserSchema, scim.EnterpriseUserSchema, strings.ToUpper(scim.EnterpriseUserSchema), "urn:ietf:params:scim:schemas:", "enterprise:2.0:User", ":User", "urn:nope"})},
		{path: "password", kind: kPresentOnly},
	}
	name := attrSpec{path: "name", kind: kComplex}
	for _, s := range []string{"givenName", "familyName", "middleName", "formatted", "honorificPrefix", "honorificSuffix"} {
		name.subs = append(name.subs, attrSpec{path: s, kind: kString, pool: fixed(poolWords)})
		specs = append(specs, attrSpec{path: "name." + s, kind: kString, pool: fixed(poolWords)})
	}
	specs = append(specs, name)
	specs = append(specs, mvComplex("emails", kString, emailValues, fixed(poolEmailT))...)
	specs = append(specs, mvComplex("phoneNumbers", kString, fixed([]string{"555-0000", "555-0001", "555-0003", "555"}), fixed(poolPhoneT))...)
	specs = append(specs, mvComplex("ims", kString, emailValues, fixed(poolImT))...)
	specs = append(specs, mvComplex("x509Certificates", kBinary, fixed(poolCert), fixed(poolEmailT))...)
	addr := attrSpec{path: "addresses", kind: kComplex, subs: []attrSpec{
		{path: "locality", kind: kString, pool: fixed(poolCity)}, {path: "country", kind: kString, pool: fixed(poolCountry)},
		{path: "type", kind: kString, pool: fixed(poolEmailT)}, {path: "primary", kind: kBool},
		{path: "postalCode", kind: kString, pool: fixed([]string{"1010"})},
	}}
	specs = append(specs, addr)
	for _, s := range addr.subs {
		specs = append(specs, attrSpec{path: "addresses." + s.path, kind: s.kind, pool: s.pool})
	}
	groupNames := fixed(append(slices.Clone(poolGroupDN), "ADMINS", "tour", "Readers2"))
	groups := attrSpec{path: "groups", kind: kComplex, subs: []attrSpec{
		{path: "value", kind: kString, pool: groupIDs}, {path: "display", kind: kString, pool: groupNames},
		{path: "type", kind: kString, pool: fixed([]string{"direct", "Direct", "indirect", "dir"})}, {path: "$ref", kind: kPresentOnly},
	}}
	specs = append(specs, groups, attrSpec{path: "groups", kind: kString, pool: groupIDs})
	for _, s := range groups.subs {
		specs = append(specs, attrSpec{path: "groups." + s.path, kind: s.kind, pool: s.pool})
	}
	ent := []attrSpec{
		{path: "department", kind: kString, pool: fixed(poolDept)},
		{path: "employeeNumber", kind: kString, pool: fixed(poolEmpNo)},
		{path: "costCenter", kind: kString, pool: fixed(poolCost)},
		{path: "organization", kind: kString, pool: fixed(poolOrg)},
		{path: "division", kind: kString, pool: fixed(poolOrg)},
		{path: "manager", kind: kString, pool: fixed(poolMgr)},
		{path: "manager.value", kind: kString, pool: fixed(poolMgr)},
		{path: "manager.$ref", kind: kString, pool: fixed(poolRefURL)},
		{path: "manager.displayName", kind: kString, pool: fixed(poolDisplay)},
		{path: "manager", kind: kComplex, subs: []attrSpec{
			{path: "value", kind: kString, pool: fixed(poolMgr)}, {path: "$ref", kind: kString, pool: fixed(poolRefURL)},
			{path: "displayName", kind: kString, pool: fixed(poolDisplay)},
		}},
	}
	for _, s := range ent {
		s.path = entURN + s.path
		specs = append(specs, s)
	}
	return append(specs, metaSpecs()...)
}

func groupSpecs() []attrSpec {
	members := attrSpec{path: "members", kind: kComplex, subs: []attrSpec{
		{path: "value", kind: kString, pool: userIDs}, {path: "display", kind: kString, pool: userNames},
		{path: "type", kind: kString, pool: fixed([]string{"User", "user", "Group", "Us"})}, {path: "$ref", kind: kPresentOnly},
	}}
	specs := []attrSpec{
		{path: "displayName", kind: kString, pool: fixed(append(slices.Clone(poolGroupDN), "admins", "OPS", "Σ"))},
		{path: "id", kind: kString, pool: groupIDs},
		{path: "externalId", kind: kString, pool: fixed(poolExt)},
		{path: "schemas", kind: kSchemas, pool: fixed([]string{scim.GroupSchema, strings.ToLower(scim.GroupSchema), scim.UserSchema, "Group"})},
		members, {path: "members", kind: kString, pool: userIDs},
	}
	for _, s := range members.subs {
		specs = append(specs, attrSpec{path: "members." + s.path, kind: s.kind, pool: s.pool})
	}
	for _, s := range metaSpecs() {
		if s.kind == kResourceType {
			s.pool = fixed([]string{"Group", "group", "User", "Gro"})
		}
		specs = append(specs, s)
	}
	return specs
}

type filterGen struct {
	r       propRand
	w       *propWorld
	specs   []attrSpec
	coreURN string
}

// spell writes a path with random case and, for a core or common attribute, sometimes its
// schema URN (RFC 7644 §3.10).
func (g *filterGen) spell(path string) string {
	urn := ""
	if strings.HasPrefix(path, "urn:") {
		i := strings.LastIndex(path, ":")
		urn, path = path[:i+1], path[i+1:]
		if g.r.chance(0.2) {
			urn = strings.ToUpper(urn[:4]) + urn[4:]
		}
	} else if path != "schemas" && g.r.chance(0.15) {
		urn = g.coreURN
	}
	return urn + g.r.mangleCase(path)
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func (g *filterGen) stringValue(pool []string, op string) string {
	v := g.r.pick(pool)
	if g.r.chance(0.08) {
		v = g.r.pick([]string{"zzz", "", "@", "É", "a"})
	}
	switch g.r.IntN(4) {
	case 0:
		v = strings.ToUpper(v)
	case 1:
		v = strings.ToLower(v)
	}
	runes := []rune(v)
	if len(runes) > 0 {
		switch op {
		case "sw":
			v = string(runes[:1+g.r.IntN(len(runes))])
		case "ew":
			v = string(runes[g.r.IntN(len(runes)):])
		case "co":
			i := g.r.IntN(len(runes))
			v = string(runes[i : i+1+g.r.IntN(len(runes)-i)])
		}
	}
	return quote(v)
}

func (g *filterGen) timeValue() string {
	var tm time.Time
	switch g.r.IntN(10) {
	case 0:
		return quote(g.r.pick([]string{"1900-01-01T00:00:00Z", "2999-12-31T23:59:59.999Z", "2011-05-13t04:42:34z", "0001-01-01T00:00:00Z"}))
	default:
		tm = g.w.times[g.r.IntN(len(g.w.times))]
	}
	tm = tm.Add(time.Duration(g.r.IntN(5)-2) * []time.Duration{time.Nanosecond, time.Microsecond, time.Millisecond}[g.r.IntN(3)])
	zones := []*time.Location{time.UTC, time.FixedZone("", 5*3600+1800), time.FixedZone("", -8*3600)}
	return quote(tm.In(zones[g.r.IntN(len(zones))]).Format(time.RFC3339Nano))
}

var (
	stringOps = []string{"eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"}
	timeOps   = []string{"eq", "ne", "gt", "ge", "lt", "le"}
)

// comparison renders "<name> <op> <value>" or "<name> pr" for an attribute spec.
func (g *filterGen) comparison(name string, s attrSpec) string {
	if g.r.chance(0.12) || s.kind == kPresentOnly || s.kind == kComplex {
		switch g.r.IntN(3) {
		case 0:
			return name + " pr"
		case 1:
			return name + " eq null"
		}
		return name + " ne null"
	}
	op := g.r.pick(stringOps)
	switch s.kind {
	case kBool:
		op = g.r.pick([]string{"eq", "ne"})
		return name + " " + op + " " + g.r.pick([]string{"true", "false", `"true"`, `"False"`, "TRUE"})
	case kBinary:
		op = g.r.pick(stringOps[:5])
	case kTime:
		op = g.r.pick(timeOps)
		return name + " " + op + " " + g.timeValue()
	case kVersion:
		op = g.r.pick([]string{"eq", "ne"})
		return name + " " + op + " " + quote(g.r.pick([]string{`W/"1"`, `W/"2"`, `W/"3"`, `"1"`, `w/"1"`, `W/"01"`}))
	}
	return name + " " + op + " " + g.stringValue(s.pool(g.w), op)
}

// leaf is one attribute expression: a comparison, a presence test or a value path.
func (g *filterGen) leaf() string {
	s := g.specs[g.r.IntN(len(g.specs))]
	if s.subs == nil || g.r.chance(0.3) {
		return g.comparison(g.spell(s.path), s)
	}
	inner := g.valueFilter(s.subs, 2)
	vp := g.spell(s.path) + "[" + inner + "]"
	if g.r.chance(0.25) {
		// The non-ABNF form `emails[type eq "work"].value eq "x"`.
		sub := s.subs[g.r.IntN(len(s.subs))]
		return vp + "." + g.comparison(g.r.mangleCase(sub.path), sub)
	}
	return vp
}

func (g *filterGen) valueFilter(subs []attrSpec, depth int) string {
	if depth == 0 || g.r.chance(0.5) {
		s := subs[g.r.IntN(len(subs))]
		return g.comparison(g.r.mangleCase(s.path), s)
	}
	switch g.r.IntN(4) {
	case 0:
		return "not (" + g.valueFilter(subs, depth-1) + ")"
	case 1:
		return g.valueFilter(subs, depth-1) + " or " + g.valueFilter(subs, depth-1)
	}
	return "(" + g.valueFilter(subs, depth-1) + ") and " + g.valueFilter(subs, depth-1)
}

func (g *filterGen) filter(depth int) string {
	if depth == 0 || g.r.chance(0.35) {
		return g.leaf()
	}
	switch g.r.IntN(5) {
	case 0:
		return "not (" + g.filter(depth-1) + ")"
	case 1:
		return "(" + g.filter(depth-1) + ")"
	case 2:
		return g.filter(depth-1) + " or " + g.filter(depth-1)
	}
	return g.filter(depth-1) + g.r.pick([]string{" and ", " AND ", " and "}) + g.filter(depth-1)
}

// ---- running filters ----

func listAll(ctx context.Context, st store.Store, tenantID string, users bool, f scim.Filter) ([]string, error) {
	var out []string
	for start := 1; ; start += propPageSize {
		q := store.ListQuery{Filter: f, StartIndex: start, Count: propPageSize}
		var ids []string
		var total int
		if users {
			p, err := st.ListUsers(ctx, tenantID, q)
			if err != nil {
				return nil, err
			}
			for _, u := range p.Items {
				ids = append(ids, u.ID)
			}
			total = p.Total
		} else {
			p, err := st.ListGroups(ctx, tenantID, q)
			if err != nil {
				return nil, err
			}
			for _, g := range p.Items {
				ids = append(ids, g.ID)
			}
			total = p.Total
		}
		out = append(out, ids...)
		if len(ids) < propPageSize || len(out) >= total {
			if len(out) != total {
				return nil, fmt.Errorf("pages hold %d resources but totalResults is %d", len(out), total)
			}
			return out, nil
		}
	}
}

type listSQLer interface {
	ListSQL(resource, tenantID string, f scim.Filter) (count, page string, args []any, err error)
}

// checkFilters runs n random filters and reports every disagreement between the store and
// the evaluator (up to a few, with the filter, the SQL and the differing resources).
func checkFilters(t *testing.T, w *propWorld, users bool, n, depth int, seed uint64) {
	t.Helper()
	rt, served, ids, specs, urn, resource := scim.NewUserResourceType(), w.users, w.userIDs, userSpecs(), coreUserURN, "Users"
	if !users {
		rt, served, ids, specs, urn, resource = scim.NewGroupResourceType(), w.groups, w.groupIDs, groupSpecs(), coreGrpURN, "Groups"
	}
	g := &filterGen{r: propRand{rand.New(rand.NewPCG(propSeed, seed))}, w: w, specs: specs, coreURN: urn}
	ctx := context.Background()
	failures, nonTrivial := 0, 0
	for i := range n {
		text := g.filter(depth)
		f, err := scim.ParseFilter(text)
		if err != nil {
			t.Fatalf("filter %d %s: generated filter does not parse: %v", i, text, err)
		}
		if err := scim.ResolveFilter(rt, f); err != nil {
			t.Fatalf("filter %d %s: generated filter does not resolve: %v", i, text, err)
		}
		var want []string
		for k, res := range served {
			if scim.MatchFilter(f, res) {
				want = append(want, ids[k])
			}
		}
		got, err := listAll(ctx, w.st, w.tenantID, users, f)
		if err != nil {
			t.Errorf("filter %d %s: store: %v", i, text, err)
			failures++
		} else if missing, extra := diff(want, got); len(missing)+len(extra) > 0 {
			failures++
			sqlText := ""
			if ls, ok := w.st.(listSQLer); ok {
				_, page, args, _ := ls.ListSQL(resource, w.tenantID, f)
				sqlText = fmt.Sprintf("\n  SQL: %s\n  args: %v", page, args)
			}
			t.Errorf("filter %d disagrees with scim.MatchFilter: %s\n  evaluator only (missing from the store): %s\n  store only: %s%s",
				i, text, describeIDs(missing, ids, served), describeIDs(extra, ids, served), sqlText)
		}
		if len(want) > 0 && len(want) < len(served) {
			nonTrivial++
		}
		if failures >= 5 {
			t.Fatalf("stopping after %d failures", failures)
		}
	}
	// The generator must produce filters that tell resources apart, or the test proves little.
	if nonTrivial < n/4 {
		t.Errorf("only %d of %d filters matched some but not all resources", nonTrivial, n)
	}
	t.Logf("%d %s filters, %d with a non-trivial answer", n, resource, nonTrivial)
}

func diff(want, got []string) (missing, extra []string) {
	w, g := map[string]bool{}, map[string]int{}
	for _, id := range want {
		w[id] = true
	}
	for _, id := range got {
		g[id]++
		if !w[id] || g[id] > 1 {
			extra = append(extra, id)
		}
	}
	for _, id := range want {
		if g[id] == 0 {
			missing = append(missing, id)
		}
	}
	return missing, extra
}

func describeIDs(diff, ids []string, served []map[string]any) string {
	if len(diff) == 0 {
		return "none"
	}
	sort.Strings(diff)
	var b strings.Builder
	for _, id := range diff {
		k := slices.Index(ids, id)
		if k < 0 {
			fmt.Fprintf(&b, "\n    %s (not a resource of this tenant)", id)
			continue
		}
		doc, _ := json.Marshal(served[k])
		s := string(doc)
		if utf8.RuneCountInString(s) > 1500 {
			s = string([]rune(s)[:1500]) + "…"
		}
		fmt.Fprintf(&b, "\n    %s %s", id, s)
	}
	return b.String()
}

func TestFilterMatchesEvaluator(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			w := seedWorld(t, b)
			t.Run("Users", func(t *testing.T) { checkFilters(t, w, true, propFilters, 3, 2) })
			// Groups have few attributes: shallower filters keep most answers non-trivial.
			t.Run("Groups", func(t *testing.T) { checkFilters(t, w, false, propGroupFlts, 2, 3) })
		})
	}
}
