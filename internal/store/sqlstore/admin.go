package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/scimd/scimd/internal/store"
)

func (s *Store) CreateTenant(ctx context.Context, name string) (store.Tenant, error) {
	t := store.Tenant{ID: store.NewID(), Name: name, Created: s.now()}
	err := s.inWrite(ctx, func(r runner) error {
		var n int
		if err := r.queryRow("SELECT count(*) FROM tenants WHERE name = ?", name).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("tenant %q: %w", name, store.ErrExists)
		}
		_, err := r.exec("INSERT INTO tenants (id, name, created) VALUES (?, ?, ?)", t.ID, t.Name, t.Created.UnixNano())
		if s.d.IsUniqueViolation(err) {
			return fmt.Errorf("tenant %q: %w", name, store.ErrExists)
		}
		return err
	})
	if err != nil {
		return store.Tenant{}, fmt.Errorf("create tenant: %w", err)
	}
	return t, nil
}

func scanTenant(sc interface{ Scan(...any) error }) (store.Tenant, error) {
	var t store.Tenant
	var created int64
	err := sc.Scan(&t.ID, &t.Name, &created)
	t.Created = time.Unix(0, created).UTC()
	return t, err
}

func (s *Store) Tenants(ctx context.Context) ([]store.Tenant, error) {
	rows, err := s.readRunner(ctx, nil).query("SELECT id, name, created FROM tenants ORDER BY name")
	if err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	defer rows.Close()
	var out []store.Tenant
	for rows.Next() {
		t, err := scanTenant(rows)
		if err != nil {
			return nil, fmt.Errorf("list tenants: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

func (s *Store) TenantByName(ctx context.Context, name string) (store.Tenant, error) {
	t, err := scanTenant(s.readRunner(ctx, nil).queryRow("SELECT id, name, created FROM tenants WHERE name = ?", name))
	if errors.Is(err, sql.ErrNoRows) {
		return t, fmt.Errorf("tenant %q: %w", name, store.ErrNotFound)
	}
	if err != nil {
		return t, fmt.Errorf("tenant %q: %w", name, err)
	}
	return t, nil
}

func (s *Store) CreateCredential(ctx context.Context, c store.Credential) error {
	err := s.inWrite(ctx, func(r runner) error {
		_, err := r.exec("INSERT INTO credentials (id, tenant_id, secret_hash, created) VALUES (?, ?, ?, ?)",
			c.ID, c.TenantID, c.SecretHash, c.Created.UnixNano())
		return err
	})
	if err != nil {
		return fmt.Errorf("create credential: %w", err)
	}
	return nil
}

const credentialColumns = "c.id, c.tenant_id, t.name, c.secret_hash, c.created, c.revoked FROM credentials c JOIN tenants t ON t.id = c.tenant_id"

func scanCredential(sc interface{ Scan(...any) error }) (store.Credential, error) {
	var c store.Credential
	var created int64
	var revoked sql.NullInt64
	if err := sc.Scan(&c.ID, &c.TenantID, &c.TenantName, &c.SecretHash, &created, &revoked); err != nil {
		return c, err
	}
	c.Created = time.Unix(0, created).UTC()
	if revoked.Valid {
		r := time.Unix(0, revoked.Int64).UTC()
		c.Revoked = &r
	}
	return c, nil
}

func (s *Store) Credentials(ctx context.Context, tenantID string) ([]store.Credential, error) {
	r := s.readRunner(ctx, nil)
	var rows *sql.Rows
	var err error
	if tenantID != "" {
		rows, err = r.query("SELECT "+credentialColumns+" WHERE c.tenant_id = ? ORDER BY t.name, c.created", tenantID)
	} else {
		rows, err = r.query("SELECT " + credentialColumns + " ORDER BY t.name, c.created")
	}
	if err != nil {
		return nil, fmt.Errorf("list credentials: %w", err)
	}
	defer rows.Close()
	var out []store.Credential
	for rows.Next() {
		c, err := scanCredential(rows)
		if err != nil {
			return nil, fmt.Errorf("list credentials: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func (s *Store) Credential(ctx context.Context, id string) (store.Credential, error) {
	if !plausibleID(id) {
		return store.Credential{}, fmt.Errorf("credential %q: %w", id, store.ErrNotFound)
	}
	c, err := scanCredential(s.readRunner(ctx, nil).queryRow("SELECT "+credentialColumns+" WHERE c.id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("credential %q: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return c, fmt.Errorf("credential %q: %w", id, err)
	}
	return c, nil
}

func (s *Store) RevokeCredential(ctx context.Context, id string) error {
	if !plausibleID(id) {
		return fmt.Errorf("revoke credential %q: %w", id, store.ErrNotFound)
	}
	err := s.inWrite(ctx, func(r runner) error {
		res, err := r.exec("UPDATE credentials SET revoked = ? WHERE id = ? AND revoked IS NULL", s.now().UnixNano(), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			var exists int
			if err := r.queryRow("SELECT count(*) FROM credentials WHERE id = ?", id).Scan(&exists); err != nil {
				return err
			}
			if exists == 0 {
				return store.ErrNotFound
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("revoke credential %q: %w", id, err)
	}
	return nil
}
