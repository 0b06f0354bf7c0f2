package console_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/console"
	"github.com/scimd/scimd/internal/scim"
	"github.com/scimd/scimd/internal/server"
	"github.com/scimd/scimd/internal/storetest"
)

// hookReceiver is a webhook endpoint on loopback that answers every delivery with a short
// JSON body and counts them.
type hookReceiver struct {
	srv   *httptest.Server
	posts atomic.Int64
}

func newHookReceiver(t *testing.T) *hookReceiver {
	h := &hookReceiver{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		h.posts.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"received":true}`))
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// fastWebhooks delivers at once to loopback receivers.
var fastWebhooks = server.WebhookOptions{AllowPrivate: true, MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, Poll: 20 * time.Millisecond}

// signIn signs b in with the console password and returns the session's CSRF token.
func signIn(t *testing.T, b *browserless) string {
	t.Helper()
	if resp, _ := b.do("POST", "/admin/login", url.Values{"secret": {consolePassword}}, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in: %d", resp.StatusCode)
	}
	_, page := b.do("GET", "/admin/", nil, nil)
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no CSRF token in the tenants page")
	}
	return m[1]
}

// eventually polls the page at path until it contains every one of want, for up to 15 s.
func eventually(t *testing.T, b *browserless, path string, want ...string) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, page := b.do("GET", path, nil, nil)
		missing := ""
		for _, w := range want {
			if !strings.Contains(page, w) {
				missing = w
				break
			}
		}
		if resp.StatusCode == 200 && missing == "" {
			return page
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d, still without %q:\n%s", path, resp.StatusCode, missing, page)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var (
	webhookIDField = regexp.MustCompile(`id="webhook-id">(wh_[^<]+)<`)
	secretField    = regexp.MustCompile(`id="webhook-secret">(whsec_[^<]+)<`)
)

// TestConsoleWebhooks, on both stores: an operator adds a tenant's endpoint in the
// console (the secret shown once), sees its deliveries with status, latency and the
// answer's first bytes, disables it (events wait in its backlog), enables it (they are
// delivered), replays from an event number, and removes it; every action is a form with
// the session's CSRF token. Endpoints for every tenant are added and listed at
// /admin/webhooks, and appear under each tenant; another tenant's endpoint does not.
func TestConsoleWebhooks(t *testing.T) {
	for _, be := range storetest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			recv := newHookReceiver(t)
			full := storetest.StartFull(t, be.Open(t), server.Options{Console: console.Options{Password: consolePassword}, Webhooks: fastWebhooks})
			tn := full.NewTenant(t, "acme")
			other := full.NewTenant(t, "globex")
			b := newClient(t, full.Root)
			csrf := signIn(t, b)
			base := "/admin/tenants/" + tn.ID + "/webhooks"

			if resp, page := b.do("GET", base, nil, nil); resp.StatusCode != 200 || !strings.Contains(page, "No webhook endpoints") {
				t.Fatalf("empty webhooks page: %d", resp.StatusCode)
			}
			form := url.Values{"url": {recv.srv.URL + "/hook"}, "types": {"user.created", "user.deactivated"}}
			for _, token := range []string{"", "forged"} {
				f := url.Values{"csrf": {token}}
				for k, v := range form {
					f[k] = v
				}
				if resp, _ := b.do("POST", base, f, nil); resp.StatusCode != http.StatusForbidden {
					t.Fatalf("add with CSRF token %q: %d", token, resp.StatusCode)
				}
			}
			if resp, page := b.do("POST", base, url.Values{"csrf": {csrf}, "url": {"ftp://example.com/"}}, nil); resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "http or https") {
				t.Fatalf("add with an ftp URL: %d", resp.StatusCode)
			}
			form.Set("csrf", csrf)
			resp, page := b.do("POST", base, form, nil)
			if resp.StatusCode != 200 || !strings.Contains(page, "shown once") || resp.Header.Get("Cache-Control") != "no-store" {
				t.Fatalf("add: %d\n%s", resp.StatusCode, page)
			}
			idm, sm := webhookIDField.FindStringSubmatch(page), secretField.FindStringSubmatch(page)
			if idm == nil || sm == nil {
				t.Fatalf("the added endpoint's page lacks its id or secret:\n%s", page)
			}
			id, secret := idm[1], sm[1]
			ep := base + "/" + id

			// A user created over SCIM is delivered; the page shows the attempt.
			create := func(name string) string {
				t.Helper()
				r, err := tn.Client.Do(t.Context(), "POST", "/Users", map[string]any{"schemas": []string{scim.UserSchema}, "userName": name})
				if err != nil || r.Status != 201 {
					t.Fatalf("create %s: %v %v", name, r, err)
				}
				m, _ := r.JSON()
				return m["id"].(string)
			}
			create("ada@acme.example")
			page = eventually(t, b, ep, `<span class="ok">200</span>`, `{&#34;received&#34;:true}`, "#1 ")
			if !strings.Contains(page, `<span class="ok">enabled</span>`) || !strings.Contains(page, "0 events not yet delivered") || strings.Contains(page, secret) {
				t.Fatalf("endpoint page after a delivery:\n%s", page)
			}
			if _, list := b.do("GET", base, nil, nil); !strings.Contains(list, recv.srv.URL+"/hook") || strings.Contains(list, secret) || !strings.Contains(list, " ms") {
				t.Fatalf("webhooks page:\n%s", list)
			}

			// Disabled: the next events wait in the backlog; enabled, they are delivered.
			post := func(path string, f url.Values, want int) *http.Response {
				t.Helper()
				f.Set("csrf", csrf)
				resp, page := b.do("POST", path, f, nil)
				if resp.StatusCode != want {
					t.Fatalf("POST %s: %d, want %d\n%s", path, resp.StatusCode, want, page)
				}
				return resp
			}
			if resp, _ := b.do("POST", ep+"/disable", url.Values{"csrf": {"forged"}}, nil); resp.StatusCode != http.StatusForbidden {
				t.Fatalf("disable with a forged CSRF token: %d", resp.StatusCode)
			}
			if loc := post(ep+"/disable", url.Values{}, http.StatusSeeOther).Header.Get("Location"); loc != ep+"?done=disabled" {
				t.Fatalf("disable sent the browser to %q", loc)
			}
			before := recv.posts.Load()
			grace := create("grace@acme.example")
			if r, err := tn.Client.Do(t.Context(), "PATCH", "/Users/"+grace, map[string]any{"schemas": []string{scim.PatchOpSchema},
				"Operations": []any{map[string]any{"op": "replace", "value": map[string]any{"active": false}}}}); err != nil || r.Status != 200 {
				t.Fatalf("deactivate: %v %v", r, err)
			}
			eventually(t, b, ep+"?done=disabled", "is disabled", `<span class="bad">disabled</span>`, "disabled by an operator", "2 events not yet delivered")
			if n := recv.posts.Load(); n != before {
				t.Fatalf("%d deliveries to a disabled endpoint", n-before)
			}
			// The monitoring sees the same backlog.
			if resp, metrics := b.do("GET", "/metrics", nil, nil); resp.StatusCode != 200 || !strings.Contains(metrics, "\nscimd_webhook_backlog_events 2\n") {
				t.Fatalf("/metrics: %d, without the backlog of 2:\n%s", resp.StatusCode, metrics)
			}
			post(ep+"/enable", url.Values{}, http.StatusSeeOther)
			eventually(t, b, ep, "0 events not yet delivered", "#3 ", `<span class="ok">enabled</span>`)

			// Replay from event 1: delivered again, in order.
			if resp, page := b.do("POST", ep+"/replay", url.Values{"csrf": {csrf}, "from": {"x"}}, nil); resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "sequence number") {
				t.Fatalf("replay from x: %d", resp.StatusCode)
			}
			before = recv.posts.Load()
			post(ep+"/replay", url.Values{"from": {"1"}}, http.StatusSeeOther)
			eventually(t, b, ep, "0 events not yet delivered")
			deadline := time.Now().Add(15 * time.Second)
			for recv.posts.Load() < before+3 {
				if time.Now().After(deadline) {
					t.Fatalf("replay from 1 delivered %d events, want 3", recv.posts.Load()-before)
				}
				time.Sleep(20 * time.Millisecond)
			}

			// Endpoints for every tenant: added at /admin/webhooks, shown under each tenant;
			// another tenant's endpoint is not.
			resp, page = b.do("POST", "/admin/webhooks", url.Values{"csrf": {csrf}, "url": {recv.srv.URL + "/all"}}, nil)
			if resp.StatusCode != 200 || webhookIDField.FindStringSubmatch(page) == nil {
				t.Fatalf("add an endpoint for every tenant: %d", resp.StatusCode)
			}
			all := webhookIDField.FindStringSubmatch(page)[1]
			if resp, page := b.do("POST", "/admin/tenants/"+other.ID+"/webhooks", url.Values{"csrf": {csrf}, "url": {recv.srv.URL + "/globex"}}, nil); resp.StatusCode != 200 {
				t.Fatalf("add globex's endpoint: %d\n%s", resp.StatusCode, page)
			}
			_, list := b.do("GET", base, nil, nil)
			if !strings.Contains(list, "/all<") || !strings.Contains(list, "every tenant") || strings.Contains(list, "/globex<") {
				t.Fatalf("acme's webhooks:\n%s", list)
			}
			_, list = b.do("GET", "/admin/webhooks", nil, nil)
			if !strings.Contains(list, "/all<") || !strings.Contains(list, "/globex<") || !strings.Contains(list, "/hook<") {
				t.Fatalf("every webhook:\n%s", list)
			}
			_, gpage := b.do("GET", "/admin/webhooks/"+all, nil, nil)
			if !strings.Contains(gpage, `id="replay-tenant"`) {
				t.Fatalf("an endpoint for every tenant asks which tenant to replay:\n%s", gpage)
			}
			if resp, page := b.do("POST", "/admin/webhooks/"+all+"/replay", url.Values{"csrf": {csrf}, "from": {"1"}}, nil); resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "name the tenant") {
				t.Fatalf("replay for every tenant without one: %d", resp.StatusCode)
			}
			post("/admin/webhooks/"+all+"/replay", url.Values{"from": {"1"}, "tenant": {tn.ID}}, http.StatusSeeOther)
			eventually(t, b, "/admin/tenants/"+tn.ID+"/webhooks/"+all, "<code>"+tn.ID+"</code>", `<span class="ok">200</span>`)
			globex, err := full.Handler.Service.Webhooks(t.Context(), other.ID, "")
			if err != nil || len(globex) != 1 {
				t.Fatalf("globex's endpoints: %v %v", globex, err)
			}
			if resp, _ := b.do("GET", base+"/"+globex[0].ID, nil, nil); resp.StatusCode != http.StatusNotFound {
				t.Fatalf("globex's endpoint under acme: %d", resp.StatusCode)
			}
			if resp, _ := b.do("POST", base+"/"+globex[0].ID+"/remove", url.Values{"csrf": {csrf}}, nil); resp.StatusCode != http.StatusNotFound {
				t.Fatalf("remove globex's endpoint under acme: %d", resp.StatusCode)
			}

			// Removed: gone with its log.
			if loc := post(ep+"/remove", url.Values{}, http.StatusSeeOther).Header.Get("Location"); loc != base+"?done=removed" {
				t.Fatalf("remove sent the browser to %q", loc)
			}
			if _, list := b.do("GET", base+"?done=removed", nil, nil); !strings.Contains(list, "is removed") || strings.Contains(list, recv.srv.URL+"/hook<") {
				t.Fatalf("after removing:\n%s", list)
			}
			if resp, _ := b.do("GET", ep, nil, nil); resp.StatusCode != http.StatusNotFound {
				t.Fatalf("removed endpoint: %d", resp.StatusCode)
			}
		})
	}
}
