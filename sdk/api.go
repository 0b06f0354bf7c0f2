package sdk

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Tenant is one customer of the application, with its own identity provider.
type Tenant struct {
	ID          string     `json:"id"`
	Name        string     `json:"name"`
	ExternalRef *string    `json:"external_ref"`
	Disabled    bool       `json:"disabled"`
	DisabledAt  *time.Time `json:"disabled_at"`
	Created     time.Time  `json:"created"`
	Updated     time.Time  `json:"updated"`
}

// TenantCreate is a new tenant. ExternalRef is the application's own id for the customer
// (unique; optional).
type TenantCreate struct {
	Name        string `json:"name"`
	ExternalRef string `json:"external_ref,omitempty"`
}

// TenantUpdate changes a tenant; nil fields stay as they are ("" removes ExternalRef).
type TenantUpdate struct {
	Name        *string `json:"name,omitempty"`
	ExternalRef *string `json:"external_ref,omitempty"`
}

// Page is one page of a list; Next is the cursor of the next page, nil on the last.
type Page[T any] struct {
	Data []T     `json:"data"`
	Next *string `json:"next"`
}

// ListOptions page a list: Cursor is a page's Next ("" for the first page), Limit the
// page size (0 for the server's default).
type ListOptions struct {
	Cursor string
	Limit  int
}

// TenantListOptions select tenants; Name and ExternalRef match exactly.
type TenantListOptions struct {
	Name        string
	ExternalRef string
	ListOptions
}

// Connection is what a customer's admin enters in the identity provider. The secret is
// never in it: it is in the IssuedCredential that minted or rotated the credential.
type Connection struct {
	TenantID              string   `json:"tenant_id"`
	TenantName            string   `json:"tenant_name"`
	SCIMBaseURL           string   `json:"scim_base_url"`
	UniqueIdentifierField string   `json:"unique_identifier_field"`
	AuthenticationModes   []string `json:"authentication_modes"`
	Credential            *struct {
		ID       string `json:"id"`
		Username string `json:"username"`
	} `json:"credential"`
}

// Credential is a SCIM credential as listed: never its secret.
type Credential struct {
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

// IssuedCredential is a credential with its secret, returned once when it is minted or
// rotated: Username and Password for Basic auth, or Bearer as a bearer token.
type IssuedCredential struct {
	Credential
	Password    string `json:"password"`
	Bearer      string `json:"bearer"`
	SCIMBaseURL string `json:"scim_base_url"`
}

// User is a provisioned user as the directory gives it.
type User struct {
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

// GroupRef names a group (role) a user is in.
type GroupRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Role is a group the identity provider pushed, which the application treats as a role.
//
// Without a role configuration every group is a role of its name, and a role's ID is the
// group's id (with its external id and times); under a configuration the roles are the
// configured ones, and a role's ID is its name.
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

// RoleConfig says how a tenant's groups become the application's roles (docs/roles.md).
type RoleConfig struct {
	// Mode is "groups" (every group is a role of its name), "multi" (every mapped role)
	// or "single" (the mapped role listed first in Roles).
	Mode string `json:"mode,omitempty"`
	// Roles are the application's roles in order of precedence, highest first.
	Roles []RoleDef  `json:"roles,omitempty"`
	Rules []RoleRule `json:"rules,omitempty"`
	// DefaultRole is held by an active user that nothing else gives a role.
	DefaultRole string `json:"default_role,omitempty"`
	// InactiveRole is held by an inactive user (nothing when empty).
	InactiveRole string `json:"inactive_role,omitempty"`
	// SCIMRoles takes the identity provider's assignments through the User's "roles"
	// attribute (Microsoft Entra ID's app roles) as a source of roles.
	SCIMRoles bool `json:"scim_roles,omitempty"`
}

// RoleDef is one of the application's roles.
type RoleDef struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
}

// RoleRule maps groups to a role: exactly one of GroupID, Group (a displayName,
// case-insensitively) and GroupPattern (`*` and `?`, case-insensitively) is set.
type RoleRule struct {
	GroupID      string `json:"group_id,omitempty"`
	Group        string `json:"group,omitempty"`
	GroupPattern string `json:"group_pattern,omitempty"`
	Role         string `json:"role"`
}

// RoleSettings is a tenant's (or the default) role configuration and the one in effect.
type RoleSettings struct {
	TenantID string `json:"tenant_id,omitempty"`
	// Config is the configuration set here, nil when none is.
	Config    *RoleConfig `json:"config"`
	Effective RoleConfig  `json:"effective"`
	// Source is "tenant", "default" or "built-in".
	Source string `json:"source"`
}

// RoleUpdate is what setting a role configuration did.
type RoleUpdate struct {
	RoleSettings
	Unchanged  bool `json:"unchanged"`
	Recomputed int  `json:"recomputed"`
	Changed    int  `json:"changed"`
}

// Group is a group of a tenant with the roles it maps to (none: an unmapped group).
type Group struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	ExternalID  string   `json:"external_id,omitempty"`
	Roles       []string `json:"roles"`
	MemberCount int      `json:"member_count"`
}

// UserListOptions narrow a user list: every set field must match.
type UserListOptions struct {
	Email        string
	UserName     string
	ExternalID   string
	Role         string // a role's name
	Group        string // a group's id
	Active       *bool
	UpdatedSince time.Time
	ListOptions
}

// CreateTenant creates a tenant.
func (c *Client) CreateTenant(ctx context.Context, in TenantCreate) (*Tenant, error) {
	var t Tenant
	return &t, c.do(ctx, call{method: http.MethodPost, path: "/tenants", body: in}, &t)
}

// ListTenants returns one page of tenants, in name order.
func (c *Client) ListTenants(ctx context.Context, opts TenantListOptions) (*Page[Tenant], error) {
	q := url.Values{}
	setIf(q, "name", opts.Name)
	setIf(q, "external_ref", opts.ExternalRef)
	var p Page[Tenant]
	return &p, c.do(ctx, call{method: http.MethodGet, path: "/tenants", query: pageQuery(q, opts.Cursor, opts.Limit), idempotent: true}, &p)
}

// Tenants iterates over every tenant matching opts, fetching pages as it goes.
func (c *Client) Tenants(ctx context.Context, opts TenantListOptions) iter.Seq2[Tenant, error] {
	return all(func(cursor string) (*Page[Tenant], error) {
		o := opts
		o.Cursor = cursor
		return c.ListTenants(ctx, o)
	}, opts.Cursor)
}

// TenantByExternalRef returns the tenant with the application's own id ref, or an error
// for which IsNotFound is true.
func (c *Client) TenantByExternalRef(ctx context.Context, ref string) (*Tenant, error) {
	p, err := c.ListTenants(ctx, TenantListOptions{ExternalRef: ref})
	if err != nil {
		return nil, err
	}
	if len(p.Data) == 0 {
		return nil, &Error{Status: http.StatusNotFound, Title: "Not found", Detail: "no tenant with external reference " + strconv.Quote(ref)}
	}
	return &p.Data[0], nil
}

// GetTenant returns a tenant by id.
func (c *Client) GetTenant(ctx context.Context, tenantID string) (*Tenant, error) {
	var t Tenant
	return &t, c.do(ctx, call{method: http.MethodGet, path: tenantPath(tenantID), idempotent: true}, &t)
}

// UpdateTenant changes a tenant's name or external reference.
func (c *Client) UpdateTenant(ctx context.Context, tenantID string, in TenantUpdate) (*Tenant, error) {
	var t Tenant
	return &t, c.do(ctx, call{method: http.MethodPatch, path: tenantPath(tenantID), body: in, idempotent: true}, &t)
}

// DisableTenant disables a tenant: its SCIM credentials stop working at once; its data
// stays.
func (c *Client) DisableTenant(ctx context.Context, tenantID string) (*Tenant, error) {
	var t Tenant
	return &t, c.do(ctx, call{method: http.MethodPost, path: tenantPath(tenantID, "disable"), idempotent: true}, &t)
}

// EnableTenant enables a disabled tenant.
func (c *Client) EnableTenant(ctx context.Context, tenantID string) (*Tenant, error) {
	var t Tenant
	return &t, c.do(ctx, call{method: http.MethodPost, path: tenantPath(tenantID, "enable"), idempotent: true}, &t)
}

// DeleteTenant deletes a tenant with all its users, groups and credentials. It cannot be
// undone.
func (c *Client) DeleteTenant(ctx context.Context, tenantID string) error {
	q := url.Values{"confirm": {tenantID}}
	return c.do(ctx, call{method: http.MethodDelete, path: tenantPath(tenantID), query: q, idempotent: true}, nil)
}

// Connection returns what the tenant's admin enters in the identity provider.
func (c *Client) Connection(ctx context.Context, tenantID string) (*Connection, error) {
	var conn Connection
	return &conn, c.do(ctx, call{method: http.MethodGet, path: tenantPath(tenantID, "connection"), idempotent: true}, &conn)
}

// MintCredential creates a SCIM credential; its secret is in the result only.
func (c *Client) MintCredential(ctx context.Context, tenantID string) (*IssuedCredential, error) {
	var ic IssuedCredential
	return &ic, c.do(ctx, call{method: http.MethodPost, path: tenantPath(tenantID, "credentials")}, &ic)
}

// ListCredentials returns a tenant's SCIM credentials, revoked ones included.
func (c *Client) ListCredentials(ctx context.Context, tenantID string) ([]Credential, error) {
	var p Page[Credential]
	err := c.do(ctx, call{method: http.MethodGet, path: tenantPath(tenantID, "credentials"), idempotent: true}, &p)
	return p.Data, err
}

// RotateCredential gives a credential a new secret. The Basic user name stays; the old
// secret keeps working for overlap (0 ends it at once), so the identity provider can be
// switched without an outage.
func (c *Client) RotateCredential(ctx context.Context, tenantID, credentialID string, overlap time.Duration) (*IssuedCredential, error) {
	var ic IssuedCredential
	body := map[string]int64{"overlap_seconds": int64(overlap / time.Second)}
	return &ic, c.do(ctx, call{method: http.MethodPost, path: tenantPath(tenantID, "credentials", credentialID, "rotate"), body: body}, &ic)
}

// RevokeCredential revokes a credential: the next SCIM request that uses it is refused.
func (c *Client) RevokeCredential(ctx context.Context, tenantID, credentialID string) error {
	return c.do(ctx, call{method: http.MethodDelete, path: tenantPath(tenantID, "credentials", credentialID), idempotent: true}, nil)
}

// ListUsers returns one page of a tenant's users, in creation order.
func (c *Client) ListUsers(ctx context.Context, tenantID string, opts UserListOptions) (*Page[User], error) {
	q := url.Values{}
	setIf(q, "email", opts.Email)
	setIf(q, "user_name", opts.UserName)
	setIf(q, "external_id", opts.ExternalID)
	setIf(q, "role", opts.Role)
	setIf(q, "group", opts.Group)
	if opts.Active != nil {
		q.Set("active", strconv.FormatBool(*opts.Active))
	}
	if !opts.UpdatedSince.IsZero() {
		q.Set("updated_since", opts.UpdatedSince.UTC().Format(time.RFC3339Nano))
	}
	var p Page[User]
	return &p, c.do(ctx, call{method: http.MethodGet, path: tenantPath(tenantID, "users"), query: pageQuery(q, opts.Cursor, opts.Limit), idempotent: true}, &p)
}

// Users iterates over every user matching opts, fetching pages as it goes.
func (c *Client) Users(ctx context.Context, tenantID string, opts UserListOptions) iter.Seq2[User, error] {
	return all(func(cursor string) (*Page[User], error) {
		o := opts
		o.Cursor = cursor
		return c.ListUsers(ctx, tenantID, o)
	}, opts.Cursor)
}

// GetUser returns one user by id.
func (c *Client) GetUser(ctx context.Context, tenantID, userID string) (*User, error) {
	var u User
	return &u, c.do(ctx, call{method: http.MethodGet, path: tenantPath(tenantID, "users", userID), idempotent: true}, &u)
}

// ListRoles returns one page of a tenant's roles with their member counts.
func (c *Client) ListRoles(ctx context.Context, tenantID string, opts ListOptions) (*Page[Role], error) {
	var p Page[Role]
	return &p, c.do(ctx, call{method: http.MethodGet, path: tenantPath(tenantID, "roles"), query: pageQuery(nil, opts.Cursor, opts.Limit), idempotent: true}, &p)
}

// Roles iterates over every role of a tenant.
func (c *Client) Roles(ctx context.Context, tenantID string) iter.Seq2[Role, error] {
	return all(func(cursor string) (*Page[Role], error) {
		return c.ListRoles(ctx, tenantID, ListOptions{Cursor: cursor})
	}, "")
}

// ListRoleMembers returns one page of the users holding a role.
func (c *Client) ListRoleMembers(ctx context.Context, tenantID, roleID string, opts ListOptions) (*Page[User], error) {
	var p Page[User]
	return &p, c.do(ctx, call{method: http.MethodGet, path: tenantPath(tenantID, "roles", roleID, "members"), query: pageQuery(nil, opts.Cursor, opts.Limit), idempotent: true}, &p)
}

// RoleMembers iterates over every user holding a role.
func (c *Client) RoleMembers(ctx context.Context, tenantID, roleID string) iter.Seq2[User, error] {
	return all(func(cursor string) (*Page[User], error) {
		return c.ListRoleMembers(ctx, tenantID, roleID, ListOptions{Cursor: cursor})
	}, "")
}

// roleConfigPath is a tenant's role configuration, or with tenantID "" the default one.
func roleConfigPath(tenantID string) string {
	if tenantID == "" {
		return "/role-config"
	}
	return tenantPath(tenantID, "role-config")
}

// RoleConfig reads a tenant's role configuration; tenantID "" reads the default one (a
// key for all tenants).
func (c *Client) RoleConfig(ctx context.Context, tenantID string) (*RoleSettings, error) {
	var out RoleSettings
	return &out, c.do(ctx, call{method: http.MethodGet, path: roleConfigPath(tenantID), idempotent: true}, &out)
}

// SetRoleConfig replaces a tenant's (tenantID "": the default) role configuration; every
// affected user's roles are derived again at once, with their user.roles_changed events.
// Setting the same configuration again changes nothing.
func (c *Client) SetRoleConfig(ctx context.Context, tenantID string, cfg RoleConfig) (*RoleUpdate, error) {
	var out RoleUpdate
	return &out, c.do(ctx, call{method: http.MethodPut, path: roleConfigPath(tenantID), body: cfg, idempotent: true}, &out)
}

// DeleteRoleConfig removes a tenant's (tenantID "": the default) role configuration.
func (c *Client) DeleteRoleConfig(ctx context.Context, tenantID string) (*RoleUpdate, error) {
	var out RoleUpdate
	return &out, c.do(ctx, call{method: http.MethodDelete, path: roleConfigPath(tenantID), idempotent: true}, &out)
}

// ListGroups returns one page of a tenant's groups with the roles each maps to.
func (c *Client) ListGroups(ctx context.Context, tenantID string, opts ListOptions) (*Page[Group], error) {
	var p Page[Group]
	return &p, c.do(ctx, call{method: http.MethodGet, path: tenantPath(tenantID, "groups"), query: pageQuery(nil, opts.Cursor, opts.Limit), idempotent: true}, &p)
}

// Groups iterates over every group of a tenant.
func (c *Client) Groups(ctx context.Context, tenantID string) iter.Seq2[Group, error] {
	return all(func(cursor string) (*Page[Group], error) {
		return c.ListGroups(ctx, tenantID, ListOptions{Cursor: cursor})
	}, "")
}

// all iterates over the items of consecutive pages, stopping at the first error (which it
// yields).
func all[T any](fetch func(cursor string) (*Page[T], error), cursor string) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for {
			p, err := fetch(cursor)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, item := range p.Data {
				if !yield(item, nil) {
					return
				}
			}
			if p.Next == nil || *p.Next == "" {
				return
			}
			cursor = *p.Next
		}
	}
}

func setIf(q url.Values, name, v string) {
	if v != "" {
		q.Set(name, v)
	}
}
