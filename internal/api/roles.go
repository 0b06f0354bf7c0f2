package api

import (
	"net/http"

	"github.com/scimd/scimd/internal/roles"
	"github.com/scimd/scimd/internal/store"
)

// Role configurations: a tenant's at /tenants/{tenant}/role-config, the default for every
// tenant without one at /role-config (a key for all tenants). See docs/roles.md.

func (s *Server) getRoleConfig(w http.ResponseWriter, r *http.Request, _ store.APIKey) error {
	if _, err := query(r); err != nil {
		return err
	}
	out, err := s.svc.RoleSettings(r.Context(), r.PathValue("tenant"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) putRoleConfig(w http.ResponseWriter, r *http.Request, _ store.APIKey) error {
	if _, err := query(r); err != nil {
		return err
	}
	var cfg roles.Config
	if err := decodeBody(w, r, &cfg); err != nil {
		return err
	}
	out, err := s.svc.SetRoleSettings(r.Context(), r.PathValue("tenant"), &cfg)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) deleteRoleConfig(w http.ResponseWriter, r *http.Request, _ store.APIKey) error {
	if _, err := query(r); err != nil {
		return err
	}
	out, err := s.svc.SetRoleSettings(r.Context(), r.PathValue("tenant"), nil)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) listGroups(w http.ResponseWriter, r *http.Request, _ store.APIKey) error {
	q, err := query(r, "cursor", "limit")
	if err != nil {
		return err
	}
	limit, err := limitParam(q)
	if err != nil {
		return err
	}
	page, err := s.svc.Groups(r.Context(), r.PathValue("tenant"), q.Get("cursor"), limit)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newList(page.Groups, page.Next))
}
