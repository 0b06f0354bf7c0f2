// Package sqlstore implements store.Store over database/sql for every SQL backend; a
// Dialect supplies what differs between SQLite and PostgreSQL.
package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/scimd/scimd/internal/scim"
	"github.com/scimd/scimd/internal/store"
)

// Dialect is what differs between SQL backends.
type Dialect interface {
	// Rebind turns the ? placeholders of a query into the backend's own.
	Rebind(query string) string
	// JSONValue is an expression for the attribute at path inside a JSON document
	// expression, typed for comparison with a parameter of attribute type t.
	JSONValue(doc string, path []string, t scim.AttrType) string
	// JSONElements is a FROM item that yields the elements of the array at path as rows
	// of one column named value, under the alias j.
	JSONElements(doc string, path []string) string
	// Fold applies store.Fold to a text expression.
	Fold(expr string) string
	// Contains compares a text expression with one text parameter ("?"); EndsWith with
	// the same parameter given twice (its length, then its text).
	Contains(expr string) string
	EndsWith(expr string) string
	// ForUpdate is appended to a SELECT that reads a row the transaction will change.
	ForUpdate() string
	// IsUniqueViolation reports whether err is a unique-constraint violation.
	IsUniqueViolation(err error) bool
	// IsForeignKeyViolation reports whether err is a foreign-key violation.
	IsForeignKeyViolation(err error) bool
	// PrimaryValue is an expression for the sub-attribute sub ("" for a multi-valued
	// attribute of simple values) of the element of the array at path whose "primary" is
	// true, or else of its first element, typed as JSONValue types it.
	PrimaryValue(doc string, path []string, sub string, t scim.AttrType) string
	// GroupsJSON is an expression for the groups of the user row u as a JSON array of
	// [id, displayName] pairs in userGroups' order, so that a user and its groups are one
	// query.
	GroupsJSON() string
	// RolesJSON is an expression for the roles of the user row u as a JSON array of
	// names in their order.
	RolesJSON() string
	// TryTxLock is a single-row query that takes an exclusive lock named by its one
	// integer parameter until the transaction ends, returning whether it got it (true at
	// once where one writer serializes every transaction).
	TryTxLock() string
	// TxLock is a query that waits for a lock named by its one integer parameter, held
	// until the transaction ends: shared or exclusive ("" where one writer serializes
	// every transaction).
	TxLock(shared bool) string
	// SkipLocked is appended to a SELECT (in a subquery of an UPDATE) that picks rows of
	// table alias to change, so that concurrent transactions pick different rows ("" where
	// one writer serializes every transaction).
	SkipLocked(alias string) string
	// CounterShard is an SQL expression for the row of a tenant's resource counter that a
	// write transaction updates (counters are spread over rows so that concurrent writers
	// need not wait for one row's lock).
	CounterShard() string
}

// WriteFunc runs fn in a write transaction, committed before it returns nil. SQLite shares
// one transaction among concurrent requests (each in its own savepoint); PostgreSQL gives
// each request its own and retries serialization failures.
type WriteFunc func(ctx context.Context, fn func(tx *sql.Tx) error) error

// Store is the shared SQL implementation of store.Store.
type Store struct {
	read    *sql.DB
	writeDB *sql.DB
	write   WriteFunc
	d       Dialect
	users   *scim.ResourceType
	groups  *scim.ResourceType
	now     func() time.Time
	closeFn func() error
	ready   func(ctx context.Context) error
	// readIsolation is the isolation of read transactions: one that gives a snapshot.
	readIsolation sql.IsolationLevel
	positions     positionCache
	credentials   credentialCache
	// written is signalled when this process commits events (the sequencer waits on it),
	// numbered when it gives events their numbers (readers wait on that: they see
	// numbered events only, so a commit alone would wake them for nothing).
	written, numbered signal

	// numberInWrite: a write numbers its own events (see the outbox's comment).
	numberInWrite bool

	cacheStmts bool
	stmtMu     sync.Mutex
	stmts      map[stmtKey]*sql.Stmt
	preparing  map[stmtKey]bool
	prepWG     sync.WaitGroup
	closed     bool
}

type stmtKey struct {
	db    *sql.DB
	query string
}

var _ store.Store = (*Store)(nil)

// Config assembles a Store.
type Config struct {
	Read    *sql.DB
	Write   WriteFunc
	Dialect Dialect
	// WriteDB is the database that Write's transactions belong to (for prepared statements).
	WriteDB *sql.DB
	Close   func() error
	// CacheStatements keeps the fixed queries prepared (for drivers without a statement
	// cache of their own).
	CacheStatements bool
	// ReadIsolation is the isolation level that makes a read transaction one snapshot
	// (sql.LevelDefault where every transaction is one).
	ReadIsolation sql.IsolationLevel
	// Ready checks that the database answers and its schema is current (a ping when nil).
	Ready func(ctx context.Context) error
	// NumberInWrite makes each write number its own events, for a backend whose one
	// writer commits transactions in the order they run (SQLite); elsewhere a sequencer
	// numbers them after commit.
	NumberInWrite bool
}

// New builds a Store.
func New(cfg Config) *Store {
	return &Store{
		read: cfg.Read, writeDB: cfg.WriteDB, write: cfg.Write, d: cfg.Dialect, closeFn: cfg.Close, ready: cfg.Ready,
		users: scim.NewUserResourceType(), groups: scim.NewGroupResourceType(),
		now:   func() time.Time { return time.Now().UTC() },
		stmts: map[stmtKey]*sql.Stmt{}, preparing: map[stmtKey]bool{},
		cacheStmts: cfg.CacheStatements, readIsolation: cfg.ReadIsolation, numberInWrite: cfg.NumberInWrite,
	}
}

// Close closes the backend.
func (s *Store) Close() error {
	s.stmtMu.Lock()
	s.closed = true
	s.stmtMu.Unlock()
	s.prepWG.Wait()
	s.stmtMu.Lock()
	for _, st := range s.stmts {
		st.Close()
	}
	s.stmts = map[stmtKey]*sql.Stmt{}
	s.stmtMu.Unlock()
	return s.closeFn()
}

// runner runs the store's fixed queries as prepared statements, re-used across requests
// (SQLite spends a large share of a simple request parsing SQL otherwise). Queries built
// from filters are not cached: their number is unbounded.
type runner struct {
	s   *Store
	ctx context.Context
	db  *sql.DB // the database the statements are prepared on
	tx  *sql.Tx // nil outside a transaction
	// events collects the events of a write transaction (nil outside one).
	events *[]pendingEvent
}

func (s *Store) readRunner(ctx context.Context, tx *sql.Tx) runner {
	return runner{s: s, ctx: ctx, db: s.read, tx: tx}
}

// maxCachedStmts bounds the prepared statements kept per store.
const maxCachedStmts = 512

// cachedStmt returns the prepared statement for a fixed query, or nil the first time:
// then it prepares the statement in the background and the caller runs the query
// unprepared. Preparing in the caller could deadlock: it needs a pooled connection, and
// every connection may belong to a transaction waiting for this one.
func (s *Store) cachedStmt(db *sql.DB, query string) *sql.Stmt {
	if !s.cacheStmts {
		return nil
	}
	key := stmtKey{db, query}
	s.stmtMu.Lock()
	defer s.stmtMu.Unlock()
	if st, ok := s.stmts[key]; ok {
		return st
	}
	// Filters make queries of many shapes: keep the cache bounded, and run the rest
	// unprepared.
	if s.preparing[key] || s.closed || len(s.stmts)+len(s.preparing) >= maxCachedStmts {
		return nil
	}
	s.preparing[key] = true
	s.prepWG.Add(1)
	go func() {
		defer s.prepWG.Done()
		st, err := db.PrepareContext(context.Background(), s.d.Rebind(query))
		s.stmtMu.Lock()
		defer s.stmtMu.Unlock()
		delete(s.preparing, key)
		if err != nil || s.closed {
			if st != nil {
				st.Close()
			}
			return
		}
		s.stmts[key] = st
	}()
	return nil
}

func (r runner) prepared(query string) *sql.Stmt {
	st := r.s.cachedStmt(r.db, query)
	if st != nil && r.tx != nil {
		return r.tx.StmtContext(r.ctx, st)
	}
	return st
}

// exec runs a fixed statement.
func (r runner) exec(query string, args ...any) (sql.Result, error) {
	if st := r.prepared(query); st != nil {
		return st.ExecContext(r.ctx, args...)
	}
	return r.dynExec(query, args...)
}

// row is a single-row result whose preparation may have failed.
type row struct {
	row *sql.Row
	err error
}

func (r row) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	return r.row.Scan(dest...)
}

// queryRow runs a fixed single-row query.
func (r runner) queryRow(query string, args ...any) row {
	if st := r.prepared(query); st != nil {
		return row{row: st.QueryRowContext(r.ctx, args...)}
	}
	return r.dynRow(query, args...)
}

// query runs a fixed query.
func (r runner) query(query string, args ...any) (*sql.Rows, error) {
	if st := r.prepared(query); st != nil {
		return st.QueryContext(r.ctx, args...)
	}
	return r.dynQuery(query, args...)
}

// dynQuery runs a query built at run time (a filter, an IN list), unprepared.
func (r runner) dynQuery(query string, args ...any) (*sql.Rows, error) {
	if r.tx != nil {
		return r.tx.QueryContext(r.ctx, r.s.d.Rebind(query), args...)
	}
	return r.db.QueryContext(r.ctx, r.s.d.Rebind(query), args...)
}

func (r runner) dynRow(query string, args ...any) row {
	if r.tx != nil {
		return row{row: r.tx.QueryRowContext(r.ctx, r.s.d.Rebind(query), args...)}
	}
	return row{row: r.db.QueryRowContext(r.ctx, r.s.d.Rebind(query), args...)}
}

func (r runner) dynExec(query string, args ...any) (sql.Result, error) {
	if r.tx != nil {
		return r.tx.ExecContext(r.ctx, r.s.d.Rebind(query), args...)
	}
	return r.db.ExecContext(r.ctx, r.s.d.Rebind(query), args...)
}

// inWrite runs fn in a write transaction: the one place where scimd changes data. The
// events fn emits are written at the end of the same transaction.
func (s *Store) inWrite(ctx context.Context, fn func(r runner) error) error {
	wrote := false
	err := s.write(ctx, func(tx *sql.Tx) error {
		// A retried transaction starts again with no events.
		var pending []pendingEvent
		r := runner{s: s, ctx: ctx, db: s.writeDB, tx: tx, events: &pending}
		if err := fn(r); err != nil {
			return err
		}
		wrote = len(pending) > 0
		if !wrote {
			return nil
		}
		return s.writeEvents(r, pending)
	})
	if err == nil && wrote {
		s.written.fire()
		if s.numberInWrite {
			s.numbered.fire()
		}
	}
	return err
}

// readTx runs fn in a read-only transaction, so that a count and a page see one snapshot.
func (s *Store) readTx(ctx context.Context, fn func(r runner) error) error {
	tx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true, Isolation: s.readIsolation})
	if err != nil {
		return fmt.Errorf("begin read: %w", err)
	}
	defer tx.Rollback()
	return fn(s.readRunner(ctx, tx))
}

// plausibleID reports whether id could name a row: ids are generated by the server
// (store.NewID, credential ids), so one that is not UTF-8, holds a NUL or is long names
// nothing. Looking it up anyway would make PostgreSQL fail (SQLSTATE 22021) where SQLite
// finds nothing: the caller answers "not found" without asking.
func plausibleID(id string) bool {
	return len(id) <= maxIDBytes && utf8.ValidString(id) && !strings.ContainsRune(id, 0)
}

// maxIDBytes is longer than any id the server issues.
const maxIDBytes = 128

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}
