package activity_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/activity"
	"github.com/scimd/scimd/internal/store"
	"github.com/scimd/scimd/internal/storetest"
)

// TestMain reports the PostgreSQL tests skipped, if any, without -v (storetest.Main).
func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

func entry(tenantID string, i, status int) activity.Request {
	return activity.Request{
		Entry: store.ActivityEntry{
			TenantID: tenantID, At: time.Now().UTC(), RequestID: fmt.Sprintf("req-%d", i), CredentialID: "cred",
			Client: "okta", Method: "POST", Path: "/scim/v2/Users", Status: status, Latency: time.Millisecond,
			ResourceType: "User", ResourceID: fmt.Sprintf("u%d", i%3),
		},
		RequestBody:  []byte(`{"userName":"u` + fmt.Sprint(i) + `","password":"Secret-` + fmt.Sprint(i) + `"}`),
		ResponseBody: []byte(`{"id":"x"}`),
	}
}

// TestRecorderStoreRetention records through the batch writer into each store, reads the
// log back with its filters, and prunes by count and by age.
func TestRecorderStoreRetention(t *testing.T) {
	ctx := context.Background()
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			st := b.Open(t)
			a, err := st.CreateTenant(ctx, store.Tenant{Name: "a"})
			if err != nil {
				t.Fatal(err)
			}
			other, err := st.CreateTenant(ctx, store.Tenant{Name: "b"})
			if err != nil {
				t.Fatal(err)
			}
			rec := activity.New(st, activity.Options{BatchSize: 7, MaxRowsPerTenant: 10, MaxAge: time.Hour, RetentionInterval: time.Hour})
			defer rec.Close()
			for i := range 25 {
				status := 201
				if i%5 == 0 {
					status = 409
				}
				rec.Record(entry(a.ID, i, status))
			}
			rec.Record(entry(other.ID, 99, 500))
			if err := rec.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			if s := rec.Stats(); s.Written != 26 || s.Dropped != 0 || s.Failed != 0 || s.Depth != 0 {
				t.Fatalf("stats %+v, want 26 written", s)
			}
			all, err := st.ListActivity(ctx, a.ID, store.ActivityQuery{Limit: 100, WithBodies: true})
			if err != nil {
				t.Fatal(err)
			}
			if len(all) != 25 || all[0].RequestID != "req-24" || all[24].RequestID != "req-0" {
				t.Fatalf("got %d entries, newest %+v", len(all), all[0])
			}
			for _, e := range all {
				if strings.Contains(e.RequestBody, "Secret-") || !strings.Contains(e.RequestBody, activity.Redacted) {
					t.Fatalf("request body not redacted: %s", e.RequestBody)
				}
			}
			for _, tc := range []struct {
				name string
				q    store.ActivityQuery
				want int
			}{
				{"4xx", store.ActivityQuery{StatusMin: 400, StatusMax: 499}, 5},
				{"5xx", store.ActivityQuery{StatusMin: 500, StatusMax: 599}, 0},
				{"resource", store.ActivityQuery{ResourceID: "u1"}, 8},
				{"page", store.ActivityQuery{Before: all[9].Seq, Limit: 5}, 5},
				{"follow", store.ActivityQuery{After: all[2].Seq}, 2},
				{"since", store.ActivityQuery{Since: time.Now().Add(time.Minute)}, 0},
				{"client", store.ActivityQuery{Client: "entra"}, 0},
			} {
				got, err := st.ListActivity(ctx, a.ID, tc.q)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != tc.want {
					t.Errorf("%s: %d entries, want %d", tc.name, len(got), tc.want)
				}
				if tc.name == "follow" && got[0].Seq != all[1].Seq {
					t.Errorf("follow: first is %d, want the oldest newer entry %d", got[0].Seq, all[1].Seq)
				}
			}
			one, err := st.ActivityEntry(ctx, a.ID, all[0].Seq)
			if err != nil || one.RequestBody == "" || one.ResponseBody != `{"id":"x"}` {
				t.Fatalf("entry: %+v, %v", one, err)
			}
			if _, err := st.ActivityEntry(ctx, other.ID, all[0].Seq); err != store.ErrNotFound {
				t.Fatalf("another tenant's entry: %v, want not found", err)
			}
			stats, err := st.ActivityStats(ctx, a.ID, time.Now().Add(-time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			if stats.Requests != 25 || stats.Errors != 5 || stats.LastError == nil || stats.LastError.RequestID != "req-20" || stats.LastClient != "okta" {
				t.Fatalf("stats %+v", stats)
			}

			n, err := rec.Prune(ctx)
			if err != nil || n != 15 {
				t.Fatalf("prune by count deleted %d, %v; want 15", n, err)
			}
			left, _ := st.ListActivity(ctx, a.ID, store.ActivityQuery{Limit: 100})
			if len(left) != 10 || left[0].RequestID != "req-24" {
				t.Fatalf("%d left after prune, want the newest 10", len(left))
			}
			n, err = st.PruneActivity(ctx, time.Now().Add(time.Minute), 0)
			if err != nil || n != 11 {
				t.Fatalf("prune by age deleted %d, %v; want 11", n, err)
			}
		})
	}
}

// slowStore is a store whose appends block until released, to fill the buffer.
type slowStore struct {
	store.ActivityLog
	release chan struct{}
}

func (s slowStore) AppendActivity(ctx context.Context, e []store.ActivityEntry) error {
	<-s.release
	return s.ActivityLog.AppendActivity(ctx, e)
}

// TestRecorderDropsWhenFull shows Record never waits: with the writer stuck, entries over
// the buffer are dropped and counted.
func TestRecorderDropsWhenFull(t *testing.T) {
	st := storetest.OpenSQLite(t)
	tn, err := st.CreateTenant(context.Background(), store.Tenant{Name: "a"})
	if err != nil {
		t.Fatal(err)
	}
	slow := slowStore{ActivityLog: st, release: make(chan struct{})}
	rec := activity.New(slow, activity.Options{Buffer: 10, BatchSize: 1, RetentionInterval: time.Hour})
	start := time.Now()
	for i := range 100 {
		rec.Record(entry(tn.ID, i, 200))
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Record waited %v", d)
	}
	s := rec.Stats()
	// One entry is in the stuck write, ten in the buffer, the rest dropped.
	if s.Dropped < 89 || s.Depth > 10 || s.Capacity != 10 {
		t.Fatalf("stats %+v, want about 89 dropped", s)
	}
	close(slow.release)
	rec.Close()
	if s := rec.Stats(); s.Written+s.Dropped != 100 {
		t.Fatalf("stats %+v: written and dropped do not add up to 100", s)
	}
}
