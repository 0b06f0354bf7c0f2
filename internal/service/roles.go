package service

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/scimd/scimd/internal/roles"
	"github.com/scimd/scimd/internal/scim"
	"github.com/scimd/scimd/internal/store"
)

// Where a tenant's role configuration comes from.
const (
	RoleSourceTenant  = "tenant"   // its own
	RoleSourceDefault = "default"  // the default for every tenant without one
	RoleSourceBuiltIn = "built-in" // none: every group is a role of its own name
)

// RoleSettings is a tenant's role configuration (or, with no tenant, the default one).
type RoleSettings struct {
	TenantID string `json:"tenant_id,omitempty"`
	// Config is the configuration set here (nil when none is).
	Config *roles.Config `json:"config"`
	// Effective is the configuration the tenant works under, and Source where it comes from.
	Effective roles.Config `json:"effective"`
	Source    string       `json:"source"`
}

// RoleUpdate is what setting a role configuration did.
type RoleUpdate struct {
	RoleSettings
	// Unchanged is true when the configuration was already this one (nothing happened).
	Unchanged bool `json:"unchanged"`
	// Recomputed is how many users' roles were derived again, Changed how many changed.
	Recomputed int `json:"recomputed"`
	Changed    int `json:"changed"`
}

// RoleSettings returns a tenant's role configuration; tenantID "" the default one.
func (s *Service) RoleSettings(ctx context.Context, tenantID string) (RoleSettings, error) {
	if tenantID != "" {
		if _, err := s.Tenant(ctx, tenantID); err != nil {
			return RoleSettings{}, err
		}
	}
	own, eff, err := s.store.RoleConfig(ctx, tenantID)
	if err != nil {
		return RoleSettings{}, err
	}
	out := RoleSettings{TenantID: tenantID, Config: own, Effective: eff, Source: RoleSourceBuiltIn}
	switch {
	case own != nil && tenantID != "":
		out.Source = RoleSourceTenant
	case own != nil:
		out.Source = RoleSourceDefault
	default:
		def, _, err := s.store.RoleConfig(ctx, "")
		if err != nil {
			return RoleSettings{}, err
		}
		if def != nil {
			out.Source = RoleSourceDefault
		}
	}
	return out, nil
}

// SetRoleSettings replaces a tenant's role configuration (tenantID "": the default one;
// cfg nil: removes it) and derives the roles of every affected user again, in one
// transaction with their user.roles_changed events.
func (s *Service) SetRoleSettings(ctx context.Context, tenantID string, cfg *roles.Config) (RoleUpdate, error) {
	if tenantID != "" {
		if _, err := s.Tenant(ctx, tenantID); err != nil {
			return RoleUpdate{}, err
		}
	}
	validate := func(c roles.Config, inherited []roles.Role) error {
		if err := c.Validate(inherited); err != nil {
			var re *roles.Error
			if errors.As(err, &re) {
				return invalid(joinField("config", re.Field), "%s", err.Error())
			}
			return err
		}
		return nil
	}
	change, err := s.store.SetRoleConfig(ctx, tenantID, cfg, validate)
	if err != nil {
		var se *Error
		if errors.As(err, &se) {
			return RoleUpdate{}, se
		}
		if e, ok := scim.AsError(err); ok && e.Status == http.StatusBadRequest {
			return RoleUpdate{}, invalid("config", "%s", e.Detail)
		}
		if errors.Is(err, store.ErrNotFound) {
			return RoleUpdate{}, notFound("tenant %q not found", tenantID)
		}
		return RoleUpdate{}, err
	}
	settings, err := s.RoleSettings(ctx, tenantID)
	if err != nil {
		return RoleUpdate{}, err
	}
	return RoleUpdate{RoleSettings: settings, Unchanged: change.Unchanged, Recomputed: change.Users, Changed: change.Changed}, nil
}

func joinField(a, b string) string {
	switch {
	case b == "":
		return a
	case strings.HasPrefix(b, "["):
		return a + b
	}
	return a + "." + b
}

// RoleFile is a file of role configurations applied as a whole (scimd role apply): the
// default configuration and each named tenant's. A tenant is named by its name, or by
// "ref:" and its external reference; null removes a configuration.
type RoleFile struct {
	Default *roles.Config            `json:"default"`
	Tenants map[string]*roles.Config `json:"tenants"`
}

// RoleApplied is what applying a RoleFile did to one configuration.
type RoleApplied struct {
	Target string `json:"target"` // "default" or the tenant as the file names it
	RoleUpdate
}

// ApplyRoleFile sets the default configuration, then every tenant's the file names, in
// name order; a configuration already as the file says is left alone, so applying the
// same file twice changes nothing. Every tenant is found before anything is written.
func (s *Service) ApplyRoleFile(ctx context.Context, f RoleFile) ([]RoleApplied, error) {
	names := make([]string, 0, len(f.Tenants))
	for k := range f.Tenants {
		names = append(names, k)
	}
	slices.Sort(names)
	ids := make(map[string]string, len(names))
	for _, n := range names {
		var t store.Tenant
		var err error
		if ref, ok := strings.CutPrefix(n, "ref:"); ok {
			var page TenantPage
			page, err = s.ListTenants(ctx, TenantFilter{ExternalRef: ref, Limit: 1})
			if err == nil && len(page.Tenants) == 0 {
				err = notFound("tenant %q not found", n)
			} else if err == nil {
				t = page.Tenants[0]
			}
		} else {
			t, err = s.TenantByName(ctx, n)
		}
		if err != nil {
			return nil, invalid("tenants."+n, "no tenant %q", n)
		}
		ids[n] = t.ID
	}
	var out []RoleApplied
	u, err := s.SetRoleSettings(ctx, "", f.Default)
	if err != nil {
		return out, prefixField(err, "default")
	}
	out = append(out, RoleApplied{Target: "default", RoleUpdate: u})
	for _, n := range names {
		u, err := s.SetRoleSettings(ctx, ids[n], f.Tenants[n])
		if err != nil {
			return out, prefixField(err, "tenants."+n)
		}
		out = append(out, RoleApplied{Target: n, RoleUpdate: u})
	}
	return out, nil
}

func prefixField(err error, prefix string) error {
	var se *Error
	if errors.As(err, &se) && se.Field != "" {
		c := *se
		c.Field = prefix + "." + strings.TrimPrefix(se.Field, "config.")
		c.Detail = prefix + ": " + se.Detail
		return &c
	}
	return err
}

// roleConfigOf returns the configuration the tenant works under.
func (s *Service) roleConfigOf(ctx context.Context, tenantID string) (roles.Config, error) {
	_, eff, err := s.store.RoleConfig(ctx, tenantID)
	return eff, err
}

// GroupRoles is a group with the roles it maps to (none: an unmapped group).
type GroupRoles struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	ExternalID  string   `json:"external_id,omitempty"`
	Roles       []string `json:"roles"`
	MemberCount int      `json:"member_count"`
}

// GroupPage is a page of groups and the cursor of the next ("" on the last page).
type GroupPage struct {
	Groups []GroupRoles
	Next   string
}

// Groups lists a tenant's groups in creation order with the roles each maps to under the
// tenant's configuration: an unmapped group is listed with no roles.
func (s *Service) Groups(ctx context.Context, tenantID, cursor string, limit int) (GroupPage, error) {
	limit, err := pageLimit(limit, DefaultPageSize, MaxPageSize)
	if err != nil {
		return GroupPage{}, err
	}
	if _, err := s.Tenant(ctx, tenantID); err != nil {
		return GroupPage{}, err
	}
	cfg, err := s.roleConfigOf(ctx, tenantID)
	if err != nil {
		return GroupPage{}, err
	}
	page, err := s.store.ListGroups(ctx, tenantID, store.ListQuery{Count: limit, Cursor: &cursor, NoTotal: true})
	if err != nil {
		return GroupPage{}, cursorError(err)
	}
	ids := make([]string, 0, len(page.Items))
	for _, g := range page.Items {
		ids = append(ids, g.ID)
	}
	counts, err := s.store.MemberCounts(ctx, tenantID, ids)
	if err != nil {
		return GroupPage{}, err
	}
	out := GroupPage{Groups: make([]GroupRoles, 0, len(page.Items)), Next: page.NextCursor}
	for _, g := range page.Items {
		name := g.Data.String("displayName")
		mapped := cfg.GroupRoles(roles.Group{ID: g.ID, DisplayName: name})
		if mapped == nil {
			mapped = []string{}
		}
		out.Groups = append(out.Groups, GroupRoles{ID: g.ID, Name: name, ExternalID: g.Data.String("externalId"), Roles: mapped, MemberCount: counts[g.ID]})
	}
	return out, nil
}
