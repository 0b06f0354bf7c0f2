package storetest

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
)

// TestPostgresSkipsCounted: each test PostgresURL skips is counted for Main's line.
func TestPostgresSkipsCounted(t *testing.T) {
	t.Setenv(PostgresEnv, "")
	before := skippedPostgres.Load()
	for range 3 {
		t.Run("postgres", func(t *testing.T) {
			PostgresURL(t)
			t.Fatal("PostgresURL returned without " + PostgresEnv)
		})
	}
	if got := skippedPostgres.Load() - before; got != 3 {
		t.Fatalf("%d skips counted, want 3", got)
	}
	t.Setenv(PostgresEnv, "postgres://example.invalid/test")
	if got := PostgresURL(t); got != "postgres://example.invalid/test" || skippedPostgres.Load()-before != 3 {
		t.Fatalf("with %s set: %q, %d skips", PostgresEnv, got, skippedPostgres.Load()-before)
	}
}

// TestSkipSummary: the line names the package as go test's "ok" line does, the count,
// and how to run the skipped tests.
func TestSkipSummary(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		want string
	}{
		{1, "github.com/scimd/scimd/internal/httpapi: 1 PostgreSQL test skipped: set SCIMD_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test?sslmode=disable to run them"},
		{85, "github.com/scimd/scimd/internal/httpapi: 85 PostgreSQL tests skipped: set SCIMD_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test?sslmode=disable to run them"},
	} {
		if got := skipSummary("github.com/scimd/scimd/internal/httpapi", tc.n); got != tc.want {
			t.Errorf("%d: %q, want %q", tc.n, got, tc.want)
		}
	}
	// Called as Main calls it, from a TestMain: here this package's own test.
	if got := func() string { return callerPackage() }(); got != "github.com/scimd/scimd/internal/storetest" {
		t.Errorf("callerPackage from this package's test: %q", got)
	}
}

type closer struct {
	bytes.Buffer
	closed bool
}

func (c *closer) Close() error { c.closed = true; return nil }

// TestSummaryOutput: without -v the line goes to the terminal, which go test does not
// capture; with -v, or with no terminal, to stderr, which go test shows with -v.
func TestSummaryOutput(t *testing.T) {
	tty := &closer{}
	haveTTY := func() (io.WriteCloser, error) { return tty, nil }
	noTTY := func() (io.WriteCloser, error) { return nil, errors.New("no controlling terminal") }

	w, done := summaryOutput(false, haveTTY)
	if w != io.Writer(tty) {
		t.Fatalf("without -v, with a terminal: %T, want the terminal", w)
	}
	done()
	if !tty.closed {
		t.Fatalf("the terminal is not closed")
	}
	for _, tc := range []struct {
		verbose bool
		tty     func() (io.WriteCloser, error)
	}{{true, haveTTY}, {false, noTTY}, {true, noTTY}} {
		if w, done := summaryOutput(tc.verbose, tc.tty); w != io.Writer(os.Stderr) {
			t.Errorf("verbose %t: %T, want stderr", tc.verbose, w)
		} else {
			done()
		}
	}
	if !strings.Contains(skipSummary("p", 2), PostgresEnv) {
		t.Fatal("the line does not name " + PostgresEnv)
	}
}
