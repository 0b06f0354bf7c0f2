package flows_test

import (
	"context"
	"os"
	"testing"

	"github.com/scimd/scimd/internal/flows"
	"github.com/scimd/scimd/internal/storetest"
)

func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

// TestFlows replays every recorded flow against a real scimd over HTTP, on every store,
// each flow in a tenant of its own, and requires every step (and the cleanup) to pass.
func TestFlows(t *testing.T) {
	all, err := flows.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			srv := storetest.StartServer(t, b.Open(t))
			for _, f := range all {
				t.Run(f.Name, func(t *testing.T) {
					c := srv.NewTenant(t, f.Name).Client
					res := flows.Run(context.Background(), c, f)
					for _, s := range res.Steps {
						if !s.Pass {
							t.Errorf("%s: %s %s: %s", s.Step, s.Method, s.Path, s.Reason)
						}
					}
				})
			}
		})
	}
}
