package webhook_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/webhook"
	"github.com/scimd/scimd/sdk"
)

func TestPublic(t *testing.T) {
	for _, c := range []struct {
		addr   string
		public bool
	}{
		{"93.184.216.34", true}, {"2606:2800:220:1:248:1893:25c8:1946", true},
		{"127.0.0.1", false}, {"::1", false}, {"10.0.0.1", false}, {"172.16.5.4", false}, {"192.168.1.1", false},
		{"169.254.169.254", false}, {"fe80::1", false}, {"fd00:ec2::254", false}, {"100.64.0.1", false},
		{"0.0.0.0", false}, {"::", false}, {"::ffff:127.0.0.1", false}, {"224.0.0.1", false}, {"64:ff9b::7f00:1", false},
	} {
		if got := webhook.Public(netip.MustParseAddr(c.addr)); got != c.public {
			t.Errorf("Public(%s) = %v, want %v", c.addr, got, c.public)
		}
	}
}

// TestGuardAtConnect: the guard checks the address dialled, so a name that resolves to
// loopback (as a rebinding name would) is refused when connecting; redirects are not
// followed.
func TestGuardAtConnect(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://example.invalid/", http.StatusFound)
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, port, _ := splitHostPort(srv.URL)
	for _, u := range []string{srv.URL, "http://localhost:" + port} {
		req, _ := http.NewRequestWithContext(ctx, "POST", u, nil)
		_, err := webhook.NewClient(webhook.ClientOptions{}).Do(req)
		if !errors.Is(err, webhook.ErrPrivateAddress) {
			t.Errorf("%s: %v, want the address refused", u, err)
		}
	}
	req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL, nil)
	resp, err := webhook.NewClient(webhook.ClientOptions{AllowPrivate: true}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Errorf("status %d: the redirect was followed", resp.StatusCode)
	}
}

func splitHostPort(u string) (string, string, error) {
	ap, err := netip.ParseAddrPort(u[len("http://"):])
	return ap.Addr().String(), strconv.Itoa(int(ap.Port())), err
}

// TestSignatureVerifies: what the server signs, the SDK verifies, with either secret
// during a rotation.
func TestSignatureVerifies(t *testing.T) {
	s1, s2 := webhook.NewSecret(), webhook.NewSecret()
	k1, err := webhook.ParseSecret(s1)
	if err != nil {
		t.Fatal(err)
	}
	k2, _ := webhook.ParseSecret(s2)
	body := []byte(`{"id":"x"}`)
	h := http.Header{}
	for k, v := range webhook.Headers([][]byte{k2, k1}, "evt_1", time.Now(), body) {
		h.Set(k, v)
	}
	for _, s := range []string{s1, s2} {
		if err := sdk.Verify(s, h, body); err != nil {
			t.Errorf("Verify with %s: %v", s, err)
		}
	}
	if _, err := webhook.ParseSecret("whsec_c2hvcnQ="); err == nil {
		t.Error("a 5-byte key was accepted")
	}
}
