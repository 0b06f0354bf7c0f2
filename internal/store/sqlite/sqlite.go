// Package sqlite is scimd's embedded store: one SQLite file, no other service. Writes go
// through one writer that commits concurrent requests together (group commit).
package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"

	"modernc.org/sqlite"

	"github.com/scimd/scimd/internal/scim"
	"github.com/scimd/scimd/internal/store"
	"github.com/scimd/scimd/internal/store/sqlstore"
)

// maxBatch bounds how many requests share one commit.
const maxBatch = 256

// writer owns the single write connection and commits queued requests in batches.
type writer struct {
	db   *sql.DB
	jobs chan *writeJob
	stop chan struct{}
	done chan struct{}
}

type writeJob struct {
	ctx context.Context
	fn  func(tx *sql.Tx) error
	err chan error
}

var registerOnce sync.Once

// registerFunctions adds scim_fold, the case folding used for caseExact=false attributes,
// so that SQL compares exactly as the Go code that fills the indexed columns does.
func registerFunctions() error {
	var err error
	registerOnce.Do(func() {
		err = sqlite.RegisterDeterministicScalarFunction("scim_fold", 1, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
			switch v := args[0].(type) {
			case string:
				return store.Fold(v), nil
			case []byte:
				return store.Fold(string(v)), nil
			}
			return args[0], nil
		})
	})
	return err
}

// Open opens (creating if needed) the database file at path and migrates its schema.
func Open(ctx context.Context, path string) (*sqlstore.Store, error) {
	if err := registerFunctions(); err != nil {
		return nil, fmt.Errorf("register sqlite functions: %w", err)
	}
	q := url.Values{}
	// synchronous(FULL): a write is acknowledged only once it is on disk.
	// temp_store(MEMORY): each request's savepoint keeps its sub-journal in memory, not in a
	// temporary file written on every change.
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "synchronous(FULL)", "foreign_keys(ON)", "temp_store(MEMORY)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	writeDB, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	writeDB.SetMaxOpenConns(1)
	writeDB.SetMaxIdleConns(1)
	writeDB.SetConnMaxLifetime(0)
	if err := migrate(ctx, writeDB); err != nil {
		writeDB.Close()
		return nil, err
	}
	rq := url.Values{}
	// Four readers of 4 MiB page cache each: enough for two cores, and the server stays
	// far under 150 MB resident with a million users stored (the OS page cache holds the
	// rest of the file).
	for _, p := range []string{"busy_timeout(10000)", "query_only(1)", "cache_size(-4000)"} {
		rq.Add("_pragma", p)
	}
	readDB, err := sql.Open("sqlite", "file:"+path+"?"+rq.Encode())
	if err != nil {
		writeDB.Close()
		return nil, fmt.Errorf("open %s for reading: %w", path, err)
	}
	readDB.SetMaxOpenConns(4)
	readDB.SetMaxIdleConns(4)
	w := &writer{db: writeDB, jobs: make(chan *writeJob, maxBatch), stop: make(chan struct{}), done: make(chan struct{})}
	go w.run()
	st := sqlstore.New(sqlstore.Config{
		Read: readDB, WriteDB: writeDB, Write: w.write, Dialect: dialect{}, CacheStatements: true,
		Ready:         func(ctx context.Context) error { return schemaCurrent(ctx, readDB) },
		NumberInWrite: true,
		Close: func() error {
			close(w.stop)
			<-w.done
			return errors.Join(readDB.Close(), writeDB.Close())
		},
	})
	// Events written by an earlier build, which numbered them after commit, are numbered
	// before any write numbers its own, so that the feed keeps the order they were written.
	for {
		n, err := st.SequenceEvents(ctx)
		if err != nil {
			st.Close()
			return nil, err
		}
		if n == 0 {
			break
		}
	}
	return st, nil
}

// write runs fn in a write transaction and returns once that transaction is committed.
// fn runs inside a savepoint, so several requests share one transaction and one fsync
// while each still applies whole or not at all: a request whose fn fails is rolled back
// to its savepoint alone.
func (w *writer) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	job := &writeJob{ctx: ctx, fn: fn, err: make(chan error, 1)}
	select {
	case w.jobs <- job:
	case <-ctx.Done():
		return ctx.Err()
	case <-w.stop:
		return errors.New("store is closed")
	}
	// Wait for the outcome even if ctx ends: the job may already be committed. A job
	// queued as the store closed, after the writer's last drain, never runs: the writer's
	// end says so, rather than leaving the caller waiting for ever.
	select {
	case err := <-job.err:
		return err
	case <-w.done:
		select {
		case err := <-job.err:
			return err
		default:
			return errors.New("store is closed")
		}
	}
}

func (w *writer) run() {
	defer close(w.done)
	for {
		var first *writeJob
		select {
		case first = <-w.jobs:
		case <-w.stop:
			for {
				select {
				case j := <-w.jobs:
					w.runBatch([]*writeJob{j})
				default:
					return
				}
			}
		}
		batch := []*writeJob{first}
	fill:
		for len(batch) < maxBatch {
			select {
			case j := <-w.jobs:
				batch = append(batch, j)
			default:
				break fill
			}
		}
		w.runBatch(batch)
	}
}

func (w *writer) runBatch(batch []*writeJob) {
	ctx := context.Background()
	fail := func(err error) {
		for _, j := range batch {
			j.err <- err
		}
	}
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		fail(fmt.Errorf("begin transaction: %w", err))
		return
	}
	results := make([]error, len(batch))
	for i, j := range batch {
		if err := j.ctx.Err(); err != nil {
			results[i] = err
			continue
		}
		if _, err := tx.ExecContext(ctx, "SAVEPOINT req"); err != nil {
			tx.Rollback()
			fail(fmt.Errorf("savepoint: %w", err))
			return
		}
		results[i] = safeRun(j.fn, tx)
		if results[i] != nil {
			if _, err := tx.ExecContext(ctx, "ROLLBACK TO req"); err != nil {
				// The transaction can no longer be trusted: fail the whole batch.
				tx.Rollback()
				fail(fmt.Errorf("rollback to savepoint: %w", err))
				return
			}
		}
		if _, err := tx.ExecContext(ctx, "RELEASE req"); err != nil {
			tx.Rollback()
			fail(fmt.Errorf("release savepoint: %w", err))
			return
		}
	}
	if err := tx.Commit(); err != nil {
		fail(fmt.Errorf("commit: %w", err))
		return
	}
	for i, j := range batch {
		j.err <- results[i]
	}
}

// safeRun turns a panic in a request's change into that request's error, so that one bad
// request cannot take down the writer and every request queued behind it.
func safeRun(fn func(*sql.Tx) error, tx *sql.Tx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("internal error in write: %v", r)
		}
	}()
	return fn(tx)
}

// schemaCurrent checks that the file answers and carries the schema this build migrates
// to: another instance of a newer build may have migrated it further.
func schemaCurrent(ctx context.Context, db *sql.DB) error {
	var version int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if version != len(migrations) {
		return fmt.Errorf("schema version is %d, this build expects %d", version, len(migrations))
	}
	return nil
}

func migrate(ctx context.Context, db *sql.DB) error {
	var version int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	for i := version; i < len(migrations); i++ {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		for _, stmt := range strings.Split(migrations[i], ";\n") {
			if strings.TrimSpace(stmt) == "" {
				continue
			}
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				tx.Rollback()
				return fmt.Errorf("migration %d: %w", i+1, err)
			}
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", i+1)); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
	}
	return nil
}

// dialect is SQLite's SQL.
type dialect struct{}

func (dialect) Rebind(q string) string { return q }

func jsonPath(path []string) string {
	var b strings.Builder
	b.WriteString("$")
	for _, p := range path {
		b.WriteString(`."` + strings.ReplaceAll(p, `"`, `\"`) + `"`)
	}
	return "'" + strings.ReplaceAll(b.String(), "'", "''") + "'"
}

func (dialect) JSONValue(doc string, path []string, _ scim.AttrType) string {
	if len(path) == 0 {
		return doc
	}
	return "json_extract(" + doc + ", " + jsonPath(path) + ")"
}

func (dialect) JSONElements(doc string, path []string) string {
	return "json_each(" + doc + ", " + jsonPath(path) + ") AS j"
}

// PrimaryValue picks the element whose primary is true, else the first (json_each yields
// elements in array order, key being the index).
func (dialect) PrimaryValue(doc string, path []string, sub string, _ scim.AttrType) string {
	v := "p.value"
	if sub != "" {
		v = "json_extract(p.value, " + jsonPath([]string{sub}) + ")"
	}
	return "(SELECT " + v + " FROM json_each(" + doc + ", " + jsonPath(path) + ") AS p ORDER BY json_extract(p.value, '$.primary') IS 1 DESC, p.key LIMIT 1)"
}

func (dialect) GroupsJSON() string {
	return `(SELECT json_group_array(json_array(g.id, g.display_name) ORDER BY g.display_name_fold, g.seq)
		FROM group_members m JOIN groups g ON g.seq = m.group_seq WHERE m.tenant_id = u.tenant_id AND m.user_seq = u.seq)`
}

func (dialect) RolesJSON() string {
	return `(SELECT json_group_array(r.role ORDER BY r.rank) FROM user_roles r WHERE r.tenant_id = u.tenant_id AND r.user_seq = u.seq)`
}

// TryTxLock always succeeds: the single writer already serializes every transaction.
func (dialect) TryTxLock() string { return "SELECT ? IS NOT NULL" }

// TxLock is not needed: the single writer already serializes every transaction.
func (dialect) TxLock(bool) string { return "" }

// SkipLocked is not needed: the single writer serializes every transaction.
func (dialect) SkipLocked(string) string { return "" }

// CounterShard is always the same row: the single writer never waits for a lock.
func (dialect) CounterShard() string { return "0" }

func (dialect) Fold(expr string) string     { return "scim_fold(" + expr + ")" }
func (dialect) Contains(expr string) string { return "instr(" + expr + ", ?) > 0" }
func (dialect) EndsWith(expr string) string { return "substr(" + expr + ", -length(?)) = ?" }
func (dialect) ForUpdate() string           { return "" } // the single writer serializes

func (dialect) IsForeignKeyViolation(err error) bool {
	return err != nil && strings.Contains(err.Error(), "FOREIGN KEY constraint failed")
}

func (dialect) IsUniqueViolation(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// migrations are applied in order; never edit one that has shipped, add another. The
// tenant id leads every index.
var migrations = []string{`
CREATE TABLE tenants (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL UNIQUE,
	created INTEGER NOT NULL
);
CREATE TABLE credentials (
	id TEXT PRIMARY KEY,
	tenant_id TEXT NOT NULL REFERENCES tenants(id),
	secret_hash BLOB NOT NULL,
	created INTEGER NOT NULL,
	revoked INTEGER
);
CREATE INDEX credentials_tenant ON credentials(tenant_id);
CREATE TABLE users (
	seq INTEGER PRIMARY KEY,
	tenant_id TEXT NOT NULL REFERENCES tenants(id),
	id TEXT NOT NULL,
	user_name TEXT NOT NULL,
	user_name_fold TEXT NOT NULL,
	external_id TEXT,
	active INTEGER NOT NULL,
	created INTEGER NOT NULL,
	modified INTEGER NOT NULL,
	version INTEGER NOT NULL,
	doc TEXT NOT NULL
);
CREATE UNIQUE INDEX users_id ON users(tenant_id, id);
CREATE UNIQUE INDEX users_name ON users(tenant_id, user_name_fold);
CREATE INDEX users_external ON users(tenant_id, external_id);
CREATE INDEX users_tenant ON users(tenant_id);
CREATE TABLE user_emails (
	tenant_id TEXT NOT NULL,
	value_fold TEXT NOT NULL,
	user_seq INTEGER NOT NULL REFERENCES users(seq) ON DELETE CASCADE,
	PRIMARY KEY (tenant_id, value_fold, user_seq)
) WITHOUT ROWID;
CREATE INDEX user_emails_user ON user_emails(user_seq);
CREATE TABLE groups (
	seq INTEGER PRIMARY KEY,
	tenant_id TEXT NOT NULL REFERENCES tenants(id),
	id TEXT NOT NULL,
	display_name TEXT NOT NULL,
	display_name_fold TEXT NOT NULL,
	external_id TEXT,
	created INTEGER NOT NULL,
	modified INTEGER NOT NULL,
	version INTEGER NOT NULL,
	doc TEXT NOT NULL
);
CREATE UNIQUE INDEX groups_id ON groups(tenant_id, id);
CREATE UNIQUE INDEX groups_name ON groups(tenant_id, display_name_fold);
CREATE INDEX groups_external ON groups(tenant_id, external_id);
CREATE INDEX groups_tenant ON groups(tenant_id);
CREATE TABLE group_members (
	tenant_id TEXT NOT NULL,
	group_seq INTEGER NOT NULL REFERENCES groups(seq) ON DELETE CASCADE,
	user_seq INTEGER NOT NULL REFERENCES users(seq) ON DELETE CASCADE,
	PRIMARY KEY (tenant_id, group_seq, user_seq)
) WITHOUT ROWID;
CREATE INDEX group_members_user ON group_members(tenant_id, user_seq, group_seq);
`, `
CREATE TABLE resource_counts (
	tenant_id TEXT NOT NULL,
	resource TEXT NOT NULL,
	shard INTEGER NOT NULL,
	added INTEGER NOT NULL,
	removed INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, resource, shard)
) WITHOUT ROWID;
INSERT INTO resource_counts (tenant_id, resource, shard, added, removed)
	SELECT tenant_id, 'User', 0, count(*), 0 FROM users GROUP BY tenant_id;
INSERT INTO resource_counts (tenant_id, resource, shard, added, removed)
	SELECT tenant_id, 'Group', 0, count(*), 0 FROM groups GROUP BY tenant_id;
`, `
ALTER TABLE tenants ADD COLUMN external_ref TEXT;
ALTER TABLE tenants ADD COLUMN updated INTEGER;
ALTER TABLE tenants ADD COLUMN disabled INTEGER;
UPDATE tenants SET updated = created;
CREATE UNIQUE INDEX tenants_external_ref ON tenants(external_ref);
ALTER TABLE credentials ADD COLUMN previous_hash BLOB;
ALTER TABLE credentials ADD COLUMN previous_expires INTEGER;
ALTER TABLE credentials ADD COLUMN rotated INTEGER;
ALTER TABLE credentials ADD COLUMN last_used INTEGER;
ALTER TABLE credentials ADD COLUMN last_client TEXT;
CREATE TABLE api_keys (
	id TEXT PRIMARY KEY,
	tenant_id TEXT REFERENCES tenants(id),
	scope TEXT NOT NULL,
	name TEXT NOT NULL,
	secret_hash BLOB NOT NULL,
	created INTEGER NOT NULL,
	revoked INTEGER,
	last_used INTEGER
);
CREATE INDEX api_keys_tenant ON api_keys(tenant_id);
CREATE INDEX users_modified ON users(tenant_id, modified, seq);
`, `
CREATE TABLE activity (
	seq INTEGER PRIMARY KEY,
	tenant_id TEXT NOT NULL,
	at INTEGER NOT NULL,
	request_id TEXT NOT NULL,
	credential_id TEXT NOT NULL,
	client TEXT NOT NULL,
	method TEXT NOT NULL,
	path TEXT NOT NULL,
	status INTEGER NOT NULL,
	latency_us INTEGER NOT NULL,
	scim_type TEXT NOT NULL,
	detail TEXT NOT NULL,
	resource_type TEXT NOT NULL,
	resource_id TEXT NOT NULL,
	request_body TEXT NOT NULL,
	response_body TEXT NOT NULL
);
CREATE INDEX activity_tenant ON activity(tenant_id, seq);
CREATE INDEX activity_age ON activity(at);
CREATE INDEX activity_resource ON activity(tenant_id, resource_id, seq) WHERE resource_id <> '';
CREATE INDEX activity_errors ON activity(tenant_id, seq) WHERE status >= 400;
CREATE TABLE setup_links (
	token_hash BLOB PRIMARY KEY,
	tenant_id TEXT NOT NULL REFERENCES tenants(id),
	created INTEGER NOT NULL,
	expires INTEGER NOT NULL
);
CREATE INDEX setup_links_tenant ON setup_links(tenant_id);
`, `
CREATE TABLE event_counters (
	tenant_id TEXT PRIMARY KEY,
	last_seq INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE events (
	num INTEGER PRIMARY KEY,
	id TEXT NOT NULL,
	tenant_id TEXT NOT NULL,
	seq INTEGER,
	pos INTEGER,
	type TEXT NOT NULL,
	time INTEGER NOT NULL,
	data TEXT NOT NULL
);
CREATE UNIQUE INDEX events_id ON events(id);
CREATE UNIQUE INDEX events_tenant_seq ON events(tenant_id, seq);
CREATE UNIQUE INDEX events_pos ON events(pos) WHERE pos IS NOT NULL;
CREATE INDEX events_unpositioned ON events(num) WHERE pos IS NULL;
CREATE INDEX events_time ON events(time);
CREATE TABLE webhook_endpoints (
	id TEXT PRIMARY KEY,
	tenant_id TEXT,
	url TEXT NOT NULL,
	secret TEXT NOT NULL,
	previous_secret TEXT,
	previous_expires INTEGER,
	types TEXT NOT NULL,
	format TEXT NOT NULL,
	created INTEGER NOT NULL,
	disabled INTEGER,
	disabled_reason TEXT,
	failing_since INTEGER
);
CREATE INDEX webhook_endpoints_tenant ON webhook_endpoints(tenant_id);
CREATE TABLE webhook_cursors (
	endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
	tenant_id TEXT NOT NULL,
	last_seq INTEGER NOT NULL,
	attempts INTEGER NOT NULL DEFAULT 0,
	next_attempt INTEGER NOT NULL DEFAULT 0,
	lease_owner TEXT,
	lease_until INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (endpoint_id, tenant_id)
);
CREATE INDEX webhook_cursors_tenant ON webhook_cursors(tenant_id);
CREATE TABLE webhook_deliveries (
	num INTEGER PRIMARY KEY,
	endpoint_id TEXT NOT NULL,
	tenant_id TEXT NOT NULL,
	event_id TEXT NOT NULL,
	seq INTEGER NOT NULL,
	attempt INTEGER NOT NULL,
	at INTEGER NOT NULL,
	status INTEGER NOT NULL,
	latency_us INTEGER NOT NULL,
	response TEXT NOT NULL,
	error TEXT NOT NULL
);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries(endpoint_id, num);
CREATE INDEX webhook_deliveries_tenant ON webhook_deliveries(tenant_id);
CREATE TABLE signing_keys (
	name TEXT PRIMARY KEY,
	private_der BLOB NOT NULL,
	created INTEGER NOT NULL
);
`, `
CREATE TABLE role_configs (
	tenant_id TEXT PRIMARY KEY,
	config TEXT NOT NULL,
	updated INTEGER NOT NULL
);
CREATE TABLE user_roles (
	tenant_id TEXT NOT NULL,
	user_seq INTEGER NOT NULL REFERENCES users(seq) ON DELETE CASCADE,
	role TEXT NOT NULL,
	role_fold TEXT NOT NULL,
	rank INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, user_seq, role)
) WITHOUT ROWID;
CREATE INDEX user_roles_role ON user_roles(tenant_id, role, user_seq);
INSERT INTO user_roles (tenant_id, user_seq, role, role_fold, rank)
	SELECT m.tenant_id, m.user_seq, g.display_name, g.display_name_fold,
		row_number() OVER (PARTITION BY m.user_seq ORDER BY g.display_name_fold, g.seq)
	FROM group_members m JOIN groups g ON g.seq = m.group_seq JOIN users u ON u.seq = m.user_seq WHERE u.active <> 0;
`}

// Backup writes a consistent copy of the database at path to dst (which must not exist),
// while servers keep using it: VACUUM INTO reads one snapshot of the file in a read
// transaction, so concurrent writes neither block it nor show in the copy half-done.
func Backup(ctx context.Context, path, dst string) error {
	if _, err := os.Stat(dst); err == nil {
		return fmt.Errorf("backup: %s exists; choose a new file", dst)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&mode=ro")
	if err != nil {
		return fmt.Errorf("backup: open %s: %w", path, err)
	}
	defer db.Close()
	if err := checkScimdFile(ctx, db); err != nil {
		return fmt.Errorf("backup: %s: %w", path, err)
	}
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", dst); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	return nil
}

// Restore makes path (which must not exist) a copy of the backup src, after checking
// that src is an intact scimd database of a schema this build knows.
func Restore(ctx context.Context, src, path string) error {
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("restore: %s exists; stop the server and move it away first", path)
	}
	db, err := sql.Open("sqlite", "file:"+src+"?mode=ro")
	if err != nil {
		return fmt.Errorf("restore: open %s: %w", src, err)
	}
	defer db.Close()
	if err := checkScimdFile(ctx, db); err != nil {
		return fmt.Errorf("restore: %s: %w", src, err)
	}
	var ok string
	if err := db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&ok); err != nil || ok != "ok" {
		return fmt.Errorf("restore: %s fails its integrity check (%s, %v)", src, ok, err)
	}
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", path); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	return nil
}

// checkScimdFile refuses a file that is not a scimd database, or one of a newer schema.
func checkScimdFile(ctx context.Context, db *sql.DB) error {
	var version, tables int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("not a SQLite database: %w", err)
	}
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('tenants', 'users', 'groups')").Scan(&tables); err != nil {
		return fmt.Errorf("not a SQLite database: %w", err)
	}
	if tables != 3 || version == 0 {
		return errors.New("not a scimd database")
	}
	if version > len(migrations) {
		return fmt.Errorf("its schema (version %d) is newer than this scimd knows (%d)", version, len(migrations))
	}
	return nil
}
