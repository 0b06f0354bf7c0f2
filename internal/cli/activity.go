package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/scimd/scimd/internal/service"
)

// followInterval is how often --follow looks for new entries.
const followInterval = time.Second

func activityCmd(ctx context.Context, args []string, env Env) error {
	var c common
	fs := newFlags("activity", env, &c)
	tenant := fs.String("tenant", "", "tenant name")
	since := fs.Duration("since", time.Hour, "show the requests of this last period (0: all kept)")
	status := fs.String("status", "", "only this status class (4xx, 5xx) or status (409)")
	user := fs.String("user", "", "only the requests that touched this user (or group) id")
	client := fs.String("client", "", "only the requests of this identity provider (okta, entra, jumpcloud, onelogin, google, other)")
	follow := fs.Bool("follow", false, "keep printing new requests as they arrive, until interrupted")
	limit := fs.Int("limit", 100, "show at most this many of the newest requests")
	if _, err := parse(fs, args, env); err != nil {
		return err
	}
	if _, _, err := service.StatusRange(*status); err != nil {
		return err
	}
	return withService(ctx, c, func(svc *service.Service) error {
		t, err := tenantNamed(ctx, svc, *tenant)
		if err != nil {
			return err
		}
		q := service.ActivityQuery{Status: *status, ResourceID: *user, Client: *client, Limit: min(max(*limit, 1), service.MaxPageSize)}
		if *since > 0 {
			from := time.Now().Add(-*since)
			q.Since = &from
		}
		var entries []service.ActivityEntry
		for len(entries) < *limit {
			page, err := svc.Activity(ctx, t.ID, q)
			if err != nil {
				return err
			}
			entries = append(entries, page.Entries...)
			if q.Cursor = page.Next; q.Cursor == "" {
				break
			}
		}
		entries = entries[:min(len(entries), *limit)]
		slices.Reverse(entries) // oldest first, as a log reads
		out := activityPrinter(env.Stdout, c.json)
		for _, e := range entries {
			out.print(e)
		}
		if err := out.flush(); err != nil || !*follow {
			return err
		}
		q.Cursor, q.Since = "", nil
		if len(entries) > 0 {
			q.After = entries[len(entries)-1].ID
		} else if page, err := svc.Activity(ctx, t.ID, service.ActivityQuery{Limit: 1}); err != nil {
			return err
		} else if len(page.Entries) > 0 {
			q.After = page.Entries[0].ID
		}
		tick := time.NewTicker(followInterval)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-tick.C:
			}
			page, err := svc.Activity(ctx, t.ID, q)
			if err != nil {
				return err
			}
			for _, e := range page.Entries {
				out.print(e)
				q.After = e.ID
			}
			if err := out.flush(); err != nil {
				return err
			}
		}
	})
}

// printer writes entries as JSON lines or as aligned columns.
type printer struct {
	json   *json.Encoder
	tw     *tabwriter.Writer
	header bool
}

func activityPrinter(w io.Writer, asJSON bool) *printer {
	if asJSON {
		return &printer{json: json.NewEncoder(w)}
	}
	return &printer{tw: tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)}
}

func (p *printer) print(e service.ActivityEntry) {
	if p.json != nil {
		p.json.Encode(e)
		return
	}
	if !p.header {
		fmt.Fprintln(p.tw, "TIME\tCLIENT\tMETHOD\tPATH\tSTATUS\tMS\tRESOURCE\tERROR")
		p.header = true
	}
	problem := e.ScimType
	if e.Detail != "" {
		if problem != "" {
			problem += ": "
		}
		problem += e.Detail
	}
	fmt.Fprintf(p.tw, "%s\t%s\t%s\t%s\t%d\t%.1f\t%s\t%s\n", e.Time.Local().Format(time.DateTime), e.Client, e.Method, e.Path,
		e.Status, e.LatencyMS, e.ResourceID, problem)
}

func (p *printer) flush() error {
	if p.tw != nil {
		return p.tw.Flush()
	}
	return nil
}
