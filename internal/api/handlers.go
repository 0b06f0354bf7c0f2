package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/scimd/scimd/internal/credential"
	"github.com/scimd/scimd/internal/service"
	"github.com/scimd/scimd/internal/store"
)

// scimPrefix is where SCIM is served, for the base URL when none is configured.
const scimPrefix = "/scim/v2"

type tenantJSON struct {
	ID          string     `json:"id"`
	Name        string     `json:"name"`
	ExternalRef *string    `json:"external_ref"`
	Disabled    bool       `json:"disabled"`
	DisabledAt  *time.Time `json:"disabled_at"`
	Created     time.Time  `json:"created"`
	Updated     time.Time  `json:"updated"`
}

func tenantOut(t store.Tenant) tenantJSON {
	out := tenantJSON{ID: t.ID, Name: t.Name, Disabled: t.Disabled != nil, DisabledAt: t.Disabled, Created: t.Created, Updated: t.Updated}
	if t.ExternalRef != "" {
		out.ExternalRef = &t.ExternalRef
	}
	return out
}

type tenantBody struct {
	Name        *string `json:"name"`
	ExternalRef *string `json:"external_ref"`
}

func (s *Server) createTenant(w http.ResponseWriter, r *http.Request, _ store.APIKey) error {
	var in tenantBody
	if err := decodeBody(w, r, &in); err != nil {
		return err
	}
	t, err := s.svc.CreateTenant(r.Context(), service.TenantInput{Name: in.Name, ExternalRef: in.ExternalRef})
	if err != nil {
		return err
	}
	w.Header().Set("Location", Prefix+"/tenants/"+t.ID)
	return writeJSON(w, http.StatusCreated, tenantOut(t))
}

func (s *Server) listTenants(w http.ResponseWriter, r *http.Request, key store.APIKey) error {
	q, err := query(r, "name", "external_ref", "cursor", "limit")
	if err != nil {
		return err
	}
	limit, err := limitParam(q)
	if err != nil {
		return err
	}
	// A tenant-scoped key sees its own tenant only.
	page, err := s.svc.ListTenants(r.Context(), service.TenantFilter{
		Name: q.Get("name"), ExternalRef: q.Get("external_ref"), Only: key.TenantID, Cursor: q.Get("cursor"), Limit: limit,
	})
	if err != nil {
		return err
	}
	out := make([]tenantJSON, 0, len(page.Tenants))
	for _, t := range page.Tenants {
		out = append(out, tenantOut(t))
	}
	return writeJSON(w, http.StatusOK, newList(out, page.Next))
}

func (s *Server) getTenant(w http.ResponseWriter, r *http.Request, _ store.APIKey) error {
	if _, err := query(r); err != nil {
		return err
	}
	t, err := s.svc.Tenant(r.Context(), r.PathValue("tenant"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, tenantOut(t))
}

func (s *Server) updateTenant(w http.ResponseWriter, r *http.Request, _ store.APIKey) error {
	var in tenantBody
	if err := decodeBody(w, r, &in); err != nil {
		return err
	}
	t, err := s.svc.UpdateTenant(r.Context(), r.PathValue("tenant"), service.TenantInput{Name: in.Name, ExternalRef: in.ExternalRef})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, tenantOut(t))
}

func (s *Server) deleteTenant(w http.ResponseWriter, r *http.Request, _ store.APIKey) error {
	q, err := query(r, "confirm")
	if err != nil {
		return err
	}
	if err := s.svc.DeleteTenant(r.Context(), r.PathValue("tenant"), q.Get("confirm")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) setDisabled(w http.ResponseWriter, r *http.Request, disabled bool) error {
	if _, err := query(r); err != nil {
		return err
	}
	if err := decodeBody(w, r, &struct{}{}); err != nil {
		return err
	}
	t, err := s.svc.SetTenantDisabled(r.Context(), r.PathValue("tenant"), disabled)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, tenantOut(t))
}

func (s *Server) disableTenant(w http.ResponseWriter, r *http.Request, _ store.APIKey) error {
	return s.setDisabled(w, r, true)
}

func (s *Server) enableTenant(w http.ResponseWriter, r *http.Request, _ store.APIKey) error {
	return s.setDisabled(w, r, false)
}

// scimBaseURL is the configured SCIM base URL, else the one this request reached.
func (s *Server) scimBaseURL(r *http.Request) string {
	if u := s.svc.SCIMBaseURL(); u != "" {
		return u
	}
	if s.origin != nil {
		return s.origin(r) + scimPrefix
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + scimPrefix
}

type credentialRef struct {
	ID       string `json:"id"`
	Username string `json:"username"`
}

type connectionJSON struct {
	TenantID              string         `json:"tenant_id"`
	TenantName            string         `json:"tenant_name"`
	SCIMBaseURL           string         `json:"scim_base_url"`
	UniqueIdentifierField string         `json:"unique_identifier_field"`
	AuthenticationModes   []string       `json:"authentication_modes"`
	Credential            *credentialRef `json:"credential"`
}

func (s *Server) connection(w http.ResponseWriter, r *http.Request, _ store.APIKey) error {
	if _, err := query(r); err != nil {
		return err
	}
	c, err := s.svc.Connection(r.Context(), r.PathValue("tenant"))
	if err != nil {
		return err
	}
	out := connectionJSON{
		TenantID: c.TenantID, TenantName: c.TenantName, SCIMBaseURL: s.scimBaseURL(r),
		UniqueIdentifierField: c.UniqueIdentifierField, AuthenticationModes: []string{"basic", "bearer"},
	}
	if c.Credential != nil {
		out.Credential = &credentialRef{ID: c.Credential.ID, Username: c.Credential.ID}
	}
	return writeJSON(w, http.StatusOK, out)
}

type credentialJSON struct {
	ID                      string     `json:"id"`
	TenantID                string     `json:"tenant_id"`
	Username                string     `json:"username"`
	Created                 time.Time  `json:"created"`
	RotatedAt               *time.Time `json:"rotated_at"`
	PreviousSecretExpiresAt *time.Time `json:"previous_secret_expires_at"`
	RevokedAt               *time.Time `json:"revoked_at"`
	LastUsedAt              *time.Time `json:"last_used_at"`
	LastClient              *string    `json:"last_client"`
}

func credentialOut(c store.Credential, now time.Time) credentialJSON {
	out := credentialJSON{ID: c.ID, TenantID: c.TenantID, Username: c.ID, Created: c.Created, RotatedAt: c.Rotated,
		RevokedAt: c.Revoked, LastUsedAt: c.LastUsed}
	if c.PreviousExpires != nil && c.PreviousExpires.After(now) {
		out.PreviousSecretExpiresAt = c.PreviousExpires
	}
	if c.LastClient != "" {
		out.LastClient = &c.LastClient
	}
	return out
}

// issuedJSON is a credential with its secret: the only time the secret is ever shown.
type issuedJSON struct {
	credentialJSON
	Password    string `json:"password"`
	Bearer      string `json:"bearer"`
	SCIMBaseURL string `json:"scim_base_url"`
}

func (s *Server) issuedOut(r *http.Request, issued credential.Issued) issuedJSON {
	return issuedJSON{credentialJSON: credentialOut(issued.Credential, time.Now()), Password: issued.Password,
		Bearer: issued.Bearer, SCIMBaseURL: s.scimBaseURL(r)}
}

func (s *Server) mintCredential(w http.ResponseWriter, r *http.Request, _ store.APIKey) error {
	if _, err := query(r); err != nil {
		return err
	}
	if err := decodeBody(w, r, &struct{}{}); err != nil {
		return err
	}
	issued, err := s.svc.MintCredential(r.Context(), r.PathValue("tenant"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, s.issuedOut(r, issued))
}

func (s *Server) listCredentials(w http.ResponseWriter, r *http.Request, _ store.APIKey) error {
	if _, err := query(r); err != nil {
		return err
	}
	creds, err := s.svc.Credentials(r.Context(), r.PathValue("tenant"))
	if err != nil {
		return err
	}
	now := time.Now()
	out := make([]credentialJSON, 0, len(creds))
	for _, c := range creds {
		out = append(out, credentialOut(c, now))
	}
	return writeJSON(w, http.StatusOK, newList(out, ""))
}

func (s *Server) rotateCredential(w http.ResponseWriter, r *http.Request, _ store.APIKey) error {
	if _, err := query(r); err != nil {
		return err
	}
	var in struct {
		OverlapSeconds *int64 `json:"overlap_seconds"`
	}
	if err := decodeBody(w, r, &in); err != nil {
		return err
	}
	overlap := service.DefaultOverlap
	if in.OverlapSeconds != nil {
		if *in.OverlapSeconds < 0 || *in.OverlapSeconds > int64(service.MaxOverlap.Seconds()) {
			return badRequest("overlap_seconds", "overlap_seconds must be between 0 and %d", int64(service.MaxOverlap.Seconds()))
		}
		overlap = time.Duration(*in.OverlapSeconds) * time.Second
	}
	issued, err := s.svc.RotateCredential(r.Context(), r.PathValue("tenant"), r.PathValue("id"), overlap)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, s.issuedOut(r, issued))
}

func (s *Server) revokeCredential(w http.ResponseWriter, r *http.Request, _ store.APIKey) error {
	if _, err := query(r); err != nil {
		return err
	}
	if err := s.svc.RevokeCredential(r.Context(), r.PathValue("tenant"), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request, _ store.APIKey) error {
	q, err := query(r, "email", "user_name", "external_id", "role", "group", "active", "updated_since", "cursor", "limit")
	if err != nil {
		return err
	}
	uq := service.UserQuery{Email: q.Get("email"), UserName: q.Get("user_name"), ExternalID: q.Get("external_id"),
		Role: q.Get("role"), Group: q.Get("group"), Cursor: q.Get("cursor")}
	if uq.Active, err = boolParam(q, "active"); err != nil {
		return err
	}
	if uq.UpdatedSince, err = timeParam(q, "updated_since"); err != nil {
		return err
	}
	if uq.Limit, err = limitParam(q); err != nil {
		return err
	}
	page, err := s.svc.Users(r.Context(), r.PathValue("tenant"), uq)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newList(page.Users, page.Next))
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request, _ store.APIKey) error {
	if _, err := query(r); err != nil {
		return err
	}
	u, err := s.svc.User(r.Context(), r.PathValue("tenant"), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, u)
}

func (s *Server) listRoles(w http.ResponseWriter, r *http.Request, _ store.APIKey) error {
	q, err := query(r, "cursor", "limit")
	if err != nil {
		return err
	}
	limit, err := limitParam(q)
	if err != nil {
		return err
	}
	page, err := s.svc.Roles(r.Context(), r.PathValue("tenant"), q.Get("cursor"), limit)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newList(page.Roles, page.Next))
}

func (s *Server) roleMembers(w http.ResponseWriter, r *http.Request, _ store.APIKey) error {
	q, err := query(r, "cursor", "limit")
	if err != nil {
		return err
	}
	limit, err := limitParam(q)
	if err != nil {
		return err
	}
	page, err := s.svc.RoleMembers(r.Context(), r.PathValue("tenant"), r.PathValue("id"), q.Get("cursor"), limit)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newList(page.Users, page.Next))
}

func (s *Server) listActivity(w http.ResponseWriter, r *http.Request, _ store.APIKey) error {
	q, err := query(r, "status", "resource_id", "client", "since", "after", "cursor", "limit")
	if err != nil {
		return err
	}
	aq := service.ActivityQuery{Status: q.Get("status"), ResourceID: q.Get("resource_id"), Client: q.Get("client"),
		After: q.Get("after"), Cursor: q.Get("cursor")}
	if aq.Since, err = timeParam(q, "since"); err != nil {
		return err
	}
	if aq.Limit, err = limitParam(q); err != nil {
		return err
	}
	page, err := s.svc.Activity(r.Context(), r.PathValue("tenant"), aq)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newList(page.Entries, page.Next))
}

func (s *Server) getActivity(w http.ResponseWriter, r *http.Request, _ store.APIKey) error {
	if _, err := query(r); err != nil {
		return err
	}
	e, err := s.svc.ActivityEntry(r.Context(), r.PathValue("tenant"), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, e)
}

func (s *Server) createSetupLink(w http.ResponseWriter, r *http.Request, _ store.APIKey) error {
	if _, err := query(r); err != nil {
		return err
	}
	var in struct {
		ExpiresIn int64 `json:"expires_in"`
	}
	if err := decodeBody(w, r, &in); err != nil {
		return err
	}
	if in.ExpiresIn < 0 || in.ExpiresIn > int64(service.MaxSetupLinkTTL/time.Second) {
		return badRequest("expires_in", "expires_in is seconds, at most %d", int64(service.MaxSetupLinkTTL/time.Second))
	}
	l, err := s.svc.CreateSetupLink(r.Context(), r.PathValue("tenant"), time.Duration(in.ExpiresIn)*time.Second)
	if err != nil {
		return err
	}
	if strings.HasPrefix(l.URL, "/") { // no configured base URL: the one this request came to
		l.URL = strings.TrimSuffix(s.scimBaseURL(r), scimPrefix) + l.URL
	}
	return writeJSON(w, http.StatusCreated, l)
}
