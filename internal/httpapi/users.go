package httpapi

import (
	"context"
	"net/http"

	"github.com/scimd/scimd/internal/events"
	"github.com/scimd/scimd/internal/scim"
	"github.com/scimd/scimd/internal/store"
)

func (s *Server) respondUser(w http.ResponseWriter, r *http.Request, status int, u *store.User) error {
	base := s.baseURL(r)
	p := projectionOf(r, s.typesOf(r.Context()).users)
	return s.respondResource(w, status, base+"/Users/"+u.ID, u.Meta, func(o *objectWriter) error {
		s.writeUser(o, s.typesOf(r.Context()).users, base, u, p)
		return nil
	})
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request) error {
	body, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	rt, err := s.userTypeFor(r.Context(), body)
	if err != nil {
		return err
	}
	data, _, err := scim.NormalizeResource(rt, body)
	if err != nil {
		return err
	}
	u, err := s.store.CreateUser(r.Context(), tenantOf(r.Context()), data)
	if err != nil {
		return err
	}
	return s.respondUser(w, r, http.StatusCreated, u)
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request) error {
	ts := s.typesOf(r.Context())
	p := projectionOf(r, ts.users)
	u, err := s.store.GetUser(r.Context(), tenantOf(r.Context()), r.PathValue("id"), store.ReadOptions{
		WithGroups: p.Includes("groups", ts.users.Schema.Attr("groups")),
		WithRoles:  p.Includes("roles", ts.users.Schema.Attr("roles")),
		RawDoc:     !p.Explicit() && ts.usersDocRenderable,
	})
	if err != nil {
		return err
	}
	// RFC 7644 §3.14: If-None-Match lets a client skip an unchanged resource.
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagListMatches(inm, u.Meta.Version) {
		w.Header().Set("ETag", etag(u.Meta.Version))
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	if u.Doc != nil {
		base := s.baseURL(r)
		return s.respondResource(w, http.StatusOK, base+"/Users/"+u.ID, u.Meta, func(o *objectWriter) error {
			return s.writeUserFromDoc(o, ts.users, base, u, p, nil)
		})
	}
	return s.respondUser(w, r, http.StatusOK, u)
}

// writeUserFromDoc writes a user read as its stored document: as it is when it can be, else
// decoded. It returns the scratch buffer for the next user.
func (s *Server) writeUserFromDoc(o *objectWriter, rt *scim.ResourceType, base string, u *store.User, p *scim.Projection, scratch *[]byte) error {
	var buf []byte
	if scratch != nil {
		buf = *scratch
	}
	buf, ok := s.writeUserDoc(o, rt, base, u, buf)
	if scratch != nil {
		*scratch = buf
	}
	if ok {
		return nil
	}
	data, err := scim.DecodeJSON(u.Doc)
	if err != nil {
		return err
	}
	u.Data = data
	s.writeUser(o, rt, base, u, p)
	return o.err
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) error {
	q, err := s.listParams(r, s.typesOf(r.Context()).users)
	if err != nil {
		return err
	}
	p := projectionOf(r, s.typesOf(r.Context()).users)
	q.WithGroups = p.Includes("groups", s.typesOf(r.Context()).users.Schema.Attr("groups"))
	q.WithRoles = p.Includes("roles", s.typesOf(r.Context()).users.Schema.Attr("roles"))
	q.RawDocs = !p.Explicit() && s.typesOf(r.Context()).usersDocRenderable
	var page store.Page[*store.User]
	err = s.boundedRead(r, q, func(ctx context.Context) (err error) {
		page, err = s.store.ListUsers(ctx, tenantOf(ctx), q)
		return err
	})
	if err != nil {
		return err
	}
	base := s.baseURL(r)
	var scratch []byte
	return s.respondList(w, listHeader{total: page.Total, startIndex: q.StartIndex, items: len(page.Items), cursor: q.Cursor != nil, nextCursor: page.NextCursor}, func(o *objectWriter, i int) error {
		u := page.Items[i]
		if u.Doc != nil {
			return s.writeUserFromDoc(o, s.typesOf(r.Context()).users, base, u, p, &scratch)
		}
		s.writeUser(o, s.typesOf(r.Context()).users, base, u, p)
		return o.err
	})
}

// replaceUser is PUT: the body replaces every writable attribute (RFC 7644 §3.5.1).
func (s *Server) replaceUser(w http.ResponseWriter, r *http.Request) error {
	body, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	rt, err := s.userTypeFor(r.Context(), body)
	if err != nil {
		return err
	}
	data, _, err := scim.NormalizeResource(rt, body)
	if err != nil {
		return err
	}
	ctx := events.WithOp(r.Context(), events.OpPut)
	u, err := s.store.UpdateUser(ctx, tenantOf(ctx), r.PathValue("id"), func(cur *store.User) (scim.Resource, error) {
		if err := checkIfMatch(r, cur.Meta); err != nil {
			return nil, err
		}
		return data, nil
	})
	if err != nil {
		return err
	}
	return s.respondUser(w, r, http.StatusOK, u)
}

func (s *Server) patchUser(w http.ResponseWriter, r *http.Request) error {
	body, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	rt, err := s.userTypeFor(r.Context(), body)
	if err != nil {
		return err
	}
	ops, err := scim.ParsePatch(rt, body)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	ctx := events.WithOp(r.Context(), events.OpPatch)
	u, err := s.store.UpdateUser(ctx, tenantOf(ctx), id, func(cur *store.User) (scim.Resource, error) {
		if err := checkIfMatch(r, cur.Meta); err != nil {
			return nil, err
		}
		return scim.ApplyPatch(rt, id, cur.Data, ops)
	})
	if err != nil {
		return err
	}
	return s.respondUser(w, r, http.StatusOK, u)
}

func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request) error {
	err := s.store.DeleteUser(r.Context(), tenantOf(r.Context()), r.PathValue("id"), func(m store.Meta) error {
		return checkIfMatch(r, m)
	})
	if err != nil {
		return err
	}
	return noContent(w, nil)
}
