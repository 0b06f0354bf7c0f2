package httpapi_test

import (
	"net/http"
	"net/netip"
	"testing"

	"github.com/scimd/scimd/internal/httpapi"
	"github.com/scimd/scimd/internal/storetest"
)

// TestForwardedHeaders: X-Forwarded-Proto and -Host make meta.location and Location only
// when the request comes from a trusted proxy.
func TestForwardedHeaders(t *testing.T) {
	for _, tc := range []struct {
		name    string
		trusted []netip.Prefix
		want    string // the origin of Location; "" for the listener's own
	}{
		{"no trusted proxy", nil, ""},
		{"another proxy", []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, ""},
		{"loopback trusted", []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, "https://scim.example.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := storetest.OpenSQLite(t)
			srv := storetest.StartServerWith(t, st, httpapi.Options{TrustedProxies: tc.trusted})
			c := newClient(t, srv, "fwd")
			h := hdr("X-Forwarded-Proto", "https, http", "X-Forwarded-Host", "scim.example.com")
			resp := doWith(t, c, http.MethodPost, "/Users", userBody("fwd@x.example", nil), h)
			expectStatus(t, resp, http.StatusCreated)
			want := tc.want
			if want == "" {
				want = srv.URL[:len(srv.URL)-len(httpapi.Prefix)]
			}
			body := bodyOf(t, resp)
			loc := want + httpapi.Prefix + "/Users/" + idOf(t, body)
			if got := resp.Header.Get("Location"); got != loc {
				t.Fatalf("Location %q, want %q", got, loc)
			}
			expectField(t, body, loc, "meta", "location")
			// A forwarded host that is not a host is never used.
			resp = doWith(t, c, http.MethodGet, "/Users/"+idOf(t, body), nil, hdr("X-Forwarded-Host", "evil.example/path?"))
			expectStatus(t, resp, http.StatusOK)
			if got := get(bodyOf(t, resp), "meta", "location"); got != srv.URL+"/Users/"+idOf(t, body) && got != loc {
				t.Fatalf("meta.location %v with a malformed forwarded host", got)
			}
		})
	}
}
