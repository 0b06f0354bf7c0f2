package console_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/scimd/scimd/internal/console"
	"github.com/scimd/scimd/internal/scim"
	"github.com/scimd/scimd/internal/scimclient"
	"github.com/scimd/scimd/internal/server"
	"github.com/scimd/scimd/internal/storetest"
)

// ScreenshotsEnv names a directory to write screenshots of the main pages to (the
// README's come from docs/img).
const ScreenshotsEnv = "SCIMD_SCREENSHOTS"

// RequireBrowserEnv, when set (as .ci/run sets it), makes a missing chromium a failure
// rather than a skip.
const RequireBrowserEnv = "SCIMD_REQUIRE_BROWSER"

// chromium finds Debian's chromium (installed by .ci/run) or skips.
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	const why = "no chromium on PATH: the browser test needs Debian's chromium package (apt-get install chromium; .ci/run installs it)"
	if os.Getenv(RequireBrowserEnv) != "" {
		t.Fatal(why + ", and " + RequireBrowserEnv + " is set")
	}
	t.Skip(why)
	return ""
}

// browser starts a headless chromium with a fresh profile and the flags that keep it off
// the network, bounded by timeout.
func browser(t *testing.T, timeout time.Duration) context.Context {
	path := chromium(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 860),
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(acancel)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(bcancel)
	return bctx
}

// TestConsoleInBrowser signs in to the console in a real headless chromium, finds a user
// that a replayed Okta flow provisioned and sees its roles, opens the failed request in
// the activity log, adds a webhook endpoint and sees a delivery to it, and revokes the
// credential, after which the next SCIM call fails.
// No page shows the password Okta sent.
func TestConsoleInBrowser(t *testing.T) {
	ctx := browser(t, 60*time.Second)
	recv := newHookReceiver(t)
	full := storetest.StartFull(t, storetest.OpenSQLite(t), server.Options{Console: console.Options{Password: consolePassword}, Webhooks: fastWebhooks})
	tn := full.NewTenant(t, "acme")
	idp := *tn.Client
	ids := replayOkta(t, &idp)
	if err := full.Handler.Activity.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}

	shots := os.Getenv(ScreenshotsEnv)
	var pages strings.Builder
	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		html, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		pages.WriteString(html)
	}
	shot := func(name string) {
		t.Helper()
		if shots == "" {
			return
		}
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(shots, name), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}

	step("sign in page", chromedp.Navigate(full.Root+"/admin/"), chromedp.WaitVisible(chromedp.CSS("#secret")))
	shot("console-login.png")
	step("sign in", chromedp.SendKeys(chromedp.CSS("#secret"), consolePassword), chromedp.Submit(chromedp.CSS("#secret")),
		chromedp.WaitVisible(chromedp.CSS("table caption")))
	if h := text("h1"); h != "Tenants" {
		t.Fatalf("after signing in: %q", h)
	}
	if row := text("tbody tr"); !strings.Contains(row, "acme") || !strings.Contains(row, "okta") || !strings.Contains(row, "409") {
		t.Fatalf("tenant row %q lacks the tenant, its identity provider or its last error", row)
	}
	shot("console-tenants.png")

	step("users", chromedp.Click(chromedp.CSS(`a[href$="/admin/tenants/`+tn.ID+`/"]`)), chromedp.WaitVisible(chromedp.CSS("dl.facts")),
		chromedp.Click(chromedp.CSS(`nav.tabs a[href$="/users"]`)), chromedp.WaitVisible(chromedp.CSS("#q")),
		chromedp.SendKeys(chromedp.CSS("#q"), "GRACE@acme.example"), chromedp.Submit(chromedp.CSS("#q")),
		// The answer's field carries the text as its value attribute; the page typed into
		// has it only as a property.
		chromedp.WaitVisible(chromedp.CSS(`#q[value="GRACE@acme.example"]`)),
		chromedp.WaitVisible(chromedp.CSS(`tbody a[href$="/users/`+ids["grace"]+`"]`)))
	if rows := text("tbody"); strings.Contains(rows, "ada@") || !strings.Contains(rows, "Admins") || !strings.Contains(rows, "Engineering") {
		t.Fatalf("search for grace: %q", rows)
	}
	shot("console-users.png")
	step("user", chromedp.Click(chromedp.CSS(`tbody a[href$="/users/`+ids["grace"]+`"]`)), chromedp.WaitVisible(chromedp.CSS("dl.facts")))
	if facts := text("dl.facts"); !strings.Contains(facts, "Admins") || !strings.Contains(facts, "Engineering") || !strings.Contains(facts, "Grace Hopper") {
		t.Fatalf("user page: %q", facts)
	}
	shot("console-user.png")
	step("role", chromedp.Click(chromedp.CSS(`nav.tabs a[href$="/roles"]`)), chromedp.WaitVisible(chromedp.CSS(`nav.tabs a[aria-current="page"][href$="/roles"]`)))
	if rows := text("tbody"); !strings.Contains(rows, "Admins") || !strings.Contains(rows, "2") {
		t.Fatalf("roles: %q", rows)
	}

	step("activity", chromedp.Click(chromedp.CSS(`nav.tabs a[href$="/activity"]`)), chromedp.WaitVisible(chromedp.CSS("#status")),
		chromedp.SetValue(chromedp.CSS("#status"), "4xx"), chromedp.Submit(chromedp.CSS("#status")),
		chromedp.WaitReady(chromedp.CSS(`#status option[value="4xx"][selected]`)),
		chromedp.WaitVisible(chromedp.CSS(`tbody a[href*="/activity/"]`)))
	if rows := text("tbody"); !strings.Contains(rows, "409") || strings.Contains(rows, " 201") {
		t.Fatalf("4xx requests: %q", rows)
	}
	shot("console-activity.png")
	step("failed request", chromedp.Click(chromedp.CSS(`tbody a[href*="/activity/"]`)), chromedp.WaitVisible(chromedp.CSS("pre.body")))
	if facts, body := text("dl.facts"), text("main"); !strings.Contains(facts, "uniqueness") || !strings.Contains(body, "[redacted]") || !strings.Contains(body, "ada@acme.example") {
		t.Fatalf("failed request page: %q", body)
	}
	shot("console-request.png")

	// A webhook endpoint added in the console gets the next change; its page shows the
	// delivery.
	step("webhooks", chromedp.Click(chromedp.CSS(`nav.tabs a[href$="/webhooks"]`)), chromedp.WaitVisible(chromedp.CSS("#url")),
		chromedp.SendKeys(chromedp.CSS("#url"), recv.srv.URL+"/hook"), chromedp.Submit(chromedp.CSS("#url")),
		chromedp.WaitVisible(chromedp.CSS("#webhook-secret")))
	if secret := text("#webhook-secret"); !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("the new endpoint's secret: %q", secret)
	}
	send := func(method, path string, body any, want int) {
		t.Helper()
		resp, err := idp.Send(context.Background(), scimclient.Request{Method: method, Path: path, Body: body, Header: map[string][]string{"User-Agent": {"Okta SCIM Client 1.0.0"}}})
		if err != nil || resp.Status != want {
			t.Fatalf("%s %s: %v %v", method, path, resp, err)
		}
	}
	send("PATCH", "/Users/"+ids["alan"], map[string]any{"schemas": []string{scim.PatchOpSchema},
		"Operations": []any{map[string]any{"op": "replace", "value": map[string]any{"active": false}}}}, 200)
	for deadline := time.Now().Add(10 * time.Second); recv.posts.Load() == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no delivery to the endpoint added in the console within 10 s")
		}
	}
	// The deliverer logs its deliveries in batches, a moment after they arrive: wait for
	// the log, as an operator reloading the page would.
	hooks, err := full.Store.Webhooks(context.Background(), tn.ID)
	if err != nil || len(hooks) != 1 {
		t.Fatalf("webhooks: %v %v", hooks, err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if d, err := full.Store.WebhookDeliveries(context.Background(), hooks[0].ID, 1); err != nil || len(d) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the delivery was not logged within 10 s")
		}
	}
	step("webhook", chromedp.Click(chromedp.CSS(`main a[href*="/webhooks/wh_"]`)), chromedp.WaitVisible(chromedp.CSS("#deliveries")))
	if rows := text("#deliveries tbody"); !strings.Contains(rows, "200") || !strings.Contains(rows, `{"received":true}`) || !strings.Contains(rows, " ms") {
		t.Fatalf("deliveries: %q", rows)
	}
	if state := text("#state"); state != "enabled" {
		t.Fatalf("endpoint state %q", state)
	}
	shot("console-webhook.png")

	step("credentials", chromedp.Click(chromedp.CSS(`nav.tabs a[href$="/credentials"]`)), chromedp.WaitVisible(chromedp.CSS(`button[aria-label="Revoke `+tn.Issued.Credential.ID+`"]`)))
	shot("console-credentials.png")
	step("revoke", chromedp.Click(chromedp.CSS(`button[aria-label="Revoke `+tn.Issued.Credential.ID+`"]`)), chromedp.WaitVisible(chromedp.CSS(".notice")))
	if n := text(".notice"); !strings.Contains(n, "revoked") {
		t.Fatalf("after revoking: %q", n)
	}
	resp, err := idp.Do(context.Background(), "GET", "/Users?count=1", nil)
	if err != nil || resp.Status != 401 {
		t.Fatalf("SCIM call after revoking in the console: %v %v", resp, err)
	}
	if strings.Contains(pages.String(), oktaPassword) {
		t.Fatalf("a console page shows the password Okta sent")
	}
}

const (
	consolePassword = "console-pass-for-tests"
	oktaPassword    = "0kta-Sent-This-Passw0rd"
)

// replayOkta provisions as Okta does: connector test, users with passwords, a duplicate
// create (409), a pushed group and its members. It returns the users' ids by first name.
func replayOkta(t *testing.T, c *scimclient.Client) map[string]string {
	t.Helper()
	ctx := context.Background()
	send := func(method, path string, body any, want int) map[string]any {
		t.Helper()
		resp, err := c.Send(ctx, scimclient.Request{Method: method, Path: path, Body: body, Header: map[string][]string{"User-Agent": {"Okta SCIM Client 1.0.0"}}})
		if err != nil {
			t.Fatal(err)
		}
		if resp.Status != want {
			t.Fatalf("%s %s: %d, want %d: %s", method, path, resp.Status, want, resp.Body)
		}
		m, _ := resp.JSON()
		return m
	}
	user := func(name, given, family string) map[string]any {
		return map[string]any{
			"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"}, "userName": name,
			"name": map[string]any{"givenName": given, "familyName": family}, "displayName": given + " " + family,
			"emails": []any{map[string]any{"primary": true, "value": name, "type": "work"}}, "active": true,
			"password": oktaPassword, "externalId": "00u" + given,
		}
	}
	send("GET", "/Users?startIndex=1&count=2", nil, 200)
	ids := map[string]string{}
	for _, u := range [][3]string{{"ada@acme.example", "Ada", "Lovelace"}, {"grace@acme.example", "Grace", "Hopper"}, {"alan@acme.example", "Alan", "Turing"}} {
		send("GET", `/Users?filter=userName%20eq%20%22`+u[0]+`%22&startIndex=1&count=100`, nil, 200)
		ids[strings.ToLower(u[1])] = send("POST", "/Users", user(u[0], u[1], u[2]), 201)["id"].(string)
	}
	send("POST", "/Users", user("ada@acme.example", "Ada", "Lovelace"), 409)
	for name, members := range map[string][]string{"Admins": {ids["ada"], ids["grace"]}, "Engineering": {ids["grace"], ids["alan"]}} {
		var ms []any
		for _, m := range members {
			ms = append(ms, map[string]any{"value": m})
		}
		send("POST", "/Groups", map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": name, "members": ms}, 201)
	}
	return ids
}
