package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/scimd/scimd/internal/scim"
)

// Bulk operations (RFC 7644 §3.7). Each operation is run by the handler of the endpoint it
// names, on a request carrying the bulk request's tenant, so that its validation, errors,
// ETags and transaction are those of the same request sent alone. Operations are not one
// transaction: each commits or fails on its own, and an operation that failed leaves the
// ones before it in place (RFC 7644 §3.7 provides for partial failure: "The service
// provider MUST continue performing as many changes as possible and disregard partial
// failures").

// bulkOp is one operation of a request, as read and checked before anything runs.
type bulkOp struct {
	method  string
	bulkID  string
	version string
	path    string // as given; may hold a bulkId reference
	data    any
	refs    []string // the bulkIds the path and data refer to, in order, without repeats
	err     error    // a malformed operation fails with this without running
}

// bulkResult is one entry of a BulkResponse (RFC 7644 §3.7.3).
type bulkResult struct {
	Method   string          `json:"method"`
	BulkID   string          `json:"bulkId,omitempty"`
	Version  string          `json:"version,omitempty"`
	Location string          `json:"location,omitempty"`
	Status   string          `json:"status"`
	Response json.RawMessage `json:"response,omitempty"`
}

func (s *Server) bulk(w http.ResponseWriter, r *http.Request) error {
	limit := s.opts.MaxBulkPayloadBytes
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	body, err := s.readBody(w, r)
	if _, tooLarge := errors.AsType[*http.MaxBytesError](err); tooLarge {
		// RFC 7644 §3.7.4: "If either limit is exceeded, the service provider MUST return
		// HTTP response code 413 (Payload Too Large). The returned response MUST specify
		// the limit exceeded in the body of the error response."
		return scim.Status(http.StatusRequestEntityTooLarge, "The size of the bulk operation exceeds the maxPayloadSize (%d).", limit)
	}
	if err != nil {
		return err
	}
	ops, declared, failOnErrors, err := s.parseBulk(body)
	if err != nil {
		return err
	}
	run := &bulkRun{s: s, r: r, ops: ops, failOnErrors: failOnErrors, declared: declared, ids: map[string]string{},
		state: make([]int, len(ops)), results: make([]*bulkResult, len(ops)), cyclic: make([]bool, len(ops))}
	for i := range ops {
		run.visit(i)
	}
	if err := r.Context().Err(); err != nil {
		return err
	}
	// RFC 7644 §3.7.3: "The service provider response MUST include the result of all
	// processed operations"; they are listed in the order of the request.
	out := []*bulkResult{}
	for _, res := range run.results {
		if res != nil {
			out = append(out, res)
		}
	}
	writeJSON(w, http.StatusOK, struct {
		Schemas    []string      `json:"schemas"`
		Operations []*bulkResult `json:"Operations"`
	}{[]string{scim.BulkResponseSchema}, out})
	return nil
}

// parseBulk checks the BulkRequest envelope and returns its operations, the index of the
// POST declaring each bulkId, and failOnErrors (0: none). What is wrong with the request
// as a whole fails it before any operation runs; what is wrong with one operation fails
// that operation only, as the same request sent alone would fail.
func (s *Server) parseBulk(body map[string]any) ([]*bulkOp, map[string]int, int, error) {
	hasSchema := false
	schemas, _ := lookup(body, "schemas").([]any)
	for _, u := range schemas {
		if u, _ := u.(string); strings.EqualFold(u, scim.BulkRequestSchema) {
			hasSchema = true
		}
	}
	if !hasSchema {
		return nil, nil, 0, scim.InvalidSyntax("schemas must contain %q", scim.BulkRequestSchema)
	}
	failOnErrors := 0
	if v := lookup(body, "failOnErrors"); v != nil {
		n, ok := v.(json.Number)
		i, err := strconv.Atoi(n.String())
		if !ok || err != nil || i < 1 {
			return nil, nil, 0, scim.InvalidValue("failOnErrors must be a positive integer (the number of errors after which processing stops), got %s", mustMarshal(v))
		}
		failOnErrors = i
	}
	raw, ok := lookup(body, "Operations").([]any)
	if !ok {
		return nil, nil, 0, scim.InvalidSyntax("Operations must be a list of operations")
	}
	if len(raw) > s.opts.MaxBulkOperations {
		// RFC 7644 §3.7.4: 413, naming the limit exceeded.
		return nil, nil, 0, scim.Status(http.StatusRequestEntityTooLarge, "The number of operations (%d) exceeds the maxOperations (%d).", len(raw), s.opts.MaxBulkOperations)
	}
	ops := make([]*bulkOp, len(raw))
	declared := map[string]int{}
	for i, v := range raw {
		op := parseBulkOp(v)
		ops[i] = op
		// A malformed POST declares its bulkId too: what refers to it then fails as
		// referring to a failed operation, not to nothing.
		if op.method != http.MethodPost || op.bulkID == "" {
			continue
		}
		// RFC 7644 §3.7: a bulkId is "unique within a bulk request"; with two, a reference
		// would have two meanings.
		if j, dup := declared[op.bulkID]; dup {
			return nil, nil, 0, scim.InvalidValue("Operations[%d] and Operations[%d] have the same bulkId %q: a bulkId must be unique within the request", j, i, op.bulkID)
		}
		declared[op.bulkID] = i
	}
	return ops, declared, failOnErrors, nil
}

func parseBulkOp(v any) *bulkOp {
	op := &bulkOp{}
	m, ok := v.(map[string]any)
	if !ok {
		op.err = scim.InvalidSyntax("an operation must be a JSON object, got %s", mustMarshal(v))
		return op
	}
	method, _ := lookup(m, "method").(string)
	op.method = strings.ToUpper(method)
	op.bulkID, _ = lookup(m, "bulkId").(string)
	op.path, _ = lookup(m, "path").(string)
	op.data = lookup(m, "data")
	if v := lookup(m, "version"); v != nil {
		if op.version, ok = v.(string); !ok {
			op.err = scim.InvalidValue("version must be a string (an ETag), got %s", mustMarshal(v))
			return op
		}
	}
	switch op.method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
	default:
		op.err = scim.InvalidValue("method must be POST, PUT, PATCH or DELETE, got %s", mustMarshal(lookup(m, "method")))
		return op
	}
	switch {
	case op.path == "":
		op.err = scim.InvalidValue("path is required: a resource type endpoint (/Users) for POST, a resource (/Users/{id}) otherwise")
	case op.method == http.MethodPost && op.bulkID == "":
		// RFC 7644 §3.7: bulkId is "REQUIRED when "method" is "POST"".
		op.err = scim.InvalidValue("bulkId is required for POST")
	case op.method != http.MethodDelete:
		if _, ok := op.data.(map[string]any); !ok {
			op.err = scim.InvalidSyntax("data must be the JSON object a single %s would carry", op.method)
		}
	}
	if op.err == nil {
		op.refs = bulkRefs(op)
	}
	return op
}

// lookup reads a JSON attribute by name, in any case (RFC 7643 §2.1).
func lookup(m map[string]any, name string) any {
	if v, ok := m[name]; ok {
		return v
	}
	for k, v := range m {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return nil
}

// A reference to the resource another operation creates is "bulkId:" and that
// operation's bulkId (RFC 7644 §3.7.2: "The service provider MUST replace the string
// "bulkId:qwerty" with the permanent resource id once created"). It is a whole string
// value in data, a whole segment of path, or a quoted value in a PATCH path's filter
// (members[value eq "bulkId:qwerty"]).
var (
	bulkRefValue  = regexp.MustCompile(`(?i)^bulkId:(.+)$`)
	bulkRefQuoted = regexp.MustCompile(`(?i)"bulkId:([^"]+)"`)
)

// bulkRefs lists the bulkIds an operation refers to.
func bulkRefs(op *bulkOp) []string {
	var refs []string
	seen := map[string]bool{}
	add := func(id string) {
		if !seen[id] {
			seen[id] = true
			refs = append(refs, id)
		}
	}
	rewriteRefs(op, func(id string) (string, bool) {
		add(id)
		return "", true
	})
	return refs
}

// rewriteRefs calls resolve for each reference of op and returns op's path and data with
// every reference replaced by what resolve returned; it stops at the first reference
// resolve refuses.
func rewriteRefs(op *bulkOp, resolve func(id string) (string, bool)) (string, any, bool) {
	ok := true
	segs := strings.Split(op.path, "/")
	for i, seg := range segs {
		if m := bulkRefValue.FindStringSubmatch(seg); m != nil && ok {
			segs[i], ok = resolve(m[1])
		}
	}
	var walk func(v any, patchPath bool) any
	walk = func(v any, patchPath bool) any {
		switch v := v.(type) {
		case string:
			if !ok {
				return v
			}
			if m := bulkRefValue.FindStringSubmatch(v); m != nil {
				var id string
				id, ok = resolve(m[1])
				return id
			}
			if patchPath {
				return bulkRefQuoted.ReplaceAllStringFunc(v, func(q string) string {
					if !ok {
						return q
					}
					var id string
					id, ok = resolve(bulkRefQuoted.FindStringSubmatch(q)[1])
					return strconv.Quote(id)
				})
			}
			return v
		case []any:
			out := make([]any, len(v))
			for i, x := range v {
				out[i] = walk(x, false)
			}
			return out
		case map[string]any:
			out := make(map[string]any, len(v))
			for k, x := range v {
				// The "path" of a PATCH operation (inside data's "Operations").
				out[k] = walk(x, op.method == http.MethodPatch && strings.EqualFold(k, "path"))
			}
			return out
		}
		return v
	}
	data := walk(op.data, false)
	return strings.Join(segs, "/"), data, ok
}

// bulkRun executes the operations of one request.
type bulkRun struct {
	s            *Server
	r            *http.Request
	ops          []*bulkOp
	failOnErrors int

	declared map[string]int    // bulkId → index of the POST that declares it
	ids      map[string]string // bulkId → id of the resource its POST created
	state    []int             // visit state per operation
	stack    []int             // operations being visited
	cyclic   []bool            // operations on a circular chain of references
	results  []*bulkResult     // per operation; nil while not processed
	errors   int
	stopped  bool
}

const (
	unvisited = iota
	visiting
	visited
)

// visit runs operation i after the operations whose resources it refers to, whatever
// their place in the request. RFC 7644 §3.7 lets the service provider reorder "when
// doing so, the service provider MUST ensure that the client's intent is preserved and the
// same stateful result is achieved as for non-optimized processing"; an operation that is
// not waited for by another keeps its place in the request.
func (b *bulkRun) visit(i int) {
	if b.state[i] != unvisited {
		return
	}
	b.state[i] = visiting
	b.stack = append(b.stack, i)
	for _, ref := range b.ops[i].refs {
		j, ok := b.declared[ref]
		if !ok {
			continue
		}
		switch b.state[j] {
		case visiting:
			// A chain of references that comes back to an operation under way: each
			// operation on it waits for another.
			for k := len(b.stack) - 1; k >= 0; k-- {
				b.cyclic[b.stack[k]] = true
				if b.stack[k] == j {
					break
				}
			}
		case unvisited:
			b.visit(j)
		}
	}
	b.stack = b.stack[:len(b.stack)-1]
	b.state[i] = visited
	b.process(i)
}

func (b *bulkRun) process(i int) {
	if b.stopped || b.r.Context().Err() != nil {
		return
	}
	op := b.ops[i]
	res := &bulkResult{Method: op.method, BulkID: op.bulkID}
	rec := newRecorder()
	req := b.opRequest(op)
	switch {
	case op.err != nil:
		b.s.renderError(rec, req, op.err)
	case b.cyclic[i]:
		// RFC 7644 §3.7.1: "The service provider MUST try to resolve circular
		// cross-references between resources in a single bulk job but MAY stop after a
		// failed attempt and instead return HTTP status code 409 (Conflict)."
		b.s.renderError(rec, req, scim.Status(http.StatusConflict, "circular bulkId references: this operation refers to %s, which refers back to it (directly or through other operations), so none of them can run first", b.chain(i)))
	default:
		path, data, ok := rewriteRefs(op, b.resolve(rec, req))
		if !ok {
			break // resolve rendered the error
		}
		b.dispatch(rec, req, op, path, data)
	}
	if rec.status == 0 {
		return // the client went away
	}
	res.Status = strconv.Itoa(rec.status)
	res.Version = rec.header.Get("ETag")
	if loc := rec.header.Get("Location"); loc != "" {
		res.Location = loc
		if op.method == http.MethodPost {
			b.ids[op.bulkID] = loc[strings.LastIndexByte(loc, '/')+1:]
		}
	} else if rec.status < 400 || op.method != http.MethodPost {
		res.Location = b.location(op)
	}
	if rec.status >= 400 {
		// RFC 7644 §3.7: "When indicating an error, the "response" attribute MUST
		// contain the detail error response as per Section 3.12."
		res.Response = json.RawMessage(bytes.TrimSpace(rec.body.Bytes()))
		b.errors++
		// RFC 7644 §3.7.3: failOnErrors is the number of errors after which "the service
		// provider will stop processing and return results".
		if b.failOnErrors > 0 && b.errors >= b.failOnErrors {
			b.stopped = true
		}
	}
	b.results[i] = res
}

// resolve replaces a bulkId by the id its POST created, or renders why it cannot.
func (b *bulkRun) resolve(rec *recorder, req *http.Request) func(string) (string, bool) {
	return func(ref string) (string, bool) {
		if id, ok := b.ids[ref]; ok {
			return id, true
		}
		j, declared := b.declared[ref]
		if !declared {
			b.s.renderError(rec, req, scim.InvalidValue("bulkId:%s refers to no POST operation of this request", ref))
			return "", false
		}
		b.s.renderError(rec, req, scim.Status(http.StatusConflict, "bulkId:%s cannot be resolved: Operations[%d], which was to create it, failed", ref, j))
		return "", false
	}
}

// chain describes the circular references operation i is part of.
func (b *bulkRun) chain(i int) string {
	var parts []string
	for _, ref := range b.ops[i].refs {
		if j, ok := b.declared[ref]; ok && b.cyclic[j] {
			parts = append(parts, "bulkId:"+ref)
		}
	}
	return strings.Join(parts, ", ")
}

// opRequest is the request an operation would be if sent alone by the same client.
func (b *bulkRun) opRequest(op *bulkOp) *http.Request {
	req, _ := http.NewRequestWithContext(b.r.Context(), http.MethodPost, Prefix+"/Bulk", http.NoBody)
	if op.method != "" {
		req.Method = op.method
	}
	req.Host, req.TLS, req.RemoteAddr = b.r.Host, b.r.TLS, b.r.RemoteAddr
	return req
}

// dispatch runs the endpoint's handler for the operation, with its references resolved.
func (b *bulkRun) dispatch(rec *recorder, req *http.Request, op *bulkOp, path string, data any) {
	h, id, err := b.s.bulkHandler(op.method, path)
	if err != nil {
		b.s.renderError(rec, req, err)
		return
	}
	req.URL = &url.URL{Path: Prefix + path}
	req.RequestURI = req.URL.RequestURI()
	if id != "" {
		req.SetPathValue("id", id)
	}
	if op.method != http.MethodDelete {
		body, err := json.Marshal(data)
		if err != nil {
			b.s.renderError(rec, req, err)
			return
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.ContentLength = int64(len(body))
		req.Header.Set("Content-Type", contentType)
	}
	// RFC 7644 §3.7: "version" is "The current resource version"; it is the If-Match of
	// the operation sent alone (§3.14).
	if op.version != "" {
		req.Header.Set("If-Match", op.version)
	}
	b.s.runHandler(rec, req, h)
}

// runHandler runs h as the server would for a request of its own, errors rendered alike.
func (s *Server) runHandler(rec *recorder, req *http.Request, h handlerFunc) {
	defer func() {
		if p := recover(); p != nil {
			if p != http.ErrAbortHandler {
				panic(p)
			}
			// The handler failed after it began its response (abortStream).
			rec.reset()
			s.renderError(rec, req, errors.New("response aborted after it began"))
		}
	}()
	if err := h(rec, req); err != nil {
		rec.reset()
		s.renderError(rec, req, err)
	}
}

// bulkHandler finds the handler of a write to path, and the resource id the path names.
// Paths are relative to the SCIM root (RFC 7644 §3.7: "The resource's relative path to the
// SCIM service provider's root"): /Users or /Groups for POST, /Users/{id} or /Groups/{id}
// otherwise.
func (s *Server) bulkHandler(method, path string) (handlerFunc, string, error) {
	endpoint, rawID, hasID := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	id, err := url.PathUnescape(rawID)
	if err != nil || strings.Contains(rawID, "/") || !strings.HasPrefix(path, "/") {
		return nil, "", scim.NotFound("no SCIM endpoint at %s %s", method, path)
	}
	type handlers struct{ create, replace, patch, remove handlerFunc }
	var hs handlers
	switch endpoint {
	case "Users":
		hs = handlers{s.createUser, s.replaceUser, s.patchUser, s.deleteUser}
	case "Groups":
		hs = handlers{s.createGroup, s.replaceGroup, s.patchGroup, s.deleteGroup}
	default:
		return nil, "", scim.NotFound("no SCIM endpoint at %s %s: bulk operations apply to /Users and /Groups", method, path)
	}
	var h handlerFunc
	switch {
	case method == http.MethodPost && !hasID:
		h = hs.create
	case method == http.MethodPut && hasID && id != "":
		h = hs.replace
	case method == http.MethodPatch && hasID && id != "":
		h = hs.patch
	case method == http.MethodDelete && hasID && id != "":
		h = hs.remove
	default:
		return nil, "", scim.NotFound("no SCIM endpoint at %s %s: POST takes /%s, PUT, PATCH and DELETE take /%s/{id}", method, path, endpoint, endpoint)
	}
	return h, id, nil
}

// location is the URL of the resource an operation names, when its path names one.
func (b *bulkRun) location(op *bulkOp) string {
	path, _, ok := rewriteRefs(op, func(ref string) (string, bool) {
		id, ok := b.ids[ref]
		return id, ok
	})
	if !ok {
		return ""
	}
	endpoint, id, hasID := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	if !hasID || id == "" || strings.Contains(id, "/") || (endpoint != "Users" && endpoint != "Groups") {
		return ""
	}
	return b.s.baseURL(b.r) + path
}
