package httpapi

import (
	"context"
	"slices"
	"strings"

	"github.com/scimd/scimd/internal/scim"
)

// resourceTypes are the resource types one tenant sees: the built-in ones with the
// extensions declared for all tenants and for that tenant (Options.Extensions).
type resourceTypes struct {
	users, groups *scim.ResourceType
	// usersAssigning is users with "roles" writable, for a tenant whose role
	// configuration takes the identity provider's role assignments (Entra ID's app roles).
	usersAssigning *scim.ResourceType
	// usersDocRenderable: listed users can be written from their stored documents.
	usersDocRenderable bool
}

func newResourceTypes(users, groups *scim.ResourceType) *resourceTypes {
	return &resourceTypes{users: users, groups: groups, usersAssigning: users.WithReadWrite("roles"), usersDocRenderable: docRenderable(users)}
}

// userTypeFor returns the User resource type a write with this body is checked against:
// the one with writable "roles" when the body writes roles and the tenant accepts role
// assignments; otherwise "roles" is read-only (ignored in POST and PUT, RFC 7644 §3.5.1;
// refused in PATCH with 400 mutability, §3.5.2).
func (s *Server) userTypeFor(ctx context.Context, body map[string]any) (*scim.ResourceType, error) {
	ts := s.typesOf(ctx)
	if !writesRoles(body) {
		return ts.users, nil
	}
	_, cfg, err := s.store.RoleConfig(ctx, tenantOf(ctx))
	if err != nil {
		return nil, err
	}
	if cfg.SCIMRoles {
		return ts.usersAssigning, nil
	}
	return ts.users, nil
}

// writesRoles reports whether a User body (a resource or a PatchOp) names "roles": as a
// top-level key, as an operation's path, or as a key of a path-less operation's value.
func writesRoles(body map[string]any) bool {
	isRoles := func(k string) bool {
		return strings.EqualFold(k, "roles") || strings.EqualFold(k, scim.UserSchema+":roles")
	}
	for k, v := range body {
		if isRoles(k) {
			return true
		}
		if !strings.EqualFold(k, "Operations") {
			continue
		}
		ops, _ := v.([]any)
		for _, o := range ops {
			op, _ := o.(map[string]any)
			for ok, ov := range op {
				switch {
				case strings.EqualFold(ok, "path"):
					p, _ := ov.(string)
					p = strings.TrimPrefix(strings.ToLower(p), strings.ToLower(scim.UserSchema)+":")
					if p == "roles" || strings.HasPrefix(p, "roles[") || strings.HasPrefix(p, "roles.") {
						return true
					}
				case strings.EqualFold(ok, "value"):
					if m, isMap := ov.(map[string]any); isMap {
						for vk := range m {
							if isRoles(vk) {
								return true
							}
						}
					}
				}
			}
		}
	}
	return false
}

// buildTypes makes the resource types of every tenant named in an extension declaration,
// and those of every other tenant.
func (s *Server) buildTypes(exts []scim.ExtensionConfig) {
	with := func(tenant string) *resourceTypes {
		users, groups := scim.NewUserResourceType(), scim.NewGroupResourceType()
		for _, e := range exts {
			if len(e.Tenants) > 0 && !slices.Contains(e.Tenants, tenant) {
				continue
			}
			ext := scim.SchemaExtension{Schema: e.Schema, Required: e.Required}
			if e.ResourceType == "User" {
				users = users.WithExtensions(ext)
			} else {
				groups = groups.WithExtensions(ext)
			}
		}
		return newResourceTypes(users, groups)
	}
	s.defaultTypes = with("")
	s.tenantTypes = map[string]*resourceTypes{}
	for _, e := range exts {
		for _, t := range e.Tenants {
			if s.tenantTypes[t] == nil {
				s.tenantTypes[t] = with(t)
			}
		}
	}
}

// typesFor returns the resource types of the tenant with the given name.
func (s *Server) typesFor(tenantName string) *resourceTypes {
	if t := s.tenantTypes[tenantName]; t != nil {
		return t
	}
	return s.defaultTypes
}

type typesKey struct{}

// typesOf returns the authenticated tenant's resource types.
func (s *Server) typesOf(ctx context.Context) *resourceTypes {
	if t, _ := ctx.Value(typesKey{}).(*resourceTypes); t != nil {
		return t
	}
	return s.defaultTypes
}
