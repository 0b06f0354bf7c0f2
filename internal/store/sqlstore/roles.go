package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strings"

	"github.com/scimd/scimd/internal/events"
	"github.com/scimd/scimd/internal/roles"
	"github.com/scimd/scimd/internal/scim"
	"github.com/scimd/scimd/internal/store"
)

// Effective roles are kept in user_roles, one row per role a user holds, with its rank in
// the user's ordered list. Every write that can change a user's roles (a membership
// change, a group renamed or deleted, a user created, deactivated or given roles by the
// identity provider, a configuration changed) derives them again with
// roles.Config.UserRoles in the same transaction, writes the rows that changed and emits
// user.roles_changed: a reader of the directory, of a SCIM User and of the events sees
// the same roles at every commit.

// A tenant's role configuration must not change while a write derives roles under it:
// every write that can derive roles holds its tenant's roles lock shared from its start,
// and a configuration change holds it exclusively. (On PostgreSQL an advisory lock, so
// that the writes of one tenant do not contend on a row; SQLite's single writer
// serializes every transaction already.) Taken first, before any row lock, it cannot
// deadlock with the row locks taken after it.
func (s *Store) lockRoles(r runner, tenantID string, shared bool) error {
	q := s.d.TxLock(shared)
	if q == "" {
		return nil
	}
	h := fnv.New64a()
	h.Write([]byte("scimd roles " + tenantID))
	var ignored any
	if err := r.dynRow(q, int64(h.Sum64())).Scan(&ignored); err != nil {
		return fmt.Errorf("take roles lock: %w", err)
	}
	return nil
}

// defaultConfigKey is the role_configs row of the configuration for every tenant without
// its own; tenant ids are generated and never take this form.
const defaultConfigKey = "*"

// roleConfigs reads the tenant's own configuration and the default one (nil when absent).
func roleConfigs(r runner, tenantID string) (own, def *roles.Config, err error) {
	rows, err := r.query("SELECT tenant_id, config FROM role_configs WHERE tenant_id IN (?, ?)", tenantID, defaultConfigKey)
	if err != nil {
		return nil, nil, fmt.Errorf("read role configuration: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var key, text string
		if err := rows.Scan(&key, &text); err != nil {
			return nil, nil, fmt.Errorf("read role configuration: %w", err)
		}
		var c roles.Config
		if err := json.Unmarshal([]byte(text), &c); err != nil {
			return nil, nil, fmt.Errorf("decode role configuration of %s: %w", key, err)
		}
		if key == defaultConfigKey {
			def = &c
		} else {
			own = &c
		}
	}
	return own, def, rows.Err()
}

// roleConfig returns the configuration the tenant works under.
func roleConfig(r runner, tenantID string) (roles.Config, error) {
	own, def, err := roleConfigs(r, tenantID)
	if err != nil {
		return roles.Config{}, err
	}
	return roles.Effective(own, def), nil
}

// assignedRoles returns the values of a User's "roles" attribute.
func assignedRoles(data scim.Resource) []string {
	list, _ := data["roles"].([]any)
	var out []string
	for _, v := range list {
		m, _ := v.(map[string]any)
		if s, _ := m["value"].(string); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// withAssignments applies the configuration to the "roles" a client wrote: kept as the
// identity provider's assignments when the tenant takes them as a source (refused when
// one names no role), else dropped: for such a tenant the attribute is read-only, and
// RFC 7644 §3.5.1 says a replaced resource's readOnly values "SHALL be ignored".
func withAssignments(cfg roles.Config, data scim.Resource) (scim.Resource, error) {
	if _, ok := data["roles"]; !ok {
		return data, nil
	}
	if !cfg.SCIMRoles {
		out := make(scim.Resource, len(data))
		maps.Copy(out, data)
		delete(out, "roles")
		return out, nil
	}
	if _, unknown := cfg.Assigned(assignedRoles(data)); len(unknown) > 0 {
		names := make([]string, len(cfg.Roles))
		for i, r := range cfg.Roles {
			names[i] = r.Name
		}
		return nil, scim.InvalidValue("roles: %q is not one of this application's roles (%s)", unknown[0], strings.Join(names, ", "))
	}
	return data, nil
}

// storedRoles reads the roles users hold, in order.
func storedRoles(r runner, tenantID string, seqs []int64) (map[int64][]string, error) {
	out := make(map[int64][]string, len(seqs))
	for start := 0; start < len(seqs); start += memberBatch {
		chunk := seqs[start:min(start+memberBatch, len(seqs))]
		args := []any{tenantID}
		for _, s := range chunk {
			args = append(args, s)
		}
		rows, err := r.query("SELECT user_seq, role FROM user_roles WHERE tenant_id = ? AND user_seq IN ("+placeholders(len(chunk))+") ORDER BY user_seq, rank", args...)
		if err != nil {
			return nil, fmt.Errorf("read user roles: %w", err)
		}
		if err := scanUserRoles(rows, out, nil); err != nil {
			return nil, err
		}
	}
	for _, seq := range seqs {
		if out[seq] == nil {
			out[seq] = []string{}
		}
	}
	return out, nil
}

// pageRoles is storedRoles for a page holding every user of the tenant between its first
// and last seq (see pageGroups): one range scan of the roles held.
func pageRoles(r runner, tenantID string, seqs []int64) (map[int64][]string, error) {
	lo, hi, in := seqSpan(seqs)
	rows, err := r.query("SELECT user_seq, role FROM user_roles WHERE tenant_id = ? AND user_seq BETWEEN ? AND ? ORDER BY user_seq, rank", tenantID, lo, hi)
	if err != nil {
		return nil, fmt.Errorf("read user roles: %w", err)
	}
	out := make(map[int64][]string, len(seqs))
	if err := scanUserRoles(rows, out, in); err != nil {
		return nil, err
	}
	for _, seq := range seqs {
		if out[seq] == nil {
			out[seq] = []string{}
		}
	}
	return out, nil
}

// scanUserRoles adds (user seq, role) rows to out, keeping only the users in keep when it
// is not nil, and closes rows.
func scanUserRoles(rows *sql.Rows, out map[int64][]string, keep map[int64]bool) error {
	defer rows.Close()
	for rows.Next() {
		var seq int64
		var role string
		if err := rows.Scan(&seq, &role); err != nil {
			return fmt.Errorf("read user roles: %w", err)
		}
		if keep == nil || keep[seq] {
			out[seq] = append(out[seq], role)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read user roles: %w", err)
	}
	return nil
}

// roleSubject is what deriving a user's roles again and announcing the change need, read
// in one statement (loadRoleSubjects): the user's row, its groups and its stored roles.
type roleSubject struct {
	user     *store.User // Data decoded only when needed (data)
	doc      []byte
	userName string
	active   bool
	stored   []string
}

func (sub *roleSubject) data() (scim.Resource, error) {
	if sub.user.Data == nil {
		d, err := decodeDoc(sub.doc)
		if err != nil {
			return nil, err
		}
		sub.user.Data = d
	}
	return sub.user.Data, nil
}

// loadRoleSubjects reads the users among seqs that exist, with their groups and roles.
func loadRoleSubjects(r runner, tenantID string, seqs []int64, into map[int64]*roleSubject) error {
	for start := 0; start < len(seqs); start += memberBatch {
		chunk := seqs[start:min(start+memberBatch, len(seqs))]
		args := []any{tenantID}
		for _, s := range chunk {
			args = append(args, s)
		}
		rows, err := r.query(userColumnsSQL+", u.user_name, u.active, "+r.s.d.GroupsJSON()+", "+r.s.d.RolesJSON()+
			" FROM users u WHERE u.tenant_id = ? AND u.seq IN ("+placeholders(len(chunk))+")", args...)
		if err != nil {
			return fmt.Errorf("load users' roles: %w", err)
		}
		for rows.Next() {
			sub := &roleSubject{user: &store.User{}}
			var groups, held []byte
			seq, err := scanResource(rows, &sub.user.ID, &sub.user.Meta, nil, &sub.doc, &sub.userName, &sub.active, &groups, &held)
			if err == nil {
				err = decodeGroupsJSON(groups, &sub.user.Groups)
			}
			if err == nil {
				err = json.Unmarshal(held, &sub.stored)
			}
			if err != nil {
				rows.Close()
				return fmt.Errorf("load users' roles: %w", err)
			}
			if sub.stored == nil {
				sub.stored = []string{}
			}
			into[seq] = sub
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("load users' roles: %w", err)
		}
	}
	return nil
}

func groupsForRules(refs []store.GroupRef) []roles.Group {
	out := make([]roles.Group, len(refs))
	for i, g := range refs {
		out[i] = roles.Group{ID: g.ID, DisplayName: g.DisplayName}
	}
	return out
}

// roleRowBatch is how many user_roles rows one INSERT writes.
const roleRowBatch = 300

// writeRoles replaces the stored roles of the given users with theirs in held.
func writeRoles(r runner, tenantID string, seqs []int64, held map[int64][]string) error {
	for start := 0; start < len(seqs); start += memberBatch {
		chunk := seqs[start:min(start+memberBatch, len(seqs))]
		args := []any{tenantID}
		for _, s := range chunk {
			args = append(args, s)
		}
		if _, err := r.exec("DELETE FROM user_roles WHERE tenant_id = ? AND user_seq IN ("+placeholders(len(chunk))+")", args...); err != nil {
			return fmt.Errorf("write user roles: %w", err)
		}
	}
	return insertRoles(r, tenantID, seqs, held)
}

// insertRoles writes the roles in held of users that hold none yet.
func insertRoles(r runner, tenantID string, seqs []int64, held map[int64][]string) error {
	var args []any
	flush := func() error {
		if len(args) == 0 {
			return nil
		}
		n := len(args) / 5
		_, err := r.exec("INSERT INTO user_roles (tenant_id, user_seq, role, role_fold, rank) VALUES "+
			strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?),", n), ","), args...)
		args = args[:0]
		if err != nil {
			return fmt.Errorf("write user roles: %w", err)
		}
		return nil
	}
	for _, seq := range seqs {
		for rank, role := range held[seq] {
			args = append(args, tenantID, seq, role, store.Fold(role), rank+1)
			if len(args)/5 == roleRowBatch {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	return flush()
}

// rolesAttr is the SCIM "roles" attribute (RFC 7643 §4.1.2) of a user holding these roles.
func rolesAttr(names []string) []any {
	out := make([]any, len(names))
	for i, n := range names {
		out[i] = map[string]any{"value": n}
	}
	return out
}

// roleWatch collects the users a change may give other roles, so that emitRoleChanges
// can derive theirs again, store what changed and emit user.roles_changed.
type roleWatch struct {
	seqs map[int64]bool
	// loaded are users already read for this change (loadRoleSubjects).
	loaded map[int64]*roleSubject
}

func newRoleWatch() *roleWatch {
	return &roleWatch{seqs: map[int64]bool{}, loaded: map[int64]*roleSubject{}}
}

// watch adds users to derive again.
func (w *roleWatch) watch(seqs []int64) {
	for _, seq := range seqs {
		w.seqs[seq] = true
	}
}

// load reads the given users unless already read; call it only once their rows are
// locked (see emitRoleChanges).
func (w *roleWatch) load(r runner, tenantID string, seqs []int64) error {
	var missing []int64
	for _, seq := range seqs {
		if _, ok := w.loaded[seq]; !ok {
			missing = append(missing, seq)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return loadRoleSubjects(r, tenantID, missing, w.loaded)
}

// emitRoleChanges derives the roles of every watched user again, stores those that
// changed and emits user.roles_changed for each, in the order of their seqs. Users
// deleted since are skipped (their rows went with them). The callers have locked the
// users' rows (bumping their versions) by now: the stored roles read here are those a
// concurrent change of the same users committed, and no other change of them can commit
// before this one.
func (w *roleWatch) emitRoleChanges(r runner, tenantID string) error {
	seqs := slices.Sorted(maps.Keys(w.seqs))
	if len(seqs) == 0 {
		return nil
	}
	cfg, err := roleConfig(r, tenantID)
	if err != nil {
		return err
	}
	if err := w.load(r, tenantID, seqs); err != nil {
		return err
	}
	_, err = applyDerived(r, tenantID, cfg, seqs, w.loaded)
	return err
}

// applyDerived derives the roles of the users among seqs that were loaded under cfg,
// stores and announces those that differ from their stored ones, and returns their seqs.
func applyDerived(r runner, tenantID string, cfg roles.Config, seqs []int64, subjects map[int64]*roleSubject) ([]int64, error) {
	after := make(map[int64][]string, len(seqs))
	var changed []int64
	for _, seq := range seqs {
		sub, ok := subjects[seq]
		if !ok {
			continue
		}
		var assigned []string
		if cfg.SCIMRoles {
			data, err := sub.data()
			if err != nil {
				return nil, err
			}
			assigned = assignedRoles(data)
		}
		now := cfg.UserRoles(groupsForRules(sub.user.Groups), sub.active, assigned)
		if !slices.Equal(sub.stored, now) {
			after[seq] = now
			changed = append(changed, seq)
		}
	}
	if len(changed) == 0 {
		return nil, nil
	}
	if err := writeRoles(r, tenantID, changed, after); err != nil {
		return nil, err
	}
	for _, seq := range changed {
		sub := subjects[seq]
		if _, err := sub.data(); err != nil {
			return nil, err
		}
		before := sub.stored
		sub.stored, sub.user.Roles = after[seq], after[seq]
		r.emit(tenantID, events.UserRolesChanged, events.Data{Resource: userResource(sub.user), RolesBefore: before, RolesAfter: after[seq]})
	}
	return changed, nil
}

// RoleConfig returns a tenant's own role configuration (nil when it has none) and the one
// it works under; with tenantID "" the default configuration for every tenant.
func (s *Store) RoleConfig(ctx context.Context, tenantID string) (*roles.Config, roles.Config, error) {
	var own *roles.Config
	var eff roles.Config
	err := s.readTx(ctx, func(r runner) error {
		if tenantID != "" {
			if _, err := s.tenantWhere(r, "id = ?", tenantID); err != nil {
				return err
			}
		}
		key := tenantID
		if key == "" {
			key = defaultConfigKey
		}
		o, def, err := roleConfigs(r, key)
		if err != nil {
			return err
		}
		if tenantID == "" {
			own, eff = def, roles.Effective(nil, def)
		} else {
			own, eff = o, roles.Effective(o, def)
		}
		return nil
	})
	if err != nil {
		return nil, roles.Config{}, fmt.Errorf("role configuration: %w", err)
	}
	return own, eff, nil
}

// recomputeChunk is how many users a configuration change derives roles for at once.
const recomputeChunk = 1000

// SetRoleConfig replaces a tenant's role configuration (with tenantID "", the default for
// every tenant without one; a nil cfg removes it) and derives the roles of every user it
// can affect again, in the same transaction, emitting user.roles_changed for each user
// whose roles changed. validate checks the new configuration against the default's roles.
func (s *Store) SetRoleConfig(ctx context.Context, tenantID string, cfg *roles.Config, validate func(cfg roles.Config, inherited []roles.Role) error) (store.RoleChange, error) {
	var out store.RoleChange
	err := s.inWrite(ctx, func(r runner) error {
		out = store.RoleChange{}
		// affected are the tenants whose configuration in effect changes.
		type affected struct {
			id       string
			old, new roles.Config
		}
		var tenants []affected
		key := tenantID
		if tenantID == "" {
			key = defaultConfigKey
		} else {
			if _, err := s.tenantWhere(r, "id = ?"+s.d.ForUpdate(), tenantID); err != nil {
				return err
			}
			if err := s.lockRoles(r, tenantID, false); err != nil {
				return err
			}
		}
		own, def, err := roleConfigs(r, key)
		if err != nil {
			return err
		}
		if tenantID == "" {
			own = def
		}
		if cfg != nil {
			var inherited []roles.Role
			if tenantID != "" && def != nil {
				inherited = def.Roles
			}
			if err := validate(*cfg, inherited); err != nil {
				return err
			}
			c := cfg.Canonical()
			cfg = &c
		}
		if (own == nil) == (cfg == nil) && (own == nil || own.Equal(*cfg)) {
			out.Unchanged = true
			return nil
		}
		if tenantID != "" {
			tenants = append(tenants, affected{tenantID, roles.Effective(own, def), roles.Effective(cfg, def)})
		} else {
			// The tenants without a configuration of their own work under the default;
			// so do the roles of those whose own lists none.
			rows, err := r.query("SELECT id FROM tenants WHERE id NOT IN (SELECT tenant_id FROM role_configs) ORDER BY id")
			if err != nil {
				return err
			}
			for rows.Next() {
				var id string
				if err := rows.Scan(&id); err != nil {
					rows.Close()
					return err
				}
				tenants = append(tenants, affected{id, roles.Effective(nil, own), roles.Effective(nil, cfg)})
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			var newRoles []roles.Role
			if cfg != nil {
				newRoles = cfg.Roles
			}
			inheritors, err := inheritingConfigs(r, newRoles, validate)
			if err != nil {
				return err
			}
			for _, t := range inheritors {
				tenants = append(tenants, affected{t.id, roles.Effective(&t.cfg, own), roles.Effective(&t.cfg, cfg)})
			}
			for _, t := range tenants {
				if err := s.lockRoles(r, t.id, false); err != nil {
					return err
				}
			}
		}
		now := s.now().UnixNano()
		if cfg == nil {
			if _, err := r.exec("DELETE FROM role_configs WHERE tenant_id = ?", key); err != nil {
				return err
			}
		} else {
			text, err := json.Marshal(cfg)
			if err != nil {
				return fmt.Errorf("encode role configuration: %w", err)
			}
			if _, err := r.exec(`INSERT INTO role_configs (tenant_id, config, updated) VALUES (?, ?, ?)
				ON CONFLICT (tenant_id) DO UPDATE SET config = excluded.config, updated = excluded.updated`, key, string(text), now); err != nil {
				return err
			}
		}
		for _, t := range tenants {
			n, changed, err := s.recomputeTenant(r, t.id, t.old, t.new)
			if err != nil {
				return err
			}
			out.Users += n
			out.Changed += changed
		}
		return nil
	})
	if err != nil {
		return out, fmt.Errorf("set role configuration: %w", err)
	}
	return out, nil
}

type inheritor struct {
	id  string
	cfg roles.Config
}

// inheritingConfigs returns the tenants' configurations that list no roles of their own
// (they use the default's), after checking each against the default's new roles: a
// default that would leave one invalid is refused.
func inheritingConfigs(r runner, newRoles []roles.Role, validate func(roles.Config, []roles.Role) error) ([]inheritor, error) {
	rows, err := r.query("SELECT tenant_id, config FROM role_configs WHERE tenant_id <> ? ORDER BY tenant_id", defaultConfigKey)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []inheritor
	for rows.Next() {
		var id, text string
		if err := rows.Scan(&id, &text); err != nil {
			return nil, err
		}
		var c roles.Config
		if err := json.Unmarshal([]byte(text), &c); err != nil {
			return nil, fmt.Errorf("decode role configuration of %s: %w", id, err)
		}
		if c.Canonical().Mode == roles.ModeGroups || len(c.Roles) > 0 {
			continue
		}
		if err := validate(c, newRoles); err != nil {
			return nil, scim.InvalidValue("tenant %s uses the default configuration's roles and would no longer be valid: %v", id, err)
		}
		out = append(out, inheritor{id, c})
	}
	return out, rows.Err()
}

// recomputeTenant derives again the roles of the tenant's users that a configuration
// change can affect and returns how many it derived and how many changed. When only the
// rules differ, those are the members of the groups whose mapped roles differ; otherwise
// every user of the tenant.
func (s *Store) recomputeTenant(r runner, tenantID string, oldCfg, newCfg roles.Config) (int, int, error) {
	var seqs []int64
	var err error
	if roles.SameDerivation(oldCfg, newCfg) {
		seqs, err = membersOfRemapped(r, tenantID, oldCfg, newCfg)
	} else {
		seqs, err = allUserSeqs(r, tenantID)
	}
	if err != nil {
		return 0, 0, err
	}
	changedTotal := 0
	now := s.now().UnixNano()
	for start := 0; start < len(seqs); start += recomputeChunk {
		chunk := seqs[start:min(start+recomputeChunk, len(seqs))]
		subjects := make(map[int64]*roleSubject, len(chunk))
		if err := loadRoleSubjects(r, tenantID, chunk, subjects); err != nil {
			return 0, 0, err
		}
		changed, err := applyDerived(r, tenantID, newCfg, chunk, subjects)
		if err != nil {
			return 0, 0, err
		}
		// A user's roles are part of its SCIM representation: its version changes.
		for i := 0; i < len(changed); i += memberBatch {
			part := changed[i:min(i+memberBatch, len(changed))]
			args := []any{now}
			for _, seq := range part {
				args = append(args, seq)
			}
			if _, err := r.exec("UPDATE users SET version = version + 1, modified = ? WHERE seq IN ("+placeholders(len(part))+")", args...); err != nil {
				return 0, 0, err
			}
		}
		changedTotal += len(changed)
	}
	return len(seqs), changedTotal, nil
}

// membersOfRemapped returns the members, sorted and distinct, of the tenant's groups that
// the two configurations map to different roles.
func membersOfRemapped(r runner, tenantID string, a, b roles.Config) ([]int64, error) {
	rows, err := r.query("SELECT seq, id, display_name FROM groups WHERE tenant_id = ?", tenantID)
	if err != nil {
		return nil, err
	}
	var remapped []int64
	for rows.Next() {
		var seq int64
		var g roles.Group
		if err := rows.Scan(&seq, &g.ID, &g.DisplayName); err != nil {
			rows.Close()
			return nil, err
		}
		if !slices.Equal(a.GroupRoles(g), b.GroupRoles(g)) {
			remapped = append(remapped, seq)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var out []int64
	for _, g := range remapped {
		members, err := memberSeqs(r, tenantID, g)
		if err != nil {
			return nil, err
		}
		out = append(out, members...)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// allUserSeqs returns the seqs of every user of the tenant, in order.
func allUserSeqs(r runner, tenantID string) ([]int64, error) {
	return scanSeqs(r.query("SELECT seq FROM users WHERE tenant_id = ? ORDER BY seq", tenantID))
}

// RoleCounts returns how many users hold each role the tenant's users hold.
func (s *Store) RoleCounts(ctx context.Context, tenantID string) (map[string]int, error) {
	out := map[string]int{}
	rows, err := s.readRunner(ctx, nil).query("SELECT role, count(*) FROM user_roles WHERE tenant_id = ? GROUP BY role", tenantID)
	if err != nil {
		return nil, fmt.Errorf("count roles: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var role string
		var n int
		if err := rows.Scan(&role, &n); err != nil {
			return nil, fmt.Errorf("count roles: %w", err)
		}
		out[role] = n
	}
	return out, rows.Err()
}
