// Package server assembles scimd's HTTP surface over one store: SCIM for identity
// providers at /scim/v2, the management API for the application at /api/v1, and the
// operator's /metrics, /healthz and /readyz.
package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/scimd/scimd/internal/activity"
	"github.com/scimd/scimd/internal/api"
	"github.com/scimd/scimd/internal/console"
	"github.com/scimd/scimd/internal/httpapi"
	"github.com/scimd/scimd/internal/metrics"
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
	Logger        *slog.Logger
	// Activity configures the activity log; NoActivity turns it off.
	Activity   activity.Options
	NoActivity bool
	// Console configures the admin console at /admin, off unless it sets a way to sign in.
	Console console.Options
	// EventRetention is how long events are kept (0: for ever).
	EventRetention time.Duration
	// Webhooks configures the delivery of events to webhook endpoints.
	Webhooks WebhookOptions
	// SET, when set, signs RFC 9967 security event tokens for endpoints of format "set";
	// its key set is served at /api/v1/jwks.json and /ServiceProviderConfig lists the
	// events.
	SET *webhook.SETSigner
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
	// Activity is the activity log's recorder (nil when it is off).
	Activity *activity.Recorder
	// Metrics is the server's metrics registry.
	Metrics *metrics.Metrics
	store   store.Store
	log     *slog.Logger
	usage   *service.Usage
	api     http.Handler
	scim    http.Handler
	console http.Handler // nil when the console is off
	setup   http.Handler
	handler http.Handler
	// draining: the server is about to stop; /readyz says so, so that a load balancer
	// stops sending before the listener closes.
	draining atomic.Bool
	// stop ends the outbox's background work; done is closed once it has.
	stop context.CancelFunc
	done chan struct{}
}

// Drain makes /readyz answer 503 from now on: the first step of a graceful stop.
func (s *Server) Drain() { s.draining.Store(true) }

// New builds the server over st.
func New(st store.Store, opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.UsageInterval <= 0 {
		opts.UsageInterval = 10 * time.Second
	}
	m := metrics.New()
	if p, ok := st.(metrics.Pools); ok {
		m.WatchPools(p)
	}
	timed := m.Store(st)
	usage := service.NewUsage(st, opts.UsageInterval, opts.Logger)
	scimBase := ""
	if opts.SCIM.BaseURL != "" {
		scimBase = strings.TrimSuffix(strings.TrimRight(opts.SCIM.BaseURL, "/"), httpapi.Prefix) + httpapi.Prefix
	}
	var rec *activity.Recorder
	if !opts.NoActivity {
		aopts := opts.Activity
		if aopts.Logger == nil {
			aopts.Logger = opts.Logger
		}
		rec = activity.New(timed, aopts)
		m.WatchActivity(rec)
	}
	m.WatchWebhookBacklog(func(ctx context.Context) (int64, error) { return st.WebhookBacklog(ctx, "", "") })
	svc := service.New(st, service.Options{SCIMBaseURL: scimBase, WebhookAllowPrivate: opts.Webhooks.AllowPrivate, SecurityEvents: opts.SET != nil})
	scimOpts := opts.SCIM
	scimOpts.Usage = usage
	scimOpts.Activity = rec
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
		Service: svc, Activity: rec, Metrics: m, store: st, log: opts.Logger, usage: usage,
		api: api.New(svc, api.Options{Logger: opts.Logger, Usage: usage, JWKS: jwks, Origin: func(r *http.Request) string {
			return httpapi.RequestOrigin(r, opts.SCIM.TrustedProxies)
		}}),
		scim: httpapi.New(timed, scimOpts),
		stop: stop, done: make(chan struct{}),
	}
	s.startBackground(ctx, st, svc, opts)
	if opts.Console.Enabled() {
		copts := opts.Console
		if copts.Logger == nil {
			copts.Logger = opts.Logger
		}
		c, err := console.New(svc, copts)
		if err != nil {
			// The templates are embedded: one that does not parse is a defect of the build,
			// which the console's tests catch.
			panic(err)
		}
		s.console = c
	}
	setup, err := console.NewSetup(svc, opts.Logger)
	if err != nil {
		panic(err) // embedded templates: a defect of the build, caught by the tests
	}
	s.setup = setup
	s.handler = s.logged(http.HandlerFunc(s.route))
	return s
}

// ServeHTTP serves a request with its request id, its log line and its metrics.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// route sends /api/v1 to the management API, the operator's paths to their handlers and
// everything else to SCIM. It is a prefix test rather than a ServeMux: a ServeMux would
// answer an unclean SCIM path ("/scim/v2//Users", which identity providers send) with a
// redirect before the SCIM handler could clean it.
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	info := activity.InfoFrom(r.Context())
	switch p := r.URL.Path; {
	case p == api.Prefix || strings.HasPrefix(p, api.Prefix+"/"):
		info.Route = "api"
		s.api.ServeHTTP(w, r)
	case s.console != nil && (p == console.Prefix || strings.HasPrefix(p, console.Prefix+"/")):
		info.Route = "console"
		s.console.ServeHTTP(w, r)
	case strings.HasPrefix(p, console.SetupPrefix+"/"):
		info.Route = "setup"
		s.setup.ServeHTTP(w, r)
	case p == "/healthz":
		info.Route = "healthz"
		// Alive: the process serves HTTP. Nothing else is checked, so that a database
		// outage does not get the process restarted.
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	case p == "/readyz":
		info.Route = "readyz"
		s.ready(w, r)
	case p == "/metrics":
		info.Route = "metrics"
		s.Metrics.Handler().ServeHTTP(w, r)
	default:
		s.scim.ServeHTTP(w, r)
	}
}

// ready answers 200 when the store answers and its schema is current, else 503.
func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if s.draining.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("not ready: shutting down\n"))
		return
	}
	if err := s.store.Ready(ctx); err != nil {
		s.log.Warn("not ready", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("not ready: store unavailable or schema not current\n"))
		return
	}
	w.Write([]byte("ready\n"))
}

// logged gives each request an id (an incoming well-formed X-Request-Id is kept), answers
// it in X-Request-Id, and writes one log line and the metrics once the request is done.
func (s *Server) logged(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if !activity.ValidRequestID(id) {
			id = activity.NewRequestID()
		}
		w.Header().Set("X-Request-Id", id)
		info := &activity.Info{RequestID: id}
		ctx := activity.WithInfo(activity.WithRequestID(r.Context(), id), info)
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r.WithContext(ctx))
		d := time.Since(start)
		status := sw.status
		if status == 0 {
			status = http.StatusOK
		}
		route := info.Route
		if route == "" {
			route = "other"
		}
		client := info.Client
		if client == "" {
			client = activity.ClientOther
		}
		s.Metrics.ObserveRequest(route, status, client, d)
		attrs := []slog.Attr{
			slog.String("request_id", id), slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.Int("status", status), slog.Float64("duration_ms", float64(d.Microseconds())/1000),
			slog.Int64("bytes", sw.bytes), slog.String("client", client),
		}
		if info.TenantName != "" {
			attrs = append(attrs, slog.String("tenant", info.TenantName))
		}
		if info.ScimType != "" {
			attrs = append(attrs, slog.String("scim_type", info.ScimType))
		}
		s.log.LogAttrs(ctx, slog.LevelInfo, "request", attrs...)
	})
}

// statusWriter keeps a response's status and size.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection (deadlines, flushing).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Close stops the outbox's background work and writes what is buffered (last-used times,
// the activity log); call it once requests have stopped.
func (s *Server) Close(ctx context.Context) error {
	s.stop()
	<-s.done
	s.Activity.Close()
	return errors.Join(s.usage.Flush(ctx))
}

// startBackground runs the outbox's work: numbering committed events (and dropping those
// past the retention) and, unless disabled, delivering them to webhook endpoints. Close
// stops it.
func (s *Server) startBackground(ctx context.Context, st store.Store, svc *service.Service, opts Options) {
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
}
