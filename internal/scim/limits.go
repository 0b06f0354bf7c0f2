package scim

import (
	"strconv"
)

// Limits on the values a client may store. They keep both stores' answers the same
// (PostgreSQL refuses an index entry over about 2,700 bytes where SQLite takes anything)
// and bound what one resource costs to keep and to render.
const (
	// MaxIdentifierBytes caps the attributes that identify a resource and are indexed:
	// userName, displayName, externalId and an email's value. Case folding can make a
	// string up to 1.5 times longer, which stays well inside PostgreSQL's index row limit.
	MaxIdentifierBytes = 1024
	// MaxStringBytes caps every other string attribute (a base64 certificate or a photo
	// URL fits many times over).
	MaxStringBytes = 64 << 10
	// MaxValues caps the values of one multi-valued attribute of a resource (emails,
	// phoneNumbers, addresses, …): no identity provider sends more than a handful.
	MaxValues = 100
	// MaxMembers caps the members a request gives one group (a POST or PUT of the group,
	// or one PATCH operation): Okta pushes a group whole, members included, so the cap
	// is far above what MaxValues allows. At 1 MiB (serve --max-body-bytes) a body holds
	// about 15,000 members; this cap is what is left when the body limit is raised.
	MaxMembers = 100000
)

// valuesCap is how many values the multi-valued attribute a may be given at once.
func valuesCap(a *Attribute) int {
	if a.Name == "members" {
		return MaxMembers
	}
	return MaxValues
}

// identifiers are the attributes (in their canonical names) under MaxIdentifierBytes.
var identifiers = map[string]bool{"userName": true, "displayName": true, "externalId": true, "emails.value": true}

// CheckLimits checks a normalized resource against the length caps and MaxValues: a value
// over them is 400 invalidValue naming the attribute.
func CheckLimits(res Resource) error {
	for k, v := range res {
		if err := checkLimits(k, k, v, false); err != nil {
			return err
		}
	}
	return nil
}

// checkLimits checks v at path; name is the path without the extension URN and without
// positions, as in identifiers.
func checkLimits(path, name string, v any, inList bool) error {
	switch x := v.(type) {
	case string:
		limit := MaxStringBytes
		if identifiers[name] {
			limit = MaxIdentifierBytes
		}
		if len(x) > limit {
			return InvalidValue("%q is %d bytes long; at most %d are accepted", path, len(x), limit)
		}
	case []any:
		if len(x) > MaxValues && !inList {
			return InvalidValue("%q has %d values; at most %d are accepted", path, len(x), MaxValues)
		}
		for i, e := range x {
			if err := checkLimits(path+"["+strconv.Itoa(i)+"]", name, e, true); err != nil {
				return err
			}
		}
	case map[string]any:
		for k, e := range x {
			sub := name + "." + k
			if urn, _ := SplitURN(name); urn != "" {
				// An extension's attribute: never one of the core identifiers.
				sub = name + ":" + k
			}
			if err := checkLimits(path+"."+k, sub, e, false); err != nil {
				return err
			}
		}
	}
	return nil
}
