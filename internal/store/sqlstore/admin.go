package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/scimd/scimd/internal/store"
)

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(...any) error }

func nullTime(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixNano(), Valid: true}
}

func timeOf(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := time.Unix(0, n.Int64).UTC()
	return &t
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// checkTenantFree gives a clear error for a name or reference another tenant has; the
// unique indexes are the backstop.
func checkTenantFree(r runner, t store.Tenant) error {
	var other string
	err := r.queryRow("SELECT id FROM tenants WHERE name = ? AND id <> ?", t.Name, t.ID).Scan(&other)
	if err == nil {
		return fmt.Errorf("tenant name %q: %w", t.Name, store.ErrExists)
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if t.ExternalRef == "" {
		return nil
	}
	err = r.queryRow("SELECT id FROM tenants WHERE external_ref = ? AND id <> ?", t.ExternalRef, t.ID).Scan(&other)
	if err == nil {
		return fmt.Errorf("tenant external reference %q: %w", t.ExternalRef, store.ErrExists)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	return err
}

func (s *Store) CreateTenant(ctx context.Context, t store.Tenant) (store.Tenant, error) {
	now := s.now()
	t = store.Tenant{ID: store.NewID(), Name: t.Name, ExternalRef: t.ExternalRef, Created: now, Updated: now}
	err := s.inWrite(ctx, func(r runner) error {
		if err := checkTenantFree(r, t); err != nil {
			return err
		}
		_, err := r.exec("INSERT INTO tenants (id, name, external_ref, created, updated) VALUES (?, ?, ?, ?, ?)",
			t.ID, t.Name, nullString(t.ExternalRef), now.UnixNano(), now.UnixNano())
		if s.d.IsUniqueViolation(err) {
			return fmt.Errorf("tenant %q: %w", t.Name, store.ErrExists)
		}
		return err
	})
	if err != nil {
		return store.Tenant{}, fmt.Errorf("create tenant: %w", err)
	}
	return t, nil
}

const tenantColumns = "SELECT id, name, external_ref, created, updated, disabled FROM tenants"

func scanTenant(sc scanner) (store.Tenant, error) {
	var t store.Tenant
	var created int64
	var updated, disabled sql.NullInt64
	var ref sql.NullString
	err := sc.Scan(&t.ID, &t.Name, &ref, &created, &updated, &disabled)
	t.ExternalRef = ref.String
	t.Created = time.Unix(0, created).UTC()
	t.Updated = t.Created
	if updated.Valid {
		t.Updated = time.Unix(0, updated.Int64).UTC()
	}
	t.Disabled = timeOf(disabled)
	return t, err
}

func scanTenants(rows *sql.Rows, err error) ([]store.Tenant, error) {
	if err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	defer rows.Close()
	out := []store.Tenant{}
	for rows.Next() {
		t, err := scanTenant(rows)
		if err != nil {
			return nil, fmt.Errorf("list tenants: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

func (s *Store) Tenants(ctx context.Context) ([]store.Tenant, error) {
	return scanTenants(s.readRunner(ctx, nil).query(tenantColumns + " ORDER BY name"))
}

func (s *Store) ListTenants(ctx context.Context, q store.TenantQuery) ([]store.Tenant, error) {
	where, args := "name > ?", []any{q.After}
	if q.ID != "" {
		where += " AND id = ?"
		args = append(args, q.ID)
	}
	if q.Name != "" {
		where += " AND name = ?"
		args = append(args, q.Name)
	}
	if q.ExternalRef != "" {
		where += " AND external_ref = ?"
		args = append(args, q.ExternalRef)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	return scanTenants(s.readRunner(ctx, nil).dynQuery(tenantColumns+" WHERE "+where+" ORDER BY name LIMIT ?", append(args, limit)...))
}

func (s *Store) tenantWhere(r runner, cond string, arg string) (store.Tenant, error) {
	if !plausibleID(arg) {
		return store.Tenant{}, fmt.Errorf("tenant %q: %w", arg, store.ErrNotFound)
	}
	t, err := scanTenant(r.queryRow(tenantColumns+" WHERE "+cond, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return t, fmt.Errorf("tenant %v: %w", arg, store.ErrNotFound)
	}
	if err != nil {
		return t, fmt.Errorf("tenant %v: %w", arg, err)
	}
	return t, nil
}

func (s *Store) TenantByName(ctx context.Context, name string) (store.Tenant, error) {
	return s.tenantWhere(s.readRunner(ctx, nil), "name = ?", name)
}

func (s *Store) Tenant(ctx context.Context, id string) (store.Tenant, error) {
	return s.tenantWhere(s.readRunner(ctx, nil), "id = ?", id)
}

func (s *Store) UpdateTenant(ctx context.Context, id string, change func(*store.Tenant) error) (store.Tenant, error) {
	var out store.Tenant
	err := s.inWrite(ctx, func(r runner) error {
		t, err := s.tenantWhere(r, "id = ?"+s.d.ForUpdate(), id)
		if err != nil {
			return err
		}
		if err := change(&t); err != nil {
			return err
		}
		t.ID = id
		if err := checkTenantFree(r, t); err != nil {
			return err
		}
		t.Updated = s.now()
		_, err = r.exec("UPDATE tenants SET name = ?, external_ref = ?, disabled = ?, updated = ? WHERE id = ?",
			t.Name, nullString(t.ExternalRef), nullTime(t.Disabled), t.Updated.UnixNano(), id)
		if s.d.IsUniqueViolation(err) {
			return fmt.Errorf("tenant %q: %w", t.Name, store.ErrExists)
		}
		out = t
		return err
	})
	s.credentials.clear()
	if err != nil {
		return store.Tenant{}, fmt.Errorf("update tenant: %w", err)
	}
	return out, nil
}

// DeleteTenant removes the tenant's rows child tables first, so that no foreign key is
// left pointing at a deleted row whichever order the backend checks them in.
func (s *Store) DeleteTenant(ctx context.Context, id string) error {
	err := s.inWrite(ctx, func(r runner) error {
		if _, err := s.tenantWhere(r, "id = ?"+s.d.ForUpdate(), id); err != nil {
			return err
		}
		for _, table := range []string{"group_members", "user_emails", "user_roles", "role_configs", "groups", "users", "resource_counts", "credentials", "api_keys",
			"activity", "setup_links", "events", "event_counters", "webhook_cursors", "webhook_deliveries", "webhook_endpoints"} {
			if _, err := r.exec("DELETE FROM "+table+" WHERE tenant_id = ?", id); err != nil {
				return fmt.Errorf("delete %s: %w", table, err)
			}
		}
		_, err := r.exec("DELETE FROM tenants WHERE id = ?", id)
		return err
	})
	s.credentials.clear()
	if err != nil {
		return fmt.Errorf("delete tenant: %w", err)
	}
	return nil
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

const credentialColumns = `c.id, c.tenant_id, t.name, t.disabled, c.secret_hash, c.previous_hash, c.previous_expires,
	c.created, c.rotated, c.revoked, c.last_used, c.last_client FROM credentials c JOIN tenants t ON t.id = c.tenant_id`

func scanCredential(sc scanner) (store.Credential, error) {
	var c store.Credential
	var created int64
	var disabled, prevExpires, rotated, revoked, lastUsed sql.NullInt64
	var lastClient sql.NullString
	if err := sc.Scan(&c.ID, &c.TenantID, &c.TenantName, &disabled, &c.SecretHash, &c.PreviousHash, &prevExpires,
		&created, &rotated, &revoked, &lastUsed, &lastClient); err != nil {
		return c, err
	}
	c.TenantDisabled = disabled.Valid
	c.Created = time.Unix(0, created).UTC()
	c.PreviousExpires, c.Rotated, c.Revoked, c.LastUsed = timeOf(prevExpires), timeOf(rotated), timeOf(revoked), timeOf(lastUsed)
	c.LastClient = lastClient.String
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
	out := []store.Credential{}
	for rows.Next() {
		c, err := scanCredential(rows)
		if err != nil {
			return nil, fmt.Errorf("list credentials: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func (s *Store) credential(r runner, id string, forUpdate bool) (store.Credential, error) {
	if !plausibleID(id) {
		return store.Credential{}, fmt.Errorf("credential %q: %w", id, store.ErrNotFound)
	}
	q := "SELECT " + credentialColumns + " WHERE c.id = ?"
	if forUpdate {
		q += s.d.ForUpdate()
	}
	c, err := scanCredential(r.queryRow(q, id))
	if errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("credential %q: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return c, fmt.Errorf("credential %q: %w", id, err)
	}
	return c, nil
}

// Credential reads a credential for authentication, reusing one read within the last
// second (see credentialTTL).
func (s *Store) Credential(ctx context.Context, id string) (store.Credential, error) {
	now := time.Now()
	c, gen, ok := s.credentials.get(id, now)
	if ok {
		return c, nil
	}
	c, err := s.credential(s.readRunner(ctx, nil), id, false)
	if err == nil {
		s.credentials.put(c, now, gen)
	}
	return c, err
}

func (s *Store) RevokeCredential(ctx context.Context, id string) error {
	return s.revoke(ctx, "credentials", id)
}

// revoke sets a credential's or API key's revoked time (kept if already revoked).
func (s *Store) revoke(ctx context.Context, table, id string) error {
	if !plausibleID(id) {
		return fmt.Errorf("revoke %q: %w", id, store.ErrNotFound)
	}
	err := s.inWrite(ctx, func(r runner) error {
		res, err := r.exec("UPDATE "+table+" SET revoked = ? WHERE id = ? AND revoked IS NULL", s.now().UnixNano(), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			var exists int
			if err := r.queryRow("SELECT count(*) FROM "+table+" WHERE id = ?", id).Scan(&exists); err != nil {
				return err
			}
			if exists == 0 {
				return store.ErrNotFound
			}
		}
		return nil
	})
	s.credentials.clear()
	if err != nil {
		return fmt.Errorf("revoke %q: %w", id, err)
	}
	return nil
}

func (s *Store) RotateCredential(ctx context.Context, id string, newHash []byte, previousExpires time.Time) (store.Credential, error) {
	var out store.Credential
	err := s.inWrite(ctx, func(r runner) error {
		c, err := s.credential(r, id, true)
		if err != nil {
			return err
		}
		if c.Revoked != nil {
			return fmt.Errorf("credential %q is revoked: %w", id, store.ErrNotFound)
		}
		now := s.now()
		prevHash, prevExpires := c.SecretHash, &previousExpires
		if !previousExpires.After(now) {
			prevHash, prevExpires = nil, nil
		}
		if _, err := r.exec("UPDATE credentials SET secret_hash = ?, previous_hash = ?, previous_expires = ?, rotated = ? WHERE id = ?",
			newHash, prevHash, nullTime(prevExpires), now.UnixNano(), id); err != nil {
			return err
		}
		c.SecretHash, c.PreviousHash, c.PreviousExpires, c.Rotated = newHash, prevHash, prevExpires, &now
		out = c
		return nil
	})
	s.credentials.clear()
	if err != nil {
		return store.Credential{}, fmt.Errorf("rotate credential: %w", err)
	}
	return out, nil
}

func (s *Store) CreateAPIKey(ctx context.Context, k store.APIKey) error {
	err := s.inWrite(ctx, func(r runner) error {
		_, err := r.exec("INSERT INTO api_keys (id, tenant_id, scope, name, secret_hash, created) VALUES (?, ?, ?, ?, ?, ?)",
			k.ID, nullString(k.TenantID), k.Scope, k.Name, k.SecretHash, k.Created.UnixNano())
		return err
	})
	if err != nil {
		return fmt.Errorf("create API key: %w", err)
	}
	return nil
}

const apiKeyColumns = "SELECT id, tenant_id, scope, name, secret_hash, created, revoked, last_used FROM api_keys"

func scanAPIKey(sc scanner) (store.APIKey, error) {
	var k store.APIKey
	var tenant sql.NullString
	var created int64
	var revoked, lastUsed sql.NullInt64
	err := sc.Scan(&k.ID, &tenant, &k.Scope, &k.Name, &k.SecretHash, &created, &revoked, &lastUsed)
	k.TenantID = tenant.String
	k.Created = time.Unix(0, created).UTC()
	k.Revoked, k.LastUsed = timeOf(revoked), timeOf(lastUsed)
	return k, err
}

func (s *Store) APIKeys(ctx context.Context) ([]store.APIKey, error) {
	rows, err := s.readRunner(ctx, nil).query(apiKeyColumns + " ORDER BY created, id")
	if err != nil {
		return nil, fmt.Errorf("list API keys: %w", err)
	}
	defer rows.Close()
	out := []store.APIKey{}
	for rows.Next() {
		k, err := scanAPIKey(rows)
		if err != nil {
			return nil, fmt.Errorf("list API keys: %w", err)
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

func (s *Store) APIKey(ctx context.Context, id string) (store.APIKey, error) {
	if !plausibleID(id) {
		return store.APIKey{}, fmt.Errorf("API key %q: %w", id, store.ErrNotFound)
	}
	k, err := scanAPIKey(s.readRunner(ctx, nil).queryRow(apiKeyColumns+" WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return k, fmt.Errorf("API key %q: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return k, fmt.Errorf("API key %q: %w", id, err)
	}
	return k, nil
}

func (s *Store) RevokeAPIKey(ctx context.Context, id string) error {
	return s.revoke(ctx, "api_keys", id)
}

// RecordUse writes last-used times in one transaction; a time never moves backwards, so
// batches from several instances may land in any order.
func (s *Store) RecordUse(ctx context.Context, credentials, apiKeys []store.Use) error {
	if len(credentials) == 0 && len(apiKeys) == 0 {
		return nil
	}
	err := s.inWrite(ctx, func(r runner) error {
		for _, u := range credentials {
			if _, err := r.exec(`UPDATE credentials SET last_used = ?, last_client = CASE WHEN ? = '' THEN last_client ELSE ? END
				WHERE id = ? AND (last_used IS NULL OR last_used < ?)`, u.At.UnixNano(), u.Client, u.Client, u.ID, u.At.UnixNano()); err != nil {
				return err
			}
		}
		for _, u := range apiKeys {
			if _, err := r.exec("UPDATE api_keys SET last_used = ? WHERE id = ? AND (last_used IS NULL OR last_used < ?)",
				u.At.UnixNano(), u.ID, u.At.UnixNano()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record use: %w", err)
	}
	return nil
}
