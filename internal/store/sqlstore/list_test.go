package sqlstore_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"github.com/scimd/scimd/internal/scim"
	"github.com/scimd/scimd/internal/store"
	"github.com/scimd/scimd/internal/storetest"
)

// TestListedGroupsAndRoles: every page of a user list carries each user's groups and roles
// as a read of that user does, whether the page is every user between its first and last
// (read by range) or picked by a filter, with another tenant's users interleaved (their
// seqs fall inside the first tenant's pages) and in groups of its own.
func TestListedGroupsAndRoles(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			st := b.Open(t)
			acme, err := st.CreateTenant(ctx, store.Tenant{Name: "acme"})
			if err != nil {
				t.Fatal(err)
			}
			other, err := st.CreateTenant(ctx, store.Tenant{Name: "other"})
			if err != nil {
				t.Fatal(err)
			}
			var acmeIDs, otherIDs []string
			for i := range 12 {
				for _, tn := range []struct {
					id  string
					ids *[]string
				}{{acme.ID, &acmeIDs}, {other.ID, &otherIDs}} {
					u, err := st.CreateUser(ctx, tn.id, scim.Resource{"userName": fmt.Sprintf("u%d", i), "active": i != 4})
					if err != nil {
						t.Fatal(err)
					}
					*tn.ids = append(*tn.ids, u.ID)
				}
			}
			groups := map[string][]string{"Eng": {acmeIDs[1], acmeIDs[2], acmeIDs[4], acmeIDs[7]}, "Ops": {acmeIDs[2], acmeIDs[11]}}
			for name, members := range groups {
				if _, err := st.CreateGroup(ctx, acme.ID, scim.Resource{"displayName": name}, members); err != nil {
					t.Fatal(err)
				}
			}
			// The other tenant's memberships sit between acme's in the indexes' seq order.
			if _, err := st.CreateGroup(ctx, other.ID, scim.Resource{"displayName": "Eng"}, otherIDs); err != nil {
				t.Fatal(err)
			}
			want := map[string]*store.User{}
			for _, id := range acmeIDs {
				u, err := st.GetUser(ctx, acme.ID, id, store.ReadOptions{WithGroups: true, WithRoles: true})
				if err != nil {
					t.Fatal(err)
				}
				want[id] = u
			}
			if len(want[acmeIDs[2]].Groups) != 2 || !reflect.DeepEqual(want[acmeIDs[2]].Roles, []string{"Eng", "Ops"}) ||
				len(want[acmeIDs[4]].Groups) != 1 || len(want[acmeIDs[4]].Roles) != 0 {
				t.Fatalf("reads: u2 %+v %v, u4 (inactive) %+v %v", want[acmeIDs[2]].Groups, want[acmeIDs[2]].Roles, want[acmeIDs[4]].Groups, want[acmeIDs[4]].Roles)
			}
			filter, err := scim.ParseFilter(`userName sw "u1"`)
			if err != nil {
				t.Fatal(err)
			}
			for _, q := range []store.ListQuery{
				{Count: 5},
				{Count: 5, StartIndex: 6},
				{Count: 5, StartIndex: 11},
				{Count: 100, Filter: filter},
			} {
				q.WithGroups, q.WithRoles = true, true
				if q.StartIndex == 0 {
					q.StartIndex = 1
				}
				page, err := st.ListUsers(ctx, acme.ID, q)
				if err != nil {
					t.Fatal(err)
				}
				if len(page.Items) == 0 {
					t.Fatalf("%+v: empty page", q)
				}
				for _, u := range page.Items {
					w := want[u.ID]
					if w == nil {
						t.Fatalf("%+v: user %s is not acme's", q, u.ID)
					}
					if !reflect.DeepEqual(u.Groups, w.Groups) || !reflect.DeepEqual(u.Roles, w.Roles) {
						t.Errorf("%+v: %s listed with groups %+v roles %v, read with %+v %v", q, u.Data["userName"], u.Groups, u.Roles, w.Groups, w.Roles)
					}
				}
			}
		})
	}
}
