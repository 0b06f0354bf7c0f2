package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/scimd/scimd/internal/events"
	"github.com/scimd/scimd/internal/scim"
	"github.com/scimd/scimd/internal/store"
)

type groupColumns struct {
	displayName, displayNameFold string
	externalID                   sql.NullString
	doc                          string
}

func groupColumnsOf(data scim.Resource) (groupColumns, error) {
	c := groupColumns{displayName: data.String("displayName")}
	c.displayNameFold = store.Fold(c.displayName)
	if ext := data.String("externalId"); ext != "" {
		c.externalID = sql.NullString{String: ext, Valid: true}
	}
	doc, err := json.Marshal(data)
	if err != nil {
		return c, fmt.Errorf("encode group: %w", err)
	}
	c.doc = string(doc)
	return c, nil
}

// checkDisplayNameFree keeps displayName unique per tenant, case-insensitively: a group is
// a role, and two roles of one name would be indistinguishable to the application.
func checkDisplayNameFree(r runner, tenantID string, cols groupColumns, exceptID string) error {
	return checkNameFree(r, "SELECT id FROM groups WHERE tenant_id = ? AND display_name_fold = ?", tenantID, cols.displayNameFold, exceptID,
		func(id string) error {
			return scim.Conflict("displayName %q is already taken by group %s", cols.displayName, id)
		})
}

func (s *Store) CreateGroup(ctx context.Context, tenantID string, data scim.Resource, members []string) (*store.Group, error) {
	cols, err := groupColumnsOf(data)
	if err != nil {
		return nil, err
	}
	now := s.now()
	g := &store.Group{ID: store.NewID(), Data: data, Meta: store.Meta{Created: now, LastModified: now, Version: 1}}
	err = s.inWrite(ctx, func(r runner) error {
		if err := s.lockRoles(r, tenantID, true); err != nil {
			return err
		}
		if err := checkDisplayNameFree(r, tenantID, cols, ""); err != nil {
			return err
		}
		var seq int64
		err := r.queryRow(`INSERT INTO groups (tenant_id, id, display_name, display_name_fold, external_id, created, modified, version, doc)
			VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?) RETURNING seq`, tenantID, g.ID, cols.displayName, cols.displayNameFold, cols.externalID, now.UnixNano(), now.UnixNano(), cols.doc).Scan(&seq)
		if s.d.IsUniqueViolation(err) {
			return scim.Conflict("displayName %q is already taken", cols.displayName)
		}
		if err != nil {
			return err
		}
		if err := s.countChange(r, tenantID, "Group", 1); err != nil {
			return err
		}
		roles := newRoleWatch()
		added, _, err := s.applyMemberOps(r, tenantID, seq, []store.MemberOp{{Kind: store.MembersAdd, UserIDs: members}}, roles, nil)
		if err != nil {
			return err
		}
		r.emit(tenantID, events.GroupCreated, events.Data{Resource: groupResource(g)})
		return emitMemberChanges(r, tenantID, g, added, nil, roles)
	})
	if err != nil {
		return nil, fmt.Errorf("create group: %w", err)
	}
	return g, nil
}

// groupColumnsSQL selects what scanResource reads; groupSelect adds the table.
const (
	groupColumnsSQL = "SELECT g.seq, g.id, g.created, g.modified, g.version, g.doc"
	groupSelect     = groupColumnsSQL + " FROM groups g"
)

func scanGroup(sc interface{ Scan(...any) error }) (int64, *store.Group, error) {
	g := &store.Group{}
	seq, err := scanResource(sc, &g.ID, &g.Meta, &g.Data, nil)
	return seq, g, err
}

// getGroup reads a group; forUpdate locks its row, which serializes every change of its
// members across instances.
func (s *Store) getGroup(r runner, tenantID, id string, forUpdate bool) (int64, *store.Group, error) {
	q := groupSelect + " WHERE g.tenant_id = ? AND g.id = ?"
	if forUpdate {
		q += s.d.ForUpdate()
	}
	if !plausibleID(id) {
		return 0, nil, scim.NotFound("group %q not found", id)
	}
	seq, g, err := scanGroup(r.queryRow(q, tenantID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil, scim.NotFound("group %q not found", id)
	}
	return seq, g, err
}

func (s *Store) GetGroup(ctx context.Context, tenantID, id string) (*store.Group, error) {
	_, g, err := s.getGroup(s.readRunner(ctx, nil), tenantID, id, false)
	if err != nil {
		return nil, fmt.Errorf("get group: %w", err)
	}
	return g, nil
}

// memberPage is how many members GroupMembers reads in one short read transaction.
const memberPage = 1000

// ErrMembersChanged is returned by GroupMembers when the group's members changed between
// two of its pages: what was already passed on belongs to an older version.
var ErrMembersChanged = errors.New("the group's members changed while they were being read")

// GroupMembers reads the members in pages of memberPage, each in its own short read
// transaction, and calls each only between transactions: the caller writes them to a
// client's socket, and a client that does not read must not hold a database connection
// (the read pool is small: four such clients stopped every request of every tenant). The
// pages are one consistent list: every page checks that the group's version, which every
// membership change advances in its own transaction, is still the one the first page saw,
// and fails with ErrMembersChanged otherwise.
func (s *Store) GroupMembers(ctx context.Context, tenantID, id string, each func(store.Member) error) error {
	var seq, version, last int64
	first := true
	page := make([]store.Member, 0, memberPage)
	seqs := make([]int64, 0, memberPage)
	for {
		page, seqs = page[:0], seqs[:0]
		err := s.readTx(ctx, func(r runner) error {
			if first {
				gseq, g, err := s.getGroup(r, tenantID, id, false)
				if err != nil {
					return err
				}
				seq, version = gseq, g.Meta.Version
			} else {
				var v int64
				err := r.queryRow("SELECT version FROM groups WHERE seq = ?", seq).Scan(&v)
				if errors.Is(err, sql.ErrNoRows) || (err == nil && v != version) {
					return ErrMembersChanged
				}
				if err != nil {
					return err
				}
			}
			rows, err := r.query(`SELECT m.user_seq, u.id, u.user_name FROM group_members m JOIN users u ON u.seq = m.user_seq
				WHERE m.tenant_id = ? AND m.group_seq = ? AND m.user_seq > ? ORDER BY m.user_seq LIMIT ?`, tenantID, seq, last, memberPage)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var m store.Member
				var useq int64
				if err := rows.Scan(&useq, &m.ID, &m.Display); err != nil {
					return err
				}
				page, seqs = append(page, m), append(seqs, useq)
			}
			return rows.Err()
		})
		if err != nil {
			return fmt.Errorf("group members: %w", err)
		}
		first = false
		for _, m := range page {
			if err := each(m); err != nil {
				return err
			}
		}
		if len(page) < memberPage {
			return nil
		}
		last = seqs[len(seqs)-1]
	}
}

func (s *Store) UpdateGroup(ctx context.Context, tenantID, id string, change func(*store.Group) (scim.Resource, []store.MemberOp, error)) (*store.Group, error) {
	var out *store.Group
	err := s.inWrite(ctx, func(r runner) error {
		if err := s.lockRoles(r, tenantID, true); err != nil {
			return err
		}
		known, err := s.resolveMembersEarly(r, tenantID, id, change)
		if err != nil {
			return err
		}
		seq, cur, err := s.getGroup(r, tenantID, id, true)
		if err != nil {
			return err
		}
		data, ops, err := change(cur)
		if err != nil {
			return err
		}
		roles := newRoleWatch()
		added, removed, err := s.applyMemberOps(r, tenantID, seq, ops, roles, known)
		if err != nil {
			return err
		}
		membersChanged := len(added) > 0 || len(removed) > 0
		dataChanged := !jsonEqual(cur.Data, data)
		if !dataChanged && !membersChanged {
			out = cur
			return nil
		}
		now := s.now()
		if dataChanged {
			cols, err := groupColumnsOf(data)
			if err != nil {
				return err
			}
			if err := checkDisplayNameFree(r, tenantID, cols, id); err != nil {
				return err
			}
			if cols.displayName != cur.Data.String("displayName") {
				// The group's name is a role of every member: each member's roles change.
				have, err := memberSeqs(r, tenantID, seq)
				if err != nil {
					return err
				}
				roles.watch(have)
			}
			_, err = r.exec(`UPDATE groups SET display_name = ?, display_name_fold = ?, external_id = ?, modified = ?, version = version + 1, doc = ?
				WHERE seq = ?`, cols.displayName, cols.displayNameFold, cols.externalID, now.UnixNano(), cols.doc, seq)
			if s.d.IsUniqueViolation(err) {
				return scim.Conflict("displayName %q is already taken", cols.displayName)
			}
			if err != nil {
				return err
			}
			if cols.displayName != cur.Data.String("displayName") {
				// Every member's "groups" attribute shows the new name.
				if _, err := r.exec(`UPDATE users SET version = version + 1, modified = ?
					WHERE seq IN (SELECT user_seq FROM group_members WHERE tenant_id = ? AND group_seq = ?)`, now.UnixNano(), tenantID, seq); err != nil {
					return err
				}
			}
		} else if _, err := r.exec("UPDATE groups SET modified = ?, version = version + 1 WHERE seq = ?", now.UnixNano(), seq); err != nil {
			return err
		}
		before := cur.Data
		cur.Data = data
		cur.Meta.LastModified = now
		cur.Meta.Version++
		out = cur
		if dataChanged {
			r.emit(tenantID, events.GroupUpdated, events.Data{Resource: groupResource(cur), Changed: events.ChangedAttributes(before, data), Op: events.OpOf(ctx)})
		}
		return emitMemberChanges(r, tenantID, cur, added, removed, roles)
	})
	if err != nil {
		return nil, fmt.Errorf("update group: %w", err)
	}
	return out, nil
}

// resolveMembersEarly looks up the users a group change names before the group's row is
// locked, where transactions run concurrently (PostgreSQL): concurrent changes of one
// group queue on that lock, so whatever can be done before it is not done in the queue.
// It runs change on the group as read without the lock and finds the seqs of the users its
// member operations name; applyMemberOps then looks up only the others. A user deleted in
// between is caught where its membership is written. Errors here are left to the locked
// run, which decides.
func (s *Store) resolveMembersEarly(r runner, tenantID, id string, change func(*store.Group) (scim.Resource, []store.MemberOp, error)) (map[string]int64, error) {
	if s.d.TxLock(true) == "" { // one writer at a time: nothing would queue
		return nil, nil
	}
	_, cur, err := s.getGroup(r, tenantID, id, false)
	if err != nil {
		return nil, nil
	}
	_, ops, err := change(cur)
	if err != nil {
		return nil, nil
	}
	var ids []string
	for _, op := range ops {
		ids = append(ids, op.UserIDs...)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	seqs, err := userSeqsByID(r, tenantID, ids)
	if err != nil {
		return nil, fmt.Errorf("resolve members: %w", err)
	}
	return seqs, nil
}

// userSeqsByID maps the ids of existing users of the tenant to their seqs.
func userSeqsByID(r runner, tenantID string, ids []string) (map[string]int64, error) {
	found := make(map[string]int64, len(ids))
	const chunkSize = 500
	for start := 0; start < len(ids); start += chunkSize {
		args := []any{tenantID}
		for _, id := range ids[start:min(start+chunkSize, len(ids))] {
			if plausibleID(id) {
				args = append(args, id)
			}
		}
		if len(args) == 1 {
			continue
		}
		rows, err := r.query("SELECT id, seq FROM users WHERE tenant_id = ? AND id IN ("+placeholders(len(args)-1)+")", args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id string
			var seq int64
			if err := rows.Scan(&id, &seq); err != nil {
				rows.Close()
				return nil, err
			}
			found[id] = seq
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return found, nil
}

// userSeqs maps user ids of the tenant to their seqs, sorted (so that concurrent
// transactions lock user rows in one order). With strict, an id that is not a user of this
// tenant fails the request, naming it; otherwise it is skipped: removing a user who no
// longer exists from a group is already done.
func userSeqs(r runner, tenantID string, ids []string, strict bool, known map[string]int64) ([]int64, error) {
	var unknown []string
	for _, id := range ids {
		if _, ok := known[id]; !ok {
			unknown = append(unknown, id)
		}
	}
	found, err := userSeqsByID(r, tenantID, unknown)
	if err != nil {
		return nil, err
	}
	maps.Copy(found, known)
	seqs := make([]int64, 0, len(found))
	for _, id := range ids {
		seq, ok := found[id]
		if !ok {
			if strict {
				return nil, scim.InvalidValue("member %q is not a user of this tenant", id)
			}
			continue
		}
		seqs = append(seqs, seq)
	}
	slices.Sort(seqs)
	return slices.Compact(seqs), nil
}

// applyMemberOps changes membership rows only for the users named: the cost of adding or
// removing one member does not depend on the group's size. Rows are written in batches
// (one statement per 500 members), and the version of every user whose "groups" changed
// is bumped. A change is counted by its net effect: a member removed and added back (or
// added and removed) in one request leaves the group, the user and both versions as they
// were.
// The users whose membership changed are added to roles, to derive their roles again. It
// returns the users added and removed, by net effect, sorted.
func (s *Store) applyMemberOps(r runner, tenantID string, groupSeq int64, ops []store.MemberOp, roles *roleWatch, known map[string]int64) (added, removed []int64, err error) {
	net := map[int64]int{} // +1 added, -1 removed, 0 back where it was
	for _, op := range ops {
		seqs, err := userSeqs(r, tenantID, op.UserIDs, op.Kind != store.MembersRemove, known)
		if err != nil {
			return nil, nil, err
		}
		add, remove := seqs, []int64(nil)
		switch op.Kind {
		case store.MembersRemove:
			add, remove = nil, seqs
		case store.MembersSet:
			have, err := memberSeqs(r, tenantID, groupSeq)
			if err != nil {
				return nil, nil, err
			}
			add, remove = nil, nil
			for _, seq := range have {
				if _, keep := slices.BinarySearch(seqs, seq); !keep {
					remove = append(remove, seq)
				}
			}
			for _, seq := range seqs {
				if _, had := slices.BinarySearch(have, seq); !had {
					add = append(add, seq)
				}
			}
		}
		removedNow, err := changeMembers(r, tenantID, groupSeq, remove, false)
		if err != nil {
			return nil, nil, err
		}
		addedNow, err := changeMembers(r, tenantID, groupSeq, add, true)
		if s.d.IsForeignKeyViolation(err) {
			// A user found above was deleted by a transaction that committed since (read
			// committed): the answer is the one that order gives when run serially.
			return nil, nil, scim.InvalidValue("a member named in the request is not a user of this tenant: it was deleted while the request ran")
		}
		if err != nil {
			return nil, nil, err
		}
		for _, seq := range removedNow {
			net[seq]--
		}
		for _, seq := range addedNow {
			net[seq]++
		}
	}
	var changed []int64
	for seq, d := range net {
		switch {
		case d > 0:
			added = append(added, seq)
		case d < 0:
			removed = append(removed, seq)
		}
		if d != 0 {
			changed = append(changed, seq)
		}
	}
	if len(changed) == 0 {
		return nil, nil, nil
	}
	slices.Sort(changed)
	slices.Sort(added)
	slices.Sort(removed)
	// Their roles are derived again once their rows are locked below.
	roles.watch(changed)
	now := s.now().UnixNano()
	for start := 0; start < len(changed); start += memberBatch {
		chunk := changed[start:min(start+memberBatch, len(changed))]
		args := []any{now}
		for _, seq := range chunk {
			args = append(args, seq)
		}
		if _, err := r.exec("UPDATE users SET version = version + 1, modified = ? WHERE seq IN ("+placeholders(len(chunk))+")", args...); err != nil {
			return nil, nil, err
		}
	}
	return added, removed, nil
}

// ChangeMembers adds and removes members of a group, leaving its attributes as they are
// and setting no precondition on its version: an identity provider's group push. It
// takes the group's row lock last, for the version bump alone, so that concurrent pushes
// to one group queue only for that statement and the commit, not for the whole change:
// adds and removes of different users commute. The membership rows, the users' rows (whose
// locks are taken in seq order), their roles and the events are written first.
func (s *Store) ChangeMembers(ctx context.Context, tenantID, id string, ops []store.MemberOp) (*store.Group, error) {
	for _, op := range ops {
		if op.Kind == store.MembersSet {
			return nil, fmt.Errorf("change members: replacing the member list needs UpdateGroup")
		}
	}
	var out *store.Group
	err := s.inWrite(ctx, func(r runner) error {
		if err := s.lockRoles(r, tenantID, true); err != nil {
			return err
		}
		seq, cur, err := s.getGroup(r, tenantID, id, false)
		if err != nil {
			return err
		}
		roles := newRoleWatch()
		added, removed, err := s.applyMemberOps(r, tenantID, seq, ops, roles, nil)
		if err != nil {
			return err
		}
		if len(added)+len(removed) == 0 {
			out = cur
			return nil
		}
		if err := roles.load(r, tenantID, append(slices.Clone(added), removed...)); err != nil {
			return err
		}
		mark := len(*r.events)
		if err := roles.emitRoleChanges(r, tenantID); err != nil {
			return err
		}
		// Last, the group's row: its version, and its attributes as they are now (a rename
		// may have committed since it was read).
		_, g, err := scanGroup(r.queryRow(`UPDATE groups SET modified = ?, version = version + 1 WHERE seq = ?
			RETURNING seq, id, created, modified, version, doc`, s.now().UnixNano(), seq))
		if errors.Is(err, sql.ErrNoRows) {
			return scim.NotFound("group %q not found", id)
		}
		if err != nil {
			return err
		}
		out = g
		// The member events come before the role changes they cause.
		*r.events = slices.Insert(*r.events, mark, memberEvents(tenantID, g, added, removed, roles)...)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("change members: %w", err)
	}
	return out, nil
}

// memberEvents are group.member_added and group.member_removed for the users added to
// and removed from g, read into roles.
func memberEvents(tenantID string, g *store.Group, added, removed []int64, roles *roleWatch) []pendingEvent {
	res := groupResource(g)
	var out []pendingEvent
	for _, seqs := range []struct {
		typ  string
		seqs []int64
	}{{events.GroupMemberAdded, added}, {events.GroupMemberRemoved, removed}} {
		for _, seq := range seqs.seqs {
			if sub, ok := roles.loaded[seq]; ok {
				out = append(out, pendingEvent{tenant: tenantID, typ: seqs.typ, data: events.Data{Resource: res, User: &events.Ref{ID: sub.user.ID, Display: sub.userName}}})
			}
		}
	}
	return out
}

// emitMemberChanges records group.member_added and group.member_removed for the users
// added to and removed from g, then user.roles_changed for each user whose roles differ.
// The users are read once, for both.
func emitMemberChanges(r runner, tenantID string, g *store.Group, added, removed []int64, roles *roleWatch) error {
	if len(added)+len(removed) > 0 {
		// The users' rows are locked since their membership changed: they exist.
		if err := roles.load(r, tenantID, append(slices.Clone(added), removed...)); err != nil {
			return err
		}
		*r.events = append(*r.events, memberEvents(tenantID, g, added, removed, roles)...)
	}
	return roles.emitRoleChanges(r, tenantID)
}

// memberBatch is how many members one statement inserts or deletes.
const memberBatch = 500

// changeMembers inserts (add) or deletes membership rows for the given users and returns
// the users whose membership actually changed: already members are not added again, and
// non-members are not removed.
func changeMembers(r runner, tenantID string, groupSeq int64, seqs []int64, add bool) ([]int64, error) {
	var changed []int64
	for start := 0; start < len(seqs); start += memberBatch {
		chunk := seqs[start:min(start+memberBatch, len(seqs))]
		var q string
		var args []any
		if add {
			q = "INSERT INTO group_members (tenant_id, group_seq, user_seq) VALUES " +
				strings.TrimSuffix(strings.Repeat("(?, ?, ?),", len(chunk)), ",") +
				" ON CONFLICT DO NOTHING RETURNING user_seq"
			for _, seq := range chunk {
				args = append(args, tenantID, groupSeq, seq)
			}
		} else {
			q = "DELETE FROM group_members WHERE tenant_id = ? AND group_seq = ? AND user_seq IN (" + placeholders(len(chunk)) + ") RETURNING user_seq"
			args = []any{tenantID, groupSeq}
			for _, seq := range chunk {
				args = append(args, seq)
			}
		}
		seqs, err := scanSeqs(r.query(q, args...))
		if err != nil {
			return nil, fmt.Errorf("change members: %w", err)
		}
		changed = append(changed, seqs...)
	}
	return changed, nil
}

// memberSeqs lists a group's members, sorted.
func memberSeqs(r runner, tenantID string, groupSeq int64) ([]int64, error) {
	return scanSeqs(r.query("SELECT user_seq FROM group_members WHERE tenant_id = ? AND group_seq = ? ORDER BY user_seq", tenantID, groupSeq))
}

// scanSeqs reads a query's one column of seqs and closes its rows.
func scanSeqs(rows *sql.Rows, err error) ([]int64, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var seq int64
		if err := rows.Scan(&seq); err != nil {
			return nil, err
		}
		out = append(out, seq)
	}
	return out, rows.Err()
}

func (s *Store) DeleteGroup(ctx context.Context, tenantID, id string, check func(store.Meta) error) error {
	err := s.inWrite(ctx, func(r runner) error {
		if err := s.lockRoles(r, tenantID, true); err != nil {
			return err
		}
		seq, cur, err := s.getGroup(r, tenantID, id, true)
		if err != nil {
			return err
		}
		if check != nil {
			if err := check(cur.Meta); err != nil {
				return err
			}
		}
		roles := newRoleWatch()
		have, err := memberSeqs(r, tenantID, seq)
		if err != nil {
			return err
		}
		roles.watch(have)
		// The role is taken from every member in this same transaction.
		if _, err := r.exec(`UPDATE users SET version = version + 1, modified = ?
			WHERE seq IN (SELECT user_seq FROM group_members WHERE tenant_id = ? AND group_seq = ?)`, s.now().UnixNano(), tenantID, seq); err != nil {
			return err
		}
		if _, err := r.exec("DELETE FROM group_members WHERE tenant_id = ? AND group_seq = ?", tenantID, seq); err != nil {
			return err
		}
		if _, err := r.exec("DELETE FROM groups WHERE seq = ?", seq); err != nil {
			return err
		}
		r.emit(tenantID, events.GroupDeleted, events.Data{Resource: groupResource(cur)})
		if err := roles.emitRoleChanges(r, tenantID); err != nil {
			return err
		}
		return s.countChange(r, tenantID, "Group", -1)
	})
	if err != nil {
		return fmt.Errorf("delete group: %w", err)
	}
	return nil
}

func (s *Store) ListGroups(ctx context.Context, tenantID string, q store.ListQuery) (store.Page[*store.Group], error) {
	var page store.Page[*store.Group]
	res, err := s.list(ctx, &groupsTable, s.groups, "Group", groupColumnsSQL, tenantID, q, func(_ runner, rows *sql.Rows, keep int) (int, position, error) {
		return scanPage(rows, keep, func() (position, error) {
			g := &store.Group{}
			_, pos, err := scanListed(rows, &g.ID, &g.Meta, &g.Data, docDest(&g.Doc, q.RawDocs))
			page.Items = append(page.Items, g)
			return pos, err
		})
	})
	if err != nil {
		return page, fmt.Errorf("list groups: %w", err)
	}
	page.Total, page.NextCursor = res.total, res.next
	return page, nil
}

func (s *Store) MemberCounts(ctx context.Context, tenantID string, groupIDs []string) (map[string]int, error) {
	out := make(map[string]int, len(groupIDs))
	if len(groupIDs) == 0 {
		return out, nil
	}
	args := []any{tenantID, tenantID}
	for _, id := range groupIDs {
		out[id] = 0
		args = append(args, id)
	}
	rows, err := s.readRunner(ctx, nil).dynQuery(`SELECT g.id, count(*) FROM groups g JOIN group_members m ON m.tenant_id = ? AND m.group_seq = g.seq
		WHERE g.tenant_id = ? AND g.id IN (`+placeholders(len(groupIDs))+`) GROUP BY g.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("count members: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, fmt.Errorf("count members: %w", err)
		}
		out[id] = n
	}
	return out, rows.Err()
}
