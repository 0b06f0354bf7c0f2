package httpapi

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/scimd/scimd/internal/scim"
	"github.com/scimd/scimd/internal/store"
)

// objectWriter writes one JSON object field by field, so that a large member list can be
// streamed from the store instead of held in memory.
type objectWriter struct {
	w   *bufio.Writer
	n   int
	err error
}

func (o *objectWriter) begin() { o.w.WriteByte('{') }
func (o *objectWriter) end()   { o.w.WriteByte('}') }

func (o *objectWriter) key(k string) {
	if o.n > 0 {
		o.w.WriteByte(',')
	}
	o.n++
	kb, _ := json.Marshal(k)
	o.w.Write(kb)
	o.w.WriteByte(':')
}

func (o *objectWriter) field(k string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		o.err = err
		return
	}
	o.key(k)
	o.w.Write(b)
}

func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func metaOf(resourceType, location string, m store.Meta) map[string]any {
	return map[string]any{
		"resourceType": resourceType,
		"created":      formatTime(m.Created),
		"lastModified": formatTime(m.LastModified),
		"location":     location,
		"version":      etag(m.Version),
	}
}

// writeAttributes writes a resource's stored attributes in schema order, then its
// extensions, honouring the projection. extra writes server-maintained attributes (a user's
// groups) at the point of their definition.
func writeAttributes(o *objectWriter, rt *scim.ResourceType, data scim.Resource, p *scim.Projection, extra map[string]func()) {
	proj := p.Project(rt, data)
	if v, ok := proj["externalId"]; ok {
		o.field("externalId", v)
	}
	for _, a := range rt.Schema.Attributes {
		if fn, ok := extra[a.Name]; ok {
			if p.Includes(a.Name, a) {
				fn()
			}
			continue
		}
		if v, ok := proj[a.Name]; ok {
			o.field(a.Name, v)
		}
	}
	for _, e := range rt.Extensions {
		if v, ok := proj[e.Schema.ID]; ok {
			o.field(e.Schema.ID, v)
		}
	}
}

func schemasOf(rt *scim.ResourceType, data scim.Resource) []string {
	out := []string{rt.Schema.ID}
	for _, e := range rt.Extensions {
		if _, ok := data[e.Schema.ID]; ok {
			out = append(out, e.Schema.ID)
		}
	}
	return out
}

func (s *Server) writeUser(o *objectWriter, rt *scim.ResourceType, base string, u *store.User, p *scim.Projection) {
	data := u.Data
	if _, ok := data["active"]; !ok {
		// Absent means active (see the store); say so, so that a client's GET-then-PUT
		// never turns the absence into a deactivation.
		data = scim.Resource(cloneTop(data))
		data["active"] = true
	}
	o.begin()
	o.field("schemas", schemasOf(rt, data))
	o.field("id", u.ID)
	writeAttributes(o, rt, data, p, map[string]func(){
		"groups": func() {
			if len(u.Groups) == 0 {
				return
			}
			groups := make([]map[string]any, len(u.Groups))
			for i, g := range u.Groups {
				groups[i] = map[string]any{"value": g.ID, "$ref": base + "/Groups/" + g.ID, "display": g.DisplayName, "type": "direct"}
			}
			o.field("groups", groups)
		},
		"roles": func() {
			if len(u.Roles) == 0 {
				return
			}
			list := make([]map[string]any, len(u.Roles))
			for i, name := range u.Roles {
				list[i] = map[string]any{"value": name}
			}
			o.field("roles", list)
		},
	})
	if p.Includes("meta", scim.CommonAttr("meta")) {
		o.field("meta", metaOf("User", base+"/Users/"+u.ID, u.Meta))
	}
	o.end()
}

func cloneTop(m map[string]any) map[string]any {
	c := make(map[string]any, len(m)+1)
	for k, v := range m {
		c[k] = v
	}
	return c
}

// writeGroup writes a group; its members, when projected in, are streamed from the store.
func (s *Server) writeGroup(r *http.Request, o *objectWriter, base string, g *store.Group, p *scim.Projection) error {
	var err error
	o.begin()
	rt := s.typesOf(r.Context()).groups
	o.field("schemas", schemasOf(rt, g.Data))
	o.field("id", g.ID)
	writeAttributes(o, rt, g.Data, p, map[string]func(){
		"members": func() {
			o.key("members")
			o.w.WriteByte('[')
			n := 0
			err = s.store.GroupMembers(r.Context(), tenantOf(r.Context()), g.ID, func(m store.Member) error {
				if n > 0 {
					o.w.WriteByte(',')
				}
				n++
				b, err := json.Marshal(map[string]any{"value": m.ID, "$ref": base + "/Users/" + m.ID, "display": m.Display, "type": "User"})
				if err != nil {
					return err
				}
				_, err = o.w.Write(b)
				return err
			})
			o.w.WriteByte(']')
		},
	})
	if p.Includes("meta", scim.CommonAttr("meta")) {
		o.field("meta", metaOf("Group", base+"/Groups/"+g.ID, g.Meta))
	}
	o.end()
	return err
}

// bufferPool re-uses response buffers: a fresh 32 KiB buffer per response was a large
// share of a GET's garbage.
type bufferPool struct{ pool sync.Pool }

func (p *bufferPool) get(w io.Writer) *bufio.Writer {
	bw, _ := p.pool.Get().(*bufio.Writer)
	if bw == nil {
		bw = bufio.NewWriterSize(nil, 32<<10)
	}
	bw.Reset(w)
	return bw
}

func (p *bufferPool) put(bw *bufio.Writer) {
	bw.Reset(nil)
	p.pool.Put(bw)
}

// respondResource writes one resource with its ETag and, for a creation, its Location.
func (s *Server) respondResource(w http.ResponseWriter, status int, location string, m store.Meta, write func(o *objectWriter) error) error {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("ETag", etag(m.Version))
	if status == http.StatusCreated {
		h.Set("Location", location)
	}
	w.WriteHeader(status)
	bw := s.buffers.get(w)
	defer s.buffers.put(bw)
	o := &objectWriter{w: bw}
	if err := write(o); err != nil {
		if ferr := bw.Flush(); ferr != nil {
			// The write failed because the client stopped receiving (bufio keeps the error).
			return &clientFailure{err: ferr}
		}
		return abortStream(err)
	}
	if o.err != nil {
		return abortStream(o.err)
	}
	return flushed(bw)
}

// listHeader is what a ListResponse says besides its resources.
type listHeader struct {
	total, startIndex, items int
	// cursor is set in cursor paging (RFC 9865), which has no startIndex; nextCursor is
	// "" on the last page.
	cursor     bool
	nextCursor string
}

// respondList writes a ListResponse (RFC 7644 §3.4.2) whose items are written one by one.
func (s *Server) respondList(w http.ResponseWriter, h listHeader, each func(o *objectWriter, i int) error) error {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(http.StatusOK)
	bw := s.buffers.get(w)
	defer s.buffers.put(bw)
	o := &objectWriter{w: bw}
	o.begin()
	o.field("schemas", []string{scim.ListResponseSchema})
	o.field("totalResults", h.total)
	o.field("itemsPerPage", h.items)
	if !h.cursor {
		o.field("startIndex", h.startIndex)
	} else if h.nextCursor != "" {
		// RFC 9865 §2: "nextCursor is omitted from a response only to indicate that there
		// are no more result pages."
		o.field("nextCursor", h.nextCursor)
	}
	o.key("Resources")
	bw.WriteByte('[')
	for i := 0; i < h.items; i++ {
		if i > 0 {
			bw.WriteByte(',')
		}
		item := &objectWriter{w: bw}
		if err := each(item, i); err != nil {
			return abortStream(err)
		}
	}
	bw.WriteByte(']')
	o.end()
	return flushed(bw)
}

// flushed sends what is buffered; a failure is the client's (it stopped reading, or went
// away): the response has begun, so there is nothing more to send.
func flushed(bw *bufio.Writer) error {
	if err := bw.Flush(); err != nil {
		return &clientFailure{err: err}
	}
	return nil
}

// abortStream handles a failure after the status line was sent: the connection is cut
// (http.ErrAbortHandler) so that the client sees a broken response, never a truncated one
// that parses.
func abortStream(err error) error {
	_ = err // already past the point where it could be rendered
	panic(http.ErrAbortHandler)
}

// noContent answers 204.
func noContent(w http.ResponseWriter, m *store.Meta) error {
	if m != nil {
		w.Header().Set("ETag", etag(m.Version))
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
