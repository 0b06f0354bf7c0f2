// Command compatdoc writes docs/compatibility.md: it starts scimd in process on a new
// SQLite file, replays every recorded identity-provider flow against it over loopback
// HTTP, and renders the results. Run it from the repository root:
//
//	go run ./internal/flows/cmd/compatdoc
//
// `go test ./internal/flows` fails when the file no longer matches what it would write.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"time"

	"github.com/scimd/scimd/internal/credential"
	"github.com/scimd/scimd/internal/flows"
	"github.com/scimd/scimd/internal/httpapi"
	"github.com/scimd/scimd/internal/scimclient"
	"github.com/scimd/scimd/internal/server"
	"github.com/scimd/scimd/internal/store"
	"github.com/scimd/scimd/internal/store/sqlite"
)

func main() {
	out := flag.String("o", filepath.Join("docs", "compatibility.md"), "file to write")
	flag.Parse()
	if err := run(context.Background(), *out); err != nil {
		fmt.Fprintln(os.Stderr, "compatdoc:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out string) error {
	dir, err := os.MkdirTemp("", "compatdoc")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	st, err := sqlite.Open(ctx, filepath.Join(dir, "scimd.db"))
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	defer st.Close()
	h := server.New(st, server.Options{})
	ts := httptest.NewServer(h)
	defer func() {
		ts.Close()
		h.Close(ctx)
	}()
	all, err := flows.Load()
	if err != nil {
		return err
	}
	var results []flows.Result
	failed := 0
	for _, f := range all {
		// A tenant per flow, as each provider has its own.
		tn, err := st.CreateTenant(ctx, store.Tenant{Name: f.Name})
		if err != nil {
			return fmt.Errorf("create tenant: %w", err)
		}
		issued := credential.New(tn.ID, time.Now().UTC())
		if err := st.CreateCredential(ctx, issued.Credential); err != nil {
			return fmt.Errorf("create credential: %w", err)
		}
		res := flows.Run(ctx, scimclient.New(ts.URL+httpapi.Prefix, issued.Bearer), f)
		_, n := res.Counts()
		failed += n
		results = append(results, res)
	}
	if err := os.WriteFile(out, []byte(flows.Markdown(all, results)), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	fmt.Printf("wrote %s: %d flows, %d failed steps\n", out, len(all), failed)
	return nil
}
