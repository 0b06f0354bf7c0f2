package sdk

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Event is one change of a tenant's directory (see docs/events.md for every type).
type Event struct {
	ID       string `json:"id"`
	TenantID string `json:"tenant_id"`
	// Seq is the event's number in its tenant's sequence: strictly increasing, no gaps.
	Seq  int64     `json:"seq"`
	Type string    `json:"type"`
	Time time.Time `json:"time"`
	Data EventData `json:"data"`
	// Cursor resumes the feed right after this event: keep it once the event is handled.
	Cursor string `json:"cursor"`
}

// EventData is what an event carries. Resource is the SCIM user or group after the change
// (before it, for a deletion).
type EventData struct {
	Resource map[string]any `json:"resource"`
	Changed  []string       `json:"changed,omitempty"`
	// Op is "put" or "patch": the SCIM operation of a user.updated or group.updated.
	Op          string     `json:"op,omitempty"`
	User        *EventUser `json:"user,omitempty"`
	RolesBefore []string   `json:"roles_before,omitempty"`
	RolesAfter  []string   `json:"roles_after,omitempty"`
}

// EventUser names the user of group.member_added and group.member_removed.
type EventUser struct {
	ID      string `json:"id"`
	Display string `json:"display,omitempty"`
}

// EventPage is a page of the feed; Next is the cursor to pass as After for the next one.
type EventPage struct {
	Data []Event `json:"data"`
	Next string  `json:"next"`
}

// EventOptions select events. After is a cursor (an event's Cursor or a page's Next; ""
// for the oldest event kept). Tenant, with a key for all tenants, reads one tenant's
// events; a tenant's key always reads its own. Wait, when positive, holds a request that
// finds nothing until an event arrives (at most 30 s).
type EventOptions struct {
	After  string
	Limit  int
	Types  []string
	Tenant string
	Wait   time.Duration
}

// ListEvents returns one page of the event feed.
func (c *Client) ListEvents(ctx context.Context, opts EventOptions) (*EventPage, error) {
	q := url.Values{}
	setIf(q, "after", opts.After)
	setIf(q, "tenant", opts.Tenant)
	setIf(q, "types", strings.Join(opts.Types, ","))
	if opts.Limit > 0 {
		q.Set("limit", strconv.Itoa(opts.Limit))
	}
	if opts.Wait > 0 {
		q.Set("wait", strconv.Itoa(int(opts.Wait/time.Second)))
	}
	var p EventPage
	return &p, c.do(ctx, call{method: http.MethodGet, path: "/events", query: q, idempotent: true}, &p)
}

// DefaultFollowWait is how long each request of Follow waits for new events.
const DefaultFollowWait = 25 * time.Second

// Follow iterates over the feed from opts.After for as long as ctx lasts, waiting for new
// events as they happen (opts.Wait per request, DefaultFollowWait when 0). Persist each
// event's Cursor once it is handled and pass it as After when starting again: no event is
// lost, and one is seen twice only if it was handled but its cursor not yet kept. The
// iteration ends at the first error, which it yields (ctx's when ctx ends).
func (c *Client) Follow(ctx context.Context, opts EventOptions) iter.Seq2[Event, error] {
	if opts.Wait <= 0 {
		opts.Wait = DefaultFollowWait
	}
	return func(yield func(Event, error) bool) {
		for {
			p, err := c.ListEvents(ctx, opts)
			if err != nil {
				if ctx.Err() != nil {
					err = ctx.Err()
				}
				yield(Event{}, err)
				return
			}
			for _, e := range p.Data {
				if !yield(e, nil) {
					return
				}
			}
			if p.Next != "" {
				opts.After = p.Next
			}
		}
	}
}
