package scim

import (
	"slices"
	"strings"
)

// Schema URNs (RFC 7643 §8.7, RFC 7644 §3.1).
const (
	UserSchema                  = "urn:ietf:params:scim:schemas:core:2.0:User"
	GroupSchema                 = "urn:ietf:params:scim:schemas:core:2.0:Group"
	EnterpriseUserSchema        = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	ListResponseSchema          = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	ErrorSchema                 = "urn:ietf:params:scim:api:messages:2.0:Error"
	PatchOpSchema               = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	SearchRequestSchema         = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
	BulkRequestSchema           = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
	BulkResponseSchema          = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
	ServiceProviderConfigSchema = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
	ResourceTypeSchema          = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
	SchemaSchema                = "urn:ietf:params:scim:schemas:core:2.0:Schema"
)

// AttrType is an attribute's data type (RFC 7643 §2.3).
type AttrType string

const (
	TypeString    AttrType = "string"
	TypeBoolean   AttrType = "boolean"
	TypeDecimal   AttrType = "decimal"
	TypeInteger   AttrType = "integer"
	TypeDateTime  AttrType = "dateTime"
	TypeBinary    AttrType = "binary"
	TypeReference AttrType = "reference"
	TypeComplex   AttrType = "complex"
)

// Mutability values (RFC 7643 §7).
const (
	ReadOnly  = "readOnly"
	ReadWrite = "readWrite"
	Immutable = "immutable"
	WriteOnly = "writeOnly"
)

// Returned values (RFC 7643 §7).
const (
	ReturnedAlways  = "always"
	ReturnedNever   = "never"
	ReturnedDefault = "default"
	ReturnedRequest = "request"
)

// Attribute is one attribute definition (RFC 7643 §7). The server validates, filters,
// projects and publishes (/Schemas) from these same values.
type Attribute struct {
	Name            string       `json:"name"`
	Type            AttrType     `json:"type"`
	SubAttributes   []*Attribute `json:"subAttributes,omitempty"`
	MultiValued     bool         `json:"multiValued"`
	Description     string       `json:"description"`
	Required        bool         `json:"required"`
	CanonicalValues []string     `json:"canonicalValues,omitempty"`
	CaseExact       bool         `json:"caseExact"`
	Mutability      string       `json:"mutability"`
	Returned        string       `json:"returned"`
	Uniqueness      string       `json:"uniqueness"`
	ReferenceTypes  []string     `json:"referenceTypes,omitempty"`

	// Default is the value the service gives the attribute when it has none (a User's
	// "active" is true when absent). It is not an RFC 7643 characteristic and is not
	// published. PATCH refuses to unassign such an attribute: the result would be the
	// default, a change the client never asked for.
	Default any `json:"-"`
}

// Sub finds a sub-attribute by name, case-insensitively (RFC 7643 §2.1: attribute names
// are case insensitive).
func (a *Attribute) Sub(name string) *Attribute {
	for _, s := range a.SubAttributes {
		if strings.EqualFold(s.Name, name) {
			return s
		}
	}
	return nil
}

// Schema is a schema definition (RFC 7643 §7).
type Schema struct {
	ID          string       `json:"id"`
	Name        string       `json:"name"`
	Description string       `json:"description"`
	Attributes  []*Attribute `json:"attributes"`
}

// Attr finds a top-level attribute by name, case-insensitively.
func (s *Schema) Attr(name string) *Attribute {
	for _, a := range s.Attributes {
		if strings.EqualFold(a.Name, name) {
			return a
		}
	}
	return nil
}

// SchemaExtension names an extension schema of a resource type.
type SchemaExtension struct {
	Schema   *Schema
	Required bool
}

// ResourceType binds an endpoint to its core schema and extensions (RFC 7643 §6).
type ResourceType struct {
	ID          string
	Name        string
	Endpoint    string
	Description string
	Schema      *Schema
	Extensions  []SchemaExtension
}

// WithReadWrite returns a copy of the resource type whose top-level core attribute name is
// readWrite (the User's "roles" for a tenant that takes role assignments); rt is unchanged.
func (rt *ResourceType) WithReadWrite(name string) *ResourceType {
	out := *rt
	schema := *rt.Schema
	schema.Attributes = slices.Clone(schema.Attributes)
	for i, a := range schema.Attributes {
		if a.Name == name {
			writable := *a
			writable.Mutability = ReadWrite
			schema.Attributes[i] = &writable
		}
	}
	out.Schema = &schema
	return &out
}

// SchemaByURN returns the core schema or an extension with the given URN (case-insensitive).
func (rt *ResourceType) SchemaByURN(urn string) *Schema {
	if strings.EqualFold(urn, rt.Schema.ID) {
		return rt.Schema
	}
	for _, e := range rt.Extensions {
		if strings.EqualFold(urn, e.Schema.ID) {
			return e.Schema
		}
	}
	return nil
}

// commonAttributes are defined for every resource (RFC 7643 §3.1) and live outside any schema.
var commonAttrs = []*Attribute{
	{Name: "id", Type: TypeString, CaseExact: true, Mutability: ReadOnly, Returned: ReturnedAlways, Uniqueness: "server",
		Description: "Unique identifier for the resource, assigned by the service provider."},
	{Name: "externalId", Type: TypeString, CaseExact: true, Mutability: ReadWrite, Returned: ReturnedDefault, Uniqueness: "none",
		Description: "Identifier of the resource as defined by the provisioning client."},
	{Name: "meta", Type: TypeComplex, Mutability: ReadOnly, Returned: ReturnedDefault, Uniqueness: "none",
		Description: "Resource metadata.",
		SubAttributes: []*Attribute{
			{Name: "resourceType", Type: TypeString, CaseExact: true, Mutability: ReadOnly, Returned: ReturnedDefault, Uniqueness: "none"},
			{Name: "created", Type: TypeDateTime, Mutability: ReadOnly, Returned: ReturnedDefault, Uniqueness: "none"},
			{Name: "lastModified", Type: TypeDateTime, Mutability: ReadOnly, Returned: ReturnedDefault, Uniqueness: "none"},
			{Name: "location", Type: TypeReference, ReferenceTypes: []string{"uri"}, Mutability: ReadOnly, Returned: ReturnedDefault, Uniqueness: "none"},
			{Name: "version", Type: TypeString, CaseExact: true, Mutability: ReadOnly, Returned: ReturnedDefault, Uniqueness: "none"},
		}},
}

// CommonAttr returns the definition of id, externalId or meta (case-insensitive), or nil.
func CommonAttr(name string) *Attribute {
	for _, a := range commonAttrs {
		if strings.EqualFold(a.Name, name) {
			return a
		}
	}
	return nil
}

// ResolvedAttr is an attribute found through a resource type: its schema (nil for the
// common attributes id, externalId and meta) and its definition.
type ResolvedAttr struct {
	Schema *Schema
	Def    *Attribute
}

// FindAttr resolves an attribute name, optionally qualified by a schema URN, against the
// resource type. urn is "" for an unqualified name, which is looked up in the common
// attributes, then in the core schema (RFC 7644 §3.10: the core schema's attributes may be
// used without their URN). Returns nil if not found.
func (rt *ResourceType) FindAttr(urn, name string) *ResolvedAttr {
	if urn == "" {
		if a := CommonAttr(name); a != nil {
			return &ResolvedAttr{Def: a}
		}
		if a := rt.Schema.Attr(name); a != nil {
			return &ResolvedAttr{Schema: rt.Schema, Def: a}
		}
		return nil
	}
	s := rt.SchemaByURN(urn)
	if s == nil {
		return nil
	}
	if s == rt.Schema {
		if a := CommonAttr(name); a != nil {
			return &ResolvedAttr{Def: a}
		}
	}
	if a := s.Attr(name); a != nil {
		return &ResolvedAttr{Schema: s, Def: a}
	}
	return nil
}

// SplitURN splits a possibly schema-qualified attribute path such as
// "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department" into its URN and
// the remaining "department" (which may still contain a ".sub" part). For an unqualified
// path the URN is "". The split happens at the last ':' (RFC 7644 §3.10: the attribute
// name follows the URN after a colon).
func SplitURN(path string) (urn, rest string) {
	if !strings.HasPrefix(strings.ToLower(path), "urn:") {
		return "", path
	}
	i := strings.LastIndex(path, ":")
	return path[:i], path[i+1:]
}
