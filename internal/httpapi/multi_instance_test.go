package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/credential"
	"github.com/scimd/scimd/internal/scimclient"
	"github.com/scimd/scimd/internal/store"
	"github.com/scimd/scimd/internal/store/postgres"
	"github.com/scimd/scimd/internal/storetest"
)

// twoInstances starts two scimd servers on different loopback ports, each with its own
// store (its own connection pool) on one PostgreSQL schema, and returns a client for each,
// authenticated as the same tenant.
func twoInstances(t *testing.T) (a, b *scimclient.Client) {
	t.Helper()
	dsn := storetest.NewPostgresSchema(t)
	var clients []*scimclient.Client
	var bearer string
	for i := 0; i < 2; i++ {
		st, err := postgres.Open(context.Background(), dsn)
		if err != nil {
			t.Fatalf("open instance %d: %v", i, err)
		}
		t.Cleanup(func() { st.Close() })
		srv := storetest.StartServer(t, st)
		if i == 0 {
			tn, err := st.CreateTenant(context.Background(), store.Tenant{Name: "acme"})
			if err != nil {
				t.Fatal(err)
			}
			issued := credential.New(tn.ID, time.Now().UTC())
			if err := st.CreateCredential(context.Background(), issued.Credential); err != nil {
				t.Fatal(err)
			}
			bearer = issued.Bearer
		}
		c := scimclient.New(srv.URL, bearer)
		c.HTTP = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
		clients = append(clients, c)
	}
	return clients[0], clients[1]
}

// TestInstancesRaceToCreateUserName: two instances creating the same userName (in different
// letter case) at the same moment give exactly one 201 and one 409 uniqueness.
func TestInstancesRaceToCreateUserName(t *testing.T) {
	a, b := twoInstances(t)
	for round := 0; round < 10; round++ {
		name := fmt.Sprintf("Race.User%d@Example.com", round)
		var wg sync.WaitGroup
		statuses := make([]int, 2)
		for i, c := range []*scimclient.Client{a, b} {
			userName := name
			if i == 1 {
				userName = strings.ToLower(name)
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp := do(t, c, "POST", "/Users", userBody(userName, nil))
				statuses[i] = resp.Status
				if resp.Status == http.StatusConflict {
					expectError(t, resp, http.StatusConflict, "uniqueness")
				}
			}()
		}
		wg.Wait()
		if !(statuses[0] == 201 && statuses[1] == 409 || statuses[0] == 409 && statuses[1] == 201) {
			t.Fatalf("round %d: statuses %v, want one 201 and one 409", round, statuses)
		}
		if l := filterUsers(t, b, fmt.Sprintf("userName eq %q", name)); l.Total != 1 {
			t.Fatalf("round %d: %d users named %s", round, l.Total, name)
		}
	}
}

// TestInstancesConcurrentMembershipChanges: members added to one group through both
// instances concurrently, and some removed, are all accounted for.
func TestInstancesConcurrentMembershipChanges(t *testing.T) {
	a, b := twoInstances(t)
	const users = 40
	ids := make([]string, users)
	for i := range ids {
		ids[i] = createUser(t, a, userBody(fmt.Sprintf("member%d@example.com", i), nil))["id"].(string)
	}
	g := mustDo(t, a, "POST", "/Groups", map[string]any{"displayName": "Engineers"}, http.StatusCreated)
	gid := g["id"].(string)
	var wg sync.WaitGroup
	for i, id := range ids {
		c := []*scimclient.Client{a, b}[i%2]
		wg.Add(1)
		go func() {
			defer wg.Done()
			mustDo(t, c, "PATCH", "/Groups/"+gid, patchBody(patchOp("add", "members", []any{map[string]any{"value": id}})), http.StatusNoContent)
		}()
	}
	wg.Wait()
	// Remove every third member concurrently, through both instances, mixing the Okta and
	// Entra shapes.
	want := map[string]bool{}
	for i, id := range ids {
		if i%3 != 0 {
			want[id] = true
			continue
		}
		c := []*scimclient.Client{a, b}[i%2]
		body := patchBody(patchOp("remove", fmt.Sprintf("members[value eq %q]", id)))
		if i%2 == 1 {
			body = patchBody(patchOp("Remove", "members", []any{map[string]any{"value": id}}))
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			mustDo(t, c, "PATCH", "/Groups/"+gid, body, http.StatusNoContent)
		}()
	}
	wg.Wait()
	for _, c := range []*scimclient.Client{a, b} {
		got := mustDo(t, c, "GET", "/Groups/"+gid, nil, http.StatusOK)
		members, _ := got["members"].([]any)
		seen := map[string]bool{}
		for _, m := range members {
			seen[m.(map[string]any)["value"].(string)] = true
		}
		if len(seen) != len(want) {
			t.Fatalf("group has %d members, want %d", len(seen), len(want))
		}
		for id := range want {
			if !seen[id] {
				t.Fatalf("member %s was lost", id)
			}
		}
	}
}

// TestInstancesIfMatch: ETag preconditions hold across instances: of concurrent PATCHes
// through both instances carrying the same If-Match, exactly one succeeds, and a tag
// issued by one instance is honoured by the other.
func TestInstancesIfMatch(t *testing.T) {
	a, b := twoInstances(t)
	id := createUser(t, a, userBody("etag.user@example.com", nil))["id"].(string)
	resp := do(t, a, "GET", "/Users/"+id, nil)
	expectStatus(t, resp, http.StatusOK)
	tag := resp.Header.Get("ETag")
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	for i := 0; i < 10; i++ {
		c := []*scimclient.Client{a, b}[i%2]
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := doWith(t, c, "PATCH", "/Users/"+id, patchBody(patchOp("replace", "nickName", fmt.Sprintf("n%d", i))), http.Header{"If-Match": {tag}})
			mu.Lock()
			statuses[r.Status]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if statuses[200] != 1 || statuses[412] != 9 {
		t.Fatalf("statuses %v, want one 200 and nine 412", statuses)
	}
	// The new tag, read through instance b, is accepted by instance a.
	resp = do(t, b, "GET", "/Users/"+id, nil)
	newTag := resp.Header.Get("ETag")
	if newTag == tag {
		t.Fatalf("ETag did not change")
	}
	r := doWith(t, a, "PUT", "/Users/"+id, userBody("etag.user@example.com", nil), http.Header{"If-Match": {newTag}})
	expectStatus(t, r, http.StatusOK)
	r = doWith(t, b, "DELETE", "/Users/"+id, nil, http.Header{"If-Match": {newTag}})
	expectStatus(t, r, http.StatusPreconditionFailed)
}
