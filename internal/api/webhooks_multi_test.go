package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/credential"
	"github.com/scimd/scimd/internal/scimclient"
	"github.com/scimd/scimd/internal/server"
	"github.com/scimd/scimd/internal/store"
	"github.com/scimd/scimd/internal/store/postgres"
	"github.com/scimd/scimd/internal/storetest"
	"github.com/scimd/scimd/sdk"
)

// TestWebhooksTwoInstancesPostgres: two scimd instances on one PostgreSQL database take
// concurrent writes for several tenants; every event is delivered exactly once, in order
// per tenant, whichever instance delivers it; one instance stops half-way and the other
// carries on.
func TestWebhooksTwoInstancesPostgres(t *testing.T) {
	dsn := storetest.NewPostgresSchema(t)
	ctx := context.Background()
	var fulls [2]*storetest.Full
	for i := range fulls {
		st, err := postgres.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		wo := fastRetries
		wo.Lease = time.Second
		fulls[i] = storetest.StartFull(t, st, server.Options{UsageInterval: time.Hour, Webhooks: wo})
	}
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	var mu sync.Mutex
	got := map[string][]int64{} // tenant -> seqs delivered, in arrival order
	bad := 0
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var ev sdk.Event
		mu.Lock()
		defer mu.Unlock()
		if sdk.Verify(secret, r.Header, body) != nil || json.Unmarshal(body, &ev) != nil {
			bad++
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		got[ev.TenantID] = append(got[ev.TenantID], ev.Seq)
	}))
	defer rcv.Close()
	st := fulls[0].Store
	if err := st.CreateWebhook(ctx, store.WebhookEndpoint{ID: "wh_all", URL: rcv.URL, Secret: secret, Format: "webhook",
		Created: time.Now().UTC().Add(-time.Second)}); err != nil {
		t.Fatal(err)
	}
	const tenants, writers, each = 4, 8, 15
	var clients [tenants][2]*scimclient.Client
	var ids [tenants]string
	for i := 0; i < tenants; i++ {
		tn, err := st.CreateTenant(ctx, store.Tenant{Name: fmt.Sprintf("t%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = tn.ID
		issued := credential.New(tn.ID, time.Now().UTC())
		if err := st.CreateCredential(ctx, issued.Credential); err != nil {
			t.Fatal(err)
		}
		for j := range fulls {
			clients[i][j] = scimclient.New(fulls[j].URL, issued.Bearer)
		}
	}
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				c := clients[(w+i)%tenants][w%2]
				resp, err := c.Do(ctx, "POST", "/Users", map[string]any{"userName": fmt.Sprintf("w%d-%d@x.example", w, i)})
				if err != nil || resp.Status != 201 {
					t.Errorf("create: %v %v", err, resp)
					return
				}
				if w == 0 && i == each/2 {
					// One instance goes away; the other takes its deliveries over.
					fulls[1].Handler.Close(ctx)
				}
			}
		}()
	}
	wg.Wait()
	total := writers * each
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		n := 0
		for _, s := range got {
			n += len(s)
		}
		mu.Unlock()
		if n >= total || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // a duplicate would arrive now
	mu.Lock()
	defer mu.Unlock()
	if bad != 0 {
		t.Fatalf("%d deliveries failed verification", bad)
	}
	n := 0
	for i, id := range ids {
		seqs := got[id]
		for k, s := range seqs {
			if s != int64(k)+1 {
				t.Fatalf("tenant %d: deliveries %v: not each event once in order", i, seqs)
			}
		}
		n += len(seqs)
	}
	if n != total {
		t.Fatalf("%d events delivered, want %d", n, total)
	}
}
