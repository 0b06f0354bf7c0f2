package console

import (
	"cmp"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/scimd/scimd/internal/events"
	"github.com/scimd/scimd/internal/service"
	"github.com/scimd/scimd/internal/store"
)

// Webhook endpoints are shown in two places: under a tenant (its own endpoints and those
// that receive every tenant's events) and at /admin/webhooks (every endpoint, and where
// an endpoint for every tenant is added). The handlers are the same; the page's tenant,
// when there is one, narrows what they show and act on.

// deliveriesShown is how many of an endpoint's latest delivery attempts its page shows.
const deliveriesShown = 50

// webhooksBase is where the page's webhook pages are.
func webhooksBase(p *page) string {
	if p.Tenant != nil {
		return Prefix + "/tenants/" + url.PathEscape(p.Tenant.ID) + "/webhooks"
	}
	return Prefix + "/webhooks"
}

func pageTenant(p *page) string {
	if p.Tenant != nil {
		return p.Tenant.ID
	}
	return ""
}

type webhookRow struct {
	Endpoint store.WebhookEndpoint
	Backlog  int64
	Last     *store.Delivery
}

type webhookForm struct {
	Types  []string
	Format bool // endpoints of format "set" may be added
}

func (c *Console) webhookForm() webhookForm {
	return webhookForm{Types: events.Types, Format: c.svc.SecurityEventsEnabled()}
}

func (c *Console) webhooks(w http.ResponseWriter, r *http.Request, p *page) error {
	tenant := pageTenant(p)
	eps, err := c.svc.Webhooks(r.Context(), "", tenant)
	if err != nil {
		return err
	}
	rows := make([]webhookRow, 0, len(eps))
	for _, ep := range eps {
		// Endpoints are few (an application has one or two): two reads by key each.
		backlog, err := c.svc.WebhookBacklog(r.Context(), "", ep.ID, tenant)
		if err != nil {
			return err
		}
		last, err := c.svc.WebhookDeliveries(r.Context(), "", ep.ID, 1)
		if err != nil {
			return err
		}
		row := webhookRow{Endpoint: ep, Backlog: backlog}
		if len(last) > 0 {
			row.Last = &last[0]
		}
		rows = append(rows, row)
	}
	p.Title, p.Section = "Webhook endpoints", "webhooks"
	if p.Tenant != nil {
		p.Title = "Webhooks of " + p.Tenant.Name
	}
	p.Message = doneMessage(r.URL.Query().Get("done"))
	p.Data = struct {
		Rows []webhookRow
		Base string
		Form webhookForm
	}{rows, webhooksBase(p), c.webhookForm()}
	return c.show(w, r, "webhooks", p)
}

// endpoint returns the endpoint of the request's path, if the page may show it: under a
// tenant, that tenant's endpoints and those for every tenant.
func (c *Console) endpoint(r *http.Request, p *page) (store.WebhookEndpoint, error) {
	id := r.PathValue("id")
	ep, err := c.svc.Webhook(r.Context(), "", id)
	if err != nil {
		return ep, err
	}
	if p.Tenant != nil && ep.TenantID != "" && ep.TenantID != p.Tenant.ID {
		return ep, &service.Error{Kind: service.NotFound, Detail: "webhook " + strconv.Quote(id) + " not found"}
	}
	return ep, nil
}

func (c *Console) webhook(w http.ResponseWriter, r *http.Request, p *page) error {
	ep, err := c.endpoint(r, p)
	if err != nil {
		return err
	}
	backlog, err := c.svc.WebhookBacklog(r.Context(), "", ep.ID, pageTenant(p))
	if err != nil {
		return err
	}
	ds, err := c.svc.WebhookDeliveries(r.Context(), "", ep.ID, deliveriesShown)
	if err != nil {
		return err
	}
	p.Title, p.Section = "Webhook "+ep.ID, "webhooks"
	p.Message = doneMessage(r.URL.Query().Get("done"))
	p.Data = struct {
		Endpoint   store.WebhookEndpoint
		Backlog    int64
		Deliveries []store.Delivery
		Base       string
		// Tenant is whose events a replay sends again: the page's tenant or the endpoint's,
		// else the operator names one.
		Tenant string
	}{ep, backlog, ds, webhooksBase(p), cmp.Or(ep.TenantID, pageTenant(p))}
	return c.show(w, r, "webhook", p)
}

// addWebhook adds an endpoint with a generated secret and shows the secret once: the page
// is the answer to the post, never stored or cached.
func (c *Console) addWebhook(w http.ResponseWriter, r *http.Request, p *page) error {
	if err := r.ParseForm(); err != nil {
		return &service.Error{Kind: service.Invalid, Detail: "the form could not be read"}
	}
	ep, _, err := c.svc.AddWebhook(r.Context(), service.WebhookInput{
		TenantID: pageTenant(p), URL: strings.TrimSpace(r.PostForm.Get("url")), Types: r.PostForm["types"], Format: r.PostForm.Get("format"),
	})
	if err != nil {
		return err
	}
	p.Title, p.Section = "New webhook endpoint", "webhooks"
	p.Data = struct {
		Endpoint store.WebhookEndpoint
		Base     string
	}{ep, webhooksBase(p)}
	return c.show(w, r, "webhook-added", p)
}

func (c *Console) disableWebhook(w http.ResponseWriter, r *http.Request, p *page) error {
	return c.setWebhookDisabled(w, r, p, true)
}

func (c *Console) enableWebhook(w http.ResponseWriter, r *http.Request, p *page) error {
	return c.setWebhookDisabled(w, r, p, false)
}

func (c *Console) setWebhookDisabled(w http.ResponseWriter, r *http.Request, p *page, disabled bool) error {
	ep, err := c.endpoint(r, p)
	if err != nil {
		return err
	}
	if _, err := c.svc.SetWebhookDisabled(r.Context(), "", ep.ID, disabled); err != nil {
		return err
	}
	done := "enabled"
	if disabled {
		done = "disabled"
	}
	http.Redirect(w, r, webhooksBase(p)+"/"+url.PathEscape(ep.ID)+"?done="+done, http.StatusSeeOther)
	return nil
}

func (c *Console) removeWebhook(w http.ResponseWriter, r *http.Request, p *page) error {
	ep, err := c.endpoint(r, p)
	if err != nil {
		return err
	}
	if err := c.svc.RemoveWebhook(r.Context(), "", ep.ID); err != nil {
		return err
	}
	http.Redirect(w, r, webhooksBase(p)+"?done=removed", http.StatusSeeOther)
	return nil
}

func (c *Console) replayWebhook(w http.ResponseWriter, r *http.Request, p *page) error {
	ep, err := c.endpoint(r, p)
	if err != nil {
		return err
	}
	from, err := strconv.ParseInt(strings.TrimSpace(r.PostFormValue("from")), 10, 64)
	if err != nil {
		return &service.Error{Kind: service.Invalid, Field: "from", Detail: "the first event to send again must be an event sequence number (1 or more)"}
	}
	tenant := cmp.Or(strings.TrimSpace(r.PostFormValue("tenant")), pageTenant(p))
	if err := c.svc.ReplayWebhook(r.Context(), "", ep.ID, tenant, from); err != nil {
		return err
	}
	http.Redirect(w, r, webhooksBase(p)+"/"+url.PathEscape(ep.ID)+"?done=replay", http.StatusSeeOther)
	return nil
}

// doneMessage says what an action did, from the code its redirect carries (a code, not
// text, so that a link cannot put words in the console's mouth).
func doneMessage(code string) string {
	switch code {
	case "disabled":
		return "The endpoint is disabled: nothing is delivered to it until it is enabled again."
	case "enabled":
		return "The endpoint is enabled: deliveries resume where they stopped."
	case "removed":
		return "The endpoint is removed, with its delivery log."
	case "replay":
		return "Replay started: the events from that number on are delivered again, in order."
	}
	return ""
}
