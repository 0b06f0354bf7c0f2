package compat

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	c, err := Parse([]byte(`{"*":{"scim2ModelsNoPagination":true},"acme":{}}`))
	if err != nil {
		t.Fatal(err)
	}
	if !c.For("other").Scim2ModelsNoPagination || c.For("acme").Scim2ModelsNoPagination {
		t.Fatalf("For: %+v %+v", c.For("other"), c.For("acme"))
	}
	if (*Config)(nil).For("x").Scim2ModelsNoPagination {
		t.Fatal("a nil config has switches")
	}
	for _, bad := range []string{`[]`, `{"acme":{"scim2ModelNoPagination":true}}`, `{"acme":{"scim2ModelsNoPagination":"yes"}}`, `{"":{}}`} {
		if _, err := Parse([]byte(bad)); err == nil || !strings.Contains(err.Error(), "compat file") {
			t.Errorf("Parse(%s) = %v, want an error", bad, err)
		}
	}
}
