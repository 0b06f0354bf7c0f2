package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"

	"github.com/scimd/scimd/internal/scimclient"
	"github.com/scimd/scimd/internal/storetest"
)

// soakTenant is one tenant of the soak run, with what it owns.
type soakTenant struct {
	name             string
	client           *scimclient.Client
	users, groups    []string
	canary           string // a userName only this tenant has
	otherIDs, others []string
}

// TestHostileSoak sends 10,000 random and mutated requests per store (fewer under the
// race detector) as three tenants: bodies with wrong types, NUL and invalid UTF-8 in
// every position, over-long strings, deep nesting, duplicate keys; paths with other
// tenants' ids, encoded garbage and dot segments; garbage query strings, headers and
// content types. No answer may be a 5xx, none may carry another tenant's data, and at the
// end each tenant's users and groups are consistent.
func TestHostileSoak(t *testing.T) {
	n := 10000
	if raceDetector {
		n = 1500
	}
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			srv := storetest.StartServer(t, b.Open(t))
			var tenants []*soakTenant
			for i := range 3 {
				tn := &soakTenant{name: fmt.Sprintf("soak%d", i), client: newClient(t, srv, fmt.Sprintf("soak%d", i))}
				tn.canary = fmt.Sprintf("canary-%d-%s@x.example", i, strings.Repeat("z", 8))
				tn.users = append(tn.users, idOf(t, createUser(t, tn.client, userBody(tn.canary, nil))))
				for j := range 4 {
					tn.users = append(tn.users, idOf(t, createUser(t, tn.client, userBody(fmt.Sprintf("u%d-%d@x.example", i, j), nil))))
				}
				g := mustDo(t, tn.client, http.MethodPost, "/Groups", map[string]any{"displayName": fmt.Sprintf("G%d", i),
					"members": []any{map[string]any{"value": tn.users[1]}}}, http.StatusCreated)
				tn.groups = append(tn.groups, idOf(t, g))
				tenants = append(tenants, tn)
			}
			for i, tn := range tenants {
				for j, o := range tenants {
					if i != j {
						tn.otherIDs = append(tn.otherIDs, append(append([]string(nil), o.users...), o.groups...)...)
						tn.others = append(tn.others, o.canary)
					}
				}
			}
			rng := rand.New(rand.NewPCG(1, uint64(len(b.Name))))
			statuses := map[int]int{}
			for i := range n {
				tn := tenants[rng.IntN(len(tenants))]
				req, sent := hostileRequest(rng, tn)
				resp, err := tn.client.Send(context.Background(), req)
				if err != nil {
					t.Fatalf("request %d %s %s: %v", i, req.Method, req.Path, err)
				}
				statuses[resp.Status]++
				// /Me is 501 Not Implemented by design (docs/behaviour.md); nothing else may be 5xx.
				if resp.Status >= 500 && !(resp.Status == http.StatusNotImplemented && strings.HasPrefix(req.Path, "/Me")) {
					t.Fatalf("request %d %s %s %q: %d %s", i, req.Method, req.Path, clip(sent), resp.Status, resp.Body)
				}
				for _, leak := range append(append([]string(nil), tn.others...), tn.otherIDs...) {
					if bytes.Contains(resp.Body, []byte(leak)) && !strings.Contains(req.Path, leak) && !bytes.Contains(sent, []byte(leak)) {
						t.Fatalf("request %d %s %s by %s answered another tenant's %q: %s", i, req.Method, req.Path, tn.name, leak, resp.Body)
					}
				}
			}
			t.Logf("%d requests, statuses %v", n, statuses)
			// Consistency: every tenant's list agrees with its total, and every member of every
			// group is a user of that tenant.
			for _, tn := range tenants {
				l := mustList(t, tn.client, "/Users?count=1000")
				if l.Total != len(l.Resources) {
					t.Fatalf("%s: totalResults %d, %d users listed", tn.name, l.Total, len(l.Resources))
				}
				users := map[string]bool{}
				for _, u := range l.Resources {
					users[idOf(t, u)] = true
				}
				for _, g := range mustList(t, tn.client, "/Groups?count=1000").Resources {
					full := mustDo(t, tn.client, http.MethodGet, "/Groups/"+idOf(t, g), nil, http.StatusOK)
					members, _ := full["members"].([]any)
					for _, m := range members {
						if id := m.(map[string]any)["value"].(string); !users[id] {
							t.Fatalf("%s: group %s has member %s, not a user of the tenant", tn.name, idOf(t, g), id)
						}
					}
				}
			}
		})
	}
}

// hostileStrings are values that break parsers, databases and renderers.
var hostileStrings = []string{
	"", " ", "a\x00b", "\x00", "\xff\xfe", "\xc3\x28", "%00", "%ff", "💥", strings.Repeat("x", 3000), strings.Repeat("é", 70000),
	`"`, `\`, "' OR 1=1 --", "); DROP TABLE users; --", "<script>alert(1)</script>", "\u202e", "\r\n", "null", "{}", "[]",
}

func hostileValue(rng *rand.Rand, depth int) any {
	switch rng.IntN(9) {
	case 0:
		return hostileStrings[rng.IntN(len(hostileStrings))]
	case 1:
		return rng.IntN(3) == 0
	case 2:
		return json.Number(fmt.Sprint(rng.Int64() - rng.Int64()))
	case 3:
		return nil
	case 4:
		if depth > 0 {
			var a []any
			for range rng.IntN(4) {
				a = append(a, hostileValue(rng, depth-1))
			}
			return a
		}
	case 5:
		if depth > 0 {
			m := map[string]any{}
			for range rng.IntN(4) {
				m[hostileKey(rng)] = hostileValue(rng, depth-1)
			}
			return m
		}
	}
	return fmt.Sprintf("v%d", rng.IntN(1000))
}

var soakKeys = []string{"userName", "displayName", "active", "emails", "name", "members", "externalId", "schemas", "meta", "id",
	"groups", "title", "password", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", "Operations", "op", "path", "value",
	"USERNAME", "emails[type eq \"work\"].value", "name.givenName", "manager", "roles", "x\x00y"}

func hostileKey(rng *rand.Rand) string {
	if rng.IntN(5) == 0 {
		return hostileStrings[rng.IntN(len(hostileStrings))]
	}
	return soakKeys[rng.IntN(len(soakKeys))]
}

// hostileBody is a JSON document, usually a plausible SCIM body with hostile parts, or
// raw bytes that are not JSON at all.
func hostileBody(rng *rand.Rand, tn *soakTenant) []byte {
	switch rng.IntN(8) {
	case 0:
		raw := [][]byte{[]byte("{"), []byte(`{"userName":"a","userName":"b"}`), []byte("\xff\xfe{}"), []byte(`{"a":` + strings.Repeat("[", 200) + strings.Repeat("]", 200) + "}"),
			[]byte(`{"userName":"x"} trailing`), []byte("null"), []byte(`[]`), []byte(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":"x"}`)}
		return raw[rng.IntN(len(raw))]
	case 1, 2:
		ops := []any{}
		for range 1 + rng.IntN(3) {
			op := map[string]any{"op": []string{"add", "replace", "remove", "Replace", "bogus", ""}[rng.IntN(6)]}
			if rng.IntN(3) > 0 {
				op["path"] = []string{"members", "active", "emails[type eq \"work\"].value", "members[value eq \"" + tn.otherIDs[rng.IntN(len(tn.otherIDs))] + "\"]",
					"name.givenName", "userName", "[", "emails[", "urn:x:y", hostileStrings[rng.IntN(len(hostileStrings))]}[rng.IntN(10)]
			}
			op["value"] = hostileValue(rng, 2)
			if rng.IntN(3) == 0 {
				op["value"] = []any{map[string]any{"value": tn.otherIDs[rng.IntN(len(tn.otherIDs))]}}
			}
			ops = append(ops, op)
		}
		b, _ := json.Marshal(map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"}, "Operations": ops})
		return b
	}
	m := map[string]any{"userName": fmt.Sprintf("soak-%d@x.example", rng.IntN(50)), "displayName": fmt.Sprintf("S%d", rng.IntN(50))}
	for range rng.IntN(5) {
		m[hostileKey(rng)] = hostileValue(rng, 3)
	}
	if rng.IntN(4) == 0 {
		m["members"] = []any{map[string]any{"value": tn.otherIDs[rng.IntN(len(tn.otherIDs))]}}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return []byte(`{"userName":"fallback"}`)
	}
	// json.Marshal writes invalid UTF-8 as U+FFFD: put some raw bytes back.
	if rng.IntN(6) == 0 {
		b = bytes.Replace(b, []byte("v"), []byte("\xff"), 1)
	}
	return b
}

// hostileRequest returns a request and the body it sends.
func hostileRequest(rng *rand.Rand, tn *soakTenant) (scimclient.Request, []byte) {
	own := append(append([]string(nil), tn.users...), tn.groups...)
	id := []string{own[rng.IntN(len(own))], own[rng.IntN(len(own))], own[rng.IntN(len(own))], tn.otherIDs[rng.IntN(len(tn.otherIDs))],
		"%00", "%ff", "..%2f..%2fx", strings.Repeat("a", 500), "nope", "%C3%28"}[rng.IntN(10)]
	// Mostly Users and Groups, where bodies are parsed and stored.
	resource := []string{"Users", "Users", "Users", "Users", "Groups", "Groups", "Groups", "Bulk", "Me", ".search", "Schemas",
		"ResourceTypes", "ServiceProviderConfig"}[rng.IntN(13)]
	path := "/" + resource
	method := []string{"GET", "GET", "POST", "POST", "POST", "PUT", "PATCH", "PATCH", "DELETE", "HEAD", "OPTIONS"}[rng.IntN(11)]
	if resource != "Bulk" && (method == "PUT" || method == "PATCH" || method == "DELETE" || rng.IntN(4) == 0) {
		path += "/" + id
	}
	if rng.IntN(8) == 0 {
		path = []string{"//Users", "/Users/", "/./Users", "/Users/.search", "/Groups/" + id + "/x", ""}[rng.IntN(6)]
	}
	if rng.IntN(2) == 0 {
		q := []string{
			"filter=" + []string{`userName eq "` + tn.others[0] + `"`, `id eq "` + tn.otherIDs[0] + `"`, "((((", `userName eq "\u0000"`, `emails[value co "@"]`,
				`members.value eq "` + tn.otherIDs[0] + `"`, `meta.lastModified gt "x"`, "not", `userName sw "%ff"`, strings.Repeat("(", 100)}[rng.IntN(10)],
			"count=" + []string{"-1", "0", "abc", "99999999999999999999", "1"}[rng.IntN(5)],
			"startIndex=" + []string{"-5", "0", "x", "1"}[rng.IntN(4)],
			"attributes=" + []string{"userName", "members", "urn:x", "%00", ""}[rng.IntN(5)],
			"sortBy=" + []string{"name.givenName", "members", "nope", "emails"}[rng.IntN(4)],
			"cursor=" + []string{"", "garbage", "eyJ4IjoxfQ"}[rng.IntN(3)],
			"aadOptscim062020",
		}[rng.IntN(7)]
		path += "?" + strings.ReplaceAll(strings.ReplaceAll(q, " ", "%20"), `"`, "%22")
	}
	req := scimclient.Request{Method: method, Path: path, Header: http.Header{}}
	var body []byte
	if method == "POST" || method == "PUT" || method == "PATCH" || rng.IntN(10) == 0 {
		body = hostileBody(rng, tn)
		if rng.IntN(10) == 0 {
			req.Body = io.MultiReader(bytes.NewReader(body)) // sent chunked
		} else {
			req.Body = body
		}
	}
	switch rng.IntN(8) {
	case 0:
		req.Header.Set("Content-Type", []string{"text/plain", "application/json; charset=latin1", "", "application/scim+json; charset=utf-8", "multipart/form-data"}[rng.IntN(5)])
	case 1:
		req.Header.Set("If-Match", []string{`W/"1"`, "*", "garbage", `"`}[rng.IntN(4)])
	case 2:
		req.Header.Set("Accept-Encoding", "gzip")
	}
	return req, body
}
