package flows

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/scimd/scimd/internal/scimclient"
)

// StepResult is the outcome of one step.
type StepResult struct {
	Flow   string `json:"flow"`
	Step   string `json:"step"`
	Op     string `json:"op"`
	Method string `json:"method"`
	Path   string `json:"path"`
	Status int    `json:"status"`
	Pass   bool   `json:"pass"`
	// Reason says why a step failed.
	Reason string `json:"reason,omitempty"`
}

// Result is the outcome of one flow: its steps, then the removal of what it created
// (Op "cleanup").
type Result struct {
	Flow     string       `json:"flow"`
	Provider string       `json:"provider"`
	Steps    []StepResult `json:"steps"`
}

// Counts returns how many steps passed and failed.
func (r Result) Counts() (passed, failed int) {
	for _, s := range r.Steps {
		if s.Pass {
			passed++
		} else {
			failed++
		}
	}
	return passed, failed
}

// OpCleanup is the Op of the steps that remove what a flow created.
const OpCleanup = "cleanup"

// run is one flow's state.
type run struct {
	c    *scimclient.Client
	f    Flow
	vars map[string]string
	last []byte // the last response body
	// created lists the resources the flow created ("/Users/id"), for cleanup.
	created []string
}

// Run replays f against c. It does not stop at a failed step: later steps that need a
// value the failed step should have yielded fail saying so.
func Run(ctx context.Context, c *scimclient.Client, f Flow) Result {
	r := &run{c: c, f: f, vars: map[string]string{"rand": randomHex(4)}}
	for k, v := range f.Vars {
		r.vars[k], _ = r.expand(v) // Parse allowed only ${rand} and ${guid}: no error
	}
	res := Result{Flow: f.Name, Provider: f.Provider}
	for _, s := range f.Steps {
		sr := r.step(ctx, s)
		sr.Flow = f.Name
		res.Steps = append(res.Steps, sr)
	}
	res.Steps = append(res.Steps, r.cleanup(ctx)...)
	return res
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// newGUID returns a random version 4 UUID, as Entra's connection test sends.
func newGUID() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

var varRE = regexp.MustCompile(`\$\{([a-zA-Z0-9_:-]+)\}`)

// expand substitutes ${name}, ${upper:name} and ${guid} (a fresh GUID each time) in s.
func (r *run) expand(s string) (string, error) {
	var missing []string
	out := varRE.ReplaceAllStringFunc(s, func(m string) string {
		name := m[2 : len(m)-1]
		if name == "guid" {
			return newGUID()
		}
		upper := strings.HasPrefix(name, "upper:")
		name = strings.TrimPrefix(name, "upper:")
		v, ok := r.vars[name]
		if !ok {
			missing = append(missing, name)
			return m
		}
		if upper {
			v = strings.ToUpper(v)
		}
		return v
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("needs ${%s}, which no earlier step yielded", strings.Join(missing, "}, ${"))
	}
	return out, nil
}

// expandJSON expands variables inside the strings of a JSON document.
func (r *run) expandJSON(raw []byte) ([]byte, error) {
	v, err := decode(raw)
	if err != nil {
		return nil, err
	}
	v, err = r.expandValue(v)
	if err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

func (r *run) expandValue(v any) (any, error) {
	switch x := v.(type) {
	case string:
		return r.expand(x)
	case []any:
		// A new list: the flow's own values are shared by concurrent runs.
		out := make([]any, len(x))
		for i := range x {
			e, err := r.expandValue(x[i])
			if err != nil {
				return nil, err
			}
			out[i] = e
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			k2, err := r.expand(k)
			if err != nil {
				return nil, err
			}
			if out[k2], err = r.expandValue(e); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return v, nil
}

func decode(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// fullPath puts the flow's base query first in p's query.
func (r *run) fullPath(p string) string {
	if r.f.BaseQuery == "" {
		return p
	}
	if i := strings.IndexByte(p, '?'); i >= 0 {
		return p[:i] + "?" + r.f.BaseQuery + "&" + p[i+1:]
	}
	return p + "?" + r.f.BaseQuery
}

func (r *run) step(ctx context.Context, s Step) StepResult {
	sr := StepResult{Step: s.Name, Op: s.Op, Method: s.Method, Path: s.Path}
	fail := func(format string, args ...any) StepResult {
		sr.Reason = fmt.Sprintf(format, args...)
		return sr
	}
	p, err := r.expand(s.Path)
	if err != nil {
		return fail("%v", err)
	}
	// Variables such as group names hold spaces; a request line cannot.
	p = strings.ReplaceAll(p, " ", "%20")
	sr.Path = r.fullPath(p)
	req := scimclient.Request{Method: s.Method, Path: sr.Path, Header: http.Header{}}
	for _, hs := range []map[string]string{r.f.Headers, s.Headers} {
		for k, v := range hs {
			req.Header.Set(k, v)
		}
	}
	switch {
	case s.Echo:
		body, err := r.echo(s.Set)
		if err != nil {
			return fail("echo the last response: %v", err)
		}
		req.Body = body
	case len(s.Body) > 0:
		body, err := r.expandJSON(s.Body)
		if err != nil {
			return fail("body: %v", err)
		}
		req.Body = body
	}
	resp, err := r.c.Send(ctx, req)
	if err != nil {
		return fail("%v", err)
	}
	sr.Status = resp.Status
	r.last = resp.Body
	if !contains(s.Status, resp.Status) {
		return fail("status %d, want %s%s", resp.Status, statusList(s.Status), detail(resp.Body))
	}
	var doc any
	if len(s.Expect) > 0 || len(s.Save) > 0 || (s.Method == http.MethodPost && resp.Status == http.StatusCreated) {
		if len(bytes.TrimSpace(resp.Body)) == 0 {
			if len(s.Expect) > 0 || len(s.Save) > 0 {
				return fail("status %d with no body; the step needs one", resp.Status)
			}
		} else if doc, err = decode(resp.Body); err != nil {
			return fail("response is not JSON: %v", err)
		}
	}
	if s.Method == http.MethodPost && resp.Status == http.StatusCreated {
		if id, ok := lookup(doc, "id"); ok {
			if ids, ok := id.(string); ok && ids != "" {
				r.created = append(r.created, resourcePath(p)+"/"+ids)
			}
		}
	}
	if s.Method == http.MethodDelete && resp.Status < 300 {
		r.forget(p)
	}
	for _, k := range sortedKeys(s.Expect) {
		want, err := r.expandValue(s.Expect[k])
		if err != nil {
			return fail("expect %s: %v", k, err)
		}
		kp, err := r.expand(k)
		if err != nil {
			return fail("expect %s: %v", k, err)
		}
		if err := match(doc, kp, want); err != nil {
			return fail("%s: %v", kp, err)
		}
	}
	for _, name := range sortedKeys(s.Save) {
		v, ok := lookup(doc, s.Save[name])
		if !ok {
			return fail("no %s in the response to save as ${%s}", s.Save[name], name)
		}
		r.vars[name] = fmt.Sprint(v)
	}
	sr.Pass = true
	return sr
}

// resourcePath is the collection of a request path: "/Users?x" → "/Users".
func resourcePath(p string) string {
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	return strings.TrimRight(p, "/")
}

func (r *run) forget(p string) {
	p = resourcePath(p)
	for i, c := range r.created {
		if c == p {
			r.created = append(r.created[:i], r.created[i+1:]...)
			return
		}
	}
}

// cleanup deletes what the flow created and did not delete, newest first (groups are
// created after their members).
func (r *run) cleanup(ctx context.Context) []StepResult {
	var out []StepResult
	for i := len(r.created) - 1; i >= 0; i-- {
		p := r.fullPath(r.created[i])
		sr := StepResult{Flow: r.f.Name, Step: "remove what the flow created", Op: OpCleanup, Method: http.MethodDelete, Path: p}
		hdr := http.Header{}
		for k, v := range r.f.Headers {
			hdr.Set(k, v)
		}
		resp, err := r.c.Send(ctx, scimclient.Request{Method: http.MethodDelete, Path: p, Header: hdr})
		switch {
		case err != nil:
			sr.Reason = err.Error()
		case resp.Status == http.StatusNoContent || resp.Status == http.StatusOK || resp.Status == http.StatusNotFound:
			sr.Status, sr.Pass = resp.Status, true
		default:
			sr.Status, sr.Reason = resp.Status, fmt.Sprintf("status %d, want 204%s", resp.Status, detail(resp.Body))
		}
		out = append(out, sr)
	}
	r.created = nil
	return out
}

// echo returns the last response body with set applied (paths as in lookup).
func (r *run) echo(set map[string]any) ([]byte, error) {
	doc, err := decode(r.last)
	if err != nil {
		return nil, fmt.Errorf("not JSON: %w", err)
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("not a JSON object")
	}
	for _, k := range sortedKeys(set) {
		v, err := r.expandValue(set[k])
		if err != nil {
			return nil, err
		}
		if err := assign(obj, strings.Split(k, "/"), v); err != nil {
			return nil, fmt.Errorf("set %s: %w", k, err)
		}
	}
	return json.Marshal(obj)
}

func assign(obj map[string]any, keys []string, v any) error {
	if len(keys) == 1 {
		obj[keys[0]] = v
		return nil
	}
	next, ok := obj[keys[0]].(map[string]any)
	if !ok {
		next = map[string]any{}
		obj[keys[0]] = next
	}
	return assign(next, keys[1:], v)
}

func contains(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func statusList(s Statuses) string {
	var parts []string
	for _, v := range s {
		parts = append(parts, strconv.Itoa(v))
	}
	return strings.Join(parts, " or ")
}

// detail quotes a SCIM error's detail, or the start of the body.
func detail(body []byte) string {
	var e struct {
		Detail string `json:"detail"`
	}
	if json.Unmarshal(body, &e) == nil && e.Detail != "" {
		return fmt.Sprintf(" (%q)", e.Detail)
	}
	if s := strings.TrimSpace(string(body)); s != "" {
		if len(s) > 120 {
			s = s[:120] + "…"
		}
		return fmt.Sprintf(" (%s)", s)
	}
	return ""
}

// lookup finds a path in a decoded JSON document. Path elements are separated by "/"
// (attribute names such as the enterprise extension's URN contain dots); an element is
// an object key, an array index, "#" (the length of an array), or "*" (the element's
// value in every member of an array, as a list).
func lookup(doc any, p string) (any, bool) {
	cur := doc
	keys := strings.Split(p, "/")
	for i, k := range keys {
		switch x := cur.(type) {
		case map[string]any:
			v, ok := x[k]
			if !ok {
				return nil, false
			}
			cur = v
		case []any:
			switch k {
			case "#":
				cur = json.Number(strconv.Itoa(len(x)))
			case "*":
				var out []any
				rest := strings.Join(keys[i+1:], "/")
				for _, e := range x {
					if rest == "" {
						out = append(out, e)
					} else if v, ok := lookup(e, rest); ok {
						out = append(out, v)
					}
				}
				return out, true
			default:
				n, err := strconv.Atoi(k)
				if err != nil || n < 0 || n >= len(x) {
					return nil, false
				}
				cur = x[n]
			}
		default:
			return nil, false
		}
	}
	return cur, true
}

// Matchers: a JSON value is compared for equality, except strings starting with "$":
// "$present", "$absent", "$integer" (a JSON number without a fraction, as Okta requires
// of totalResults), "$nonempty" (a string other than ""), "$contains X" and "$lacks X"
// (a list, usually from "*", has or has not X), "$empty" (absent, null or [], which RFC
// 7643 §2.5 makes equivalent for a multi-valued attribute).
var matchers = []string{"$present", "$absent", "$empty", "$integer", "$nonempty", "$contains ", "$lacks "}

// isMatcher tells a matcher from a value that starts with a variable.
func isMatcher(s string) bool { return strings.HasPrefix(s, "$") && !strings.HasPrefix(s, "${") }

func checkMatcher(want any) error {
	s, ok := want.(string)
	if !ok || !isMatcher(s) {
		return nil
	}
	for _, m := range matchers {
		if s == m || (strings.HasSuffix(m, " ") && strings.HasPrefix(s, m)) {
			return nil
		}
	}
	return fmt.Errorf("unknown matcher %q; matchers: %s", s, strings.Join(matchers, ", "))
}

func match(doc any, p string, want any) error {
	got, ok := lookup(doc, p)
	if s, isStr := want.(string); isStr && isMatcher(s) {
		switch {
		case s == "$empty":
			if list, isList := got.([]any); ok && got != nil && (!isList || len(list) > 0) {
				return fmt.Errorf("%s, want it empty", show(got))
			}
			return nil
		case s == "$absent":
			if ok && got != nil {
				return fmt.Errorf("present (%s), want absent", show(got))
			}
			return nil
		case !ok:
			return fmt.Errorf("absent, want %s", s)
		case s == "$present":
			return nil
		case s == "$integer":
			n, isNum := got.(json.Number)
			if _, err := n.Int64(); !isNum || err != nil {
				return fmt.Errorf("%s, want a JSON integer", show(got))
			}
			return nil
		case s == "$nonempty":
			if str, _ := got.(string); str == "" {
				return fmt.Errorf("%s, want a non-empty string", show(got))
			}
			return nil
		case strings.HasPrefix(s, "$contains ") || strings.HasPrefix(s, "$lacks "):
			item := s[strings.IndexByte(s, ' ')+1:]
			list, isList := got.([]any)
			if !isList {
				return fmt.Errorf("%s, want a list", show(got))
			}
			has := false
			for _, e := range list {
				if fmt.Sprint(e) == item {
					has = true
				}
			}
			if has != strings.HasPrefix(s, "$contains ") {
				return fmt.Errorf("%s, want it to %s %q", show(got), strings.TrimPrefix(s[:strings.IndexByte(s, ' ')], "$"), item)
			}
			return nil
		}
	}
	if !ok {
		return fmt.Errorf("absent, want %s", show(want))
	}
	if !equal(got, want) {
		return fmt.Errorf("%s, want %s", show(got), show(want))
	}
	return nil
}

// equal compares decoded JSON values, numbers by value.
func equal(a, b any) bool {
	if na, ok := a.(json.Number); ok {
		if nb, ok := b.(json.Number); ok {
			fa, ea := na.Float64()
			fb, eb := nb.Float64()
			return ea == nil && eb == nil && fa == fb
		}
	}
	return reflect.DeepEqual(a, b)
}

func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	s := string(b)
	if len(s) > 120 {
		s = s[:120] + "…"
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
