package cli

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/credential"
	"github.com/scimd/scimd/internal/scimclient"
	"github.com/scimd/scimd/internal/store"
)

// TestBackupWhileServing: scimd backup copies the database while a server writes to it;
// the copy is consistent (its counted total equals its rows, every user created before the
// backup began is in it), and scimd restore brings it back as a working database.
func TestBackupWhileServing(t *testing.T) {
	db := tempDB(t)
	st := openTestStore(t, db)
	tn, err := st.CreateTenant(context.Background(), store.Tenant{Name: "busy"})
	if err != nil {
		t.Fatal(err)
	}
	issued := credential.New(tn.ID, time.Now().UTC())
	if err := st.CreateCredential(context.Background(), issued.Credential); err != nil {
		t.Fatal(err)
	}
	st.Close()
	s := startServe(t, []string{"serve", "--addr", "127.0.0.1:0", "--db", db, "--rate-per-credential", "0", "--rate-per-tenant", "0"}, nil, true)
	defer s.stop(t)
	c := scimclient.New("http://"+s.addr+"/scim/v2", issued.Bearer)
	var created atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := c.Do(context.Background(), "POST", "/Users", map[string]any{"userName": fmt.Sprintf("w%d-%d@b.example", w, i)})
				if err != nil || resp.Status != http.StatusCreated {
					t.Errorf("create: %v %v", err, resp)
					return
				}
				created.Add(1)
			}
		}()
	}
	time.Sleep(200 * time.Millisecond)
	before := created.Load()
	backupFile := filepath.Join(t.TempDir(), "backup.db")
	out := ok(t, db, "backup", backupFile)
	close(stop)
	wg.Wait()
	if !strings.Contains(out, backupFile) {
		t.Fatalf("backup: %q", out)
	}
	fails(t, runMain(t, db, nil, "backup", backupFile), "exists", "a backup over an existing file")

	restored := filepath.Join(t.TempDir(), "restored.db")
	ok(t, restored, "restore", backupFile)
	fails(t, runMain(t, restored, nil, "restore", backupFile), "exists", "a restore over an existing database")
	notDB := filepath.Join(t.TempDir(), "not.db")
	os.WriteFile(notDB, []byte("hello"), 0o600)
	fails(t, runMain(t, filepath.Join(t.TempDir(), "x.db"), nil, "restore", notDB), "not", "a restore from a file that is not a scimd database")

	rs := openTestStore(t, restored)
	defer rs.Close()
	counted, err := rs.ListUsers(context.Background(), tn.ID, store.ListQuery{StartIndex: 1, Count: 1})
	if err != nil {
		t.Fatal(err)
	}
	rows := 0
	// The rows, read page by page, against the tenant's counter that gave counted.Total.
	for q := (store.ListQuery{StartIndex: 1, Count: 1000}); ; q.StartIndex += 1000 {
		p, err := rs.ListUsers(context.Background(), tn.ID, q)
		if err != nil {
			t.Fatal(err)
		}
		rows += len(p.Items)
		if len(p.Items) < 1000 {
			break
		}
	}
	if counted.Total != rows || int64(rows) < before || int64(rows) > created.Load() {
		t.Fatalf("restored: counted %d, %d rows; %d users created before the backup began, %d in all", counted.Total, rows, before, created.Load())
	}
	// The restored credential works on a server over the restored file.
	s2 := startServe(t, []string{"serve", "--addr", "127.0.0.1:0", "--db", restored}, nil, true)
	defer s2.stop(t)
	resp, err := scimclient.New("http://"+s2.addr+"/scim/v2", issued.Bearer).Do(context.Background(), "GET", "/Users?count=1", nil)
	if err != nil || resp.Status != 200 {
		t.Fatalf("a server on the restored file: %v %v", err, resp)
	}
	t.Logf("%d users in the backup, taken while %d..%d had been created", rows, before, created.Load())
}
