// Package console is the operator's admin console at /admin: tenants and the health of
// their connections, each tenant's users, roles, activity log, credentials and webhook
// endpoints. Pages are rendered on the server with html/template, without JavaScript; the
// templates and the style sheet are embedded in the binary. Every rule it applies is the
// service layer's.
package console

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/scimd/scimd/internal/service"
	"github.com/scimd/scimd/internal/store"
)

// Prefix is where the console is served.
const Prefix = "/admin"

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Options configure the console. It is off unless Password is set or APIKeyLogin is true.
type Options struct {
	// Password, when set, logs in as the operator.
	Password string
	// APIKeyLogin lets an admin API key for every tenant log in too.
	APIKeyLogin bool
	// Secure marks the session cookie Secure: set it when the console is reached over
	// HTTPS (a request over TLS gets it anyway).
	Secure bool
	// SessionKey signs sessions; several instances behind one address need the same. When
	// empty it is derived from Password, or random for this process.
	SessionKey []byte
	// SessionMaxAge is how long a login lasts (default 12 hours).
	SessionMaxAge time.Duration
	Logger        *slog.Logger
}

// Enabled reports whether opts turn the console on.
func (o Options) Enabled() bool { return o.Password != "" || o.APIKeyLogin }

// Console is the /admin handler.
type Console struct {
	svc      *service.Service
	opts     Options
	log      *slog.Logger
	sessions *sessions
	pages    map[string]*template.Template
	mux      *http.ServeMux
}

// New builds the console over the service layer.
func New(svc *service.Service, opts Options) (*Console, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.SessionMaxAge <= 0 {
		opts.SessionMaxAge = 12 * time.Hour
	}
	key := opts.SessionKey
	if len(key) == 0 && opts.Password != "" {
		sum := sha256.Sum256([]byte("scimd console session key\x00" + opts.Password))
		key = sum[:]
	}
	if len(key) == 0 {
		key = make([]byte, 32)
		rand.Read(key)
	}
	c := &Console{svc: svc, opts: opts, log: opts.Logger, mux: http.NewServeMux(),
		sessions: &sessions{key: key, maxAge: opts.SessionMaxAge, now: time.Now}}
	if err := c.parseTemplates(); err != nil {
		return nil, err
	}
	static, _ := fs.Sub(staticFS, "static")
	c.mux.Handle("GET "+Prefix+"/static/", http.StripPrefix(Prefix+"/static/", http.FileServerFS(static)))
	c.mux.HandleFunc("GET "+Prefix+"/login", c.loginPage)
	c.mux.HandleFunc("POST "+Prefix+"/login", c.login)
	c.mux.HandleFunc("POST "+Prefix+"/logout", c.authed(c.logout))
	c.mux.HandleFunc("GET "+Prefix+"/{$}", c.authed(c.tenants))
	c.mux.HandleFunc("GET "+Prefix+"/tenants/{tenant}/{$}", c.authed(c.tenant))
	c.mux.HandleFunc("POST "+Prefix+"/tenants/{tenant}/setup-links", c.authed(c.createSetupLink))
	c.mux.HandleFunc("GET "+Prefix+"/tenants/{tenant}/users", c.authed(c.users))
	c.mux.HandleFunc("GET "+Prefix+"/tenants/{tenant}/users/{id}", c.authed(c.user))
	c.mux.HandleFunc("GET "+Prefix+"/tenants/{tenant}/roles", c.authed(c.roles))
	c.mux.HandleFunc("GET "+Prefix+"/tenants/{tenant}/roles/{id}", c.authed(c.role))
	c.mux.HandleFunc("POST "+Prefix+"/tenants/{tenant}/role-config", c.authed(c.setRoleConfig))
	c.mux.HandleFunc("GET "+Prefix+"/tenants/{tenant}/activity", c.authed(c.activity))
	c.mux.HandleFunc("GET "+Prefix+"/tenants/{tenant}/activity/{id}", c.authed(c.activityEntry))
	c.mux.HandleFunc("GET "+Prefix+"/tenants/{tenant}/credentials", c.authed(c.credentials))
	c.mux.HandleFunc("POST "+Prefix+"/tenants/{tenant}/credentials", c.authed(c.mintCredential))
	c.mux.HandleFunc("POST "+Prefix+"/tenants/{tenant}/credentials/{id}/rotate", c.authed(c.rotateCredential))
	c.mux.HandleFunc("POST "+Prefix+"/tenants/{tenant}/credentials/{id}/revoke", c.authed(c.revokeCredential))
	for _, base := range []string{Prefix + "/tenants/{tenant}/webhooks", Prefix + "/webhooks"} {
		c.mux.HandleFunc("GET "+base, c.authed(c.webhooks))
		c.mux.HandleFunc("POST "+base, c.authed(c.addWebhook))
		c.mux.HandleFunc("GET "+base+"/{id}", c.authed(c.webhook))
		c.mux.HandleFunc("POST "+base+"/{id}/disable", c.authed(c.disableWebhook))
		c.mux.HandleFunc("POST "+base+"/{id}/enable", c.authed(c.enableWebhook))
		c.mux.HandleFunc("POST "+base+"/{id}/remove", c.authed(c.removeWebhook))
		c.mux.HandleFunc("POST "+base+"/{id}/replay", c.authed(c.replayWebhook))
	}
	c.mux.HandleFunc(Prefix+"/", func(w http.ResponseWriter, r *http.Request) {
		c.render(w, r, http.StatusNotFound, "error", nil, page{Title: "Not found", Message: "There is no page at this address."})
	})
	return c, nil
}

func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	// No page of the console is cached, framed, or allowed to run scripts or load anything
	// from elsewhere.
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	if r.URL.Path == Prefix {
		http.Redirect(w, r, Prefix+"/", http.StatusSeeOther)
		return
	}
	c.mux.ServeHTTP(w, r)
}

func (c *Console) secure(r *http.Request) bool { return c.opts.Secure || r.TLS != nil }

// page is what every template gets.
type page struct {
	Title   string
	CSRF    string
	Tenant  *store.Tenant
	Section string
	Message string
	Error   string
	Data    any
}

type authedFunc func(w http.ResponseWriter, r *http.Request, p *page) error

// authed runs h for a request with a valid session, checking the CSRF token of a post;
// without a session it sends the browser to the login page.
func (c *Console) authed(h authedFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess, ok := c.sessions.read(r)
		if !ok {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, Prefix+"/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			c.render(w, r, http.StatusUnauthorized, "error", nil, page{Title: "Signed out", Message: "Your session has ended: sign in again."})
			return
		}
		p := &page{CSRF: c.sessions.csrf(sess)}
		if r.Method == http.MethodPost && !c.sessions.checkCSRF(sess, r.PostFormValue("csrf")) {
			c.render(w, r, http.StatusForbidden, "error", nil, page{Title: "Refused", Message: "This form has expired or did not come from this console: reload the page and try again."})
			return
		}
		if t := r.PathValue("tenant"); t != "" {
			tn, err := c.svc.Tenant(r.Context(), t)
			if err != nil {
				c.fail(w, r, p, err)
				return
			}
			p.Tenant = &tn
		}
		if err := h(w, r, p); err != nil {
			c.fail(w, r, p, err)
		}
	}
}

// fail renders an error page: the service's refusals as they are, anything else as a
// failure of scimd, logged.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, p *page, err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	status := http.StatusInternalServerError
	msg := "Something went wrong in scimd; the server log has the details."
	if e, ok := service.AsError(err); ok {
		msg = e.Detail
		switch e.Kind {
		case service.NotFound:
			status = http.StatusNotFound
		case service.Invalid:
			status = http.StatusBadRequest
		case service.Conflict:
			status = http.StatusConflict
		case service.Forbidden:
			status = http.StatusForbidden
		}
	} else {
		c.log.Error("console request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	p.Title, p.Message = http.StatusText(status), msg
	c.render(w, r, status, "error", nil, *p)
}

func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, http.StatusOK, "login", nil, page{Title: "Sign in", Data: loginData{Next: safeNext(r.URL.Query().Get("next")), Password: c.opts.Password != "", APIKey: c.opts.APIKeyLogin}})
}

type loginData struct {
	Next             string
	Password, APIKey bool
}

// safeNext keeps a post-login destination inside the console.
func safeNext(next string) string {
	if strings.HasPrefix(next, Prefix+"/") && !strings.HasPrefix(next, "//") && !strings.Contains(next, "\\") {
		return next
	}
	return Prefix + "/"
}

// login checks the password or an admin API key for every tenant (never a SCIM
// credential) and starts a session. A post from another origin is refused: the session
// cookie's SameSite keeps other sites' forms out of the console, and this keeps them from
// logging a browser in.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		c.render(w, r, http.StatusForbidden, "error", nil, page{Title: "Refused", Message: "Sign in from the console's own page."})
		return
	}
	secret := r.PostFormValue("secret")
	data := loginData{Next: safeNext(r.PostFormValue("next")), Password: c.opts.Password != "", APIKey: c.opts.APIKeyLogin}
	if !c.checkLogin(r.Context(), secret) {
		c.log.Warn("console sign-in refused", "remote", r.RemoteAddr)
		c.render(w, r, http.StatusUnauthorized, "login", nil, page{Title: "Sign in", Error: "That is not the console password or an admin API key for every tenant.", Data: data})
		return
	}
	c.sessions.issue(w, c.secure(r))
	http.Redirect(w, r, data.Next, http.StatusSeeOther)
}

func (c *Console) checkLogin(ctx context.Context, secret string) bool {
	if secret == "" {
		return false
	}
	if c.opts.Password != "" {
		got, want := sha256.Sum256([]byte(secret)), sha256.Sum256([]byte(c.opts.Password))
		if subtle.ConstantTimeCompare(got[:], want[:]) == 1 {
			return true
		}
	}
	if c.opts.APIKeyLogin {
		key, err := c.svc.AuthenticateAPIKey(ctx, secret)
		return err == nil && key.TenantID == "" && key.Scope == service.ScopeAdmin
	}
	return false
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request, _ *page) error {
	c.sessions.clear(w, c.secure(r))
	http.Redirect(w, r, Prefix+"/login", http.StatusSeeOther)
	return nil
}

// render writes a page in the layout.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, _ any, p page) {
	t, ok := c.pages[name]
	if !ok {
		http.Error(w, "no template "+name, http.StatusInternalServerError)
		return
	}
	var buf strings.Builder
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		c.log.Error("render console page", "page", name, "err", err)
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprint(w, buf.String())
}

// scimBase is the SCIM base URL: the configured one, else the one this request came to.
func scimBase(svc *service.Service, r *http.Request) string {
	if u := svc.SCIMBaseURL(); u != "" {
		return u
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/scim/v2"
}

// absolute makes a path the service returned (no base URL configured) absolute.
func absolute(svc *service.Service, r *http.Request, u string) string {
	if strings.HasPrefix(u, "/") {
		return strings.TrimSuffix(scimBase(svc, r), "/scim/v2") + u
	}
	return u
}

// sameOrigin reports whether a form post may come from this server's own page: the
// browser's Sec-Fetch-Site says so, or the Origin is this host. A page with
// Referrer-Policy no-referrer posts with Origin "null", which proves nothing either way.
func sameOrigin(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "cross-site", "same-site":
		return false
	}
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		u, err := url.Parse(o)
		return err == nil && u.Host == r.Host
	}
	return true
}
