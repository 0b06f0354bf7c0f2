// Package roles maps a tenant's groups to the application's own roles: the configuration
// (roles, rules, mode, default role) and the one function that derives a user's roles.
package roles

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Modes of a configuration.
const (
	// ModeGroups makes every group a role of its own name: what a tenant without a
	// configuration gets.
	ModeGroups = "groups"
	// ModeMulti gives a user every role its groups map to.
	ModeMulti = "multi"
	// ModeSingle gives a user the one mapped role that comes first in Roles.
	ModeSingle = "single"
)

// Limits keep a configuration small enough to evaluate on every membership change.
const (
	MaxRoles      = 200
	MaxRules      = 1000
	MaxNameLength = 256
)

// Role is one of the application's roles.
type Role struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
}

// Rule maps groups to a role: the group with this id, the group with this displayName
// (case-insensitively, as displayNames are unique), or every group whose displayName
// matches a pattern (`*` any run of characters, `?` one character, case-insensitively).
// Exactly one of GroupID, Group and GroupPattern is set.
type Rule struct {
	GroupID      string `json:"group_id,omitempty"`
	Group        string `json:"group,omitempty"`
	GroupPattern string `json:"group_pattern,omitempty"`
	Role         string `json:"role"`
}

// Config is a tenant's role configuration, or the default for every tenant without one.
type Config struct {
	// Mode is groups, multi or single (groups when empty).
	Mode string `json:"mode,omitempty"`
	// Roles are the application's roles in order of precedence, highest first. A tenant's
	// configuration without roles uses the default configuration's.
	Roles []Role `json:"roles,omitempty"`
	Rules []Rule `json:"rules,omitempty"`
	// DefaultRole is held by an active user that no group (or assignment) gives a role.
	DefaultRole string `json:"default_role,omitempty"`
	// InactiveRole is what an inactive user holds ("" for nothing, the default).
	InactiveRole string `json:"inactive_role,omitempty"`
	// SCIMRoles lets the identity provider assign roles through the User's "roles"
	// attribute (Microsoft Entra ID's app roles): its values are then a source of roles.
	SCIMRoles bool `json:"scim_roles,omitempty"`
}

// Group is a group a user is in, as the rules see it.
type Group struct {
	ID, DisplayName string
}

// Error is an invalid configuration: Field names where (as a JSON path).
type Error struct {
	Field, Message string
}

func (e *Error) Error() string { return e.Field + ": " + e.Message }

func invalid(field, format string, args ...any) error {
	return &Error{Field: field, Message: fmt.Sprintf(format, args...)}
}

// Decode reads a configuration strictly: unknown fields and trailing data are refused.
func Decode(data []byte) (Config, error) {
	var c Config
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, invalid("", "not a role configuration: %v", err)
	}
	if dec.More() {
		return c, invalid("", "trailing data after the configuration")
	}
	return c, nil
}

// Canonical is the configuration as stored and compared: mode spelt out.
func (c Config) Canonical() Config {
	if c.Mode == "" {
		c.Mode = ModeGroups
	}
	return c
}

// Equal reports whether two configurations are the same.
func (c Config) Equal(o Config) bool {
	a, _ := json.Marshal(c.Canonical())
	b, _ := json.Marshal(o.Canonical())
	return string(a) == string(b)
}

func checkName(field, s string) error {
	switch {
	case strings.TrimSpace(s) == "":
		return invalid(field, "must not be empty")
	case !utf8.ValidString(s) || strings.ContainsRune(s, 0):
		return invalid(field, "must be valid UTF-8 without NUL")
	case len(s) > MaxNameLength:
		return invalid(field, "is longer than %d bytes", MaxNameLength)
	}
	return nil
}

// Validate checks a configuration, with inherited the default configuration's roles
// (nil for the default configuration itself).
func (c Config) Validate(inherited []Role) error {
	c = c.Canonical()
	switch c.Mode {
	case ModeGroups, ModeMulti, ModeSingle:
	default:
		return invalid("mode", "must be groups, multi or single, not %q", c.Mode)
	}
	if len(c.Roles) > MaxRoles {
		return invalid("roles", "at most %d roles", MaxRoles)
	}
	if len(c.Rules) > MaxRules {
		return invalid("rules", "at most %d rules", MaxRules)
	}
	seen := map[string]bool{}
	for i, r := range c.Roles {
		field := fmt.Sprintf("roles[%d].name", i)
		if err := checkName(field, r.Name); err != nil {
			return err
		}
		if seen[fold(r.Name)] {
			return invalid(field, "role %q is listed twice", r.Name)
		}
		seen[fold(r.Name)] = true
		if len(r.Description) > 4*MaxNameLength {
			return invalid(fmt.Sprintf("roles[%d].description", i), "is longer than %d bytes", 4*MaxNameLength)
		}
	}
	if c.Mode == ModeGroups {
		// Every group is a role of its own name: rules and a role list would mean nothing.
		if len(c.Rules) > 0 {
			return invalid("rules", "apply in mode multi or single; in mode groups every group is a role of its own name")
		}
		if len(c.Roles) > 0 {
			return invalid("roles", "apply in mode multi or single; in mode groups the roles are the groups")
		}
		if c.SCIMRoles {
			return invalid("scim_roles", "applies in mode multi or single, where the application's roles are listed")
		}
		for _, f := range []struct{ field, v string }{{"default_role", c.DefaultRole}, {"inactive_role", c.InactiveRole}} {
			if f.v != "" {
				if err := checkName(f.field, f.v); err != nil {
					return err
				}
			}
		}
		return nil
	}
	roles := c.Roles
	if len(roles) == 0 {
		roles = inherited
	}
	if len(roles) == 0 {
		return invalid("roles", "mode %s needs the application's roles (here or in the default configuration)", c.Mode)
	}
	known := func(field, name string) error {
		if err := checkName(field, name); err != nil {
			return err
		}
		if !slices.ContainsFunc(roles, func(r Role) bool { return fold(r.Name) == fold(name) }) {
			return invalid(field, "%q is not one of the roles (%s)", name, roleNames(roles))
		}
		return nil
	}
	for i, r := range c.Rules {
		field := fmt.Sprintf("rules[%d]", i)
		n := 0
		for _, sel := range []struct{ name, v string }{{"group_id", r.GroupID}, {"group", r.Group}, {"group_pattern", r.GroupPattern}} {
			if sel.v == "" {
				continue
			}
			n++
			if err := checkName(field+"."+sel.name, sel.v); err != nil {
				return err
			}
		}
		if n != 1 {
			return invalid(field, "needs exactly one of group_id, group and group_pattern")
		}
		if err := known(field+".role", r.Role); err != nil {
			return err
		}
	}
	if c.DefaultRole != "" {
		if err := known("default_role", c.DefaultRole); err != nil {
			return err
		}
	}
	if c.InactiveRole != "" {
		if err := known("inactive_role", c.InactiveRole); err != nil {
			return err
		}
	}
	return nil
}

func roleNames(roles []Role) string {
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = r.Name
	}
	return strings.Join(names, ", ")
}

// Effective returns the configuration a tenant works under: its own (with the default's
// roles when it lists none), else the default, else mode groups.
func Effective(tenant, def *Config) Config {
	switch {
	case tenant != nil:
		c := tenant.Canonical()
		if len(c.Roles) == 0 && c.Mode != ModeGroups && def != nil {
			c.Roles = def.Roles
		}
		return c
	case def != nil:
		return def.Canonical()
	}
	return Config{Mode: ModeGroups}
}

func fold(s string) string { return strings.ToLower(s) }

// canonicalRole returns the configured spelling of a role name, or "" when it is not one.
func (c Config) canonicalRole(name string) string {
	for _, r := range c.Roles {
		if fold(r.Name) == fold(name) {
			return r.Name
		}
	}
	return ""
}

// GroupRoles returns the roles the rules map a group to (in mode groups, its own name).
func (c Config) GroupRoles(g Group) []string {
	if c.Canonical().Mode == ModeGroups {
		return []string{g.DisplayName}
	}
	var out []string
	for _, r := range c.Rules {
		var match bool
		switch {
		case r.GroupID != "":
			match = r.GroupID == g.ID
		case r.Group != "":
			match = fold(r.Group) == fold(g.DisplayName)
		default:
			match = Match(r.GroupPattern, g.DisplayName)
		}
		if match {
			if name := c.canonicalRole(r.Role); name != "" && !slices.Contains(out, name) {
				out = append(out, name)
			}
		}
	}
	return out
}

// Assigned returns the configured roles named by the values of a User's "roles" attribute
// when the configuration takes them as a source, and the values that name no role.
func (c Config) Assigned(values []string) (roles, unknown []string) {
	if !c.SCIMRoles {
		return nil, nil
	}
	for _, v := range values {
		if name := c.canonicalRole(v); name != "" {
			roles = append(roles, name)
		} else {
			unknown = append(unknown, v)
		}
	}
	return roles, unknown
}

// UserRoles derives a user's roles: from its groups (and, with SCIMRoles, the roles the
// identity provider assigned), ordered by precedence (in mode groups, by name); the one
// of highest precedence alone in mode single; the default role when there are none; the
// inactive role, whatever the groups, when the user is inactive. It is the only place
// where roles are derived.
func (c Config) UserRoles(groups []Group, active bool, assigned []string) []string {
	c = c.Canonical()
	out := []string{}
	if !active {
		if c.InactiveRole != "" {
			out = append(out, c.InactiveRole)
		}
		return out
	}
	for _, g := range groups {
		for _, r := range c.GroupRoles(g) {
			if !slices.Contains(out, r) {
				out = append(out, r)
			}
		}
	}
	if c.Mode != ModeGroups {
		a, _ := c.Assigned(assigned)
		for _, r := range a {
			if !slices.Contains(out, r) {
				out = append(out, r)
			}
		}
		rank := func(name string) int {
			return slices.IndexFunc(c.Roles, func(r Role) bool { return r.Name == name })
		}
		slices.SortFunc(out, func(a, b string) int { return rank(a) - rank(b) })
		if c.Mode == ModeSingle && len(out) > 1 {
			out = out[:1]
		}
	} else {
		slices.SortStableFunc(out, func(a, b string) int { return strings.Compare(fold(a), fold(b)) })
	}
	if len(out) == 0 && c.DefaultRole != "" {
		out = append(out, c.DefaultRole)
	}
	return out
}

// Match reports whether name matches a pattern of literal characters, `*` (any run of
// characters, also none) and `?` (one character), case-insensitively. Unlike path.Match,
// `/` is an ordinary character: group names often contain one.
func Match(pattern, name string) bool {
	p, n := []rune(fold(pattern)), []rune(fold(name))
	// Iterative matching with one backtrack point: linear in practice, never exponential.
	pi, ni, star, mark := 0, 0, -1, 0
	for ni < len(n) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == n[ni]):
			pi++
			ni++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, ni
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			ni = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// SameDerivation reports whether two configurations derive the same roles from any
// groups, activity and assignments except through their rules: when it holds, only the
// members of groups whose mapped roles differ need their roles derived again.
func SameDerivation(a, b Config) bool {
	a, b = a.Canonical(), b.Canonical()
	a.Rules, b.Rules = nil, nil
	return a.Equal(b)
}
