package roles

import (
	"slices"
	"strings"
	"testing"
)

var appRoles = []Role{{Name: "admin"}, {Name: "analyst"}, {Name: "viewer"}}

func TestUserRoles(t *testing.T) {
	admins := Group{ID: "g1", DisplayName: "Okta-Alloy-Admins"}
	risk := Group{ID: "g2", DisplayName: "Risk Team EU"}
	other := Group{ID: "g3", DisplayName: "Everyone"}
	rules := []Rule{
		{Group: "okta-alloy-admins", Role: "admin"},
		{GroupPattern: "Risk Team *", Role: "analyst"},
		{GroupID: "g3", Role: "viewer"},
	}
	tests := []struct {
		name     string
		cfg      Config
		groups   []Group
		active   bool
		assigned []string
		want     []string
	}{
		{"groups mode: the group names, sorted", Config{}, []Group{risk, admins}, true, nil, []string{"Okta-Alloy-Admins", "Risk Team EU"}},
		{"groups mode: no group is the empty role", Config{}, nil, true, nil, []string{}},
		{"groups mode with a default role", Config{DefaultRole: "member"}, nil, true, nil, []string{"member"}},
		{"groups mode: an inactive user holds nothing", Config{}, []Group{admins}, false, nil, []string{}},
		{"multi: every mapped role in precedence order", Config{Mode: ModeMulti, Roles: appRoles, Rules: rules}, []Group{other, risk, admins}, true, nil, []string{"admin", "analyst", "viewer"}},
		{"single: the highest precedence wins", Config{Mode: ModeSingle, Roles: appRoles, Rules: rules}, []Group{other, risk}, true, nil, []string{"analyst"}},
		{"pattern is case-insensitive", Config{Mode: ModeMulti, Roles: appRoles, Rules: rules}, []Group{{ID: "x", DisplayName: "risk team US"}}, true, nil, []string{"analyst"}},
		{"unmapped groups give the default role", Config{Mode: ModeSingle, Roles: appRoles, Rules: rules, DefaultRole: "viewer"}, []Group{{ID: "x", DisplayName: "Sales"}}, true, nil, []string{"viewer"}},
		{"inactive role", Config{Mode: ModeSingle, Roles: appRoles, Rules: rules, DefaultRole: "viewer", InactiveRole: "viewer"}, []Group{admins}, false, nil, []string{"viewer"}},
		{"assignments ignored unless allowed", Config{Mode: ModeMulti, Roles: appRoles}, nil, true, []string{"admin"}, []string{}},
		{"assignments are a source when allowed", Config{Mode: ModeMulti, Roles: appRoles, Rules: rules, SCIMRoles: true}, []Group{other}, true, []string{"ADMIN", "nope"}, []string{"admin", "viewer"}},
		{"single with assignments", Config{Mode: ModeSingle, Roles: appRoles, Rules: rules, SCIMRoles: true}, []Group{risk}, true, []string{"viewer"}, []string{"analyst"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.cfg.Validate(nil); err != nil {
				t.Fatalf("config invalid: %v", err)
			}
			got := tt.cfg.UserRoles(tt.groups, tt.active, tt.assigned)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("UserRoles = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name      string
		cfg       Config
		inherited []Role
		field     string // "" when valid
	}{
		{"empty is mode groups", Config{}, nil, ""},
		{"unknown mode", Config{Mode: "some"}, nil, "mode"},
		{"rules in mode groups", Config{Rules: []Rule{{Group: "a", Role: "b"}}}, nil, "rules"},
		{"multi without roles", Config{Mode: ModeMulti}, nil, "roles"},
		{"multi with inherited roles", Config{Mode: ModeMulti, Rules: []Rule{{Group: "a", Role: "Admin"}}}, appRoles, ""},
		{"rule naming no role", Config{Mode: ModeMulti, Roles: appRoles, Rules: []Rule{{Group: "a", Role: "owner"}}}, nil, "rules[0].role"},
		{"rule with two selectors", Config{Mode: ModeMulti, Roles: appRoles, Rules: []Rule{{Group: "a", GroupID: "b", Role: "admin"}}}, nil, "rules[0]"},
		{"rule with no selector", Config{Mode: ModeMulti, Roles: appRoles, Rules: []Rule{{Role: "admin"}}}, nil, "rules[0]"},
		{"duplicate role", Config{Mode: ModeMulti, Roles: []Role{{Name: "a"}, {Name: "A"}}}, nil, "roles[1].name"},
		{"default role unknown", Config{Mode: ModeSingle, Roles: appRoles, DefaultRole: "x"}, nil, "default_role"},
		{"NUL in a name", Config{Mode: ModeSingle, Roles: []Role{{Name: "a\x00"}}}, nil, "roles[0].name"},
		{"over-long name", Config{Mode: ModeSingle, Roles: []Role{{Name: strings.Repeat("a", MaxNameLength+1)}}}, nil, "roles[0].name"},
		{"scim roles in mode groups", Config{SCIMRoles: true}, nil, "scim_roles"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate(tt.inherited)
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			e, ok := err.(*Error)
			if !ok || e.Field != tt.field {
				t.Fatalf("Validate = %v, want an error on %s", err, tt.field)
			}
		})
	}
}

func TestMatch(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"Risk Team *", "Risk Team EU", true},
		{"Risk Team *", "risk team ", true},
		{"Risk Team *", "Risk Teams", false},
		{"*-Admins", "Okta/Alloy-Admins", true},
		{"?-x", "a-x", true},
		{"?-x", "ab-x", false},
		{"a*b*c", "aXbYbZc", true},
		{"a*b*c", "aXbYbZ", false},
		{"*", "", true},
		{"", "", true},
		{"", "a", false},
		{"Ünïcode*", "üNÏCODE group", true},
	}
	for _, tt := range tests {
		if got := Match(tt.pattern, tt.name); got != tt.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tt.pattern, tt.name, got, tt.want)
		}
	}
}

func TestEffectiveInheritsRoles(t *testing.T) {
	def := &Config{Mode: ModeSingle, Roles: appRoles, DefaultRole: "viewer"}
	tenant := &Config{Mode: ModeMulti, Rules: []Rule{{Group: "x", Role: "admin"}}}
	got := Effective(tenant, def)
	if len(got.Roles) != 3 || got.DefaultRole != "" || got.Mode != ModeMulti {
		t.Fatalf("Effective = %+v", got)
	}
	if got := Effective(nil, def); got.DefaultRole != "viewer" {
		t.Fatalf("no tenant config: %+v", got)
	}
	if got := Effective(nil, nil); got.Mode != ModeGroups {
		t.Fatalf("no config: %+v", got)
	}
}
