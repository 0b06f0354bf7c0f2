package sqlstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/events"
	"github.com/scimd/scimd/internal/roles"
	"github.com/scimd/scimd/internal/scim"
	"github.com/scimd/scimd/internal/store"
	"github.com/scimd/scimd/internal/storetest"
)

// number numbers every committed event, as the server's sequencer does.
func number(t *testing.T, st store.Store) int {
	t.Helper()
	total := 0
	for {
		n, err := st.SequenceEvents(context.Background())
		if err != nil {
			t.Fatalf("sequence events: %v", err)
		}
		if n == 0 {
			return total
		}
		total += n
	}
}

// readAll numbers what was written and reads a tenant's events after a sequence number,
// every page.
func readAll(t *testing.T, st store.Store, tenant string, after int64) ([]events.Event, int64) {
	t.Helper()
	number(t, st)
	var out []events.Event
	for {
		page, err := st.Events(context.Background(), store.EventQuery{Tenant: tenant, After: after, Limit: 7})
		if err != nil {
			t.Fatalf("events: %v", err)
		}
		out = append(out, page.Events...)
		if page.Next == after {
			return out, after
		}
		after = page.Next
	}
}

type wantEvent struct {
	typ     string
	id      string // the resource's id
	changed []string
	user    string   // member events: the user's id
	before  []string // roles_changed
	after   []string
}

func checkEvents(t *testing.T, got []events.Event, want []wantEvent) {
	t.Helper()
	var gotDesc, wantDesc []string
	for _, e := range got {
		var d events.Data
		if err := json.Unmarshal(e.Data, &d); err != nil {
			t.Fatalf("event %s: data: %v", e.ID, err)
		}
		s := fmt.Sprintf("%s %v", e.Type, d.Resource["id"])
		if d.Changed != nil {
			s += fmt.Sprintf(" changed=%v", d.Changed)
		}
		if d.User != nil {
			s += " user=" + d.User.ID
		}
		if e.Type == events.UserRolesChanged {
			s += fmt.Sprintf(" roles=%q->%q", d.RolesBefore, d.RolesAfter)
		}
		gotDesc = append(gotDesc, s)
	}
	for _, w := range want {
		s := fmt.Sprintf("%s %v", w.typ, w.id)
		if w.changed != nil {
			s += fmt.Sprintf(" changed=%v", w.changed)
		}
		if w.user != "" {
			s += " user=" + w.user
		}
		if w.typ == events.UserRolesChanged {
			if w.before == nil {
				w.before = []string{}
			}
			s += fmt.Sprintf(" roles=%q->%q", w.before, w.after)
		}
		wantDesc = append(wantDesc, s)
	}
	if !slices.Equal(gotDesc, wantDesc) {
		t.Errorf("events:\n got  %q\n want %q", gotDesc, wantDesc)
	}
}

// TestEventsOfEachWrite: every write function records exactly its events, in order, with
// gap-free sequence numbers; a write that fails records none.
func TestEventsOfEachWrite(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			st := b.Open(t)
			tn, err := st.CreateTenant(ctx, store.Tenant{Name: "acme"})
			if err != nil {
				t.Fatal(err)
			}
			tid := tn.ID
			after := int64(0)
			step := func(name string, want ...wantEvent) {
				t.Helper()
				got, next := readAll(t, st, tid, after)
				for i, e := range got {
					if e.Seq != after+int64(i)+1 || e.Tenant != tid {
						t.Errorf("%s: event %d has seq %d tenant %s, want seq %d tenant %s", name, i, e.Seq, e.Tenant, after+int64(i)+1, tid)
					}
				}
				t.Run(name, func(t *testing.T) { checkEvents(t, got, want) })
				after = next
			}
			alice, err := st.CreateUser(ctx, tid, scim.Resource{"userName": "alice", "active": true, "displayName": "Alice"})
			if err != nil {
				t.Fatal(err)
			}
			bob, err := st.CreateUser(ctx, tid, scim.Resource{"userName": "bob"})
			if err != nil {
				t.Fatal(err)
			}
			step("create users", wantEvent{typ: events.UserCreated, id: alice.ID}, wantEvent{typ: events.UserCreated, id: bob.ID})

			if _, err := st.CreateUser(ctx, tid, scim.Resource{"userName": "ALICE"}); err == nil {
				t.Fatal("a duplicate userName was accepted")
			}
			step("a failed write records nothing")

			update := func(id string, data scim.Resource) {
				t.Helper()
				if _, err := st.UpdateUser(ctx, tid, id, func(*store.User) (scim.Resource, error) { return data, nil }); err != nil {
					t.Fatal(err)
				}
			}
			update(alice.ID, scim.Resource{"userName": "alice", "active": true, "displayName": "Alice A."})
			step("update", wantEvent{typ: events.UserUpdated, id: alice.ID, changed: []string{"displayName"}})
			update(alice.ID, scim.Resource{"userName": "alice", "active": true, "displayName": "Alice A."})
			step("an update that changes nothing records nothing")
			update(alice.ID, scim.Resource{"userName": "alice", "active": false, "displayName": "Alice A."})
			step("deactivate", wantEvent{typ: events.UserDeactivated, id: alice.ID})
			update(alice.ID, scim.Resource{"userName": "alice", "active": true, "title": "CEO", "displayName": "Alice A."})
			step("reactivate with another change",
				wantEvent{typ: events.UserUpdated, id: alice.ID, changed: []string{"title"}},
				wantEvent{typ: events.UserReactivated, id: alice.ID})

			eng, err := st.CreateGroup(ctx, tid, scim.Resource{"displayName": "Engineering"}, []string{alice.ID})
			if err != nil {
				t.Fatal(err)
			}
			step("create group with a member",
				wantEvent{typ: events.GroupCreated, id: eng.ID},
				wantEvent{typ: events.GroupMemberAdded, id: eng.ID, user: alice.ID},
				wantEvent{typ: events.UserRolesChanged, id: alice.ID, after: []string{"Engineering"}})

			admins, err := st.CreateGroup(ctx, tid, scim.Resource{"displayName": "Admins"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			step("create empty group", wantEvent{typ: events.GroupCreated, id: admins.ID})

			updateGroup := func(id string, data scim.Resource, ops ...store.MemberOp) {
				t.Helper()
				if _, err := st.UpdateGroup(ctx, tid, id, func(g *store.Group) (scim.Resource, []store.MemberOp, error) {
					if data == nil {
						data = g.Data
					}
					return data, ops, nil
				}); err != nil {
					t.Fatal(err)
				}
			}
			updateGroup(admins.ID, nil, store.MemberOp{Kind: store.MembersAdd, UserIDs: []string{bob.ID, alice.ID}})
			step("add two members",
				wantEvent{typ: events.GroupMemberAdded, id: admins.ID, user: alice.ID},
				wantEvent{typ: events.GroupMemberAdded, id: admins.ID, user: bob.ID},
				wantEvent{typ: events.UserRolesChanged, id: alice.ID, before: []string{"Engineering"}, after: []string{"Admins", "Engineering"}},
				wantEvent{typ: events.UserRolesChanged, id: bob.ID, after: []string{"Admins"}})
			updateGroup(admins.ID, nil, store.MemberOp{Kind: store.MembersAdd, UserIDs: []string{bob.ID}})
			step("adding a member again records nothing")
			updateGroup(admins.ID, nil, store.MemberOp{Kind: store.MembersRemove, UserIDs: []string{bob.ID}},
				store.MemberOp{Kind: store.MembersAdd, UserIDs: []string{bob.ID}})
			step("removed and added back in one request records nothing")
			updateGroup(eng.ID, scim.Resource{"displayName": "Eng"})
			step("rename a group: its members' roles change",
				wantEvent{typ: events.GroupUpdated, id: eng.ID, changed: []string{"displayName"}},
				wantEvent{typ: events.UserRolesChanged, id: alice.ID, before: []string{"Admins", "Engineering"}, after: []string{"Admins", "Eng"}})
			updateGroup(admins.ID, nil, store.MemberOp{Kind: store.MembersSet, UserIDs: []string{bob.ID}})
			step("replace members",
				wantEvent{typ: events.GroupMemberRemoved, id: admins.ID, user: alice.ID},
				wantEvent{typ: events.UserRolesChanged, id: alice.ID, before: []string{"Admins", "Eng"}, after: []string{"Eng"}})

			if err := st.DeleteGroup(ctx, tid, admins.ID, nil); err != nil {
				t.Fatal(err)
			}
			step("delete group: its members lose the role",
				wantEvent{typ: events.GroupDeleted, id: admins.ID},
				wantEvent{typ: events.UserRolesChanged, id: bob.ID, before: []string{"Admins"}})
			if err := st.DeleteUser(ctx, tid, alice.ID, nil); err != nil {
				t.Fatal(err)
			}
			// Alice is still in Eng: she leaves it first; a deleted user's roles change
			// records nothing.
			step("delete user", wantEvent{typ: events.GroupMemberRemoved, id: eng.ID, user: alice.ID},
				wantEvent{typ: events.UserDeleted, id: alice.ID})

			// The all-tenants feed: every tenant's events, positioned in numbering order.
			other, err := st.CreateTenant(ctx, store.Tenant{Name: "other"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := st.CreateUser(ctx, other.ID, scim.Resource{"userName": "carol"}); err != nil {
				t.Fatal(err)
			}
			if b.Name == "sqlite" {
				// The one writer numbers a write's events in the write: readable at once,
				// nothing left for the sequencer.
				if page, err := st.Events(ctx, store.EventQuery{Tenant: other.ID}); err != nil || len(page.Events) != 1 || page.Events[0].Seq != 1 || page.Next != 1 {
					t.Fatalf("an event numbered in its write: %+v, %v; want seq 1", page, err)
				}
				if got := number(t, st); got != 0 {
					t.Fatalf("the sequencer numbered %d events, want 0", got)
				}
			} else {
				if page, err := st.Events(ctx, store.EventQuery{Tenant: other.ID}); err != nil || len(page.Events) != 0 || page.Next != 0 {
					t.Fatalf("an event is readable before it is numbered: %+v, %v", page, err)
				}
				if got := number(t, st); got != 1 {
					t.Fatalf("numbered %d events, want 1", got)
				}
			}
			n := int(after) + 1
			page, err := st.Events(ctx, store.EventQuery{Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			var seqs []int64
			for i, e := range page.Events {
				if e.Pos != int64(i)+1 {
					t.Errorf("event %d has position %d", i, e.Pos)
				}
				if e.Tenant == tid {
					seqs = append(seqs, e.Seq)
				}
			}
			if len(page.Events) != n || !slices.IsSorted(seqs) || page.Next != int64(n) {
				t.Errorf("all-tenants feed: %d events, next %d, seqs %v", len(page.Events), page.Next, seqs)
			}
			page, err = st.Events(ctx, store.EventQuery{Types: []string{events.UserCreated}})
			if err != nil || len(page.Events) != 3 || page.Next != int64(n) {
				t.Errorf("filtered feed: %d events, next %d, %v; want 3, next %d", len(page.Events), page.Next, err, n)
			}
			if pruned, err := st.PruneEvents(ctx, time.Now().Add(time.Hour)); err != nil || pruned != n {
				t.Errorf("PruneEvents = %d, %v; want %d", pruned, err, n)
			}
		})
	}
}

// TestEventsNoGapVisible: with many concurrent writers in one tenant, a reader that
// follows the feed sees every sequence number exactly once, in order: no number appears
// before a smaller one has committed (PostgreSQL commits concurrent transactions in any
// order).
func TestEventsNoGapVisible(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			st := b.Open(t)
			tn, err := st.CreateTenant(ctx, store.Tenant{Name: "acme"})
			if err != nil {
				t.Fatal(err)
			}
			const writers, each = 8, 40
			var wg sync.WaitGroup
			errs := make(chan error, writers+1)
			stop := make(chan struct{})
			sequencerDone := make(chan struct{})
			go func() {
				// The sequencer, as the server runs it, while the writers write.
				defer close(sequencerDone)
				for {
					if _, err := st.SequenceEvents(ctx); err != nil {
						errs <- err
						return
					}
					select {
					case <-stop:
						return
					default:
					}
				}
			}()
			for w := 0; w < writers; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < each; i++ {
						if _, err := st.CreateUser(ctx, tn.ID, scim.Resource{"userName": fmt.Sprintf("u%d-%d", w, i)}); err != nil {
							errs <- err
							return
						}
					}
				}()
			}
			done := make(chan struct{})
			go func() {
				wg.Wait()
				close(stop)
				<-sequencerDone
				number(t, st)
				close(done)
			}()
			var after int64
			seen := 0
			for finished := false; !finished; {
				select {
				case <-done:
					finished = true
				default:
				}
				page, err := st.Events(ctx, store.EventQuery{Tenant: tn.ID, After: after, Limit: 5})
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range page.Events {
					if e.Seq != after+1 {
						t.Fatalf("read seq %d after %d: a gap was visible", e.Seq, after)
					}
					after = e.Seq
					seen++
				}
				if len(page.Events) == 0 && page.Next != after {
					t.Fatalf("empty page moved the cursor from %d to %d", after, page.Next)
				}
				if finished && len(page.Events) > 0 {
					finished = false // read to the end
				}
			}
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			if seen != writers*each {
				t.Errorf("read %d events, want %d", seen, writers*each)
			}
		})
	}
}

// TestDefaultRolesChangeNumbersEveryTenant: a change of the default role configuration is
// one write that derives the roles of every tenant without its own, so its events belong
// to several tenants; each tenant's are numbered 1, 2, … in order and the feed of all
// tenants has no gap, as for a write of one tenant.
func TestDefaultRolesChangeNumbersEveryTenant(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			st := b.Open(t)
			tenants := map[string]int{} // id → users in its group
			for i, name := range []string{"acme", "globex", "initech"} {
				tn, err := st.CreateTenant(ctx, store.Tenant{Name: name})
				if err != nil {
					t.Fatal(err)
				}
				var ids []string
				for j := range i + 2 {
					u, err := st.CreateUser(ctx, tn.ID, scim.Resource{"userName": fmt.Sprintf("u%d", j)})
					if err != nil {
						t.Fatal(err)
					}
					ids = append(ids, u.ID)
				}
				if _, err := st.CreateGroup(ctx, tn.ID, scim.Resource{"displayName": "Staff"}, ids); err != nil {
					t.Fatal(err)
				}
				tenants[tn.ID] = len(ids)
			}
			number(t, st)
			before, err := st.Events(ctx, store.EventQuery{Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			validate := func(c roles.Config, inherited []roles.Role) error { return c.Validate(inherited) }
			def := roles.Config{Mode: roles.ModeMulti, Roles: []roles.Role{{Name: "member"}}, Rules: []roles.Rule{{Group: "Staff", Role: "member"}}}
			if _, err := st.SetRoleConfig(ctx, "", &def, validate); err != nil {
				t.Fatal(err)
			}
			// The next writes number on from there, in every tenant and in the feed.
			for id := range tenants {
				if _, err := st.CreateUser(ctx, id, scim.Resource{"userName": "after"}); err != nil {
					t.Fatal(err)
				}
			}
			number(t, st)
			all, err := st.Events(ctx, store.EventQuery{After: before.Next, Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			changed := map[string]int{}
			for i, e := range all.Events {
				if e.Pos != before.Next+int64(i)+1 {
					t.Fatalf("event %d since the change has position %d, want %d", i, e.Pos, before.Next+int64(i)+1)
				}
				switch {
				case e.Type == events.UserRolesChanged:
					changed[e.Tenant]++
				case e.Type != events.UserCreated || i < len(all.Events)-len(tenants):
					t.Fatalf("event %d is %s", i, e.Type)
				}
			}
			for id, n := range tenants {
				if changed[id] != n {
					t.Errorf("tenant %s: %d roles_changed events, want %d", id, changed[id], n)
				}
				evs, _ := readAll(t, st, id, 0)
				for i, e := range evs {
					if e.Seq != int64(i)+1 {
						t.Fatalf("tenant %s: event %d has seq %d", id, i, e.Seq)
					}
				}
			}
		})
	}
}
