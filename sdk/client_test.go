package sdk

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// TestRetries: idempotent calls are retried on 429 and 503 as Retry-After asks, others
// never; a problem document becomes an *Error.
func TestRetries(t *testing.T) {
	var calls atomic.Int32
	failures := int32(2)
	status := http.StatusTooManyRequests
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		if r.Header.Get("Authorization") != "Bearer k" {
			t.Errorf("authorization %q", r.Header.Get("Authorization"))
		}
		if n <= failures {
			w.Header().Set("Retry-After", "0")
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(status)
			w.Write([]byte(`{"type":"https://x/too-many","title":"Too many","status":429,"detail":"slow down"}`))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"id":"t1","name":"acme","external_ref":null,"disabled":false,"disabled_at":null,"created":"2026-01-02T03:04:05Z","updated":"2026-01-02T03:04:05Z"}`))
	}))
	defer srv.Close()
	c := New(srv.URL, "k")
	ctx := context.Background()

	tn, err := c.GetTenant(ctx, "t1")
	if err != nil || tn.Name != "acme" || calls.Load() != 3 {
		t.Fatalf("GET after two 429s: %+v, %v, %d calls", tn, err, calls.Load())
	}

	calls.Store(0)
	_, err = c.MintCredential(ctx, "t1")
	var e *Error
	if !errors.As(err, &e) || e.Status != 429 || e.Detail != "slow down" || calls.Load() != 1 {
		t.Fatalf("POST is not retried: %v, %d calls", err, calls.Load())
	}

	calls.Store(0)
	failures, status = 100, http.StatusServiceUnavailable
	_, err = c.GetTenant(ctx, "t1")
	if !errors.As(err, &e) || e.Status != 503 || calls.Load() != 4 {
		t.Fatalf("503 after the retries run out: %v, %d calls", err, calls.Load())
	}

	// A cancelled context ends the wait before a retry.
	slow := New(srv.URL, "k", WithRetries(3, time.Minute))
	calls.Store(0)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	srvRetryAfter := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "30")
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srvRetryAfter.Close()
	slow.base = srvRetryAfter.URL + "/api/v1"
	start := time.Now()
	if _, err := slow.GetTenant(ctx, "t1"); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Fatalf("a cancelled wait: %v after %s", err, time.Since(start))
	}
}

func TestNewBaseURL(t *testing.T) {
	for _, in := range []string{"https://h", "https://h/", "https://h/api/v1", "https://h/api/v1/"} {
		if got := New(in, "k").base; got != "https://h/api/v1" {
			t.Errorf("New(%q).base = %q", in, got)
		}
	}
}
