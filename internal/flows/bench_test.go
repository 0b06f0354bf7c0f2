package flows_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/flows"
	"github.com/scimd/scimd/internal/scimclient"
	"github.com/scimd/scimd/internal/storetest"
)

// TestBench runs a short, bounded load against scimd on every store and against the floor
// server: every operation runs without an error, and nothing the load created is left.
// It checks the load tool, not speed (docs/benchmarks.md has the figures).
func TestBench(t *testing.T) {
	o := flows.BenchOptions{Concurrency: 2, Duration: 300 * time.Millisecond, GroupSize: 20}
	check := func(t *testing.T, c *scimclient.Client) {
		res, err := flows.Bench(context.Background(), c, o)
		if err != nil {
			t.Fatal(err)
		}
		if res.Errors != 0 {
			t.Fatalf("%d errors: %+v", res.Errors, res.Ops)
		}
		for _, op := range res.Ops {
			if op.Count == 0 || op.P50Ms <= 0 || op.P99Ms < op.P50Ms {
				t.Errorf("%s: %+v", op.Op, op)
			}
		}
		for _, coll := range []string{"/Users", "/Groups"} {
			resp, err := c.Do(context.Background(), http.MethodGet, coll, nil)
			if err != nil {
				t.Fatal(err)
			}
			l, err := resp.JSON()
			if err != nil || fmt.Sprint(l["totalResults"]) != "0" {
				t.Errorf("%s after the load: %v %v", coll, l["totalResults"], err)
			}
		}
	}
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			srv := storetest.StartServer(t, b.Open(t))
			check(t, srv.NewTenant(t, "bench").Client)
		})
	}
	t.Run("floor", func(t *testing.T) {
		ts := httptest.NewServer(flows.NewFloor())
		defer ts.Close()
		check(t, scimclient.New(ts.URL+"/scim/v2", "unused"))
	})
}
