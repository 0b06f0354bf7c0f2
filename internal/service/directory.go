package service

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/scimd/scimd/internal/roles"
	"github.com/scimd/scimd/internal/scim"
	"github.com/scimd/scimd/internal/store"
)

// The directory is read-only: the identity provider owns the data and writes it over SCIM.

// DirectoryUser is a user as an application developer wants it: flat, with its roles.
type DirectoryUser struct {
	ID          string     `json:"id"`
	ExternalID  string     `json:"external_id,omitempty"`
	UserName    string     `json:"user_name"`
	Email       string     `json:"email,omitempty"`
	GivenName   string     `json:"given_name,omitempty"`
	FamilyName  string     `json:"family_name,omitempty"`
	DisplayName string     `json:"display_name,omitempty"`
	Active      bool       `json:"active"`
	Roles       []string   `json:"roles"`
	Groups      []GroupRef `json:"groups"`
	Created     time.Time  `json:"created"`
	Updated     time.Time  `json:"updated"`
}

// GroupRef names a group a user is in.
type GroupRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Role is one of the application's roles as a tenant's users hold it. Without a role
// configuration every group pushed by the identity provider is a role of its name: the
// role's id is then the group's id, with its external id and times. Under a configuration
// the roles are the configured ones, and a role's id is its name.
type Role struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	ExternalID  string `json:"external_id,omitempty"`
	// MemberCount is how many users hold the role.
	MemberCount int        `json:"member_count"`
	Created     *time.Time `json:"created,omitempty"`
	Updated     *time.Time `json:"updated,omitempty"`
}

// UserQuery narrows a directory list: every set field must match.
type UserQuery struct {
	Email        string // any of the user's e-mail addresses, case-insensitively
	UserName     string // case-insensitively
	ExternalID   string
	Role         string // the name of a role the user holds, case-insensitively
	Group        string // the id of a group the user is in
	Active       *bool
	UpdatedSince *time.Time
	Cursor       string
	Limit        int
}

// UserPage is a page of users and the cursor of the next ("" on the last page).
type UserPage struct {
	Users []DirectoryUser
	Next  string
}

// RolePage is a page of roles and the cursor of the next ("" on the last page).
type RolePage struct {
	Roles []Role
	Next  string
}

// Page sizes of the directory: small pages keep every response fast at any size.
const (
	DefaultPageSize = 50
	MaxPageSize     = 200
)

func pageLimit(limit, def, max int) (int, error) {
	switch {
	case limit == 0:
		return def, nil
	case limit < 0 || limit > max:
		return 0, invalid("limit", "limit must be between 1 and %d", max)
	}
	return limit, nil
}

func encodeCursor(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func decodeCursor(c string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return "", invalid("cursor", "cursor is not one this server returned")
	}
	return string(b), nil
}

// and joins filters (nil when there are none).
func and(fs []scim.Filter) scim.Filter {
	var out scim.Filter
	for _, f := range fs {
		if out == nil {
			out = f
		} else {
			out = &scim.AndFilter{Left: out, Right: f}
		}
	}
	return out
}

func eq(name, sub string, v any) scim.Filter {
	return &scim.CompareFilter{Path: scim.AttrPath{Name: name, Sub: sub}, Op: scim.OpEq, Value: v}
}

// filter is the SCIM filter that selects q's users: the store runs it on its indexes, as
// it runs the identity providers' filters.
func (q UserQuery) filter(rt *scim.ResourceType) (scim.Filter, error) {
	var fs []scim.Filter
	for _, c := range []struct {
		field, name, sub, v string
	}{
		{"email", "emails", "value", q.Email},
		{"user_name", "userName", "", q.UserName},
		{"external_id", "externalId", "", q.ExternalID},
		{"role", "groups", "display", q.Role},
		{"group", "groups", "value", q.Group},
	} {
		if c.v == "" {
			continue
		}
		if err := checkText(c.field, c.v, false); err != nil {
			return nil, err
		}
		fs = append(fs, eq(c.name, c.sub, c.v))
	}
	if q.Active != nil {
		fs = append(fs, eq("active", "", *q.Active))
	}
	if q.UpdatedSince != nil {
		fs = append(fs, &scim.CompareFilter{Path: scim.AttrPath{Name: "meta", Sub: "lastModified"}, Op: scim.OpGe,
			Value: q.UpdatedSince.UTC().Format(time.RFC3339Nano)})
	}
	f := and(fs)
	if f != nil {
		if err := scim.ResolveFilter(rt, f); err != nil {
			return nil, fmt.Errorf("directory filter: %w", err)
		}
	}
	return f, nil
}

// Users lists a tenant's users in creation order (a stable order: a user created while a
// reader pages comes after every page read so far). With UpdatedSince they come in the
// order of their last change instead, oldest first: an application that syncs keeps the
// last user's time and asks for what changed since, and the index on that time serves
// each page without reading the users before it.
func (s *Service) Users(ctx context.Context, tenantID string, q UserQuery) (UserPage, error) {
	var holding string
	if q.Role != "" {
		// Holders are read from the role's index in order, fast at any size, also when
		// combined with the other conditions.
		if err := checkText("role", q.Role, false); err != nil {
			return UserPage{}, err
		}
		name, err := s.roleNamed(ctx, tenantID, q.Role)
		if err != nil || name == "" {
			return UserPage{Users: []DirectoryUser{}}, err
		}
		holding, q.Role = name, ""
	}
	if holding == "" && q.onlyMembership() {
		// Membership alone reads the group's member list in order, fast at any group size.
		if err := checkText("group", q.Group, false); err != nil {
			return UserPage{}, err
		}
		return s.userPage(ctx, tenantID, store.ListQuery{MemberOf: q.Group}, q.Cursor, q.Limit)
	}
	if holding != "" && q.Group == "" && q.Email == "" && q.UserName == "" && q.ExternalID == "" && q.Active == nil && q.UpdatedSince == nil {
		return s.userPage(ctx, tenantID, store.ListQuery{HasRole: holding}, q.Cursor, q.Limit)
	}
	f, err := q.filter(s.users)
	if err != nil {
		return UserPage{}, err
	}
	var sortBy *scim.AttrPath
	if q.UpdatedSince != nil {
		if sortBy, err = scim.ParseSortBy(s.users, "meta.lastModified"); err != nil {
			return UserPage{}, err
		}
	}
	return s.userPage(ctx, tenantID, store.ListQuery{Filter: f, SortBy: sortBy, HasRole: holding}, q.Cursor, q.Limit)
}

// roleNamed returns the spelling of the role the tenant's users hold under a name given
// case-insensitively ("" when there is no such role): a configured role, or, without a
// configuration, a group's displayName.
func (s *Service) roleNamed(ctx context.Context, tenantID, name string) (string, error) {
	cfg, err := s.roleConfigOf(ctx, tenantID)
	if err != nil {
		return "", err
	}
	for _, r := range cfg.Roles {
		if strings.EqualFold(r.Name, name) {
			return r.Name, nil
		}
	}
	for _, r := range []string{cfg.DefaultRole, cfg.InactiveRole} {
		if r != "" && strings.EqualFold(r, name) {
			return r, nil
		}
	}
	if cfg.Mode != roles.ModeGroups {
		return "", nil
	}
	id, err := s.groupNamed(ctx, tenantID, name)
	if err != nil || id == "" {
		return "", err
	}
	g, err := s.store.GetGroup(ctx, tenantID, id)
	if err != nil {
		return "", err
	}
	return g.Data.String("displayName"), nil
}

// onlyMembership reports whether q asks for one role's or one group's users and nothing
// else.
func (q UserQuery) onlyMembership() bool {
	return (q.Role != "") != (q.Group != "") && q.Email == "" && q.UserName == "" && q.ExternalID == "" &&
		q.Active == nil && q.UpdatedSince == nil
}

// groupNamed returns the id of the tenant's group with this displayName (case-insensitive,
// unique per tenant), or "" when there is none.
func (s *Service) groupNamed(ctx context.Context, tenantID, name string) (string, error) {
	f := eq("displayName", "", name)
	if err := scim.ResolveFilter(s.groups, f); err != nil {
		return "", err
	}
	page, err := s.store.ListGroups(ctx, tenantID, store.ListQuery{Filter: f, StartIndex: 1, Count: 1, NoTotal: true})
	if err != nil || len(page.Items) == 0 {
		return "", err
	}
	return page.Items[0].ID, nil
}

// userPage reads a page of users selected by lq (its Filter, SortBy or MemberOf).
func (s *Service) userPage(ctx context.Context, tenantID string, lq store.ListQuery, cursor string, limit int) (UserPage, error) {
	limit, err := pageLimit(limit, DefaultPageSize, MaxPageSize)
	if err != nil {
		return UserPage{}, err
	}
	if _, err := s.Tenant(ctx, tenantID); err != nil {
		return UserPage{}, err
	}
	lq.Count, lq.Cursor, lq.WithGroups, lq.WithRoles, lq.NoTotal = limit, &cursor, true, true, true
	page, err := s.store.ListUsers(ctx, tenantID, lq)
	if err != nil {
		return UserPage{}, cursorError(err)
	}
	out := UserPage{Users: make([]DirectoryUser, 0, len(page.Items)), Next: page.NextCursor}
	for _, u := range page.Items {
		out.Users = append(out.Users, directoryUser(u))
	}
	return out, nil
}

// cursorError presents the store's refusal of a cursor (RFC 9865 invalidCursor) as a
// refusal of the cursor parameter.
func cursorError(err error) error {
	if e, ok := scim.AsError(err); ok && e.Status == http.StatusBadRequest {
		return invalid("cursor", "cursor is not one this server returned for this query")
	}
	return err
}

// User returns one user by id.
func (s *Service) User(ctx context.Context, tenantID, id string) (DirectoryUser, error) {
	if _, err := s.Tenant(ctx, tenantID); err != nil {
		return DirectoryUser{}, err
	}
	u, err := s.store.GetUser(ctx, tenantID, id, store.ReadOptions{WithGroups: true, WithRoles: true})
	if e, ok := scim.AsError(err); ok && e.Status == http.StatusNotFound {
		return DirectoryUser{}, notFound("user %q not found", id)
	}
	if err != nil {
		return DirectoryUser{}, err
	}
	return directoryUser(u), nil
}

func directoryUser(u *store.User) DirectoryUser {
	d := DirectoryUser{
		ID: u.ID, ExternalID: u.Data.String("externalId"), UserName: u.Data.String("userName"),
		DisplayName: u.Data.String("displayName"), Active: true,
		Roles: []string{}, Groups: []GroupRef{}, Created: u.Meta.Created, Updated: u.Meta.LastModified,
	}
	if a, ok := u.Data["active"].(bool); ok {
		d.Active = a
	}
	if name, ok := u.Data["name"].(map[string]any); ok {
		d.GivenName, _ = name["givenName"].(string)
		d.FamilyName, _ = name["familyName"].(string)
		if d.DisplayName == "" {
			d.DisplayName, _ = name["formatted"].(string)
		}
	}
	d.Email = primaryEmail(u.Data)
	d.Roles = append(d.Roles, u.Roles...)
	for _, g := range u.Groups {
		d.Groups = append(d.Groups, GroupRef{ID: g.ID, Name: g.DisplayName})
	}
	return d
}

// primaryEmail is the e-mail marked primary (RFC 7643 §2.4: at most one is), else the first.
func primaryEmail(data scim.Resource) string {
	emails, _ := data["emails"].([]any)
	first := ""
	for _, e := range emails {
		m, _ := e.(map[string]any)
		v, _ := m["value"].(string)
		if v == "" {
			continue
		}
		if p, _ := m["primary"].(bool); p {
			return v
		}
		if first == "" {
			first = v
		}
	}
	return first
}

// Roles lists a tenant's roles with how many users hold each. Without a role
// configuration they are its groups, in creation order and paged; under one, the
// configured roles in order of precedence, on one page.
func (s *Service) Roles(ctx context.Context, tenantID, cursor string, limit int) (RolePage, error) {
	limit, err := pageLimit(limit, DefaultPageSize, MaxPageSize)
	if err != nil {
		return RolePage{}, err
	}
	if _, err := s.Tenant(ctx, tenantID); err != nil {
		return RolePage{}, err
	}
	cfg, err := s.roleConfigOf(ctx, tenantID)
	if err != nil {
		return RolePage{}, err
	}
	counts, err := s.store.RoleCounts(ctx, tenantID)
	if err != nil {
		return RolePage{}, err
	}
	if cfg.Mode != roles.ModeGroups {
		if cursor != "" {
			return RolePage{}, invalid("cursor", "cursor is not one this server returned for this query")
		}
		out := RolePage{Roles: make([]Role, 0, len(cfg.Roles))}
		for _, r := range cfg.Roles {
			out.Roles = append(out.Roles, Role{ID: r.Name, Name: r.Name, Description: r.Description, MemberCount: counts[r.Name]})
		}
		return out, nil
	}
	page, err := s.store.ListGroups(ctx, tenantID, store.ListQuery{Count: limit, Cursor: &cursor, NoTotal: true})
	if err != nil {
		return RolePage{}, cursorError(err)
	}
	out := RolePage{Roles: make([]Role, 0, len(page.Items)), Next: page.NextCursor}
	for _, g := range page.Items {
		name := g.Data.String("displayName")
		created, updated := g.Meta.Created, g.Meta.LastModified
		out.Roles = append(out.Roles, Role{
			ID: g.ID, Name: name, ExternalID: g.Data.String("externalId"),
			MemberCount: counts[name], Created: &created, Updated: &updated,
		})
	}
	return out, nil
}

// RoleMembers lists the users holding a role, in creation order. The role is named by
// the id Roles gives it: its group's id without a role configuration, its name under one.
func (s *Service) RoleMembers(ctx context.Context, tenantID, roleID, cursor string, limit int) (UserPage, error) {
	if _, err := s.Tenant(ctx, tenantID); err != nil {
		return UserPage{}, err
	}
	cfg, err := s.roleConfigOf(ctx, tenantID)
	if err != nil {
		return UserPage{}, err
	}
	name := ""
	if cfg.Mode == roles.ModeGroups {
		g, err := s.store.GetGroup(ctx, tenantID, roleID)
		if e, ok := scim.AsError(err); ok && e.Status == http.StatusNotFound {
			return UserPage{}, notFound("role %q not found", roleID)
		}
		if err != nil {
			return UserPage{}, err
		}
		name = g.Data.String("displayName")
	} else {
		for _, r := range cfg.Roles {
			if r.Name == roleID {
				name = r.Name
			}
		}
		if name == "" {
			return UserPage{}, notFound("role %q not found", roleID)
		}
	}
	return s.userPage(ctx, tenantID, store.ListQuery{HasRole: name}, cursor, limit)
}
