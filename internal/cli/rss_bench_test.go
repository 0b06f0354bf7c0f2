package cli_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/cli"
	"github.com/scimd/scimd/internal/credential"
	"github.com/scimd/scimd/internal/scimclient"
	"github.com/scimd/scimd/internal/store"
	"github.com/scimd/scimd/internal/store/sqlite"
	"github.com/scimd/scimd/internal/storetest"
)

// TestServeSubprocess is not a test of its own: BenchmarkServerRSS runs this test binary
// again with SCIMD_SUBPROCESS_SERVE set, so that the server's memory is measured in a
// process of its own.
func TestServeSubprocess(t *testing.T) {
	db := os.Getenv("SCIMD_SUBPROCESS_SERVE")
	if db == "" {
		t.Skip("only runs as BenchmarkServerRSS's server process")
	}
	env := cli.Env{Stdout: os.Stdout, Stderr: os.Stderr, Getenv: func(string) string { return "" },
		Ready: func(addr string) { fmt.Printf("LISTENING %s\n", addr) }}
	os.Exit(cli.Main(context.Background(), []string{"serve", "--addr", "127.0.0.1:0", "--db", db,
		"--rate-per-credential", "0", "--rate-per-tenant", "0"}, env))
}

// BenchmarkServerRSS stores SCIMD_BENCH_USERS users (default 1,000,000) in a SQLite file,
// starts scimd on it in a separate process (rate limits lifted), drives an identity
// provider's mix of lookups, reads, paging, creates and deactivations against it from 16
// clients, and reports the server's peak resident memory (VmHWM). It is skipped unless
// SCIMD_BENCH_RSS=1, since seeding takes minutes:
//
//	SCIMD_BENCH_RSS=1 go test ./internal/cli -run '^$' -bench ServerRSS -benchtime 1x -timeout 60m
func BenchmarkServerRSS(b *testing.B) {
	if os.Getenv("SCIMD_BENCH_RSS") != "1" {
		b.Skip("set SCIMD_BENCH_RSS=1 to run (seeds a million users)")
	}
	n := 1_000_000
	if v := os.Getenv("SCIMD_BENCH_USERS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	ctx := context.Background()
	db := filepath.Join(b.TempDir(), "rss.db")
	st, err := sqlite.Open(ctx, db)
	if err != nil {
		b.Fatal(err)
	}
	tn, err := st.CreateTenant(ctx, store.Tenant{Name: "default"})
	if err != nil {
		b.Fatal(err)
	}
	issued := credential.New(tn.ID, time.Now().UTC())
	if err := st.CreateCredential(ctx, issued.Credential); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	storetest.SeedUsers(b, st, tn.ID, n)
	st.Close()
	b.Logf("seeded %d users in %s", n, time.Since(start).Round(time.Second))

	cmd := exec.Command(os.Args[0], "-test.run=^TestServeSubprocess$")
	cmd.Env = append(os.Environ(), "SCIMD_SUBPROCESS_SERVE="+db)
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	var addr string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if a, ok := strings.CutPrefix(sc.Text(), "LISTENING "); ok {
			addr = a
			break
		}
	}
	if addr == "" {
		b.Fatal("server did not start")
	}
	go func() {
		for sc.Scan() {
		}
	}()
	c := scimclient.New("http://"+addr+"/scim/v2", issued.Bearer)
	c.HTTP = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.ResetTimer()
	var wg2 sync.WaitGroup
	var requests atomic.Int64
	for w := 0; w < 16; w++ {
		wg2.Add(1)
		go func(w int) {
			defer wg2.Done()
			do := func(method, path string, body any, want int) map[string]any {
				resp, err := c.Do(ctx, method, path, body)
				requests.Add(1)
				if err != nil || resp.Status != want {
					b.Errorf("%s %s: %v %v", method, path, err, resp)
					return nil
				}
				m, _ := resp.JSON()
				return m
			}
			// An identity provider's mix: look a user up, read it, import a page, create a
			// user and deactivate it (writes bring events and the activity log in).
			for i := 0; i < 150 && !b.Failed(); i++ {
				k := (w*7919 + i*104729) % n
				found := do("GET", "/Users?filter="+url.QueryEscape(fmt.Sprintf(`userName eq "user%07d@example.com"`, k)), nil, 200)
				if list, _ := found["Resources"].([]any); len(list) == 1 {
					id, _ := list[0].(map[string]any)["id"].(string)
					do("GET", "/Users/"+id, nil, 200)
				}
				do("GET", fmt.Sprintf("/Users?startIndex=%d&count=100", k+1), nil, 200)
				created := do("POST", "/Users", map[string]any{"userName": fmt.Sprintf("load%d-%d@example.com", w, i),
					"name": map[string]any{"givenName": "Load", "familyName": "Test"}, "active": true,
					"emails": []any{map[string]any{"value": fmt.Sprintf("load%d-%d@example.com", w, i), "primary": true}}}, 201)
				if id, _ := created["id"].(string); id != "" {
					do("PATCH", "/Users/"+id, map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
						"Operations": []any{map[string]any{"op": "replace", "value": map[string]any{"active": false}}}}, 200)
				}
			}
		}(w)
	}
	wg2.Wait()
	b.StopTimer()
	b.ReportMetric(float64(requests.Load()), "requests")
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && (f[0] == "VmHWM:" || f[0] == "VmRSS:") {
			kb, _ := strconv.Atoi(f[1])
			b.ReportMetric(float64(kb)/1024, strings.TrimSuffix(f[0], ":")+"-MB")
		}
	}
}
