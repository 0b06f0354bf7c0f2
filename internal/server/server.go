// Package server assembles scimd's HTTP surface over one store: SCIM for identity
// providers at /scim/v2 and the management API for the application at /api/v1.
package server

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/scimd/scimd/internal/api"
	"github.com/scimd/scimd/internal/httpapi"
	"github.com/scimd/scimd/internal/service"
	"github.com/scimd/scimd/internal/store"
	"github.com/scimd/scimd/internal/webhook"
)

// Options configure a Server.
type Options struct {
	// SCIM configures the SCIM API; its BaseURL also gives the SCIM base URL the
	// management API hands out.
	SCIM httpapi.Options
	// UsageInterval is how often last-used times are written (10 s when zero).
	UsageInterval time.Duration
	// EventRetention is how long events are kept (0: for ever).
	EventRetention time.Duration
	// Webhooks configures the delivery of events to webhook endpoints.
	Webhooks WebhookOptions
	// SET, when set, signs RFC 9967 security event tokens for endpoints of format "set";
	// its key set is served at /api/v1/jwks.json and /ServiceProviderConfig lists the
	// events.
	SET    *webhook.SETSigner
	Logger *slog.Logger
}

// WebhookOptions configure webhook delivery.
type WebhookOptions struct {
	// AllowPrivate lets endpoints be on loopback, private and link-local addresses.
	AllowPrivate bool
	// Timeout bounds one delivery (10 s when 0).
	Timeout time.Duration
	// MinBackoff, MaxBackoff, DisableAfter, Poll and Lease: see webhook.Options.
	MinBackoff, MaxBackoff, DisableAfter, Poll, Lease time.Duration
	// Disabled runs no deliverer in this process (endpoints are still managed).
	Disabled bool
}

// Server is scimd's HTTP handler.
type Server struct {
	// Service is the administrative service layer the management API runs on.
	Service *service.Service
	usage   *service.Usage
	api     http.Handler
	scim    http.Handler
	// stop ends the outbox's background work; done is closed once it has.
	stop context.CancelFunc
	done chan struct{}
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
	scimOpts := opts.SCIM
	scimOpts.Usage = usage
	svc := service.New(st, service.Options{SCIMBaseURL: scimBase, WebhookAllowPrivate: opts.Webhooks.AllowPrivate, SecurityEvents: opts.SET != nil})
	var jwks []byte
	if opts.SET != nil {
		var err error
		if jwks, err = opts.SET.JWKS(); err != nil {
			opts.Logger.Error("encode the JWKS", "err", err)
		}
		scimOpts.SecurityEventURIs = webhook.SETEventURIs
	}
	if scimOpts.Logger == nil {
		scimOpts.Logger = opts.Logger
	}
	ctx, stop := context.WithCancel(context.Background())
	s := &Server{
		Service: svc, usage: usage,
		api:  api.New(svc, api.Options{Logger: opts.Logger, Usage: usage, JWKS: jwks}),
		scim: httpapi.New(st, scimOpts),
		stop: stop, done: make(chan struct{}),
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		svc.RunEvents(ctx, opts.EventRetention, opts.Logger)
	}()
	if wo := opts.Webhooks; !wo.Disabled {
		w := webhook.NewWorker(st, webhook.Options{
			Client:     webhook.NewClient(webhook.ClientOptions{AllowPrivate: wo.AllowPrivate, Timeout: wo.Timeout}),
			MinBackoff: wo.MinBackoff, MaxBackoff: wo.MaxBackoff, DisableAfter: wo.DisableAfter, Poll: wo.Poll, Lease: wo.Lease,
			Logger: opts.Logger, SET: opts.SET,
		})
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.Run(ctx)
		}()
	}
	go func() {
		wg.Wait()
		close(s.done)
	}()
	return s
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
func (s *Server) Close(ctx context.Context) error {
	s.stop()
	<-s.done
	return s.usage.Flush(ctx)
}
