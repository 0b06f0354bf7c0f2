package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/scimd/scimd/internal/scim"
	"github.com/scimd/scimd/internal/store"
)

// userRT is the user resource type the filter compiler resolves against.
var userRT = scim.NewUserResourceType()

// userColumns are the indexed copies of a user's attributes.
type userColumns struct {
	userName, userNameFold string
	externalID             sql.NullString
	active                 bool
	emails                 []string // folded, distinct
	doc                    []byte
}

func userColumnsOf(data scim.Resource) (userColumns, error) {
	c := userColumns{userName: data.String("userName"), active: true}
	c.userNameFold = store.Fold(c.userName)
	if ext := data.String("externalId"); ext != "" {
		c.externalID = sql.NullString{String: ext, Valid: true}
	}
	// RFC 7643 §4.1.1 leaves "active" to the service provider; absent means active, so
	// that a client that never sends it does not deactivate users.
	if a, ok := data["active"].(bool); ok {
		c.active = a
	}
	seen := map[string]bool{}
	if emails, ok := data["emails"].([]any); ok {
		for _, e := range emails {
			m, _ := e.(map[string]any)
			v, _ := m["value"].(string)
			if f := store.Fold(v); v != "" && !seen[f] {
				seen[f] = true
				c.emails = append(c.emails, f)
			}
		}
	}
	doc, err := json.Marshal(data)
	if err != nil {
		return c, fmt.Errorf("encode user: %w", err)
	}
	c.doc = doc
	return c, nil
}

func decodeDoc(doc []byte) (scim.Resource, error) {
	m, err := scim.DecodeJSON(doc)
	if err != nil {
		return nil, fmt.Errorf("decode stored resource: %w", err)
	}
	return scim.Resource(m), nil
}

func (s *Store) CreateUser(ctx context.Context, tenantID string, data scim.Resource) (*store.User, error) {
	cols, err := userColumnsOf(data)
	if err != nil {
		return nil, err
	}
	now := s.now()
	u := &store.User{ID: store.NewID(), Data: data, Meta: store.Meta{Created: now, LastModified: now, Version: 1}}
	err = s.write(ctx, func(tx *sql.Tx) error {
		if err := checkUserNameFree(ctx, tx, tenantID, cols, ""); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO users (tenant_id, id, user_name, user_name_fold, external_id, active, created, modified, version, doc)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?)`,
			tenantID, u.ID, cols.userName, cols.userNameFold, cols.externalID, cols.active, now.UnixNano(), now.UnixNano(), cols.doc)
		if err != nil {
			return err
		}
		seq, err := res.LastInsertId()
		if err != nil {
			return err
		}
		return insertEmails(ctx, tx, tenantID, seq, cols.emails)
	})
	if err != nil {
		return nil, fmt.Errorf("create user: %w", err)
	}
	return u, nil
}

// checkUserNameFree enforces RFC 7643 §4.1.1 userName uniqueness ("MUST be unique across
// the service provider's entire set of Users", per tenant here, caseExact false). The
// unique index is the backstop; this check gives the client a clear message.
func checkUserNameFree(ctx context.Context, tx *sql.Tx, tenantID string, cols userColumns, exceptID string) error {
	var id string
	err := tx.QueryRowContext(ctx, "SELECT id FROM users WHERE tenant_id = ? AND user_name_fold = ?", tenantID, cols.userNameFold).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && id == exceptID) {
		return nil
	}
	if err != nil {
		return err
	}
	return scim.Conflict("userName %q is already taken by user %s", cols.userName, id)
}

func insertEmails(ctx context.Context, tx *sql.Tx, tenantID string, seq int64, emails []string) error {
	for _, e := range emails {
		if _, err := tx.ExecContext(ctx, "INSERT INTO user_emails (tenant_id, value_fold, user_seq) VALUES (?, ?, ?)", tenantID, e, seq); err != nil {
			return fmt.Errorf("index e-mail: %w", err)
		}
	}
	return nil
}

const userSelect = "SELECT u.seq, u.id, u.created, u.modified, u.version, u.doc FROM users u"

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func scanUser(sc interface{ Scan(...any) error }) (int64, *store.User, error) {
	var seq, created, modified int64
	var doc []byte
	u := &store.User{}
	if err := sc.Scan(&seq, &u.ID, &created, &modified, &u.Meta.Version, &doc); err != nil {
		return 0, nil, err
	}
	u.Meta.Created = time.Unix(0, created).UTC()
	u.Meta.LastModified = time.Unix(0, modified).UTC()
	data, err := decodeDoc(doc)
	if err != nil {
		return 0, nil, err
	}
	u.Data = data
	return seq, u, nil
}

func getUser(ctx context.Context, q querier, tenantID, id string) (int64, *store.User, error) {
	seq, u, err := scanUser(q.QueryRowContext(ctx, userSelect+" WHERE u.tenant_id = ? AND u.id = ?", tenantID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil, scim.NotFound("user %q not found", id)
	}
	return seq, u, err
}

// userGroups returns the groups (roles) of the users with the given seqs.
func userGroups(ctx context.Context, q querier, tenantID string, seqs []int64) (map[int64][]store.GroupRef, error) {
	out := map[int64][]store.GroupRef{}
	for start := 0; start < len(seqs); start += 500 {
		chunk := seqs[start:min(start+500, len(seqs))]
		args := []any{tenantID}
		for _, s := range chunk {
			args = append(args, s)
		}
		rows, err := q.QueryContext(ctx, `SELECT m.user_seq, g.id, g.display_name FROM group_members m JOIN groups g ON g.seq = m.group_seq
			WHERE m.tenant_id = ? AND m.user_seq IN (`+placeholders(len(chunk))+`) ORDER BY g.display_name_fold, g.seq`, args...)
		if err != nil {
			return nil, fmt.Errorf("load user groups: %w", err)
		}
		for rows.Next() {
			var seq int64
			var g store.GroupRef
			if err := rows.Scan(&seq, &g.ID, &g.DisplayName); err != nil {
				rows.Close()
				return nil, fmt.Errorf("load user groups: %w", err)
			}
			out[seq] = append(out[seq], g)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("load user groups: %w", err)
		}
	}
	return out, nil
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

func (s *Store) GetUser(ctx context.Context, tenantID, id string, withGroups bool) (*store.User, error) {
	var u *store.User
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		seq, got, err := getUser(ctx, tx, tenantID, id)
		if err != nil {
			return err
		}
		u = got
		if withGroups {
			groups, err := userGroups(ctx, tx, tenantID, []int64{seq})
			if err != nil {
				return err
			}
			u.Groups = groups[seq]
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("get user: %w", err)
	}
	return u, nil
}

func (s *Store) UpdateUser(ctx context.Context, tenantID, id string, change func(*store.User) (scim.Resource, error)) (*store.User, error) {
	var out *store.User
	err := s.write(ctx, func(tx *sql.Tx) error {
		seq, cur, err := getUser(ctx, tx, tenantID, id)
		if err != nil {
			return err
		}
		groups, err := userGroups(ctx, tx, tenantID, []int64{seq})
		if err != nil {
			return err
		}
		cur.Groups = groups[seq]
		data, err := change(cur)
		if err != nil {
			return err
		}
		if jsonEqual(cur.Data, data) {
			out = cur
			return nil
		}
		cols, err := userColumnsOf(data)
		if err != nil {
			return err
		}
		if err := checkUserNameFree(ctx, tx, tenantID, cols, id); err != nil {
			return err
		}
		now := s.now()
		if _, err := tx.ExecContext(ctx, `UPDATE users SET user_name = ?, user_name_fold = ?, external_id = ?, active = ?, modified = ?, version = version + 1, doc = ?
			WHERE seq = ?`, cols.userName, cols.userNameFold, cols.externalID, cols.active, now.UnixNano(), cols.doc, seq); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM user_emails WHERE user_seq = ?", seq); err != nil {
			return err
		}
		if err := insertEmails(ctx, tx, tenantID, seq, cols.emails); err != nil {
			return err
		}
		cur.Data = data
		cur.Meta.LastModified = now
		cur.Meta.Version++
		out = cur
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("update user: %w", err)
	}
	return out, nil
}

func jsonEqual(a, b scim.Resource) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(x) == string(y)
}

func (s *Store) DeleteUser(ctx context.Context, tenantID, id string, check func(store.Meta) error) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		seq, cur, err := getUser(ctx, tx, tenantID, id)
		if err != nil {
			return err
		}
		if check != nil {
			if err := check(cur.Meta); err != nil {
				return err
			}
		}
		// The user's groups lose a member: their version changes.
		if _, err := tx.ExecContext(ctx, `UPDATE groups SET version = version + 1, modified = ?
			WHERE seq IN (SELECT group_seq FROM group_members WHERE tenant_id = ? AND user_seq = ?)`, s.now().UnixNano(), tenantID, seq); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM group_members WHERE tenant_id = ? AND user_seq = ?", tenantID, seq); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM user_emails WHERE user_seq = ?", seq); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, "DELETE FROM users WHERE seq = ?", seq)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete user: %w", err)
	}
	return nil
}

func (s *Store) ListUsers(ctx context.Context, tenantID string, q store.ListQuery) (store.Page[*store.User], error) {
	var page store.Page[*store.User]
	where := "u.tenant_id = ?"
	args := []any{tenantID}
	if q.Filter != nil {
		cond, fargs, err := compileFilter(&usersTable, userRT, q.Filter)
		if err != nil {
			return page, err
		}
		where += " AND " + cond
		args = append(args, fargs...)
	}
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM users u WHERE "+where, args...).Scan(&page.Total); err != nil {
			return fmt.Errorf("count: %w", err)
		}
		if q.Count == 0 || q.StartIndex > page.Total {
			return nil
		}
		rows, err := tx.QueryContext(ctx, userSelect+" WHERE "+where+" ORDER BY u.seq LIMIT ? OFFSET ?", append(args, q.Count, q.StartIndex-1)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		var seqs []int64
		for rows.Next() {
			seq, u, err := scanUser(rows)
			if err != nil {
				return err
			}
			seqs = append(seqs, seq)
			page.Items = append(page.Items, u)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if q.WithGroups && len(seqs) > 0 {
			groups, err := userGroups(ctx, tx, tenantID, seqs)
			if err != nil {
				return err
			}
			for i, seq := range seqs {
				page.Items[i].Groups = groups[seq]
			}
		}
		return nil
	})
	if err != nil {
		return page, fmt.Errorf("list users: %w", err)
	}
	return page, nil
}
