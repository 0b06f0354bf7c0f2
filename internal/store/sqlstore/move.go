package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/scimd/scimd/internal/roles"
	"github.com/scimd/scimd/internal/scim"
	"github.com/scimd/scimd/internal/store"
)

// exportGroupPage is how many groups ExportTenant holds at once: their members are read
// by a second query, which cannot run while the groups' cursor is open on PostgreSQL.
const exportGroupPage = 500

// ExportTenant reads everything in one read transaction, so that the export is one
// snapshot even while identity providers write: every member named is an exported user.
func (s *Store) ExportTenant(ctx context.Context, tenantID string, user func(*store.User) error, group func(*store.Group, []string) error) error {
	err := s.readTx(ctx, func(r runner) error {
		if _, err := s.tenantWhere(r, "id = ?", tenantID); err != nil {
			return err
		}
		rows, err := r.query(userSelect+" WHERE u.tenant_id = ? ORDER BY u.seq", tenantID)
		if err != nil {
			return fmt.Errorf("read users: %w", err)
		}
		for rows.Next() {
			_, u, err := scanUser(rows)
			if err == nil {
				err = user(u)
			}
			if err != nil {
				rows.Close()
				return err
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read users: %w", err)
		}
		for after := int64(0); ; {
			groups, seqs, err := exportGroups(r, tenantID, after)
			if err != nil {
				return err
			}
			for i, g := range groups {
				members, err := memberIDsOf(r, tenantID, seqs[i])
				if err != nil {
					return err
				}
				if err := group(g, members); err != nil {
					return err
				}
			}
			if len(groups) < exportGroupPage {
				return nil
			}
			after = seqs[len(seqs)-1]
		}
	})
	if err != nil {
		return fmt.Errorf("export tenant: %w", err)
	}
	return nil
}

// exportGroups reads a page of the tenant's groups after seq after, in seq order.
func exportGroups(r runner, tenantID string, after int64) ([]*store.Group, []int64, error) {
	rows, err := r.query(groupSelect+" WHERE g.tenant_id = ? AND g.seq > ? ORDER BY g.seq LIMIT ?", tenantID, after, exportGroupPage)
	if err != nil {
		return nil, nil, fmt.Errorf("read groups: %w", err)
	}
	defer rows.Close()
	var groups []*store.Group
	var seqs []int64
	for rows.Next() {
		seq, g, err := scanGroup(rows)
		if err != nil {
			return nil, nil, fmt.Errorf("read groups: %w", err)
		}
		groups, seqs = append(groups, g), append(seqs, seq)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("read groups: %w", err)
	}
	return groups, seqs, nil
}

// memberIDsOf lists the ids of a group's members in membership order.
func memberIDsOf(r runner, tenantID string, groupSeq int64) ([]string, error) {
	rows, err := r.query(`SELECT u.id FROM group_members m JOIN users u ON u.seq = m.user_seq
		WHERE m.tenant_id = ? AND m.group_seq = ? ORDER BY m.user_seq`, tenantID, groupSeq)
	if err != nil {
		return nil, fmt.Errorf("read members: %w", err)
	}
	defer rows.Close()
	ids := []string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("read members: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// ImportTenant writes the whole tenant in one write transaction. The source's users and
// groups are read from in.Users and in.Groups inside it, so that a large tenant streams
// from its file into the database; in turn the transaction cannot be run a second time
// (PostgreSQL retries a transaction that hit a serialization failure), so a retry fails
// instead of writing a partial tenant.
func (s *Store) ImportTenant(ctx context.Context, in store.TenantImport) (store.ImportResult, error) {
	var res store.ImportResult
	ran := false
	err := s.inWrite(ctx, func(r runner) error {
		if ran {
			return errors.New("the import's transaction was interrupted by a concurrent one and cannot be replayed from its stream: run it again")
		}
		ran = true
		res = store.ImportResult{}
		t, created, err := s.importTarget(r, in.Tenant)
		if err != nil {
			return err
		}
		res.Tenant, res.Created = t, created
		// As every write that derives roles: the tenant's configuration stays as read.
		if err := s.lockRoles(r, t.ID, true); err != nil {
			return err
		}
		if created && in.RoleConfig != nil {
			if err := setImportedRoleConfig(r, t.ID, *in.RoleConfig, s.now()); err != nil {
				return err
			}
		}
		cfg, err := roleConfig(r, t.ID)
		if err != nil {
			return err
		}
		// The seq of every user imported so far, by id: memberships are written with it.
		seqOf := map[string]int64{}
		batch := make([]*store.User, 0, importBatch)
		for u, err := range orEmpty(in.Users) {
			if err != nil {
				return err
			}
			if batch = append(batch, u); len(batch) == importBatch {
				if err := s.importUsers(r, t.ID, cfg, batch, seqOf); err != nil {
					return err
				}
				res.Users += len(batch)
				batch = batch[:0]
			}
		}
		if len(batch) > 0 {
			if err := s.importUsers(r, t.ID, cfg, batch, seqOf); err != nil {
				return err
			}
			res.Users += len(batch)
		}
		for g, err := range orEmpty(in.Groups) {
			if err != nil {
				return err
			}
			n, err := s.importGroup(r, t.ID, g, seqOf)
			if err != nil {
				return err
			}
			res.Groups++
			res.Memberships += n
		}
		return s.deriveImported(r, t.ID, cfg, res, seqOf)
	})
	if err != nil {
		return store.ImportResult{}, fmt.Errorf("import tenant: %w", err)
	}
	return res, nil
}

// orEmpty is seq, or an empty sequence when it is nil (a tenant without users or groups).
func orEmpty[T any](seq iter.Seq2[T, error]) iter.Seq2[T, error] {
	if seq == nil {
		return func(func(T, error) bool) {}
	}
	return seq
}

// importTarget finds the empty tenant of the import's name, or creates it.
func (s *Store) importTarget(r runner, want store.Tenant) (store.Tenant, bool, error) {
	t, err := s.tenantWhere(r, "name = ?"+s.d.ForUpdate(), want.Name)
	if err == nil {
		users, _, err := resourceCounts(r, t.ID, "User")
		if err != nil {
			return t, false, err
		}
		groups, _, err := resourceCounts(r, t.ID, "Group")
		if err != nil {
			return t, false, err
		}
		if users > 0 || groups > 0 {
			return t, false, fmt.Errorf("tenant %q has %d users and %d groups: %w", t.Name, users, groups, store.ErrNotEmpty)
		}
		return t, false, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return t, false, err
	}
	now := s.now()
	t = store.Tenant{ID: want.ID, Name: want.Name, ExternalRef: want.ExternalRef, Created: want.Created, Updated: want.Updated, Disabled: want.Disabled}
	if t.Created.IsZero() {
		t.Created = now
	}
	if t.Updated.IsZero() {
		t.Updated = t.Created
	}
	// The id is kept so that an application that stored it still finds the tenant, unless
	// this database already has it (a copy of a tenant beside itself).
	taken := true
	if t.ID != "" && plausibleID(t.ID) {
		var other string
		err := r.queryRow("SELECT id FROM tenants WHERE id = ?", t.ID).Scan(&other)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return t, false, err
		}
		taken = err == nil
	}
	if taken {
		t.ID = store.NewID()
	}
	if err := checkTenantFree(r, t); err != nil {
		return t, false, err
	}
	_, err = r.exec("INSERT INTO tenants (id, name, external_ref, created, updated, disabled) VALUES (?, ?, ?, ?, ?, ?)",
		t.ID, t.Name, nullString(t.ExternalRef), t.Created.UnixNano(), t.Updated.UnixNano(), nullTime(t.Disabled))
	if s.d.IsUniqueViolation(err) {
		return t, false, fmt.Errorf("tenant %q: %w", t.Name, store.ErrExists)
	}
	if err != nil {
		return t, false, fmt.Errorf("create tenant: %w", err)
	}
	return t, true, nil
}

// checkImportedID refuses an id no server could have issued: it is looked up by every
// SCIM request naming it.
func checkImportedID(kind, id string) error {
	if id == "" || !plausibleID(id) {
		return scim.InvalidValue("%s id %q is empty, too long or not text", kind, id)
	}
	return nil
}

func checkMeta(kind, id string, m store.Meta) error {
	if m.Created.IsZero() || m.LastModified.IsZero() || m.Version < 1 {
		return scim.InvalidValue("%s %q: meta needs created, lastModified and a version of 1 or more", kind, id)
	}
	return nil
}

// importBatch is how many users one statement inserts: a round trip per user made a
// large import on PostgreSQL take minutes.
const importBatch = 500

// importUsers writes a batch of users with their e-mail index rows, in two statements or
// so whatever the batch's size, and records each user's seq in seqOf (members name users
// by id). Nothing is looked up by id or userName while writing: in a database new to
// PostgreSQL's planner (no statistics yet: the common case of a move) such lookups ran as
// scans of the growing table, and an import of 30,000 users took minutes.
func (s *Store) importUsers(r runner, tenantID string, cfg roles.Config, users []*store.User, seqOf map[string]int64) error {
	cols := make([]userColumns, len(users))
	args := make([]any, 0, 10*len(users))
	for i, u := range users {
		if err := checkImportedID("user", u.ID); err != nil {
			return err
		}
		if err := checkMeta("user", u.ID, u.Meta); err != nil {
			return err
		}
		if _, dup := seqOf[u.ID]; dup {
			return scim.Conflict("user id %q appears twice", u.ID)
		}
		seqOf[u.ID] = 0 // taken; its seq comes with the insert
		// The "roles" a client wrote are kept or dropped as on a create, by the target
		// tenant's role configuration.
		data, err := withAssignments(cfg, u.Data)
		if err != nil {
			return fmt.Errorf("user %q: %w", u.ID, err)
		}
		u.Data = data
		c, err := userColumnsOf(u.Data)
		if err != nil {
			return err
		}
		cols[i] = c
		args = append(args, tenantID, u.ID, c.userName, c.userNameFold, c.externalID, c.active,
			u.Meta.Created.UnixNano(), u.Meta.LastModified.UnixNano(), u.Meta.Version, c.doc)
	}
	// Rows are inserted in the order given, so that seq (the order of lists) follows the
	// export; RETURNING's order is not promised, hence the id beside each seq. A row that
	// clashes with another on a unique index is skipped rather than failing the statement
	// (which on PostgreSQL would abort the transaction with nothing left to explain with),
	// and is then named below.
	rows, err := r.query(`INSERT INTO users (tenant_id, id, user_name, user_name_fold, external_id, active, created, modified, version, doc)
		VALUES `+strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?),", len(users)), ",")+` ON CONFLICT DO NOTHING RETURNING seq, id`, args...)
	if err != nil {
		return fmt.Errorf("insert users: %w", err)
	}
	inserted := 0
	for rows.Next() {
		var seq int64
		var id string
		if err := rows.Scan(&seq, &id); err != nil {
			rows.Close()
			return fmt.Errorf("insert users: %w", err)
		}
		seqOf[id] = seq
		inserted++
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("insert users: %w", err)
	}
	if inserted < len(users) {
		for i, u := range users {
			if seqOf[u.ID] != 0 {
				continue
			}
			var other string
			if err := r.queryRow("SELECT id FROM users WHERE tenant_id = ? AND user_name_fold = ?", tenantID, cols[i].userNameFold).Scan(&other); err != nil {
				return fmt.Errorf("user %q was not written: %w", u.ID, err)
			}
			return scim.Conflict("users %s and %s have the same userName %q (userName is unique, case-insensitively)", other, u.ID, cols[i].userName)
		}
	}
	var emails []any
	n := 0
	flush := func() error {
		if n == 0 {
			return nil
		}
		_, err := r.exec("INSERT INTO user_emails (tenant_id, value_fold, user_seq) VALUES "+
			strings.TrimSuffix(strings.Repeat("(?, ?, ?),", n), ","), emails...)
		emails, n = emails[:0], 0
		if err != nil {
			return fmt.Errorf("index e-mails: %w", err)
		}
		return nil
	}
	for i, u := range users {
		for _, e := range cols[i].emails {
			emails = append(emails, tenantID, e, seqOf[u.ID])
			if n++; n == importBatch {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	return flush()
}

// importGroup writes a group and its memberships without touching the members' versions:
// the users come with the meta they had, memberships included. It returns the number of
// members.
func (s *Store) importGroup(r runner, tenantID string, g *store.ImportGroup, seqOf map[string]int64) (int, error) {
	if err := checkImportedID("group", g.ID); err != nil {
		return 0, err
	}
	if err := checkMeta("group", g.ID, g.Meta); err != nil {
		return 0, err
	}
	cols, err := groupColumnsOf(g.Data)
	if err != nil {
		return 0, err
	}
	seqs := make([]int64, 0, len(g.Members))
	for _, id := range g.Members {
		seq := seqOf[id]
		if seq == 0 {
			return 0, scim.InvalidValue("group %q: member %q is not a user of the import", g.ID, id)
		}
		seqs = append(seqs, seq)
	}
	slices.Sort(seqs)
	seqs = slices.Compact(seqs)
	var seq int64
	err = r.queryRow(`INSERT INTO groups (tenant_id, id, display_name, display_name_fold, external_id, created, modified, version, doc)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING seq`, tenantID, g.ID, cols.displayName, cols.displayNameFold, cols.externalID,
		g.Meta.Created.UnixNano(), g.Meta.LastModified.UnixNano(), g.Meta.Version, cols.doc).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		// Skipped for a clash on a unique index: name the group it clashes with.
		var otherID string
		if err := r.queryRow("SELECT id FROM groups WHERE tenant_id = ? AND id = ?", tenantID, g.ID).Scan(&otherID); err == nil {
			return 0, scim.Conflict("group id %q appears twice", g.ID)
		}
		if err := r.queryRow("SELECT id FROM groups WHERE tenant_id = ? AND display_name_fold = ?", tenantID, cols.displayNameFold).Scan(&otherID); err != nil {
			return 0, fmt.Errorf("group %q was not written: %w", g.ID, err)
		}
		return 0, scim.Conflict("groups %s and %s have the same displayName %q (displayName is unique, case-insensitively)", otherID, g.ID, cols.displayName)
	}
	if err != nil {
		return 0, fmt.Errorf("group %q: %w", g.ID, err)
	}
	added, err := changeMembers(r, tenantID, seq, seqs, true)
	if err != nil {
		return 0, fmt.Errorf("group %q: %w", g.ID, err)
	}
	return len(added), nil
}

// setImportedRoleConfig gives a tenant the import created its own role configuration,
// checked as scimd role set checks one (against the default configuration's roles, which
// a configuration without roles inherits).
func setImportedRoleConfig(r runner, tenantID string, cfg roles.Config, now time.Time) error {
	_, def, err := roleConfigs(r, tenantID)
	if err != nil {
		return err
	}
	var inherited []roles.Role
	if def != nil {
		inherited = def.Roles
	}
	if err := cfg.Validate(inherited); err != nil {
		return scim.InvalidValue("role_config: %v", err)
	}
	text, err := json.Marshal(cfg.Canonical())
	if err != nil {
		return fmt.Errorf("encode role configuration: %w", err)
	}
	if _, err := r.exec("INSERT INTO role_configs (tenant_id, config, updated) VALUES (?, ?, ?)", tenantID, string(text), now.UnixNano()); err != nil {
		return fmt.Errorf("set role configuration: %w", err)
	}
	return nil
}

// deriveImported brings up to date, in the import's transaction, what scimd derives from
// a tenant's users and groups instead of storing it in an export: the resource counters
// that list totals come from (the tenant was empty, so its resources are exactly the
// imported ones), and every user's effective roles under the tenant's role
// configuration. Neither changes a user's version nor records an event: the users are
// as they were in the source, roles included when the configuration came with them.
func (s *Store) deriveImported(r runner, tenantID string, cfg roles.Config, res store.ImportResult, seqOf map[string]int64) error {
	if res.Users > 0 {
		if err := s.countChange(r, tenantID, "User", res.Users); err != nil {
			return err
		}
	}
	if res.Groups > 0 {
		if err := s.countChange(r, tenantID, "Group", res.Groups); err != nil {
			return err
		}
	}
	seqs := slices.Sorted(maps.Values(seqOf))
	for start := 0; start < len(seqs); start += recomputeChunk {
		chunk := seqs[start:min(start+recomputeChunk, len(seqs))]
		subjects := make(map[int64]*roleSubject, len(chunk))
		if err := loadRoleSubjects(r, tenantID, chunk, subjects); err != nil {
			return err
		}
		held := make(map[int64][]string, len(chunk))
		for _, seq := range chunk {
			sub := subjects[seq]
			var assigned []string
			if cfg.SCIMRoles {
				data, err := sub.data()
				if err != nil {
					return err
				}
				assigned = assignedRoles(data)
			}
			held[seq] = cfg.UserRoles(groupsForRules(sub.user.Groups), sub.active, assigned)
		}
		if err := insertRoles(r, tenantID, chunk, held); err != nil {
			return err
		}
	}
	return nil
}
