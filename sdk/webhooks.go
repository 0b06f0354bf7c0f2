package sdk

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Webhook is an endpoint events are pushed to.
type Webhook struct {
	ID             string     `json:"id"`
	TenantID       *string    `json:"tenant_id"`
	URL            string     `json:"url"`
	Types          []string   `json:"types"`
	Format         string     `json:"format"`
	Created        time.Time  `json:"created"`
	Disabled       bool       `json:"disabled"`
	DisabledAt     *time.Time `json:"disabled_at"`
	DisabledReason *string    `json:"disabled_reason"`
	FailingSince   *time.Time `json:"failing_since"`
	// Secret is set only in the answer to CreateWebhook and RotateWebhookSecret.
	Secret string `json:"secret,omitempty"`
}

// WebhookCreate is a new endpoint. TenantID "" is the key's tenant, or with a key for all
// tenants every tenant. Secret "" has one generated; Types empty receives every type;
// Format is "webhook" (default) or "set".
type WebhookCreate struct {
	URL      string   `json:"url"`
	TenantID string   `json:"tenant_id,omitempty"`
	Secret   string   `json:"secret,omitempty"`
	Types    []string `json:"types,omitempty"`
	Format   string   `json:"format,omitempty"`
}

// Delivery is one delivery attempt from an endpoint's log.
type Delivery struct {
	EventID   string    `json:"event_id"`
	TenantID  string    `json:"tenant_id"`
	Seq       int64     `json:"seq"`
	Attempt   int       `json:"attempt"`
	At        time.Time `json:"at"`
	Status    *int      `json:"status"`
	LatencyMS float64   `json:"latency_ms"`
	Response  string    `json:"response"`
	Error     *string   `json:"error"`
}

// CreateWebhook adds an endpoint; the answer holds its signing secret.
func (c *Client) CreateWebhook(ctx context.Context, in WebhookCreate) (*Webhook, error) {
	var w Webhook
	return &w, c.do(ctx, call{method: http.MethodPost, path: "/webhooks", body: in}, &w)
}

// ListWebhooks lists the endpoints (of one tenant when tenantID is set).
func (c *Client) ListWebhooks(ctx context.Context, tenantID string) ([]Webhook, error) {
	q := url.Values{}
	setIf(q, "tenant", tenantID)
	var p Page[Webhook]
	return p.Data, c.do(ctx, call{method: http.MethodGet, path: "/webhooks", query: q, idempotent: true}, &p)
}

// GetWebhook returns one endpoint.
func (c *Client) GetWebhook(ctx context.Context, id string) (*Webhook, error) {
	var w Webhook
	return &w, c.do(ctx, call{method: http.MethodGet, path: "/webhooks/" + url.PathEscape(id), idempotent: true}, &w)
}

// DeleteWebhook removes an endpoint.
func (c *Client) DeleteWebhook(ctx context.Context, id string) error {
	return c.do(ctx, call{method: http.MethodDelete, path: "/webhooks/" + url.PathEscape(id), idempotent: true}, nil)
}

// SetWebhookDisabled disables an endpoint or enables it again.
func (c *Client) SetWebhookDisabled(ctx context.Context, id string, disabled bool) (*Webhook, error) {
	verb := "enable"
	if disabled {
		verb = "disable"
	}
	var w Webhook
	return &w, c.do(ctx, call{method: http.MethodPost, path: "/webhooks/" + url.PathEscape(id) + "/" + verb, idempotent: true}, &w)
}

// RotateWebhookSecret gives an endpoint a new secret (generated when secret is ""); both
// sign deliveries for overlap.
func (c *Client) RotateWebhookSecret(ctx context.Context, id, secret string, overlap time.Duration) (*Webhook, error) {
	body := map[string]any{"overlap_seconds": int64(overlap / time.Second)}
	if secret != "" {
		body["secret"] = secret
	}
	var w Webhook
	return &w, c.do(ctx, call{method: http.MethodPost, path: "/webhooks/" + url.PathEscape(id) + "/rotate", body: body}, &w)
}

// WebhookDeliveries returns an endpoint's latest delivery attempts, newest first.
func (c *Client) WebhookDeliveries(ctx context.Context, id string, limit int) ([]Delivery, error) {
	q := url.Values{}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var p Page[Delivery]
	return p.Data, c.do(ctx, call{method: http.MethodGet, path: "/webhooks/" + url.PathEscape(id) + "/deliveries", query: q, idempotent: true}, &p)
}

// ReplayWebhook delivers a tenant's events again from sequence number from on (tenantID
// may be "" for an endpoint of one tenant).
func (c *Client) ReplayWebhook(ctx context.Context, id, tenantID string, from int64) error {
	body := map[string]any{"from": from}
	if tenantID != "" {
		body["tenant_id"] = tenantID
	}
	return c.do(ctx, call{method: http.MethodPost, path: "/webhooks/" + url.PathEscape(id) + "/replay", body: body, idempotent: true}, nil)
}
