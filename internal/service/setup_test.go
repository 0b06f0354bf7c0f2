package service_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/service"
	"github.com/scimd/scimd/internal/store"
	"github.com/scimd/scimd/internal/storetest"
)

// TestMain reports the PostgreSQL tests skipped, if any, without -v (storetest.Main).
func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

// TestSetupLinkLifetime: a link opens its tenant until it expires, and not after; nor
// once the tenant is disabled; an unknown token is the same refusal.
func TestSetupLinkLifetime(t *testing.T) {
	ctx := context.Background()
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			st := b.Open(t)
			now := time.Now().UTC()
			svc := service.New(st, service.Options{SCIMBaseURL: "https://scim.example.com/scim/v2", Now: func() time.Time { return now }})
			name := "acme"
			tn, err := svc.CreateTenant(ctx, service.TenantInput{Name: &name})
			if err != nil {
				t.Fatal(err)
			}
			l, err := svc.CreateSetupLink(ctx, tn.ID, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(l.URL, "https://scim.example.com/setup/") || !strings.HasSuffix(l.URL, l.Token) {
				t.Fatalf("link %+v", l)
			}
			for _, tc := range []struct {
				name  string
				at    time.Duration
				token string
				ok    bool
			}{
				{"fresh", 0, l.Token, true},
				{"just before expiry", time.Hour - time.Second, l.Token, true},
				{"expired", time.Hour, l.Token, false},
				{"unknown", 0, l.Token + "x", false},
				{"empty", 0, "", false},
			} {
				now = time.Now().UTC().Add(tc.at)
				got, _, err := svc.OpenSetupLink(ctx, tc.token)
				if tc.ok != (err == nil) || tc.ok && got.ID != tn.ID {
					t.Errorf("%s: tenant %q, %v", tc.name, got.ID, err)
				}
				if e, isErr := service.AsError(err); err != nil && (!isErr || e.Kind != service.NotFound) {
					t.Errorf("%s: %v, want NotFound", tc.name, err)
				}
			}
			now = time.Now().UTC()
			if _, err := svc.SetTenantDisabled(ctx, tn.ID, true); err != nil {
				t.Fatal(err)
			}
			if _, _, err := svc.OpenSetupLink(ctx, l.Token); err == nil {
				t.Error("a disabled tenant's link opens")
			}
			if _, err := svc.CreateSetupLink(ctx, tn.ID, 0); err == nil {
				t.Error("a link made for a disabled tenant")
			}
			if _, err := st.SetupLink(ctx, []byte(l.Token)); err != store.ErrNotFound {
				t.Errorf("the token itself is stored, not only its hash: %v", err)
			}
		})
	}
}
