package httpapi_test

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/scimd/scimd/internal/httpapi"
	"github.com/scimd/scimd/internal/scimclient"
	"github.com/scimd/scimd/internal/storetest"
)

// TestRateLimits: past its credential's rate a request is 429 with an integer
// Retry-After; another tenant is not affected.
func TestRateLimits(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			srv := storetest.StartServerWith(t, b.Open(t), httpapi.Options{RatePerCredential: 5})
			busy, calm := newClient(t, srv, "busy"), newClient(t, srv, "calm")
			limited := 0
			for i := range 30 {
				resp := do(t, busy, http.MethodGet, "/Users?count=1", nil)
				if resp.Status == http.StatusTooManyRequests {
					limited++
					expectError(t, resp, http.StatusTooManyRequests, "")
					if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || s < 1 {
						t.Fatalf("request %d: Retry-After %q, want integer seconds", i, resp.Header.Get("Retry-After"))
					}
					continue
				}
				expectStatus(t, resp, http.StatusOK)
			}
			// A burst of 10 then 5 a second: of 30 quick requests, most are refused.
			if limited < 15 || limited > 20 {
				t.Fatalf("%d of 30 requests limited, want about 20", limited)
			}
			expectStatus(t, do(t, calm, http.MethodGet, "/Users?count=1", nil), http.StatusOK)
		})
	}
}

// TestAuthFailureThrottle: failed authentications past the budget are 429 with
// Retry-After, while a valid credential from the same address still works.
func TestAuthFailureThrottle(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			srv := storetest.StartServerWith(t, b.Open(t), httpapi.Options{AuthFailuresPerMinute: 5})
			good := srv.NewTenant(t, "good")
			wrong := scimclient.New(srv.URL, good.Issued.Credential.ID+".not-the-secret")
			statuses := map[int]int{}
			for range 12 {
				resp := do(t, wrong, http.MethodGet, "/Users", nil)
				statuses[resp.Status]++
				if resp.Status == http.StatusTooManyRequests && resp.Header.Get("Retry-After") == "" {
					t.Fatal("429 without Retry-After")
				}
			}
			if statuses[http.StatusUnauthorized] != 5 || statuses[http.StatusTooManyRequests] != 7 {
				t.Fatalf("statuses %v, want 5 × 401 then 7 × 429", statuses)
			}
			// The right secret for the same credential, from the same address, is served.
			expectStatus(t, do(t, good.Client, http.MethodGet, "/Users", nil), http.StatusOK)
		})
	}
}
