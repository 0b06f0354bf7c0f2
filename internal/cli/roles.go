package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/scimd/scimd/internal/roles"
	"github.com/scimd/scimd/internal/service"
)

// The role commands manage how a tenant's groups become the application's roles (see
// docs/roles.md); each calls the service layer, as the management API does.

// readConfigFile reads a JSON file, or standard input for "-".
func readConfigFile(path string) ([]byte, error) {
	if path == "-" {
		return io.ReadAll(os.Stdin)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return b, nil
}

// roleTarget is the tenant a --tenant flag names, or "" (the default configuration).
func roleTarget(ctx context.Context, svc *service.Service, tenant string) (string, error) {
	if tenant == "" {
		return "", nil
	}
	t, err := tenantNamed(ctx, svc, tenant)
	return t.ID, err
}

func printRoleSettings(env Env, c common, s service.RoleSettings) error {
	if c.json {
		return printJSON(env.Stdout, s)
	}
	fmt.Fprintf(env.Stdout, "source: %s\n", s.Source)
	b, err := json.MarshalIndent(s.Effective, "", "  ")
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "effective configuration:\n%s\n", b)
	return nil
}

func roleShow(ctx context.Context, args []string, env Env) error {
	var c common
	fs := newFlags("role show", env, &c)
	tenant := fs.String("tenant", "", "tenant name (the default configuration when absent)")
	if _, err := parse(fs, args, env); err != nil {
		return err
	}
	return withService(ctx, c, func(svc *service.Service) error {
		id, err := roleTarget(ctx, svc, *tenant)
		if err != nil {
			return err
		}
		s, err := svc.RoleSettings(ctx, id)
		if err != nil {
			return err
		}
		return printRoleSettings(env, c, s)
	})
}

func printRoleUpdate(env Env, c common, target string, u service.RoleUpdate) error {
	if c.json {
		return printJSON(env.Stdout, u)
	}
	if u.Unchanged {
		fmt.Fprintf(env.Stdout, "%s: unchanged\n", target)
		return nil
	}
	fmt.Fprintf(env.Stdout, "%s: set (%s); roles derived again for %d users, %d changed\n", target, u.Source, u.Recomputed, u.Changed)
	return nil
}

func roleSet(ctx context.Context, args []string, env Env) error {
	var c common
	fs := newFlags("role set", env, &c)
	tenant := fs.String("tenant", "", "tenant name (the default configuration when absent)")
	pos, err := parse(fs, args, env)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("usage: scimd role set [--tenant NAME] FILE (a role configuration; - for standard input)")
	}
	data, err := readConfigFile(pos[0])
	if err != nil {
		return err
	}
	cfg, err := roles.Decode(data)
	if err != nil {
		return fmt.Errorf("%s: %w", pos[0], err)
	}
	return withService(ctx, c, func(svc *service.Service) error {
		id, err := roleTarget(ctx, svc, *tenant)
		if err != nil {
			return err
		}
		u, err := svc.SetRoleSettings(ctx, id, &cfg)
		if err != nil {
			return err
		}
		return printRoleUpdate(env, c, targetName(*tenant), u)
	})
}

func targetName(tenant string) string {
	if tenant == "" {
		return "default"
	}
	return tenant
}

func roleClear(ctx context.Context, args []string, env Env) error {
	var c common
	fs := newFlags("role clear", env, &c)
	tenant := fs.String("tenant", "", "tenant name (the default configuration when absent)")
	if _, err := parse(fs, args, env); err != nil {
		return err
	}
	return withService(ctx, c, func(svc *service.Service) error {
		id, err := roleTarget(ctx, svc, *tenant)
		if err != nil {
			return err
		}
		u, err := svc.SetRoleSettings(ctx, id, nil)
		if err != nil {
			return err
		}
		return printRoleUpdate(env, c, targetName(*tenant), u)
	})
}

func roleApply(ctx context.Context, args []string, env Env) error {
	var c common
	fs := newFlags("role apply", env, &c)
	pos, err := parse(fs, args, env)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("usage: scimd role apply FILE ({\"default\": …, \"tenants\": {NAME: …}}; - for standard input)")
	}
	data, err := readConfigFile(pos[0])
	if err != nil {
		return err
	}
	var f service.RoleFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return fmt.Errorf("%s: not a role file: %w", pos[0], err)
	}
	return withService(ctx, c, func(svc *service.Service) error {
		applied, err := svc.ApplyRoleFile(ctx, f)
		if c.json {
			if perr := printJSON(env.Stdout, applied); perr != nil {
				return perr
			}
		} else {
			for _, a := range applied {
				if perr := printRoleUpdate(env, c, a.Target, a.RoleUpdate); perr != nil {
					return perr
				}
			}
		}
		return err
	})
}

func roleList(ctx context.Context, args []string, env Env) error {
	var c common
	fs := newFlags("role list", env, &c)
	tenant := fs.String("tenant", "", "tenant name")
	if _, err := parse(fs, args, env); err != nil {
		return err
	}
	return withService(ctx, c, func(svc *service.Service) error {
		t, err := tenantNamed(ctx, svc, *tenant)
		if err != nil {
			return err
		}
		list, err := allPages(func(cursor string) ([]service.Role, string, error) {
			page, err := svc.Roles(ctx, t.ID, cursor, service.MaxPageSize)
			return page.Roles, page.Next, err
		})
		if err != nil {
			return err
		}
		if c.json {
			return printJSON(env.Stdout, list)
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ROLE\tHOLDERS\tID\tDESCRIPTION")
		for _, r := range list {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", r.Name, r.MemberCount, r.ID, orDash(strings.TrimSpace(r.Description)))
		}
		return tw.Flush()
	})
}
