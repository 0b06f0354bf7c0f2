// Package compat is the one place for identity-provider and client dialects: behaviour
// that departs from RFC 7643/7644 (or from scimd's stricter reading of them) because a
// client in the field needs it. Each behaviour is named after the client that needs it,
// with the reason, so that it can be found, tested and retired with that client.
//
// Switches are per tenant, read from the file given to `scimd serve --compat`: a JSON
// object mapping tenant names, or "*" for every tenant without an entry of its own, to
// the switches that tenant's client needs:
//
//	{"*": {}, "acme": {"scim2ModelsNoPagination": true}}
//
// Dialects (dialects.go) registers every dialect behaviour with the client that needs it,
// the code that handles it and the recorded flow that proves it. Behaviours that every
// tenant gets and that bend the protocol's own parsing (PATCH ops, values) stay inside
// internal/scim, where that parsing is, and are listed there; behaviours at the HTTP edge
// (IdentifyClient, BodyMediaType) and per-tenant switches live here.
package compat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// Switches are the dialect behaviours one tenant gets. The zero value is scimd's own
// behaviour.
type Switches struct {
	// Scim2ModelsNoPagination leaves the "pagination" attribute (RFC 9865 §4) out of
	// /ServiceProviderConfig. Python's scim2-models validates the response against RFC
	// 7643's schema, which does not have the attribute, and rejects it: a client built
	// on it cannot read the configuration. Without the attribute it sees index paging
	// only, which scimd serves by default anyway.
	Scim2ModelsNoPagination bool `json:"scim2ModelsNoPagination"`

	// ReplaceMembersAdds reads {"op":"replace","path":"members","value":[…]} as adding
	// those members instead of making them the whole member list. Microsoft Entra ID has
	// been reported to send Replace on members with only the members that changed, so that
	// a replacement removed everyone else (PostHog PR 47336; Microsoft documents no such
	// request). Okta needs the opposite, RFC 7644 §3.5.2.3 reading: "Push now" replaces the
	// members with the whole list, [] to empty the group. Off by default.
	ReplaceMembersAdds bool `json:"replaceMembersAdds"`
}

// Config maps tenants to their switches.
type Config struct {
	tenants map[string]Switches
}

// For returns the switches of the tenant named name: its own entry, else the "*" entry,
// else none. A nil Config has none.
func (c *Config) For(name string) Switches {
	if c == nil {
		return Switches{}
	}
	if s, ok := c.tenants[name]; ok {
		return s
	}
	return c.tenants["*"]
}

// Parse reads a compatibility file. Unknown switches are errors: a misspelt switch that
// silently did nothing would leave the client broken.
func Parse(data []byte) (*Config, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("compat file: want a JSON object of tenant names: %w", err)
	}
	c := &Config{tenants: map[string]Switches{}}
	for name, v := range raw {
		if strings.TrimSpace(name) == "" {
			return nil, fmt.Errorf("compat file: empty tenant name")
		}
		dec := json.NewDecoder(bytes.NewReader(v))
		dec.DisallowUnknownFields()
		var s Switches
		if err := dec.Decode(&s); err != nil {
			return nil, fmt.Errorf("compat file: tenant %q: %w", name, err)
		}
		c.tenants[name] = s
	}
	return c, nil
}
