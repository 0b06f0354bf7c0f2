package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/scimd/scimd/internal/compat"
	"github.com/scimd/scimd/internal/events"
	"github.com/scimd/scimd/internal/scim"
	"github.com/scimd/scimd/internal/store"
)

func (s *Server) respondGroup(w http.ResponseWriter, r *http.Request, status int, g *store.Group) error {
	base := s.baseURL(r)
	p := projectionOf(r, s.typesOf(r.Context()).groups)
	return s.respondResource(w, status, base+"/Groups/"+g.ID, g.Meta, func(o *objectWriter) error {
		return s.writeGroup(r, o, base, g, p)
	})
}

// memberIDs takes the user ids out of a normalized "members" value.
func memberIDs(v any) ([]string, error) {
	list, _ := v.([]any)
	if len(list) > scim.MaxMembers {
		return nil, scim.InvalidValue("\"members\" has %d values; at most %d are accepted in one request", len(list), scim.MaxMembers)
	}
	ids := make([]string, 0, len(list))
	for i, item := range list {
		m, _ := item.(map[string]any)
		id, _ := m["value"].(string)
		if id == "" {
			return nil, scim.InvalidValue("members[%d] has no \"value\" (the member's id)", i)
		}
		if t, _ := m["type"].(string); t != "" && !strings.EqualFold(t, "User") {
			return nil, scim.InvalidValue("members[%d]: only users can be members (a group is a role), got type %q", i, t)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

func (s *Server) createGroup(w http.ResponseWriter, r *http.Request) error {
	body, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	data, managed, err := scim.NormalizeResource(s.typesOf(r.Context()).groups, body, "members")
	if err != nil {
		return err
	}
	ids, err := memberIDs(managed["members"])
	if err != nil {
		return err
	}
	g, err := s.store.CreateGroup(r.Context(), tenantOf(r.Context()), data, ids)
	if err != nil {
		return err
	}
	return s.respondGroup(w, r, http.StatusCreated, g)
}

func (s *Server) getGroup(w http.ResponseWriter, r *http.Request) error {
	g, err := s.store.GetGroup(r.Context(), tenantOf(r.Context()), r.PathValue("id"))
	if err != nil {
		return err
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagListMatches(inm, g.Meta.Version) {
		w.Header().Set("ETag", etag(g.Meta.Version))
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	return s.respondGroup(w, r, http.StatusOK, g)
}

func (s *Server) listGroups(w http.ResponseWriter, r *http.Request) error {
	q, err := s.listParams(r, s.typesOf(r.Context()).groups)
	if err != nil {
		return err
	}
	var page store.Page[*store.Group]
	err = s.boundedRead(r, q, func(ctx context.Context) (err error) {
		page, err = s.store.ListGroups(ctx, tenantOf(ctx), q)
		return err
	})
	if err != nil {
		return err
	}
	base := s.baseURL(r)
	p := projectionOf(r, s.typesOf(r.Context()).groups)
	return s.respondList(w, listHeader{total: page.Total, startIndex: q.StartIndex, items: len(page.Items), cursor: q.Cursor != nil, nextCursor: page.NextCursor}, func(o *objectWriter, i int) error {
		if err := s.writeGroup(r, o, base, page.Items[i], p); err != nil {
			return err
		}
		return o.err
	})
}

// replaceGroup is PUT: attributes and the member list are replaced whole (Okta's custom
// apps push every membership change as GET then PUT of the complete group).
func (s *Server) replaceGroup(w http.ResponseWriter, r *http.Request) error {
	body, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	data, managed, err := scim.NormalizeResource(s.typesOf(r.Context()).groups, body, "members")
	if err != nil {
		return err
	}
	ids, err := memberIDs(managed["members"])
	if err != nil {
		return err
	}
	ctx := events.WithOp(r.Context(), events.OpPut)
	g, err := s.store.UpdateGroup(ctx, tenantOf(ctx), r.PathValue("id"), func(cur *store.Group) (scim.Resource, []store.MemberOp, error) {
		if err := checkIfMatch(r, cur.Meta); err != nil {
			return nil, nil, err
		}
		return data, []store.MemberOp{{Kind: store.MembersSet, UserIDs: ids}}, nil
	})
	if err != nil {
		return err
	}
	return s.respondGroup(w, r, http.StatusOK, g)
}

// patchGroup applies attribute operations to the group document and turns member
// operations into row changes, all in one transaction.
func (s *Server) patchGroup(w http.ResponseWriter, r *http.Request) error {
	body, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	ops, err := scim.ParsePatch(s.typesOf(r.Context()).groups, body)
	if err != nil {
		return err
	}
	ops = compat.RewriteMemberOps(s.opts.Compat.For(tenantNameOf(r.Context())), ops)
	attrOps, memberOps, err := splitMemberOps(s.typesOf(r.Context()).groups.Schema.Attr("members"), ops)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	ctx := events.WithOp(r.Context(), events.OpPatch)
	var g *store.Group
	if onlyAddsAndRemoves(attrOps, memberOps) && r.Header.Get("If-Match") == "" {
		// A group push: members added and removed, nothing else, no precondition.
		g, err = s.store.ChangeMembers(ctx, tenantOf(ctx), id, memberOps)
	} else {
		g, err = s.store.UpdateGroup(ctx, tenantOf(ctx), id, func(cur *store.Group) (scim.Resource, []store.MemberOp, error) {
			if err := checkIfMatch(r, cur.Meta); err != nil {
				return nil, nil, err
			}
			data, err := scim.ApplyPatch(s.typesOf(r.Context()).groups, id, cur.Data, attrOps)
			return data, memberOps, err
		})
	}
	if err != nil {
		return err
	}
	// RFC 7644 §3.5.2: the server returns 200 with the resource, or 204 "if the "attributes"
	// parameter is not specified"; 204 spares serializing a large member list.
	if r.URL.Query().Get("attributes") == "" && r.URL.Query().Get("excludedAttributes") == "" {
		return noContent(w, &g.Meta)
	}
	return s.respondGroup(w, r, http.StatusOK, g)
}

// onlyAddsAndRemoves reports whether a PATCH only adds and removes members: no attribute
// operation (a path-less one left with an empty value counts as none) and no replacement
// of the member list.
func onlyAddsAndRemoves(attrOps []scim.PatchOperation, memberOps []store.MemberOp) bool {
	for _, op := range attrOps {
		if v, ok := op.Value.(map[string]any); op.Path != nil || !ok || len(v) > 0 {
			return false
		}
	}
	for _, op := range memberOps {
		if op.Kind == store.MembersSet {
			return false
		}
	}
	return len(memberOps) > 0
}

// splitMemberOps separates the operations on "members" from the others and translates
// every shape identity providers send into member ops, in request order.
func splitMemberOps(membersAttr *scim.Attribute, ops []scim.PatchOperation) ([]scim.PatchOperation, []store.MemberOp, error) {
	var attrOps []scim.PatchOperation
	var memberOps []store.MemberOp
	for _, op := range ops {
		if op.Path == nil {
			// A path-less add/replace touches members only if "members" is in the value.
			obj := op.Value.(map[string]any)
			rest := map[string]any{}
			for k, v := range obj {
				// The key may be schema-qualified ("urn:…:core:2.0:Group:members", as a path
				// may be); without this it reached ApplyPatch and was stored in the group's
				// document instead of changing its members.
				if urn, name := scim.SplitURN(k); !strings.EqualFold(name, "members") || (urn != "" && !strings.EqualFold(urn, scim.GroupSchema)) {
					rest[k] = v
					continue
				}
				mo, err := memberValueOp(membersAttr, op.Op, v)
				if err != nil {
					return nil, nil, err
				}
				memberOps = append(memberOps, mo)
			}
			attrOps = append(attrOps, scim.PatchOperation{Op: op.Op, Value: rest})
			continue
		}
		if !strings.EqualFold(op.Path.Attr.Name, "members") || op.Path.Attr.URN != "" {
			attrOps = append(attrOps, op)
			continue
		}
		if op.Path.Attr.Sub != "" || op.Path.Sub != "" {
			return nil, nil, scim.InvalidPath("a member's sub-attributes cannot be changed: add or remove the member")
		}
		switch {
		case op.Path.Filter != nil:
			if op.Op != "remove" {
				return nil, nil, scim.InvalidPath("%s with a filter on members is not supported: use add or remove", op.Op)
			}
			ids, err := memberIDsFromFilter(op.Path.Filter)
			if err != nil {
				return nil, nil, err
			}
			memberOps = append(memberOps, store.MemberOp{Kind: store.MembersRemove, UserIDs: ids})
		case op.Op == "remove" && op.Value == nil:
			// {"op":"remove","path":"members"}: all members go.
			memberOps = append(memberOps, store.MemberOp{Kind: store.MembersSet})
		default:
			mo, err := memberValueOp(membersAttr, op.Op, op.Value)
			if err != nil {
				return nil, nil, err
			}
			memberOps = append(memberOps, mo)
		}
	}
	return attrOps, memberOps, nil
}

// memberValueOp handles an op on "members" with a value list: add, replace (the list
// becomes the members) and Entra's remove with a value list (those members go).
func memberValueOp(membersAttr *scim.Attribute, op string, raw any) (store.MemberOp, error) {
	v, err := scim.NormalizeValue(membersAttr, raw, "members")
	if err != nil {
		return store.MemberOp{}, err
	}
	ids, err := memberIDs(v)
	if err != nil {
		return store.MemberOp{}, err
	}
	kind := map[string]store.MemberOpKind{"add": store.MembersAdd, "remove": store.MembersRemove, "replace": store.MembersSet}[op]
	return store.MemberOp{Kind: kind, UserIDs: ids}, nil
}

// memberIDsFromFilter reads `value eq "id"` terms joined by "or", the filters clients
// use to name members (members[value eq "…"]).
func memberIDsFromFilter(f scim.Filter) ([]string, error) {
	switch t := f.(type) {
	case *scim.OrFilter:
		l, err := memberIDsFromFilter(t.Left)
		if err != nil {
			return nil, err
		}
		rr, err := memberIDsFromFilter(t.Right)
		return append(l, rr...), err
	case *scim.CompareFilter:
		if t.Op == scim.OpEq && strings.EqualFold(t.Path.Name, "value") && t.Path.Sub == "" {
			if id, ok := t.Value.(string); ok {
				return []string{id}, nil
			}
		}
	}
	return nil, scim.InvalidFilter("a members filter must be value eq \"<id>\" (optionally several joined by or)")
}

func (s *Server) deleteGroup(w http.ResponseWriter, r *http.Request) error {
	err := s.store.DeleteGroup(r.Context(), tenantOf(r.Context()), r.PathValue("id"), func(m store.Meta) error {
		return checkIfMatch(r, m)
	})
	if err != nil {
		return err
	}
	return noContent(w, nil)
}
