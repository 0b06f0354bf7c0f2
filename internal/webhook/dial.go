package webhook

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"time"
)

// ErrPrivateAddress is the error of a connection refused by the address guard.
var ErrPrivateAddress = errors.New("the address is loopback, private, link-local or otherwise not public")

// blocked are address ranges no webhook may reach unless private targets are allowed:
// besides what netip classifies (loopback, private, link-local — which holds the cloud
// metadata address 169.254.169.254 —, multicast, unspecified), the shared address space
// of carrier-grade NAT, IPv4-mapped and NAT64 forms of the others are unmapped first.
var blocked = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"),
}

// Public reports whether a webhook may connect to addr.
func Public(addr netip.Addr) bool {
	addr = addr.Unmap()
	if addr.IsLoopback() || addr.IsPrivate() || addr.IsLinkLocalUnicast() || addr.IsLinkLocalMulticast() ||
		addr.IsInterfaceLocalMulticast() || addr.IsMulticast() || addr.IsUnspecified() || !addr.IsValid() {
		return false
	}
	for _, p := range blocked {
		if p.Contains(addr) {
			return false
		}
	}
	return true
}

// ClientOptions configure the HTTP client of deliveries.
type ClientOptions struct {
	// AllowPrivate lets webhooks reach loopback and private addresses (tests, a receiver
	// on the same host or network).
	AllowPrivate bool
	// Timeout bounds one delivery, from connecting to the end of the answer.
	Timeout time.Duration
}

// NewClient returns the HTTP client deliveries use. The address guard runs when the
// connection is made, on the address actually dialled: a name that resolved to a public
// address when the endpoint was added and to a private one now (DNS rebinding) is
// refused. Redirects are not followed: a receiver answers where it was registered.
func NewClient(opts ClientOptions) *http.Client {
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	if !opts.AllowPrivate {
		dialer.ControlContext = func(_ context.Context, network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("webhook target %s: %w", address, err)
			}
			if !Public(ap.Addr()) {
				return fmt.Errorf("webhook target %s: %w", address, ErrPrivateAddress)
			}
			return nil
		}
	}
	tr := &http.Transport{
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: opts.Timeout,
		// No proxy: the guard must see the receiver's address, not a proxy's.
		Proxy: nil,
	}
	return &http.Client{
		Transport: tr,
		Timeout:   opts.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// maxResponseBytes is how much of an answer's body is read; responsePrefix how much of
// it the delivery log keeps.
const (
	maxResponseBytes = 4 << 10
	responsePrefix   = 256
)

// readCapped reads at most maxResponseBytes of a body and returns the log's prefix.
func readCapped(r io.Reader) string {
	b, _ := io.ReadAll(io.LimitReader(r, maxResponseBytes))
	if len(b) > responsePrefix {
		b = b[:responsePrefix]
	}
	// Kept as text in the database: a character cut in two and NULs are dropped.
	return strings.ToValidUTF8(strings.ReplaceAll(string(b), "\x00", ""), "")
}
