package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/scimclient"
	"github.com/scimd/scimd/internal/server"
	"github.com/scimd/scimd/internal/store/sqlite"
)

// TestActivityCommand reads a tenant's activity log, written by a server on the same
// database, with each filter, and follows it as new requests arrive.
func TestActivityCommand(t *testing.T) {
	db := tempDB(t)
	ok(t, db, "tenant", "create", "acme")
	var cred struct {
		Tenant, ID, Username, Password, Bearer string
		BaseURL                                string `json:"base_url"`
	}
	okJSON(t, db, &cred, "credential", "create", "--tenant", "acme", "--json")
	st, err := sqlite.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h := server.New(st, server.Options{})
	srv := httptest.NewServer(h)
	defer srv.Close()
	c := scimclient.New(srv.URL+"/scim/v2", cred.Bearer)
	user := map[string]any{"userName": "ada@example.com", "password": "Secret-1!"}
	created := call(t, c, "POST", "/Users", user, 201)
	call(t, c, "POST", "/Users", user, 409)
	call(t, c, "GET", "/Users?count=1", nil, 200)
	if err := h.Activity.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}

	type entry struct {
		Status     int    `json:"status"`
		Method     string `json:"method"`
		ScimType   string `json:"scim_type"`
		ResourceID string `json:"resource_id"`
	}
	lines := func(args ...string) []entry {
		t.Helper()
		var out []entry
		for _, l := range strings.Split(strings.TrimSpace(ok(t, db, append([]string{"activity", "--tenant", "acme"}, args...)...)), "\n") {
			if l == "" {
				continue
			}
			var e entry
			if err := json.Unmarshal([]byte(l), &e); err != nil {
				t.Fatalf("not a JSON line: %q", l)
			}
			out = append(out, e)
		}
		return out
	}
	for _, tc := range []struct {
		args []string
		want []int
	}{
		{[]string{"--json"}, []int{201, 409, 200}},
		{[]string{"--json", "--status", "4xx"}, []int{409}},
		{[]string{"--json", "--user", created["id"].(string)}, []int{201}},
		{[]string{"--json", "--limit", "2"}, []int{409, 200}},
		{[]string{"--json", "--client", "okta"}, nil},
		{[]string{"--json", "--since", "0"}, []int{201, 409, 200}},
	} {
		got := lines(tc.args...)
		var statuses []int
		for _, e := range got {
			statuses = append(statuses, e.Status)
		}
		if !slices.Equal(statuses, tc.want) {
			t.Errorf("activity %v: statuses %v, want %v", tc.args, statuses, tc.want)
		}
	}
	text := ok(t, db, "activity", "--tenant", "acme", "--status", "409")
	if !strings.Contains(text, "STATUS") || !strings.Contains(text, "uniqueness: ") {
		t.Errorf("activity as text:\n%s", text)
	}
	fails(t, runMain(t, db, nil, "activity", "--tenant", "acme", "--status", "4x"), "status", "a malformed status")
	fails(t, runMain(t, db, nil, "activity"), "--tenant", "no tenant")

	// --follow prints what arrives after it started, until interrupted.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r, w := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"activity", "--tenant", "acme", "--json", "--since", "1ns", "--follow", "--db", db}, Env{Stdout: w, Stderr: w, Getenv: envOf(nil)})
	}()
	time.Sleep(200 * time.Millisecond)
	call(t, c, "GET", "/Users/"+created["id"].(string), nil, 200)
	h.Activity.Flush(context.Background())
	sc := bufio.NewScanner(r)
	deadline := time.AfterFunc(10*time.Second, cancel)
	defer deadline.Stop()
	if !sc.Scan() {
		t.Fatal("--follow printed nothing")
	}
	var e entry
	if err := json.Unmarshal(sc.Bytes(), &e); err != nil || e.Method != "GET" || e.ResourceID != created["id"] {
		t.Fatalf("--follow printed %s (%v)", sc.Text(), err)
	}
	cancel()
	go func() {
		for sc.Scan() {
		}
	}()
	if code := <-done; code != 0 {
		t.Fatalf("--follow exited %d", code)
	}
}
