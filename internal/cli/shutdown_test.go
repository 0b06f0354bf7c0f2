package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/credential"
	"github.com/scimd/scimd/internal/scimclient"
	"github.com/scimd/scimd/internal/store"
)

// TestShutdownUnderLoad: serve stops (as on SIGTERM) while clients create users; every
// request the server accepted is answered in full and its write kept. A client then finds
// the port closed, never a request cut off.
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
	s := startServe(t, []string{"serve", "--addr", "127.0.0.1:0", "--db", db, "--rate-per-credential", "0", "--rate-per-tenant", "0"}, nil, true)
	c := scimclient.New("http://"+s.addr+"/scim/v2", issued.Bearer)
	// A new connection per request: a request on a kept-alive connection that the server
	// closes as idle is retried by no one, which would test the client, not the server.
	c.HTTP = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	var created, refused atomic.Int64
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				name := fmt.Sprintf("w%d-%d@load.example", w, i)
				resp, err := c.Do(context.Background(), "POST", "/Users", map[string]any{"userName": name})
				if err != nil {
					if errors.Is(err, syscall.ECONNREFUSED) {
						refused.Add(1)
						return
					}
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
	if created.Load() == 0 || refused.Load() != 8 {
		t.Fatalf("%d created, %d clients refused; want some created and all 8 refused at the end", created.Load(), refused.Load())
	}
	st = openTestStore(t, db)
	defer st.Close()
	page, err := st.ListUsers(context.Background(), tn.ID, store.ListQuery{StartIndex: 1, Count: 1})
	if err != nil || int64(page.Total) != created.Load() {
		t.Fatalf("%d users stored, %d creates acknowledged (%v)", page.Total, created.Load(), err)
	}
	t.Logf("%d creates acknowledged and kept across the shutdown", created.Load())
}
