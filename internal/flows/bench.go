package flows

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/scimd/scimd/internal/scimclient"
)

// The operations a load run measures: what identity providers do, in the order one user's
// life takes them.
const (
	BenchCreate      = "create user"
	BenchFilter      = "uniqueness filter"
	BenchGet         = "get user"
	BenchPut         = "put user"
	BenchDeactivate  = "patch deactivate"
	BenchImport      = "import page"
	BenchMemberAdd   = "member add"
	BenchMemberRemov = "member remove"
)

var benchOps = []string{BenchCreate, BenchFilter, BenchGet, BenchPut, BenchDeactivate, BenchImport, BenchMemberAdd, BenchMemberRemov}

// BenchOptions bound a load run.
type BenchOptions struct {
	// Concurrency is the number of concurrent clients (identity-provider workers).
	Concurrency int
	// Duration is how long the load runs; setup and cleanup are not counted.
	Duration time.Duration
	// GroupSize is how many members the large group has before the load starts.
	GroupSize int
}

// OpStats are one operation's figures.
type OpStats struct {
	Op     string  `json:"op"`
	Count  int     `json:"count"`
	Errors int     `json:"errors"`
	PerSec float64 `json:"per_second"`
	P50Ms  float64 `json:"p50_ms"`
	P99Ms  float64 `json:"p99_ms"`
	MaxMs  float64 `json:"max_ms"`
	// Throttled counts the 429 answers waited out (the client's Retries429) before the
	// requests counted here succeeded: the server's rate limits, not its speed.
	Throttled int    `json:"throttled"`
	FirstEr   string `json:"first_error,omitempty"`
}

// BenchResult is one load run.
type BenchResult struct {
	Concurrency int       `json:"concurrency"`
	Seconds     float64   `json:"seconds"`
	GroupSize   int       `json:"group_size"`
	Ops         []OpStats `json:"ops"`
	// PerSec is every operation together.
	PerSec    float64 `json:"per_second"`
	Errors    int     `json:"errors"`
	Throttled int     `json:"throttled"`
}

type sample struct {
	op        string
	d         time.Duration
	err       error
	throttled int
}

// Bench runs the load against c: a large group of GroupSize members is made first; then
// Concurrency workers each repeat one user's life (create, uniqueness filter, GET, PUT of
// the GET body, PATCH deactivate, join and leave the large group, one page of import)
// until Duration has passed. Every user and the group are deleted afterwards.
func Bench(ctx context.Context, c *scimclient.Client, o BenchOptions) (BenchResult, error) {
	if o.Concurrency < 1 || o.Duration <= 0 || o.GroupSize < 0 {
		return BenchResult{}, fmt.Errorf("bench: concurrency must be at least 1 and the duration positive")
	}
	run := randomHex(4)
	var created sync.Map // user id → struct{}
	defer cleanupBench(context.WithoutCancel(ctx), c, &created)

	gid, err := benchGroup(ctx, c, run, o.GroupSize, &created)
	if err != nil {
		return BenchResult{}, err
	}
	var seq atomic.Int64
	deadline := time.Now().Add(o.Duration)
	samples := make([][]sample, o.Concurrency)
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < o.Concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) && ctx.Err() == nil {
				samples[w] = append(samples[w], benchCycle(ctx, c, run, int(seq.Add(1)), gid, &created)...)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	res := BenchResult{Concurrency: o.Concurrency, Seconds: elapsed.Seconds(), GroupSize: o.GroupSize}
	byOp := map[string][]sample{}
	for _, ws := range samples {
		for _, s := range ws {
			byOp[s.op] = append(byOp[s.op], s)
		}
	}
	total := 0
	for _, op := range benchOps {
		ss := byOp[op]
		st := OpStats{Op: op}
		var ds []time.Duration
		for _, s := range ss {
			st.Throttled += s.throttled
			if s.err != nil {
				st.Errors++
				if st.FirstEr == "" {
					st.FirstEr = s.err.Error()
				}
				continue
			}
			ds = append(ds, s.d)
		}
		st.Count = len(ds)
		slices.Sort(ds)
		if len(ds) > 0 {
			st.P50Ms = ms(ds[len(ds)*50/100])
			st.P99Ms = ms(ds[min(len(ds)-1, len(ds)*99/100)])
			st.MaxMs = ms(ds[len(ds)-1])
		}
		st.PerSec = float64(st.Count) / elapsed.Seconds()
		total += st.Count
		res.Errors += st.Errors
		res.Throttled += st.Throttled
		res.Ops = append(res.Ops, st)
	}
	res.PerSec = float64(total) / elapsed.Seconds()
	return res, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// benchGroup creates the large group and its members.
func benchGroup(ctx context.Context, c *scimclient.Client, run string, size int, created *sync.Map) (string, error) {
	var ids []any
	for i := 0; i < size; i++ {
		id, _, err := benchCreate(ctx, c, fmt.Sprintf("bench.%s.member%d@example.com", run, i))
		if err != nil {
			return "", fmt.Errorf("bench: create group member: %w", err)
		}
		created.Store(id, struct{}{})
		ids = append(ids, map[string]any{"value": id})
	}
	resp, err := c.Do(ctx, http.MethodPost, "/Groups", map[string]any{
		"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": "bench " + run})
	if err != nil {
		return "", fmt.Errorf("bench: create group: %w", err)
	}
	gid, err := idOf(resp, http.StatusCreated)
	if err != nil {
		return "", fmt.Errorf("bench: create group: %w", err)
	}
	created.Store("group:"+gid, struct{}{})
	// Members go in by hundreds, as an identity provider pushes a large group.
	for len(ids) > 0 {
		n := min(100, len(ids))
		resp, err := c.Do(ctx, http.MethodPatch, "/Groups/"+gid, patchOp(map[string]any{"op": "add", "path": "members", "value": ids[:n]}))
		if err != nil || (resp.Status != http.StatusOK && resp.Status != http.StatusNoContent) {
			return "", fmt.Errorf("bench: fill the group: %v %s", err, statusOf(resp))
		}
		ids = ids[n:]
	}
	return gid, nil
}

func patchOp(ops ...map[string]any) map[string]any {
	return map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"}, "Operations": ops}
}

func statusOf(r *scimclient.Response) string {
	if r == nil {
		return ""
	}
	return fmt.Sprintf("status %d%s", r.Status, detail(r.Body))
}

func benchUser(userName string) map[string]any {
	return map[string]any{
		"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"userName": userName, "externalId": "00u" + userName, "active": true, "locale": "en-US",
		"name":   map[string]any{"givenName": "Bench", "familyName": "User"},
		"emails": []any{map[string]any{"value": userName, "type": "work", "primary": true}},
		"groups": []any{}, "password": "placeholder",
	}
}

func benchCreate(ctx context.Context, c *scimclient.Client, userName string) (id string, throttled int, err error) {
	resp, err := c.Do(ctx, http.MethodPost, "/Users", benchUser(userName))
	if err != nil {
		return "", 0, err
	}
	id, err = idOf(resp, http.StatusCreated)
	return id, resp.Throttled, err
}

func idOf(resp *scimclient.Response, want int) (string, error) {
	if resp.Status != want {
		return "", fmt.Errorf("%s, want %d", statusOf(resp), want)
	}
	var v struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(resp.Body, &v); err != nil || v.ID == "" {
		return "", fmt.Errorf("no id in the response: %v", err)
	}
	return v.ID, nil
}

// benchCycle is one user's life; each request is one sample.
func benchCycle(ctx context.Context, c *scimclient.Client, run string, n int, gid string, created *sync.Map) []sample {
	var out []sample
	thr := 0 // 429s waited out by the current operation
	timed := func(op string, fn func() error) bool {
		thr = 0
		t0 := time.Now()
		err := fn()
		out = append(out, sample{op: op, d: time.Since(t0), err: err, throttled: thr})
		return err == nil
	}
	expect := func(resp *scimclient.Response, err error, want ...int) error {
		if err != nil {
			return err
		}
		thr += resp.Throttled
		if !slices.Contains(want, resp.Status) {
			return fmt.Errorf("%s", statusOf(resp))
		}
		return nil
	}
	userName := fmt.Sprintf("bench.%s.%d@example.com", run, n)
	var uid string
	var got *scimclient.Response
	if !timed(BenchFilter, func() error {
		resp, err := c.Do(ctx, http.MethodGet, `/Users?filter=userName%20eq%20%22`+userName+`%22&startIndex=1&count=100`, nil)
		return expect(resp, err, http.StatusOK)
	}) {
		return out
	}
	if !timed(BenchCreate, func() (err error) {
		uid, thr, err = benchCreate(ctx, c, userName)
		return err
	}) {
		return out
	}
	created.Store(uid, struct{}{})
	timed(BenchGet, func() (err error) {
		got, err = c.Do(ctx, http.MethodGet, "/Users/"+uid, nil)
		return expect(got, err, http.StatusOK)
	})
	if got != nil && got.Status == http.StatusOK {
		timed(BenchPut, func() error {
			var body map[string]any
			if err := json.Unmarshal(got.Body, &body); err != nil {
				return err
			}
			body["displayName"] = "Bench User " + fmt.Sprint(n)
			resp, err := c.Do(ctx, http.MethodPut, "/Users/"+uid, body)
			return expect(resp, err, http.StatusOK)
		})
	}
	timed(BenchMemberAdd, func() error {
		resp, err := c.Do(ctx, http.MethodPatch, "/Groups/"+gid, patchOp(map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": uid}}}))
		return expect(resp, err, http.StatusOK, http.StatusNoContent)
	})
	timed(BenchMemberRemov, func() error {
		resp, err := c.Do(ctx, http.MethodPatch, "/Groups/"+gid, patchOp(map[string]any{"op": "remove", "path": `members[value eq "` + uid + `"]`}))
		return expect(resp, err, http.StatusOK, http.StatusNoContent)
	})
	timed(BenchDeactivate, func() error {
		resp, err := c.Do(ctx, http.MethodPatch, "/Users/"+uid, patchOp(map[string]any{"op": "replace", "value": map[string]any{"active": false}}))
		return expect(resp, err, http.StatusOK, http.StatusNoContent)
	})
	timed(BenchImport, func() error {
		resp, err := c.Do(ctx, http.MethodGet, fmt.Sprintf("/Users?startIndex=%d&count=100", 1+100*(n%10)), nil)
		return expect(resp, err, http.StatusOK)
	})
	return out
}

// cleanupBench deletes what a load run created, with a few concurrent clients.
func cleanupBench(ctx context.Context, c *scimclient.Client, created *sync.Map) {
	var paths []string
	created.Range(func(k, _ any) bool {
		id := k.(string)
		if g, ok := cutPrefix(id, "group:"); ok {
			paths = append([]string{"/Groups/" + g}, paths...)
		} else {
			paths = append(paths, "/Users/"+id)
		}
		return true
	})
	work := make(chan string)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range work {
				c.Do(ctx, http.MethodDelete, p, nil)
			}
		}()
	}
	for _, p := range paths {
		work <- p
	}
	close(work)
	wg.Wait()
}

func cutPrefix(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && s[:len(prefix)] == prefix {
		return s[len(prefix):], true
	}
	return s, false
}
