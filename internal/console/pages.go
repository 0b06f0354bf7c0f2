package console

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/scimd/scimd/internal/roles"
	"github.com/scimd/scimd/internal/service"
	"github.com/scimd/scimd/internal/store"
)

var funcs = template.FuncMap{
	"when": func(t any) string {
		switch v := t.(type) {
		case time.Time:
			return v.UTC().Format("2006-01-02 15:04:05 UTC")
		case *time.Time:
			if v == nil {
				return "never"
			}
			return v.UTC().Format("2006-01-02 15:04:05 UTC")
		}
		return ""
	},
	"iso": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"pct": func(f float64) string { return fmt.Sprintf("%.1f%%", f*100) },
	"statusClass": func(status int) string {
		switch {
		case status >= 500:
			return "bad"
		case status >= 400:
			return "warn"
		}
		return "ok"
	},
	"pretty": func(s *string) string {
		if s == nil || *s == "" {
			return ""
		}
		var buf bytes.Buffer
		if err := json.Indent(&buf, []byte(*s), "", "  "); err != nil {
			return *s
		}
		return buf.String()
	},
	"query": func(kv ...string) template.URL {
		q := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] != "" {
				q.Set(kv[i], kv[i+1])
			}
		}
		return template.URL(q.Encode())
	},
	"join": strings.Join,
	"ms":   func(d time.Duration) string { return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 1, 64) },
	"has":  slices.Contains[[]string],
	"entryRows": func(tenantID string, e []service.ActivityEntry) entryRows {
		return entryRows{TenantID: tenantID, Entries: e}
	},
}

// entryRows is what the "entries" table of the layout shows.
type entryRows struct {
	TenantID string
	Entries  []service.ActivityEntry
}

func (c *Console) parseTemplates() error {
	c.pages = map[string]*template.Template{}
	for _, name := range []string{"login", "error", "tenants", "tenant", "users", "user", "roles", "role", "activity", "entry", "credentials", "minted", "webhooks", "webhook", "webhook-added"} {
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return fmt.Errorf("parse console template %s: %w", name, err)
		}
		c.pages[name] = t
	}
	return nil
}

func (c *Console) show(w http.ResponseWriter, r *http.Request, name string, p *page) error {
	c.render(w, r, http.StatusOK, name, nil, *p)
	return nil
}

type tenantRow struct {
	Tenant store.Tenant
	Health service.ConnectionHealth
}

func (c *Console) tenants(w http.ResponseWriter, r *http.Request, p *page) error {
	cursor := r.URL.Query().Get("cursor")
	tp, err := c.svc.ListTenants(r.Context(), service.TenantFilter{Cursor: cursor, Limit: 50})
	if err != nil {
		return err
	}
	rows := make([]tenantRow, 0, len(tp.Tenants))
	for _, t := range tp.Tenants {
		h, err := c.svc.ConnectionHealth(r.Context(), t.ID)
		if err != nil {
			return err
		}
		rows = append(rows, tenantRow{Tenant: t, Health: h})
	}
	p.Title = "Tenants"
	p.Data = struct {
		Rows []tenantRow
		Next string
	}{rows, tp.Next}
	return c.show(w, r, "tenants", p)
}

func (c *Console) tenant(w http.ResponseWriter, r *http.Request, p *page) error {
	h, err := c.svc.ConnectionHealth(r.Context(), p.Tenant.ID)
	if err != nil {
		return err
	}
	conn, err := c.svc.Connection(r.Context(), p.Tenant.ID)
	if err != nil {
		return err
	}
	conn.SCIMBaseURL = scimBase(c.svc, r)
	p.Title, p.Section = p.Tenant.Name, "overview"
	p.Data = struct {
		Health     service.ConnectionHealth
		Connection service.Connection
		SetupLink  *service.SetupLink
	}{h, conn, nil}
	return c.show(w, r, "tenant", p)
}

// users searches by e-mail when the text has an @, else by user name: both are exact
// (case-insensitive) matches on the store's indexes, fast at any size.
func (c *Console) users(w http.ResponseWriter, r *http.Request, p *page) error {
	q := r.URL.Query()
	text := strings.TrimSpace(q.Get("q"))
	uq := service.UserQuery{Role: q.Get("role"), Cursor: q.Get("cursor"), Limit: 50}
	if text != "" {
		if strings.Contains(text, "@") {
			uq.Email = text
		} else {
			uq.UserName = text
		}
	}
	switch q.Get("active") {
	case "true":
		t := true
		uq.Active = &t
	case "false":
		f := false
		uq.Active = &f
	}
	up, err := c.svc.Users(r.Context(), p.Tenant.ID, uq)
	if err != nil {
		return err
	}
	// An e-mail search finds nobody: the text may be a user name with an @ in it.
	if text != "" && uq.Email != "" && len(up.Users) == 0 && uq.Cursor == "" {
		uq.Email, uq.UserName = "", text
		if up, err = c.svc.Users(r.Context(), p.Tenant.ID, uq); err != nil {
			return err
		}
	}
	p.Title, p.Section = "Users of "+p.Tenant.Name, "users"
	p.Data = struct {
		Users                 []service.DirectoryUser
		Next, Q, Role, Active string
	}{up.Users, up.Next, text, q.Get("role"), q.Get("active")}
	return c.show(w, r, "users", p)
}

func (c *Console) user(w http.ResponseWriter, r *http.Request, p *page) error {
	u, err := c.svc.User(r.Context(), p.Tenant.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	act, err := c.svc.Activity(r.Context(), p.Tenant.ID, service.ActivityQuery{ResourceID: u.ID, Limit: 20})
	if err != nil {
		return err
	}
	p.Title, p.Section = u.UserName, "users"
	p.Data = struct {
		User     service.DirectoryUser
		Activity []service.ActivityEntry
	}{u, act.Entries}
	return c.show(w, r, "user", p)
}

func (c *Console) roles(w http.ResponseWriter, r *http.Request, p *page) error {
	rp, err := c.svc.Roles(r.Context(), p.Tenant.ID, r.URL.Query().Get("cursor"), 50)
	if err != nil {
		return err
	}
	settings, err := c.svc.RoleSettings(r.Context(), p.Tenant.ID)
	if err != nil {
		return err
	}
	gp, err := c.svc.Groups(r.Context(), p.Tenant.ID, r.URL.Query().Get("groups"), 50)
	if err != nil {
		return err
	}
	shown := settings.Effective
	if settings.Config != nil {
		shown = *settings.Config
	}
	text, err := json.MarshalIndent(shown, "", "  ")
	if err != nil {
		return err
	}
	p.Title, p.Section = "Roles of "+p.Tenant.Name, "roles"
	p.Message = r.URL.Query().Get("done")
	p.Data = struct {
		Roles      []service.Role
		Next       string
		Settings   service.RoleSettings
		ConfigJSON string
		Groups     []service.GroupRoles
		NextGroups string
	}{rp.Roles, rp.Next, settings, string(text), gp.Groups, gp.Next}
	return c.show(w, r, "roles", p)
}

// setRoleConfig replaces the tenant's role configuration with the form's JSON, or removes
// it (clear), through the service as the API and the CLI do.
func (c *Console) setRoleConfig(w http.ResponseWriter, r *http.Request, p *page) error {
	var cfg *roles.Config
	if r.PostFormValue("clear") == "" {
		decoded, err := roles.Decode([]byte(r.PostFormValue("config")))
		if err != nil {
			return &service.Error{Kind: service.Invalid, Field: "config", Detail: "The configuration is not valid JSON of a role configuration: " + err.Error()}
		}
		cfg = &decoded
	}
	u, err := c.svc.SetRoleSettings(r.Context(), p.Tenant.ID, cfg)
	if err != nil {
		return err
	}
	done := fmt.Sprintf("Saved: roles derived again for %d users, %d changed.", u.Recomputed, u.Changed)
	if u.Unchanged {
		done = "Nothing changed: the configuration was already this one."
	}
	http.Redirect(w, r, Prefix+"/tenants/"+url.PathEscape(p.Tenant.ID)+"/roles?done="+url.QueryEscape(done), http.StatusSeeOther)
	return nil
}

func (c *Console) role(w http.ResponseWriter, r *http.Request, p *page) error {
	id := r.PathValue("id")
	up, err := c.svc.RoleMembers(r.Context(), p.Tenant.ID, id, r.URL.Query().Get("cursor"), 50)
	if err != nil {
		return err
	}
	name := id
	// The role's name comes from its members' lists of roles, or from the roles' page.
	for _, u := range up.Users {
		for _, g := range u.Groups {
			if g.ID == id {
				name = g.Name
			}
		}
	}
	p.Title, p.Section = "Role "+name, "roles"
	p.Data = struct {
		ID, Name string
		Users    []service.DirectoryUser
		Next     string
	}{id, name, up.Users, up.Next}
	return c.show(w, r, "role", p)
}

func (c *Console) activity(w http.ResponseWriter, r *http.Request, p *page) error {
	q := r.URL.Query()
	aq := service.ActivityQuery{Status: q.Get("status"), ResourceID: strings.TrimSpace(q.Get("resource")), Client: q.Get("client"),
		Cursor: q.Get("cursor"), Limit: 50}
	ap, err := c.svc.Activity(r.Context(), p.Tenant.ID, aq)
	if err != nil {
		return err
	}
	p.Title, p.Section = "Activity of "+p.Tenant.Name, "activity"
	p.Data = struct {
		Entries                  []service.ActivityEntry
		Next                     string
		Status, Resource, Client string
		Clients                  []string
	}{ap.Entries, ap.Next, aq.Status, aq.ResourceID, aq.Client, []string{"okta", "entra", "jumpcloud", "onelogin", "google", "other"}}
	return c.show(w, r, "activity", p)
}

func (c *Console) activityEntry(w http.ResponseWriter, r *http.Request, p *page) error {
	e, err := c.svc.ActivityEntry(r.Context(), p.Tenant.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	p.Title, p.Section = e.Method+" "+e.Path, "activity"
	p.Data = e
	return c.show(w, r, "entry", p)
}

func (c *Console) credentials(w http.ResponseWriter, r *http.Request, p *page) error {
	creds, err := c.svc.Credentials(r.Context(), p.Tenant.ID)
	if err != nil {
		return err
	}
	p.Title, p.Section = "Credentials of "+p.Tenant.Name, "credentials"
	p.Message = r.URL.Query().Get("done")
	p.Data = struct {
		Credentials []store.Credential
		BaseURL     string
		Now         time.Time
	}{creds, scimBase(c.svc, r), time.Now()}
	return c.show(w, r, "credentials", p)
}

// minted shows a new or rotated credential's secret, once: the page is the answer to the
// post, never stored or cached.
func (c *Console) minted(w http.ResponseWriter, r *http.Request, p *page, what string, in issuedView) error {
	p.Title, p.Section = what, "credentials"
	p.Data = in
	return c.show(w, r, "minted", p)
}

type issuedView struct {
	ID, Password, Bearer, BaseURL string
	Overlap                       string
}

func (c *Console) mintCredential(w http.ResponseWriter, r *http.Request, p *page) error {
	is, err := c.svc.MintCredential(r.Context(), p.Tenant.ID)
	if err != nil {
		return err
	}
	return c.minted(w, r, p, "New credential", issuedView{ID: is.Credential.ID, Password: is.Password, Bearer: is.Bearer, BaseURL: scimBase(c.svc, r)})
}

func (c *Console) rotateCredential(w http.ResponseWriter, r *http.Request, p *page) error {
	overlap := 24 * time.Hour
	if v := r.PostFormValue("overlap"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return &service.Error{Kind: service.Invalid, Field: "overlap", Detail: "the overlap must be a duration such as 24h or 0s"}
		}
		overlap = d
	}
	is, err := c.svc.RotateCredential(r.Context(), p.Tenant.ID, r.PathValue("id"), overlap)
	if err != nil {
		return err
	}
	return c.minted(w, r, p, "Rotated credential", issuedView{ID: is.Credential.ID, Password: is.Password, Bearer: is.Bearer, BaseURL: scimBase(c.svc, r), Overlap: overlap.String()})
}

func (c *Console) revokeCredential(w http.ResponseWriter, r *http.Request, p *page) error {
	id := r.PathValue("id")
	if err := c.svc.RevokeCredential(r.Context(), p.Tenant.ID, id); err != nil {
		return err
	}
	http.Redirect(w, r, Prefix+"/tenants/"+url.PathEscape(p.Tenant.ID)+"/credentials?done="+url.QueryEscape("Credential "+id+" is revoked: the next request with it is refused."), http.StatusSeeOther)
	return nil
}

// createSetupLink makes a setup link for the customer's administrator and shows it once.
func (c *Console) createSetupLink(w http.ResponseWriter, r *http.Request, p *page) error {
	l, err := c.svc.CreateSetupLink(r.Context(), p.Tenant.ID, 0)
	if err != nil {
		return err
	}
	l.URL = absolute(c.svc, r, l.URL)
	h, err := c.svc.ConnectionHealth(r.Context(), p.Tenant.ID)
	if err != nil {
		return err
	}
	conn, err := c.svc.Connection(r.Context(), p.Tenant.ID)
	if err != nil {
		return err
	}
	conn.SCIMBaseURL = scimBase(c.svc, r)
	p.Title, p.Section = p.Tenant.Name, "overview"
	p.Data = struct {
		Health     service.ConnectionHealth
		Connection service.Connection
		SetupLink  *service.SetupLink
	}{h, conn, &l}
	return c.show(w, r, "tenant", p)
}
