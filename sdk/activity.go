package sdk

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"time"
)

// ActivityEntry is one SCIM request in a tenant's activity log. RequestBody and
// ResponseBody (JSON with secrets redacted) are set only by GetActivity.
type ActivityEntry struct {
	ID           string    `json:"id"`
	Time         time.Time `json:"time"`
	RequestID    string    `json:"request_id"`
	CredentialID string    `json:"credential_id"`
	Client       string    `json:"client"`
	Method       string    `json:"method"`
	Path         string    `json:"path"`
	Status       int       `json:"status"`
	LatencyMS    float64   `json:"latency_ms"`
	ScimType     string    `json:"scim_type,omitempty"`
	Detail       string    `json:"detail,omitempty"`
	ResourceType string    `json:"resource_type,omitempty"`
	ResourceID   string    `json:"resource_id,omitempty"`
	RequestBody  *string   `json:"request_body,omitempty"`
	ResponseBody *string   `json:"response_body,omitempty"`
}

// ActivityListOptions filter a tenant's activity log; zero fields do not filter.
type ActivityListOptions struct {
	// Status is a class ("4xx") or one status ("409").
	Status string
	// ResourceID selects the requests that touched one user or group.
	ResourceID string
	// Client is an identity provider: okta, entra, jumpcloud, onelogin, google or other.
	Client string
	Since  time.Time
	// After, an entry's id, asks for the entries after it, oldest first (to follow).
	After  string
	Cursor string
	Limit  int
}

// ListActivity returns one page of a tenant's activity log, newest first (oldest first
// with After).
func (c *Client) ListActivity(ctx context.Context, tenantID string, opts ActivityListOptions) (*Page[ActivityEntry], error) {
	q := url.Values{}
	setIf(q, "status", opts.Status)
	setIf(q, "resource_id", opts.ResourceID)
	setIf(q, "client", opts.Client)
	setIf(q, "after", opts.After)
	if !opts.Since.IsZero() {
		q.Set("since", opts.Since.UTC().Format(time.RFC3339Nano))
	}
	var p Page[ActivityEntry]
	return &p, c.do(ctx, call{method: http.MethodGet, path: tenantPath(tenantID, "activity"), query: pageQuery(q, opts.Cursor, opts.Limit), idempotent: true}, &p)
}

// Activity iterates over every entry matching opts, newest first, fetching pages as it
// goes.
func (c *Client) Activity(ctx context.Context, tenantID string, opts ActivityListOptions) iter.Seq2[ActivityEntry, error] {
	return all(func(cursor string) (*Page[ActivityEntry], error) {
		o := opts
		o.Cursor = cursor
		return c.ListActivity(ctx, tenantID, o)
	}, opts.Cursor)
}

// GetActivity returns one entry with its request and response bodies.
func (c *Client) GetActivity(ctx context.Context, tenantID, entryID string) (*ActivityEntry, error) {
	var e ActivityEntry
	return &e, c.do(ctx, call{method: http.MethodGet, path: tenantPath(tenantID, "activity", entryID), idempotent: true}, &e)
}

// SetupLink is an expiring link to a tenant's setup page for the customer's own
// administrator; URL carries its token and is returned only once.
type SetupLink struct {
	URL      string    `json:"url"`
	TenantID string    `json:"tenant_id"`
	Expires  time.Time `json:"expires_at"`
}

// CreateSetupLink makes a setup link that expires after expiresIn (0: 72 hours).
func (c *Client) CreateSetupLink(ctx context.Context, tenantID string, expiresIn time.Duration) (*SetupLink, error) {
	var l SetupLink
	body := map[string]int64{}
	if expiresIn > 0 {
		body["expires_in"] = int64(expiresIn / time.Second)
	}
	return &l, c.do(ctx, call{method: http.MethodPost, path: tenantPath(tenantID, "setup-links"), body: body}, &l)
}
