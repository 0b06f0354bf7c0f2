// Package server assembles scimd's HTTP surface over one store: SCIM for identity
// providers at /scim/v2 and the management API for the application at /api/v1.
package server

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/scimd/scimd/internal/api"
	"github.com/scimd/scimd/internal/httpapi"
	"github.com/scimd/scimd/internal/service"
	"github.com/scimd/scimd/internal/store"
)

// Options configure a Server.
type Options struct {
	// SCIM configures the SCIM API; its BaseURL also gives the SCIM base URL the
	// management API hands out.
	SCIM httpapi.Options
	// UsageInterval is how often last-used times are written (10 s when zero).
	UsageInterval time.Duration
	Logger        *slog.Logger
}

// Server is scimd's HTTP handler.
type Server struct {
	// Service is the administrative service layer the management API runs on.
	Service *service.Service
	usage   *service.Usage
	api     http.Handler
	scim    http.Handler
}

// New builds the server over st.
func New(st store.Store, opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.UsageInterval <= 0 {
		opts.UsageInterval = 10 * time.Second
	}
	usage := service.NewUsage(st, opts.UsageInterval, opts.Logger)
	scimBase := ""
	if opts.SCIM.BaseURL != "" {
		scimBase = strings.TrimSuffix(strings.TrimRight(opts.SCIM.BaseURL, "/"), httpapi.Prefix) + httpapi.Prefix
	}
	svc := service.New(st, service.Options{SCIMBaseURL: scimBase})
	scimOpts := opts.SCIM
	scimOpts.Usage = usage
	if scimOpts.Logger == nil {
		scimOpts.Logger = opts.Logger
	}
	return &Server{
		Service: svc, usage: usage,
		api: api.New(svc, api.Options{Logger: opts.Logger, Usage: usage, Origin: func(r *http.Request) string {
			return httpapi.RequestOrigin(r, opts.SCIM.TrustedProxies)
		}}),
		scim: httpapi.New(st, scimOpts),
	}
}

// ServeHTTP sends /api/v1 to the management API and everything else to SCIM. It is a
// prefix test rather than a ServeMux: a ServeMux would answer an unclean SCIM path
// ("/scim/v2//Users", which identity providers send) with a redirect before the SCIM
// handler could clean it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p := r.URL.Path; p == api.Prefix || strings.HasPrefix(p, api.Prefix+"/") {
		s.api.ServeHTTP(w, r)
		return
	}
	s.scim.ServeHTTP(w, r)
}

// Close writes what is buffered (last-used times); call it once requests have stopped.
func (s *Server) Close(ctx context.Context) error { return s.usage.Flush(ctx) }
