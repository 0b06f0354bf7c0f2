package httpapi_test

// Helpers shared by the end-to-end tests of this package (users, groups, auth, discovery):
// they talk to a real scimd server over HTTP on a real store, and assert on status codes,
// headers and JSON bodies. Every helper fails the test at the caller's line (t.Helper).

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/scim"
	"github.com/scimd/scimd/internal/scimclient"
	"github.com/scimd/scimd/internal/storetest"
)

// forEachBackend runs fn once per store backend (storetest.Backends), each time on a fresh
// store with a real HTTP server in front of it.
func forEachBackend(t *testing.T, fn func(t *testing.T, srv *storetest.Server)) {
	t.Helper()
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			st := b.Open(t)
			srv := storetest.StartServer(t, st)
			fn(t, srv)
		})
	}
}

// newClient returns the client of a new tenant named name on srv.
func newClient(t *testing.T, srv *storetest.Server, name string) *scimclient.Client {
	t.Helper()
	return srv.NewTenant(t, name).Client
}

// send issues req, failing the test on a transport error.
func send(t testing.TB, c *scimclient.Client, req scimclient.Request) *scimclient.Response {
	t.Helper()
	resp, err := c.Send(t.Context(), req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.Path, err)
	}
	return resp
}

// do issues a request (body: nil, a string/[]byte sent as is, or a value encoded as JSON,
// with Content-Type application/scim+json; charset=utf-8 when there is a body).
func do(t testing.TB, c *scimclient.Client, method, path string, body any) *scimclient.Response {
	t.Helper()
	return send(t, c, scimclient.Request{Method: method, Path: path, Body: body})
}

// doWith is do with extra request headers (they replace the client's defaults).
func doWith(t testing.TB, c *scimclient.Client, method, path string, body any, header http.Header) *scimclient.Response {
	t.Helper()
	return send(t, c, scimclient.Request{Method: method, Path: path, Body: body, Header: header})
}

// mustDo issues a request, asserts its status and returns the decoded JSON body (nil for
// 204 and 304, which must have no body).
func mustDo(t testing.TB, c *scimclient.Client, method, path string, body any, wantStatus int) map[string]any {
	t.Helper()
	resp := do(t, c, method, path, body)
	expectStatus(t, resp, wantStatus)
	return bodyOf(t, resp)
}

// bodyOf decodes a response body as a SCIM JSON object, asserting the response's
// Content-Type is application/scim+json; 204 and 304 must come without a body and give nil.
func bodyOf(t testing.TB, resp *scimclient.Response) map[string]any {
	t.Helper()
	if resp.Status == http.StatusNoContent || resp.Status == http.StatusNotModified {
		if len(resp.Body) != 0 {
			t.Fatalf("%d response has a body: %q", resp.Status, resp.Body)
		}
		return nil
	}
	expectSCIMContentType(t, resp)
	m, err := resp.JSON()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// expectStatus asserts the status code, showing the body when it differs.
func expectStatus(t testing.TB, resp *scimclient.Response, want int) {
	t.Helper()
	if resp.Status != want {
		t.Fatalf("status %d, want %d; body: %s", resp.Status, want, clip(resp.Body))
	}
}

// expectSCIMContentType asserts Content-Type: application/scim+json (RFC 7644 §3.1).
func expectSCIMContentType(t testing.TB, resp *scimclient.Response) {
	t.Helper()
	ct := resp.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/scim+json" {
		t.Fatalf("%d response Content-Type %q, want application/scim+json", resp.Status, ct)
	}
}

// expectError asserts an RFC 7644 §3.12 error response: the status, Content-Type
// application/scim+json, "schemas" exactly [Error URN], "status" as a JSON string equal to
// the HTTP status, a non-empty "detail", and "scimType" equal to scimType ("" means the
// body must carry no scimType). It returns the body.
func expectError(t testing.TB, resp *scimclient.Response, status int, scimType string) map[string]any {
	t.Helper()
	expectStatus(t, resp, status)
	body := bodyOf(t, resp)
	if got := stringList(t, body["schemas"]); len(got) != 1 || got[0] != scim.ErrorSchema {
		t.Fatalf("error schemas = %v, want [%s]", body["schemas"], scim.ErrorSchema)
	}
	if s, ok := body["status"].(string); !ok || s != strconv.Itoa(status) {
		t.Fatalf("error status = %#v, want the JSON string %q", body["status"], strconv.Itoa(status))
	}
	if d, _ := body["detail"].(string); strings.TrimSpace(d) == "" {
		t.Fatalf("error has no detail: %v", body)
	}
	got, has := body["scimType"]
	switch {
	case scimType == "" && has:
		t.Fatalf("error scimType = %v, want none", got)
	case scimType != "" && got != scimType:
		t.Fatalf("error scimType = %v, want %q (detail: %v)", got, scimType, body["detail"])
	}
	return body
}

// list is a decoded ListResponse.
type list struct {
	Total, StartIndex, ItemsPerPage int
	Resources                       []map[string]any
}

// expectList asserts a 200 ListResponse (RFC 7644 §3.4.2) whose totalResults, startIndex
// and itemsPerPage are JSON integers, itemsPerPage equals the number of Resources and
// Resources is present as an array, and returns it.
func expectList(t testing.TB, resp *scimclient.Response) list {
	t.Helper()
	expectStatus(t, resp, http.StatusOK)
	body := bodyOf(t, resp)
	if got := stringList(t, body["schemas"]); len(got) != 1 || got[0] != scim.ListResponseSchema {
		t.Fatalf("list schemas = %v, want [%s]", body["schemas"], scim.ListResponseSchema)
	}
	l := list{
		Total:        jsonInt(t, body, "totalResults"),
		StartIndex:   jsonInt(t, body, "startIndex"),
		ItemsPerPage: jsonInt(t, body, "itemsPerPage"),
	}
	raw, ok := body["Resources"].([]any)
	if !ok {
		t.Fatalf("list has no Resources array: %s", clip(resp.Body))
	}
	for i, r := range raw {
		m, ok := r.(map[string]any)
		if !ok {
			t.Fatalf("Resources[%d] is %T, want an object", i, r)
		}
		l.Resources = append(l.Resources, m)
	}
	if l.ItemsPerPage != len(l.Resources) {
		t.Fatalf("itemsPerPage %d but %d Resources", l.ItemsPerPage, len(l.Resources))
	}
	if l.Total < len(l.Resources) {
		t.Fatalf("totalResults %d < %d Resources", l.Total, len(l.Resources))
	}
	return l
}

// mustList GETs path and asserts a ListResponse.
func mustList(t testing.TB, c *scimclient.Client, path string) list {
	t.Helper()
	return expectList(t, do(t, c, http.MethodGet, path, nil))
}

// filterUsers runs GET /Users?filter=… and returns the list.
func filterUsers(t testing.TB, c *scimclient.Client, filter string) list {
	t.Helper()
	return mustList(t, c, "/Users?"+filterParam(filter))
}

// filterParam renders filter=… URL-encoded with %20 for spaces, as Okta and Entra send it.
func filterParam(filter string) string {
	return "filter=" + strings.ReplaceAll(url.QueryEscape(filter), "+", "%20")
}

// ids returns the "id" of each resource, in order.
func ids(rs []map[string]any) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i], _ = r["id"].(string)
	}
	return out
}

// expectIDs asserts the set of ids of a list's resources (order ignored).
func expectIDs(t testing.TB, l list, want ...string) {
	t.Helper()
	got := ids(l.Resources)
	sort.Strings(got)
	w := append([]string(nil), want...)
	sort.Strings(w)
	if strings.Join(got, ",") != strings.Join(w, ",") || l.Total != len(want) {
		t.Fatalf("got ids %v (totalResults %d), want %v", got, l.Total, w)
	}
}

// jsonInt asserts that body[key] is a JSON integer (not a string) and returns it.
func jsonInt(t testing.TB, body map[string]any, key string) int {
	t.Helper()
	n, ok := body[key].(json.Number)
	if !ok {
		t.Fatalf("%s = %#v, want a JSON integer", key, body[key])
	}
	i, err := strconv.Atoi(n.String())
	if err != nil {
		t.Fatalf("%s = %s, want an integer", key, n)
	}
	return i
}

// stringList converts a JSON array of strings.
func stringList(t testing.TB, v any) []string {
	t.Helper()
	raw, ok := v.([]any)
	if !ok {
		t.Fatalf("%#v is not a JSON array", v)
	}
	out := make([]string, len(raw))
	for i, x := range raw {
		s, ok := x.(string)
		if !ok {
			t.Fatalf("%#v is not an array of strings", v)
		}
		out[i] = s
	}
	return out
}

// get walks nested objects and arrays: get(m, "name", "givenName"), get(m, "emails", "0",
// "value"); nil when a step is missing.
func get(m map[string]any, path ...string) any {
	var cur any = m
	for _, k := range path {
		switch c := cur.(type) {
		case map[string]any:
			cur = c[k]
		case []any:
			i, err := strconv.Atoi(k)
			if err != nil || i < 0 || i >= len(c) {
				return nil
			}
			cur = c[i]
		default:
			return nil
		}
	}
	return cur
}

// expectField asserts get(m, path...) equals want (compared as JSON, so json.Number and
// Go numbers compare by value).
func expectField(t testing.TB, m map[string]any, want any, path ...string) {
	t.Helper()
	got := get(m, path...)
	if !jsonEq(got, want) {
		t.Fatalf("%s = %s, want %s", strings.Join(path, "."), mustJSON(got), mustJSON(want))
	}
}

// expectAbsent asserts that m has no key k.
func expectAbsent(t testing.TB, m map[string]any, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if v, ok := m[k]; ok {
			t.Fatalf("%q is present (%s), want absent", k, mustJSON(v))
		}
	}
}

func jsonEq(a, b any) bool {
	var x, y any
	if json.Unmarshal([]byte(mustJSON(a)), &x) != nil || json.Unmarshal([]byte(mustJSON(b)), &y) != nil {
		return false
	}
	return mustJSON(x) == mustJSON(y)
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("<%v>", err)
	}
	return string(b)
}

// clip shortens a body for a failure message.
func clip(b []byte) string {
	if len(b) > 600 {
		return string(b[:600]) + "…"
	}
	return string(b)
}

// patchOp builds one PATCH operation; path "" leaves "path" out, and "value" is set only
// when given.
func patchOp(op, path string, value ...any) map[string]any {
	m := map[string]any{"op": op}
	if path != "" {
		m["path"] = path
	}
	if len(value) > 0 {
		m["value"] = value[0]
	}
	return m
}

// patchBody wraps operations in a PatchOp request (RFC 7644 §3.5.2).
func patchBody(ops ...map[string]any) map[string]any {
	if ops == nil {
		ops = []map[string]any{}
	}
	return map[string]any{"schemas": []string{scim.PatchOpSchema}, "Operations": ops}
}

// userBody is a minimal User with extra attributes merged in.
func userBody(userName string, extra map[string]any) map[string]any {
	m := map[string]any{"schemas": []string{scim.UserSchema}, "userName": userName}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

// createUser POSTs a User, asserts 201 and returns the created resource.
func createUser(t testing.TB, c *scimclient.Client, body map[string]any) map[string]any {
	t.Helper()
	u := mustDo(t, c, http.MethodPost, "/Users", body, http.StatusCreated)
	if id, _ := u["id"].(string); id == "" {
		t.Fatalf("created user has no id: %v", u)
	}
	return u
}

// createUsers creates n users named fmt.Sprintf(pattern, i) concurrently and returns
// their ids in index order.
func createUsers(t testing.TB, c *scimclient.Client, n int, pattern string) []string {
	t.Helper()
	out := make([]string, n)
	errs := make([]string, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			resp, err := c.Do(t.Context(), http.MethodPost, "/Users", userBody(fmt.Sprintf(pattern, i), nil))
			if err != nil {
				errs[i] = err.Error()
				return
			}
			if resp.Status != http.StatusCreated {
				errs[i] = fmt.Sprintf("status %d: %s", resp.Status, clip(resp.Body))
				return
			}
			m, err := resp.JSON()
			if err != nil {
				errs[i] = err.Error()
				return
			}
			out[i], _ = m["id"].(string)
		}()
	}
	wg.Wait()
	for i, e := range errs {
		if e != "" {
			t.Fatalf("create user %d: %s", i, e)
		}
	}
	return out
}

// idOf returns a resource's id.
func idOf(t testing.TB, r map[string]any) string {
	t.Helper()
	id, _ := r["id"].(string)
	if id == "" {
		t.Fatalf("resource has no id: %v", r)
	}
	return id
}

// versionOf returns meta.version, asserting it is a non-empty string.
func versionOf(t testing.TB, r map[string]any) string {
	t.Helper()
	v, _ := get(r, "meta", "version").(string)
	if v == "" {
		t.Fatalf("resource has no meta.version: %v", r)
	}
	return v
}

// timeOf parses an RFC 3339 timestamp at path.
func timeOf(t testing.TB, r map[string]any, path ...string) time.Time {
	t.Helper()
	s, _ := get(r, path...).(string)
	ts, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("%s = %q is not an RFC 3339 date-time", strings.Join(path, "."), s)
	}
	return ts
}

// expectETag asserts that the response's ETag header equals the body's meta.version and
// returns it.
func expectETag(t testing.TB, resp *scimclient.Response, body map[string]any) string {
	t.Helper()
	tag := resp.Header.Get("ETag")
	if tag == "" {
		t.Fatalf("%d response has no ETag header", resp.Status)
	}
	if v := versionOf(t, body); v != tag {
		t.Fatalf("ETag header %q differs from meta.version %q", tag, v)
	}
	return tag
}

// hdr builds request headers from key, value pairs.
func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}
