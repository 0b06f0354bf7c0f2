package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/scimd/scimd/internal/events"
	"github.com/scimd/scimd/internal/store"
)

// Options configure a Worker.
type Options struct {
	// Owner names this instance in the leases it takes (unique per running process).
	Owner string
	// Client sends deliveries (NewClient's when nil).
	Client *http.Client
	// Lease is how long a cursor is held without a report (30 s when 0): another
	// instance takes it over after a crash once it has run out.
	Lease time.Duration
	// MinBackoff and MaxBackoff bound the wait before a retry (1 s and 1 h when 0); it
	// doubles with each failure, with jitter.
	MinBackoff, MaxBackoff time.Duration
	// DisableAfter disables an endpoint whose deliveries have failed this long (3 days
	// when 0).
	DisableAfter time.Duration
	// Concurrency is how many endpoint-tenant pairs are delivered to at once (16 when 0).
	Concurrency int
	// Poll is how often the outbox is looked at besides when this process writes events
	// (250 ms when 0): other instances' events and retries that came due.
	Poll time.Duration
	// SET signs deliveries to endpoints of format "set" (nil: such endpoints fail).
	SET    *SETSigner
	Logger *slog.Logger
}

// Worker delivers events to webhook endpoints.
type Worker struct {
	st   store.Store
	opts Options
}

// NewWorker builds a Worker over st.
func NewWorker(st store.Store, opts Options) *Worker {
	if opts.Client == nil {
		opts.Client = NewClient(ClientOptions{})
	}
	if opts.Lease <= 0 {
		opts.Lease = 30 * time.Second
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = time.Second
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = time.Hour
	}
	if opts.DisableAfter <= 0 {
		opts.DisableAfter = 72 * time.Hour
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 16
	}
	if opts.Poll <= 0 {
		opts.Poll = 250 * time.Millisecond
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Owner == "" {
		opts.Owner = store.NewID()
	}
	return &Worker{st: st, opts: opts}
}

// Run delivers until ctx ends, then waits for the deliveries under way.
func (w *Worker) Run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	slots := make(chan struct{}, w.opts.Concurrency)
	for {
		numbered := w.st.EventsNumbered()
		free := w.opts.Concurrency - len(slots)
		var claimed []store.WebhookCursor
		if free > 0 {
			var err error
			claimed, err = w.st.ClaimWebhookCursors(ctx, w.opts.Owner, w.opts.Lease, free)
			if err != nil && ctx.Err() == nil {
				w.opts.Logger.Error("claim webhook deliveries", "err", err)
			}
		}
		for _, c := range claimed {
			slots <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-slots; wg.Done() }()
				w.deliverCursor(ctx, c)
			}()
		}
		t := time.NewTimer(w.opts.Poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-numbered:
			// Events are numbered up to hundreds of times a second: gather them rather
			// than look for work after each numbering (a look is a query the identity
			// provider's requests would wait behind).
			select {
			case <-ctx.Done():
			case <-time.After(minClaimInterval):
			}
		case <-t.C:
		}
		t.Stop()
	}
}

// minClaimInterval is the shortest time between two looks for work woken by numbering:
// the first events of a cursor no deliverer holds wait at most that long (a deliverer
// that holds one is woken by each numbering itself).
const minClaimInterval = 25 * time.Millisecond

// Progress is recorded in batches: after flushEvery deliveries or flushAfter, and at
// once on a failure, when caught up with no new event for the rest of flushAfter, and
// when stopping. A crash repeats at most that many deliveries (with the same
// webhook-id), and the delivery rate is not bound by the rate of commits (a commit per
// delivery held SQLite to about 250 a second; a commit per page, that is per numbering of
// events, was most of what a webhook cost PostgreSQL under a stream of writes).
const (
	flushEvery = 50
	flushAfter = 100 * time.Millisecond
)

// deliverCursor delivers a tenant's events after the cursor to its endpoint, one at a
// time and in order, until none is left or one fails.
func (w *Worker) deliverCursor(ctx context.Context, c store.WebhookCursor) {
	ep, err := w.st.Webhook(ctx, c.EndpointID)
	if err != nil {
		w.release(c)
		return
	}
	var pending []store.Delivery
	lastFlush, recorded := time.Now(), c.LastSeq
	var idleUntil time.Time // while caught up, how long to wait for more events
	// caughtUp: the last page was not full and nothing was numbered since it was read, so
	// a read now would find nothing (numbers are committed in order).
	var caughtUp bool
	var numbered <-chan struct{}
	// flush records what was delivered and skipped so far, and o's failure or release.
	flush := func(o store.DeliveryOutcome) bool {
		o.Deliveries, o.Lease, o.AdvanceTo = pending, w.opts.Lease, c.LastSeq
		pending, lastFlush, recorded = nil, time.Now(), c.LastSeq
		if err := w.st.RecordDelivery(context.WithoutCancel(ctx), w.opts.Owner, c, o); err != nil {
			if !errors.Is(err, store.ErrLeaseLost) {
				w.opts.Logger.Error("record webhook delivery", "endpoint", ep.ID, "err", err)
			}
			return false
		}
		return true
	}
	for {
		if ctx.Err() != nil {
			flush(store.DeliveryOutcome{Release: true})
			return
		}
		var page store.EventPage
		var err error
		if !caughtUp {
			numbered = w.st.EventsNumbered()
			page, err = w.st.Events(ctx, store.EventQuery{Tenant: c.TenantID, After: c.LastSeq, Limit: pageSize})
		}
		caughtUp = false
		if err == nil && len(page.Events) == 0 && c.LastSeq != recorded {
			// Caught up with progress not recorded: wait for the next events until
			// flushAfter since the last record, then record it.
			if wait := flushAfter - time.Since(lastFlush); wait > 0 && waitSignal(ctx, numbered, wait) {
				continue
			}
			if !flush(store.DeliveryOutcome{}) {
				return
			}
		}
		if err == nil && len(page.Events) == 0 {
			// Caught up: keep the lease a moment for the next events rather than give it
			// up and claim it again (two writes per burst of changes, in the same writer
			// as the identity provider's requests). Only the numbering wakes this: a
			// commit's events are not readable before.
			if idleUntil.IsZero() {
				idleUntil = time.Now().Add(min(w.opts.Lease/3, time.Second))
			}
			if wait := time.Until(idleUntil); wait > 0 {
				waitSignal(ctx, numbered, wait)
				continue
			}
		}
		if err != nil || len(page.Events) == 0 {
			flush(store.DeliveryOutcome{Release: true})
			return
		}
		// The endpoint may have changed since the last page (a rotated secret, disabled,
		// removed): read it again, once per page.
		if ep, err = w.st.Webhook(ctx, c.EndpointID); err != nil || ep.Disabled != nil {
			flush(store.DeliveryOutcome{Release: true})
			return
		}
		idleUntil = time.Time{}
		for _, e := range page.Events {
			if len(ep.Types) > 0 && !slices.Contains(ep.Types, e.Type) {
				c.LastSeq = e.Seq // skipped
				continue
			}
			// A delivery under way finishes even when the worker is stopping (it is bounded
			// by the client's timeout): cut short, the receiver might have taken it and
			// would get it again from another instance.
			d, ok := w.deliver(context.WithoutCancel(ctx), ep, e, c.Attempts+1)
			pending = append(pending, d)
			if !ok {
				flush(store.DeliveryOutcome{RetryAt: time.Now().Add(w.backoff(c.Attempts)), Attempts: c.Attempts + 1,
					DisableAfter: w.opts.DisableAfter, Release: true})
				return
			}
			c.LastSeq, c.Attempts = e.Seq, 0
			if ctx.Err() != nil {
				flush(store.DeliveryOutcome{Release: true}) // stopping: the lease is given up for another instance
				return
			}
			if len(pending) >= flushEvery || time.Since(lastFlush) >= flushAfter {
				if !flush(store.DeliveryOutcome{}) {
					return
				}
			}
		}
		if len(page.Events) < pageSize {
			select {
			case <-numbered:
			default:
				caughtUp = true
			}
		}
	}
}

// pageSize is how many events a deliverer reads at once.
const pageSize = 100

// waitSignal waits until ch is closed (true), d has passed or ctx ends (false).
func waitSignal(ctx context.Context, ch <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ch:
		return true
	case <-t.C:
	case <-ctx.Done():
	}
	return false
}

func (w *Worker) release(c store.WebhookCursor) {
	o := store.DeliveryOutcome{Release: true, AdvanceTo: c.LastSeq}
	if err := w.st.RecordDelivery(context.Background(), w.opts.Owner, c, o); err != nil && !errors.Is(err, store.ErrLeaseLost) {
		w.opts.Logger.Error("release webhook cursor", "endpoint", c.EndpointID, "err", err)
	}
}

// backoff is the wait after the given number of earlier failures: doubling from
// MinBackoff up to MaxBackoff, then between half and all of it at random, so that many
// endpoints that failed together do not retry together.
func (w *Worker) backoff(failures int) time.Duration {
	d := w.opts.MinBackoff
	for i := 0; i < failures && d < w.opts.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, w.opts.MaxBackoff)
	return d/2 + rand.N(d/2+1)
}

// Body is what a webhook delivery carries: the event as the feed gives it.
func Body(e events.Event) ([]byte, error) {
	return json.Marshal(e)
}

// deliver sends one event and reports the attempt; ok is a 2xx answer.
func (w *Worker) deliver(ctx context.Context, ep store.WebhookEndpoint, e events.Event, attempt int) (store.Delivery, bool) {
	d := store.Delivery{EndpointID: ep.ID, TenantID: e.Tenant, EventID: e.ID, Seq: e.Seq, Attempt: attempt, At: time.Now().UTC()}
	req, err := w.request(ctx, ep, e)
	if err != nil {
		d.Error = err.Error()
		return d, false
	}
	start := time.Now()
	resp, err := w.opts.Client.Do(req)
	d.Latency = time.Since(start)
	if err != nil {
		d.Error = err.Error()
		return d, false
	}
	d.Response = readCapped(resp.Body)
	resp.Body.Close()
	d.Latency = time.Since(start)
	d.Status = resp.StatusCode
	return d, resp.StatusCode >= 200 && resp.StatusCode < 300
}

func (w *Worker) request(ctx context.Context, ep store.WebhookEndpoint, e events.Event) (*http.Request, error) {
	if ep.Format == "set" {
		if w.opts.SET == nil {
			return nil, errors.New("security event tokens are not configured")
		}
		token, err := w.opts.SET.Sign(e, ep.URL)
		if err != nil {
			return nil, fmt.Errorf("sign security event token: %w", err)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader(token))
		if err != nil {
			return nil, err
		}
		// RFC 8935 §2: the SET is the body, of type application/secevent+jwt.
		req.Header.Set("Content-Type", "application/secevent+jwt")
		req.Header.Set("Accept", "application/json")
		return req, nil
	}
	body, err := Body(e)
	if err != nil {
		return nil, err
	}
	keys, err := signingKeys(ep, time.Now())
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "scimd-webhooks")
	// The event's id is the message id: a retry carries the same one, so a receiver can
	// tell a duplicate.
	for k, v := range Headers(keys, e.ID, time.Now(), body) {
		req.Header.Set(k, v)
	}
	return req, nil
}

// signingKeys are the endpoint's secret's key and, while a rotation's overlap lasts, the
// previous one's.
func signingKeys(ep store.WebhookEndpoint, now time.Time) ([][]byte, error) {
	key, err := ParseSecret(ep.Secret)
	if err != nil {
		return nil, err
	}
	keys := [][]byte{key}
	if ep.PreviousSecret != "" && ep.PreviousExpires != nil && now.Before(*ep.PreviousExpires) {
		if prev, err := ParseSecret(ep.PreviousSecret); err == nil {
			keys = append(keys, prev)
		}
	}
	return keys, nil
}
