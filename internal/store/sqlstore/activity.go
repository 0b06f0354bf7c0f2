package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/scimd/scimd/internal/store"
)

// activityColumns are an entry's columns in insert order.
const activityColumns = "tenant_id, at, request_id, credential_id, client, method, path, status, latency_us, scim_type, detail, resource_type, resource_id, request_body, response_body"

// activityInsertRows bounds the rows of one INSERT: 15 parameters each stays far under
// both backends' parameter limits.
const activityInsertRows = 200

// AppendActivity writes entries in multi-row INSERTs inside one transaction.
func (s *Store) AppendActivity(ctx context.Context, entries []store.ActivityEntry) error {
	if len(entries) == 0 {
		return nil
	}
	err := s.inWrite(ctx, func(r runner) error {
		for start := 0; start < len(entries); start += activityInsertRows {
			chunk := entries[start:min(start+activityInsertRows, len(entries))]
			var b strings.Builder
			b.WriteString("INSERT INTO activity (" + activityColumns + ") VALUES ")
			args := make([]any, 0, len(chunk)*15)
			for i, e := range chunk {
				if i > 0 {
					b.WriteString(", ")
				}
				b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
				args = append(args, e.TenantID, e.At.UnixNano(), e.RequestID, e.CredentialID, e.Client, e.Method, e.Path,
					e.Status, e.Latency.Microseconds(), e.ScimType, e.Detail, e.ResourceType, e.ResourceID, e.RequestBody, e.ResponseBody)
			}
			// A full chunk has one shape and is worth a cached statement; the last one is
			// run as it is.
			var err error
			if len(chunk) == activityInsertRows {
				_, err = r.exec(b.String(), args...)
			} else {
				_, err = r.dynExec(b.String(), args...)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("append activity: %w", err)
	}
	return nil
}

const activitySelect = "SELECT seq, tenant_id, at, request_id, credential_id, client, method, path, status, latency_us, scim_type, detail, resource_type, resource_id"

func scanActivity(sc scanner, withBodies bool) (store.ActivityEntry, error) {
	var e store.ActivityEntry
	var at, latency int64
	dest := []any{&e.Seq, &e.TenantID, &at, &e.RequestID, &e.CredentialID, &e.Client, &e.Method, &e.Path, &e.Status,
		&latency, &e.ScimType, &e.Detail, &e.ResourceType, &e.ResourceID}
	if withBodies {
		dest = append(dest, &e.RequestBody, &e.ResponseBody)
	}
	err := sc.Scan(dest...)
	e.At = time.Unix(0, at).UTC()
	e.Latency = time.Duration(latency) * time.Microsecond
	return e, err
}

// ListActivity pages a tenant's log on the (tenant_id, seq) index, newest first (oldest
// first when following with After).
func (s *Store) ListActivity(ctx context.Context, tenantID string, q store.ActivityQuery) ([]store.ActivityEntry, error) {
	cols := activitySelect
	if q.WithBodies {
		cols += ", request_body, response_body"
	}
	where, args := "tenant_id = ?", []any{tenantID}
	order := "seq DESC"
	if q.Before > 0 {
		where += " AND seq < ?"
		args = append(args, q.Before)
	}
	if q.After > 0 {
		where += " AND seq > ?"
		args = append(args, q.After)
		order = "seq"
	}
	if !q.Since.IsZero() {
		where += " AND at >= ?"
		args = append(args, q.Since.UnixNano())
	}
	if q.StatusMin > 0 {
		where += " AND status >= ? AND status <= ?"
		args = append(args, q.StatusMin, q.StatusMax)
	}
	if q.ResourceID != "" {
		// The second term matches the partial index's condition: lists and discovery,
		// which touch no one resource, are left out of that index.
		where += " AND resource_id = ? AND resource_id <> ''"
		args = append(args, q.ResourceID)
	}
	if q.Client != "" {
		where += " AND client = ?"
		args = append(args, q.Client)
	}
	limit := q.Limit
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	rows, err := s.readRunner(ctx, nil).dynQuery(cols+" FROM activity WHERE "+where+" ORDER BY "+order+fmt.Sprintf(" LIMIT %d", limit), args...)
	if err != nil {
		return nil, fmt.Errorf("list activity: %w", err)
	}
	defer rows.Close()
	out := []store.ActivityEntry{}
	for rows.Next() {
		e, err := scanActivity(rows, q.WithBodies)
		if err != nil {
			return nil, fmt.Errorf("list activity: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list activity: %w", err)
	}
	return out, nil
}

func (s *Store) ActivityEntry(ctx context.Context, tenantID string, seq int64) (store.ActivityEntry, error) {
	e, err := scanActivity(s.readRunner(ctx, nil).queryRow(activitySelect+", request_body, response_body FROM activity WHERE tenant_id = ? AND seq = ?", tenantID, seq), true)
	if errors.Is(err, sql.ErrNoRows) {
		return e, store.ErrNotFound
	}
	if err != nil {
		return e, fmt.Errorf("read activity entry: %w", err)
	}
	return e, nil
}

// ActivityStats reads the newest entry, the newest error (on the partial index of
// errors) and the counts since a time.
func (s *Store) ActivityStats(ctx context.Context, tenantID string, since time.Time) (store.ActivityStats, error) {
	var st store.ActivityStats
	r := s.readRunner(ctx, nil)
	last, err := scanActivity(r.queryRow(activitySelect+" FROM activity WHERE tenant_id = ? ORDER BY seq DESC LIMIT 1", tenantID), false)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return st, nil
	case err != nil:
		return st, fmt.Errorf("activity stats: %w", err)
	}
	st.LastAt, st.LastClient = &last.At, last.Client
	lastErr, err := scanActivity(r.queryRow(activitySelect+" FROM activity WHERE tenant_id = ? AND status >= 400 ORDER BY seq DESC LIMIT 1", tenantID), false)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return st, fmt.Errorf("activity stats: %w", err)
	default:
		st.LastError = &lastErr
	}
	// The entries since then are counted from the seq of the first entry at or after it
	// (entries are numbered in about the order of their times), on the (at) and the
	// (tenant_id, seq) indexes: one index fewer for every entry written.
	var from int64
	err = r.queryRow("SELECT seq FROM activity WHERE at >= ? ORDER BY at LIMIT 1", since.UnixNano()).Scan(&from)
	if errors.Is(err, sql.ErrNoRows) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("activity stats: %w", err)
	}
	var errs sql.NullInt64
	if err := r.queryRow("SELECT count(*), sum(CASE WHEN status >= 400 THEN 1 ELSE 0 END) FROM activity WHERE tenant_id = ? AND seq >= ?",
		tenantID, from).Scan(&st.Requests, &errs); err != nil {
		return st, fmt.Errorf("activity stats: %w", err)
	}
	st.Errors = int(errs.Int64)
	return st, nil
}

// PruneActivity deletes by age in one statement, then trims each tenant over keep at the
// seq of its keep-th newest entry, one tenant per transaction so that no single write
// holds the writer for long.
func (s *Store) PruneActivity(ctx context.Context, before time.Time, keep int) (int64, error) {
	var deleted int64
	if !before.IsZero() {
		err := s.inWrite(ctx, func(r runner) error {
			res, err := r.exec("DELETE FROM activity WHERE at < ?", before.UnixNano())
			if err != nil {
				return err
			}
			n, _ := res.RowsAffected()
			deleted += n
			return nil
		})
		if err != nil {
			return deleted, fmt.Errorf("prune activity by age: %w", err)
		}
	}
	if keep <= 0 {
		return deleted, nil
	}
	rows, err := s.readRunner(ctx, nil).query("SELECT id FROM tenants")
	if err != nil {
		return deleted, fmt.Errorf("prune activity: %w", err)
	}
	var tenants []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return deleted, fmt.Errorf("prune activity: %w", err)
		}
		tenants = append(tenants, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return deleted, fmt.Errorf("prune activity: %w", err)
	}
	for _, id := range tenants {
		var cutoff int64
		err := s.readRunner(ctx, nil).queryRow("SELECT seq FROM activity WHERE tenant_id = ? ORDER BY seq DESC LIMIT 1 OFFSET ?", id, keep).Scan(&cutoff)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return deleted, fmt.Errorf("prune activity of tenant %s: %w", id, err)
		}
		err = s.inWrite(ctx, func(r runner) error {
			res, err := r.exec("DELETE FROM activity WHERE tenant_id = ? AND seq <= ?", id, cutoff)
			if err != nil {
				return err
			}
			n, _ := res.RowsAffected()
			deleted += n
			return nil
		})
		if err != nil {
			return deleted, fmt.Errorf("prune activity of tenant %s: %w", id, err)
		}
	}
	return deleted, nil
}

// Ready checks that the database answers and its schema is the one this build migrates
// to.
func (s *Store) Ready(ctx context.Context) error {
	if s.ready == nil {
		return s.read.PingContext(ctx)
	}
	return s.ready(ctx)
}

// PoolStats are the connection pools' statistics by name ("read", "write"), for metrics.
func (s *Store) PoolStats() map[string]sql.DBStats {
	out := map[string]sql.DBStats{"read": s.read.Stats()}
	if s.writeDB != nil && s.writeDB != s.read {
		out["write"] = s.writeDB.Stats()
	}
	return out
}

func (s *Store) CreateSetupLink(ctx context.Context, l store.SetupLink) error {
	err := s.inWrite(ctx, func(r runner) error {
		_, err := r.exec("INSERT INTO setup_links (token_hash, tenant_id, created, expires) VALUES (?, ?, ?, ?)",
			l.TokenHash, l.TenantID, l.Created.UnixNano(), l.Expires.UnixNano())
		if s.d.IsForeignKeyViolation(err) {
			return store.ErrNotFound
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("create setup link: %w", err)
	}
	return nil
}

func (s *Store) SetupLink(ctx context.Context, tokenHash []byte) (store.SetupLink, error) {
	l := store.SetupLink{}
	var created, expires int64
	err := s.readRunner(ctx, nil).queryRow("SELECT token_hash, tenant_id, created, expires FROM setup_links WHERE token_hash = ?", tokenHash).
		Scan(&l.TokenHash, &l.TenantID, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return l, store.ErrNotFound
	}
	if err != nil {
		return l, fmt.Errorf("read setup link: %w", err)
	}
	l.Created, l.Expires = time.Unix(0, created).UTC(), time.Unix(0, expires).UTC()
	return l, nil
}
