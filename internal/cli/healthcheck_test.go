package cli

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestHealthcheck: the image's HEALTHCHECK command passes on a 200 and fails otherwise.
func TestHealthcheck(t *testing.T) {
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" && r.URL.Path != "/readyz" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(status)
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	if out := ok(t, "", "healthcheck", "--addr", addr); out != "ok\n" {
		t.Fatalf("healthcheck: %q", out)
	}
	status = http.StatusServiceUnavailable
	fails(t, runMain(t, "", nil, "healthcheck", "--addr", addr, "--path", "/readyz"), "503", "a server that is not ready")
	srv.Close()
	fails(t, runMain(t, "", nil, "healthcheck", "--addr", addr), "healthcheck", "no server")
}
