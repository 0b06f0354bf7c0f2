package flows_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/scimd/scimd/internal/compat"
	"github.com/scimd/scimd/internal/flows"
	"github.com/scimd/scimd/internal/storetest"
)

func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

// TestFlows replays every recorded flow against a real scimd over HTTP, on every store,
// each flow in a tenant of its own, and requires every step (and the cleanup) to pass.
// Then docs/compatibility.md must be what the results render to, and both stores must
// render the same.
func TestFlows(t *testing.T) {
	all, err := flows.Load()
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	results := map[string][]flows.Result{}
	t.Run("replay", func(t *testing.T) {
		for _, b := range storetest.Backends(t) {
			t.Run(b.Name, func(t *testing.T) {
				t.Parallel()
				srv := storetest.StartServer(t, b.Open(t))
				var got []flows.Result
				for _, f := range all {
					t.Run(f.Name, func(t *testing.T) {
						c := srv.NewTenant(t, f.Name).Client
						res := flows.Run(context.Background(), c, f)
						for _, s := range res.Steps {
							if !s.Pass {
								t.Errorf("%s: %s %s: %s", s.Step, s.Method, s.Path, s.Reason)
							}
						}
						got = append(got, res)
					})
				}
				mu.Lock()
				results[b.Name] = got
				mu.Unlock()
			})
		}
	})
	if t.Failed() {
		return
	}
	// Every registered dialect's proof is a step of a flow, and it passed.
	for _, d := range compat.Dialects {
		if d.Proof == "" {
			continue
		}
		if s, ok := flows.FindStep(results["sqlite"], d.Proof); !ok || !s.Pass {
			t.Errorf("dialect %s: proof %q: found %v, passed %v", d.Name, d.Proof, ok, s.Pass)
		}
	}
	want := flows.Markdown(all, results["sqlite"])
	if pg, ok := results["postgres"]; ok && flows.Markdown(all, pg) != want {
		t.Errorf("PostgreSQL and SQLite render different compatibility tables")
	}
	doc := filepath.Join("..", "..", "docs", "compatibility.md")
	have, err := os.ReadFile(doc)
	if err != nil {
		t.Fatalf("read %s: %v (write it with %s)", doc, err, flows.GenerateCommand)
	}
	if string(have) != want {
		t.Errorf("docs/compatibility.md does not match the flow results: run %s", flows.GenerateCommand)
	}
}
