package api_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/scimclient"
	"github.com/scimd/scimd/internal/server"
	"github.com/scimd/scimd/internal/store"
	"github.com/scimd/scimd/internal/storetest"
	"github.com/scimd/scimd/sdk"
)

// syncBuffer is a log destination written by the server's goroutines and read by the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// secretPassword is the password the identity provider sends; it must never come back out.
const secretPassword = "Tr0ub4dor&3-never-shown"

// TestActivityLogOktaFlow provisions a tenant as Okta does, with passwords, a failed
// request and a revoked credential, then reads the tenant's activity log through the API
// (checked against openapi.yaml), and searches everything the server wrote for the
// password: SCIM responses, API responses, the log lines, the metrics and the stored log.
func TestActivityLogOktaFlow(t *testing.T) {
	spec := newSpecValidator(t)
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			logs := &syncBuffer{}
			st := b.Open(t)
			full := storetest.StartFull(t, st, server.Options{UsageInterval: time.Hour,
				Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
			tr := &transport{t: t, spec: spec}
			e := &env{t: t, full: full, tr: tr}
			e.admin = e.client(full.APIKey(t, "", "admin"))
			var wrote strings.Builder // every response body the server sent

			tenant, err := e.admin.CreateTenant(ctx, sdk.TenantCreate{Name: "acme"})
			if err != nil {
				t.Fatal(err)
			}
			cred, err := e.admin.MintCredential(ctx, tenant.ID)
			if err != nil {
				t.Fatal(err)
			}
			idp := e.scim(cred.Username, cred.Password)
			do := func(method, path string, body any, want int, requestID string) *scimclient.Response {
				t.Helper()
				h := oktaHeader()
				if requestID != "" {
					h.Set("X-Request-Id", requestID)
				}
				resp, err := idp.Send(ctx, scimclient.Request{Method: method, Path: path, Body: body, Header: h})
				if err != nil {
					t.Fatal(err)
				}
				wrote.Write(resp.Body)
				if resp.Status != want {
					t.Fatalf("%s %s: %d, want %d: %s", method, path, resp.Status, want, resp.Body)
				}
				if id := resp.Header.Get("X-Request-Id"); id == "" || requestID != "" && id != requestID {
					t.Fatalf("%s %s: X-Request-Id %q, sent %q", method, path, id, requestID)
				}
				return resp
			}
			do("GET", "/Users?startIndex=1&count=1", nil, 200, "okta-connector-test-1")
			u := oktaUser("ada@acme.example", "Ada", "Lovelace")
			u["password"] = secretPassword
			created := do("POST", "/Users", u, 201, "")
			m, _ := created.JSON()
			adaID := m["id"].(string)
			// A second create of the same user fails: its detail and scimType are logged.
			conflict := do("POST", "/Users", u, 409, "okta-dup-1")
			do("PATCH", "/Users/"+adaID, map[string]any{
				"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
				"Operations": []any{
					map[string]any{"op": "replace", "path": "password", "value": secretPassword},
					map[string]any{"op": "replace", "value": map[string]any{"password": secretPassword, "active": true}},
				},
			}, 200, "")
			put := oktaUser("ada@acme.example", "Ada", "Byron")
			put["id"], put["password"] = adaID, secretPassword
			do("PUT", "/Users/"+adaID, put, 200, "")
			// Malformed requests carrying the password, in a value where it does not belong.
			do("POST", "/Users", map[string]any{"userName": "bad@acme.example", "password": secretPassword, "active": "maybe"}, 400, "")
			do("PATCH", "/Users/"+adaID, map[string]any{
				"schemas":    []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
				"Operations": []any{map[string]any{"op": "replace", "path": "password", "value": secretPassword}, map[string]any{"op": "frobnicate"}},
			}, 400, "")
			do("POST", "/Users", `{"userName":"x","password":"`+secretPassword+`"`, 400, "")
			if err := e.admin.RevokeCredential(ctx, tenant.ID, cred.ID); err != nil {
				t.Fatal(err)
			}
			do("GET", "/Users?count=1", nil, 401, "after-revoke")
			if err := full.Handler.Activity.Flush(ctx); err != nil {
				t.Fatal(err)
			}

			page, err := e.admin.ListActivity(ctx, tenant.ID, sdk.ActivityListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Data) != 9 {
				t.Fatalf("%d entries, want 9", len(page.Data))
			}
			newest := page.Data[0]
			if newest.Status != 401 || newest.RequestID != "after-revoke" || newest.CredentialID != cred.ID || newest.Client != "okta" {
				t.Fatalf("newest entry %+v, want the 401 after the revocation", newest)
			}
			oldest := page.Data[len(page.Data)-1]
			if oldest.RequestID != "okta-connector-test-1" || oldest.Method != "GET" || oldest.Path != "/scim/v2/Users?startIndex=1&count=1" || oldest.Status != 200 {
				t.Fatalf("oldest entry %+v, want the connector test", oldest)
			}
			failed, err := e.admin.ListActivity(ctx, tenant.ID, sdk.ActivityListOptions{Status: "409"})
			if err != nil || len(failed.Data) != 1 {
				t.Fatalf("409s: %+v, %v", failed, err)
			}
			dup := failed.Data[0]
			if dup.RequestID != "okta-dup-1" || dup.ScimType != "uniqueness" || dup.Detail == "" || dup.RequestBody != nil {
				t.Fatalf("409 entry %+v", dup)
			}
			entry, err := e.admin.GetActivity(ctx, tenant.ID, dup.ID)
			if err != nil {
				t.Fatal(err)
			}
			if entry.RequestBody == nil || !strings.Contains(*entry.RequestBody, `"password":"[redacted]"`) ||
				!strings.Contains(*entry.RequestBody, "ada@acme.example") || *entry.ResponseBody != strings.TrimSpace(string(conflict.Body)) {
				t.Fatalf("409 entry bodies:\nrequest %v\nresponse %v\nsent %s", *entry.RequestBody, *entry.ResponseBody, conflict.Body)
			}
			ofAda, err := e.admin.ListActivity(ctx, tenant.ID, sdk.ActivityListOptions{ResourceID: adaID})
			if err != nil || len(ofAda.Data) != 4 { // created, patched, replaced, failed patch
				t.Fatalf("entries of ada: %d, %v", len(ofAda.Data), err)
			}
			paged, err := e.admin.ListActivity(ctx, tenant.ID, sdk.ActivityListOptions{Limit: 5})
			if err != nil || len(paged.Data) != 5 || paged.Next == nil {
				t.Fatalf("first page: %+v, %v", paged, err)
			}
			rest, err := e.admin.ListActivity(ctx, tenant.ID, sdk.ActivityListOptions{Limit: 5, Cursor: *paged.Next})
			if err != nil || len(rest.Data) != 4 || rest.Data[0].ID == paged.Data[4].ID {
				t.Fatalf("second page: %+v, %v", rest, err)
			}
			after, err := e.admin.ListActivity(ctx, tenant.ID, sdk.ActivityListOptions{After: page.Data[2].ID})
			if err != nil || len(after.Data) != 2 || after.Data[1].ID != newest.ID {
				t.Fatalf("after: %+v, %v", after, err)
			}
			_, err = e.admin.ListActivity(ctx, tenant.ID, sdk.ActivityListOptions{Status: "4x"})
			wantProblem(t, err, http.StatusBadRequest, "status")
			if _, err := e.admin.GetActivity(ctx, tenant.ID, "999999"); !sdk.IsNotFound(err) {
				t.Fatalf("unknown entry: %v", err)
			}
			other, err := e.admin.CreateTenant(ctx, sdk.TenantCreate{Name: "other"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.admin.GetActivity(ctx, other.ID, dup.ID); !sdk.IsNotFound(err) {
				t.Fatalf("another tenant's entry: %v", err)
			}

			// Everything the server wrote: the API's answers, with every entry read whole.
			for _, en := range page.Data {
				one, err := e.admin.GetActivity(ctx, tenant.ID, en.ID)
				if err != nil {
					t.Fatal(err)
				}
				wrote.WriteString(*one.RequestBody + *one.ResponseBody + one.Detail + one.Path)
			}
			stored, err := st.ListActivity(ctx, tenant.ID, store.ActivityQuery{Limit: 1000, WithBodies: true})
			if err != nil {
				t.Fatal(err)
			}
			for _, en := range stored {
				wrote.WriteString(en.RequestBody + en.ResponseBody + en.Detail + en.Path)
			}
			resp, err := http.Get(full.Root + "/metrics")
			if err != nil {
				t.Fatal(err)
			}
			metrics, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if !strings.Contains(string(metrics), `scimd_http_requests_total{client="okta",route="POST /scim/v2/Users",status_class="4xx"} 3`) {
				t.Fatalf("metrics lack the failed creates:\n%s", grepLines(string(metrics), "scimd_http_requests_total"))
			}
			wrote.Write(metrics)
			full.Handler.Close(ctx)
			wrote.WriteString(logs.String())
			if !strings.Contains(logs.String(), `"request_id":"okta-dup-1"`) {
				t.Fatalf("no log line carries the request id:\n%s", logs.String())
			}
			if i := strings.Index(wrote.String(), secretPassword); i >= 0 {
				s := wrote.String()
				t.Fatalf("the password came out: …%s…", s[max(0, i-300):min(len(s), i+100)])
			}
		})
	}
}

func grepLines(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestSetupLinks: an admin key makes a setup link (checked against openapi.yaml) that
// opens the tenant's setup page; a read key may not; the lifetime is bounded.
func TestSetupLinks(t *testing.T) {
	spec := newSpecValidator(t)
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b, spec)
			ctx := context.Background()
			tenant, err := e.admin.CreateTenant(ctx, sdk.TenantCreate{Name: "acme"})
			if err != nil {
				t.Fatal(err)
			}
			link, err := e.admin.CreateSetupLink(ctx, tenant.ID, 0)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(link.URL, e.full.Root+"/setup/") || link.TenantID != tenant.ID ||
				time.Until(link.Expires) < 71*time.Hour || time.Until(link.Expires) > 73*time.Hour {
				t.Fatalf("setup link %+v", link)
			}
			resp, err := http.Get(link.URL + "?idp=entra")
			if err != nil {
				t.Fatal(err)
			}
			page, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !strings.Contains(string(page), "aadOptscim062020") || resp.Header.Get("Referrer-Policy") != "no-referrer" {
				t.Fatalf("setup page: %d", resp.StatusCode)
			}
			_, err = e.admin.CreateSetupLink(ctx, tenant.ID, 31*24*time.Hour)
			wantProblem(t, err, http.StatusBadRequest, "expires_in")
			_, err = e.client(e.full.APIKey(t, "", "read")).CreateSetupLink(ctx, tenant.ID, 0)
			wantProblem(t, err, http.StatusForbidden, "")
			if _, err := e.admin.CreateSetupLink(ctx, "nope", 0); !sdk.IsNotFound(err) {
				t.Fatalf("unknown tenant: %v", err)
			}
		})
	}
}
