package cli

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/credential"
	"github.com/scimd/scimd/internal/scimclient"
	"github.com/scimd/scimd/internal/store"
	"github.com/scimd/scimd/internal/storetest"
)

// TestServeWriteTimeout: a client that asks for a large group and stops reading is cut
// after --write-timeout, so it neither keeps its request open nor stretches a shutdown to
// the full shutdown deadline (30 s).
func TestServeWriteTimeout(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 20,000 users")
	}
	db := tempDB(t)
	st := openTestStore(t, db)
	ctx := context.Background()
	tn, err := st.CreateTenant(ctx, store.Tenant{Name: "big"})
	if err != nil {
		t.Fatal(err)
	}
	issued := credential.New(tn.ID, time.Now().UTC())
	if err := st.CreateCredential(ctx, issued.Credential); err != nil {
		t.Fatal(err)
	}
	ids := storetest.SeedUsers(t, st, tn.ID, 20000)
	g, err := st.CreateGroup(ctx, tn.ID, map[string]any{"displayName": "everyone"}, ids)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()

	s := startServe(t, []string{"serve", "--addr", "127.0.0.1:0", "--db", db, "--write-timeout", "1s"}, nil, true)
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 1024) })
	}}
	conn, err := d.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /scim/v2/Groups/%s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n\r\n", g.ID, s.addr, issued.Bearer)
	time.Sleep(300 * time.Millisecond)
	start := time.Now()
	s.stop(t)
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("shutdown took %v with a client that does not read; --write-timeout is 1s", took)
	}
}

// TestServeMaxBodyBytes: SCIMD_MAX_BODY_BYTES (--max-body-bytes) caps a request body: a
// larger one is 413 with a SCIM error naming the limit.
func TestServeMaxBodyBytes(t *testing.T) {
	s := startServe(t, []string{"serve", "--addr", "127.0.0.1:0", "--db", tempDB(t)}, map[string]string{"SCIMD_MAX_BODY_BYTES": "1000"}, true)
	c := scimclient.New("http://"+s.addr+"/scim/v2", printedSecrets(t, s.stdout.String())["Bearer token"])
	call(t, c, "POST", "/Users", map[string]any{"userName": "small"}, http.StatusCreated)
	e := call(t, c, "POST", "/Users", map[string]any{"userName": "big", "title": strings.Repeat("x", 1000)}, http.StatusRequestEntityTooLarge)
	if d, _ := e["detail"].(string); !strings.Contains(d, "1000") {
		t.Fatalf("413 detail %q does not name the limit", d)
	}
}

// TestServeCompatFile: --compat names the per-tenant dialect file; a misspelt switch
// stops the server before it starts, naming the file.
func TestServeCompatFile(t *testing.T) {
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "good.json"), filepath.Join(dir, "bad.json")
	os.WriteFile(good, []byte(`{"default":{"scim2ModelsNoPagination":true}}`), 0o600)
	os.WriteFile(bad, []byte(`{"default":{"scim2ModelNoPagination":true}}`), 0o600)
	if code := Main(context.Background(), []string{"serve", "--addr", "127.0.0.1:0", "--db", tempDB(t), "--compat", bad}, Env{Stdout: io.Discard, Stderr: io.Discard, Getenv: os.Getenv}); code == 0 {
		t.Fatal("a misspelt switch was accepted")
	}
	s := startServe(t, []string{"serve", "--addr", "127.0.0.1:0", "--db", tempDB(t), "--compat", good}, nil, true)
	c := scimclient.New("http://"+s.addr+"/scim/v2", printedSecrets(t, s.stdout.String())["Bearer token"])
	if spc := call(t, c, "GET", "/ServiceProviderConfig", nil, http.StatusOK); spc["pagination"] != nil {
		t.Fatalf("pagination advertised with the switch on: %v", spc)
	}
}
