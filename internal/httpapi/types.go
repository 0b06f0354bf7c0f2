package httpapi

import (
	"context"
	"slices"

	"github.com/scimd/scimd/internal/scim"
)

// resourceTypes are the resource types one tenant sees: the built-in ones with the
// extensions declared for all tenants and for that tenant (Options.Extensions).
type resourceTypes struct {
	users, groups *scim.ResourceType
	// usersDocRenderable: listed users can be written from their stored documents.
	usersDocRenderable bool
}

func newResourceTypes(users, groups *scim.ResourceType) *resourceTypes {
	return &resourceTypes{users: users, groups: groups, usersDocRenderable: docRenderable(users)}
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
