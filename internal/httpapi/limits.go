package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync"

	"github.com/scimd/scimd/internal/scim"
	"github.com/scimd/scimd/internal/store"
)

// byteBudget is a weighted semaphore, first come first served: it bounds the bytes of
// request bodies being decoded and handled at once. A decoded body costs up to about 30
// times its size (a body of tiny JSON objects is mostly map headers), so the number of
// requests at the body limit handled at once, not the limit alone, decides peak memory.
type byteBudget struct {
	mu      sync.Mutex
	avail   int64
	waiters []*budgetWaiter
}

type budgetWaiter struct {
	n     int64
	ready chan struct{}
}

func newByteBudget(n int64) *byteBudget { return &byteBudget{avail: n} }

// acquire takes n bytes of the budget, waiting (in arrival order) until they are free or
// ctx ends.
func (b *byteBudget) acquire(ctx context.Context, n int64) error {
	b.mu.Lock()
	if len(b.waiters) == 0 && b.avail >= n {
		b.avail -= n
		b.mu.Unlock()
		return nil
	}
	w := &budgetWaiter{n: n, ready: make(chan struct{})}
	b.waiters = append(b.waiters, w)
	b.mu.Unlock()
	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
		b.mu.Lock()
		select {
		case <-w.ready: // granted meanwhile: give it back
			b.mu.Unlock()
			b.release(n)
			return ctx.Err()
		default:
		}
		for i, x := range b.waiters {
			if x == w {
				b.waiters = append(b.waiters[:i], b.waiters[i+1:]...)
				break
			}
		}
		b.grant() // the next waiters may have been held back behind this one
		b.mu.Unlock()
		return ctx.Err()
	}
}

func (b *byteBudget) release(n int64) {
	b.mu.Lock()
	b.avail += n
	b.grant()
	b.mu.Unlock()
}

// grant wakes the waiters at the head of the queue whose bytes are free; b.mu is held.
func (b *byteBudget) grant() {
	for len(b.waiters) > 0 && b.avail >= b.waiters[0].n {
		w := b.waiters[0]
		b.avail -= w.n
		b.waiters = b.waiters[1:]
		close(w.ready)
	}
}

// bodyHold records the budget a request holds, released when its handler returns; a bulk
// operation's body is part of its request's and takes nothing more.
type bodyHold struct{ n int64 }

type bodyHoldKey struct{}

// holdBody takes the budget for a body of n bytes (capped at the whole budget, so that
// one body at the limit passes when nothing else is in flight) for the rest of the
// request.
func (s *Server) holdBody(r *http.Request, n int64) error {
	h, _ := r.Context().Value(bodyHoldKey{}).(*bodyHold)
	if h == nil || h.n > 0 || s.bodies == nil {
		return nil
	}
	n = min(max(n, 1), s.opts.MaxBodyBytesInFlight)
	if err := s.bodies.acquire(r.Context(), n); err != nil {
		return err
	}
	h.n = n
	return nil
}

// limited enforces MaxInFlight: a request over it is 503 with Retry-After, which identity
// providers honour (Okta and Entra retry later). It also releases the body budget a
// request held once its handler is done.
func (s *Server) limited(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.inFlight != nil {
			select {
			case s.inFlight <- struct{}{}:
				defer func() { <-s.inFlight }()
			default:
				s.overloaded.Add(1)
				w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds))
				s.renderError(w, r, scim.Status(http.StatusServiceUnavailable, "the server is handling %d requests, its limit: retry after %d s", s.opts.MaxInFlight, retryAfterSeconds))
				return
			}
		}
		h := &bodyHold{}
		defer func() {
			if h.n > 0 {
				s.bodies.release(h.n)
			}
		}()
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), bodyHoldKey{}, h)))
	})
}

// retryAfterSeconds is the Retry-After of a 503 for MaxInFlight.
const retryAfterSeconds = 1

// Overloaded is how many requests were refused with 503 for MaxInFlight.
func (s *Server) Overloaded() int64 { return s.overloaded.Load() }

// tenantSlots bounds each tenant's concurrent expensive reads: a tenant's sorted lists
// (sorting may read every one of its resources) wait for one of its slots, so that they
// cannot take every database connection and every core from the other tenants.
type tenantSlots struct {
	mu    sync.Mutex
	n     int
	slots map[string]chan struct{}
}

func (t *tenantSlots) acquire(ctx context.Context, tenantID string) (func(), error) {
	t.mu.Lock()
	ch := t.slots[tenantID]
	if ch == nil {
		ch = make(chan struct{}, t.n)
		t.slots[tenantID] = ch
	}
	t.mu.Unlock()
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// boundedRead runs a list's read: under the query time limit (a query over it is 400
// tooMany, RFC 7644 §3.12: "The specified filter yields many more results than the server
// is willing to calculate or process"), and, when it sorts, in one of the tenant's slots
// for expensive reads.
func (s *Server) boundedRead(r *http.Request, q store.ListQuery, read func(ctx context.Context) error) error {
	ctx := r.Context()
	if q.SortBy != nil && s.expensive != nil {
		release, err := s.expensive.acquire(ctx, tenantOf(ctx))
		if err != nil {
			return err
		}
		defer release()
	}
	if s.opts.QueryTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.opts.QueryTimeout)
		defer cancel()
	}
	err := read(ctx)
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) && r.Context().Err() == nil {
		return scim.BadRequest(scim.ErrTooMany, "the query did not finish within the server's query time limit (%s): narrow the filter, or sort by an indexed attribute (userName, displayName, externalId, meta.created)", s.opts.QueryTimeout)
	}
	return err
}
