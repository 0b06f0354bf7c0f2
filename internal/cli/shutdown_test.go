package cli

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/credential"
	"github.com/scimd/scimd/internal/scimclient"
	"github.com/scimd/scimd/internal/store"
)

// TestShutdownUnderLoad: serve stops (as on SIGTERM) while clients create users behind a
// "load balancer" that polls /readyz. /readyz turns unready first and the listener stays
// open for --shutdown-delay, so the balancer stops sending in time: every request sent is
// answered in full, and every acknowledged write is kept.
func TestShutdownUnderLoad(t *testing.T) {
	db := tempDB(t)
	st := openTestStore(t, db)
	tn, err := st.CreateTenant(context.Background(), store.Tenant{Name: "load"})
	if err != nil {
		t.Fatal(err)
	}
	issued := credential.New(tn.ID, time.Now().UTC())
	if err := st.CreateCredential(context.Background(), issued.Credential); err != nil {
		t.Fatal(err)
	}
	st.Close()
	s := startServe(t, []string{"serve", "--addr", "127.0.0.1:0", "--db", db, "--rate-per-credential", "0", "--rate-per-tenant", "0",
		"--shutdown-delay", "500ms"}, nil, true)
	c := scimclient.New("http://"+s.addr+"/scim/v2", issued.Bearer)
	// A new connection per request: a request on a kept-alive connection that the server
	// closes as idle is retried by no one, which would test the client, not the server.
	c.HTTP = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	var ready atomic.Bool
	ready.Store(true)
	stopPolling := make(chan struct{})
	polled := make(chan struct{})
	go func() { // the balancer's readiness check, every 50 ms
		defer close(polled)
		for {
			select {
			case <-stopPolling:
				return
			case <-time.After(50 * time.Millisecond):
			}
			resp, err := http.Get("http://" + s.addr + "/readyz")
			if err != nil || resp.StatusCode != http.StatusOK {
				ready.Store(false)
			}
			if err == nil {
				resp.Body.Close()
			}
		}
	}()
	var created atomic.Int64
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ready.Load(); i++ {
				resp, err := c.Do(context.Background(), "POST", "/Users", map[string]any{"userName": fmt.Sprintf("w%d-%d@load.example", w, i)})
				if err != nil {
					t.Errorf("request cut off during shutdown: %v", err)
					return
				}
				if resp.Status != http.StatusCreated {
					t.Errorf("create during shutdown: %d %s", resp.Status, resp.Body)
					return
				}
				created.Add(1)
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	s.stop(t)
	wg.Wait()
	close(stopPolling)
	<-polled
	if created.Load() == 0 || ready.Load() {
		t.Fatalf("%d created; ready at the end: %v", created.Load(), ready.Load())
	}
	st = openTestStore(t, db)
	defer st.Close()
	page, err := st.ListUsers(context.Background(), tn.ID, store.ListQuery{StartIndex: 1, Count: 1})
	if err != nil || int64(page.Total) != created.Load() {
		t.Fatalf("%d users stored, %d creates acknowledged (%v)", page.Total, created.Load(), err)
	}
	t.Logf("%d creates acknowledged and kept across the shutdown", created.Load())
}
