package service

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/scimd/scimd/internal/store"
)

// Bounds of a setup link's life.
const (
	DefaultSetupLinkTTL = 72 * time.Hour
	MaxSetupLinkTTL     = 30 * 24 * time.Hour
)

// SetupLinkPath is where a setup link's page is served; the token follows it.
const SetupLinkPath = "/setup/"

// SetupLink is a new setup link: its URL (with the token, shown once) and expiry.
type SetupLink struct {
	Token    string    `json:"-"`
	URL      string    `json:"url"`
	TenantID string    `json:"tenant_id"`
	Expires  time.Time `json:"expires_at"`
}

func hashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// CreateSetupLink makes an expiring link to the setup page of one tenant, for the
// customer's own administrator. ttl 0 takes DefaultSetupLinkTTL.
func (s *Service) CreateSetupLink(ctx context.Context, tenantID string, ttl time.Duration) (SetupLink, error) {
	switch {
	case ttl == 0:
		ttl = DefaultSetupLinkTTL
	case ttl < time.Minute || ttl > MaxSetupLinkTTL:
		return SetupLink{}, invalid("expires_in", "a setup link lasts between 1 minute and %s", MaxSetupLinkTTL)
	}
	t, err := s.Tenant(ctx, tenantID)
	if err != nil {
		return SetupLink{}, err
	}
	if t.Disabled != nil {
		return SetupLink{}, invalid("tenant", "tenant %q is disabled", t.Name)
	}
	var b [32]byte
	rand.Read(b[:])
	token := base64.RawURLEncoding.EncodeToString(b[:])
	now := s.now()
	l := store.SetupLink{TokenHash: hashToken(token), TenantID: t.ID, Created: now, Expires: now.Add(ttl)}
	if err := s.store.CreateSetupLink(ctx, l); err != nil {
		return SetupLink{}, storeError(err, fmt.Sprintf("tenant %q", tenantID))
	}
	root := strings.TrimSuffix(s.baseURL, "/scim/v2")
	return SetupLink{Token: token, URL: root + SetupLinkPath + token, TenantID: t.ID, Expires: l.Expires}, nil
}

// OpenSetupLink returns the tenant and link of a token; an unknown, expired or disabled
// one is NotFound alike.
func (s *Service) OpenSetupLink(ctx context.Context, token string) (store.Tenant, store.SetupLink, error) {
	gone := notFound("this setup link is unknown or has expired: ask for a new one")
	if token == "" || len(token) > 100 {
		return store.Tenant{}, store.SetupLink{}, gone
	}
	l, err := s.store.SetupLink(ctx, hashToken(token))
	if errors.Is(err, store.ErrNotFound) || err == nil && !s.now().Before(l.Expires) {
		return store.Tenant{}, store.SetupLink{}, gone
	}
	if err != nil {
		return store.Tenant{}, store.SetupLink{}, err
	}
	t, err := s.Tenant(ctx, l.TenantID)
	if err != nil || t.Disabled != nil {
		return store.Tenant{}, store.SetupLink{}, gone
	}
	return t, l, nil
}

// Setup stages, in order.
const (
	SetupWaiting     = "waiting"     // no request yet
	SetupTested      = "tested"      // the identity provider's connector test arrived
	SetupProvisioned = "provisioned" // a user was created
)

// SetupStatus is how far a tenant's identity provider has got since a time.
type SetupStatus struct {
	Stage  string
	Client string
	// Errors are the latest failed requests, newest first, each with a hint.
	Errors []SetupError
}

// SetupError is a failed request and what to do about it.
type SetupError struct {
	Entry ActivityEntry
	Hint  string
}

// setupScan bounds the entries a status reads: the newest are what a person watching
// the page is waiting for.
const setupScan = 200

// SetupStatus reads a tenant's activity since a time: waiting for the first request, the
// connector test received (a successful read of /Users), a first user provisioned (a user
// created), and the last errors.
func (s *Service) SetupStatus(ctx context.Context, tenantID string, since time.Time) (SetupStatus, error) {
	entries, err := s.store.ListActivity(ctx, tenantID, store.ActivityQuery{Since: since, Limit: setupScan})
	if err != nil {
		return SetupStatus{}, fmt.Errorf("setup status of tenant %s: %w", tenantID, err)
	}
	st := SetupStatus{Stage: SetupWaiting}
	for _, e := range entries {
		if st.Client == "" && e.Client != "" {
			st.Client = e.Client
		}
		ok := e.Status >= 200 && e.Status < 300
		switch {
		case ok && e.Method == "POST" && e.ResourceType == "User":
			st.Stage = SetupProvisioned
		case ok && st.Stage == SetupWaiting && (e.ResourceType == "User" || e.ResourceType == "Group" || strings.Contains(e.Path, "/ServiceProviderConfig")):
			st.Stage = SetupTested
		}
		if e.Status >= 400 && len(st.Errors) < 5 {
			st.Errors = append(st.Errors, SetupError{Entry: activityEntry(e, false), Hint: Hint(e.Status, e.ScimType)})
		}
	}
	return st, nil
}

// Hint says what an identity provider's administrator can do about a failed request.
func Hint(status int, scimType string) string {
	switch {
	case status == 401:
		return "The credential was refused: paste the user name and password (or the bearer token) again, exactly as shown when it was made; a revoked or replaced credential no longer works."
	case status == 403:
		return "The tenant is disabled: ask the application's team to enable it."
	case scimType == "uniqueness":
		return "A user or group with this name already exists: in the identity provider, match on the unique identifier (email) or import the existing users first."
	case scimType == "invalidFilter":
		return "The identity provider sent a filter scimd does not accept: check the unique identifier field is email (userName)."
	case scimType == "invalidValue" || scimType == "invalidSyntax":
		return "An attribute's value was refused: check the attribute mappings (userName, emails, name) in the identity provider."
	case status == 404:
		return "The resource is not there: check the base URL ends in /scim/v2 and that the user was not deleted here."
	case status == 413 || scimType == "tooMany":
		return "The request was too large: push fewer users or members at once."
	case status >= 500:
		return "scimd failed: the identity provider will retry; if it persists, tell the application's team the request id."
	}
	return "See the request in the activity log for details."
}
