package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/scimd/scimd/internal/credential"
	"github.com/scimd/scimd/internal/httpapi"
	"github.com/scimd/scimd/internal/store"
	"github.com/scimd/scimd/internal/store/postgres"
)

const (
	defaultDB = "scimd.db"
	// defaultBaseURL is where `scimd` with no flags is reached from the same machine; it is
	// what credential create prints when not told otherwise.
	defaultBaseURL = "http://localhost:8080"
	// firstCredentialFile holds the first start's credential when stdout is not a terminal.
	firstCredentialFile = "scimd-first-credential.txt"
)

// checkBaseURL refuses a --base-url that cannot be the start of a URL an identity
// provider calls: it would otherwise surface only as broken meta.location values.
func checkBaseURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("--base-url %q: want an absolute http:// or https:// URL such as https://scim.example.com", raw)
	}
	return nil
}

// publicURL is the URL scimd is reached at, without /scim/v2: --base-url if given, else
// the listen address (an empty host is this machine).
func publicURL(baseURL, listenAddr string) string {
	if baseURL != "" {
		return httpapi.NormalizeBaseURL(baseURL)
	}
	if strings.HasPrefix(listenAddr, ":") {
		listenAddr = "localhost" + listenAddr
	}
	return "http://" + listenAddr
}

// firstCredentialPath is where the first start writes the credential when stdout is not a
// terminal: next to a SQLite database, where its operator looks and which scimd can write
// to; for PostgreSQL, which has no such place, the working directory.
func firstCredentialPath(db string) (string, error) {
	dir := "."
	if !postgres.IsURL(db) {
		dir = filepath.Dir(db)
	}
	p, err := filepath.Abs(filepath.Join(dir, firstCredentialFile))
	if err != nil {
		return "", fmt.Errorf("locate %s: %w", firstCredentialFile, err)
	}
	return p, nil
}

const credentialValues = `  SCIM connector base URL:  %s
  Basic auth user name:     %s
  Basic auth password:      %s
  Bearer token:             %s
`

// bootstrap creates tenant "default" and a credential on the first start with an empty
// store and hands the credential over, once: printed when stdout is a terminal, else
// written to a file only its owner can read, since stdout is then a log. Every later start
// says how to make a credential instead, as the first one's secret is never shown again.
// base is the public URL without /scim/v2.
func bootstrap(ctx context.Context, st store.Store, db, base string, env Env) error {
	tenants, err := st.Tenants(ctx)
	if err != nil {
		return fmt.Errorf("first start: %w", err)
	}
	if len(tenants) > 0 {
		printMintHint(env.Stdout, tenants, db, base)
		return nil
	}
	var file *secretFile
	if !env.stdoutIsTerminal() {
		// Made before anything is stored, so that a directory scimd cannot write to stops
		// the start with no tenant created and no secret lost.
		path, err := firstCredentialPath(db)
		if err != nil {
			return fmt.Errorf("first start: %w", err)
		}
		if file, err = createSecretFile(path); err != nil {
			return fmt.Errorf("first start: %w", err)
		}
		defer file.discard()
	}
	t, err := st.CreateTenant(ctx, store.Tenant{Name: "default"})
	if errors.Is(err, store.ErrExists) {
		// Another instance on the same database started at the same moment and created it;
		// that instance hands the credential over.
		printMintHint(env.Stdout, []store.Tenant{{Name: "default"}}, db, base)
		return nil
	}
	if err != nil {
		return fmt.Errorf("first start: %w", err)
	}
	issued := credential.New(t.ID, time.Now().UTC())
	if err := st.CreateCredential(ctx, issued.Credential); err != nil {
		return fmt.Errorf("first start: %w", err)
	}
	values := fmt.Sprintf(credentialValues, base+httpapi.Prefix, issued.Credential.ID, issued.Password, issued.Bearer)
	more := mintCommand([]store.Tenant{t}, db, base)
	if file == nil {
		fmt.Fprintf(env.Stdout, `First start: created tenant "default" and its credential. Paste into your identity provider
(shown only now; only a hash of the secret is stored):

%s
More credentials (one per identity provider): %s

`, values, more)
		return nil
	}
	if err := file.commit(fmt.Sprintf(`scimd's first start created tenant "default" and this credential. Paste it into your identity
provider, then delete this file (scimd stores only a hash of the secret).

%s`, values)); err != nil {
		return fmt.Errorf("first start: %w; make a credential with: %s", err, more)
	}
	fmt.Fprintf(env.Stdout, `First start: created tenant "default" and its credential. Standard output is not a
terminal, so the secret is not printed here: it is in a file only its owner can read,
  %s
Paste its values into your identity provider, then delete the file.

  SCIM connector base URL:  %s
  More credentials (one per identity provider): %s

`, file.path, base+httpapi.Prefix, more)
	return nil
}

// printMintHint tells, on a start that makes no credential, how to make one.
func printMintHint(w io.Writer, tenants []store.Tenant, db, base string) {
	fmt.Fprintf(w, "SCIM connector base URL: %s\nTo make a credential for an identity provider (its secret is shown once):\n  %s\n", base+httpapi.Prefix, mintCommand(tenants, db, base))
	if len(tenants) > 1 {
		fmt.Fprintf(w, "(%d tenants: scimd tenant list names them)\n", len(tenants))
	}
	fmt.Fprintln(w)
}

// mintCommand is the credential create command for this server, with the flags that
// differ from its defaults.
func mintCommand(tenants []store.Tenant, db, base string) string {
	cmd := "scimd credential create --tenant "
	if len(tenants) == 1 {
		cmd += shellQuote(tenants[0].Name)
	} else {
		cmd += "NAME"
	}
	switch {
	case db == defaultDB:
	case postgres.IsURL(db):
		// Not the URL itself: it may hold the database password, and this is a log.
		cmd += " --db 'postgres://…'"
	default:
		cmd += " --db " + shellQuote(db)
	}
	if base != defaultBaseURL {
		cmd += " --base-url " + shellQuote(base)
	}
	return cmd
}

var shellSafe = regexp.MustCompile(`^[A-Za-z0-9_./:@%+=,-]+$`)

// shellQuote quotes s for a POSIX shell when it needs it, so that a printed command can be
// pasted.
func shellQuote(s string) string {
	if shellSafe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// secretFile is a file with a secret, written whole or not at all.
type secretFile struct {
	tmp  *os.File
	path string
	done bool
}

// createSecretFile starts the file. os.CreateTemp makes it with mode 0600 (the umask can
// only remove bits), and commit's rename replaces any earlier file at path instead of
// reusing it with whatever permissions it had.
func createSecretFile(path string) (*secretFile, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+firstCredentialFile+".*")
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	return &secretFile{tmp: tmp, path: path}, nil
}

func (f *secretFile) commit(content string) error {
	if _, err := f.tmp.WriteString(content); err != nil {
		return fmt.Errorf("write %s: %w", f.path, err)
	}
	if err := f.tmp.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", f.path, err)
	}
	if err := f.tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", f.path, err)
	}
	if err := os.Rename(f.tmp.Name(), f.path); err != nil {
		return fmt.Errorf("write %s: %w", f.path, err)
	}
	f.done = true
	return nil
}

// discard removes the temporary file unless commit succeeded.
func (f *secretFile) discard() {
	if !f.done {
		f.tmp.Close()
		os.Remove(f.tmp.Name())
	}
}
