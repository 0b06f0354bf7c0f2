package cli_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/credential"
	"github.com/scimd/scimd/internal/store"
	"github.com/scimd/scimd/internal/store/sqlite"
)

// BenchmarkBodyRSS starts scimd (default flags: 1 MiB bodies) in a process of its own and
// sends it, 64 at once, requests whose bodies are at the body limit: one long string, many
// tiny emails objects, and a group of as many members as fit. It reports the server's
// peak resident memory (VmHWM), which must stay under 256 MB:
//
//	go test ./internal/cli -run '^$' -bench BodyRSS -benchtime 1x
func BenchmarkBodyRSS(b *testing.B) {
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
	st.Close()

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

	const limit = 1 << 20
	fill := func(head, item, tail string) string {
		var sb strings.Builder
		sb.WriteString(head)
		for sb.Len()+len(item)+len(tail) < limit {
			if sb.Len() > len(head) {
				sb.WriteByte(',')
			}
			sb.WriteString(item)
		}
		sb.WriteString(tail)
		return sb.String()
	}
	shapes := map[string]string{
		"long string":  `{"userName":"long","title":"` + strings.Repeat("x", limit-40) + `"}`,
		"tiny objects": fill(`{"userName":"tiny","emails":[`, `{"value":"a"}`, `]}`),
		"members":      fill(`{"displayName":"big","members":[`, `{"value":"2819c223-7f76-453a-919d-413861904646"}`, `]}`),
	}
	paths := map[string]string{"long string": "/Users", "tiny objects": "/Users", "members": "/Groups"}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.ResetTimer()
	hwm := func() float64 {
		status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
		if err != nil {
			b.Fatal(err)
		}
		for _, line := range strings.Split(string(status), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
				kb, _ := strconv.Atoi(f[1])
				return float64(kb) / 1024
			}
		}
		return 0
	}
	for _, name := range []string{"long string", "tiny objects", "members"} {
		body := shapes[name]
		for round := 0; round < 3; round++ {
			var wg sync.WaitGroup
			for w := 0; w < 64; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/scim/v2"+paths[name], strings.NewReader(body))
					req.Header.Set("Authorization", "Bearer "+issued.Bearer)
					req.Header.Set("Content-Type", "application/scim+json")
					resp, err := hc.Do(req)
					if err != nil {
						b.Errorf("%s: %v", name, err)
						return
					}
					resp.Body.Close()
					if resp.StatusCode >= 500 {
						b.Errorf("%s: %d", name, resp.StatusCode)
					}
				}()
			}
			wg.Wait()
		}
		b.Logf("after %q: peak RSS %.1f MB", name, hwm())
	}
	b.StopTimer()
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
