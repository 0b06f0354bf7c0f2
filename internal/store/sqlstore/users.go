package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/scimd/scimd/internal/events"
	"github.com/scimd/scimd/internal/roles"
	"github.com/scimd/scimd/internal/scim"
	"github.com/scimd/scimd/internal/store"
)

// userColumns are the indexed copies of a user's attributes.
type userColumns struct {
	userName, userNameFold string
	externalID             sql.NullString
	active                 bool
	emails                 []string // folded, distinct
	doc                    string
}

func userColumnsOf(data scim.Resource) (userColumns, error) {
	c := userColumns{userName: data.String("userName"), active: userColumnsActive(data)}
	c.userNameFold = store.Fold(c.userName)
	if ext := data.String("externalId"); ext != "" {
		c.externalID = sql.NullString{String: ext, Valid: true}
	}
	if emails, ok := data["emails"].([]any); ok {
		for _, e := range emails {
			m, _ := e.(map[string]any)
			v, _ := m["value"].(string)
			if f := store.Fold(v); v != "" && !slices.Contains(c.emails, f) {
				c.emails = append(c.emails, f)
			}
		}
	}
	doc, err := json.Marshal(data)
	if err != nil {
		return c, fmt.Errorf("encode user: %w", err)
	}
	c.doc = string(doc)
	return c, nil
}

// userColumnsActive is the "active" a user's data gives.
// RFC 7643 §4.1.1 leaves "active" to the service provider; absent means active, so that
// a client that never sends it does not deactivate users.
func userColumnsActive(data scim.Resource) bool {
	if a, ok := data["active"].(bool); ok {
		return a
	}
	return true
}

func decodeDoc(doc []byte) (scim.Resource, error) {
	m, err := scim.DecodeJSON(doc)
	if err != nil {
		return nil, fmt.Errorf("decode stored resource: %w", err)
	}
	return scim.Resource(m), nil
}

func (s *Store) CreateUser(ctx context.Context, tenantID string, data scim.Resource) (*store.User, error) {
	now := s.now()
	u := &store.User{ID: store.NewID(), Meta: store.Meta{Created: now, LastModified: now, Version: 1}}
	err := s.inWrite(ctx, func(r runner) error {
		if err := s.lockRoles(r, tenantID, true); err != nil {
			return err
		}
		cfg, err := roleConfig(r, tenantID)
		if err != nil {
			return err
		}
		if u.Data, err = withAssignments(cfg, data); err != nil {
			return err
		}
		cols, err := userColumnsOf(u.Data)
		if err != nil {
			return err
		}
		if err := checkUserNameFree(r, tenantID, cols, ""); err != nil {
			return err
		}
		var seq int64
		err = r.queryRow(`INSERT INTO users (tenant_id, id, user_name, user_name_fold, external_id, active, created, modified, version, doc)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?) RETURNING seq`,
			tenantID, u.ID, cols.userName, cols.userNameFold, cols.externalID, cols.active, now.UnixNano(), now.UnixNano(), cols.doc).Scan(&seq)
		if s.d.IsUniqueViolation(err) {
			// Another instance created the same userName since the check above.
			return scim.Conflict("userName %q is already taken", cols.userName)
		}
		if err != nil {
			return err
		}
		if err := s.countChange(r, tenantID, "User", 1); err != nil {
			return err
		}
		// A new user is in no group: its roles are the default role, or what the
		// identity provider assigned.
		u.Roles = cfg.UserRoles(nil, cols.active, assignedRoles(u.Data))
		if err := insertRoles(r, tenantID, []int64{seq}, map[int64][]string{seq: u.Roles}); err != nil {
			return err
		}
		r.emit(tenantID, events.UserCreated, events.Data{Resource: userResource(u)})
		if len(u.Roles) > 0 {
			r.emit(tenantID, events.UserRolesChanged, events.Data{Resource: userResource(u), RolesBefore: []string{}, RolesAfter: u.Roles})
		}
		return insertEmails(r, tenantID, seq, cols.emails)
	})
	if err != nil {
		return nil, fmt.Errorf("create user: %w", err)
	}
	return u, nil
}

// checkUserNameFree enforces RFC 7643 §4.1.1 userName uniqueness ("MUST be unique across
// the service provider's entire set of Users", per tenant here, caseExact false). The
// unique index is the backstop; this check gives the client a clear message.
func checkUserNameFree(r runner, tenantID string, cols userColumns, exceptID string) error {
	return checkNameFree(r, "SELECT id FROM users WHERE tenant_id = ? AND user_name_fold = ?", tenantID, cols.userNameFold, exceptID,
		func(id string) error {
			return scim.Conflict("userName %q is already taken by user %s", cols.userName, id)
		})
}

func insertEmails(r runner, tenantID string, seq int64, emails []string) error {
	for _, e := range emails {
		if _, err := r.exec("INSERT INTO user_emails (tenant_id, value_fold, user_seq) VALUES (?, ?, ?)", tenantID, e, seq); err != nil {
			return fmt.Errorf("index e-mail: %w", err)
		}
	}
	return nil
}

// userColumnsSQL selects what scanResource reads; userSelect adds the table.
const (
	userColumnsSQL = "SELECT u.seq, u.id, u.created, u.modified, u.version, u.doc"
	userSelect     = userColumnsSQL + " FROM users u"
)

func scanUser(sc interface{ Scan(...any) error }) (int64, *store.User, error) {
	u := &store.User{}
	seq, err := scanResource(sc, &u.ID, &u.Meta, &u.Data, nil)
	return seq, u, err
}

// getUser reads a user; forUpdate locks its row for the rest of the transaction.
func (s *Store) getUser(r runner, tenantID, id string, forUpdate bool) (int64, *store.User, error) {
	q := userSelect + " WHERE u.tenant_id = ? AND u.id = ?"
	if forUpdate {
		q += s.d.ForUpdate()
	}
	if !plausibleID(id) {
		return 0, nil, scim.NotFound("user %q not found", id)
	}
	seq, u, err := scanUser(r.queryRow(q, tenantID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil, scim.NotFound("user %q not found", id)
	}
	return seq, u, err
}

// userGroups returns the groups (roles) of the users with the given seqs.
func userGroups(r runner, tenantID string, seqs []int64) (map[int64][]store.GroupRef, error) {
	out := map[int64][]store.GroupRef{}
	const chunkSize = 500
	for start := 0; start < len(seqs); start += chunkSize {
		chunk := seqs[start:min(start+chunkSize, len(seqs))]
		args := []any{tenantID}
		for _, s := range chunk {
			args = append(args, s)
		}
		q := `SELECT m.user_seq, g.id, g.display_name FROM group_members m JOIN groups g ON g.seq = m.group_seq
			WHERE m.tenant_id = ? AND m.user_seq IN (` + placeholders(len(chunk)) + `) ORDER BY g.display_name_fold, g.seq`
		rows, err := r.query(q, args...)
		if err != nil {
			return nil, fmt.Errorf("load user groups: %w", err)
		}
		if err := scanUserGroups(rows, out, nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// pageGroups is userGroups for a page holding every user of the tenant between its first
// and last seq (a list without filter, sort or membership condition, in seq order): one
// range scan of the memberships instead of a look-up per user. Rows of users outside the
// page are dropped, so a page that is not whole costs more but is still right.
func pageGroups(r runner, tenantID string, seqs []int64) (map[int64][]store.GroupRef, error) {
	lo, hi, in := seqSpan(seqs)
	rows, err := r.query(`SELECT m.user_seq, g.id, g.display_name FROM group_members m JOIN groups g ON g.seq = m.group_seq
		WHERE m.tenant_id = ? AND m.user_seq BETWEEN ? AND ? ORDER BY g.display_name_fold, g.seq`, tenantID, lo, hi)
	if err != nil {
		return nil, fmt.Errorf("load user groups: %w", err)
	}
	out := map[int64][]store.GroupRef{}
	return out, scanUserGroups(rows, out, in)
}

// seqSpan returns the lowest and highest of seqs, and the set of them.
func seqSpan(seqs []int64) (lo, hi int64, in map[int64]bool) {
	in = make(map[int64]bool, len(seqs))
	lo, hi = seqs[0], seqs[0]
	for _, s := range seqs {
		lo, hi = min(lo, s), max(hi, s)
		in[s] = true
	}
	return lo, hi, in
}

// scanUserGroups adds (user seq, group id, displayName) rows to out, keeping only the
// users in keep when it is not nil, and closes rows.
func scanUserGroups(rows *sql.Rows, out map[int64][]store.GroupRef, keep map[int64]bool) error {
	defer rows.Close()
	for rows.Next() {
		var seq int64
		var g store.GroupRef
		if err := rows.Scan(&seq, &g.ID, &g.DisplayName); err != nil {
			return fmt.Errorf("load user groups: %w", err)
		}
		if keep == nil || keep[seq] {
			out[seq] = append(out[seq], g)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load user groups: %w", err)
	}
	return nil
}

// decodeGroupsJSON reads Dialect.GroupsJSON's [id, displayName] pairs.
func decodeGroupsJSON(b []byte, into *[]store.GroupRef) error {
	var pairs [][2]string
	if err := json.Unmarshal(b, &pairs); err != nil {
		return fmt.Errorf("decode groups: %w", err)
	}
	for _, p := range pairs {
		*into = append(*into, store.GroupRef{ID: p[0], DisplayName: p[1]})
	}
	return nil
}

// GetUser reads the user, and its groups when asked, in one statement (the groups as a
// JSON array from a subquery): one round trip for the read identity providers make most.
func (s *Store) GetUser(ctx context.Context, tenantID, id string, opts store.ReadOptions) (*store.User, error) {
	if !plausibleID(id) {
		return nil, fmt.Errorf("get user: %w", scim.NotFound("user %q not found", id))
	}
	q := userColumnsSQL
	var groups, held []byte
	var extra []any
	if opts.WithGroups {
		q += ", " + s.d.GroupsJSON()
		extra = append(extra, &groups)
	}
	if opts.WithRoles {
		q += ", " + s.d.RolesJSON()
		extra = append(extra, &held)
	}
	u := &store.User{}
	var doc *[]byte
	if opts.RawDoc {
		doc = &u.Doc
	}
	_, err := scanResource(s.readRunner(ctx, nil).queryRow(q+" FROM users u WHERE u.tenant_id = ? AND u.id = ?", tenantID, id), &u.ID, &u.Meta, &u.Data, doc, extra...)
	if errors.Is(err, sql.ErrNoRows) {
		err = scim.NotFound("user %q not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("get user: %w", err)
	}
	if opts.WithGroups {
		if err := decodeGroupsJSON(groups, &u.Groups); err != nil {
			return nil, fmt.Errorf("get user: %w", err)
		}
	}
	if opts.WithRoles {
		if err := json.Unmarshal(held, &u.Roles); err != nil {
			return nil, fmt.Errorf("get user: decode roles: %w", err)
		}
	}
	return u, nil
}

func (s *Store) UpdateUser(ctx context.Context, tenantID, id string, change func(*store.User) (scim.Resource, error)) (*store.User, error) {
	var out *store.User
	err := s.inWrite(ctx, func(r runner) error {
		if err := s.lockRoles(r, tenantID, true); err != nil {
			return err
		}
		seq, cur, err := s.getUser(r, tenantID, id, true)
		if err != nil {
			return err
		}
		groups, err := userGroups(r, tenantID, []int64{seq})
		if err != nil {
			return err
		}
		cur.Groups = groups[seq]
		held, err := storedRoles(r, tenantID, []int64{seq})
		if err != nil {
			return err
		}
		cur.Roles = held[seq]
		data, err := change(cur)
		if err != nil {
			return err
		}
		wasActive := true
		if a, ok := cur.Data["active"].(bool); ok {
			wasActive = a
		}
		var cfg roles.Config
		_, hadRoles := cur.Data["roles"]
		_, hasRoles := data["roles"]
		rolesMayChange := hadRoles || hasRoles
		if rolesMayChange || wasActive != userColumnsActive(data) {
			if cfg, err = roleConfig(r, tenantID); err != nil {
				return err
			}
			if data, err = withAssignments(cfg, data); err != nil {
				return err
			}
		}
		if jsonEqual(cur.Data, data) {
			out = cur
			return nil
		}
		cols, err := userColumnsOf(data)
		if err != nil {
			return err
		}
		if err := checkUserNameFree(r, tenantID, cols, id); err != nil {
			return err
		}
		now := s.now()
		_, err = r.exec(`UPDATE users SET user_name = ?, user_name_fold = ?, external_id = ?, active = ?, modified = ?, version = version + 1, doc = ?
			WHERE seq = ?`, cols.userName, cols.userNameFold, cols.externalID, cols.active, now.UnixNano(), cols.doc, seq)
		if s.d.IsUniqueViolation(err) {
			return scim.Conflict("userName %q is already taken", cols.userName)
		}
		if err != nil {
			return err
		}
		if _, err := r.exec("DELETE FROM user_emails WHERE user_seq = ?", seq); err != nil {
			return err
		}
		if err := insertEmails(r, tenantID, seq, cols.emails); err != nil {
			return err
		}
		before := cur.Data
		cur.Data = data
		cur.Meta.LastModified = now
		cur.Meta.Version++
		out = cur
		rolesBefore := cur.Roles
		if rolesMayChange || wasActive != cols.active {
			after := cfg.UserRoles(groupsForRules(cur.Groups), cols.active, assignedRoles(data))
			if !slices.Equal(after, rolesBefore) {
				if err := writeRoles(r, tenantID, []int64{seq}, map[int64][]string{seq: after}); err != nil {
					return err
				}
				cur.Roles = after
			}
		}
		emitUserUpdate(r, tenantID, before, cur, cols.active, events.OpOf(ctx))
		if !slices.Equal(cur.Roles, rolesBefore) {
			r.emit(tenantID, events.UserRolesChanged, events.Data{Resource: userResource(cur), RolesBefore: rolesBefore, RolesAfter: cur.Roles})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("update user: %w", err)
	}
	return out, nil
}

// emitUserUpdate records an update of a user: user.deactivated or user.reactivated when
// "active" flipped, and user.updated naming the other attributes that changed, if any.
func emitUserUpdate(r runner, tenantID string, before scim.Resource, u *store.User, active bool, op string) {
	wasActive := true
	if a, ok := before["active"].(bool); ok {
		wasActive = a
	}
	var changed []string
	for _, name := range events.ChangedAttributes(before, u.Data) {
		if name != "active" {
			changed = append(changed, name)
		}
	}
	res := userResource(u)
	if len(changed) > 0 {
		r.emit(tenantID, events.UserUpdated, events.Data{Resource: res, Changed: changed, Op: op})
	}
	switch {
	case wasActive && !active:
		r.emit(tenantID, events.UserDeactivated, events.Data{Resource: res})
	case !wasActive && active:
		r.emit(tenantID, events.UserReactivated, events.Data{Resource: res})
	}
}

func jsonEqual(a, b scim.Resource) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(x) == string(y)
}

func (s *Store) DeleteUser(ctx context.Context, tenantID, id string, check func(store.Meta) error) error {
	err := s.inWrite(ctx, func(r runner) error {
		// Not during a configuration change, which writes the roles of users it has read.
		if err := s.lockRoles(r, tenantID, true); err != nil {
			return err
		}
		seq, cur, err := s.getUser(r, tenantID, id, true)
		if err != nil {
			return err
		}
		if check != nil {
			if err := check(cur.Meta); err != nil {
				return err
			}
		}
		groups, err := userGroups(r, tenantID, []int64{seq})
		if err != nil {
			return err
		}
		cur.Groups = groups[seq]
		held, err := storedRoles(r, tenantID, []int64{seq})
		if err != nil {
			return err
		}
		cur.Roles = held[seq]
		if len(cur.Groups) > 0 {
			// The user's groups lose a member: their version changes.
			if _, err := r.exec(`UPDATE groups SET version = version + 1, modified = ?
				WHERE seq IN (SELECT group_seq FROM group_members WHERE tenant_id = ? AND user_seq = ?)`, s.now().UnixNano(), tenantID, seq); err != nil {
				return err
			}
			if err := emitMembershipsEnded(r, tenantID, seq, cur); err != nil {
				return err
			}
		}
		r.emit(tenantID, events.UserDeleted, events.Data{Resource: userResource(cur)})
		if _, err := r.exec("DELETE FROM group_members WHERE tenant_id = ? AND user_seq = ?", tenantID, seq); err != nil {
			return err
		}
		if _, err := r.exec("DELETE FROM user_emails WHERE user_seq = ?", seq); err != nil {
			return err
		}
		if _, err := r.exec("DELETE FROM users WHERE seq = ?", seq); err != nil {
			return err
		}
		return s.countChange(r, tenantID, "User", -1)
	})
	if err != nil {
		return fmt.Errorf("delete user: %w", err)
	}
	return nil
}

// emitMembershipsEnded records group.member_removed for each group of a user being
// deleted, in the order of the user's groups, with each group as it is after the change:
// a receiver that follows membership events sees the user leave every group before
// user.deleted, as when an identity provider unassigns and then deletes. No
// user.roles_changed follows: the user is gone, which user.deleted says.
func emitMembershipsEnded(r runner, tenantID string, userSeq int64, u *store.User) error {
	rows, err := r.query(groupSelect+` WHERE g.tenant_id = ? AND g.seq IN (SELECT group_seq FROM group_members WHERE tenant_id = ? AND user_seq = ?)`,
		tenantID, tenantID, userSeq)
	if err != nil {
		return fmt.Errorf("load the user's groups: %w", err)
	}
	byID := map[string]*store.Group{}
	for rows.Next() {
		_, g, err := scanGroup(rows)
		if err != nil {
			rows.Close()
			return fmt.Errorf("load the user's groups: %w", err)
		}
		byID[g.ID] = g
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load the user's groups: %w", err)
	}
	ref := events.Ref{ID: u.ID, Display: u.Data.String("userName")}
	for _, gr := range u.Groups {
		if g, ok := byID[gr.ID]; ok {
			r.emit(tenantID, events.GroupMemberRemoved, events.Data{Resource: groupResource(g), User: &ref})
		}
	}
	return nil
}

func (s *Store) ListUsers(ctx context.Context, tenantID string, q store.ListQuery) (store.Page[*store.User], error) {
	var page store.Page[*store.User]
	res, err := s.list(ctx, &usersTable, s.users, "User", userColumnsSQL, tenantID, q, func(r runner, rows *sql.Rows, keep int) (int, position, error) {
		var seqs []int64
		read, last, err := scanPage(rows, keep, func() (position, error) {
			u := &store.User{}
			seq, pos, err := scanListed(rows, &u.ID, &u.Meta, &u.Data, docDest(&u.Doc, q.RawDocs))
			seqs = append(seqs, seq)
			page.Items = append(page.Items, u)
			return pos, err
		})
		if err != nil {
			return 0, last, err
		}
		rows.Close() // before the next query: SQLite's read connection is the transaction's
		// A page of every user between its first and last (no filter, sort or membership
		// condition; in seq order) reads its users' roles and groups by range.
		whole := q.Filter == nil && q.SortBy == nil && q.MemberOf == "" && q.HasRole == ""
		if q.WithRoles && len(seqs) > 0 {
			read := storedRoles
			if whole {
				read = pageRoles
			}
			held, err := read(r, tenantID, seqs)
			if err != nil {
				return 0, last, err
			}
			for i, seq := range seqs {
				page.Items[i].Roles = held[seq]
			}
		}
		if q.WithGroups && len(seqs) > 0 {
			read := userGroups
			if whole {
				read = pageGroups
			}
			groups, err := read(r, tenantID, seqs)
			if err != nil {
				return 0, last, err
			}
			for i, seq := range seqs {
				page.Items[i].Groups = groups[seq]
			}
		}
		return read, last, nil
	})
	if err != nil {
		return page, fmt.Errorf("list users: %w", err)
	}
	page.Total, page.NextCursor = res.total, res.next
	return page, nil
}
