package scimclient

import (
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// TestGzipBody: a request that asks for gzip itself (as Okta does) still gets the decoded
// body, from a server that compresses and from one that does not.
func TestGzipBody(t *testing.T) {
	for _, compress := range []bool{true, false} {
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/scim+json")
			if compress {
				w.Header().Set("Content-Encoding", "gzip")
				zw := gzip.NewWriter(w)
				zw.Write([]byte(`{"totalResults":0}`))
				zw.Close()
				return
			}
			w.Write([]byte(`{"totalResults":0}`))
		}))
		c := New(ts.URL, "t")
		resp, err := c.Send(context.Background(), Request{Method: http.MethodGet, Path: "/Users", Header: http.Header{"Accept-Encoding": {"gzip,deflate"}}})
		ts.Close()
		if err != nil {
			t.Fatal(err)
		}
		if m, err := resp.JSON(); err != nil || m["totalResults"] == nil {
			t.Errorf("compress=%v: %v %v", compress, m, err)
		}
	}
}

// TestRetries429: a 429 is waited out for its Retry-After and the request sent again, as
// many times as Retries429 allows, body included; without retries the 429 comes back.
func TestRetries429(t *testing.T) {
	var calls atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if calls.Add(1) <= 2 {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.WriteHeader(http.StatusCreated)
		w.Write(body)
	}))
	defer ts.Close()
	for _, tc := range []struct {
		retries, wantStatus, wantThrottled int
	}{
		{0, http.StatusTooManyRequests, 0},
		{1, http.StatusTooManyRequests, 1},
		{5, http.StatusCreated, 2},
	} {
		calls.Store(0)
		c := New(ts.URL, "t")
		c.Retries429 = tc.retries
		resp, err := c.Do(context.Background(), http.MethodPost, "/Users", map[string]any{"userName": "a"})
		if err != nil || resp.Status != tc.wantStatus || resp.Throttled != tc.wantThrottled {
			t.Fatalf("retries %d: %v %+v", tc.retries, err, resp)
		}
		if tc.wantStatus == http.StatusCreated && string(resp.Body) != `{"userName":"a"}` {
			t.Fatalf("body not sent again: %q", resp.Body)
		}
	}
}
