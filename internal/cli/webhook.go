package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/scimd/scimd/internal/service"
	"github.com/scimd/scimd/internal/store"
)

// The webhook commands: endpoints that events are pushed to (docs/events.md).

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// optionalTenant resolves a --tenant flag that may be empty (every tenant).
func optionalTenant(ctx context.Context, svc *service.Service, name string) (string, error) {
	if name == "" {
		return "", nil
	}
	t, err := tenantNamed(ctx, svc, name)
	return t.ID, err
}

type webhookOut struct {
	ID             string     `json:"id"`
	Tenant         string     `json:"tenant,omitempty"`
	URL            string     `json:"url"`
	Types          []string   `json:"types"`
	Format         string     `json:"format"`
	Created        time.Time  `json:"created"`
	Disabled       *time.Time `json:"disabled,omitempty"`
	DisabledReason string     `json:"disabled_reason,omitempty"`
	FailingSince   *time.Time `json:"failing_since,omitempty"`
	Secret         string     `json:"secret,omitempty"`
}

func webhookAdd(ctx context.Context, args []string, env Env) error {
	var c common
	fs := newFlags("webhook add", env, &c)
	tenant := fs.String("tenant", "", "the tenant whose events to send (every tenant's when absent)")
	secret := fs.String("secret", "", "signing secret, whsec_ and base64 (generated and printed when absent)")
	types := fs.String("types", "", "comma-separated event types to send (all when absent)")
	format := fs.String("format", service.FormatWebhook, "webhook (Standard Webhooks) or set (RFC 8935 security event tokens)")
	allowPrivate := fs.Bool("webhook-allow-private", false, "accept a URL on a loopback or private address (serve needs it too)")
	pos, err := parse(fs, args, env)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("usage: scimd webhook add [--tenant NAME] [--secret whsec_…] [--types T,…] [--format webhook|set] URL")
	}
	return withStore(ctx, c, func(st store.Store) error {
		svc := service.New(st, service.Options{WebhookAllowPrivate: *allowPrivate})
		tid, err := optionalTenant(ctx, svc, *tenant)
		if err != nil {
			return err
		}
		ep, generated, err := svc.AddWebhook(ctx, service.WebhookInput{TenantID: tid, URL: pos[0], Secret: *secret, Types: splitList(*types), Format: *format})
		if err != nil {
			return err
		}
		if c.json {
			out := webhookOut{ID: ep.ID, Tenant: *tenant, URL: ep.URL, Types: orEmpty(ep.Types), Format: ep.Format, Created: ep.Created}
			if generated {
				out.Secret = ep.Secret
			}
			return printJSON(env.Stdout, out)
		}
		fmt.Fprintln(env.Stdout, ep.ID)
		if generated {
			fmt.Fprintf(env.Stdout, "secret: %s (shown once: give it to the receiver)\n", ep.Secret)
		}
		return nil
	})
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func webhookList(ctx context.Context, args []string, env Env) error {
	var c common
	fs := newFlags("webhook list", env, &c)
	tenant := fs.String("tenant", "", "only the endpoints that receive this tenant's events")
	if _, err := parse(fs, args, env); err != nil {
		return err
	}
	return withService(ctx, c, func(svc *service.Service) error {
		tid, err := optionalTenant(ctx, svc, *tenant)
		if err != nil {
			return err
		}
		eps, err := svc.Webhooks(ctx, "", tid)
		if err != nil {
			return err
		}
		names := map[string]string{}
		for _, ep := range eps {
			if ep.TenantID != "" && names[ep.TenantID] == "" {
				if t, err := svc.Tenant(ctx, ep.TenantID); err == nil {
					names[ep.TenantID] = t.Name
				}
			}
		}
		if c.json {
			out := []webhookOut{}
			for _, ep := range eps {
				out = append(out, webhookOut{ID: ep.ID, Tenant: names[ep.TenantID], URL: ep.URL, Types: orEmpty(ep.Types), Format: ep.Format,
					Created: ep.Created, Disabled: ep.Disabled, DisabledReason: ep.DisabledReason, FailingSince: ep.FailingSince})
			}
			return printJSON(env.Stdout, out)
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tTENANT\tURL\tTYPES\tFORMAT\tSTATE")
		for _, ep := range eps {
			tenant := names[ep.TenantID]
			if ep.TenantID == "" {
				tenant = "(all)"
			}
			state := "ok"
			switch {
			case ep.Disabled != nil:
				state = "disabled " + ep.Disabled.Format(time.RFC3339) + ": " + ep.DisabledReason
			case ep.FailingSince != nil:
				state = "failing since " + ep.FailingSince.Format(time.RFC3339)
			}
			types := strings.Join(ep.Types, ",")
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", ep.ID, tenant, ep.URL, orDash(types), ep.Format, state)
		}
		return tw.Flush()
	})
}

func webhookRemove(ctx context.Context, args []string, env Env) error {
	var c common
	fs := newFlags("webhook remove", env, &c)
	pos, err := parse(fs, args, env)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("usage: scimd webhook remove ID")
	}
	return withService(ctx, c, func(svc *service.Service) error {
		if err := svc.RemoveWebhook(ctx, "", pos[0]); err != nil {
			return err
		}
		if c.json {
			return printJSON(env.Stdout, map[string]string{"removed": pos[0]})
		}
		fmt.Fprintf(env.Stdout, "removed %s\n", pos[0])
		return nil
	})
}

func webhookDeliveries(ctx context.Context, args []string, env Env) error {
	var c common
	fs := newFlags("webhook deliveries", env, &c)
	limit := fs.Int("limit", 50, "how many of the latest attempts")
	pos, err := parse(fs, args, env)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("usage: scimd webhook deliveries ID [--limit 50]")
	}
	return withService(ctx, c, func(svc *service.Service) error {
		ds, err := svc.WebhookDeliveries(ctx, "", pos[0], *limit)
		if err != nil {
			return err
		}
		if c.json {
			out := []map[string]any{}
			for _, d := range ds {
				out = append(out, map[string]any{"event_id": d.EventID, "tenant_id": d.TenantID, "seq": d.Seq, "attempt": d.Attempt,
					"at": d.At, "status": d.Status, "latency_ms": float64(d.Latency.Microseconds()) / 1000, "response": d.Response, "error": d.Error})
			}
			return printJSON(env.Stdout, out)
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "AT\tSEQ\tATTEMPT\tSTATUS\tLATENCY\tRESPONSE")
		for _, d := range ds {
			status, resp := fmt.Sprint(d.Status), d.Response
			if d.Status == 0 {
				status, resp = "-", d.Error
			}
			fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%q\n", d.At.Format(time.RFC3339), d.Seq, d.Attempt, status, d.Latency.Round(time.Microsecond), truncate(resp, 60))
		}
		return tw.Flush()
	})
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func webhookReplay(ctx context.Context, args []string, env Env) error {
	var c common
	fs := newFlags("webhook replay", env, &c)
	tenant := fs.String("tenant", "", "the tenant whose events to send again (needed for an endpoint of every tenant)")
	from := fs.Int64("from", 0, "the sequence number of the first event to send again")
	pos, err := parse(fs, args, env)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("usage: scimd webhook replay ID --from SEQ [--tenant NAME]")
	}
	return withService(ctx, c, func(svc *service.Service) error {
		tid, err := optionalTenant(ctx, svc, *tenant)
		if err != nil {
			return err
		}
		if err := svc.ReplayWebhook(ctx, "", pos[0], tid, *from); err != nil {
			return err
		}
		if c.json {
			return printJSON(env.Stdout, map[string]any{"replay_from": *from})
		}
		fmt.Fprintf(env.Stdout, "events from %d will be delivered again\n", *from)
		return nil
	})
}
