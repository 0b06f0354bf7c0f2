package cli

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"
)

// healthcheck probes a running scimd's /healthz (or /readyz) and exits non-zero unless it
// answers 200: the container image has no shell or HTTP client to probe with, so its
// HEALTHCHECK runs the binary itself.
func healthcheck(ctx context.Context, args []string, env Env) error {
	var c common
	fs := newFlags("healthcheck", env, &c)
	addr := fs.String("addr", ":8080", "the listen address of the scimd to probe (serve's --addr)")
	path := fs.String("path", "/healthz", "the path to probe: /healthz (alive) or /readyz (database reachable, schema current)")
	timeout := fs.Duration("timeout", 3*time.Second, "how long to wait for the answer")
	if _, err := parse(fs, args, env); err != nil {
		return err
	}
	host, port, err := net.SplitHostPort(*addr)
	if err != nil {
		return fmt.Errorf("--addr: %w", err)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(host, port)+*path, nil)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s answered %s", *path, resp.Status)
	}
	fmt.Fprintln(env.Stdout, "ok")
	return nil
}
