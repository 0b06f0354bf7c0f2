package store

import (
	"context"
	"time"
)

// ActivityEntry is one SCIM request as the activity log keeps it. Bodies are already
// redacted and capped when they reach the store.
type ActivityEntry struct {
	// Seq orders entries: it grows with every entry written, so it pages the log.
	Seq          int64
	TenantID     string
	At           time.Time
	RequestID    string
	CredentialID string
	// Client is the identity provider that sent the request ("" when not recognised).
	Client   string
	Method   string
	Path     string // path and query as sent
	Status   int
	Latency  time.Duration
	ScimType string
	Detail   string
	// ResourceType ("User", "Group", ...) and ResourceID name the resource the request
	// touched, when it touched one.
	ResourceType string
	ResourceID   string
	RequestBody  string
	ResponseBody string
}

// ActivityQuery selects a page of a tenant's activity log, newest first.
type ActivityQuery struct {
	// Before, when not 0, returns entries older than this Seq (the previous page's last).
	Before int64
	// After, when not 0, returns entries newer than this Seq (for following the log);
	// such a page comes oldest first.
	After int64
	Since time.Time
	// StatusMin and StatusMax, when StatusMin is not 0, bound the status (inclusive).
	StatusMin, StatusMax int
	ResourceID           string
	Client               string
	Limit                int
	// WithBodies asks for the request and response bodies (a list leaves them out).
	WithBodies bool
}

// ActivityStats summarise a tenant's recent activity for its connection health.
type ActivityStats struct {
	LastAt     *time.Time
	LastClient string
	// Requests and Errors count the requests since the given time and those of them that
	// failed (status 400 or more, 401 included).
	Requests, Errors int
	LastError        *ActivityEntry
}

// ActivityLog is the store's side of the activity log.
type ActivityLog interface {
	// AppendActivity writes entries in one transaction.
	AppendActivity(ctx context.Context, entries []ActivityEntry) error
	ListActivity(ctx context.Context, tenantID string, q ActivityQuery) ([]ActivityEntry, error)
	// ActivityEntry returns one entry of the tenant's log with its bodies.
	ActivityEntry(ctx context.Context, tenantID string, seq int64) (ActivityEntry, error)
	// ActivityStats summarises the tenant's log since the given time.
	ActivityStats(ctx context.Context, tenantID string, since time.Time) (ActivityStats, error)
	// PruneActivity deletes entries older than before and, per tenant, all but the
	// newest keep entries (keep 0: no count limit); it returns how many it deleted.
	PruneActivity(ctx context.Context, before time.Time, keep int) (int64, error)
}

// Health is what a readiness probe asks of a store.
type Health interface {
	// Ready returns nil when the database answers and its schema is the one this build
	// expects.
	Ready(ctx context.Context) error
}

// SetupLink lets a tenant's own administrator open the setup page until it expires. Only a
// hash of its token is kept.
type SetupLink struct {
	TokenHash []byte
	TenantID  string
	Created   time.Time
	Expires   time.Time
}

// SetupLinks keeps setup links.
type SetupLinks interface {
	CreateSetupLink(ctx context.Context, l SetupLink) error
	// SetupLink returns the link with this token hash (expired ones too).
	SetupLink(ctx context.Context, tokenHash []byte) (SetupLink, error)
}
