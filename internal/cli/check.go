package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/scimd/scimd/internal/flows"
)

const checkUsage = `usage:
  scimd check [--bearer TOKEN | --basic USER:PASS] [--flow NAME[,NAME…]|all] [--json] URL
                               replay what identity providers send (the recorded flows) against
                               the SCIM base URL and print a line per step and a summary; it
                               creates only uniquely named users and groups, and removes them
`

// checkReport is `scimd check --json`.
type checkReport struct {
	Flows  []flows.Result `json:"flows"`
	Passed int            `json:"passed"`
	Failed int            `json:"failed"`
}

func check(ctx context.Context, args []string, env Env) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	bearer := fs.String("bearer", "", "bearer token")
	basic := fs.String("basic", "", "USER:PASS for Basic authentication")
	flowNames := fs.String("flow", "all", "flows to run, comma-separated: "+strings.Join(flowNamesOrNil(), ", ")+", or all")
	asJSON := fs.Bool("json", false, "print JSON")
	timeout := fs.Duration("timeout", 60*time.Second, "time allowed for each request (Okta allows 60s)")
	pos, err := parse(fs, args, env)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(env.Stdout, checkUsage)
			return nil
		}
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("check: want one URL, the SCIM base URL (e.g. https://scim.example.com/scim/v2); run 'scimd check -h'")
	}
	all, err := flows.Load()
	if err != nil {
		return err
	}
	selected, err := flows.Select(all, *flowNames)
	if err != nil {
		return fmt.Errorf("check: %w", err)
	}
	c, err := clientFor("check", pos[0], *bearer, *basic)
	if err != nil {
		return err
	}
	c.HTTP = &http.Client{Timeout: *timeout}
	// Identity providers wait out a 429's Retry-After and try again; so does the check.
	c.Retries429 = 3
	// An endpoint that cannot be reached at all fails every step the same way: say it once.
	// Any HTTP answer, a 401 included, goes on to the flows, whose steps say what is wrong.
	if _, err := c.Do(ctx, http.MethodGet, "/Users?startIndex=1&count=1", nil); err != nil {
		return fmt.Errorf("check: cannot reach %s: %w", pos[0], err)
	}
	var rep checkReport
	for _, f := range selected {
		res := flows.Run(ctx, c, f)
		p, fl := res.Counts()
		rep.Passed += p
		rep.Failed += fl
		rep.Flows = append(rep.Flows, res)
		if !*asJSON {
			printResult(env.Stdout, res)
		}
	}
	if *asJSON {
		if err := printJSON(env.Stdout, rep); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(env.Stdout, "%d passed, %d failed\n", rep.Passed, rep.Failed)
	}
	if rep.Failed > 0 {
		return fmt.Errorf("check: %d of %d steps failed", rep.Failed, rep.Passed+rep.Failed)
	}
	return nil
}

func printResult(w io.Writer, res flows.Result) {
	fmt.Fprintf(w, "%s (%s)\n", res.Flow, res.Provider)
	for _, s := range res.Steps {
		mark := "PASS"
		if !s.Pass {
			mark = "FAIL"
		}
		status := "---"
		if s.Status != 0 {
			status = fmt.Sprint(s.Status)
		}
		line := fmt.Sprintf("  %s %-18s %s: %s %s → %s", mark, s.Op, s.Step, s.Method, s.Path, status)
		if !s.Pass {
			line += ": " + s.Reason
		}
		fmt.Fprintln(w, line)
	}
}

// flowNamesOrNil names the embedded flows for the help text.
func flowNamesOrNil() []string {
	all, err := flows.Load()
	if err != nil {
		return nil
	}
	return flows.Names(all)
}
