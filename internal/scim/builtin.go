package scim

// The built-in schemas of RFC 7643 §4 and §8.7.1. They are built by functions, not held in
// package variables, so that each server owns its copy (a tenant's extensions may later be
// appended without touching another server's definitions).

func str(name, desc string, opts ...func(*Attribute)) *Attribute {
	a := &Attribute{Name: name, Type: TypeString, Description: desc, Mutability: ReadWrite, Returned: ReturnedDefault, Uniqueness: "none"}
	for _, o := range opts {
		o(a)
	}
	return a
}

func withType(t AttrType) func(*Attribute) { return func(a *Attribute) { a.Type = t } }
func required(a *Attribute)                { a.Required = true }
func multi(a *Attribute)                   { a.MultiValued = true }
func readOnly(a *Attribute)                { a.Mutability = ReadOnly }

// readOnlyAttr makes an attribute built by a helper without options read-only.
func readOnlyAttr(a *Attribute) *Attribute { readOnly(a); return a }
func canonical(v ...string) func(*Attribute) {
	return func(a *Attribute) { a.CanonicalValues = v }
}
func refTypes(v ...string) func(*Attribute) {
	return func(a *Attribute) { a.Type = TypeReference; a.ReferenceTypes = v }
}
func subs(s ...*Attribute) func(*Attribute) {
	return func(a *Attribute) { a.Type = TypeComplex; a.SubAttributes = s }
}

// multiValuedComplex builds the usual {value, display, type, primary} shape of RFC 7643 §2.4.
func multiValuedComplex(name, desc string, valueType func(*Attribute), types ...string) *Attribute {
	value := str("value", "The attribute's significant value.")
	if valueType != nil {
		valueType(value)
	}
	return str(name, desc, multi, subs(
		value,
		str("display", "A human-readable name, primarily used for display purposes."),
		str("type", "A label indicating the attribute's function.", canonical(types...)),
		str("primary", "Indicates the primary or preferred attribute value.", withType(TypeBoolean)),
	))
}

func newUserSchema() *Schema {
	return &Schema{
		ID: UserSchema, Name: "User", Description: "User Account",
		Attributes: []*Attribute{
			str("userName", "Unique identifier for the User, used by the user to authenticate; unique per tenant, compared case-insensitively.",
				required, func(a *Attribute) { a.Uniqueness = "server" }),
			str("name", "The components of the user's real name.", subs(
				str("formatted", "The full name, formatted for display."),
				str("familyName", "The family name of the User."),
				str("givenName", "The given name of the User."),
				str("middleName", "The middle name(s) of the User."),
				str("honorificPrefix", "The honorific prefix(es) of the User."),
				str("honorificSuffix", "The honorific suffix(es) of the User."),
			)),
			str("displayName", "The name of the User, suitable for display to end-users."),
			str("nickName", "The casual way to address the user."),
			str("profileUrl", "A fully qualified URL pointing to a page representing the User's online profile.", refTypes("external")),
			str("title", "The user's title, such as \"Vice President\"."),
			str("userType", "Used to identify the relationship between the organization and the user."),
			str("preferredLanguage", "Indicates the User's preferred written or spoken language."),
			str("locale", "Used to indicate the User's default location for localization."),
			str("timezone", "The User's time zone in the 'Olson' time zone database format."),
			str("active", "A Boolean value indicating the User's administrative status; a User without one is active.",
				withType(TypeBoolean), func(a *Attribute) { a.Default = true }),
			str("password", "The User's cleartext password; accepted on write, never stored in clear and never returned.",
				func(a *Attribute) { a.Mutability = WriteOnly; a.Returned = ReturnedNever }),
			multiValuedComplex("emails", "Email addresses for the user.", nil, "work", "home", "other"),
			multiValuedComplex("phoneNumbers", "Phone numbers for the User.", nil, "work", "home", "mobile", "fax", "pager", "other"),
			multiValuedComplex("ims", "Instant messaging addresses for the User.", nil, "aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"),
			multiValuedComplex("photos", "URLs of photos of the User.", refTypes("external"), "photo", "thumbnail"),
			str("addresses", "A physical mailing address for this User.", multi, subs(
				str("formatted", "The full mailing address, formatted for display."),
				str("streetAddress", "The full street address component."),
				str("locality", "The city or locality component."),
				str("region", "The state or region component."),
				str("postalCode", "The zip code or postal code component."),
				str("country", "The country name component."),
				str("type", "A label indicating the attribute's function.", canonical("work", "home", "other")),
				str("primary", "Indicates the primary mailing address.", withType(TypeBoolean)),
			)),
			str("groups", "A list of groups to which the user belongs (the source of the user's roles); maintained through the Group resource.", multi, readOnly, subs(
				str("value", "The identifier of the User's group.", readOnly),
				str("$ref", "The URI of the corresponding Group resource.", refTypes("Group"), readOnly),
				str("display", "A human-readable name of the group.", readOnly),
				str("type", "How the group membership was derived.", canonical("direct", "indirect"), readOnly),
			)),
			multiValuedComplex("entitlements", "A list of entitlements for the User.", nil),
			readOnlyAttr(multiValuedComplex("roles", "The application roles the User holds, derived by the service provider from the User's groups under the tenant's role configuration; read-only unless the tenant accepts role assignments through this attribute.", nil)),
			multiValuedComplex("x509Certificates", "A list of certificates issued to the User.", withType(TypeBinary)),
		},
	}
}

func newEnterpriseUserSchema() *Schema {
	return &Schema{
		ID: EnterpriseUserSchema, Name: "EnterpriseUser", Description: "Enterprise User",
		Attributes: []*Attribute{
			str("employeeNumber", "Numeric or alphanumeric identifier assigned to a person."),
			str("costCenter", "Identifies the name of a cost center."),
			str("organization", "Identifies the name of an organization."),
			str("division", "Identifies the name of a division."),
			str("department", "Identifies the name of a department."),
			str("manager", "The User's manager.", subs(
				str("value", "The id of the SCIM resource representing the User's manager."),
				str("$ref", "The URI of the SCIM resource representing the User's manager.", refTypes("User")),
				str("displayName", "The displayName of the User's manager.", readOnly),
			)),
		},
	}
}

func newGroupSchema() *Schema {
	return &Schema{
		ID: GroupSchema, Name: "Group", Description: "Group; in this service a group is a role.",
		Attributes: []*Attribute{
			str("displayName", "A human-readable name for the Group; unique per tenant, compared case-insensitively.",
				required, func(a *Attribute) { a.Uniqueness = "server" }),
			str("members", "A list of members of the Group.", multi, subs(
				str("value", "Identifier of the member of this Group.", func(a *Attribute) { a.Mutability = Immutable }),
				str("$ref", "The URI of the corresponding member resource.", refTypes("User"), func(a *Attribute) { a.Mutability = Immutable }),
				str("display", "A human-readable name of the member.", func(a *Attribute) { a.Mutability = Immutable }),
				str("type", "The type of member.", canonical("User"), func(a *Attribute) { a.Mutability = Immutable }),
			)),
		},
	}
}

// NewUserResourceType returns the User resource type with the enterprise extension.
func NewUserResourceType() *ResourceType {
	return &ResourceType{
		ID: "User", Name: "User", Endpoint: "/Users", Description: "User Account",
		Schema:     newUserSchema(),
		Extensions: []SchemaExtension{{Schema: newEnterpriseUserSchema()}},
	}
}

// NewGroupResourceType returns the Group resource type.
func NewGroupResourceType() *ResourceType {
	return &ResourceType{
		ID: "Group", Name: "Group", Endpoint: "/Groups", Description: "Group (role)",
		Schema: newGroupSchema(),
	}
}
