package server_test

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/scimd/scimd/internal/server"
	"github.com/scimd/scimd/internal/store/sqlite"
	"github.com/scimd/scimd/internal/storetest"
)

// TestMain reports the PostgreSQL tests skipped, if any, without -v (storetest.Main).
func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

func get(t *testing.T, url string, header http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// TestHealthReadyMetrics: /healthz, /readyz while the store answers and once it does not,
// /metrics, and request ids on every answer.
func TestHealthReadyMetrics(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			st := b.Open(t)
			full := storetest.StartFull(t, st, server.Options{})
			tn := full.NewTenant(t, "acme")
			if resp, body := get(t, full.Root+"/healthz", nil); resp.StatusCode != 200 || body != "ok\n" {
				t.Fatalf("/healthz: %d %q", resp.StatusCode, body)
			}
			if resp, body := get(t, full.Root+"/readyz", nil); resp.StatusCode != 200 {
				t.Fatalf("/readyz: %d %q", resp.StatusCode, body)
			}
			for _, tc := range []struct{ sent, want string }{
				{"req-1.a_b:c", "req-1.a_b:c"},
				{"bad id with spaces", ""},
				{strings.Repeat("x", 129), ""},
				{"", ""},
			} {
				h := http.Header{"Authorization": {"Bearer " + tn.Issued.Bearer}, "User-Agent": {"Okta SCIM Client 1.0.0"}}
				if tc.sent != "" {
					h.Set("X-Request-Id", tc.sent)
				}
				resp, _ := get(t, full.URL+"/Users?count=1", h)
				got := resp.Header.Get("X-Request-Id")
				if tc.want != "" && got != tc.want || tc.want == "" && (len(got) != 32 || got == tc.sent) {
					t.Errorf("sent X-Request-Id %q, got %q", tc.sent, got)
				}
			}
			resp, metrics := get(t, full.Root+"/metrics", nil)
			if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
				t.Fatalf("/metrics: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			for _, want := range []string{
				`scimd_http_requests_total{client="okta",route="GET /scim/v2/Users",status_class="2xx"} 4`,
				`scimd_http_request_duration_seconds_bucket{client="okta",route="GET /scim/v2/Users",status_class="2xx",le="+Inf"} 4`,
				`scimd_http_requests_total{client="other",route="healthz",status_class="2xx"} 1`,
				`scimd_store_operation_duration_seconds_count{operation="list_users"} 4`,
				`scimd_store_operation_duration_seconds_count{operation="credential"} 4`,
				"scimd_activity_buffer_depth ", "scimd_activity_buffer_capacity 10000", "scimd_activity_dropped_total 0",
				`scimd_db_pool_connections{pool="read",state="in_use"}`, `scimd_db_pool_max_connections{pool="read"}`,
				"go_goroutines ",
			} {
				if !strings.Contains(metrics, want) {
					t.Errorf("/metrics lacks %s", want)
				}
			}
			if strings.Contains(metrics, tn.ID) || strings.Contains(metrics, "acme") {
				t.Errorf("/metrics names a tenant: its series must stay bounded")
			}
		})
	}
}

// TestReadyzNotReady: a database migrated further by a newer build is not ready for this
// one, nor is a database that does not answer; the process is still alive.
func TestReadyzNotReady(t *testing.T) {
	path := filepath.Join(t.TempDir(), "scimd.db")
	st, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	full := storetest.StartFull(t, st, server.Options{})
	if resp, _ := get(t, full.Root+"/readyz", nil); resp.StatusCode != 200 {
		t.Fatalf("/readyz: %d", resp.StatusCode)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("PRAGMA user_version = 999"); err != nil {
		t.Fatal(err)
	}
	if resp, body := get(t, full.Root+"/readyz", nil); resp.StatusCode != 503 {
		t.Fatalf("/readyz with a newer schema: %d %q", resp.StatusCode, body)
	}
	st.Close()
	if resp, body := get(t, full.Root+"/readyz", nil); resp.StatusCode != 503 {
		t.Fatalf("/readyz with the store closed: %d %q", resp.StatusCode, body)
	}
	if resp, _ := get(t, full.Root+"/healthz", nil); resp.StatusCode != 200 {
		t.Fatalf("/healthz with the store closed: %d, want 200 (alive)", resp.StatusCode)
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
