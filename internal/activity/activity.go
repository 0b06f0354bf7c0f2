// Package activity is the SCIM request log: each request is recorded per tenant with its
// outcome and redacted bodies, written to the store in batches off the request path.
package activity

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/scimd/scimd/internal/store"
)

// Options configure a Recorder.
type Options struct {
	// Buffer bounds the entries waiting to be written (default 10,000); an entry that
	// finds it full is dropped and counted, never waited for.
	Buffer int
	// BatchSize bounds the entries of one write (default 500).
	BatchSize int
	// FlushInterval is how long an entry may wait for its batch to fill (default 250 ms).
	FlushInterval time.Duration
	// MaxAge and MaxRowsPerTenant bound what is kept (defaults 30 days and 100,000; a
	// negative value keeps without that bound); RetentionInterval is how often entries
	// beyond them are deleted (default 10 minutes).
	MaxAge            time.Duration
	MaxRowsPerTenant  int
	RetentionInterval time.Duration
	// BodyLimit caps each recorded body, after redaction (default 16 KiB).
	BodyLimit int
	Logger    *slog.Logger
}

// Defaults of Options.
const (
	DefaultBuffer            = 10000
	DefaultBatchSize         = 500
	DefaultFlushInterval     = 250 * time.Millisecond
	DefaultMaxAge            = 30 * 24 * time.Hour
	DefaultMaxRowsPerTenant  = 100000
	DefaultRetentionInterval = 10 * time.Minute
	DefaultBodyLimit         = 16 << 10
	// CaptureLimit is how much of a body the request path keeps for the log; a longer
	// body is recorded by its size alone.
	CaptureLimit = 64 << 10
)

// Request is one request as the SCIM handler hands it over: its entry without bodies and
// the bodies as sent, redacted and capped by the writer, off the request path.
type Request struct {
	Entry store.ActivityEntry
	// RequestBody and ResponseBody are the bodies; RequestTooLarge and ResponseTooLarge,
	// when not 0, the full size of a body longer than CaptureLimit (then not captured).
	RequestBody, ResponseBody         []byte
	RequestTooLarge, ResponseTooLarge int64
	// Buffers hold the bodies, from CaptureBuffer: the recorder gives them back once it has
	// kept what it keeps of the bodies.
	Buffers []*bytes.Buffer
}

// captureBuffers are reused for the bodies the request path keeps: two a request would
// otherwise be allocated and left to the collector, each as large as its body.
var captureBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// CaptureBuffer returns an empty buffer to keep a body in; a Request carrying it in
// Buffers gives it back, as does ReleaseBuffer.
func CaptureBuffer() *bytes.Buffer { return captureBuffers.Get().(*bytes.Buffer) }

// ReleaseBuffer gives a buffer back for reuse; its bytes must no longer be used.
func ReleaseBuffer(b *bytes.Buffer) {
	if b == nil || b.Cap() > 2*CaptureLimit {
		return
	}
	b.Reset()
	captureBuffers.Put(b)
}

// Recorder buffers entries and writes them in batches. A nil *Recorder records nothing.
type Recorder struct {
	store store.ActivityLog
	opts  Options
	log   *slog.Logger

	entries chan Request
	dropped atomic.Int64
	written atomic.Int64
	failed  atomic.Int64

	flushReq chan chan struct{}
	stop     chan struct{}
	done     sync.WaitGroup
	stopOnce sync.Once
}

// New starts a Recorder writing to st; Close stops it.
func New(st store.ActivityLog, opts Options) *Recorder {
	if opts.Buffer <= 0 {
		opts.Buffer = DefaultBuffer
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = DefaultBatchSize
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = DefaultFlushInterval
	}
	if opts.MaxAge == 0 {
		opts.MaxAge = DefaultMaxAge
	}
	if opts.MaxRowsPerTenant == 0 {
		opts.MaxRowsPerTenant = DefaultMaxRowsPerTenant
	}
	if opts.RetentionInterval <= 0 {
		opts.RetentionInterval = DefaultRetentionInterval
	}
	if opts.BodyLimit <= 0 {
		opts.BodyLimit = DefaultBodyLimit
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	r := &Recorder{
		store: st, opts: opts, log: opts.Logger,
		entries:  make(chan Request, opts.Buffer),
		flushReq: make(chan chan struct{}),
		stop:     make(chan struct{}),
	}
	r.done.Add(2)
	go r.run()
	go r.retain()
	return r
}

// Record queues an entry. It never blocks: when the buffer is full the entry is dropped
// and counted, since a SCIM request must not wait for its own log.
func (r *Recorder) Record(e Request) {
	if r == nil {
		return
	}
	select {
	case r.entries <- e:
	default:
		r.dropped.Add(1)
		for _, b := range e.Buffers {
			ReleaseBuffer(b)
		}
	}
}

// Stats are the Recorder's counters.
type Stats struct {
	// Depth is the entries waiting to be written, Capacity the buffer's size.
	Depth, Capacity int
	// Dropped counts entries lost to a full buffer, Failed those lost to a failed write,
	// Written those stored.
	Dropped, Failed, Written int64
}

// Stats returns the counters (zero for a nil Recorder).
func (r *Recorder) Stats() Stats {
	if r == nil {
		return Stats{}
	}
	return Stats{Depth: len(r.entries), Capacity: cap(r.entries), Dropped: r.dropped.Load(), Failed: r.failed.Load(), Written: r.written.Load()}
}

// Flush waits until every entry recorded before the call is written (or failed).
func (r *Recorder) Flush(ctx context.Context) error {
	if r == nil {
		return nil
	}
	ack := make(chan struct{})
	select {
	case r.flushReq <- ack:
	case <-ctx.Done():
		return ctx.Err()
	case <-r.stop:
		return nil
	}
	select {
	case <-ack:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close writes what is buffered and stops the Recorder.
func (r *Recorder) Close() {
	if r == nil {
		return
	}
	r.stopOnce.Do(func() { close(r.stop) })
	r.done.Wait()
}

func (r *Recorder) run() {
	defer r.done.Done()
	batch := make([]store.ActivityEntry, 0, r.opts.BatchSize)
	timer := time.NewTimer(r.opts.FlushInterval)
	defer timer.Stop()
	add := func(req Request) {
		e := req.Entry
		e.RequestBody = RedactBody(req.RequestBody, req.RequestTooLarge, r.opts.BodyLimit)
		e.ResponseBody = RedactResponse(req.ResponseBody, req.ResponseTooLarge, r.opts.BodyLimit)
		e.Detail = capText(e.Detail, maxDetail)
		batch = append(batch, e)
		// The entry's bodies are strings of their own now.
		for _, b := range req.Buffers {
			ReleaseBuffer(b)
		}
	}
	write := func() {
		if len(batch) == 0 {
			return
		}
		// A batch that cannot be written in this time is dropped: the buffer behind it
		// must keep moving.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := r.store.AppendActivity(ctx, batch)
		cancel()
		if err != nil {
			r.failed.Add(int64(len(batch)))
			r.log.Warn("write activity log", "entries", len(batch), "err", err)
		} else {
			r.written.Add(int64(len(batch)))
		}
		clear(batch)
		batch = batch[:0]
	}
	drain := func() {
		for {
			select {
			case e := <-r.entries:
				add(e)
				if len(batch) == r.opts.BatchSize {
					write()
				}
			default:
				write()
				return
			}
		}
	}
	for {
		select {
		case e := <-r.entries:
			add(e)
			if len(batch) == r.opts.BatchSize {
				write()
			}
		case <-timer.C:
			write()
			timer.Reset(r.opts.FlushInterval)
		case ack := <-r.flushReq:
			drain()
			close(ack)
		case <-r.stop:
			drain()
			return
		}
	}
}

// retain deletes entries beyond the retention bounds every RetentionInterval.
func (r *Recorder) retain() {
	defer r.done.Done()
	t := time.NewTicker(r.opts.RetentionInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if _, err := r.Prune(context.Background()); err != nil {
				r.log.Warn("prune activity log", "err", err)
			}
		case <-r.stop:
			return
		}
	}
}

// Prune deletes the entries beyond the retention bounds now and returns how many.
func (r *Recorder) Prune(ctx context.Context) (int64, error) {
	var before time.Time
	if r.opts.MaxAge > 0 {
		before = time.Now().Add(-r.opts.MaxAge)
	}
	return r.store.PruneActivity(ctx, before, max(r.opts.MaxRowsPerTenant, 0))
}

// maxDetail caps an error's detail in the log.
const maxDetail = 1024

func capText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
