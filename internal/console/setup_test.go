package console_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/scimd/scimd/internal/scimclient"
	"github.com/scimd/scimd/internal/server"
	"github.com/scimd/scimd/internal/storetest"
	"github.com/scimd/scimd/sdk"
)

// TestSetupPageInBrowser: a setup link made through the management API opens the setup
// page; the customer's administrator picks Okta, sees this tenant's values in the steps,
// makes the credential (shown once), runs Okta's connector test with it, and the status
// turns to connected, then to provisioned; a failed request shows with a hint.
func TestSetupPageInBrowser(t *testing.T) {
	ctx := browser(t, 60*time.Second)
	full := storetest.StartFull(t, storetest.OpenSQLite(t), server.Options{})
	admin := sdk.New(full.Root, full.APIKey(t, "", "admin"))
	tn, err := admin.CreateTenant(context.Background(), sdk.TenantCreate{Name: "globex"})
	if err != nil {
		t.Fatal(err)
	}
	link, err := admin.CreateSetupLink(context.Background(), tn.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(link.URL, full.Root+"/setup/") || link.Expires.Before(time.Now().Add(59*time.Minute)) {
		t.Fatalf("setup link %+v", link)
	}
	shots := os.Getenv(ScreenshotsEnv)
	shot := func(name string) {
		t.Helper()
		if shots == "" {
			return
		}
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(shots, name), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	do := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
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

	do("open the link", chromedp.Navigate(link.URL), chromedp.WaitVisible(chromedp.CSS(`a[href$="?idp=okta"]`)),
		chromedp.Click(chromedp.CSS(`a[href$="?idp=okta"]`)), chromedp.WaitVisible(chromedp.CSS("#mint")))
	if steps := text("ol.steps"); !strings.Contains(steps, full.URL) || !strings.Contains(steps, "Basic Auth") || !strings.Contains(steps, "Test Connector Configuration") {
		t.Fatalf("Okta steps: %q", steps)
	}
	do("mint", chromedp.Click(chromedp.CSS("#mint")), chromedp.WaitVisible(chromedp.CSS("#cred-password")))
	user, password := text("#cred-user"), text("#cred-password")
	if user == "" || len(password) < 20 {
		t.Fatalf("minted %q / %q", user, password)
	}
	shot("setup-okta.png")

	status := link.URL + "/status"
	do("status", chromedp.Navigate(status), chromedp.WaitVisible(chromedp.CSS(`#stage[data-stage="waiting"]`)))
	idp := scimclient.New(full.URL, "")
	idp.Authorization = scimclient.Basic(user, password)
	okta := func(method, path string, body any, want int) {
		t.Helper()
		resp, err := idp.Send(context.Background(), scimclient.Request{Method: method, Path: path, Body: body, Header: http.Header{"User-Agent": {"Okta SCIM Client 1.0.0"}}})
		if err != nil || resp.Status != want {
			t.Fatalf("%s %s: %v %v", method, path, resp, err)
		}
	}
	// Okta's "Test Connector Configuration".
	okta("GET", "/Users?startIndex=1&count=2", nil, 200)
	okta("GET", "/Groups?startIndex=1&count=1", nil, 200)
	do("connected", chromedp.WaitVisible(chromedp.CSS(`#stage[data-stage="tested"]`)))
	if s := text("#stage"); !strings.Contains(s, "Connected") || !strings.Contains(s, "okta") {
		t.Fatalf("status after the connector test: %q", s)
	}
	body := map[string]any{"userName": "hank@globex.example", "emails": []any{map[string]any{"value": "hank@globex.example", "primary": true}}, "password": "S3cret-Okta!", "active": true}
	okta("POST", "/Users", body, 201)
	okta("POST", "/Users", body, 409)
	do("provisioned", chromedp.WaitVisible(chromedp.CSS(`#stage[data-stage="provisioned"]`)), chromedp.WaitVisible(chromedp.CSS("ul.errors")))
	if errs := text("ul.errors"); !strings.Contains(errs, "409") || !strings.Contains(errs, "unique identifier") {
		t.Fatalf("errors with hints: %q", errs)
	}
	shot("setup-status.png")

	if resp, err := http.Get(full.Root + "/setup/not-a-token"); err != nil || resp.StatusCode != 404 {
		t.Fatalf("unknown setup link: %v %v", resp, err)
	}
}
