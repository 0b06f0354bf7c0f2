package scimclient

import (
	"compress/gzip"
	"context"
	"net/http"
	"net/http/httptest"
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
