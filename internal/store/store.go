// Package store defines what scimd keeps (tenants, credentials, users, groups and their
// memberships) behind one small interface; each backend lives in a sub-package.
package store

import (
	"context"
	"errors"
	"iter"
	"time"

	"github.com/scimd/scimd/internal/events"
	"github.com/scimd/scimd/internal/roles"
	"github.com/scimd/scimd/internal/scim"
)

// ErrNotFound is returned for a tenant, credential or resource that does not exist (or
// belongs to another tenant, which is the same thing to the caller).
var ErrNotFound = errors.New("not found")

// ErrExists is returned when a tenant name or external reference is taken.
var ErrExists = errors.New("already exists")

// ErrNotEmpty is returned by ImportTenant when the target tenant already has users or
// groups: an import never merges into a directory an identity provider is filling.
var ErrNotEmpty = errors.New("tenant is not empty")

// Tenant is one customer: every resource belongs to exactly one tenant.
type Tenant struct {
	ID   string
	Name string
	// ExternalRef is the application's own id for the customer (unique when set).
	ExternalRef string
	Created     time.Time
	Updated     time.Time
	// Disabled is when the tenant was disabled: its SCIM credentials are refused, its data
	// kept. Nil while enabled.
	Disabled *time.Time
}

// TenantQuery selects a page of tenants in name order. ID, Name and ExternalRef, when set,
// must match exactly; After is the name of the last tenant of the previous page.
type TenantQuery struct {
	ID          string
	Name        string
	ExternalRef string
	After       string
	Limit       int
}

// Credential authenticates an identity provider as one tenant. Only a hash of its secret
// is kept.
type Credential struct {
	ID         string // public: the Basic user name
	TenantID   string
	TenantName string
	// TenantDisabled is whether the credential's tenant is disabled (then it is refused).
	TenantDisabled bool
	SecretHash     []byte
	// PreviousHash is the secret replaced by the last rotation, accepted until
	// PreviousExpires so that an identity provider can be switched without an outage.
	PreviousHash    []byte
	PreviousExpires *time.Time
	Created         time.Time
	Rotated         *time.Time
	Revoked         *time.Time
	// LastUsed and LastClient are when the credential last authenticated a request and
	// which identity provider sent it (recorded in batches, so up to a few seconds late).
	LastUsed   *time.Time
	LastClient string
}

// APIKey authenticates an application's backend on the management API. TenantID is ""
// for a key that spans every tenant. Only a hash of its secret is kept.
type APIKey struct {
	ID         string
	TenantID   string
	Scope      string // "admin" or "read"
	Name       string
	SecretHash []byte
	Created    time.Time
	Revoked    *time.Time
	LastUsed   *time.Time
}

// Use is one authenticated use of a credential or API key, recorded off the request path.
type Use struct {
	ID     string
	At     time.Time
	Client string // the identity provider, for a SCIM credential
}

// Meta is what the store maintains about every resource (RFC 7643 §3.1 "meta").
type Meta struct {
	Created      time.Time
	LastModified time.Time
	Version      int64
}

// GroupRef is one group a user belongs to: a role the user holds.
type GroupRef struct {
	ID          string
	DisplayName string
}

// User is a stored user: its attributes, and, when asked for, the groups it is in.
type User struct {
	ID   string
	Data scim.Resource
	// Doc is the stored JSON object instead of Data when a list asked for it (RawDocs).
	Doc    []byte
	Meta   Meta
	Groups []GroupRef
	// Roles are the roles the user holds, in order (see internal/roles), when asked for.
	Roles []string
}

// Member is one member of a group as rendered: the user's id and display name.
type Member struct {
	ID      string
	Display string
}

// Group is a stored group (a role).
type Group struct {
	ID   string
	Data scim.Resource
	// Doc is the stored JSON object instead of Data when a list asked for it (RawDocs).
	Doc  []byte
	Meta Meta
}

// MemberOpKind says what a MemberOp does to a group's member set.
type MemberOpKind int

const (
	MembersAdd    MemberOpKind = iota // add these users (already members are kept)
	MembersRemove                     // remove these users (non-members are ignored)
	MembersSet                        // the group's members become exactly these users
)

// MemberOp is one change of a group's members; a request's ops apply in order.
type MemberOp struct {
	Kind    MemberOpKind
	UserIDs []string
}

// ListQuery selects a page of resources. Filter is resolved against the resource type, or
// nil for all. StartIndex is 1-based (RFC 7644 §3.4.2.4).
type ListQuery struct {
	Filter     scim.Filter
	StartIndex int
	Count      int
	// SortBy, when set, is a resolved singular attribute (or a multi-valued one, sorted by
	// its primary or else first value) to order by (RFC 7644 §3.4.2.3); SortDescending
	// reverses the order. Without it resources come in creation order.
	SortBy         *scim.AttrPath
	SortDescending bool
	// Cursor, when not nil, asks for cursor paging (RFC 9865) instead of StartIndex: "" for
	// the first page, or the NextCursor of the previous page of the same query.
	Cursor *string
	// WithGroups asks for each user's groups; WithMembers is not offered on lists, where a
	// group's members are never loaded.
	WithGroups bool
	// WithRoles asks for each user's roles.
	WithRoles bool
	// RawDocs asks for each resource's stored JSON document in Doc instead of its decoded
	// attributes: a page rendered with every default attribute needs no decoding.
	RawDocs bool
	// MemberOf, on a user list, keeps only the members of the group with this id. With
	// cursor paging and no filter or sort, each page is read from the group's memberships
	// in order, so that a page costs the same in a group of ten and of a million.
	MemberOf string
	// HasRole, on a user list, keeps only the users holding this role (exact name), read
	// like MemberOf from the role's holders in order.
	HasRole string
	// NoTotal skips counting the matches (Page.Total is then -1): a cursor-paged reader
	// that never shows a total need not pay for a count over a large filtered set.
	NoTotal bool
	// Type is the resource type the filter and sort were resolved against, when it is not
	// the built-in one (a tenant's schema extensions).
	Type *scim.ResourceType
}

// ReadOptions say what a read of one user returns besides its attributes.
type ReadOptions struct {
	// WithGroups asks for the user's groups.
	WithGroups bool
	// RawDoc asks for the stored JSON document in Doc instead of decoded attributes.
	RawDoc bool
	// WithRoles asks for the roles the user holds.
	WithRoles bool
}

// RoleChange is what a change of a role configuration did.
type RoleChange struct {
	// Unchanged is true when the configuration was already the one given: nothing was
	// written.
	Unchanged bool
	// Users is how many users' roles were derived again, Changed how many changed.
	Users, Changed int
}

// Page is one page of a list together with the total number of matches and, in cursor
// paging, the cursor of the next page ("" on the last page).
type Page[T any] struct {
	Items      []T
	Total      int
	NextCursor string
}

// EventQuery selects a page of the outbox. With Tenant, it reads that tenant's events
// whose Seq is after After; without, every tenant's events whose feed position is after
// After. Types, when set, keeps those types only.
type EventQuery struct {
	Tenant string
	After  int64
	Types  []string
	Limit  int
}

// EventPage is a page of events and where the next page starts (the After of the next
// query): past every event read or filtered out, and never past one not yet visible.
type EventPage struct {
	Events []events.Event
	Next   int64
}

// WebhookEndpoint is where events are pushed: one tenant's (TenantID) or every tenant's
// (TenantID ""). Its secret signs deliveries, so it is kept as it is, not hashed.
type WebhookEndpoint struct {
	ID       string
	TenantID string
	URL      string
	Secret   string
	// PreviousSecret also signs deliveries until PreviousExpires, while receivers switch.
	PreviousSecret  string
	PreviousExpires *time.Time
	// Types keeps these event types only (all when empty).
	Types []string
	// Format is "webhook" (Standard Webhooks) or "set" (RFC 8935 security event tokens).
	Format  string
	Created time.Time
	// Disabled is when the endpoint was disabled, by an operator or for failing too long
	// (DisabledReason says which); nil while enabled.
	Disabled       *time.Time
	DisabledReason string
	// FailingSince is when its deliveries started failing, nil while they succeed.
	FailingSince *time.Time
}

// WebhookCursor is an endpoint's delivery position in one tenant's events: events up to
// LastSeq are delivered (or skipped). A deliverer holds it under a lease.
type WebhookCursor struct {
	EndpointID string
	TenantID   string
	LastSeq    int64
	// Attempts is how many times delivering the event after LastSeq has failed.
	Attempts int
}

// Delivery is one attempt to deliver an event, as the delivery log keeps it.
type Delivery struct {
	EndpointID string
	TenantID   string
	EventID    string
	Seq        int64
	Attempt    int
	At         time.Time
	// Status is the HTTP status of the answer, 0 when none came (Error says why).
	Status   int
	Latency  time.Duration
	Response string // the first bytes of the answer's body
	Error    string
}

// DeliveryOutcome is what a deliverer reports for a cursor it holds.
type DeliveryOutcome struct {
	// Deliveries are the attempts to log (all successful but the last when RetryAt is
	// set).
	Deliveries []Delivery
	// AdvanceTo moves the cursor on to this seq (delivered or skipped), 0 to leave it.
	AdvanceTo int64
	// RetryAt, when not zero, records a failure of the event after AdvanceTo, its
	// Attempts-th: the next attempt is not before RetryAt.
	RetryAt  time.Time
	Attempts int
	// DisableAfter disables the endpoint once its deliveries have failed this long.
	DisableAfter time.Duration
	// Release gives the lease up; otherwise it is extended by Lease.
	Release bool
	Lease   time.Duration
}

// TenantImport is a tenant to write as it was in another deployment: its resources keep
// their ids and meta (identity providers hold the ids).
type TenantImport struct {
	// Tenant is the tenant to create: its name, external reference, times and disabled
	// state, and the id it keeps unless another tenant has it. When a tenant of that name
	// exists and has no users and no groups, the resources go into it and it stays as it is.
	Tenant Tenant
	// RoleConfig is the tenant's own role configuration (nil: none, it works under the
	// default one). It is set on a tenant the import creates; an existing empty tenant
	// keeps its own.
	RoleConfig *roles.Config
	// Users and then Groups are each read once, in this order (members name users); an
	// error from either aborts the import. Users are written in the order given, which
	// becomes their creation order in lists.
	Users  iter.Seq2[*User, error]
	Groups iter.Seq2[*ImportGroup, error]
}

// ImportGroup is a group to import with the ids of its members (users of the import).
type ImportGroup struct {
	Group
	Members []string
}

// ImportResult is what ImportTenant wrote.
type ImportResult struct {
	Tenant Tenant
	// Created is whether the import created the tenant (else it filled an empty one).
	Created                    bool
	Users, Groups, Memberships int
}

// ErrLeaseLost is returned when a deliverer reports on a cursor whose lease it lost.
var ErrLeaseLost = errors.New("delivery lease lost")

// Store is implemented by each backend. Every method that changes data runs in one
// transaction: it applies whole or not at all.
type Store interface {
	// CreateTenant creates a tenant with t's name and external reference (ErrExists when
	// either is taken) and returns it with its id and times.
	CreateTenant(ctx context.Context, t Tenant) (Tenant, error)
	// Tenants lists every tenant in name order.
	Tenants(ctx context.Context) ([]Tenant, error)
	ListTenants(ctx context.Context, q TenantQuery) ([]Tenant, error)
	TenantByName(ctx context.Context, name string) (Tenant, error)
	Tenant(ctx context.Context, id string) (Tenant, error)
	// UpdateTenant reads the tenant, calls change on it inside the transaction and writes
	// its name, external reference and disabled time.
	UpdateTenant(ctx context.Context, id string, change func(*Tenant) error) (Tenant, error)
	// DeleteTenant deletes the tenant with every resource, credential and API key of it.
	DeleteTenant(ctx context.Context, id string) error
	// ExportTenant reads the tenant's users, then its groups each with its members' ids,
	// all from one snapshot and in creation order, passing each to user or group as it
	// goes (a large tenant is never held in memory).
	ExportTenant(ctx context.Context, tenantID string, user func(*User) error, group func(*Group, []string) error) error
	// ImportTenant writes a tenant with its users, groups and memberships in one
	// transaction, keeping ids and meta: all of it or, on any error, nothing. ErrNotEmpty
	// when the tenant exists with resources, ErrExists when its external reference is
	// another tenant's. It records no events: nothing changed in the identity provider.
	ImportTenant(ctx context.Context, in TenantImport) (ImportResult, error)

	CreateCredential(ctx context.Context, c Credential) error
	Credentials(ctx context.Context, tenantID string) ([]Credential, error)
	RevokeCredential(ctx context.Context, id string) error
	// RotateCredential replaces a live credential's secret hash; the old one stays valid
	// until previousExpires (not at all when that is not after now).
	RotateCredential(ctx context.Context, id string, newHash []byte, previousExpires time.Time) (Credential, error)
	// Credential returns a credential with its tenant's name (revoked ones too).
	Credential(ctx context.Context, id string) (Credential, error)

	CreateAPIKey(ctx context.Context, k APIKey) error
	APIKeys(ctx context.Context) ([]APIKey, error)
	APIKey(ctx context.Context, id string) (APIKey, error)
	RevokeAPIKey(ctx context.Context, id string) error
	// RecordUse stores when credentials and API keys were last used.
	RecordUse(ctx context.Context, credentials, apiKeys []Use) error

	CreateUser(ctx context.Context, tenantID string, data scim.Resource) (*User, error)
	GetUser(ctx context.Context, tenantID, id string, opts ReadOptions) (*User, error)
	// UpdateUser reads the user, calls change on it inside the transaction and writes the
	// resource change returns; an error from change aborts the update.
	UpdateUser(ctx context.Context, tenantID, id string, change func(*User) (scim.Resource, error)) (*User, error)
	// DeleteUser deletes the user and its memberships; check may veto (If-Match).
	DeleteUser(ctx context.Context, tenantID, id string, check func(Meta) error) error
	ListUsers(ctx context.Context, tenantID string, q ListQuery) (Page[*User], error)

	// CreateGroup creates a group with the given members (user ids of the same tenant).
	CreateGroup(ctx context.Context, tenantID string, data scim.Resource, members []string) (*Group, error)
	GetGroup(ctx context.Context, tenantID, id string) (*Group, error)
	// GroupMembers streams a group's members in a stable order without holding them all.
	GroupMembers(ctx context.Context, tenantID, id string, each func(Member) error) error
	// UpdateGroup reads the group, calls change inside the transaction, writes the resource
	// it returns and applies its member ops in order. The group's version changes when its
	// attributes or its members change. change may be called more than once (a backend may
	// call it first on the group as read before locking it), so it must do nothing but
	// compute its result.
	UpdateGroup(ctx context.Context, tenantID, id string, change func(*Group) (scim.Resource, []MemberOp, error)) (*Group, error)
	// ChangeMembers adds and removes members (no MembersSet) of a group without changing
	// its attributes or checking its version: what an identity provider's group push
	// does. Concurrent calls for one group do not wait for each other's whole change.
	ChangeMembers(ctx context.Context, tenantID, id string, ops []MemberOp) (*Group, error)
	DeleteGroup(ctx context.Context, tenantID, id string, check func(Meta) error) error
	ListGroups(ctx context.Context, tenantID string, q ListQuery) (Page[*Group], error)
	// MemberCounts returns how many members each of the given groups has, by group id.
	MemberCounts(ctx context.Context, tenantID string, groupIDs []string) (map[string]int, error)

	// RoleConfig returns a tenant's own role configuration (nil when it has none) and the
	// one it works under; with tenantID "" the default for every tenant without one.
	RoleConfig(ctx context.Context, tenantID string) (*roles.Config, roles.Config, error)
	// SetRoleConfig replaces (nil: removes) a tenant's or, with tenantID "", the default
	// role configuration after validate accepts it, and derives the roles of every user
	// it can affect again in the same transaction, with their events.
	SetRoleConfig(ctx context.Context, tenantID string, cfg *roles.Config, validate func(cfg roles.Config, inherited []roles.Role) error) (RoleChange, error)
	// RoleCounts returns how many users hold each role held in the tenant.
	RoleCounts(ctx context.Context, tenantID string) (map[string]int, error)

	ActivityLog
	SetupLinks
	Health
	// Events reads a page of the outbox.
	Events(ctx context.Context, q EventQuery) (EventPage, error)
	// EventsWritten returns a channel closed when this process next commits events.
	EventsWritten() <-chan struct{}
	// EventsNumbered returns a channel closed when this process next numbers events
	// (SequenceEvents), which makes them readable.
	EventsNumbered() <-chan struct{}
	// SequenceEvents numbers committed events (seq in their tenant, pos in the feed of all
	// tenants) and returns how many; one caller at a time across instances does the
	// work. Readers see numbered events only.
	SequenceEvents(ctx context.Context) (int, error)
	// PruneEvents deletes positioned events recorded before the given time.
	PruneEvents(ctx context.Context, before time.Time) (int, error)

	CreateWebhook(ctx context.Context, w WebhookEndpoint) error
	// Webhooks lists the endpoints of a tenant and those for every tenant; with tenantID
	// "" it lists all of them.
	Webhooks(ctx context.Context, tenantID string) ([]WebhookEndpoint, error)
	Webhook(ctx context.Context, id string) (WebhookEndpoint, error)
	// UpdateWebhook reads the endpoint, calls change on it inside the transaction and
	// writes its secrets, types and disabled state.
	UpdateWebhook(ctx context.Context, id string, change func(*WebhookEndpoint) error) (WebhookEndpoint, error)
	DeleteWebhook(ctx context.Context, id string) error
	// ReplayWebhook moves the endpoint's cursor of a tenant back so that delivery starts
	// again at event fromSeq.
	ReplayWebhook(ctx context.Context, id, tenantID string, fromSeq int64) error
	// WebhookDeliveries returns the endpoint's latest delivery attempts, newest first.
	WebhookDeliveries(ctx context.Context, id string, limit int) ([]Delivery, error)
	// WebhookBacklog counts the numbered events of tenantID (every tenant's when "") that
	// the cursors of endpoint id (every endpoint's when "") have not passed yet: delivered
	// or skipped events are not counted, nor the events of a tenant whose cursor has not
	// started.
	WebhookBacklog(ctx context.Context, id, tenantID string) (int64, error)
	// ClaimWebhookCursors leases up to max cursors that have events to deliver and are
	// due, to owner for lease; a cursor is held by one owner at a time across instances.
	ClaimWebhookCursors(ctx context.Context, owner string, lease time.Duration, max int) ([]WebhookCursor, error)
	// SigningKey returns the key that signs security event tokens (DER), creating it with
	// generate the first time; every instance gets the same key.
	SigningKey(ctx context.Context, generate func() ([]byte, error)) ([]byte, error)
	// RecordDelivery applies what the owner of a cursor reports (ErrLeaseLost when it no
	// longer holds it).
	RecordDelivery(ctx context.Context, owner string, c WebhookCursor, o DeliveryOutcome) error

	Close() error
}
