package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/scimd/scimd/internal/httpapi"
	"github.com/scimd/scimd/internal/service"
	"github.com/scimd/scimd/internal/store"
	"github.com/scimd/scimd/internal/store/postgres"
	"github.com/scimd/scimd/internal/store/sqlite"
)

// The admin commands are the service layer's other face (the management API is the
// first): each parses its flags, calls one service method and prints the result.

// withService opens the store named by --db and runs fn over a service on it.
func withService(ctx context.Context, c common, fn func(*service.Service) error) error {
	return withStore(ctx, c, func(st store.Store) error {
		return fn(service.New(st, service.Options{}))
	})
}

// tenantNamed finds a tenant by name for a --tenant flag or argument.
func tenantNamed(ctx context.Context, svc *service.Service, name string) (store.Tenant, error) {
	if name == "" {
		return store.Tenant{}, errors.New("--tenant is required")
	}
	t, err := svc.TenantByName(ctx, name)
	if e, ok := service.AsError(err); ok && e.Kind == service.NotFound {
		return t, fmt.Errorf("no tenant named %q", name)
	}
	return t, err
}

// allPages reads every page of a cursor-paged list: fetch returns a page's items and
// the next cursor ("" after the last page).
func allPages[T any](fetch func(cursor string) ([]T, string, error)) ([]T, error) {
	out := []T{}
	for cursor := ""; ; {
		items, next, err := fetch(cursor)
		if err != nil {
			return nil, err
		}
		out = append(out, items...)
		if cursor = next; cursor == "" {
			return out, nil
		}
	}
}

func timeOrDash(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Format(time.RFC3339)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

type tenantOut struct {
	ID          string     `json:"id"`
	Name        string     `json:"name"`
	ExternalRef string     `json:"external_ref,omitempty"`
	Disabled    *time.Time `json:"disabled,omitempty"`
	Created     time.Time  `json:"created"`
}

func tenantOutOf(t store.Tenant) tenantOut {
	return tenantOut{ID: t.ID, Name: t.Name, ExternalRef: t.ExternalRef, Disabled: t.Disabled, Created: t.Created}
}

func tenantCreate(ctx context.Context, args []string, env Env) error {
	var c common
	fs := newFlags("tenant create", env, &c)
	ref := fs.String("external-ref", "", "the application's own id for the customer (unique)")
	pos, err := parse(fs, args, env)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("usage: scimd tenant create NAME [--external-ref REF]")
	}
	return withService(ctx, c, func(svc *service.Service) error {
		t, err := svc.CreateTenant(ctx, service.TenantInput{Name: &pos[0], ExternalRef: ref})
		if err != nil {
			return err
		}
		if c.json {
			return printJSON(env.Stdout, tenantOutOf(t))
		}
		fmt.Fprintf(env.Stdout, "created tenant %s (%s)\n", t.Name, t.ID)
		return nil
	})
}

func tenantList(ctx context.Context, args []string, env Env) error {
	var c common
	fs := newFlags("tenant list", env, &c)
	if _, err := parse(fs, args, env); err != nil {
		return err
	}
	return withService(ctx, c, func(svc *service.Service) error {
		rows := []tenantOut{}
		for cursor := ""; ; {
			page, err := svc.ListTenants(ctx, service.TenantFilter{Cursor: cursor, Limit: 1000})
			if err != nil {
				return err
			}
			for _, t := range page.Tenants {
				rows = append(rows, tenantOutOf(t))
			}
			if cursor = page.Next; cursor == "" {
				break
			}
		}
		if c.json {
			return printJSON(env.Stdout, rows)
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tID\tEXTERNAL REF\tCREATED\tDISABLED")
		for _, t := range rows {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.Name, t.ID, orDash(t.ExternalRef), t.Created.Format(time.RFC3339), timeOrDash(t.Disabled))
		}
		return tw.Flush()
	})
}

// tenantSetDisabled is tenant disable and tenant enable.
func tenantSetDisabled(disabled bool) func(context.Context, []string, Env) error {
	verb := map[bool]string{true: "disable", false: "enable"}[disabled]
	return func(ctx context.Context, args []string, env Env) error {
		var c common
		fs := newFlags("tenant "+verb, env, &c)
		pos, err := parse(fs, args, env)
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			return fmt.Errorf("usage: scimd tenant %s NAME", verb)
		}
		return withService(ctx, c, func(svc *service.Service) error {
			t, err := tenantNamed(ctx, svc, pos[0])
			if err != nil {
				return err
			}
			if t, err = svc.SetTenantDisabled(ctx, t.ID, disabled); err != nil {
				return err
			}
			if c.json {
				return printJSON(env.Stdout, tenantOutOf(t))
			}
			fmt.Fprintf(env.Stdout, "%sd tenant %s\n", verb, t.Name)
			return nil
		})
	}
}

func tenantDelete(ctx context.Context, args []string, env Env) error {
	var c common
	fs := newFlags("tenant delete", env, &c)
	confirm := fs.String("confirm", "", "the tenant's name again: deleting removes all its users, groups and credentials")
	pos, err := parse(fs, args, env)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("usage: scimd tenant delete NAME --confirm NAME")
	}
	return withService(ctx, c, func(svc *service.Service) error {
		t, err := tenantNamed(ctx, svc, pos[0])
		if err != nil {
			return err
		}
		if *confirm != t.Name {
			return fmt.Errorf("deleting tenant %q removes all its users, groups and credentials: add --confirm %s", t.Name, shellQuote(t.Name))
		}
		if err := svc.DeleteTenant(ctx, t.ID, *confirm); err != nil {
			return err
		}
		if c.json {
			return printJSON(env.Stdout, map[string]any{"id": t.ID, "name": t.Name, "deleted": true})
		}
		fmt.Fprintf(env.Stdout, "deleted tenant %s and all its data\n", t.Name)
		return nil
	})
}

// printIssued prints a credential with its secret, the only time it is shown.
func printIssued(env Env, asJSON bool, tenant, connector, id, password, bearer string) error {
	if asJSON {
		return json.NewEncoder(env.Stdout).Encode(struct {
			Tenant   string `json:"tenant"`
			ID       string `json:"id"`
			Username string `json:"username"`
			Password string `json:"password"`
			Bearer   string `json:"bearer"`
			BaseURL  string `json:"base_url"`
		}{tenant, id, id, password, bearer, connector})
	}
	fmt.Fprintf(env.Stdout, "tenant:    %s\nbase URL:  %s\nid:        %s\nusername:  %s\npassword:  %s\nbearer:    %s\n(the secret is shown only now)\n",
		tenant, connector, id, id, password, bearer)
	return nil
}

// connectorFlag adds --base-url: the connector URL is printed beside the secret because
// an identity provider asks for both on one form, and the server itself is not asked.
func connectorFlag(fs interface {
	String(name, value, usage string) *string
}) func() (string, error) {
	baseURL := fs.String("base-url", defaultBaseURL, "public URL of scimd (https://host, with or without /scim/v2), printed as the connector URL")
	return func() (string, error) {
		if err := checkBaseURL(*baseURL); err != nil {
			return "", err
		}
		return httpapi.NormalizeBaseURL(*baseURL) + httpapi.Prefix, nil
	}
}

func credentialCreate(ctx context.Context, args []string, env Env) error {
	var c common
	fs := newFlags("credential create", env, &c)
	tenant := fs.String("tenant", "", "tenant name")
	connector := connectorFlag(fs)
	if _, err := parse(fs, args, env); err != nil {
		return err
	}
	url, err := connector()
	if err != nil {
		return err
	}
	return withService(ctx, c, func(svc *service.Service) error {
		t, err := tenantNamed(ctx, svc, *tenant)
		if err != nil {
			return err
		}
		issued, err := svc.MintCredential(ctx, t.ID)
		if err != nil {
			return err
		}
		return printIssued(env, c.json, t.Name, url, issued.Credential.ID, issued.Password, issued.Bearer)
	})
}

func credentialRotate(ctx context.Context, args []string, env Env) error {
	var c common
	fs := newFlags("credential rotate", env, &c)
	overlap := fs.Duration("overlap", service.DefaultOverlap, "how long the old secret keeps working (0 ends it now)")
	connector := connectorFlag(fs)
	pos, err := parse(fs, args, env)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("usage: scimd credential rotate ID [--overlap 24h]")
	}
	url, err := connector()
	if err != nil {
		return err
	}
	return withService(ctx, c, func(svc *service.Service) error {
		issued, err := svc.RotateCredential(ctx, "", pos[0], *overlap)
		if err != nil {
			return err
		}
		if err := printIssued(env, c.json, issued.Credential.TenantName, url, issued.Credential.ID, issued.Password, issued.Bearer); err != nil {
			return err
		}
		if !c.json {
			if p := issued.Credential.PreviousExpires; p != nil {
				fmt.Fprintf(env.Stdout, "the old password keeps working until %s\n", p.Format(time.RFC3339))
			} else {
				fmt.Fprintln(env.Stdout, "the old password no longer works")
			}
		}
		return nil
	})
}

func credentialList(ctx context.Context, args []string, env Env) error {
	var c common
	fs := newFlags("credential list", env, &c)
	tenant := fs.String("tenant", "", "only this tenant's credentials")
	if _, err := parse(fs, args, env); err != nil {
		return err
	}
	return withService(ctx, c, func(svc *service.Service) error {
		tenantID := ""
		if *tenant != "" {
			t, err := tenantNamed(ctx, svc, *tenant)
			if err != nil {
				return err
			}
			tenantID = t.ID
		}
		creds, err := svc.Credentials(ctx, tenantID)
		if err != nil {
			return err
		}
		if c.json {
			out := []map[string]any{}
			for _, cr := range creds {
				out = append(out, map[string]any{"id": cr.ID, "tenant": cr.TenantName, "created": cr.Created, "revoked": cr.Revoked,
					"rotated": cr.Rotated, "last_used": cr.LastUsed, "last_client": cr.LastClient})
			}
			return printJSON(env.Stdout, out)
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tTENANT\tCREATED\tLAST USED\tCLIENT\tREVOKED")
		for _, cr := range creds {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", cr.ID, cr.TenantName, cr.Created.Format(time.RFC3339),
				timeOrDash(cr.LastUsed), orDash(cr.LastClient), timeOrDash(cr.Revoked))
		}
		return tw.Flush()
	})
}

func credentialRevoke(ctx context.Context, args []string, env Env) error {
	return revokeCmd(ctx, args, env, "credential", func(ctx context.Context, svc *service.Service, id string) error {
		return svc.RevokeCredential(ctx, "", id)
	})
}

// revokeCmd is credential revoke and apikey revoke: one id, revoked at once.
func revokeCmd(ctx context.Context, args []string, env Env, what string, revoke func(context.Context, *service.Service, string) error) error {
	var c common
	fs := newFlags(what+" revoke", env, &c)
	pos, err := parse(fs, args, env)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("usage: scimd %s revoke ID", what)
	}
	return withService(ctx, c, func(svc *service.Service) error {
		if err := revoke(ctx, svc, pos[0]); err != nil {
			if e, ok := service.AsError(err); ok && e.Kind == service.NotFound {
				return fmt.Errorf("no %s %q", what, pos[0])
			}
			return err
		}
		if c.json {
			return printJSON(env.Stdout, map[string]any{"id": pos[0], "revoked": true})
		}
		fmt.Fprintf(env.Stdout, "revoked %s\n", pos[0])
		return nil
	})
}

func apikeyCreate(ctx context.Context, args []string, env Env) error {
	var c common
	fs := newFlags("apikey create", env, &c)
	tenant := fs.String("tenant", "", "limit the key to this tenant (default: every tenant)")
	scope := fs.String("scope", service.ScopeAdmin, "admin (read and change) or read")
	name := fs.String("name", "", "what the key is for")
	if _, err := parse(fs, args, env); err != nil {
		return err
	}
	return withService(ctx, c, func(svc *service.Service) error {
		tenantID := ""
		if *tenant != "" {
			t, err := tenantNamed(ctx, svc, *tenant)
			if err != nil {
				return err
			}
			tenantID = t.ID
		}
		k, err := svc.CreateAPIKey(ctx, tenantID, *scope, *name)
		if err != nil {
			return err
		}
		if c.json {
			return json.NewEncoder(env.Stdout).Encode(struct {
				ID  string `json:"id"`
				Key string `json:"key"`
			}{k.Key.ID, k.Secret})
		}
		fmt.Fprintf(env.Stdout, "id:     %s\nscope:  %s\nkey:    %s\n(the key is shown only now; send it as Authorization: Bearer <key> to /api/v1)\n",
			k.Key.ID, k.Key.Scope, k.Secret)
		return nil
	})
}

func apikeyList(ctx context.Context, args []string, env Env) error {
	var c common
	fs := newFlags("apikey list", env, &c)
	if _, err := parse(fs, args, env); err != nil {
		return err
	}
	return withService(ctx, c, func(svc *service.Service) error {
		keys, err := svc.APIKeys(ctx)
		if err != nil {
			return err
		}
		names := map[string]string{}
		for _, k := range keys {
			if k.TenantID != "" && names[k.TenantID] == "" {
				if t, err := svc.Tenant(ctx, k.TenantID); err == nil {
					names[k.TenantID] = t.Name
				}
			}
		}
		if c.json {
			out := []map[string]any{}
			for _, k := range keys {
				out = append(out, map[string]any{"id": k.ID, "tenant": names[k.TenantID], "scope": k.Scope, "name": k.Name,
					"created": k.Created, "last_used": k.LastUsed, "revoked": k.Revoked})
			}
			return printJSON(env.Stdout, out)
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tTENANT\tSCOPE\tNAME\tCREATED\tLAST USED\tREVOKED")
		for _, k := range keys {
			tenant := names[k.TenantID]
			if k.TenantID == "" {
				tenant = "(all)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, tenant, k.Scope, orDash(k.Name), k.Created.Format(time.RFC3339),
				timeOrDash(k.LastUsed), timeOrDash(k.Revoked))
		}
		return tw.Flush()
	})
}

func apikeyRevoke(ctx context.Context, args []string, env Env) error {
	return revokeCmd(ctx, args, env, "apikey", func(ctx context.Context, svc *service.Service, id string) error {
		return svc.RevokeAPIKey(ctx, id)
	})
}

func userList(ctx context.Context, args []string, env Env) error {
	var c common
	fs := newFlags("user list", env, &c)
	tenant := fs.String("tenant", "", "tenant name")
	role := fs.String("role", "", "only users holding this role (group displayName)")
	if _, err := parse(fs, args, env); err != nil {
		return err
	}
	return withService(ctx, c, func(svc *service.Service) error {
		t, err := tenantNamed(ctx, svc, *tenant)
		if err != nil {
			return err
		}
		users := []service.DirectoryUser{}
		q := service.UserQuery{Role: *role, Limit: service.MaxPageSize}
		for {
			page, err := svc.Users(ctx, t.ID, q)
			if err != nil {
				return err
			}
			users = append(users, page.Users...)
			if q.Cursor = page.Next; q.Cursor == "" {
				break
			}
		}
		if c.json {
			type row struct {
				ID       string   `json:"id"`
				UserName string   `json:"userName"`
				Active   bool     `json:"active"`
				Roles    []string `json:"roles"`
			}
			rows := make([]row, 0, len(users))
			for _, u := range users {
				rows = append(rows, row{u.ID, u.UserName, u.Active, u.Roles})
			}
			return printJSON(env.Stdout, rows)
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tUSERNAME\tACTIVE\tROLES")
		for _, u := range users {
			fmt.Fprintf(tw, "%s\t%s\t%t\t%s\n", u.ID, u.UserName, u.Active, strings.Join(u.Roles, ","))
		}
		return tw.Flush()
	})
}

func groupList(ctx context.Context, args []string, env Env) error {
	var c common
	fs := newFlags("group list", env, &c)
	tenant := fs.String("tenant", "", "tenant name")
	if _, err := parse(fs, args, env); err != nil {
		return err
	}
	return withService(ctx, c, func(svc *service.Service) error {
		t, err := tenantNamed(ctx, svc, *tenant)
		if err != nil {
			return err
		}
		groups, err := allPages(func(cursor string) ([]service.GroupRoles, string, error) {
			page, err := svc.Groups(ctx, t.ID, cursor, service.MaxPageSize)
			return page.Groups, page.Next, err
		})
		if err != nil {
			return err
		}
		if c.json {
			type row struct {
				ID          string   `json:"id"`
				DisplayName string   `json:"displayName"`
				Members     int      `json:"members"`
				Roles       []string `json:"roles"`
			}
			rows := make([]row, 0, len(groups))
			for _, g := range groups {
				rows = append(rows, row{g.ID, g.Name, g.MemberCount, g.Roles})
			}
			return printJSON(env.Stdout, rows)
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tDISPLAYNAME\tMEMBERS\tROLES")
		for _, g := range groups {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", g.ID, g.Name, g.MemberCount, orDash(strings.Join(g.Roles, ",")))
		}
		return tw.Flush()
	})
}

// backup and restore copy the embedded store's file; PostgreSQL has its own tools, which
// also cover what a copy of one database cannot (point-in-time recovery).
func backup(ctx context.Context, args []string, env Env) error {
	var c common
	fs := newFlags("backup", env, &c)
	pos, err := parse(fs, args, env)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("usage: scimd backup [--db scimd.db] FILE")
	}
	if postgres.IsURL(c.db) {
		return errors.New("backup copies a SQLite file; back a PostgreSQL database up with pg_dump (see \"Backups\" in docs/deploy.md: pg_dump --format=custom, restored with pg_restore)")
	}
	if err := sqlite.Backup(ctx, c.db, pos[0]); err != nil {
		return err
	}
	if c.json {
		return printJSON(env.Stdout, map[string]any{"db": c.db, "backup": pos[0]})
	}
	fmt.Fprintf(env.Stdout, "backed up %s to %s\n", c.db, pos[0])
	return nil
}

func restore(ctx context.Context, args []string, env Env) error {
	var c common
	fs := newFlags("restore", env, &c)
	pos, err := parse(fs, args, env)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("usage: scimd restore [--db scimd.db] FILE")
	}
	if postgres.IsURL(c.db) {
		return errors.New("restore writes a SQLite file; restore a PostgreSQL dump with pg_restore (see \"Backups\" in docs/deploy.md)")
	}
	if err := sqlite.Restore(ctx, pos[0], c.db); err != nil {
		return err
	}
	if c.json {
		return printJSON(env.Stdout, map[string]any{"db": c.db, "restored_from": pos[0]})
	}
	fmt.Fprintf(env.Stdout, "restored %s from %s\n", c.db, pos[0])
	return nil
}
