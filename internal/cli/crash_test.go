package cli_test

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite" // database/sql driver "sqlite", for the integrity check

	"github.com/scimd/scimd/internal/cli"
	"github.com/scimd/scimd/internal/credential"
	"github.com/scimd/scimd/internal/scimclient"
	"github.com/scimd/scimd/internal/store"
	"github.com/scimd/scimd/internal/store/postgres"
	"github.com/scimd/scimd/internal/store/sqlite"
	"github.com/scimd/scimd/internal/storetest"
)

// TestCrashServeSubprocess is not a test of its own: TestCrashSafety runs this test binary
// again with SCIMD_CRASH_SERVE set to a database, as a scimd server to kill.
func TestCrashServeSubprocess(t *testing.T) {
	db := os.Getenv("SCIMD_CRASH_SERVE")
	if db == "" {
		t.Skip("only runs as TestCrashSafety's server process")
	}
	env := cli.Env{Stdout: os.Stdout, Stderr: os.Stderr, Getenv: func(string) string { return "" },
		Ready: func(addr string) { fmt.Printf("LISTENING %s\n", addr) }}
	os.Exit(cli.Main(context.Background(), []string{"serve", "--addr", "127.0.0.1:0", "--db", db,
		"--rate-per-credential", "0", "--rate-per-tenant", "0"}, env))
}

// crashServer is a scimd process on db.
type crashServer struct {
	cmd  *exec.Cmd
	addr string
}

func startCrashServer(t *testing.T, db string) *crashServer {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run", "^TestCrashServeSubprocess$")
	cmd.Env = append(os.Environ(), "SCIMD_CRASH_SERVE="+db)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = nil
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "LISTENING "); ok {
				addr <- a
			}
		}
	}()
	select {
	case a := <-addr:
		return &crashServer{cmd: cmd, addr: a}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("the server did not start")
	}
	return nil
}

func (s *crashServer) kill() {
	s.cmd.Process.Signal(syscall.SIGKILL)
	s.cmd.Wait()
}

// outcome is what the client knows of one write.
type outcome struct {
	userName string
	id       string
	acked    bool // 2xx received
	// deleting: a DELETE of it was sent; deleted: and acknowledged.
	deleting, deleted bool
}

// TestCrashSafety runs scimd in its own process under concurrent creates and deletes,
// kills it with SIGKILL at random moments, restarts it, and checks that every write
// acknowledged with a 2xx is there (or, for a delete, gone), that every other write is
// wholly there or wholly absent, that userNames are still unique, and, for SQLite, that
// the file passes PRAGMA integrity_check.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts real processes")
	}
	const kills = 20
	for _, b := range []string{"sqlite", "postgres"} {
		t.Run(b, func(t *testing.T) {
			var db string
			var open func() store.Store
			if b == "sqlite" {
				db = filepath.Join(t.TempDir(), "crash.db")
				open = func() store.Store {
					st, err := sqlite.Open(context.Background(), db)
					if err != nil {
						t.Fatal(err)
					}
					return st
				}
			} else {
				db = storetest.NewPostgresSchema(t)
				open = func() store.Store {
					st, err := postgres.Open(context.Background(), db)
					if err != nil {
						t.Fatal(err)
					}
					return st
				}
			}
			st := open()
			tn, err := st.CreateTenant(context.Background(), store.Tenant{Name: "default"})
			if err != nil {
				t.Fatal(err)
			}
			issued := credential.New(tn.ID, time.Now().UTC())
			if err := st.CreateCredential(context.Background(), issued.Credential); err != nil {
				t.Fatal(err)
			}
			st.Close()

			var mu sync.Mutex
			var outcomes []*outcome
			tried := 0
			for round := range kills {
				srv := startCrashServer(t, db)
				c := scimclient.New("http://"+srv.addr+"/scim/v2", issued.Bearer)
				c.HTTP = &http.Client{Timeout: 5 * time.Second}
				stop := make(chan struct{})
				var wg sync.WaitGroup
				for w := range 6 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for i := 0; ; i++ {
							select {
							case <-stop:
								return
							default:
							}
							o := &outcome{userName: fmt.Sprintf("r%02d-w%d-%04d@crash.example", round, w, i)}
							mu.Lock()
							outcomes = append(outcomes, o)
							tried++
							mu.Unlock()
							resp, err := c.Do(context.Background(), "POST", "/Users", map[string]any{
								"userName": o.userName, "emails": []any{map[string]any{"value": o.userName, "primary": true}},
							})
							if err != nil {
								return // the server is gone
							}
							if resp.Status != http.StatusCreated {
								t.Errorf("create %s: %d %s", o.userName, resp.Status, resp.Body)
								return
							}
							m, _ := resp.JSON()
							mu.Lock()
							o.id, o.acked = m["id"].(string), true
							mu.Unlock()
							if i%3 == 2 { // delete every third user just created
								mu.Lock()
								o.deleting = true
								mu.Unlock()
								resp, err := c.Do(context.Background(), "DELETE", "/Users/"+o.id, nil)
								if err != nil {
									return
								}
								if resp.Status != http.StatusNoContent {
									t.Errorf("delete %s: %d", o.userName, resp.Status)
									return
								}
								mu.Lock()
								o.deleted = true
								mu.Unlock()
							}
						}
					}()
				}
				time.Sleep(time.Duration(50+rand.IntN(250)) * time.Millisecond)
				srv.kill()
				close(stop)
				wg.Wait()
			}

			// Restart once more and check every outcome over HTTP.
			srv := startCrashServer(t, db)
			defer srv.kill()
			c := scimclient.New("http://"+srv.addr+"/scim/v2", issued.Bearer)
			present := map[string]string{} // userName → id
			for start := 1; ; start += 1000 {
				resp, err := c.Do(context.Background(), "GET", fmt.Sprintf("/Users?startIndex=%d&count=1000", start), nil)
				if err != nil || resp.Status != 200 {
					t.Fatalf("list after the crashes: %v %v", err, resp)
				}
				m, _ := resp.JSON()
				rs, _ := m["Resources"].([]any)
				for _, r := range rs {
					u := r.(map[string]any)
					name := u["userName"].(string)
					if _, dup := present[strings.ToLower(name)]; dup {
						t.Errorf("userName %s twice", name)
					}
					present[strings.ToLower(name)] = u["id"].(string)
				}
				if len(rs) < 1000 {
					break
				}
			}
			acked, ackedDeletes, unacked := 0, 0, 0 // acked: creates acknowledged and kept
			for _, o := range outcomes {
				id, there := present[strings.ToLower(o.userName)]
				switch {
				case o.deleted:
					ackedDeletes++
					if there {
						t.Errorf("%s: its delete was acknowledged, yet it is there", o.userName)
					}
				case o.deleting:
					unacked++ // created, then an unacknowledged delete: either is right
				case o.acked:
					acked++
					if !there || id != o.id {
						t.Errorf("%s: its create was acknowledged (id %s), yet it is missing (%q)", o.userName, o.id, id)
					}
				default:
					unacked++
				}
				if there {
					// Wholly there: its e-mail index row was written with it.
					q := fmt.Sprintf(`/Users?filter=emails.value%%20eq%%20%%22%s%%22`, o.userName)
					resp, err := c.Do(context.Background(), "GET", q, nil)
					if err != nil || resp.Status != 200 || !strings.Contains(string(resp.Body), id) {
						t.Errorf("%s is there but not found by its e-mail: %v %v", o.userName, err, resp)
					}
				}
			}
			t.Logf("%d kills; %d users written: %d kept and %d deleted with acknowledgement, checked; %d with a write unacknowledged (each wholly there or absent); %d users present",
				kills, tried, acked, ackedDeletes, unacked, len(present))
			if acked == 0 || ackedDeletes == 0 {
				t.Fatal("no acknowledged writes: the load did not run")
			}
			srv.kill()
			if b == "sqlite" {
				conn, err := sql.Open("sqlite", "file:"+db)
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				var res string
				if err := conn.QueryRow("PRAGMA integrity_check").Scan(&res); err != nil || res != "ok" {
					t.Fatalf("integrity_check: %q, %v", res, err)
				}
			}
		})
	}
}
