package console

import (
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"strings"

	"github.com/scimd/scimd/internal/service"
	"github.com/scimd/scimd/internal/store"
)

// SetupPrefix is where the customer's setup pages are served (service.SetupLinkPath).
const SetupPrefix = "/setup"

// Setup serves the setup pages a setup link opens: the customer's administrator picks
// their identity provider, follows its steps with this tenant's values filled in, mints
// the credential and watches the first requests arrive. The link's token is the only
// authentication; it is in every URL of these pages, which are never cached and never
// send a Referer.
type Setup struct {
	svc   *service.Service
	log   *slog.Logger
	pages map[string]*template.Template
	mux   *http.ServeMux
}

// NewSetup builds the setup pages over the service layer.
func NewSetup(svc *service.Service, log *slog.Logger) (*Setup, error) {
	if log == nil {
		log = slog.Default()
	}
	s := &Setup{svc: svc, log: log, mux: http.NewServeMux(), pages: map[string]*template.Template{}}
	for _, name := range []string{"setup", "setup-status", "setup-gone"} {
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/setup-layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, err
		}
		s.pages[name] = t
	}
	// The style sheet sits at a path no token can take ("-" is too short to be one).
	s.mux.HandleFunc("GET "+SetupPrefix+"/-/style.css", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFileFS(w, r, staticFS, "static/style.css")
	})
	s.mux.HandleFunc("GET "+SetupPrefix+"/{token}", s.page)
	s.mux.HandleFunc("POST "+SetupPrefix+"/{token}/credential", s.mint)
	s.mux.HandleFunc("GET "+SetupPrefix+"/{token}/status", s.status)
	s.mux.HandleFunc(SetupPrefix+"/", func(w http.ResponseWriter, r *http.Request) { s.gone(w, r) })
	return s, nil
}

func (s *Setup) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	// The status is framed by the setup page itself, so that it can refresh without
	// JavaScript while the page keeps the credential shown once.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; frame-src 'self'; form-action 'self'; frame-ancestors 'self'; base-uri 'none'")
	s.mux.ServeHTTP(w, r)
}

type setupData struct {
	Token    string
	Tenant   store.Tenant
	IdP      string
	IdPs     []idp
	Guide    *idp
	Steps    []template.HTML
	Minted   bool
	Password string
	Bearer   string
	CredID   string
	BaseURL  string
	UniqueID string
}

func (s *Setup) render(w http.ResponseWriter, status int, name string, data any) {
	var buf strings.Builder
	if err := s.pages[name].ExecuteTemplate(&buf, "layout", data); err != nil {
		s.log.Error("render setup page", "page", name, "err", err)
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write([]byte(buf.String()))
}

func (s *Setup) gone(w http.ResponseWriter, r *http.Request) {
	s.render(w, http.StatusNotFound, "setup-gone", nil)
}

// open resolves the link, answering the error page itself when it is unknown or expired.
func (s *Setup) open(w http.ResponseWriter, r *http.Request) (store.Tenant, store.SetupLink, bool) {
	t, l, err := s.svc.OpenSetupLink(r.Context(), r.PathValue("token"))
	if err != nil {
		if e, ok := service.AsError(err); !ok || e.Kind != service.NotFound {
			s.log.Error("open setup link", "err", err)
			http.Error(w, "scimd failed; try again", http.StatusInternalServerError)
			return t, l, false
		}
		s.gone(w, r)
		return t, l, false
	}
	return t, l, true
}

func (s *Setup) data(r *http.Request, t store.Tenant, token string) (setupData, error) {
	conn, err := s.svc.Connection(r.Context(), t.ID)
	if err != nil {
		return setupData{}, err
	}
	d := setupData{Token: token, Tenant: t, IdPs: idps, BaseURL: scimBase(s.svc, r), UniqueID: conn.UniqueIdentifierField}
	if name := r.FormValue("idp"); name != "" {
		for i := range idps {
			if idps[i].ID == name {
				d.IdP, d.Guide = name, &idps[i]
			}
		}
		if d.Guide == nil {
			return d, errors.New("unknown identity provider")
		}
	}
	return d, nil
}

func (s *Setup) page(w http.ResponseWriter, r *http.Request) {
	t, _, ok := s.open(w, r)
	if !ok {
		return
	}
	d, err := s.data(r, t, r.PathValue("token"))
	if err != nil {
		s.gone(w, r)
		return
	}
	if d.Guide != nil {
		d.Steps = d.Guide.render(d)
	}
	s.render(w, http.StatusOK, "setup", d)
}

// mint makes the tenant's credential and shows it once, in the guide's steps.
func (s *Setup) mint(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		http.Error(w, "post the form from the setup page", http.StatusForbidden)
		return
	}
	t, _, ok := s.open(w, r)
	if !ok {
		return
	}
	d, err := s.data(r, t, r.PathValue("token"))
	if err != nil || d.Guide == nil {
		s.gone(w, r)
		return
	}
	is, err := s.svc.MintCredential(r.Context(), t.ID)
	if err != nil {
		s.log.Error("mint credential from a setup link", "tenant", t.ID, "err", err)
		http.Error(w, "scimd failed to make the credential; try again", http.StatusInternalServerError)
		return
	}
	d.Minted, d.CredID, d.Password, d.Bearer = true, is.Credential.ID, is.Password, is.Bearer
	d.Steps = d.Guide.render(d)
	s.render(w, http.StatusOK, "setup", d)
}

// status is the connection's progress since the link was made; the page refreshes itself.
func (s *Setup) status(w http.ResponseWriter, r *http.Request) {
	t, l, ok := s.open(w, r)
	if !ok {
		return
	}
	st, err := s.svc.SetupStatus(r.Context(), t.ID, l.Created)
	if err != nil {
		s.log.Error("setup status", "tenant", t.ID, "err", err)
		http.Error(w, "scimd failed; this page retries", http.StatusInternalServerError)
		return
	}
	s.render(w, http.StatusOK, "setup-status", st)
}
