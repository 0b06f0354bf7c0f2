package service

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/scimd/scimd/internal/store"
)

// Usage remembers when credentials and API keys were last used and writes that to the
// store at most once per interval, off the request path: a write per SCIM request would
// cost more than the request itself.
type Usage struct {
	store    store.Store
	interval time.Duration
	log      *slog.Logger

	mu       sync.Mutex
	creds    map[string]store.Use
	keys     map[string]store.Use
	last     time.Time
	flushing bool
	wg       sync.WaitGroup
}

// NewUsage builds a Usage that writes to st at most once per interval.
func NewUsage(st store.Store, interval time.Duration, log *slog.Logger) *Usage {
	if log == nil {
		log = slog.Default()
	}
	return &Usage{store: st, interval: interval, log: log, creds: map[string]store.Use{}, keys: map[string]store.Use{}, last: time.Now()}
}

// Credential records a use of a SCIM credential by an identity provider (client "" when
// it was not recognised).
func (u *Usage) Credential(id, client string, at time.Time) {
	if u == nil {
		return
	}
	u.record(u.creds, store.Use{ID: id, At: at, Client: client})
}

// APIKey records a use of an API key.
func (u *Usage) APIKey(id string, at time.Time) {
	if u == nil {
		return
	}
	u.record(u.keys, store.Use{ID: id, At: at})
}

func (u *Usage) record(m map[string]store.Use, use store.Use) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if prev, ok := m[use.ID]; ok && use.Client == "" {
		use.Client = prev.Client
	}
	m[use.ID] = use
	if u.flushing || time.Since(u.last) < u.interval {
		return
	}
	u.flushing = true
	u.wg.Add(1)
	go func() {
		defer u.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := u.flush(ctx); err != nil {
			u.log.Warn("record credential use", "err", err)
		}
	}()
}

// Flush writes what is recorded now and waits for a write under way; the server calls it
// when it stops.
func (u *Usage) Flush(ctx context.Context) error {
	if u == nil {
		return nil
	}
	u.wg.Wait()
	u.mu.Lock()
	u.flushing = true
	u.mu.Unlock()
	return u.flush(ctx)
}

func (u *Usage) flush(ctx context.Context) error {
	u.mu.Lock()
	creds, keys := u.creds, u.keys
	u.creds, u.keys = map[string]store.Use{}, map[string]store.Use{}
	u.mu.Unlock()
	err := u.store.RecordUse(ctx, values(creds), values(keys))
	u.mu.Lock()
	u.flushing = false
	u.last = time.Now()
	u.mu.Unlock()
	return err
}

func values(m map[string]store.Use) []store.Use {
	out := make([]store.Use, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
