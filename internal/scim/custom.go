package scim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// ExtensionConfig is one schema extension declared in the server's schema file: the
// application's own attributes of Users or Groups (RFC 7643 §3.3), for some tenants or all.
type ExtensionConfig struct {
	// ResourceType is "User" or "Group".
	ResourceType string `json:"resourceType"`
	// Tenants are the names of the tenants that have the extension; empty means all.
	Tenants []string `json:"tenants,omitempty"`
	// Required makes the extension's presence required in every resource (RFC 7643 §6
	// "schemaExtensions.required").
	Required bool    `json:"required,omitempty"`
	Schema   *Schema `json:"schema"`
}

// SchemaFile is the schema file's content.
type SchemaFile struct {
	Extensions []ExtensionConfig `json:"extensions"`
}

// attrName is RFC 7643 §2.1's ATTRNAME = ALPHA *(nameChar), nameChar = "-" / "_" / DIGIT /
// ALPHA ("$ref" is reserved for the server's own reference attributes).
var attrName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]*$`)

// ParseSchemaFile reads and validates a schema file. Every error names the place in the
// file it is about.
func ParseSchemaFile(data []byte) ([]ExtensionConfig, error) {
	var f SchemaFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("schema file: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("schema file: data after the JSON object")
	}
	seen := map[string]bool{}
	for i := range f.Extensions {
		e := &f.Extensions[i]
		where := fmt.Sprintf("extensions[%d]", i)
		if err := validateExtension(e, where); err != nil {
			return nil, err
		}
		key := strings.ToLower(e.Schema.ID)
		if seen[key] {
			return nil, fmt.Errorf("%s: schema %q is declared twice (list every tenant that has it in one declaration)", where, e.Schema.ID)
		}
		seen[key] = true
	}
	return f.Extensions, nil
}

var reservedURNs = []string{UserSchema, GroupSchema, EnterpriseUserSchema, ListResponseSchema, ErrorSchema, PatchOpSchema,
	SearchRequestSchema, ServiceProviderConfigSchema, ResourceTypeSchema, SchemaSchema, BulkRequestSchema, BulkResponseSchema}

func validateExtension(e *ExtensionConfig, where string) error {
	if e.ResourceType != "User" && e.ResourceType != "Group" {
		return fmt.Errorf("%s: resourceType must be \"User\" or \"Group\", got %q", where, e.ResourceType)
	}
	for _, t := range e.Tenants {
		if strings.TrimSpace(t) == "" {
			return fmt.Errorf("%s: empty tenant name", where)
		}
	}
	s := e.Schema
	if s == nil {
		return fmt.Errorf("%s: schema is missing", where)
	}
	// RFC 7643 §3.3: extension schemas are identified by a URI; as attribute paths name
	// them with a colon before the attribute (RFC 7644 §3.10), the URN must be one that
	// SplitURN cuts at the right place: no spaces, quotes or brackets.
	if !strings.HasPrefix(strings.ToLower(s.ID), "urn:") || strings.ContainsAny(s.ID, " \t\"[]()") || strings.HasSuffix(s.ID, ":") {
		return fmt.Errorf("%s: schema id %q is not a URN (e.g. urn:example:params:scim:schemas:extension:acme:2.0:User)", where, s.ID)
	}
	for _, r := range reservedURNs {
		if strings.EqualFold(s.ID, r) {
			return fmt.Errorf("%s: schema id %q is defined by RFC 7643/7644 and cannot be redefined", where, s.ID)
		}
	}
	if s.Name == "" {
		s.Name = s.ID[strings.LastIndex(s.ID, ":")+1:]
	}
	if len(s.Attributes) == 0 {
		return fmt.Errorf("%s: schema %q has no attributes", where, s.ID)
	}
	return validateAttributes(s.Attributes, where+".schema.attributes", false)
}

func validateAttributes(attrs []*Attribute, where string, sub bool) error {
	names := map[string]bool{}
	for i, a := range attrs {
		at := fmt.Sprintf("%s[%d]", where, i)
		if a == nil {
			return fmt.Errorf("%s: null attribute", at)
		}
		if !attrName.MatchString(a.Name) {
			return fmt.Errorf("%s: attribute name %q is not an RFC 7643 §2.1 ATTRNAME (a letter, then letters, digits, '-' or '_')", at, a.Name)
		}
		key := strings.ToLower(a.Name)
		if names[key] {
			return fmt.Errorf("%s: attribute %q is declared twice (names are case-insensitive)", at, a.Name)
		}
		names[key] = true
		switch a.Type {
		case TypeString, TypeBoolean, TypeDecimal, TypeInteger, TypeDateTime, TypeBinary, TypeReference:
			if len(a.SubAttributes) > 0 {
				return fmt.Errorf("%s: attribute %q of type %s cannot have subAttributes", at, a.Name, a.Type)
			}
		case TypeComplex:
			// RFC 7643 §2.3.8: "A complex attribute MUST NOT contain sub-attributes that
			// have sub-attributes (i.e., that are complex)."
			if sub {
				return fmt.Errorf("%s: sub-attribute %q cannot be complex (RFC 7643 §2.3.8)", at, a.Name)
			}
			if len(a.SubAttributes) == 0 {
				return fmt.Errorf("%s: complex attribute %q needs subAttributes", at, a.Name)
			}
			if err := validateAttributes(a.SubAttributes, at+".subAttributes", true); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%s: attribute %q has unknown type %q", at, a.Name, a.Type)
		}
		if a.Mutability == "" {
			a.Mutability = ReadWrite
		}
		if !slices.Contains([]string{ReadOnly, ReadWrite, Immutable, WriteOnly}, a.Mutability) {
			return fmt.Errorf("%s: attribute %q has unknown mutability %q", at, a.Name, a.Mutability)
		}
		if a.Returned == "" {
			a.Returned = ReturnedDefault
		}
		if !slices.Contains([]string{ReturnedAlways, ReturnedNever, ReturnedDefault, ReturnedRequest}, a.Returned) {
			return fmt.Errorf("%s: attribute %q has unknown returned %q", at, a.Name, a.Returned)
		}
		if a.Mutability == WriteOnly && a.Returned != ReturnedNever {
			// RFC 7643 §7: a writeOnly attribute "is never returned".
			return fmt.Errorf("%s: writeOnly attribute %q must have returned \"never\"", at, a.Name)
		}
		if a.Uniqueness == "" {
			a.Uniqueness = "none"
		}
		if a.Uniqueness != "none" {
			// A uniqueness the server would publish but not enforce would mislead clients.
			return fmt.Errorf("%s: attribute %q: uniqueness %q is not enforced for extension attributes; use \"none\"", at, a.Name, a.Uniqueness)
		}
		if len(a.CanonicalValues) > 0 && a.Type != TypeString {
			return fmt.Errorf("%s: canonicalValues are for string attributes, %q is %s", at, a.Name, a.Type)
		}
		if len(a.ReferenceTypes) > 0 && a.Type != TypeReference {
			return fmt.Errorf("%s: referenceTypes are for reference attributes, %q is %s", at, a.Name, a.Type)
		}
	}
	return nil
}

// WithExtensions returns a copy of the resource type with more extensions; the receiver is
// not changed.
func (rt *ResourceType) WithExtensions(exts ...SchemaExtension) *ResourceType {
	c := *rt
	c.Extensions = append(slices.Clip(rt.Extensions), exts...)
	return &c
}

// checkExtensionsRequired enforces a required extension's presence (RFC 7643 §6
// "schemaExtensions.required") and its attributes' "required".
func checkExtensionsRequired(rt *ResourceType, res Resource) error {
	for _, e := range rt.Extensions {
		obj, _ := res[e.Schema.ID].(map[string]any)
		if obj == nil {
			if e.Required {
				return InvalidValue("schema extension %q is required", e.Schema.ID)
			}
			continue
		}
		for _, a := range e.Schema.Attributes {
			if v, ok := obj[a.Name]; a.Required && (!ok || v == nil || v == "") {
				return InvalidValue("attribute %q is required", e.Schema.ID+":"+a.Name)
			}
		}
	}
	return nil
}
