// Package postgres is scimd's PostgreSQL store, for deployments that run several stateless
// scimd instances against one database. Consistency is enforced by the database alone.
package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/scimd/scimd/internal/scim"
	"github.com/scimd/scimd/internal/store/sqlstore"
)

// DefaultMaxConns is the pool size when the URL does not set pool_max_conns.
const DefaultMaxConns = 16

// IsURL reports whether a --db value names a PostgreSQL database.
func IsURL(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Open connects to the database named by a postgres:// URL and migrates its schema. The
// URL may carry pool_max_conns (the connection pool's size); other parameters are
// PostgreSQL's own (sslmode, search_path, …).
func Open(ctx context.Context, dsn string) (*sqlstore.Store, error) {
	maxConns := DefaultMaxConns
	u, err := url.Parse(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse database URL: %w", err)
	}
	q := u.Query()
	if v := q.Get("pool_max_conns"); v != "" {
		if maxConns, err = strconv.Atoi(v); err != nil || maxConns < 1 {
			return nil, fmt.Errorf("pool_max_conns must be a positive integer, got %q", v)
		}
		q.Del("pool_max_conns")
		u.RawQuery = q.Encode()
	}
	cfg, err := pgx.ParseConfig(u.String())
	if err != nil {
		return nil, fmt.Errorf("parse database URL: %w", err)
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	if err := migrate(ctx, db); err != nil {
		db.Close()
		return nil, err
	}
	return sqlstore.New(sqlstore.Config{
		Read: db, WriteDB: db, Dialect: dialect{}, ReadIsolation: sql.LevelRepeatableRead,
		Write: func(ctx context.Context, fn func(*sql.Tx) error) error { return inTx(ctx, db, fn) },
		Close: db.Close,
		Ready: func(ctx context.Context) error { return schemaCurrent(ctx, db) },
	}), nil
}

// inTx runs fn in its own transaction, retrying when PostgreSQL reports a serialization
// failure or a deadlock (the transaction had no effect, so running it again is safe).
func inTx(ctx context.Context, db *sql.DB, fn func(*sql.Tx) error) error {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		err = tryTx(ctx, db, fn)
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && (pgErr.Code == "40001" || pgErr.Code == "40P01") {
			time.Sleep(time.Duration(attempt+1) * 5 * time.Millisecond)
			continue
		}
		return err
	}
	return err
}

func tryTx(ctx context.Context, db *sql.DB, fn func(*sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// migrationLock is the advisory lock key that serializes migrations when several instances
// start at once.
const migrationLock = 0x5c1d0001

// schemaCurrent checks that the database answers and carries the schema this build
// migrates to: another instance of a newer build may have migrated it further.
func schemaCurrent(ctx context.Context, db *sql.DB) error {
	var version int
	if err := db.QueryRowContext(ctx, "SELECT version FROM scimd_schema_version").Scan(&version); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if version != len(migrations) {
		return fmt.Errorf("schema version is %d, this build expects %d", version, len(migrations))
	}
	return nil
}

func migrate(ctx context.Context, db *sql.DB) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", migrationLock); err != nil {
		return fmt.Errorf("migrate: take advisory lock: %w", err)
	}
	defer conn.ExecContext(context.Background(), "SELECT pg_advisory_unlock($1)", migrationLock)
	if _, err := conn.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS scimd_schema_version (version INTEGER NOT NULL)"); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	var version int
	err = conn.QueryRowContext(ctx, "SELECT version FROM scimd_schema_version").Scan(&version)
	if errors.Is(err, sql.ErrNoRows) {
		if _, err := conn.ExecContext(ctx, "INSERT INTO scimd_schema_version (version) VALUES (0)"); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
	} else if err != nil {
		return fmt.Errorf("migrate: read version: %w", err)
	}
	for i := version; i < len(migrations); i++ {
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
		if _, err := tx.ExecContext(ctx, "UPDATE scimd_schema_version SET version = $1", i+1); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
	}
	return nil
}

// migrations are applied in order; never edit one that has shipped, add another. Text that
// is compared or indexed uses the "C" collation: bytewise, like SQLite, so that ranges
// ("sw") use the indexes and both stores order alike. The tenant id leads every index.
var migrations = []string{`
CREATE TABLE tenants (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL UNIQUE,
	created BIGINT NOT NULL
);
CREATE TABLE credentials (
	id TEXT PRIMARY KEY,
	tenant_id TEXT NOT NULL REFERENCES tenants(id),
	secret_hash BYTEA NOT NULL,
	created BIGINT NOT NULL,
	revoked BIGINT
);
CREATE INDEX credentials_tenant ON credentials(tenant_id);
CREATE TABLE users (
	seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	tenant_id TEXT NOT NULL REFERENCES tenants(id),
	id TEXT COLLATE "C" NOT NULL,
	user_name TEXT NOT NULL,
	user_name_fold TEXT COLLATE "C" NOT NULL,
	external_id TEXT COLLATE "C",
	active BOOLEAN NOT NULL,
	created BIGINT NOT NULL,
	modified BIGINT NOT NULL,
	version BIGINT NOT NULL,
	doc JSONB NOT NULL
);
CREATE UNIQUE INDEX users_id ON users(tenant_id, id);
CREATE UNIQUE INDEX users_name ON users(tenant_id, user_name_fold);
CREATE INDEX users_external ON users(tenant_id, external_id);
CREATE INDEX users_tenant_seq ON users(tenant_id, seq);
CREATE TABLE user_emails (
	tenant_id TEXT NOT NULL,
	value_fold TEXT COLLATE "C" NOT NULL,
	user_seq BIGINT NOT NULL REFERENCES users(seq) ON DELETE CASCADE,
	PRIMARY KEY (tenant_id, value_fold, user_seq)
);
CREATE INDEX user_emails_user ON user_emails(user_seq);
CREATE TABLE groups (
	seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	tenant_id TEXT NOT NULL REFERENCES tenants(id),
	id TEXT COLLATE "C" NOT NULL,
	display_name TEXT NOT NULL,
	display_name_fold TEXT COLLATE "C" NOT NULL,
	external_id TEXT COLLATE "C",
	created BIGINT NOT NULL,
	modified BIGINT NOT NULL,
	version BIGINT NOT NULL,
	doc JSONB NOT NULL
);
CREATE UNIQUE INDEX groups_id ON groups(tenant_id, id);
CREATE UNIQUE INDEX groups_name ON groups(tenant_id, display_name_fold);
CREATE INDEX groups_external ON groups(tenant_id, external_id);
CREATE INDEX groups_tenant_seq ON groups(tenant_id, seq);
CREATE TABLE group_members (
	tenant_id TEXT NOT NULL,
	group_seq BIGINT NOT NULL REFERENCES groups(seq) ON DELETE CASCADE,
	user_seq BIGINT NOT NULL REFERENCES users(seq) ON DELETE CASCADE,
	PRIMARY KEY (tenant_id, group_seq, user_seq)
);
CREATE INDEX group_members_user ON group_members(tenant_id, user_seq, group_seq);
`, `
CREATE TABLE resource_counts (
	tenant_id TEXT NOT NULL,
	resource TEXT NOT NULL,
	shard INTEGER NOT NULL,
	added BIGINT NOT NULL,
	removed BIGINT NOT NULL,
	PRIMARY KEY (tenant_id, resource, shard)
);
INSERT INTO resource_counts (tenant_id, resource, shard, added, removed)
	SELECT tenant_id, 'User', 0, count(*), 0 FROM users GROUP BY tenant_id;
INSERT INTO resource_counts (tenant_id, resource, shard, added, removed)
	SELECT tenant_id, 'Group', 0, count(*), 0 FROM groups GROUP BY tenant_id;
`, `
ALTER TABLE tenants ADD COLUMN external_ref TEXT;
ALTER TABLE tenants ADD COLUMN updated BIGINT;
ALTER TABLE tenants ADD COLUMN disabled BIGINT;
UPDATE tenants SET updated = created;
CREATE UNIQUE INDEX tenants_external_ref ON tenants(external_ref);
ALTER TABLE credentials ADD COLUMN previous_hash BYTEA;
ALTER TABLE credentials ADD COLUMN previous_expires BIGINT;
ALTER TABLE credentials ADD COLUMN rotated BIGINT;
ALTER TABLE credentials ADD COLUMN last_used BIGINT;
ALTER TABLE credentials ADD COLUMN last_client TEXT;
CREATE TABLE api_keys (
	id TEXT PRIMARY KEY,
	tenant_id TEXT REFERENCES tenants(id),
	scope TEXT NOT NULL,
	name TEXT NOT NULL,
	secret_hash BYTEA NOT NULL,
	created BIGINT NOT NULL,
	revoked BIGINT,
	last_used BIGINT
);
CREATE INDEX api_keys_tenant ON api_keys(tenant_id);
CREATE INDEX users_modified ON users(tenant_id, modified, seq);
`, `
CREATE TABLE activity (
	seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	tenant_id TEXT NOT NULL,
	at BIGINT NOT NULL,
	request_id TEXT NOT NULL,
	credential_id TEXT NOT NULL,
	client TEXT NOT NULL,
	method TEXT NOT NULL,
	path TEXT NOT NULL,
	status INTEGER NOT NULL,
	latency_us BIGINT NOT NULL,
	scim_type TEXT NOT NULL,
	detail TEXT NOT NULL,
	resource_type TEXT NOT NULL,
	resource_id TEXT COLLATE "C" NOT NULL,
	request_body TEXT NOT NULL,
	response_body TEXT NOT NULL
);
CREATE INDEX activity_tenant ON activity(tenant_id, seq);
CREATE INDEX activity_age ON activity(at);
CREATE INDEX activity_resource ON activity(tenant_id, resource_id, seq) WHERE resource_id <> '';
CREATE INDEX activity_errors ON activity(tenant_id, seq) WHERE status >= 400;
CREATE TABLE setup_links (
	token_hash BYTEA PRIMARY KEY,
	tenant_id TEXT NOT NULL REFERENCES tenants(id),
	created BIGINT NOT NULL,
	expires BIGINT NOT NULL
);
CREATE INDEX setup_links_tenant ON setup_links(tenant_id);
`, `
CREATE TABLE event_counters (
	tenant_id TEXT PRIMARY KEY,
	last_seq BIGINT NOT NULL
);
CREATE TABLE events (
	num BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	id TEXT COLLATE "C" NOT NULL,
	tenant_id TEXT NOT NULL,
	seq BIGINT,
	pos BIGINT,
	type TEXT COLLATE "C" NOT NULL,
	time BIGINT NOT NULL,
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
	previous_expires BIGINT,
	types TEXT NOT NULL,
	format TEXT NOT NULL,
	created BIGINT NOT NULL,
	disabled BIGINT,
	disabled_reason TEXT,
	failing_since BIGINT
);
CREATE INDEX webhook_endpoints_tenant ON webhook_endpoints(tenant_id);
CREATE TABLE webhook_cursors (
	endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
	tenant_id TEXT NOT NULL,
	last_seq BIGINT NOT NULL,
	attempts INTEGER NOT NULL DEFAULT 0,
	next_attempt BIGINT NOT NULL DEFAULT 0,
	lease_owner TEXT,
	lease_until BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (endpoint_id, tenant_id)
);
CREATE INDEX webhook_cursors_tenant ON webhook_cursors(tenant_id);
CREATE TABLE webhook_deliveries (
	num BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	endpoint_id TEXT NOT NULL,
	tenant_id TEXT NOT NULL,
	event_id TEXT NOT NULL,
	seq BIGINT NOT NULL,
	attempt INTEGER NOT NULL,
	at BIGINT NOT NULL,
	status INTEGER NOT NULL,
	latency_us BIGINT NOT NULL,
	response TEXT NOT NULL,
	error TEXT NOT NULL
);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries(endpoint_id, num);
CREATE INDEX webhook_deliveries_tenant ON webhook_deliveries(tenant_id);
CREATE TABLE signing_keys (
	name TEXT PRIMARY KEY,
	private_der BYTEA NOT NULL,
	created BIGINT NOT NULL
);
`, `
CREATE TABLE role_configs (
	tenant_id TEXT PRIMARY KEY,
	config TEXT NOT NULL,
	updated BIGINT NOT NULL
);
CREATE TABLE user_roles (
	tenant_id TEXT NOT NULL,
	user_seq BIGINT NOT NULL REFERENCES users(seq) ON DELETE CASCADE,
	role TEXT NOT NULL,
	role_fold TEXT NOT NULL,
	rank INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, user_seq, role)
);
CREATE INDEX user_roles_role ON user_roles(tenant_id, role, user_seq);
INSERT INTO user_roles (tenant_id, user_seq, role, role_fold, rank)
	SELECT m.tenant_id, m.user_seq, g.display_name, g.display_name_fold,
		row_number() OVER (PARTITION BY m.user_seq ORDER BY g.display_name_fold, g.seq)
	FROM group_members m JOIN groups g ON g.seq = m.group_seq JOIN users u ON u.seq = m.user_seq WHERE u.active;
`}

// dialect is PostgreSQL's SQL.
type dialect struct{}

func (dialect) Rebind(q string) string {
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

func pathLiteral(path []string) string {
	parts := make([]string, len(path))
	for i, p := range path {
		parts[i] = `"` + strings.ReplaceAll(strings.ReplaceAll(p, `\`, `\\`), `"`, `\"`) + `"`
	}
	return "'{" + strings.ReplaceAll(strings.Join(parts, ","), "'", "''") + "}'"
}

func (dialect) JSONValue(doc string, path []string, t scim.AttrType) string {
	p := pathLiteral(path)
	switch t {
	case scim.TypeComplex:
		return "(" + doc + " #> " + p + ")"
	case scim.TypeBoolean:
		return "((" + doc + " #>> " + p + ")::boolean)"
	case scim.TypeInteger, scim.TypeDecimal:
		return "((" + doc + " #>> " + p + ")::numeric)"
	}
	return "((" + doc + " #>> " + p + ") COLLATE \"C\")"
}

func (dialect) JSONElements(doc string, path []string) string {
	p := pathLiteral(path)
	return "jsonb_array_elements(CASE WHEN jsonb_typeof(" + doc + " #> " + p + ") = 'array' THEN " + doc + " #> " + p + " ELSE '[]'::jsonb END) AS j(value)"
}

// PrimaryValue picks the element whose primary is true, else the first.
func (d dialect) PrimaryValue(doc string, path []string, sub string, t scim.AttrType) string {
	v := d.JSONValue("p.value", []string{sub}, t)
	if sub == "" {
		v = d.JSONValue("p.value", nil, t)
	}
	p := pathLiteral(path)
	return "(SELECT " + v + " FROM jsonb_array_elements(CASE WHEN jsonb_typeof(" + doc + " #> " + p + ") = 'array' THEN " + doc + " #> " + p +
		" ELSE '[]'::jsonb END) WITH ORDINALITY AS p(value, ord) ORDER BY (p.value ->> 'primary') = 'true' DESC NULLS LAST, p.ord LIMIT 1)"
}

// TryTxLock takes an advisory lock held until the transaction ends, without waiting.
// Advisory locks belong to the database, not the schema: the key is paired with the
// schema's hash so that scimd stores in other schemas of the same database (tests run
// that way) do not take each other's lock, which made a sequencer find it taken and
// number nothing.
func (dialect) TryTxLock() string {
	return "SELECT pg_try_advisory_xact_lock(hashtext(current_schema()), CAST(? AS INTEGER))"
}

// TxLock waits for an advisory lock held until the transaction ends.
func (dialect) TxLock(shared bool) string {
	if shared {
		return "SELECT pg_advisory_xact_lock_shared(?)"
	}
	return "SELECT pg_advisory_xact_lock(?)"
}

// SkipLocked makes concurrent transactions (several instances) pick different rows.
func (dialect) SkipLocked(alias string) string { return " FOR UPDATE OF " + alias + " SKIP LOCKED" }

// CounterShard gives each connection its own row of a tenant's counter (up to 64 rows), so
// that concurrent creates in one tenant, each on its own connection, do not wait for each
// other's row lock until they commit.
func (dialect) GroupsJSON() string {
	return `(SELECT COALESCE(json_agg(json_build_array(g.id, g.display_name) ORDER BY g.display_name_fold, g.seq), '[]')::text
		FROM group_members m JOIN groups g ON g.seq = m.group_seq WHERE m.tenant_id = u.tenant_id AND m.user_seq = u.seq)`
}

func (dialect) RolesJSON() string {
	return `(SELECT COALESCE(json_agg(r.role ORDER BY r.rank), '[]')::text FROM user_roles r WHERE r.tenant_id = u.tenant_id AND r.user_seq = u.seq)`
}

func (dialect) CounterShard() string { return "(pg_backend_pid() % 64)" }

// Fold lowers under the database's default collation, whose character classification
// lowers non-ASCII letters as store.Fold does (under "C", which JSONValue gives text for
// bytewise comparison, lower() changes only A-Z), then compares the result bytewise again.
func (dialect) Fold(expr string) string {
	return `(lower((` + expr + `) COLLATE "default") COLLATE "C")`
}

func (dialect) Contains(expr string) string { return "strpos(" + expr + ", ?) > 0" }
func (dialect) EndsWith(expr string) string { return "right(" + expr + ", char_length(?)) = ?" }
func (dialect) ForUpdate() string           { return " FOR UPDATE" }

func (dialect) IsForeignKeyViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23503"
}

func (dialect) IsUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}
