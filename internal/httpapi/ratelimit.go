package httpapi

import (
	"math"
	"net"
	"net/http"
	"sync"
	"time"
)

// buckets are token buckets by key (a credential, a tenant, a client address): each key
// gets rate tokens a second up to burst, and a request takes one. Idle keys are dropped
// when the map grows, so an attacker cycling keys grows nothing without bound.
type buckets struct {
	rate  float64
	burst float64
	mu    sync.Mutex
	m     map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// maxBuckets bounds each limiter's memory; past it, full (idle) buckets are dropped.
const maxBuckets = 50000

func newBuckets(rate float64, burst int) *buckets {
	if rate <= 0 {
		return nil
	}
	if burst < 1 {
		burst = int(math.Ceil(rate))
	}
	return &buckets{rate: rate, burst: float64(burst), m: map[string]*bucket{}}
}

// take takes a token for key, or reports how long until one is there.
func (b *buckets) take(key string, now time.Time) (ok bool, wait time.Duration) {
	if b == nil {
		return true, 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	k, found := b.m[key]
	if !found {
		if len(b.m) >= maxBuckets {
			b.prune(now)
		}
		k = &bucket{tokens: b.burst, last: now}
		b.m[key] = k
	}
	k.tokens = math.Min(b.burst, k.tokens+now.Sub(k.last).Seconds()*b.rate)
	k.last = now
	if k.tokens >= 1 {
		k.tokens--
		return true, 0
	}
	return false, time.Duration((1 - k.tokens) / b.rate * float64(time.Second))
}

func (b *buckets) prune(now time.Time) {
	for key, k := range b.m {
		if k.tokens+now.Sub(k.last).Seconds()*b.rate >= b.burst {
			delete(b.m, key)
		}
	}
	if len(b.m) >= maxBuckets {
		b.m = map[string]*bucket{} // all busy: start over rather than grow
	}
}

// retryAfter is the integer seconds of a Retry-After header for wait (at least 1): Okta
// and Entra ID honour integer seconds (an HTTP date makes Okta wait five minutes).
func retryAfter(wait time.Duration) int {
	return max(1, int(math.Ceil(wait.Seconds())))
}

// clientAddress is the address a request came from, without its port.
func clientAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
