package cli_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/cli"
	"github.com/scimd/scimd/internal/credential"
	"github.com/scimd/scimd/internal/scimclient"
	"github.com/scimd/scimd/internal/store"
	"github.com/scimd/scimd/internal/store/postgres"
	"github.com/scimd/scimd/internal/store/sqlite"
	"github.com/scimd/scimd/internal/storetest"
	"github.com/scimd/scimd/sdk"
)

// TestServeEventsSubprocess is the scimd process of TestKillBetweenChangeAndDelivery.
func TestServeEventsSubprocess(t *testing.T) {
	db := os.Getenv("SCIMD_SUBPROCESS_EVENTS")
	if db == "" {
		t.Skip("only runs as TestKillBetweenChangeAndDelivery's server process")
	}
	env := cli.Env{Stdout: os.Stdout, Stderr: os.Stderr, Getenv: func(string) string { return "" },
		Ready: func(addr string) { fmt.Printf("LISTENING %s\n", addr) }}
	os.Exit(cli.Main(context.Background(), []string{"serve", "--addr", "127.0.0.1:0", "--db", db,
		"--webhook-allow-private", "--webhook-lease", "1s"}, env))
}

// startScimd starts scimd in its own process and returns its address.
func startScimd(t *testing.T, db string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestServeEventsSubprocess$")
	cmd.Env = append(os.Environ(), "SCIMD_SUBPROCESS_EVENTS="+db)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if a, ok := strings.CutPrefix(sc.Text(), "LISTENING "); ok {
			go io.Copy(io.Discard, out)
			cmd.Args = append(cmd.Args, a) // the address, for the caller
			return cmd
		}
	}
	t.Fatal("scimd did not start")
	return nil
}

// TestKillBetweenChangeAndDelivery: scimd is killed with SIGKILL while the events of
// acknowledged changes are still being delivered; a new process on the same database
// delivers every one of them, in order, with valid signatures. Duplicates are allowed
// only as the same webhook-id again.
func TestKillBetweenChangeAndDelivery(t *testing.T) {
	for _, b := range []struct {
		name string
		db   func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "scimd.db") }},
		{"postgres", func(t *testing.T) string { return storetest.NewPostgresSchema(t) }},
	} {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			db := b.db(t)
			var st store.Store
			var err error
			if postgres.IsURL(db) {
				st, err = postgres.Open(ctx, db)
			} else {
				st, err = sqlite.Open(ctx, db)
			}
			if err != nil {
				t.Fatal(err)
			}
			tn, err := st.CreateTenant(ctx, store.Tenant{Name: "acme"})
			if err != nil {
				t.Fatal(err)
			}
			issued := credential.New(tn.ID, time.Now().UTC())
			if err := st.CreateCredential(ctx, issued.Credential); err != nil {
				t.Fatal(err)
			}
			var mu sync.Mutex
			var seqs []int64
			ids := map[int64]string{}
			bad := 0
			const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
			rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				time.Sleep(15 * time.Millisecond) // a slow receiver: the kill lands mid-stream
				var ev sdk.Event
				mu.Lock()
				defer mu.Unlock()
				if sdk.Verify(secret, r.Header, body) != nil || json.Unmarshal(body, &ev) != nil {
					bad++
					w.WriteHeader(http.StatusBadRequest)
					return
				}
				if id, ok := ids[ev.Seq]; ok && id != r.Header.Get("webhook-id") {
					bad++
				}
				ids[ev.Seq] = r.Header.Get("webhook-id")
				seqs = append(seqs, ev.Seq)
				w.WriteHeader(http.StatusOK)
			}))
			defer rcv.Close()
			if err := st.CreateWebhook(ctx, store.WebhookEndpoint{ID: "wh_kill", TenantID: tn.ID, URL: rcv.URL, Secret: secret,
				Format: "webhook", Created: time.Now().UTC().Add(-time.Second)}); err != nil {
				t.Fatal(err)
			}
			st.Close()

			first := startScimd(t, db)
			c := scimclient.New("http://"+first.Args[len(first.Args)-1]+"/scim/v2", issued.Bearer)
			const n = 40
			for i := 0; i < n; i++ {
				resp, err := c.Do(ctx, "POST", "/Users", map[string]any{"userName": fmt.Sprintf("u%02d@acme.example", i)})
				if err != nil || resp.Status != 201 {
					t.Fatalf("create: %v %v", err, resp)
				}
			}
			// Every change is acknowledged; kill scimd while its events are on their way.
			deadline := time.Now().Add(10 * time.Second)
			for {
				mu.Lock()
				got := len(seqs)
				mu.Unlock()
				if got >= 5 || time.Now().After(deadline) {
					break
				}
				time.Sleep(5 * time.Millisecond)
			}
			first.Process.Kill()
			first.Wait()
			mu.Lock()
			atKill := len(seqs)
			mu.Unlock()
			if atKill >= n {
				t.Fatalf("all %d events were delivered before the kill: the test proves nothing", n)
			}
			startScimd(t, db)
			deadline = time.Now().Add(30 * time.Second)
			for {
				mu.Lock()
				distinct := len(ids)
				mu.Unlock()
				if distinct >= n || time.Now().After(deadline) {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			mu.Lock()
			defer mu.Unlock()
			if bad != 0 {
				t.Fatalf("%d deliveries failed verification or changed id", bad)
			}
			// In order: each delivery is the next seq, or a repeat of the one before the
			// kill (the delivery in flight, sent again).
			var next int64 = 1
			for _, s := range seqs {
				switch {
				case s == next:
					next++
				case s < next:
					// a retry of an event already delivered once (the one in flight)
				default:
					t.Fatalf("seq %d delivered before %d: deliveries %v", s, next, seqs)
				}
			}
			if next != n+1 {
				t.Fatalf("delivered up to seq %d of %d after the restart (%d before the kill): %v", next-1, n, atKill, seqs)
			}
			t.Logf("%d delivered before SIGKILL, %d deliveries in all for %d events", atKill, len(seqs), n)
		})
	}
}
