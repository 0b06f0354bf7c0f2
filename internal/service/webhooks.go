package service

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/scimd/scimd/internal/events"
	"github.com/scimd/scimd/internal/store"
	"github.com/scimd/scimd/internal/webhook"
)

// Webhook formats.
const (
	FormatWebhook = "webhook" // Standard Webhooks: the event as JSON, HMAC-signed
	FormatSET     = "set"     // RFC 8935 push of RFC 9967 security event tokens
)

// WebhookInput is a new endpoint. TenantID "" is an endpoint for every tenant; Secret ""
// has one generated.
type WebhookInput struct {
	TenantID string
	URL      string
	Secret   string
	Types    []string
	Format   string
}

// maxURLLen bounds an endpoint's URL.
const maxURLLen = 2000

// checkWebhookURL refuses what cannot be a receiver: a scheme other than http(s), user
// information (a secret in a URL ends up in logs) and, unless private targets are
// allowed, an address that is not public. A name is checked again on every connection
// (webhook.NewClient), where it counts.
func (s *Service) checkWebhookURL(raw string) error {
	if len(raw) > maxURLLen {
		return invalid("url", "url is longer than %d bytes", maxURLLen)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Opaque != "" {
		return invalid("url", "url must be an absolute http or https URL")
	}
	if u.User != nil {
		return invalid("url", "url must not carry a user name or password")
	}
	if s.webhookAllowPrivate {
		return nil
	}
	host := u.Hostname()
	if addr, err := netip.ParseAddr(host); err == nil && !webhook.Public(addr) {
		return invalid("url", "url points at a loopback, private or link-local address (allowed only with serve --webhook-allow-private)")
	}
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return invalid("url", "url points at localhost (allowed only with serve --webhook-allow-private)")
	}
	return nil
}

func checkTypes(types []string) error {
	for _, t := range types {
		if !events.Known(t) {
			return invalid("types", "unknown event type %q; the types are %s", t, strings.Join(events.Types, ", "))
		}
	}
	return nil
}

// AddWebhook adds an endpoint. It returns the endpoint with its secret; generated says
// whether the secret was made here (then the caller shows it once).
func (s *Service) AddWebhook(ctx context.Context, in WebhookInput) (ep store.WebhookEndpoint, generated bool, err error) {
	if err := s.checkWebhookURL(in.URL); err != nil {
		return ep, false, err
	}
	if err := checkTypes(in.Types); err != nil {
		return ep, false, err
	}
	switch in.Format {
	case "":
		in.Format = FormatWebhook
	case FormatWebhook:
	case FormatSET:
		if !s.securityEvents {
			return ep, false, invalid("format", "security event tokens are not enabled on this server (serve --security-events)")
		}
	default:
		return ep, false, invalid("format", "format must be %q or %q", FormatWebhook, FormatSET)
	}
	if in.Secret == "" {
		in.Secret, generated = webhook.NewSecret(), true
	} else if _, err := webhook.ParseSecret(in.Secret); err != nil {
		return ep, false, invalid("secret", "%v", err)
	}
	if in.TenantID != "" {
		if _, err := s.Tenant(ctx, in.TenantID); err != nil {
			return ep, false, err
		}
	}
	ep = store.WebhookEndpoint{
		ID: "wh_" + store.NewID(), TenantID: in.TenantID, URL: in.URL, Secret: in.Secret,
		Types: slices.Compact(slices.Sorted(slices.Values(in.Types))), Format: in.Format, Created: s.now(),
	}
	if err := s.store.CreateWebhook(ctx, ep); err != nil {
		return ep, false, err
	}
	return ep, generated, nil
}

// Webhooks lists the endpoints a caller limited to tenant only ("" for all tenants) may
// see: a tenant's own endpoints, or every endpoint. With tenantID set, those that receive
// that tenant's events.
func (s *Service) Webhooks(ctx context.Context, only, tenantID string) ([]store.WebhookEndpoint, error) {
	if only != "" {
		tenantID = only
	}
	if tenantID != "" {
		if _, err := s.Tenant(ctx, tenantID); err != nil {
			return nil, err
		}
	}
	all, err := s.store.Webhooks(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, w := range all {
		if only == "" || w.TenantID == only {
			out = append(out, w)
		}
	}
	return out, nil
}

// Webhook returns an endpoint a caller limited to tenant only may see.
func (s *Service) Webhook(ctx context.Context, only, id string) (store.WebhookEndpoint, error) {
	w, err := s.store.Webhook(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && only != "" && w.TenantID != only) {
		return w, notFound("webhook %q not found", id)
	}
	return w, err
}

// RemoveWebhook deletes an endpoint with its delivery state and log.
func (s *Service) RemoveWebhook(ctx context.Context, only, id string) error {
	if _, err := s.Webhook(ctx, only, id); err != nil {
		return err
	}
	return storeError(s.store.DeleteWebhook(ctx, id), fmt.Sprintf("webhook %q", id))
}

// SetWebhookDisabled disables an endpoint, or enables it again (deliveries resume where
// they stopped, retries at once).
func (s *Service) SetWebhookDisabled(ctx context.Context, only, id string, disabled bool) (store.WebhookEndpoint, error) {
	if _, err := s.Webhook(ctx, only, id); err != nil {
		return store.WebhookEndpoint{}, err
	}
	now := s.now()
	w, err := s.store.UpdateWebhook(ctx, id, func(w *store.WebhookEndpoint) error {
		switch {
		case disabled && w.Disabled == nil:
			w.Disabled, w.DisabledReason = &now, "disabled by an operator"
		case !disabled:
			w.Disabled, w.DisabledReason = nil, ""
		}
		return nil
	})
	return w, storeError(err, fmt.Sprintf("webhook %q", id))
}

// RotateWebhookSecret gives an endpoint a new secret (generated when secret is ""); the
// old one also signs every delivery for overlap, so that receivers can switch.
func (s *Service) RotateWebhookSecret(ctx context.Context, only, id, secret string, overlap time.Duration) (store.WebhookEndpoint, error) {
	if _, err := s.Webhook(ctx, only, id); err != nil {
		return store.WebhookEndpoint{}, err
	}
	if secret == "" {
		secret = webhook.NewSecret()
	} else if _, err := webhook.ParseSecret(secret); err != nil {
		return store.WebhookEndpoint{}, invalid("secret", "%v", err)
	}
	if overlap < 0 || overlap > 30*24*time.Hour {
		return store.WebhookEndpoint{}, invalid("overlap", "overlap must be between 0 and 30 days")
	}
	expires := s.now().Add(overlap)
	w, err := s.store.UpdateWebhook(ctx, id, func(w *store.WebhookEndpoint) error {
		w.PreviousSecret, w.PreviousExpires, w.Secret = w.Secret, &expires, secret
		return nil
	})
	return w, storeError(err, fmt.Sprintf("webhook %q", id))
}

// WebhookDeliveries returns an endpoint's latest delivery attempts, newest first.
func (s *Service) WebhookDeliveries(ctx context.Context, only, id string, limit int) ([]store.Delivery, error) {
	limit, err := pageLimit(limit, DefaultPageSize, MaxPageSize)
	if err != nil {
		return nil, err
	}
	if _, err := s.Webhook(ctx, only, id); err != nil {
		return nil, err
	}
	return s.store.WebhookDeliveries(ctx, id, limit)
}

// WebhookBacklog counts the events of tenantID (every tenant's when "") that the endpoint
// has yet to deliver, from its delivery positions: the events of a tenant it has not
// started delivering to are not counted.
func (s *Service) WebhookBacklog(ctx context.Context, only, id, tenantID string) (int64, error) {
	w, err := s.Webhook(ctx, only, id)
	if err != nil {
		return 0, err
	}
	if w.TenantID != "" {
		tenantID = w.TenantID
	}
	return s.store.WebhookBacklog(ctx, id, tenantID)
}

// SecurityEventsEnabled reports whether endpoints of format "set" may be added.
func (s *Service) SecurityEventsEnabled() bool { return s.securityEvents }

// ReplayWebhook delivers a tenant's events to the endpoint again, from event number
// fromSeq on, in order (an endpoint of one tenant needs no tenant).
func (s *Service) ReplayWebhook(ctx context.Context, only, id, tenantID string, fromSeq int64) error {
	w, err := s.Webhook(ctx, only, id)
	if err != nil {
		return err
	}
	if tenantID == "" {
		tenantID = w.TenantID
	}
	if tenantID == "" {
		return invalid("tenant", "name the tenant whose events to replay: this endpoint receives every tenant's")
	}
	if w.TenantID != "" && tenantID != w.TenantID {
		return invalid("tenant", "this endpoint receives tenant %s's events only", w.TenantID)
	}
	if fromSeq < 1 {
		return invalid("from", "from must be an event sequence number (1 or more)")
	}
	if _, err := s.Tenant(ctx, tenantID); err != nil {
		return err
	}
	return storeError(s.store.ReplayWebhook(ctx, id, tenantID, fromSeq), fmt.Sprintf("webhook %q", id))
}
