// Package cli is scimd's command line: serve, and the admin commands for tenants,
// credentials, users and groups. cmd/scimd only calls Main.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/scimd/scimd/internal/activity"
	"github.com/scimd/scimd/internal/compat"
	"github.com/scimd/scimd/internal/console"
	"github.com/scimd/scimd/internal/httpapi"
	"github.com/scimd/scimd/internal/scim"
	"github.com/scimd/scimd/internal/server"
	"github.com/scimd/scimd/internal/store"
	"github.com/scimd/scimd/internal/store/postgres"
	"github.com/scimd/scimd/internal/store/sqlite"
	"github.com/scimd/scimd/internal/webhook"
)

// Env carries what a command reads and writes, so that tests can run commands in process.
type Env struct {
	Stdout, Stderr io.Writer
	// Stdin is what "scimd import -" reads (nil: nothing to read).
	Stdin  io.Reader
	Getenv func(string) string
	// IsTerminal reports whether Stdout is a terminal; nil means it is not. The first
	// start prints the new credential's secret only to a terminal: elsewhere (systemd's
	// journal, docker logs, a Kubernetes log pipeline) stdout is a log that others read
	// and keep, and the secret goes to a file only its owner can read.
	IsTerminal func() bool
	// StderrIsTerminal reports whether Stderr is a terminal (then logs are text, else
	// JSON); nil means it is not.
	StderrIsTerminal func() bool
	// Ready, if set, receives the listening address once serve accepts connections.
	Ready func(addr string)
}

// IsTerminal reports whether f is a terminal, with the standard library alone: a
// character device other than the null device. (Other character devices pass too, but
// nobody sends a server's output to one; asking the terminal driver would need a system
// call per operating system.)
func IsTerminal(f *os.File) bool {
	fi, err := f.Stat()
	if err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return false
	}
	if null, err := os.Stat(os.DevNull); err == nil && os.SameFile(fi, null) {
		return false
	}
	return true
}

func (env Env) stdoutIsTerminal() bool { return env.IsTerminal != nil && env.IsTerminal() }

const usage = `scimd: a SCIM 2.0 provisioning server

usage:
  scimd [serve] [--addr :8080] [--db scimd.db] [--base-url https://host] [--schemas FILE]
               [--filter-max-bytes 8192] [--filter-max-depth 32] [--filter-max-nodes 256]
               [--read-timeout 60s] [--write-timeout 60s] [--max-body-bytes 1048576]
               [--max-body-bytes-in-flight 2097152] [--max-in-flight 256] [--compat FILE]
               [--query-timeout 10s] [--expensive-reads-per-tenant 2]
               [--rate-per-credential 100] [--rate-per-tenant 200] [--auth-failures-per-minute 30]
               [--trusted-proxies CIDR,…] [--tls-cert FILE --tls-key FILE] [--shutdown-timeout 30s]
               [--shutdown-delay 0s]
               [--activity=true] [--activity-max-age 720h] [--activity-max-rows 100000]
               [--activity-buffer 10000] [--log-format auto|json|text] [--log-level info]
               [--console-password PASSWORD] [--console-api-keys]
               [--event-retention 168h]
               [--webhook-allow-private] [--webhook-timeout 10s] [--webhook-disable-after 72h]
               [--webhook-lease 30s] [--security-events]
  scimd tenant create NAME [--external-ref REF] | tenant list
  scimd tenant disable NAME | tenant enable NAME | tenant delete NAME --confirm NAME
  scimd credential create --tenant NAME [--base-url URL] | credential list [--tenant NAME]
  scimd credential rotate ID [--overlap 24h] | credential revoke ID
  scimd apikey create [--tenant NAME] [--scope admin|read] [--name TEXT]
  scimd apikey list | apikey revoke ID
  scimd user list --tenant NAME [--role ROLE]
  scimd group list --tenant NAME
  scimd role list --tenant NAME | role show [--tenant NAME] | role clear [--tenant NAME]
  scimd role set [--tenant NAME] FILE | role apply FILE
  scimd check [--bearer TOKEN | --basic USER:PASS] [--flow NAME|all] [--json] URL
  scimd bench [--bearer TOKEN | --basic USER:PASS] [--concurrency 8] [--duration 10s]
              [--group-size 200] [--floor] [--json] URL
  scimd backup [--db scimd.db] FILE | restore [--db scimd.db] FILE
  scimd export --tenant NAME > FILE | import [--tenant NAME] [--schemas FILE] FILE|-
  scimd activity --tenant NAME [--since 1h] [--status 4xx|5xx|409] [--user ID] [--client okta]
                 [--limit 100] [--follow]
  scimd healthcheck [--addr :8080] [--path /healthz|/readyz]
  scimd webhook add [--tenant NAME] [--secret whsec_…] [--types T,…] [--format webhook|set] URL
  scimd webhook list [--tenant NAME] | webhook remove ID | webhook deliveries ID
  scimd webhook replay ID --from SEQ [--tenant NAME]
  scimd version

` + commonFlagsHelp

const commonFlagsHelp = `Every command takes --db and --json; every flag can also be set as SCIMD_<FLAG>
(e.g. SCIMD_DB, SCIMD_BASE_URL).
`

// groupUsage is what a command group prints when called without a subcommand.
var groupUsage = map[string]string{
	"webhook": `usage:
  scimd webhook add [--tenant NAME] [--secret whsec_…] [--types T,…] [--format webhook|set] URL
                               send events to URL (one tenant's, or every tenant's); prints
                               the endpoint's id and, when generated, its secret (shown once)
  scimd webhook list [--tenant NAME]
                               list endpoints, with which are failing or disabled
  scimd webhook remove ID      stop sending to the endpoint and forget its log
  scimd webhook deliveries ID [--limit 50]
                               the latest attempts: status, latency, start of the answer
  scimd webhook replay ID --from SEQ [--tenant NAME]
                               send the tenant's events again from sequence number SEQ on
`,
	"tenant": `usage:
  scimd tenant create NAME [--external-ref REF]
                               create a tenant: one per customer (identity provider);
                               REF is the application's own id for the customer
  scimd tenant list            list the tenants
  scimd tenant disable NAME    refuse the tenant's SCIM credentials from now on; keep its data
  scimd tenant enable NAME     accept them again
  scimd tenant delete NAME --confirm NAME
                               delete the tenant with all its users, groups and credentials
`,
	"credential": `usage:
  scimd credential create --tenant NAME [--base-url URL]
                               make a credential for the tenant's identity provider and
                               print it, with the base URL to paste beside it (shown once)
  scimd credential list [--tenant NAME]
                               list credentials (never their secrets)
  scimd credential rotate ID [--overlap 24h] [--base-url URL]
                               give the credential a new secret (same user name); the old
                               one keeps working for the overlap (0: not at all)
  scimd credential revoke ID   refuse the credential from the next request on
`,
	"apikey": `usage:
  scimd apikey create [--tenant NAME] [--scope admin|read] [--name TEXT]
                               make a management API key (/api/v1) for every tenant or one;
                               a read key changes nothing (shown once)
  scimd apikey list            list the API keys (never their secrets)
  scimd apikey revoke ID       refuse the key from the next request on
`,
	"user": `usage:
  scimd user list --tenant NAME [--role ROLE]
                               list the tenant's users and their roles
`,
	"group": `usage:
  scimd group list --tenant NAME
                               list the tenant's groups, their member counts and the
                               roles each maps to
`,
	"role": `usage:
  scimd role list --tenant NAME
                               the tenant's roles and how many users hold each
  scimd role show [--tenant NAME]
                               the role configuration the tenant (or, without --tenant,
                               every tenant without its own) works under
  scimd role set [--tenant NAME] FILE
                               replace that configuration with FILE's (- for standard
                               input) and derive every affected user's roles again
  scimd role clear [--tenant NAME]
                               remove it: the tenant falls back to the default
  scimd role apply FILE        set the default and each named tenant's configuration
                               from one file; applying it again changes nothing
`,
}

// isHelp reports whether an argument asks for help.
func isHelp(arg string) bool {
	return arg == "help" || arg == "-h" || arg == "-help" || arg == "--help"
}

// Main runs a command and returns the process exit code.
func Main(ctx context.Context, args []string, env Env) int {
	err := run(ctx, args, env)
	if err == nil {
		return 0
	}
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(env.Stdout, usage)
		return 0
	}
	fmt.Fprintln(env.Stderr, "scimd: "+strings.ReplaceAll(err.Error(), "\n", " "))
	return 1
}

func run(ctx context.Context, args []string, env Env) error {
	if len(args) > 0 && (args[0] == "--version" || args[0] == "-version") {
		return version(args[1:], env)
	}
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return serve(ctx, args, env)
	}
	cmd, rest := args[0], args[1:]
	// check and bench take a URL, and backup, restore, export and import a file or a
	// flag, not a subcommand.
	switch cmd {
	case "check":
		return check(ctx, rest, env)
	case "bench":
		return bench(ctx, rest, env)
	case "backup":
		return backup(ctx, rest, env)
	case "restore":
		return restore(ctx, rest, env)
	case "export":
		return exportCmd(ctx, rest, env)
	case "import":
		return importCmd(ctx, rest, env)
	}
	sub := ""
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		sub, rest = rest[0], rest[1:]
	}
	// A group alone, or asked for help, lists its subcommands.
	if u, ok := groupUsage[cmd]; ok && (sub == "" || isHelp(sub)) {
		fmt.Fprint(env.Stdout, u+"\n"+commonFlagsHelp)
		return nil
	}
	if cmd == "help" {
		if u, ok := groupUsage[sub]; ok {
			fmt.Fprint(env.Stdout, u+"\n"+commonFlagsHelp)
			return nil
		}
	}
	switch cmd + " " + sub {
	case "version ":
		return version(rest, env)
	case "serve ":
		return serve(ctx, rest, env)
	case "tenant create":
		return tenantCreate(ctx, rest, env)
	case "tenant list":
		return tenantList(ctx, rest, env)
	case "credential create":
		return credentialCreate(ctx, rest, env)
	case "credential list":
		return credentialList(ctx, rest, env)
	case "tenant disable":
		return tenantSetDisabled(true)(ctx, rest, env)
	case "tenant enable":
		return tenantSetDisabled(false)(ctx, rest, env)
	case "tenant delete":
		return tenantDelete(ctx, rest, env)
	case "credential revoke":
		return credentialRevoke(ctx, rest, env)
	case "credential rotate":
		return credentialRotate(ctx, rest, env)
	case "apikey create":
		return apikeyCreate(ctx, rest, env)
	case "apikey list":
		return apikeyList(ctx, rest, env)
	case "apikey revoke":
		return apikeyRevoke(ctx, rest, env)
	case "user list":
		return userList(ctx, rest, env)
	case "group list":
		return groupList(ctx, rest, env)
	case "role show":
		return roleShow(ctx, rest, env)
	case "role set":
		return roleSet(ctx, rest, env)
	case "role clear":
		return roleClear(ctx, rest, env)
	case "role apply":
		return roleApply(ctx, rest, env)
	case "role list":
		return roleList(ctx, rest, env)
	case "activity ":
		return activityCmd(ctx, rest, env)
	case "healthcheck ":
		return healthcheck(ctx, rest, env)
	case "webhook add":
		return webhookAdd(ctx, rest, env)
	case "webhook list":
		return webhookList(ctx, rest, env)
	case "webhook remove":
		return webhookRemove(ctx, rest, env)
	case "webhook deliveries":
		return webhookDeliveries(ctx, rest, env)
	case "webhook replay":
		return webhookReplay(ctx, rest, env)
	case "help ", "-h ", "--help ":
		return flag.ErrHelp
	}
	if _, ok := groupUsage[cmd]; ok {
		return fmt.Errorf("unknown command %q; run 'scimd %s' for its commands", cmd+" "+sub, cmd)
	}
	return fmt.Errorf("unknown command %q; run 'scimd help'", strings.TrimSpace(cmd+" "+sub))
}

// common are the flags every command has.
type common struct {
	db   string
	json bool
}

func newFlags(name string, env Env, c *common) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&c.db, "db", defaultDB, "SQLite file path, or a postgres:// URL")
	fs.BoolVar(&c.json, "json", false, "print JSON")
	return fs
}

// parse applies SCIMD_* environment variables as defaults, then the arguments, and
// returns the positional arguments.
func parse(fs *flag.FlagSet, args []string, env Env) ([]string, error) {
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		name := "SCIMD_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v := env.Getenv(name); v != "" {
			if err := f.Value.Set(v); err != nil && envErr == nil {
				envErr = fmt.Errorf("%s: %w", name, err)
			}
		}
	})
	if envErr != nil {
		return nil, envErr
	}
	// Allow flags after positional arguments ("tenant create acme --json").
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, fmt.Errorf("%s: %w", fs.Name(), err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

func openStore(ctx context.Context, dsn string) (store.Store, error) {
	if postgres.IsURL(dsn) {
		return postgres.Open(ctx, dsn)
	}
	return sqlite.Open(ctx, dsn)
}

func serve(ctx context.Context, args []string, env Env) error {
	var c common
	fs := newFlags("serve", env, &c)
	addr := fs.String("addr", ":8080", "listen address")
	baseURL := fs.String("base-url", "", "public URL of scimd (https://host, with or without /scim/v2), used in meta.location")
	schemaFile := fs.String("schemas", "", "JSON file declaring schema extensions (see docs/schemas.md)")
	var limits scim.FilterLimits
	fs.IntVar(&limits.MaxLength, "filter-max-bytes", scim.DefaultFilterLimits.MaxLength, "longest filter accepted, in bytes")
	fs.IntVar(&limits.MaxDepth, "filter-max-depth", scim.DefaultFilterLimits.MaxDepth, "deepest nesting of a filter accepted")
	fs.IntVar(&limits.MaxNodes, "filter-max-nodes", scim.DefaultFilterLimits.MaxNodes, "most comparisons and operators in a filter accepted")
	readTimeout := fs.Duration("read-timeout", 60*time.Second, "longest time to read a request, body included")
	writeTimeout := fs.Duration("write-timeout", 60*time.Second, "longest time to answer a request, from the end of its headers to the last byte of the response")
	maxBody := fs.Int64("max-body-bytes", httpapi.DefaultMaxBodyBytes, "largest request body accepted (413 above)")
	maxBodyInFlight := fs.Int64("max-body-bytes-in-flight", httpapi.DefaultMaxBodyBytesInFlight, "most bytes of request bodies handled at once; others wait their turn")
	queryTimeout := fs.Duration("query-timeout", 10*time.Second, "longest database work of one list; a list over it is 400 tooMany (0: no limit)")
	expensiveReads := fs.Int("expensive-reads-per-tenant", 2, "most sorted lists of one tenant run at once; others wait their turn")
	ratePerCredential := fs.Float64("rate-per-credential", 100, "SCIM requests a second per credential, burst twice that; over it is 429 with Retry-After (0: no limit)")
	ratePerTenant := fs.Float64("rate-per-tenant", 200, "SCIM requests a second per tenant, burst twice that (0: no limit)")
	shutdownDelay := fs.Duration("shutdown-delay", 0, "on SIGTERM or SIGINT, how long /readyz answers 503 before the listener closes (behind a load balancer: more than its readiness check period)")
	shutdownTimeout := fs.Duration("shutdown-timeout", 30*time.Second, "on SIGTERM or SIGINT, how long requests under way may take to finish")
	tlsCert := fs.String("tls-cert", "", "PEM certificate (chain) file: serve HTTPS; reloaded on SIGHUP or when it changes")
	tlsKey := fs.String("tls-key", "", "PEM private key file of --tls-cert")
	trustedProxies := fs.String("trusted-proxies", "", "comma-separated addresses or CIDR ranges of proxies whose X-Forwarded-Proto and -Host are believed (when --base-url is not set)")
	authFailures := fs.Int("auth-failures-per-minute", 30, "failed SCIM authentications a minute per client address and per credential id before failures are answered 429 (0: no bound)")
	compatFile := fs.String("compat", "", "JSON file of client dialect switches per tenant (see internal/compat)")
	maxInFlight := fs.Int("max-in-flight", 256, "most requests handled at once; others are 503 with Retry-After (0: no limit)")
	activityOn := fs.Bool("activity", true, "record every SCIM request in its tenant's activity log")
	activityAge := fs.Duration("activity-max-age", activity.DefaultMaxAge, "delete activity log entries older than this (0: the default; negative: keep)")
	activityRows := fs.Int("activity-max-rows", activity.DefaultMaxRowsPerTenant, "keep at most this many activity log entries per tenant (negative: no limit)")
	activityBuffer := fs.Int("activity-buffer", activity.DefaultBuffer, "activity log entries waiting to be written at most; more are dropped and counted")
	consolePassword := fs.String("console-password", "", "turn on the admin console at /admin, signed in with this password (better set as SCIMD_CONSOLE_PASSWORD)")
	consoleKeys := fs.Bool("console-api-keys", false, "turn on the admin console at /admin, signed in with an admin API key for every tenant")
	logFormat := fs.String("log-format", "auto", "log format: json, text, or auto (text on a terminal, JSON elsewhere)")
	logLevel := fs.String("log-level", "info", "lowest level logged: debug, info, warn or error (info logs one line per request)")
	eventRetention := fs.Duration("event-retention", 7*24*time.Hour, "how long events are kept for the feed and replays (0: for ever)")
	var wo server.WebhookOptions
	fs.BoolVar(&wo.AllowPrivate, "webhook-allow-private", false, "let webhook endpoints be on loopback, private and link-local addresses")
	fs.DurationVar(&wo.Timeout, "webhook-timeout", 10*time.Second, "longest time of one webhook delivery")
	fs.DurationVar(&wo.DisableAfter, "webhook-disable-after", 72*time.Hour, "disable an endpoint whose deliveries have failed this long")
	securityEvents := fs.Bool("security-events", false, "let webhook endpoints take RFC 9967 security event tokens (format set), signed with a key kept in the database and published at /api/v1/jwks.json")
	fs.DurationVar(&wo.Lease, "webhook-lease", 30*time.Second, "how long an instance holds a tenant's deliveries to an endpoint without reporting; after a crash, another instance resumes them once it has passed")
	if _, err := parse(fs, args, env); err != nil {
		return err
	}
	if *baseURL != "" {
		if err := checkBaseURL(*baseURL); err != nil {
			return err
		}
	}
	proxies, err := parsePrefixes(*trustedProxies)
	if err != nil {
		return fmt.Errorf("--trusted-proxies: %w", err)
	}
	if (*tlsCert == "") != (*tlsKey == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	var certs *certReloader
	if *tlsCert != "" {
		if certs, err = newCertReloader(*tlsCert, *tlsKey); err != nil {
			return err
		}
	}
	var exts []scim.ExtensionConfig
	if *schemaFile != "" {
		data, err := os.ReadFile(*schemaFile)
		if err != nil {
			return fmt.Errorf("read schema file: %w", err)
		}
		if exts, err = scim.ParseSchemaFile(data); err != nil {
			return fmt.Errorf("%s: %w", *schemaFile, err)
		}
	}
	var dialects *compat.Config
	if *compatFile != "" {
		data, err := os.ReadFile(*compatFile)
		if err != nil {
			return fmt.Errorf("read compat file: %w", err)
		}
		if dialects, err = compat.Parse(data); err != nil {
			return fmt.Errorf("%s: %w", *compatFile, err)
		}
	}
	logger, err := newLogger(env, *logFormat, *logLevel)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, c.db)
	if err != nil {
		return err
	}
	defer st.Close()
	// Listen before bootstrapping: the printed base URL then has the port actually bound
	// (with --addr host:0 it printed port 0), and a start that cannot listen creates no
	// tenant and prints no credential for a server that never ran.
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	public := publicURL(*baseURL, listenURLAddr(*addr, ln.Addr()))
	if certs != nil && *baseURL == "" {
		public = "https" + strings.TrimPrefix(public, "http")
	}
	if err := bootstrap(ctx, st, c.db, public, env); err != nil {
		ln.Close()
		return err
	}
	var setSigner *webhook.SETSigner
	if *securityEvents {
		if setSigner, err = webhook.LoadSETSigner(ctx, st, publicURL(*baseURL, listenURLAddr(*addr, ln.Addr()))); err != nil {
			ln.Close()
			return err
		}
	}
	handler := server.New(st, server.Options{Logger: logger, EventRetention: *eventRetention, Webhooks: wo, SET: setSigner,
		NoActivity: !*activityOn,
		Activity:   activity.Options{MaxAge: *activityAge, MaxRowsPerTenant: *activityRows, Buffer: *activityBuffer},
		Console: console.Options{Password: *consolePassword, APIKeyLogin: *consoleKeys,
			Secure: strings.HasPrefix(strings.ToLower(*baseURL), "https://")},
		SCIM: httpapi.Options{BaseURL: *baseURL, Logger: logger, Extensions: exts, FilterLimits: limits,
			MaxBodyBytes: *maxBody, MaxBodyBytesInFlight: *maxBodyInFlight, MaxInFlight: *maxInFlight, Compat: dialects,
			QueryTimeout: *queryTimeout, ExpensiveReadsPerTenant: *expensiveReads,
			RatePerCredential: *ratePerCredential, RatePerTenant: *ratePerTenant, AuthFailuresPerMinute: *authFailures,
			TrustedProxies: proxies}})
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       *readTimeout,
		// A client that stops reading is cut after WriteTimeout; it holds no database
		// connection meanwhile (see sqlstore.GroupMembers).
		WriteTimeout: *writeTimeout,
		IdleTimeout:  120 * time.Second,
	}
	var hup chan os.Signal
	if certs != nil {
		hup = notifyHUP()
	}
	logger.Info("serving SCIM", "addr", ln.Addr().String(), "db", c.db, "tls", certs != nil)
	if env.Ready != nil {
		env.Ready(ln.Addr().String())
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	if certs != nil {
		srv.TLSConfig = certs.tlsConfig()
		go certs.watch(ctx, hup, 5*time.Second, logger)
		go func() { errc <- srv.ServeTLS(ln, "", "") }()
	} else {
		go func() { errc <- srv.Serve(ln) }()
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// /readyz turns unready first, and the listener stays open for the delay, so that a
	// load balancer polling it stops sending before connections are refused. Then the
	// requests under way finish; their writes are acknowledged only once committed.
	handler.Drain()
	if *shutdownDelay > 0 {
		logger.Info("draining: /readyz answers 503", "delay", shutdownDelay.String())
		time.Sleep(*shutdownDelay)
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), *shutdownTimeout)
	defer cancel()
	logger.Info("shutting down")
	return errors.Join(srv.Shutdown(shutdownCtx), handler.Close(shutdownCtx))
}

// newLogger builds serve's logger: JSON lines for a log pipeline, text for a person at a
// terminal.
func newLogger(env Env, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level must be debug, info, warn or error, got %q", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "json":
	case "text":
		return slog.New(slog.NewTextHandler(env.Stderr, opts)), nil
	case "auto":
		if env.StderrIsTerminal != nil && env.StderrIsTerminal() {
			return slog.New(slog.NewTextHandler(env.Stderr, opts)), nil
		}
	default:
		return nil, fmt.Errorf("--log-format must be auto, json or text, got %q", format)
	}
	return slog.New(slog.NewJSONHandler(env.Stderr, opts)), nil
}

// listenURLAddr is the host:port to print for a listen address: the host as given (empty
// becomes "localhost" in bootstrap) and the port actually bound.
func listenURLAddr(addr string, bound net.Addr) string {
	host, _, err := net.SplitHostPort(addr)
	_, port, err2 := net.SplitHostPort(bound.String())
	if err != nil || err2 != nil {
		return addr
	}
	if host == "" {
		return ":" + port
	}
	return net.JoinHostPort(host, port)
}

func withStore(ctx context.Context, c common, fn func(store.Store) error) error {
	st, err := openStore(ctx, c.db)
	if err != nil {
		return err
	}
	defer st.Close()
	return fn(st)
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// parsePrefixes reads a comma-separated list of addresses and CIDR ranges.
func parsePrefixes(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("%q is neither an address nor a CIDR range", f)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}
