package service

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/scimd/scimd/internal/store"
)

// ActivityEntry is one SCIM request of a tenant's activity log as the faces show it. The
// bodies are present only when one entry is read.
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

func activityEntry(e store.ActivityEntry, withBodies bool) ActivityEntry {
	out := ActivityEntry{
		ID: strconv.FormatInt(e.Seq, 10), Time: e.At, RequestID: e.RequestID, CredentialID: e.CredentialID,
		Client: e.Client, Method: e.Method, Path: e.Path, Status: e.Status,
		LatencyMS: float64(e.Latency.Microseconds()) / 1000, ScimType: e.ScimType, Detail: e.Detail,
		ResourceType: e.ResourceType, ResourceID: e.ResourceID,
	}
	if withBodies {
		out.RequestBody, out.ResponseBody = &e.RequestBody, &e.ResponseBody
	}
	return out
}

// ActivityQuery selects a page of a tenant's activity log, newest first.
type ActivityQuery struct {
	Since *time.Time
	// Status is a class ("4xx") or one status ("409").
	Status string
	// ResourceID is a user's or group's id: the requests that touched it.
	ResourceID string
	// Client is an identity provider ("okta", "entra", ..., "other").
	Client string
	Cursor string
	// After, when set, is the id of an entry: the page holds the entries after it, oldest
	// first (for following the log as it grows).
	After string
	Limit int
}

// ActivityPage is a page of a tenant's activity log and the cursor of the next one.
type ActivityPage struct {
	Entries []ActivityEntry
	Next    string
}

// StatusRange reads a status filter: a class ("2xx".."5xx") or one status ("409").
func StatusRange(s string) (lo, hi int, err error) {
	if s == "" {
		return 0, 0, nil
	}
	if len(s) == 3 && strings.HasSuffix(strings.ToLower(s), "xx") && s[0] >= '1' && s[0] <= '5' {
		lo = int(s[0]-'0') * 100
		return lo, lo + 99, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 100 || n > 599 {
		return 0, 0, invalid("status", "status must be a class such as 4xx or a status such as 409, got %q", s)
	}
	return n, n, nil
}

func entryID(field, s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 1 {
		return 0, invalid(field, "%s is not an activity entry id this server returned", field)
	}
	return n, nil
}

// Activity returns a page of a tenant's activity log.
func (s *Service) Activity(ctx context.Context, tenantID string, q ActivityQuery) (ActivityPage, error) {
	limit, err := pageLimit(q.Limit, DefaultPageSize, MaxPageSize)
	if err != nil {
		return ActivityPage{}, err
	}
	if _, err := s.Tenant(ctx, tenantID); err != nil {
		return ActivityPage{}, err
	}
	sq := store.ActivityQuery{ResourceID: q.ResourceID, Client: q.Client, Limit: limit}
	if q.Since != nil {
		sq.Since = *q.Since
	}
	if sq.StatusMin, sq.StatusMax, err = StatusRange(q.Status); err != nil {
		return ActivityPage{}, err
	}
	if q.Cursor != "" && q.After != "" {
		return ActivityPage{}, invalid("after", "cursor pages back in time and after forward: give one of them")
	}
	if q.Cursor != "" {
		c, err := decodeCursor(q.Cursor)
		if err != nil {
			return ActivityPage{}, err
		}
		if sq.Before, err = entryID("cursor", c); err != nil {
			return ActivityPage{}, err
		}
	}
	if q.After != "" {
		if sq.After, err = entryID("after", q.After); err != nil {
			return ActivityPage{}, err
		}
	}
	entries, err := s.store.ListActivity(ctx, tenantID, sq)
	if err != nil {
		return ActivityPage{}, fmt.Errorf("list activity of tenant %s: %w", tenantID, err)
	}
	page := ActivityPage{Entries: make([]ActivityEntry, len(entries))}
	for i, e := range entries {
		page.Entries[i] = activityEntry(e, false)
	}
	if len(entries) == limit && sq.After == 0 {
		page.Next = encodeCursor(strconv.FormatInt(entries[len(entries)-1].Seq, 10))
	}
	return page, nil
}

// ActivityEntry returns one entry of a tenant's activity log with its redacted bodies.
func (s *Service) ActivityEntry(ctx context.Context, tenantID, id string) (ActivityEntry, error) {
	if _, err := s.Tenant(ctx, tenantID); err != nil {
		return ActivityEntry{}, err
	}
	seq, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return ActivityEntry{}, notFound("activity entry %q not found", id)
	}
	e, err := s.store.ActivityEntry(ctx, tenantID, seq)
	if errors.Is(err, store.ErrNotFound) {
		return ActivityEntry{}, notFound("activity entry %q not found", id)
	}
	if err != nil {
		return ActivityEntry{}, fmt.Errorf("read activity entry %s: %w", id, err)
	}
	return activityEntry(e, true), nil
}

// HealthWindow is the period a connection's error rate is taken over.
const HealthWindow = time.Hour

// ConnectionHealth is how a tenant's identity provider is doing, from its activity log.
type ConnectionHealth struct {
	// LastRequest is when the tenant's last SCIM request came (nil: none yet), and
	// Client which identity provider sent it.
	LastRequest *time.Time
	Client      string
	// Requests and Errors count the requests of the last HealthWindow and those that
	// failed (400 and above).
	Requests, Errors int
	LastError        *ActivityEntry
}

// ErrorRate is the share of the last HealthWindow's requests that failed (0 without any).
func (h ConnectionHealth) ErrorRate() float64 {
	if h.Requests == 0 {
		return 0
	}
	return float64(h.Errors) / float64(h.Requests)
}

// ConnectionHealth reads a tenant's connection health.
func (s *Service) ConnectionHealth(ctx context.Context, tenantID string) (ConnectionHealth, error) {
	st, err := s.store.ActivityStats(ctx, tenantID, s.now().Add(-HealthWindow))
	if err != nil {
		return ConnectionHealth{}, fmt.Errorf("connection health of tenant %s: %w", tenantID, err)
	}
	h := ConnectionHealth{LastRequest: st.LastAt, Client: st.LastClient, Requests: st.Requests, Errors: st.Errors}
	if st.LastError != nil {
		e := activityEntry(*st.LastError, false)
		h.LastError = &e
	}
	return h, nil
}
