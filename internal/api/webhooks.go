package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/scimd/scimd/internal/service"
	"github.com/scimd/scimd/internal/store"
)

type webhookJSON struct {
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
	// Secret is given only when the endpoint is created or its secret rotated.
	Secret string `json:"secret,omitempty"`
}

func webhookOut(w store.WebhookEndpoint, withSecret bool) webhookJSON {
	out := webhookJSON{ID: w.ID, URL: w.URL, Types: w.Types, Format: w.Format, Created: w.Created,
		Disabled: w.Disabled != nil, DisabledAt: w.Disabled, FailingSince: w.FailingSince}
	if w.TenantID != "" {
		out.TenantID = &w.TenantID
	}
	if w.DisabledReason != "" {
		out.DisabledReason = &w.DisabledReason
	}
	if out.Types == nil {
		out.Types = []string{}
	}
	if withSecret {
		out.Secret = w.Secret
	}
	return out
}

type webhookBody struct {
	URL      string   `json:"url"`
	TenantID *string  `json:"tenant_id"`
	Secret   string   `json:"secret"`
	Types    []string `json:"types"`
	Format   string   `json:"format"`
}

// tenantFor is the tenant a request acts on: the one asked for, which a tenant's key
// may only name as its own, else the key's.
func tenantFor(key store.APIKey, asked *string) (string, error) {
	if asked == nil || *asked == "" {
		return key.TenantID, nil
	}
	if key.TenantID != "" && *asked != key.TenantID {
		return "", newProblem(http.StatusNotFound, "tenant_id", "tenant %q not found", *asked)
	}
	return *asked, nil
}

func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request, key store.APIKey) error {
	var in webhookBody
	if err := decodeBody(w, r, &in); err != nil {
		return err
	}
	tenant, err := tenantFor(key, in.TenantID)
	if err != nil {
		return err
	}
	ep, _, err := s.svc.AddWebhook(r.Context(), service.WebhookInput{TenantID: tenant, URL: in.URL, Secret: in.Secret, Types: in.Types, Format: in.Format})
	if err != nil {
		return err
	}
	w.Header().Set("Location", Prefix+"/webhooks/"+ep.ID)
	return writeJSON(w, http.StatusCreated, webhookOut(ep, true))
}

func (s *Server) listWebhooks(w http.ResponseWriter, r *http.Request, key store.APIKey) error {
	q, err := query(r, "tenant")
	if err != nil {
		return err
	}
	t := q.Get("tenant")
	tenant, err := tenantFor(key, &t)
	if err != nil {
		return err
	}
	if key.TenantID == "" && t == "" {
		tenant = ""
	}
	eps, err := s.svc.Webhooks(r.Context(), key.TenantID, tenant)
	if err != nil {
		return err
	}
	out := make([]webhookJSON, 0, len(eps))
	for _, ep := range eps {
		out = append(out, webhookOut(ep, false))
	}
	return writeJSON(w, http.StatusOK, newList(out, ""))
}

func (s *Server) getWebhook(w http.ResponseWriter, r *http.Request, key store.APIKey) error {
	if _, err := query(r); err != nil {
		return err
	}
	ep, err := s.svc.Webhook(r.Context(), key.TenantID, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, webhookOut(ep, false))
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request, key store.APIKey) error {
	if _, err := query(r); err != nil {
		return err
	}
	if err := s.svc.RemoveWebhook(r.Context(), key.TenantID, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) setWebhookDisabled(disabled bool) handler {
	return func(w http.ResponseWriter, r *http.Request, key store.APIKey) error {
		if _, err := query(r); err != nil {
			return err
		}
		if err := decodeBody(w, r, &struct{}{}); err != nil {
			return err
		}
		ep, err := s.svc.SetWebhookDisabled(r.Context(), key.TenantID, r.PathValue("id"), disabled)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, webhookOut(ep, false))
	}
}

func (s *Server) rotateWebhookSecret(w http.ResponseWriter, r *http.Request, key store.APIKey) error {
	var in struct {
		Secret         string `json:"secret"`
		OverlapSeconds *int64 `json:"overlap_seconds"`
	}
	if err := decodeBody(w, r, &in); err != nil {
		return err
	}
	overlap := 24 * time.Hour
	if in.OverlapSeconds != nil {
		overlap = time.Duration(*in.OverlapSeconds) * time.Second
	}
	ep, err := s.svc.RotateWebhookSecret(r.Context(), key.TenantID, r.PathValue("id"), in.Secret, overlap)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, webhookOut(ep, true))
}

type deliveryJSON struct {
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

func (s *Server) listDeliveries(w http.ResponseWriter, r *http.Request, key store.APIKey) error {
	q, err := query(r, "limit")
	if err != nil {
		return err
	}
	limit, err := limitParam(q)
	if err != nil {
		return err
	}
	ds, err := s.svc.WebhookDeliveries(r.Context(), key.TenantID, r.PathValue("id"), limit)
	if err != nil {
		return err
	}
	out := make([]deliveryJSON, 0, len(ds))
	for _, d := range ds {
		dj := deliveryJSON{EventID: d.EventID, TenantID: d.TenantID, Seq: d.Seq, Attempt: d.Attempt, At: d.At,
			LatencyMS: float64(d.Latency.Microseconds()) / 1000, Response: d.Response}
		if d.Status != 0 {
			dj.Status = &d.Status
		}
		if d.Error != "" {
			dj.Error = &d.Error
		}
		out = append(out, dj)
	}
	return writeJSON(w, http.StatusOK, newList(out, ""))
}

func (s *Server) replayWebhook(w http.ResponseWriter, r *http.Request, key store.APIKey) error {
	var in struct {
		TenantID *string `json:"tenant_id"`
		From     int64   `json:"from"`
	}
	if err := decodeBody(w, r, &in); err != nil {
		return err
	}
	tenant, err := tenantFor(key, in.TenantID)
	if err != nil {
		return err
	}
	if err := s.svc.ReplayWebhook(r.Context(), key.TenantID, r.PathValue("id"), tenant, in.From); err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, map[string]string{"replay_from": strconv.FormatInt(in.From, 10)})
}
