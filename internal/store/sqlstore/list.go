package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/scimd/scimd/internal/scim"
	"github.com/scimd/scimd/internal/store"
)

// listPlan is the SQL of one list query: its condition, its order and, for sorted lists,
// the expressions of the sort key that a cursor remembers.
type listPlan struct {
	t      *resourceTable
	where  string
	args   []any
	sorted bool
	desc   bool
	// nullFlag is 1 where the sort attribute has no value, else 0 ("" when it always has
	// one); key is the attribute's comparable value (coalesced when it can be null).
	nullFlag, key string
	// memberOf: the list keeps one group's members (ListQuery.MemberOf) or one role's
	// holders (ListQuery.HasRole); membership is the condition's template (membersOf or
	// holdersOf).
	memberOf   bool
	membership string
}

// fingerprint identifies the query a cursor belongs to: only cursor paging needs it, so it
// is not computed for the lists every identity provider sends.
func (p *listPlan) fingerprint() string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\x00%v\x00", p.t.from, p.where, p.nullFlag, p.key, p.desc)
	for _, a := range p.args[1:] {
		fmt.Fprintf(h, "%T:%v\x00", a, a)
	}
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:9])
}

// counted reports whether the tenant's counters give the list's total: no filter.
func (p *listPlan) counted() bool { return p.where == p.t.alias+".tenant_id = ?" }

func (s *Store) planList(t *resourceTable, rt *scim.ResourceType, tenantID string, q store.ListQuery) (*listPlan, error) {
	if q.Type != nil {
		rt = q.Type
	}
	p := &listPlan{t: t, where: t.alias + ".tenant_id = ?", args: []any{tenantID}}
	if q.Filter != nil {
		cond, fargs, err := compileFilter(s.d, t, rt, tenantID, q.Filter)
		if err != nil {
			return nil, err
		}
		p.where += " AND " + cond
		p.args = append(p.args, fargs...)
	}
	if q.MemberOf != "" || q.HasRole != "" {
		if t != &usersTable || (q.MemberOf != "" && q.HasRole != "") {
			return nil, fmt.Errorf("MemberOf or HasRole on a list of %s", t.alias)
		}
		p.memberOf = true
		if q.MemberOf != "" {
			p.membership = membersOf
			p.args = append(p.args, tenantID, tenantID, q.MemberOf)
		} else {
			p.membership = holdersOf
			p.args = append(p.args, tenantID, q.HasRole)
		}
		p.where += " AND " + fmt.Sprintf(p.membership, "")
	}
	if q.SortBy != nil {
		if err := s.planSort(p, *q.SortBy); err != nil {
			return nil, err
		}
		p.desc = q.SortDescending
	}
	return p, nil
}

// membersOf is the condition of ListQuery.MemberOf; %s is where a bounded page adds its
// start and size to the membership scan.
//
// The group is found by a scalar subquery, not a join: with the group's seq a constant,
// the membership's primary key (tenant_id, group_seq, user_seq) yields the members in
// user order, so PostgreSQL stops after the page instead of sorting every member.
const membersOf = "u.seq IN (SELECT m.user_seq FROM group_members m WHERE m.tenant_id = ? AND m.group_seq = (SELECT r.seq FROM groups r WHERE r.tenant_id = ? AND r.id = ?)%s)"

// holdersOf is the condition of ListQuery.HasRole, read from the index (tenant_id, role,
// user_seq) in user order as membersOf is.
const holdersOf = "u.seq IN (SELECT m.user_seq FROM user_roles m WHERE m.tenant_id = ? AND m.role = ?%s)"

// boundedMembers is p's page condition with the membership scan bounded to the page: the
// group's members after seq, in order, at most limit of them. It is p.where with its
// last condition (membersOf, added last by planList) replaced.
func (p *listPlan) boundedMembers(where string, args []any, after int64, limit int) (string, []any) {
	unbounded := fmt.Sprintf(p.membership, "")
	i := strings.LastIndex(where, unbounded)
	bounded := fmt.Sprintf(p.membership, " AND m.user_seq > ? ORDER BY m.user_seq LIMIT ?")
	// The membership arguments follow the filter's in p.args; the cursor's, appended to
	// where after it, follow them: keep that order.
	n := len(p.args)
	out := append(append(append([]any(nil), args[:n]...), after, limit), args[n:]...)
	return where[:i] + bounded + where[i+len(unbounded):], out
}

// notNullColumns are the indexed columns that always hold a value.
var notNullColumns = map[string]bool{
	"u.id": true, "u.user_name_fold": true, "u.active": true, "u.created": true, "u.modified": true,
	"g.id": true, "g.display_name_fold": true, "g.created": true, "g.modified": true,
}

// planSort sets the sort key. RFC 7644 §3.4.2.3: "if there is no data for the specified
// "sortBy" value, they are sorted via the "sortOrder" parameter, i.e., they are ordered
// last if ascending and first if descending", and a string attribute sorts case-
// insensitively unless it is caseExact.
func (s *Store) planSort(p *listPlan, a scim.AttrPath) error {
	p.sorted = true
	if a.Attr == nil {
		return scim.InvalidValue("unknown sortBy attribute %q", a.String())
	}
	if a.URN == "" {
		if col, ok := p.t.columns[pathKey(a)]; ok {
			p.key = col.expr
			if !notNullColumns[col.expr] {
				p.nullFlag = "CASE WHEN " + col.expr + " IS NULL THEN 1 ELSE 0 END"
				p.key = "COALESCE(" + col.expr + ", '')"
			}
			return nil
		}
		if _, ok := p.t.relations[a.Name]; ok {
			return scim.InvalidValue("sorting by %q is not supported", a.String())
		}
	}
	if scim.IsSchemasAttr(a.Attr) {
		return scim.InvalidValue("sorting by %q is not supported", a.String())
	}
	leaf := a.Leaf()
	if leaf.Type == scim.TypeComplex && !(a.Attr.MultiValued && a.SubAttr == nil) {
		return scim.InvalidValue("sortBy %q names a complex attribute: name one of its sub-attributes (e.g. %s.%s)", a.String(), a.String(), firstSub(leaf))
	}
	doc := p.t.alias + ".doc"
	var expr string
	if a.Attr.MultiValued {
		// "If the specified attribute is a multi-valued attribute, resources MUST be sorted
		// by the value of the primary attribute (see Section 2.4 of [RFC7643]), if any, or
		// else the first value in the list, if any."
		sub := ""
		if a.SubAttr != nil {
			sub = a.SubAttr.Name
		} else if a.Attr.Type == scim.TypeComplex {
			sub = "value"
			if v := a.Attr.Sub("value"); v != nil {
				leaf = v
			}
		}
		expr = s.d.PrimaryValue(doc, docPath(a), sub, leaf.Type)
	} else {
		path := docPath(a)
		if a.SubAttr != nil {
			path = append(path, a.SubAttr.Name)
		}
		expr = s.d.JSONValue(doc, path, leaf.Type)
	}
	zero, empty := "''", ""
	switch leaf.Type {
	case scim.TypeString, scim.TypeReference, scim.TypeDateTime, scim.TypeBinary:
		if !leaf.CaseExact && leaf.Type != scim.TypeDateTime && leaf.Type != scim.TypeBinary {
			expr = s.d.Fold(expr)
		}
		// An empty string is no value (RFC 7643 §2.5), as in filters.
		empty = " OR " + expr + " = ''"
	case scim.TypeBoolean:
		zero = "FALSE"
	default:
		zero = "0"
	}
	p.nullFlag = "CASE WHEN " + expr + " IS NULL" + empty + " THEN 1 ELSE 0 END"
	p.key = "COALESCE(" + expr + ", " + zero + ")"
	return nil
}

func firstSub(a *scim.Attribute) string {
	if len(a.SubAttributes) > 0 {
		return a.SubAttributes[0].Name
	}
	return "value"
}

// keyColumns are the sort key columns selected after a resource's own.
func (p *listPlan) keyColumns() string {
	n, k := "0", "NULL"
	if p.nullFlag != "" {
		n = p.nullFlag
	}
	if p.key != "" {
		k = p.key
	}
	return ", " + n + ", " + k
}

// orderBy orders by the sort key, then by creation (seq) so that the order is total and
// paging is stable; descending reverses all of it.
func (p *listPlan) orderBy() string {
	dir := ""
	if p.desc {
		dir = " DESC"
	}
	var parts []string
	if p.nullFlag != "" {
		parts = append(parts, p.nullFlag+dir)
	}
	if p.key != "" {
		parts = append(parts, p.key+dir)
	}
	parts = append(parts, p.t.alias+".seq"+dir)
	return " ORDER BY " + strings.Join(parts, ", ")
}

// position is a place in a list's order: the sort key of the last resource seen and its
// seq.
type position struct {
	Null int    `json:"n,omitempty"`
	Kind string `json:"t,omitempty"` // type of Key: s string, i integer, f float, b bool
	Key  any    `json:"k,omitempty"`
	Seq  int64  `json:"q"`
	// Query is the fingerprint of the query the position belongs to.
	Query string `json:"f"`
}

// after is the condition for the rows that follow pos in the plan's order.
func (p *listPlan) after(pos position) (string, []any) {
	op := " > "
	if p.desc {
		op = " < "
	}
	var cols, marks []string
	var args []any
	if p.nullFlag != "" {
		cols, marks, args = append(cols, p.nullFlag), append(marks, "?"), append(args, pos.Null)
	}
	if p.key != "" {
		cols, marks, args = append(cols, p.key), append(marks, "?"), append(args, pos.Key)
	}
	cols, marks, args = append(cols, p.t.alias+".seq"), append(marks, "?"), append(args, pos.Seq)
	if len(cols) == 1 {
		return cols[0] + op + "?", args
	}
	// Row values compare lexicographically in SQLite and PostgreSQL alike.
	return "(" + strings.Join(cols, ", ") + ")" + op + "(" + strings.Join(marks, ", ") + ")", args
}

func positionOf(seq int64, null int64, key any) position {
	pos := position{Seq: seq, Null: int(null)}
	switch k := key.(type) {
	case nil:
	case string:
		pos.Kind, pos.Key = "s", k
	case []byte:
		pos.Kind, pos.Key = "s", string(k)
	case int64:
		pos.Kind, pos.Key = "i", strconv.FormatInt(k, 10)
	case float64:
		pos.Kind, pos.Key = "f", strconv.FormatFloat(k, 'g', -1, 64)
	case bool:
		pos.Kind, pos.Key = "b", k
	default:
		pos.Kind, pos.Key = "s", fmt.Sprint(k)
	}
	return pos
}

// encodeCursor makes an RFC 9865 cursor: opaque, made of unreserved characters (RFC 3986
// §2.3) as the RFC requires. It names a position, not a server-side state, so it never
// expires and any instance can continue it.
func encodeCursor(pos position) string {
	b, _ := json.Marshal(pos)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(c, fingerprint string) (position, error) {
	var pos position
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err == nil {
		d := json.NewDecoder(strings.NewReader(string(b)))
		d.UseNumber()
		d.DisallowUnknownFields()
		if err = d.Decode(&pos); err == nil && d.More() {
			err = fmt.Errorf("trailing data")
		}
	}
	if err != nil || pos.Seq < 0 || (pos.Null != 0 && pos.Null != 1) {
		return pos, scim.BadRequest(scim.ErrInvalidCursor, "cursor %q is not one this server issued", c)
	}
	if pos.Query != fingerprint {
		// RFC 9865 §2: the next page's request repeats "all query parameters and values
		// being identical to the initial query with the exception of the cursor value".
		return pos, scim.BadRequest(scim.ErrInvalidCursor, "cursor belongs to a different query: repeat the filter, sortBy and sortOrder of the request that returned it")
	}
	switch pos.Kind {
	case "":
		pos.Key = nil
	case "s":
		// A NUL cannot come from a stored value, and PostgreSQL refuses it as a parameter.
		if k, ok := pos.Key.(string); !ok || strings.ContainsRune(k, 0) {
			return pos, scim.BadRequest(scim.ErrInvalidCursor, "cursor %q is malformed", c)
		}
	case "i", "f":
		s, _ := pos.Key.(string)
		if pos.Kind == "i" {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return pos, scim.BadRequest(scim.ErrInvalidCursor, "cursor %q is malformed", c)
			}
			pos.Key = n
		} else {
			f, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return pos, scim.BadRequest(scim.ErrInvalidCursor, "cursor %q is malformed", c)
			}
			pos.Key = f
		}
	case "b":
		if _, ok := pos.Key.(bool); !ok {
			return pos, scim.BadRequest(scim.ErrInvalidCursor, "cursor %q is malformed", c)
		}
	default:
		return pos, scim.BadRequest(scim.ErrInvalidCursor, "cursor %q is malformed", c)
	}
	return pos, nil
}

// positionCache remembers where pages of a tenant's unfiltered, unsorted list ended, so
// that the next page (the request every importing client makes) starts from the index
// instead of skipping startIndex rows with OFFSET, whose cost grows with the position.
// An entry is keyed by the list's generation, which every create and delete of that
// resource type in the tenant advances in the same transaction: an entry read under the
// same generation, in the same snapshot as the page, is exact.
type positionCache struct {
	mu sync.Mutex
	m  map[positionKey]int64
}

type positionKey struct {
	tenantID, resource string
	generation         int64
	offset             int
}

// maxCachedPositions bounds the cache; when full it starts over (a miss costs one OFFSET).
const maxCachedPositions = 4096

func (c *positionCache) get(k positionKey) (int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	seq, ok := c.m[k]
	return seq, ok
}

func (c *positionCache) put(k positionKey, seq int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCachedPositions {
		c.m = map[positionKey]int64{}
	}
	c.m[k] = seq
}

// resourceCounts reads the tenant's number of resources of one type and the generation of
// that set (creates plus deletes so far).
func resourceCounts(r runner, tenantID, resource string) (total, generation int64, err error) {
	var added, removed int64
	err = r.queryRow("SELECT COALESCE(SUM(added), 0), COALESCE(SUM(removed), 0) FROM resource_counts WHERE tenant_id = ? AND resource = ?",
		tenantID, resource).Scan(&added, &removed)
	if err != nil {
		return 0, 0, fmt.Errorf("read counts: %w", err)
	}
	return added - removed, added + removed, nil
}

// countChange records a create (+1) or delete (-1) in the write transaction. PostgreSQL
// spreads a tenant's counter over shards, so that concurrent creates do not all wait for
// one row's lock.
func (s *Store) countChange(r runner, tenantID, resource string, delta int) error {
	added, removed := 0, 0
	if delta > 0 {
		added = delta
	} else {
		removed = -delta
	}
	_, err := r.exec(`INSERT INTO resource_counts (tenant_id, resource, shard, added, removed) VALUES (?, ?, `+s.d.CounterShard()+`, ?, ?)
		ON CONFLICT (tenant_id, resource, shard) DO UPDATE SET added = resource_counts.added + excluded.added, removed = resource_counts.removed + excluded.removed`,
		tenantID, resource, added, removed)
	if err != nil {
		return fmt.Errorf("count %s: %w", resource, err)
	}
	return nil
}

// scanPage reads a page's rows with scanRow, keeping the first keep (a cursor page reads
// one more, which only tells that there is a next page); it returns how many rows there
// were and the position of the last one kept.
func scanPage(rows *sql.Rows, keep int, scanRow func() (position, error)) (int, position, error) {
	var last position
	read := 0
	for rows.Next() {
		read++
		if read > keep {
			continue
		}
		pos, err := scanRow()
		if err != nil {
			return 0, last, err
		}
		last = pos
	}
	return read, last, rows.Err()
}

// listResult is what list found besides the rows it scanned.
type listResult struct {
	total int
	next  string
}

// scanFunc reads the page's rows (each row's resource columns followed by its sort key, see
// scanResource), keeps the first keep of them and returns how many it read and the
// position of the last one kept.
type scanFunc func(r runner, rows *sql.Rows, keep int) (read int, last position, err error)

// list runs a list's page and count in one read snapshot. Unfiltered lists take their
// total from the tenant's counters; otherwise a page that is not full and starts within
// the results ends them, so its position gives the total, and only a full page needs a
// count(*): a filter that matches one user (userName eq, the lookup every identity
// provider makes before a create) then costs one query.
func (s *Store) list(ctx context.Context, t *resourceTable, rt *scim.ResourceType, resource, columnsSQL, tenantID string, q store.ListQuery, scan scanFunc) (listResult, error) {
	var res listResult
	p, err := s.planList(t, rt, tenantID, q)
	if err != nil {
		return res, err
	}
	var cursor *position
	fingerprint := ""
	if q.Cursor != nil {
		fingerprint = p.fingerprint()
		if *q.Cursor != "" {
			pos, err := decodeCursor(*q.Cursor, fingerprint)
			if err != nil {
				return res, err
			}
			cursor = &pos
		}
	}
	err = s.readTx(ctx, func(r runner) error {
		total, generation := int64(-1), int64(0)
		if p.counted() {
			var err error
			if total, generation, err = resourceCounts(r, tenantID, resource); err != nil {
				return err
			}
		}
		n := 0
		if q.Count > 0 {
			where, args := p.where, append([]any(nil), p.args...)
			offset := 0
			posKey := positionKey{tenantID: tenantID, resource: resource, generation: generation, offset: q.StartIndex - 1}
			switch {
			case q.Cursor != nil:
				if cursor != nil {
					cond, cargs := p.after(*cursor)
					where += " AND " + cond
					args = append(args, cargs...)
				}
			case p.counted() && !p.sorted && q.StartIndex > 1:
				if seq, ok := s.positions.get(posKey); ok {
					where += " AND " + t.alias + ".seq > ?"
					args = append(args, seq)
				} else {
					offset = q.StartIndex - 1
				}
			default:
				offset = q.StartIndex - 1
			}
			limit := q.Count
			if q.Cursor != nil {
				limit++ // one more tells whether there is a next page
			}
			if p.memberOf && q.Cursor != nil && q.Filter == nil && !p.sorted {
				after := int64(0)
				if cursor != nil {
					after = cursor.Seq
				}
				where, args = p.boundedMembers(where, args, after, limit)
			}
			page := columnsSQL + p.keyColumns() + t.from + " WHERE " + where + p.orderBy() + " LIMIT ? OFFSET ?"
			rows, err := r.query(page, append(args, limit, offset)...)
			if err != nil {
				return err
			}
			var last position
			n, last, err = scan(r, rows, q.Count)
			rows.Close()
			if err != nil {
				return err
			}
			if q.Cursor != nil && n > q.Count {
				n = q.Count
				last.Query = fingerprint
				res.next = encodeCursor(last)
			}
			if p.counted() && !p.sorted && q.Cursor == nil && n > 0 {
				posKey.offset += n
				s.positions.put(posKey, last.Seq)
			}
			if total < 0 && q.Cursor == nil && n > 0 && n < q.Count {
				total = int64(q.StartIndex - 1 + n)
			}
		}
		if total < 0 && !q.NoTotal {
			count := "SELECT count(*)" + t.from + " WHERE " + p.where
			if err := r.queryRow(count, p.args...).Scan(&total); err != nil {
				return fmt.Errorf("count: %w", err)
			}
		}
		res.total = int(total)
		return nil
	})
	return res, err
}

// ListSQL returns, in the backend's own SQL, the count and page queries that a list of
// "Users" or "Groups" with a resolved filter runs, with their arguments (the page query's
// LIMIT and OFFSET not included): for EXPLAIN in tests and when diagnosing a slow filter.
func (s *Store) ListSQL(resource, tenantID string, f scim.Filter) (count, page string, args []any, err error) {
	t, rt, sel := &usersTable, s.users, userColumnsSQL
	if resource == "Groups" {
		t, rt, sel = &groupsTable, s.groups, groupColumnsSQL
	}
	p, err := s.planList(t, rt, tenantID, store.ListQuery{Filter: f})
	if err != nil {
		return "", "", nil, err
	}
	count = "SELECT count(*)" + t.from + " WHERE " + p.where
	page = sel + p.keyColumns() + t.from + " WHERE " + p.where + p.orderBy() + " LIMIT ? OFFSET ?"
	return s.d.Rebind(count), s.d.Rebind(page), p.args, nil
}
