package httpapi

import (
	"net/http"
	"strings"

	"github.com/scimd/scimd/internal/scim"
)

// serviceProviderConfig states exactly what this server supports (RFC 7643 §5).
func (s *Server) serviceProviderConfig(w http.ResponseWriter, r *http.Request) error {
	base := s.baseURL(r)
	spc := map[string]any{
		"schemas":          []string{scim.ServiceProviderConfigSchema},
		"documentationUri": "https://github.com/scimd/scimd",
		"patch":            map[string]any{"supported": true},
		"bulk":             map[string]any{"supported": true, "maxOperations": s.opts.MaxBulkOperations, "maxPayloadSize": s.opts.MaxBulkPayloadBytes},
		"filter":           map[string]any{"supported": true, "maxResults": s.opts.MaxResults},
		"changePassword":   map[string]any{"supported": false},
		"sort":             map[string]any{"supported": true},
		// RFC 9865 §4: both ways of paging; index paging stays the default, which is
		// what every identity provider in use expects. A cursor names a position, not
		// server state, so it does not time out (no cursorTimeout).
		"pagination": map[string]any{"cursor": true, "index": true, "defaultPaginationMethod": "index",
			"defaultPageSize": 100, "maxPageSize": s.opts.MaxResults},
		"etag": map[string]any{"supported": true},
		"authenticationSchemes": []map[string]any{
			{"type": "httpbasic", "name": "HTTP Basic", "description": "The credential id as user name and its secret as password.", "primary": true},
			{"type": "oauthbearertoken", "name": "Bearer token", "description": "The bearer token printed when the credential was created."},
		},
		"meta": map[string]any{"resourceType": "ServiceProviderConfig", "location": base + "/ServiceProviderConfig"},
	}
	if len(s.opts.SecurityEventURIs) > 0 {
		// RFC 9967 §4: the events this provider issues. Requests are never answered
		// asynchronously here ("none").
		spc["securityEvents"] = map[string]any{"asyncRequest": "none", "eventUris": s.opts.SecurityEventURIs}
	}
	if s.opts.Compat.For(tenantNameOf(r.Context())).Scim2ModelsNoPagination {
		delete(spc, "pagination")
	}
	writeJSON(w, http.StatusOK, spc)
	return nil
}

func (s *Server) resourceTypeJSON(base string, rt *scim.ResourceType) map[string]any {
	exts := []map[string]any{}
	for _, e := range rt.Extensions {
		exts = append(exts, map[string]any{"schema": e.Schema.ID, "required": e.Required})
	}
	return map[string]any{
		"schemas":          []string{scim.ResourceTypeSchema},
		"id":               rt.ID,
		"name":             rt.Name,
		"endpoint":         rt.Endpoint,
		"description":      rt.Description,
		"schema":           rt.Schema.ID,
		"schemaExtensions": exts,
		"meta":             map[string]any{"resourceType": "ResourceType", "location": base + "/ResourceTypes/" + rt.ID},
	}
}

func listOf(items []map[string]any) map[string]any {
	return map[string]any{
		"schemas": []string{scim.ListResponseSchema}, "totalResults": len(items),
		"itemsPerPage": len(items), "startIndex": 1, "Resources": items,
	}
}

func (s *Server) resourceTypes(w http.ResponseWriter, r *http.Request) error {
	base := s.baseURL(r)
	ts := s.typesOf(r.Context())
	writeJSON(w, http.StatusOK, listOf([]map[string]any{s.resourceTypeJSON(base, ts.users), s.resourceTypeJSON(base, ts.groups)}))
	return nil
}

func (s *Server) resourceType(w http.ResponseWriter, r *http.Request) error {
	ts := s.typesOf(r.Context())
	for _, rt := range []*scim.ResourceType{ts.users, ts.groups} {
		if strings.EqualFold(rt.ID, r.PathValue("id")) {
			writeJSON(w, http.StatusOK, s.resourceTypeJSON(s.baseURL(r), rt))
			return nil
		}
	}
	return scim.NotFound("no resource type %q", r.PathValue("id"))
}

// allSchemas are the definitions the server validates the tenant's resources with,
// published as they are: with "roles" writable where the tenant's role configuration
// takes the identity provider's role assignments.
func (s *Server) allSchemas(r *http.Request) ([]*scim.Schema, error) {
	ts := s.typesOf(r.Context())
	_, cfg, err := s.store.RoleConfig(r.Context(), tenantOf(r.Context()))
	if err != nil {
		return nil, err
	}
	users := ts.users.Schema
	if cfg.SCIMRoles {
		users = ts.usersAssigning.Schema
	}
	out := []*scim.Schema{users}
	for _, e := range ts.users.Extensions {
		out = append(out, e.Schema)
	}
	out = append(out, ts.groups.Schema)
	for _, e := range ts.groups.Extensions {
		out = append(out, e.Schema)
	}
	return out, nil
}

func schemaJSON(base string, sc *scim.Schema) map[string]any {
	return map[string]any{
		"schemas": []string{scim.SchemaSchema}, "id": sc.ID, "name": sc.Name,
		"description": sc.Description, "attributes": sc.Attributes,
		"meta": map[string]any{"resourceType": "Schema", "location": base + "/Schemas/" + sc.ID},
	}
}

func (s *Server) schemas(w http.ResponseWriter, r *http.Request) error {
	base := s.baseURL(r)
	all, err := s.allSchemas(r)
	if err != nil {
		return err
	}
	var items []map[string]any
	for _, sc := range all {
		items = append(items, schemaJSON(base, sc))
	}
	writeJSON(w, http.StatusOK, listOf(items))
	return nil
}

func (s *Server) schema(w http.ResponseWriter, r *http.Request) error {
	all, err := s.allSchemas(r)
	if err != nil {
		return err
	}
	for _, sc := range all {
		if strings.EqualFold(sc.ID, r.PathValue("id")) {
			writeJSON(w, http.StatusOK, schemaJSON(s.baseURL(r), sc))
			return nil
		}
	}
	return scim.NotFound("no schema %q", r.PathValue("id"))
}
