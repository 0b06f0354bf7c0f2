package httpapi_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/httpapi"
	"github.com/scimd/scimd/internal/storetest"
)

// lockedBuffer is a bytes.Buffer for loggers of the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// rawRequest sends raw bytes on a new connection and returns the status line of the
// answer ("" when the server closed the connection without one).
func rawRequest(t *testing.T, addr, raw string, wait time.Duration) string {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, raw)
	conn.SetReadDeadline(time.Now().Add(wait))
	line, _ := bufio.NewReader(conn).ReadString('\n')
	return strings.TrimSpace(line)
}

// TestClientFailuresAreNotServerErrors: a body that cannot be read
// (malformed chunked framing, a client that disconnects mid-body, a slow body that hits
// the read timeout) and a client that goes away while a list is written are the client's
// doing: 400 (or 408) when an answer can still be sent, never a 5xx, never an ERROR log
// line, and counted.
func TestClientFailuresAreNotServerErrors(t *testing.T) {
	forEachBackend(t, func(t *testing.T, srv *storetest.Server) {
		var logs lockedBuffer
		api := httpapi.New(srv.Store, httpapi.Options{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
		ts := httptest.NewUnstartedServer(api)
		ts.Config.ReadTimeout = 500 * time.Millisecond
		ts.Config.ErrorLog = log.New(&logs, "http: ", 0)
		ts.Start()
		defer ts.Close()
		addr := ts.Listener.Addr().String()
		tn := srv.NewTenant(t, "clients")
		auth := "Authorization: Bearer " + tn.Issued.Bearer + "\r\n"
		post := "POST /scim/v2/Users HTTP/1.1\r\nHost: x\r\n" + auth + "Content-Type: application/scim+json\r\n"

		// Malformed chunked framing.
		if got := rawRequest(t, addr, post+"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n", 5*time.Second); !strings.Contains(got, " 400 ") {
			t.Errorf("chunk size zz: %q, want 400", got)
		}
		// A slow body that hits the read timeout: 408, a client's error.
		if got := rawRequest(t, addr, post+"Content-Length: 100\r\n\r\n{\"userName\":", 5*time.Second); !strings.Contains(got, " 408 ") {
			t.Errorf("slow body: %q, want 408", got)
		}
		// A client that disconnects mid-body.
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(conn, post+"Content-Length: 100\r\n\r\n{\"userName\":")
		time.Sleep(50 * time.Millisecond)
		conn.Close()

		// A client that goes away while a list is written: 200 users of 60 KB each (more
		// than the kernel buffers of both ends), a receive buffer as small as the kernel
		// allows, closed after the first bytes.
		var wg sync.WaitGroup
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < 200; i += 8 {
					if _, err := srv.Store.CreateUser(t.Context(), tn.ID, map[string]any{"userName": fmt.Sprintf("listed%d", i), "title": strings.Repeat("t", 60<<10)}); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
			return c.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 1024) })
		}}
		lc, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(lc, "GET /scim/v2/Users?count=1000 HTTP/1.1\r\nHost: x\r\n%s\r\n", auth)
		io.ReadFull(lc, make([]byte, 100))
		lc.(*net.TCPConn).SetLinger(0) // reset: the server's next write fails
		lc.Close()

		deadline := time.Now().Add(5 * time.Second)
		for api.ClientFailures() < 4 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if n := api.ClientFailures(); n < 4 {
			t.Errorf("%d client failures counted, want 4\n%s", n, logs.String())
		}
		out := logs.String()
		for _, bad := range []string{"level=ERROR", "superfluous", "broken pipe\n", "status=500"} {
			if strings.Contains(out, bad) {
				t.Errorf("log has %q:\n%s", bad, out)
			}
		}
		// The server still answers.
		expectList(t, do(t, tn.Client, http.MethodGet, "/Users?count=1", nil))
	})
}
