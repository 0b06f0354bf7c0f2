package service

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/scimd/scimd/internal/events"
	"github.com/scimd/scimd/internal/store"
)

// Limits of the event feed.
const (
	DefaultEventPage = 100
	MaxEventPage     = 1000
	// MaxEventWait is the longest a feed request waits for events: under the server's
	// default write timeout (60 s), with room for the answer.
	MaxEventWait = 30 * time.Second
	// eventPoll is how often a waiting reader looks for events other instances wrote
	// (this process's own writes wake it at once).
	eventPoll = 250 * time.Millisecond
)

// EventQuery selects a page of the event feed: one tenant's events, or with Tenant ""
// every tenant's. After is the cursor a previous page returned ("" or "0" for the
// oldest event kept).
type EventQuery struct {
	Tenant string
	After  string
	Types  []string
	Limit  int
	// Wait, when positive, holds the request until an event arrives or Wait has passed.
	Wait time.Duration
}

// EventPage is a page of the feed and the cursor to pass as After for the next page.
type EventPage struct {
	Events []events.Event
	Next   string
}

// Events reads a page of the event feed, waiting for events as q.Wait asks. A tenant's
// cursor is its event sequence number; the all-tenants cursor is a feed position.
func (s *Service) Events(ctx context.Context, q EventQuery) (EventPage, error) {
	limit, err := pageLimit(q.Limit, DefaultEventPage, MaxEventPage)
	if err != nil {
		return EventPage{}, err
	}
	var after int64
	if q.After != "" {
		if after, err = strconv.ParseInt(q.After, 10, 64); err != nil || after < 0 {
			return EventPage{}, invalid("after", "after must be a cursor this server returned (a non-negative integer)")
		}
	}
	for _, t := range q.Types {
		if !events.Known(t) {
			return EventPage{}, invalid("types", "unknown event type %q; the types are %s", t, strings.Join(events.Types, ", "))
		}
	}
	if q.Wait < 0 || q.Wait > MaxEventWait {
		return EventPage{}, invalid("wait", "wait must be between 0 and %d seconds", int(MaxEventWait/time.Second))
	}
	if q.Tenant != "" {
		if _, err := s.Tenant(ctx, q.Tenant); err != nil {
			return EventPage{}, err
		}
	}
	deadline := time.Now().Add(q.Wait)
	for {
		// Take the signal before reading: an event numbered after the read wakes us.
		numbered := s.store.EventsNumbered()
		page, err := s.store.Events(ctx, store.EventQuery{Tenant: q.Tenant, After: after, Types: q.Types, Limit: limit})
		if err != nil {
			return EventPage{}, err
		}
		wait := time.Until(deadline)
		if len(page.Events) > 0 || wait <= 0 {
			return EventPage{Events: page.Events, Next: strconv.FormatInt(page.Next, 10)}, nil
		}
		// Filtered-out events still move the cursor on.
		after = page.Next
		t := time.NewTimer(min(wait, eventPoll))
		select {
		case <-ctx.Done():
			t.Stop()
			return EventPage{}, ctx.Err()
		case <-numbered:
		case <-t.C:
		}
		t.Stop()
	}
}

// RunEvents keeps the outbox until ctx ends: it numbers committed events as soon as this
// process writes some (and at least every eventPoll, for other instances' writes), and
// deletes events older than retention (none when it is 0).
func (s *Service) RunEvents(ctx context.Context, retention time.Duration, log *slog.Logger) {
	const pruneEvery = time.Hour
	lastPrune := time.Time{}
	for {
		written := s.store.EventsWritten()
		n, err := s.store.SequenceEvents(ctx)
		if err != nil && ctx.Err() == nil {
			log.Error("number events", "err", err)
		}
		if retention > 0 && time.Since(lastPrune) >= pruneEvery {
			lastPrune = time.Now()
			if n, err := s.store.PruneEvents(ctx, s.now().Add(-retention)); err != nil && ctx.Err() == nil {
				log.Error("prune events", "err", err)
			} else if n > 0 {
				log.Info("pruned events", "count", n, "retention", retention)
			}
		}
		if n > 0 {
			// More may have been written meanwhile: look again, after a burst with a
			// pause that gathers the next writes into one numbering transaction.
			if n >= burst && !sleep(ctx, minSequenceInterval) {
				return
			}
			continue
		}
		t := time.NewTimer(eventPoll)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-written:
		case <-t.C:
		}
		t.Stop()
	}
}

// sleep waits for d or until ctx ends, and reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// After numbering burst events or more, the sequencer pauses minSequenceInterval.
const (
	burst               = 10
	minSequenceInterval = 5 * time.Millisecond
)
