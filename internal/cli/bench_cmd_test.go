package cli

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestBenchCommand runs a short `scimd bench --floor` against a fresh `scimd serve`: it
// reports every operation for scimd and the floor with no error, and the ratio. The
// figures themselves are not checked here (docs/benchmarks.md has them).
func TestBenchCommand(t *testing.T) {
	s := startServe(t, []string{"serve", "--addr", "127.0.0.1:0", "--db", tempDB(t)}, nil, true)
	printed := printedSecrets(t, s.stdout.String())
	base := printed["SCIM connector base URL"]
	r := runMain(t, "", nil, "bench", "--bearer", printed["Bearer token"], "--duration", "200ms", "--concurrency", "2", "--group-size", "10", "--floor", "--json", base)
	if r.code != 0 {
		t.Fatalf("bench: exit %d, stderr %q\n%s", r.code, r.stderr, r.stdout)
	}
	var rep benchReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("bench --json: %v\n%s", err, r.stdout)
	}
	if rep.Floor == nil || rep.Ratio <= 0 || len(rep.Result.Ops) != len(rep.Floor.Ops) || rep.Result.Errors != 0 {
		t.Fatalf("bench --floor report: %+v", rep)
	}
	for i, op := range rep.Result.Ops {
		if op.Count == 0 || rep.Floor.Ops[i].Count == 0 {
			t.Errorf("%s: scimd %d, floor %d requests", op.Op, op.Count, rep.Floor.Ops[i].Count)
		}
	}
	r = runMain(t, "", nil, "bench", "--bearer", printed["Bearer token"], "--duration", "100ms", "--concurrency", "1", "--group-size", "0", base)
	if r.code != 0 || !strings.Contains(r.stdout, "member remove") || !strings.Contains(r.stdout, "p99 ms") {
		t.Fatalf("bench table: exit %d %q\n%s", r.code, r.stderr, r.stdout)
	}
	if users := callBearer(t, base, printed["Bearer token"], "/Users"); users != "0" {
		t.Fatalf("bench left %s users", users)
	}
	for _, bad := range [][]string{
		{"bench", "--duration", "11m", base},
		{"bench", "--concurrency", "0", base},
		{"bench"},
	} {
		fails(t, runMain(t, "", nil, bad...), "bench", strings.Join(bad, " "))
	}
}
