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

// Webhook endpoints and their delivery state. Each endpoint has a cursor per tenant (its
// position in that tenant's events); a deliverer leases a cursor, delivers the events
// after it one at a time, in order, and reports each outcome with RecordDelivery, which
// moves the cursor, logs the attempt and schedules a retry in one transaction. The lease
// is a row update (SKIP LOCKED on PostgreSQL), so one instance at a time delivers a
// tenant's events to an endpoint, and another takes over when a lease runs out.

const webhookColumns = `id, tenant_id, url, secret, previous_secret, previous_expires, types, format, created, disabled, disabled_reason, failing_since FROM webhook_endpoints`

func scanWebhook(sc scanner) (store.WebhookEndpoint, error) {
	var w store.WebhookEndpoint
	var tenant, prev, reason sql.NullString
	var prevExpires, disabled, failing sql.NullInt64
	var types string
	var created int64
	if err := sc.Scan(&w.ID, &tenant, &w.URL, &w.Secret, &prev, &prevExpires, &types, &w.Format, &created, &disabled, &reason, &failing); err != nil {
		return w, err
	}
	w.TenantID, w.PreviousSecret, w.DisabledReason = tenant.String, prev.String, reason.String
	w.PreviousExpires, w.Disabled, w.FailingSince = timeOf(prevExpires), timeOf(disabled), timeOf(failing)
	w.Created = time.Unix(0, created).UTC()
	if types != "" {
		w.Types = strings.Split(types, ",")
	}
	return w, nil
}

func (s *Store) CreateWebhook(ctx context.Context, w store.WebhookEndpoint) error {
	err := s.inWrite(ctx, func(r runner) error {
		_, err := r.exec(`INSERT INTO webhook_endpoints (id, tenant_id, url, secret, previous_secret, previous_expires, types, format, created)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, w.ID, nullString(w.TenantID), w.URL, w.Secret, nullString(w.PreviousSecret), nullTime(w.PreviousExpires),
			strings.Join(w.Types, ","), w.Format, w.Created.UnixNano())
		return err
	})
	if err != nil {
		return fmt.Errorf("create webhook: %w", err)
	}
	return nil
}

func (s *Store) Webhooks(ctx context.Context, tenantID string) ([]store.WebhookEndpoint, error) {
	q, args := "SELECT "+webhookColumns+" ORDER BY created, id", []any(nil)
	if tenantID != "" {
		q, args = "SELECT "+webhookColumns+" WHERE tenant_id = ? OR tenant_id IS NULL ORDER BY created, id", []any{tenantID}
	}
	rows, err := s.readRunner(ctx, nil).query(q, args...)
	if err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	defer rows.Close()
	var out []store.WebhookEndpoint
	for rows.Next() {
		w, err := scanWebhook(rows)
		if err != nil {
			return nil, fmt.Errorf("list webhooks: %w", err)
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

func (s *Store) Webhook(ctx context.Context, id string) (store.WebhookEndpoint, error) {
	return s.webhook(s.readRunner(ctx, nil), id, false)
}

func (s *Store) webhook(r runner, id string, forUpdate bool) (store.WebhookEndpoint, error) {
	if !plausibleID(id) {
		return store.WebhookEndpoint{}, store.ErrNotFound
	}
	q := "SELECT " + webhookColumns + " WHERE id = ?"
	if forUpdate {
		q += s.d.ForUpdate()
	}
	w, err := scanWebhook(r.queryRow(q, id))
	if errors.Is(err, sql.ErrNoRows) {
		return w, store.ErrNotFound
	}
	if err != nil {
		return w, fmt.Errorf("read webhook: %w", err)
	}
	return w, nil
}

func (s *Store) UpdateWebhook(ctx context.Context, id string, change func(*store.WebhookEndpoint) error) (store.WebhookEndpoint, error) {
	var out store.WebhookEndpoint
	err := s.inWrite(ctx, func(r runner) error {
		w, err := s.webhook(r, id, true)
		if err != nil {
			return err
		}
		wasDisabled := w.Disabled != nil
		if err := change(&w); err != nil {
			return err
		}
		if wasDisabled && w.Disabled == nil {
			// Enabled again: deliveries start at once, from where they stopped.
			w.FailingSince = nil
			if _, err := r.exec("UPDATE webhook_cursors SET attempts = 0, next_attempt = 0 WHERE endpoint_id = ?", id); err != nil {
				return err
			}
		}
		_, err = r.exec(`UPDATE webhook_endpoints SET url = ?, secret = ?, previous_secret = ?, previous_expires = ?, types = ?, disabled = ?, disabled_reason = ?, failing_since = ?
			WHERE id = ?`, w.URL, w.Secret, nullString(w.PreviousSecret), nullTime(w.PreviousExpires), strings.Join(w.Types, ","),
			nullTime(w.Disabled), nullString(w.DisabledReason), nullTime(w.FailingSince), id)
		out = w
		return err
	})
	if err != nil {
		return out, fmt.Errorf("update webhook: %w", err)
	}
	return out, nil
}

func (s *Store) DeleteWebhook(ctx context.Context, id string) error {
	err := s.inWrite(ctx, func(r runner) error {
		if _, err := s.webhook(r, id, true); err != nil {
			return err
		}
		for _, q := range []string{"DELETE FROM webhook_cursors WHERE endpoint_id = ?", "DELETE FROM webhook_deliveries WHERE endpoint_id = ?", "DELETE FROM webhook_endpoints WHERE id = ?"} {
			if _, err := r.exec(q, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete webhook: %w", err)
	}
	return nil
}

func (s *Store) ReplayWebhook(ctx context.Context, id, tenantID string, fromSeq int64) error {
	err := s.inWrite(ctx, func(r runner) error {
		w, err := s.webhook(r, id, true)
		if err != nil {
			return err
		}
		if w.TenantID != "" && w.TenantID != tenantID {
			return store.ErrNotFound
		}
		// The cursor may be leased: its holder's next report fails (ErrLeaseLost) and the
		// next claim starts from here.
		_, err = r.exec(`INSERT INTO webhook_cursors (endpoint_id, tenant_id, last_seq) VALUES (?, ?, ?)
			ON CONFLICT (endpoint_id, tenant_id) DO UPDATE SET last_seq = excluded.last_seq, attempts = 0, next_attempt = 0, lease_owner = NULL, lease_until = 0`,
			id, tenantID, max(fromSeq-1, 0))
		return err
	})
	if err != nil {
		return fmt.Errorf("replay webhook: %w", err)
	}
	return nil
}

func (s *Store) WebhookDeliveries(ctx context.Context, id string, limit int) ([]store.Delivery, error) {
	rows, err := s.readRunner(ctx, nil).query(`SELECT endpoint_id, tenant_id, event_id, seq, attempt, at, status, latency_us, response, error
		FROM webhook_deliveries WHERE endpoint_id = ? ORDER BY num DESC LIMIT ?`, id, limit)
	if err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	defer rows.Close()
	var out []store.Delivery
	for rows.Next() {
		var d store.Delivery
		var at, latency int64
		if err := rows.Scan(&d.EndpointID, &d.TenantID, &d.EventID, &d.Seq, &d.Attempt, &at, &d.Status, &latency, &d.Response, &d.Error); err != nil {
			return nil, fmt.Errorf("list deliveries: %w", err)
		}
		d.At, d.Latency = time.Unix(0, at).UTC(), time.Duration(latency)*time.Microsecond
		out = append(out, d)
	}
	return out, rows.Err()
}

func (s *Store) WebhookBacklog(ctx context.Context, id, tenantID string) (int64, error) {
	// One row per tenant the endpoint has delivered to, read with the counters by key: cheap
	// enough for a console page, unlike counting events.
	q, args := `SELECT coalesce(sum(c.last_seq - x.last_seq), 0) FROM webhook_cursors x
		JOIN event_counters c ON c.tenant_id = x.tenant_id
		WHERE c.last_seq > x.last_seq`, []any(nil)
	if id != "" {
		q += " AND x.endpoint_id = ?"
		args = append(args, id)
	}
	if tenantID != "" {
		q += " AND x.tenant_id = ?"
		args = append(args, tenantID)
	}
	var n int64
	if err := s.readRunner(ctx, nil).queryRow(q, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count webhook backlog: %w", err)
	}
	return n, nil
}

func (s *Store) ClaimWebhookCursors(ctx context.Context, owner string, lease time.Duration, limit int) ([]store.WebhookCursor, error) {
	// Look before taking a write transaction: deliverers poll, and an idle poll must not
	// cost a commit (on SQLite, a disk flush in the one writer every identity provider's
	// request waits for).
	var one int
	now := s.now().UnixNano()
	err := s.readRunner(ctx, nil).queryRow(`SELECT 1 FROM webhook_endpoints w
		JOIN event_counters c ON c.tenant_id <> ? AND (w.tenant_id IS NULL OR w.tenant_id = c.tenant_id)
		LEFT JOIN webhook_cursors x ON x.endpoint_id = w.id AND x.tenant_id = c.tenant_id
		WHERE w.disabled IS NULL AND (x.endpoint_id IS NULL OR (x.lease_until < ? AND x.next_attempt <= ? AND c.last_seq > x.last_seq))
		LIMIT 1`, globalCounter, now, now).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("claim webhook cursors: %w", err)
	}
	var out []store.WebhookCursor
	err = s.inWrite(ctx, func(r runner) error {
		out = out[:0]
		now := s.now().UnixNano()
		// A tenant's cursor starts at the events recorded before the endpoint was created
		// (an endpoint receives what happens from then on).
		if _, err := r.exec(`INSERT INTO webhook_cursors (endpoint_id, tenant_id, last_seq)
			SELECT w.id, c.tenant_id, (SELECT coalesce(max(ev.seq), 0) FROM events ev WHERE ev.tenant_id = c.tenant_id AND ev.time < w.created)
			FROM webhook_endpoints w JOIN event_counters c ON c.tenant_id <> ? AND (w.tenant_id IS NULL OR w.tenant_id = c.tenant_id)
			WHERE w.disabled IS NULL AND NOT EXISTS (SELECT 1 FROM webhook_cursors x WHERE x.endpoint_id = w.id AND x.tenant_id = c.tenant_id)
			ON CONFLICT DO NOTHING`, globalCounter); err != nil {
			return fmt.Errorf("start cursors: %w", err)
		}
		rows, err := r.query(`UPDATE webhook_cursors SET lease_owner = ?, lease_until = ?
			WHERE (endpoint_id, tenant_id) IN (SELECT x.endpoint_id, x.tenant_id FROM webhook_cursors x
				JOIN webhook_endpoints w ON w.id = x.endpoint_id JOIN event_counters c ON c.tenant_id = x.tenant_id
				WHERE w.disabled IS NULL AND x.lease_until < ? AND x.next_attempt <= ? AND c.last_seq > x.last_seq
				ORDER BY x.next_attempt LIMIT ?`+s.d.SkipLocked("x")+`)
			RETURNING endpoint_id, tenant_id, last_seq, attempts`, owner, now+lease.Nanoseconds(), now, now, limit)
		if err != nil {
			return fmt.Errorf("lease cursors: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var c store.WebhookCursor
			if err := rows.Scan(&c.EndpointID, &c.TenantID, &c.LastSeq, &c.Attempts); err != nil {
				return err
			}
			out = append(out, c)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("claim webhook cursors: %w", err)
	}
	return out, nil
}

func (s *Store) RecordDelivery(ctx context.Context, owner string, c store.WebhookCursor, o store.DeliveryOutcome) error {
	err := s.inWrite(ctx, func(r runner) error {
		now := s.now()
		set, args := []string{}, []any{}
		if o.AdvanceTo > 0 {
			set, args = append(set, "last_seq = ?"), append(args, o.AdvanceTo)
		}
		switch {
		case !o.RetryAt.IsZero():
			set, args = append(set, "attempts = ?", "next_attempt = ?"), append(args, o.Attempts, o.RetryAt.UnixNano())
		case o.AdvanceTo > 0:
			set = append(set, "attempts = 0", "next_attempt = 0")
		}
		if o.Release {
			set = append(set, "lease_owner = NULL", "lease_until = 0")
		} else {
			set, args = append(set, "lease_until = ?"), append(args, now.Add(o.Lease).UnixNano())
		}
		res, err := r.dynExec("UPDATE webhook_cursors SET "+strings.Join(set, ", ")+" WHERE endpoint_id = ? AND tenant_id = ? AND lease_owner = ?",
			append(args, c.EndpointID, c.TenantID, owner)...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			if err == nil {
				err = store.ErrLeaseLost
			}
			return err
		}
		if err := logDeliveries(r, o.Deliveries); err != nil {
			return err
		}
		switch {
		case !o.RetryAt.IsZero():
			// Failing: since the first failure; disabled once that is too long ago.
			if _, err := r.exec("UPDATE webhook_endpoints SET failing_since = ? WHERE id = ? AND failing_since IS NULL", now.UnixNano(), c.EndpointID); err != nil {
				return err
			}
			if o.DisableAfter > 0 {
				if _, err := r.exec(`UPDATE webhook_endpoints SET disabled = ?, disabled_reason = ?
					WHERE id = ? AND disabled IS NULL AND failing_since <= ?`, now.UnixNano(),
					fmt.Sprintf("deliveries failed for %s", o.DisableAfter), c.EndpointID, now.Add(-o.DisableAfter).UnixNano()); err != nil {
					return err
				}
			}
		case len(o.Deliveries) > 0:
			if _, err := r.exec("UPDATE webhook_endpoints SET failing_since = NULL WHERE id = ? AND failing_since IS NOT NULL", c.EndpointID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record delivery: %w", err)
	}
	return nil
}

// deliveryLogBatch is how many delivery log rows one INSERT writes: a report carries up
// to a flush's worth (50), and a statement per row was a round trip per delivered event.
const deliveryLogBatch = 100

// logDeliveries writes the delivery log rows of a report, in order.
func logDeliveries(r runner, ds []store.Delivery) error {
	for start := 0; start < len(ds); start += deliveryLogBatch {
		chunk := ds[start:min(start+deliveryLogBatch, len(ds))]
		args := make([]any, 0, 10*len(chunk))
		for _, d := range chunk {
			args = append(args, d.EndpointID, d.TenantID, d.EventID, d.Seq, d.Attempt, d.At.UnixNano(), d.Status,
				d.Latency.Microseconds(), d.Response, d.Error)
		}
		// The rows' order is the log's (num), so they go in one statement in order.
		q := "INSERT INTO webhook_deliveries (endpoint_id, tenant_id, event_id, seq, attempt, at, status, latency_us, response, error) VALUES " +
			strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?),", len(chunk)), ",")
		if _, err := r.dynExec(q, args...); err != nil {
			return fmt.Errorf("log deliveries: %w", err)
		}
	}
	return nil
}

// setKeyName names the security event token signing key's row.
const setKeyName = "set"

func (s *Store) SigningKey(ctx context.Context, generate func() ([]byte, error)) ([]byte, error) {
	var der []byte
	err := s.readRunner(ctx, nil).queryRow("SELECT private_der FROM signing_keys WHERE name = ?", setKeyName).Scan(&der)
	if err == nil {
		return der, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("read signing key: %w", err)
	}
	fresh, err := generate()
	if err != nil {
		return nil, err
	}
	// Instances starting together each make a key; the first one written is everyone's.
	err = s.inWrite(ctx, func(r runner) error {
		if _, err := r.exec("INSERT INTO signing_keys (name, private_der, created) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING",
			setKeyName, fresh, s.now().UnixNano()); err != nil {
			return err
		}
		return r.queryRow("SELECT private_der FROM signing_keys WHERE name = ?", setKeyName).Scan(&der)
	})
	if err != nil {
		return nil, fmt.Errorf("store signing key: %w", err)
	}
	return der, nil
}
