package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/scim"
	"github.com/scimd/scimd/internal/store"
	"github.com/scimd/scimd/internal/store/sqlite"
)

// TestEventsOfEarlierBuildNumberedFirst: a file holds events that an earlier build wrote
// unnumbered (it numbered them after commit); opening it numbers them before any write
// numbers its own, so that the feed keeps the order in which they were written.
func TestEventsOfEarlierBuildNumberedFirst(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "upgrade.db")
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	tn, err := st.CreateTenant(ctx, store.Tenant{Name: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"old-1", "old-2"} {
		if _, err := db.ExecContext(ctx, "INSERT INTO events (id, tenant_id, type, time, data) VALUES (?, ?, 'user.created', ?, '{}')",
			id, tn.ID, time.Now().UnixNano()); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	st, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.CreateUser(ctx, tn.ID, scim.Resource{"userName": "new"}); err != nil {
		t.Fatal(err)
	}
	page, err := st.Events(ctx, store.EventQuery{Tenant: tn.ID})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range page.Events {
		got = append(got, e.ID)
		if e.Seq != int64(len(got)) || e.Pos != int64(len(got)) {
			t.Errorf("event %s: seq %d, pos %d; want %d", e.ID, e.Seq, e.Pos, len(got))
		}
	}
	if len(got) != 3 || got[0] != "old-1" || got[1] != "old-2" || page.Events[2].Type != "user.created" {
		t.Fatalf("events %v; want old-1, old-2, then the new user's", got)
	}
}
