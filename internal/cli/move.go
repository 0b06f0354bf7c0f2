package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/scimd/scimd/internal/scim"
	"github.com/scimd/scimd/internal/service"
)

// export and import move one tenant as a SCIM JSON document (docs/deploy.md, "Moving a
// tenant"), between deployments and between SQLite and PostgreSQL alike.

func exportCmd(ctx context.Context, args []string, env Env) error {
	var c common
	fs := newFlags("export", env, &c)
	tenant := fs.String("tenant", "", "name of the tenant to export")
	pos, err := parse(fs, args, env)
	if err != nil {
		return err
	}
	if len(pos) != 0 || *tenant == "" {
		return errors.New("usage: scimd export --db DB --tenant NAME > FILE")
	}
	return withService(ctx, c, func(svc *service.Service) error {
		if _, err := tenantNamed(ctx, svc, *tenant); err != nil {
			return err
		}
		_, err := svc.ExportTenant(ctx, *tenant, env.Stdout)
		return err
	})
}

func importCmd(ctx context.Context, args []string, env Env) error {
	var c common
	fs := newFlags("import", env, &c)
	tenant := fs.String("tenant", "", "import under this tenant name instead of the file's")
	schemaFile := fs.String("schemas", "", "the server's schema file (serve --schemas), when resources carry schema extensions")
	pos, err := parse(fs, args, env)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("usage: scimd import --db DB [--tenant NAME] [--schemas FILE] FILE (or - for standard input)")
	}
	var exts []scim.ExtensionConfig
	if *schemaFile != "" {
		data, err := os.ReadFile(*schemaFile)
		if err != nil {
			return fmt.Errorf("read schema file: %w", err)
		}
		if exts, err = scim.ParseSchemaFile(data); err != nil {
			return fmt.Errorf("%s: %w", *schemaFile, err)
		}
	}
	// "-" reads standard input, so that a tenant moves in one pipeline:
	// scimd export --db A --tenant T | scimd import --db B -
	var in io.Reader = env.Stdin
	if pos[0] != "-" {
		f, err := os.Open(pos[0])
		if err != nil {
			return fmt.Errorf("import: %w", err)
		}
		defer f.Close()
		in = f
	} else if in == nil {
		return errors.New("import: no standard input to read")
	}
	return withService(ctx, c, func(svc *service.Service) error {
		sum, err := svc.ImportTenant(ctx, in, service.ImportOptions{Tenant: *tenant, Extensions: exts,
			Progress: func(users, groups int) {
				fmt.Fprintf(env.Stderr, "import: %d users and %d groups read so far (nothing is committed until the end)\n", users, groups)
			}})
		if err != nil {
			return fmt.Errorf("import %s: %w", pos[0], err)
		}
		if c.json {
			return printJSON(env.Stdout, map[string]any{"tenant": sum.Tenant.Name, "tenant_id": sum.Tenant.ID, "created": sum.Created,
				"users": sum.Users, "groups": sum.Groups, "memberships": sum.Memberships})
		}
		how := "into the empty tenant"
		if sum.Created {
			how = "as the new tenant"
		}
		fmt.Fprintf(env.Stdout, "imported %d users, %d groups and %d memberships %s %s (%s)\n", sum.Users, sum.Groups, sum.Memberships,
			how, sum.Tenant.Name, sum.Tenant.ID)
		fmt.Fprintf(env.Stdout, "credentials are not moved: make the identity provider's with scimd credential create --tenant %s\n", sum.Tenant.Name)
		return nil
	})
}
