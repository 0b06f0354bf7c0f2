// Package metrics exposes scimd's Prometheus metrics: requests and their latency by route,
// status class and identity provider (never by tenant, so that the number of series stays
// bounded), store operation latency, the activity log's buffer, the database pools and the
// webhook backlog.
package metrics

import (
	"context"
	"database/sql"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/scimd/scimd/internal/activity"
	"github.com/scimd/scimd/internal/scim"
	"github.com/scimd/scimd/internal/store"
)

// Metrics is one server's registry: a registry of its own rather than Prometheus's global
// one, so that several servers in one process (tests) do not collide.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	storeOps *prometheus.HistogramVec
}

// New builds the registry with the Go runtime's and the process's collectors.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	labels := []string{"route", "status_class", "client"}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "scimd_http_requests_total", Help: "HTTP requests by route, status class (2xx, 4xx, ...) and identity provider.",
	}, labels)
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "scimd_http_request_duration_seconds", Help: "HTTP request latency by route, status class and identity provider.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, labels)
	m.storeOps = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "scimd_store_operation_duration_seconds", Help: "Store operation latency by operation.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	}, []string{"operation"})
	m.reg.MustRegister(m.requests, m.latency, m.storeOps,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in Prometheus's text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// ObserveRequest counts one request.
func (m *Metrics) ObserveRequest(route string, status int, client string, d time.Duration) {
	class := strconv.Itoa(status/100) + "xx"
	m.requests.WithLabelValues(route, class, client).Inc()
	m.latency.WithLabelValues(route, class, client).Observe(d.Seconds())
}

// WatchActivity exposes the activity log's buffer depth and its dropped, failed and
// written entries.
func (m *Metrics) WatchActivity(r *activity.Recorder) {
	stat := func(f func(activity.Stats) float64) func() float64 { return func() float64 { return f(r.Stats()) } }
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "scimd_activity_buffer_depth", Help: "Activity log entries waiting to be written."},
			stat(func(s activity.Stats) float64 { return float64(s.Depth) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "scimd_activity_buffer_capacity", Help: "Activity log entries the buffer holds at most."},
			stat(func(s activity.Stats) float64 { return float64(s.Capacity) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "scimd_activity_dropped_total", Help: "Activity log entries dropped because the buffer was full."},
			stat(func(s activity.Stats) float64 { return float64(s.Dropped) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "scimd_activity_write_failed_total", Help: "Activity log entries lost to a failed write."},
			stat(func(s activity.Stats) float64 { return float64(s.Failed) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "scimd_activity_written_total", Help: "Activity log entries written."},
			stat(func(s activity.Stats) float64 { return float64(s.Written) })),
	)
}

// WatchWebhookBacklog exposes the events not yet delivered to webhook endpoints, read
// from the store on each scrape (one query by the cursors; a scrape that cannot read it
// in time leaves the gauge out rather than report a wrong value).
func (m *Metrics) WatchWebhookBacklog(backlog func(ctx context.Context) (int64, error)) {
	m.reg.MustRegister(backlogCollector(backlog))
}

var webhookBacklog = prometheus.NewDesc("scimd_webhook_backlog_events",
	"Events not yet delivered to webhook endpoints, summed over endpoints and tenants.", nil, nil)

type backlogCollector func(ctx context.Context) (int64, error)

func (c backlogCollector) Describe(ch chan<- *prometheus.Desc) { ch <- webhookBacklog }

func (c backlogCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	n, err := c(ctx)
	if err != nil {
		// An invalid metric would fail the whole scrape; /readyz reports the store.
		return
	}
	ch <- prometheus.MustNewConstMetric(webhookBacklog, prometheus.GaugeValue, float64(n))
}

// Pools is a store that reports its connection pools.
type Pools interface{ PoolStats() map[string]sql.DBStats }

// WatchPools exposes the database pools' connections in use, idle and at most, and the
// time spent waiting for one.
func (m *Metrics) WatchPools(p Pools) {
	m.reg.MustRegister(poolCollector{p})
}

var (
	poolOpen  = prometheus.NewDesc("scimd_db_pool_connections", "Database connections by pool and state (in_use, idle).", []string{"pool", "state"}, nil)
	poolMax   = prometheus.NewDesc("scimd_db_pool_max_connections", "Most connections a database pool opens.", []string{"pool"}, nil)
	poolWaits = prometheus.NewDesc("scimd_db_pool_wait_seconds_total", "Time spent waiting for a database connection.", []string{"pool"}, nil)
	poolCount = prometheus.NewDesc("scimd_db_pool_waits_total", "Waits for a database connection.", []string{"pool"}, nil)
)

type poolCollector struct{ p Pools }

func (c poolCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- poolOpen
	ch <- poolMax
	ch <- poolWaits
	ch <- poolCount
}

func (c poolCollector) Collect(ch chan<- prometheus.Metric) {
	for name, s := range c.p.PoolStats() {
		ch <- prometheus.MustNewConstMetric(poolOpen, prometheus.GaugeValue, float64(s.InUse), name, "in_use")
		ch <- prometheus.MustNewConstMetric(poolOpen, prometheus.GaugeValue, float64(s.Idle), name, "idle")
		ch <- prometheus.MustNewConstMetric(poolMax, prometheus.GaugeValue, float64(s.MaxOpenConnections), name)
		ch <- prometheus.MustNewConstMetric(poolWaits, prometheus.CounterValue, s.WaitDuration.Seconds(), name)
		ch <- prometheus.MustNewConstMetric(poolCount, prometheus.CounterValue, float64(s.WaitCount), name)
	}
}

// Store returns st with the latency of its request-path operations observed.
func (m *Metrics) Store(st store.Store) store.Store { return &timedStore{Store: st, h: m.storeOps} }

// timedStore times the operations SCIM requests make; the administrative ones are passed
// through by embedding.
type timedStore struct {
	store.Store
	h *prometheus.HistogramVec
}

func (t *timedStore) observe(op string, start time.Time) {
	t.h.WithLabelValues(op).Observe(time.Since(start).Seconds())
}

func (t *timedStore) Credential(ctx context.Context, id string) (store.Credential, error) {
	defer t.observe("credential", time.Now())
	return t.Store.Credential(ctx, id)
}

func (t *timedStore) CreateUser(ctx context.Context, tenantID string, data scim.Resource) (*store.User, error) {
	defer t.observe("create_user", time.Now())
	return t.Store.CreateUser(ctx, tenantID, data)
}

func (t *timedStore) GetUser(ctx context.Context, tenantID, id string, opts store.ReadOptions) (*store.User, error) {
	defer t.observe("get_user", time.Now())
	return t.Store.GetUser(ctx, tenantID, id, opts)
}

func (t *timedStore) UpdateUser(ctx context.Context, tenantID, id string, change func(*store.User) (scim.Resource, error)) (*store.User, error) {
	defer t.observe("update_user", time.Now())
	return t.Store.UpdateUser(ctx, tenantID, id, change)
}

func (t *timedStore) DeleteUser(ctx context.Context, tenantID, id string, check func(store.Meta) error) error {
	defer t.observe("delete_user", time.Now())
	return t.Store.DeleteUser(ctx, tenantID, id, check)
}

func (t *timedStore) ListUsers(ctx context.Context, tenantID string, q store.ListQuery) (store.Page[*store.User], error) {
	defer t.observe("list_users", time.Now())
	return t.Store.ListUsers(ctx, tenantID, q)
}

func (t *timedStore) CreateGroup(ctx context.Context, tenantID string, data scim.Resource, members []string) (*store.Group, error) {
	defer t.observe("create_group", time.Now())
	return t.Store.CreateGroup(ctx, tenantID, data, members)
}

func (t *timedStore) GetGroup(ctx context.Context, tenantID, id string) (*store.Group, error) {
	defer t.observe("get_group", time.Now())
	return t.Store.GetGroup(ctx, tenantID, id)
}

func (t *timedStore) GroupMembers(ctx context.Context, tenantID, id string, each func(store.Member) error) error {
	defer t.observe("group_members", time.Now())
	return t.Store.GroupMembers(ctx, tenantID, id, each)
}

func (t *timedStore) UpdateGroup(ctx context.Context, tenantID, id string, change func(*store.Group) (scim.Resource, []store.MemberOp, error)) (*store.Group, error) {
	defer t.observe("update_group", time.Now())
	return t.Store.UpdateGroup(ctx, tenantID, id, change)
}

func (t *timedStore) ChangeMembers(ctx context.Context, tenantID, id string, ops []store.MemberOp) (*store.Group, error) {
	defer t.observe("change_members", time.Now())
	return t.Store.ChangeMembers(ctx, tenantID, id, ops)
}

func (t *timedStore) DeleteGroup(ctx context.Context, tenantID, id string, check func(store.Meta) error) error {
	defer t.observe("delete_group", time.Now())
	return t.Store.DeleteGroup(ctx, tenantID, id, check)
}

func (t *timedStore) ListGroups(ctx context.Context, tenantID string, q store.ListQuery) (store.Page[*store.Group], error) {
	defer t.observe("list_groups", time.Now())
	return t.Store.ListGroups(ctx, tenantID, q)
}

func (t *timedStore) AppendActivity(ctx context.Context, entries []store.ActivityEntry) error {
	defer t.observe("append_activity", time.Now())
	return t.Store.AppendActivity(ctx, entries)
}
