package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/server"
	"github.com/scimd/scimd/internal/storetest"
	"github.com/scimd/scimd/sdk"
)

// receiver is a webhook endpoint on loopback that verifies what it gets and can be down.
type receiver struct {
	t      *testing.T
	srv    *httptest.Server
	secret atomic.Value // string
	down   atomic.Bool
	mu     sync.Mutex
	got    []received
	bad    int
	posts  int
}

type received struct {
	id  string
	ev  sdk.Event
	at  time.Time
	raw []byte
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{t: t}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		r.posts++
		if r.down.Load() {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		secret, _ := r.secret.Load().(string)
		if err := sdk.Verify(secret, req.Header, body); err != nil {
			r.bad++
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var ev sdk.Event
		if err := json.Unmarshal(body, &ev); err != nil {
			r.bad++
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.got = append(r.got, received{id: req.Header.Get("webhook-id"), ev: ev, at: time.Now(), raw: body})
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) snapshot() ([]received, int, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...), r.bad, r.posts
}

// waitFor waits until the receiver holds n events.
func (r *receiver) waitFor(n int, within time.Duration) []received {
	r.t.Helper()
	deadline := time.Now().Add(within)
	for {
		got, _, _ := r.snapshot()
		if len(got) >= n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// checkInOrder checks that deliveries hold every sequence number from first to last of
// the tenant once, in order, each under its event's id as webhook-id; a number repeated
// is allowed only as a retry of the same webhook-id.
func checkInOrder(t *testing.T, got []received, tenant string, first, last int64) {
	t.Helper()
	next := first
	seen := map[int64]string{}
	for _, g := range got {
		if g.ev.TenantID != tenant {
			continue
		}
		if g.id != g.ev.ID {
			t.Fatalf("webhook-id %s is not the event's id %s", g.id, g.ev.ID)
		}
		if id, ok := seen[g.ev.Seq]; ok {
			if id != g.id {
				t.Fatalf("seq %d delivered under two ids", g.ev.Seq)
			}
			continue
		}
		if g.ev.Seq != next {
			t.Fatalf("delivered seq %d, want %d (out of order or lost)", g.ev.Seq, next)
		}
		seen[g.ev.Seq] = g.id
		next++
	}
	if next != last+1 {
		t.Fatalf("delivered up to seq %d, want %d", next-1, last)
	}
}

func newWebhookEnv(t *testing.T, b storetest.Backend, spec *specValidator, wo server.WebhookOptions) *env {
	st := b.Open(t)
	full := storetest.StartFull(t, st, server.Options{UsageInterval: time.Hour, Webhooks: wo})
	tr := &transport{t: t, spec: spec}
	e := &env{t: t, full: full, tr: tr}
	e.admin = e.client(full.APIKey(t, "", "admin"))
	return e
}

var fastRetries = server.WebhookOptions{AllowPrivate: true, MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, Poll: 20 * time.Millisecond}

// TestWebhookReceiverDownThenUp: a receiver that is down for a while, then up, receives
// every event in order with valid signatures; the log shows the failed attempts; a
// replay delivers from a sequence number again.
func TestWebhookReceiverDownThenUp(t *testing.T) {
	spec := newSpecValidator(t)
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			e := newWebhookEnv(t, b, spec, fastRetries)
			ctx := context.Background()
			tenant, err := e.admin.CreateTenant(ctx, sdk.TenantCreate{Name: "acme"})
			if err != nil {
				t.Fatal(err)
			}
			cred, err := e.admin.MintCredential(ctx, tenant.ID)
			if err != nil {
				t.Fatal(err)
			}
			rcv := newReceiver(t)
			rcv.down.Store(true)
			tenantAdmin := e.client(e.full.APIKey(t, tenant.ID, "admin"))
			wh, err := tenantAdmin.CreateWebhook(ctx, sdk.WebhookCreate{URL: rcv.srv.URL + "/hooks"})
			if err != nil {
				t.Fatal(err)
			}
			if len(wh.Secret) < 20 || wh.TenantID == nil || *wh.TenantID != tenant.ID || wh.Format != "webhook" {
				t.Fatalf("created webhook %+v", wh)
			}
			rcv.secret.Store(wh.Secret)
			idp := e.scim(cred.Username, cred.Password)
			const users = 12
			for i := 0; i < users; i++ {
				wantStatus(t, send(t, idp, "POST", "/Users", oktaUser(fmt.Sprintf("u%d@acme.example", i), "U", "X")), 201, "create")
			}
			// Down: attempts fail and are retried, nothing is accepted.
			time.Sleep(300 * time.Millisecond)
			if got, _, posts := rcv.snapshot(); len(got) != 0 || posts < 2 {
				t.Fatalf("while down: %d accepted, %d attempts; want 0 accepted and retries", len(got), posts)
			}
			ws, err := tenantAdmin.GetWebhook(ctx, wh.ID)
			if err != nil || ws.FailingSince == nil || ws.Disabled {
				t.Fatalf("a failing endpoint shows %+v, %v", ws, err)
			}
			rcv.down.Store(false)
			got := rcv.waitFor(users, 10*time.Second)
			checkInOrder(t, got, tenant.ID, 1, users)
			if _, bad, _ := rcv.snapshot(); bad != 0 {
				t.Fatalf("%d deliveries failed verification", bad)
			}
			// Progress is recorded in batches: the log catches up within a moment.
			var failed, ok int
			for deadline := time.Now().Add(5 * time.Second); ; {
				log, err := tenantAdmin.WebhookDeliveries(ctx, wh.ID, 200)
				if err != nil {
					t.Fatal(err)
				}
				failed, ok = 0, 0
				for _, d := range log {
					switch {
					case d.Status != nil && *d.Status == 503 && d.Response == "down for maintenance\n":
						failed++
					case d.Status != nil && *d.Status == 204:
						ok++
					}
				}
				if ok >= users || time.Now().After(deadline) {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			if failed == 0 || ok != users {
				t.Fatalf("delivery log: %d failed, %d ok; want some failed and %d ok", failed, ok, users)
			}
			if ws, _ := tenantAdmin.GetWebhook(ctx, wh.ID); ws.FailingSince != nil {
				t.Fatalf("after success the endpoint still shows failing since %v", ws.FailingSince)
			}
			// Rotation: both signatures are sent; a receiver with either secret verifies.
			old := wh.Secret
			rot, err := tenantAdmin.RotateWebhookSecret(ctx, wh.ID, "", time.Hour)
			if err != nil || rot.Secret == old {
				t.Fatalf("rotate: %+v, %v", rot, err)
			}
			if err := tenantAdmin.ReplayWebhook(ctx, wh.ID, "", 5); err != nil {
				t.Fatal(err)
			}
			got = rcv.waitFor(users+users-4, 10*time.Second)
			if len(got) != users+users-4 || got[users].ev.Seq != 5 {
				t.Fatalf("replay from 5: %d deliveries, first replayed seq %d", len(got), got[min(users, len(got)-1)].ev.Seq)
			}
			// The replayed deliveries verified with the old secret (the receiver's) and
			// also carry a signature by the new one.
			rcv.secret.Store(rot.Secret)
			wantStatus(t, send(t, idp, "POST", "/Users", oktaUser("late@acme.example", "L", "X")), 201, "create")
			rcv.waitFor(users+users-4+1, 10*time.Second)
			if _, bad, _ := rcv.snapshot(); bad != 0 {
				t.Fatalf("%d deliveries failed verification around the rotation", bad)
			}
		})
	}
}

// TestWebhookDisabledAfterFailing: an endpoint that fails for longer than the configured
// time is disabled and shown so; enabled again it receives what it missed.
func TestWebhookDisabledAfterFailing(t *testing.T) {
	spec := newSpecValidator(t)
	b := storetest.Backends(t)[0]
	wo := fastRetries
	wo.DisableAfter = 200 * time.Millisecond
	e := newWebhookEnv(t, b, spec, wo)
	ctx := context.Background()
	tenant, err := e.admin.CreateTenant(ctx, sdk.TenantCreate{Name: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	cred, err := e.admin.MintCredential(ctx, tenant.ID)
	if err != nil {
		t.Fatal(err)
	}
	rcv := newReceiver(t)
	rcv.down.Store(true)
	wh, err := e.admin.CreateWebhook(ctx, sdk.WebhookCreate{URL: rcv.srv.URL, Types: []string{"user.created"}})
	if err != nil {
		t.Fatal(err)
	}
	rcv.secret.Store(wh.Secret)
	idp := e.scim(cred.Username, cred.Password)
	wantStatus(t, send(t, idp, "POST", "/Users", oktaUser("a@acme.example", "A", "X")), 201, "create")
	deadline := time.Now().Add(10 * time.Second)
	for {
		ws, err := e.admin.GetWebhook(ctx, wh.ID)
		if err != nil {
			t.Fatal(err)
		}
		if ws.Disabled {
			if ws.DisabledReason == nil || ws.DisabledAt == nil {
				t.Fatalf("disabled endpoint %+v", ws)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the failing endpoint was never disabled")
		}
		time.Sleep(20 * time.Millisecond)
	}
	_, _, posts := rcv.snapshot()
	time.Sleep(200 * time.Millisecond)
	if _, _, now := rcv.snapshot(); now != posts {
		t.Fatalf("a disabled endpoint got %d more attempts", now-posts)
	}
	rcv.down.Store(false)
	wantStatus(t, send(t, idp, "POST", "/Users", oktaUser("b@acme.example", "B", "X")), 201, "create")
	if _, err := e.admin.SetWebhookDisabled(ctx, wh.ID, false); err != nil {
		t.Fatal(err)
	}
	got := rcv.waitFor(2, 10*time.Second)
	checkInOrder(t, got, tenant.ID, 1, 2)
	list, err := e.admin.ListWebhooks(ctx, "")
	if err != nil || len(list) != 1 || list[0].Disabled || list[0].Secret != "" {
		t.Fatalf("list: %+v, %v", list, err)
	}
	if err := e.admin.DeleteWebhook(ctx, wh.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.admin.GetWebhook(ctx, wh.ID); !sdk.IsNotFound(err) {
		t.Fatalf("deleted webhook: %v", err)
	}
}

// TestWebhookPrivateTargetsRefused: without --webhook-allow-private, an endpoint on a
// loopback or private address is refused when added.
func TestWebhookPrivateTargetsRefused(t *testing.T) {
	spec := newSpecValidator(t)
	e := newWebhookEnv(t, storetest.Backends(t)[0], spec, server.WebhookOptions{})
	ctx := context.Background()
	for _, u := range []string{"http://127.0.0.1:9/x", "http://[::1]/", "http://10.1.2.3/", "http://169.254.169.254/latest/meta-data", "http://localhost:8080/", "ftp://example.com/", "https://user:pw@example.com/"} {
		_, err := e.admin.CreateWebhook(ctx, sdk.WebhookCreate{URL: u})
		wantProblem(t, err, 400, "url")
	}
	_, err := e.admin.CreateWebhook(ctx, sdk.WebhookCreate{URL: "https://example.com/hook", Secret: "nope"})
	wantProblem(t, err, 400, "secret")
	_, err = e.admin.CreateWebhook(ctx, sdk.WebhookCreate{URL: "https://example.com/hook", Types: []string{"user.exploded"}})
	wantProblem(t, err, 400, "types")
}

// TestWebhookKeyScopes: a tenant's key manages its tenant's endpoints only; a read key
// changes nothing.
func TestWebhookKeyScopes(t *testing.T) {
	spec := newSpecValidator(t)
	e := newWebhookEnv(t, storetest.Backends(t)[0], spec, server.WebhookOptions{})
	ctx := context.Background()
	a, err := e.admin.CreateTenant(ctx, sdk.TenantCreate{Name: "a"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.admin.CreateTenant(ctx, sdk.TenantCreate{Name: "b"})
	if err != nil {
		t.Fatal(err)
	}
	all, err := e.admin.CreateWebhook(ctx, sdk.WebhookCreate{URL: "https://all.example.com/"})
	if err != nil || all.TenantID != nil {
		t.Fatalf("all-tenants endpoint: %+v, %v", all, err)
	}
	ofB, err := e.admin.CreateWebhook(ctx, sdk.WebhookCreate{URL: "https://b.example.com/", TenantID: b.ID})
	if err != nil {
		t.Fatal(err)
	}
	keyA := e.client(e.full.APIKey(t, a.ID, "admin"))
	ofA, err := keyA.CreateWebhook(ctx, sdk.WebhookCreate{URL: "https://a.example.com/"})
	if err != nil || ofA.TenantID == nil || *ofA.TenantID != a.ID {
		t.Fatalf("a tenant key's endpoint: %+v, %v", ofA, err)
	}
	_, err = keyA.CreateWebhook(ctx, sdk.WebhookCreate{URL: "https://x.example.com/", TenantID: b.ID})
	wantProblem(t, err, 404, "tenant_id")
	list, err := keyA.ListWebhooks(ctx, "")
	if err != nil || len(list) != 1 || list[0].ID != ofA.ID {
		t.Fatalf("tenant a lists %+v, %v; want its own endpoint only", list, err)
	}
	for _, id := range []string{all.ID, ofB.ID} {
		if _, err := keyA.GetWebhook(ctx, id); !sdk.IsNotFound(err) {
			t.Fatalf("tenant a reads endpoint %s: %v", id, err)
		}
		if err := keyA.DeleteWebhook(ctx, id); !sdk.IsNotFound(err) {
			t.Fatalf("tenant a deletes endpoint %s: %v", id, err)
		}
	}
	reader := e.client(e.full.APIKey(t, "", "read"))
	_, err = reader.CreateWebhook(ctx, sdk.WebhookCreate{URL: "https://r.example.com/"})
	wantProblem(t, err, 403, "")
	if list, err := e.admin.ListWebhooks(ctx, b.ID); err != nil || len(list) != 2 {
		t.Fatalf("endpoints receiving tenant b's events: %+v, %v; want the all-tenants one and b's", list, err)
	}
}
