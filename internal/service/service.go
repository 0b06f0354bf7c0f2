// Package service holds scimd's administrative rules (tenants, SCIM credentials, API keys
// and directory reads) once, for the command line and the management API alike.
package service

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/scimd/scimd/internal/credential"
	"github.com/scimd/scimd/internal/scim"
	"github.com/scimd/scimd/internal/store"
)

// Service is the administrative side of scimd over one store.
type Service struct {
	store   store.Store
	baseURL string
	now     func() time.Time
	// users and groups are the built-in resource types the directory's filters resolve
	// against.
	users, groups *scim.ResourceType
	// webhookAllowPrivate lets webhook endpoints point at private addresses.
	webhookAllowPrivate bool
	securityEvents      bool
}

// Options configure a Service.
type Options struct {
	// SCIMBaseURL is the SCIM base URL identity providers are given (ending in /scim/v2).
	SCIMBaseURL string
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// WebhookAllowPrivate lets webhook endpoints point at loopback and private addresses.
	WebhookAllowPrivate bool
	// SecurityEvents allows endpoints of format "set" (serve --security-events).
	SecurityEvents bool
}

// New builds a Service.
func New(st store.Store, opts Options) *Service {
	now := opts.Now
	if now == nil {
		now = func() time.Time { return time.Now().UTC() }
	}
	return &Service{store: st, baseURL: strings.TrimRight(opts.SCIMBaseURL, "/"), now: now, users: scim.NewUserResourceType(),
		groups: scim.NewGroupResourceType(), webhookAllowPrivate: opts.WebhookAllowPrivate, securityEvents: opts.SecurityEvents}
}

// Store is the store the service works on.
func (s *Service) Store() store.Store { return s.store }

// Kind classifies an Error: each face (HTTP status, exit message) presents it its own way.
type Kind int

const (
	Invalid   Kind = iota + 1 // the input is wrong: Field names what
	NotFound                  // no such thing (or not the caller's)
	Conflict                  // a unique name or reference is taken
	Forbidden                 // the caller may not do this
)

// Error is a refusal the caller can act on; anything else is a failure of scimd.
type Error struct {
	Kind   Kind
	Field  string // the offending input field, when one is to blame
	Detail string
}

func (e *Error) Error() string { return e.Detail }

func invalid(field, format string, args ...any) error {
	return &Error{Kind: Invalid, Field: field, Detail: fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) error {
	return &Error{Kind: NotFound, Detail: fmt.Sprintf(format, args...)}
}

// AsError returns the *Error in err's chain.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// maxNameLen bounds tenant names, external references and API key names.
const maxNameLen = 200

// checkText refuses an over-long value, invalid UTF-8 and control characters: these
// values are shown in terminals, consoles and identity providers.
func checkText(field, v string, required bool) error {
	if strings.TrimSpace(v) == "" {
		if required {
			return invalid(field, "%s is required", field)
		}
		return nil
	}
	if len(v) > maxNameLen {
		return invalid(field, "%s is longer than %d bytes", field, maxNameLen)
	}
	if !utf8.ValidString(v) {
		return invalid(field, "%s is not valid UTF-8", field)
	}
	for _, r := range v {
		if unicode.IsControl(r) {
			return invalid(field, "%s contains a control character", field)
		}
	}
	if strings.TrimSpace(v) != v {
		return invalid(field, "%s has leading or trailing spaces", field)
	}
	return nil
}

// storeError turns the store's sentinel errors into Errors.
func storeError(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound):
		return notFound("%s not found", what)
	case errors.Is(err, store.ErrExists):
		return &Error{Kind: Conflict, Field: conflictField(err), Detail: strings.TrimPrefix(err.Error(), "create tenant: ")}
	}
	return err
}

func conflictField(err error) string {
	if strings.Contains(err.Error(), "external reference") {
		return "external_ref"
	}
	return "name"
}

// TenantInput is a new tenant, or a change of one (nil fields stay as they are).
type TenantInput struct {
	Name        *string
	ExternalRef *string
}

// CreateTenant creates a tenant.
func (s *Service) CreateTenant(ctx context.Context, in TenantInput) (store.Tenant, error) {
	var t store.Tenant
	if in.Name != nil {
		t.Name = *in.Name
	}
	if in.ExternalRef != nil {
		t.ExternalRef = *in.ExternalRef
	}
	if err := checkText("name", t.Name, true); err != nil {
		return t, err
	}
	if err := checkText("external_ref", t.ExternalRef, false); err != nil {
		return t, err
	}
	t, err := s.store.CreateTenant(ctx, t)
	return t, storeError(err, "tenant")
}

// Tenant returns one tenant by id.
func (s *Service) Tenant(ctx context.Context, id string) (store.Tenant, error) {
	t, err := s.store.Tenant(ctx, id)
	return t, storeError(err, fmt.Sprintf("tenant %q", id))
}

// TenantByName returns one tenant by name (the command line names tenants).
func (s *Service) TenantByName(ctx context.Context, name string) (store.Tenant, error) {
	t, err := s.store.TenantByName(ctx, name)
	return t, storeError(err, fmt.Sprintf("tenant %q", name))
}

// TenantPage is a page of tenants and the cursor of the next ("" on the last page).
type TenantPage struct {
	Tenants []store.Tenant
	Next    string
}

// TenantFilter selects tenants: every set field must match exactly.
type TenantFilter struct {
	Name        string
	ExternalRef string
	Only        string // a tenant id: the caller may see no other
	Cursor      string
	Limit       int
}

// ListTenants returns tenants in name order; the cursor holds the last name seen.
func (s *Service) ListTenants(ctx context.Context, f TenantFilter) (TenantPage, error) {
	limit, err := pageLimit(f.Limit, 100, 1000)
	if err != nil {
		return TenantPage{}, err
	}
	if err := checkText("name", f.Name, false); err != nil {
		return TenantPage{}, err
	}
	if err := checkText("external_ref", f.ExternalRef, false); err != nil {
		return TenantPage{}, err
	}
	after := ""
	if f.Cursor != "" {
		if after, err = decodeCursor(f.Cursor); err != nil {
			return TenantPage{}, err
		}
	}
	ts, err := s.store.ListTenants(ctx, store.TenantQuery{Name: f.Name, ExternalRef: f.ExternalRef, ID: f.Only, After: after, Limit: limit + 1})
	if err != nil {
		return TenantPage{}, err
	}
	page := TenantPage{Tenants: ts}
	if len(ts) > limit {
		page.Tenants = ts[:limit]
		page.Next = encodeCursor(ts[limit-1].Name)
	}
	return page, nil
}

// UpdateTenant changes a tenant's name or external reference.
func (s *Service) UpdateTenant(ctx context.Context, id string, in TenantInput) (store.Tenant, error) {
	if in.Name != nil {
		if err := checkText("name", *in.Name, true); err != nil {
			return store.Tenant{}, err
		}
	}
	if in.ExternalRef != nil {
		if err := checkText("external_ref", *in.ExternalRef, false); err != nil {
			return store.Tenant{}, err
		}
	}
	t, err := s.store.UpdateTenant(ctx, id, func(t *store.Tenant) error {
		if in.Name != nil {
			t.Name = *in.Name
		}
		if in.ExternalRef != nil {
			t.ExternalRef = *in.ExternalRef
		}
		return nil
	})
	return t, storeError(err, fmt.Sprintf("tenant %q", id))
}

// SetTenantDisabled disables a tenant (its SCIM credentials are refused from the next
// request on; its data stays) or enables it again. Disabling twice keeps the first time.
func (s *Service) SetTenantDisabled(ctx context.Context, id string, disabled bool) (store.Tenant, error) {
	t, err := s.store.UpdateTenant(ctx, id, func(t *store.Tenant) error {
		switch {
		case disabled && t.Disabled == nil:
			now := s.now()
			t.Disabled = &now
		case !disabled:
			t.Disabled = nil
		}
		return nil
	})
	return t, storeError(err, fmt.Sprintf("tenant %q", id))
}

// DeleteTenant deletes a tenant and all its data. confirm must repeat the tenant's id or
// name: a deletion cannot be undone, so it is never the effect of a stray call.
func (s *Service) DeleteTenant(ctx context.Context, id, confirm string) error {
	t, err := s.Tenant(ctx, id)
	if err != nil {
		return err
	}
	if confirm == "" || (confirm != t.ID && confirm != t.Name) {
		return invalid("confirm", "deleting tenant %q removes all its users, groups and credentials: repeat its id or name as confirm", t.Name)
	}
	return storeError(s.store.DeleteTenant(ctx, id), fmt.Sprintf("tenant %q", id))
}

// UniqueIdentifierField is the user attribute identity providers match users on: Okta's
// "Unique identifier field for users" names the SCIM attribute of its uniqueness filter
// (userName eq "…") before each create (docs/okta.md).
const UniqueIdentifierField = "userName"

// Connection is what a customer's admin enters in the identity provider.
type Connection struct {
	TenantID              string
	TenantName            string
	SCIMBaseURL           string
	UniqueIdentifierField string
	// Credential is the newest live credential, if any (its secret is never available
	// again after minting).
	Credential *store.Credential
}

// Connection returns the values for a tenant's identity provider.
func (s *Service) Connection(ctx context.Context, tenantID string) (Connection, error) {
	t, err := s.Tenant(ctx, tenantID)
	if err != nil {
		return Connection{}, err
	}
	c := Connection{TenantID: t.ID, TenantName: t.Name, SCIMBaseURL: s.baseURL, UniqueIdentifierField: UniqueIdentifierField}
	creds, err := s.store.Credentials(ctx, t.ID)
	if err != nil {
		return c, err
	}
	for i := range creds {
		if creds[i].Revoked == nil && (c.Credential == nil || !creds[i].Created.Before(c.Credential.Created)) {
			c.Credential = &creds[i]
		}
	}
	return c, nil
}

// SCIMBaseURL is the base URL identity providers are given.
func (s *Service) SCIMBaseURL() string { return s.baseURL }

// MintCredential creates a SCIM credential for a tenant; the secret exists only in the
// result.
func (s *Service) MintCredential(ctx context.Context, tenantID string) (credential.Issued, error) {
	if _, err := s.Tenant(ctx, tenantID); err != nil {
		return credential.Issued{}, err
	}
	issued := credential.New(tenantID, s.now())
	if err := s.store.CreateCredential(ctx, issued.Credential); err != nil {
		return credential.Issued{}, err
	}
	issued.Credential.TenantName = ""
	return issued, nil
}

// Credentials lists a tenant's credentials ("" for every tenant's), never their secrets.
func (s *Service) Credentials(ctx context.Context, tenantID string) ([]store.Credential, error) {
	if tenantID != "" {
		if _, err := s.Tenant(ctx, tenantID); err != nil {
			return nil, err
		}
	}
	return s.store.Credentials(ctx, tenantID)
}

// credentialOf returns a credential, refusing one of another tenant as not found
// (tenantID "" accepts any tenant).
func (s *Service) credentialOf(ctx context.Context, tenantID, id string) (store.Credential, error) {
	c, err := s.store.Credential(ctx, id)
	if err == nil && tenantID != "" && c.TenantID != tenantID {
		err = store.ErrNotFound
	}
	return c, storeError(err, fmt.Sprintf("credential %q", id))
}

// DefaultOverlap is how long a rotated credential's old secret keeps working unless the
// caller says otherwise: a day to paste the new one into the identity provider.
const DefaultOverlap = 24 * time.Hour

// MaxOverlap bounds the overlap: an old secret must not live on indefinitely.
const MaxOverlap = 30 * 24 * time.Hour

// RotateCredential gives a credential a new secret. The id (the Basic user name) stays;
// the old secret keeps working for overlap (not at all when overlap is 0).
func (s *Service) RotateCredential(ctx context.Context, tenantID, id string, overlap time.Duration) (credential.Issued, error) {
	if overlap < 0 || overlap > MaxOverlap {
		return credential.Issued{}, invalid("overlap_seconds", "overlap must be between 0 and %d seconds", int(MaxOverlap.Seconds()))
	}
	c, err := s.credentialOf(ctx, tenantID, id)
	if err != nil {
		return credential.Issued{}, err
	}
	if c.Revoked != nil {
		return credential.Issued{}, &Error{Kind: Conflict, Detail: fmt.Sprintf("credential %q is revoked: mint a new one", id)}
	}
	issued := credential.Reissue(c)
	rotated, err := s.store.RotateCredential(ctx, id, issued.Credential.SecretHash, s.now().Add(overlap))
	if err != nil {
		return credential.Issued{}, storeError(err, fmt.Sprintf("credential %q", id))
	}
	issued.Credential = rotated
	return issued, nil
}

// RevokeCredential revokes a credential at once (tenantID "" for any tenant's).
func (s *Service) RevokeCredential(ctx context.Context, tenantID, id string) error {
	if _, err := s.credentialOf(ctx, tenantID, id); err != nil {
		return err
	}
	return storeError(s.store.RevokeCredential(ctx, id), fmt.Sprintf("credential %q", id))
}

// API key scopes.
const (
	ScopeAdmin = "admin"
	ScopeRead  = "read"
)

// CreateAPIKey mints a management API key, for one tenant or (tenantID "") every tenant.
func (s *Service) CreateAPIKey(ctx context.Context, tenantID, scope, name string) (credential.IssuedKey, error) {
	if scope == "" {
		scope = ScopeAdmin
	}
	if scope != ScopeAdmin && scope != ScopeRead {
		return credential.IssuedKey{}, invalid("scope", "scope must be %q or %q", ScopeAdmin, ScopeRead)
	}
	if err := checkText("name", name, false); err != nil {
		return credential.IssuedKey{}, err
	}
	if tenantID != "" {
		if _, err := s.Tenant(ctx, tenantID); err != nil {
			return credential.IssuedKey{}, err
		}
	}
	k := credential.NewAPIKey(tenantID, scope, name, s.now())
	if err := s.store.CreateAPIKey(ctx, k.Key); err != nil {
		return credential.IssuedKey{}, err
	}
	return k, nil
}

// APIKeys lists the API keys, never their secrets.
func (s *Service) APIKeys(ctx context.Context) ([]store.APIKey, error) { return s.store.APIKeys(ctx) }

// RevokeAPIKey revokes an API key at once.
func (s *Service) RevokeAPIKey(ctx context.Context, id string) error {
	return storeError(s.store.RevokeAPIKey(ctx, id), fmt.Sprintf("API key %q", id))
}

// errBadKey is the one answer to every failed API key check, so that it tells an
// attacker nothing about which part was wrong.
var errBadKey = &Error{Kind: Forbidden, Detail: "invalid API key"}

// AuthenticateAPIKey checks a bearer token "<id>.<secret>" and returns its key.
func (s *Service) AuthenticateAPIKey(ctx context.Context, token string) (store.APIKey, error) {
	id, secret, ok := strings.Cut(token, ".")
	if !ok {
		return store.APIKey{}, errBadKey
	}
	k, err := s.store.APIKey(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		credential.ValidKey(store.APIKey{}, secret) // the same work whether or not the id exists
		return store.APIKey{}, errBadKey
	}
	if err != nil {
		return store.APIKey{}, err
	}
	if !credential.ValidKey(k, secret) {
		return store.APIKey{}, errBadKey
	}
	// A key of a disabled tenant keeps working: it is the application's, not the identity
	// provider's, and enabling the tenant again needs it. A deleted tenant's keys are gone.
	return k, nil
}
