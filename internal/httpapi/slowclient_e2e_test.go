package httpapi_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/storetest"
)

// readPool is each backend's read connection pool size (sqlite.Open, postgres.DefaultMaxConns).
var readPool = map[string]int{"sqlite": 4, "postgres": 16}

// stalledGet sends GET path with the bearer token over a TCP connection whose receive
// buffer is as small as the kernel allows, and never reads the response: a client that
// has stopped reading. The connection is closed when the test ends.
func stalledGet(t *testing.T, base, bearer, path string) {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 1024)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	conn, err := d.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "GET %s%s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n\r\n", u.Path, path, u.Host, bearer)
}

// TestSlowReadersDoNotStopOthers: clients that ask for a large group
// and never read the response must not hold database connections, or as many of them as
// the read pool has connections stop every request of every tenant (credential checks
// included). Pool size + 4 such clients on a 20,000-member group; meanwhile another
// tenant's GET /Users?count=1 must keep answering, each in under 1 s (a liveness bound,
// generously set: it answers in milliseconds).
func TestSlowReadersDoNotStopOthers(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 20,000 users")
	}
	forEachBackend(t, func(t *testing.T, srv *storetest.Server) {
		backend := t.Name()[strings.LastIndex(t.Name(), "/")+1:]
		big := srv.NewTenant(t, "big")
		ids := storetest.SeedUsers(t, srv.Store, big.ID, 20000)
		g, err := srv.Store.CreateGroup(context.Background(), big.ID, map[string]any{"displayName": "everyone"}, ids)
		if err != nil {
			t.Fatal(err)
		}
		other := srv.NewTenant(t, "other")
		createUser(t, other.Client, userBody("alice", nil))

		for i := 0; i < readPool[backend]+4; i++ {
			stalledGet(t, srv.URL, big.Issued.Bearer, "/Groups/"+g.ID)
		}
		// Let the stalled requests reach the point where they wait on their sockets.
		time.Sleep(500 * time.Millisecond)
		deadline := time.Now().Add(2 * time.Second)
		n := 0
		var worst time.Duration
		for time.Now().Before(deadline) {
			ctx, cancel := context.WithTimeout(t.Context(), time.Second)
			start := time.Now()
			resp, err := other.Client.Do(ctx, http.MethodGet, "/Users?count=1", nil)
			cancel()
			if err != nil {
				t.Fatalf("GET /Users?count=1 of another tenant while %d clients stall on a large group: %v (after %d answers)", readPool[backend]+4, err, n)
			}
			expectList(t, resp)
			worst = max(worst, time.Since(start))
			n++
		}
		// The members, read in pages, are all there, each once.
		body := mustDo(t, big.Client, http.MethodGet, "/Groups/"+g.ID, nil, http.StatusOK)
		members, _ := body["members"].([]any)
		seen := map[any]bool{}
		for _, m := range members {
			seen[m.(map[string]any)["value"]] = true
		}
		if len(members) != len(ids) || len(seen) != len(ids) {
			t.Fatalf("group has %d members (%d distinct), want %d", len(members), len(seen), len(ids))
		}
		t.Logf("%s: %d lookups in 2 s while %d clients stall, slowest %v", backend, n, readPool[backend]+4, worst)
	})
}
