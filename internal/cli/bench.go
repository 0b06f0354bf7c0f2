package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/scimd/scimd/internal/flows"
	"github.com/scimd/scimd/internal/scimclient"
)

const benchUsage = `usage:
  scimd bench [--bearer TOKEN | --basic USER:PASS] [--concurrency 8] [--duration 10s]
              [--group-size 200] [--floor] [--json] URL
                               load the SCIM base URL with what identity providers do (create,
                               uniqueness filter, GET, PUT, PATCH deactivate, import paging,
                               member add and remove on a large group) for the duration, then
                               print throughput and p50/p99 per operation; --floor also runs the
                               same load against a minimal in-process HTTP+JSON server and prints
                               the URL's figures as a ratio of it. What it creates it deletes.
`

// benchReport is `scimd bench --json`.
type benchReport struct {
	URL    string             `json:"url"`
	Result flows.BenchResult  `json:"result"`
	Floor  *flows.BenchResult `json:"floor,omitempty"`
	// Ratio is the URL's throughput over the floor's, all operations together.
	Ratio float64 `json:"ratio,omitempty"`
}

func bench(ctx context.Context, args []string, env Env) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	bearer := fs.String("bearer", "", "bearer token")
	basic := fs.String("basic", "", "USER:PASS for Basic authentication")
	var o flows.BenchOptions
	fs.IntVar(&o.Concurrency, "concurrency", 8, "concurrent clients")
	fs.DurationVar(&o.Duration, "duration", 10*time.Second, "how long the load runs (setup and cleanup not counted)")
	fs.IntVar(&o.GroupSize, "group-size", 200, "members of the large group before the load starts")
	floor := fs.Bool("floor", false, "also measure a minimal in-process HTTP+JSON server, and print the ratio")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parse(fs, args, env)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(env.Stdout, benchUsage)
			return nil
		}
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("bench: want one URL, the SCIM base URL; run 'scimd bench -h'")
	}
	// Bounded: a load tool left running by mistake should not load a server for hours.
	if o.Concurrency < 1 || o.Concurrency > 256 || o.Duration <= 0 || o.Duration > 10*time.Minute || o.GroupSize < 0 || o.GroupSize > 10000 {
		return fmt.Errorf("bench: want --concurrency 1..256, --duration up to 10m, --group-size 0..10000")
	}
	c, err := clientFor("bench", pos[0], *bearer, *basic)
	if err != nil {
		return err
	}
	c.HTTP = &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: o.Concurrency}}
	// A server's rate limits answer 429 with Retry-After; the load waits as identity
	// providers do, and reports how often (a rate-limited run measures the limits).
	c.Retries429 = 10
	rep := benchReport{URL: pos[0]}
	if rep.Result, err = flows.Bench(ctx, c, o); err != nil {
		return err
	}
	if *floor {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return fmt.Errorf("bench: floor server: %w", err)
		}
		srv := &http.Server{Handler: flows.NewFloor()}
		go srv.Serve(ln)
		defer srv.Close()
		fc := scimclient.New("http://"+ln.Addr().String()+"/scim/v2", "unused")
		fc.HTTP = &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: o.Concurrency}}
		fr, err := flows.Bench(ctx, fc, o)
		if err != nil {
			return fmt.Errorf("bench: floor: %w", err)
		}
		rep.Floor = &fr
		if fr.PerSec > 0 {
			rep.Ratio = rep.Result.PerSec / fr.PerSec
		}
	}
	if *asJSON {
		if err := printJSON(env.Stdout, rep); err != nil {
			return err
		}
	} else {
		printBench(env.Stdout, rep)
	}
	if rep.Result.Errors > 0 {
		return fmt.Errorf("bench: %d requests failed", rep.Result.Errors)
	}
	return nil
}

func printBench(w io.Writer, rep benchReport) {
	r := rep.Result
	fmt.Fprintf(w, "%s: %d clients for %.1fs, a group of %d members\n", rep.URL, r.Concurrency, r.Seconds, r.GroupSize)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := "operation\tcount\tper s\tp50 ms\tp99 ms\terrors\t429s\t"
	if rep.Floor != nil {
		head += "floor p50 ms\tfloor p99 ms\tkept\t"
	}
	fmt.Fprintln(tw, head)
	for i, op := range r.Ops {
		line := fmt.Sprintf("%s\t%d\t%.0f\t%.2f\t%.2f\t%d\t%d\t", op.Op, op.Count, op.PerSec, op.P50Ms, op.P99Ms, op.Errors, op.Throttled)
		if rep.Floor != nil {
			f := rep.Floor.Ops[i]
			line += fmt.Sprintf("%.2f\t%.2f\t%s\t", f.P50Ms, f.P99Ms, ratio(f.P50Ms, op.P50Ms))
		}
		fmt.Fprintln(tw, line)
	}
	line := fmt.Sprintf("all\t\t%.0f\t\t\t%d\t%d\t", r.PerSec, r.Errors, r.Throttled)
	if rep.Floor != nil {
		line += fmt.Sprintf("%.0f per s\t\t%s\t", rep.Floor.PerSec, ratio(r.PerSec, rep.Floor.PerSec))
	}
	fmt.Fprintln(tw, line)
	tw.Flush()
	if rep.Floor != nil {
		// Each client runs one user's life, every operation once per cycle, so every
		// operation has the same rate: per operation, what is kept is the floor's median
		// latency over the URL's; for all operations, the URL's throughput over the floor's.
		fmt.Fprintln(w, "kept: floor p50 / p50 per operation; throughput / floor throughput for all")
	}
	if r.Throttled > 0 {
		fmt.Fprintf(w, "%d requests were answered 429 and waited for: the server's rate limits bound these figures; lift them to measure its speed\n", r.Throttled)
	}
	for _, op := range r.Ops {
		if op.FirstEr != "" {
			fmt.Fprintf(w, "%s: first error: %s\n", op.Op, op.FirstEr)
		}
	}
}

func ratio(a, b float64) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", a/b)
}

// clientFor makes the SCIM client of check and bench from a base URL and a credential.
func clientFor(cmd, raw, bearer, basic string) (*scimclient.Client, error) {
	base, err := url.Parse(raw)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("%s: %q is not an http or https URL", cmd, raw)
	}
	if base.RawQuery != "" {
		// The flows add the query a provider appends (entra-aadOptscim062020 adds its flag).
		return nil, fmt.Errorf("%s: give the base URL without a query (%q): the flows add what each provider appends", cmd, base.RawQuery)
	}
	if bearer != "" && basic != "" {
		return nil, fmt.Errorf("%s: give --bearer or --basic, not both", cmd)
	}
	c := scimclient.New(base.String(), "")
	c.Authorization = ""
	switch {
	case bearer != "":
		c.Authorization = "Bearer " + bearer
	case basic != "":
		user, pass, ok := strings.Cut(basic, ":")
		if !ok {
			return nil, fmt.Errorf("%s: --basic wants USER:PASS", cmd)
		}
		c.Authorization = scimclient.Basic(user, pass)
	}
	return c, nil
}
