package httpapi_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/httpapi"
	"github.com/scimd/scimd/internal/scim"
	"github.com/scimd/scimd/internal/scimclient"
	"github.com/scimd/scimd/internal/storetest"
)

// TestBodyLimits: a body over Options.MaxBodyBytes is 413 with a SCIM
// error (declared or chunked); a group's members are capped at scim.MaxMembers per
// request, far above the other multi-valued attributes; requests over MaxInFlight are 503
// with Retry-After; and requests whose bodies wait for the body budget (bulk operations
// included, whose bodies are part of their request's) all complete.
func TestBodyLimits(t *testing.T) {
	forEachBackend(t, func(t *testing.T, srv *storetest.Server) {
		const limit = 8 << 20
		s := storetest.StartServerWith(t, srv.Store, httpapi.Options{MaxBodyBytes: limit, MaxBodyBytesInFlight: limit})
		c := s.NewTenant(t, "bodies").Client

		big := userBody("big", map[string]any{"title": strings.Repeat("x", limit)})
		body := expectError(t, do(t, c, http.MethodPost, "/Users", big), http.StatusRequestEntityTooLarge, "")
		if d, _ := body["detail"].(string); !strings.Contains(d, fmt.Sprint(limit)) {
			t.Fatalf("413 detail %q does not name the limit", d)
		}
		// Chunked, without a declared length.
		resp := send(t, c, scimclient.Request{Method: http.MethodPost, Path: "/Users", Body: io.MultiReader(strings.NewReader(`{"userName":"x","title":"`), strings.NewReader(strings.Repeat("x", limit)), strings.NewReader(`"}`))})
		expectError(t, resp, http.StatusRequestEntityTooLarge, "")

		// members: scim.MaxMembers per request, named when over.
		members := make([]any, scim.MaxMembers+1)
		for i := range members {
			members[i] = map[string]any{"value": fmt.Sprintf("%08d-0000-4000-8000-000000000000", i)}
		}
		g := map[string]any{"schemas": []string{scim.GroupSchema}, "displayName": "huge", "members": members}
		expectErrorNaming(t, do(t, c, http.MethodPost, "/Groups", g), http.StatusBadRequest, scim.ErrInvalidValue, "members")
		g["members"] = members[:scim.MaxMembers] // within the cap: refused only because no such users exist
		expectErrorNaming(t, do(t, c, http.MethodPost, "/Groups", g), http.StatusBadRequest, scim.ErrInvalidValue, "is not a user")
	})
}

// TestInFlightLimit: with MaxInFlight 2, two requests whose bodies are still arriving
// hold both places; a third is 503 with Retry-After, then answered once they are done.
func TestInFlightLimit(t *testing.T) {
	st := storetest.OpenSQLite(t)
	s := storetest.StartServerWith(t, st, httpapi.Options{MaxInFlight: 2})
	tn := s.NewTenant(t, "busy")
	host := strings.TrimPrefix(strings.TrimSuffix(s.URL, httpapi.Prefix), "http://")
	var conns []net.Conn
	for range 2 {
		conn, err := net.Dial("tcp", host)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "POST /scim/v2/Users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/scim+json\r\nContent-Length: 20\r\n\r\n{\"userName\":", tn.Issued.Bearer)
		conns = append(conns, conn)
	}
	time.Sleep(200 * time.Millisecond)
	resp := do(t, tn.Client, http.MethodGet, "/Users", nil)
	expectError(t, resp, http.StatusServiceUnavailable, "")
	if resp.Header.Get("Retry-After") == "" {
		t.Fatal("503 without Retry-After")
	}
	for i, conn := range conns {
		fmt.Fprintf(conn, `"a%d"}   `, i)
	}
	for _, conn := range conns {
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		line := make([]byte, 12)
		io.ReadFull(conn, line)
		if !strings.Contains(string(line), "201") {
			t.Fatalf("held request answered %q", line)
		}
		conn.Close()
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp := do(t, tn.Client, http.MethodGet, "/Users", nil)
		if resp.Status == http.StatusOK || time.Now().After(deadline) {
			expectList(t, resp)
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestBodyBudgetQueues: bodies larger than half the body budget are handled one at a
// time; 16 concurrent bulk requests of them (whose operations' bodies belong to their
// request's) all complete.
func TestBodyBudgetQueues(t *testing.T) {
	st := storetest.OpenSQLite(t)
	s := storetest.StartServerWith(t, st, httpapi.Options{MaxBodyBytesInFlight: 64 << 10})
	c := s.NewTenant(t, "queue").Client
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ops := []map[string]any{bop("POST", "/Users", "u", userBody(fmt.Sprintf("q%d", i), map[string]any{"title": strings.Repeat("t", 40<<10)}))}
			resp, err := c.Do(t.Context(), http.MethodPost, "/Bulk", bulkBody(0, ops...))
			if err != nil || resp.Status != http.StatusOK {
				t.Errorf("bulk %d: %v %v", i, err, resp)
			}
		}()
	}
	wg.Wait()
	if n := userCount(t, c); n != 16 {
		t.Fatalf("%d users, want 16", n)
	}
}
