// Package api serves the management API at /api/v1, where an application's backend
// onboards tenants, manages their SCIM credentials and reads the directory.
package api

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/scimd/scimd/internal/service"
	"github.com/scimd/scimd/internal/store"
)

// Prefix is where the management API is served.
const Prefix = "/api/v1"

// OpenAPI is the OpenAPI 3.1 description of the management API, served at
// /api/v1/openapi.yaml; the API's tests validate every exchange against it.
//
//go:embed openapi.yaml
var OpenAPI []byte

// maxBodyBytes caps a request body: no request of this API needs more than a few hundred.
const maxBodyBytes = 64 << 10

// Options configure a Server.
type Options struct {
	Logger *slog.Logger
	// Usage, when set, records when each API key was last used.
	Usage *service.Usage
	// Origin is the scheme and host a request reached scimd at, for the SCIM base URL
	// when none is configured (scheme and Host of the request when nil).
	Origin func(*http.Request) string
	// JWKS, when set, is the key set that verifies security event tokens, served without
	// authentication at /api/v1/jwks.json.
	JWKS []byte
}

// Server is the management API.
type Server struct {
	svc    *service.Service
	usage  *service.Usage
	log    *slog.Logger
	origin func(*http.Request) string
	mux    *http.ServeMux
}

// New builds the API over the service layer.
func New(svc *service.Service, opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Server{svc: svc, usage: opts.Usage, log: opts.Logger, origin: opts.Origin, mux: http.NewServeMux()}
	s.mux.HandleFunc("GET "+Prefix+"/openapi.yaml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		w.Write(OpenAPI)
	})
	// Every key may read what its tenant scope covers; admin routes also need scope admin,
	// and global routes a key that spans every tenant.
	if opts.JWKS != nil {
		s.mux.HandleFunc("GET "+Prefix+"/jwks.json", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/jwk-set+json")
			w.Header().Set("Cache-Control", "max-age=300")
			w.Write(opts.JWKS)
		})
	}
	s.route("POST /tenants", global|admin, s.createTenant)
	s.route("GET /tenants", 0, s.listTenants)
	s.route("GET /tenants/{tenant}", 0, s.getTenant)
	s.route("PATCH /tenants/{tenant}", admin, s.updateTenant)
	s.route("DELETE /tenants/{tenant}", global|admin, s.deleteTenant)
	s.route("POST /tenants/{tenant}/disable", admin, s.disableTenant)
	s.route("POST /tenants/{tenant}/enable", admin, s.enableTenant)
	s.route("GET /tenants/{tenant}/connection", 0, s.connection)
	s.route("POST /tenants/{tenant}/credentials", admin, s.mintCredential)
	s.route("GET /tenants/{tenant}/credentials", 0, s.listCredentials)
	s.route("POST /tenants/{tenant}/credentials/{id}/rotate", admin, s.rotateCredential)
	s.route("DELETE /tenants/{tenant}/credentials/{id}", admin, s.revokeCredential)
	s.route("GET /tenants/{tenant}/users", 0, s.listUsers)
	s.route("GET /tenants/{tenant}/users/{id}", 0, s.getUser)
	s.route("GET /tenants/{tenant}/roles", 0, s.listRoles)
	s.route("GET /tenants/{tenant}/roles/{id}/members", 0, s.roleMembers)
	s.route("GET /tenants/{tenant}/groups", 0, s.listGroups)
	s.route("GET /tenants/{tenant}/role-config", 0, s.getRoleConfig)
	s.route("PUT /tenants/{tenant}/role-config", admin, s.putRoleConfig)
	s.route("DELETE /tenants/{tenant}/role-config", admin, s.deleteRoleConfig)
	s.route("GET /role-config", global, s.getRoleConfig)
	s.route("PUT /role-config", global|admin, s.putRoleConfig)
	s.route("DELETE /role-config", global|admin, s.deleteRoleConfig)
	s.route("POST /tenants/{tenant}/setup-links", admin, s.createSetupLink)
	s.route("GET /tenants/{tenant}/activity", 0, s.listActivity)
	s.route("GET /tenants/{tenant}/activity/{id}", 0, s.getActivity)
	s.route("GET /events", 0, s.listEvents)
	s.route("POST /webhooks", admin, s.createWebhook)
	s.route("GET /webhooks", 0, s.listWebhooks)
	s.route("GET /webhooks/{id}", 0, s.getWebhook)
	s.route("DELETE /webhooks/{id}", admin, s.deleteWebhook)
	s.route("POST /webhooks/{id}/disable", admin, s.setWebhookDisabled(true))
	s.route("POST /webhooks/{id}/enable", admin, s.setWebhookDisabled(false))
	s.route("POST /webhooks/{id}/rotate", admin, s.rotateWebhookSecret)
	s.route("GET /webhooks/{id}/deliveries", 0, s.listDeliveries)
	s.route("POST /webhooks/{id}/replay", admin, s.replayWebhook)
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, pattern := s.mux.Handler(r); pattern != "" {
		s.mux.ServeHTTP(w, r)
		return
	}
	// No route: a 405 naming the methods the path has, else a 404, both as problems (the
	// mux's own answers are plain text).
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := s.mux.Handler(probe); pattern != "" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeProblem(w, newProblem(http.StatusMethodNotAllowed, "", "%s %s is not supported; use %s", r.Method, r.URL.Path, strings.Join(allow, " or ")))
		return
	}
	writeProblem(w, newProblem(http.StatusNotFound, "", "no endpoint at %s %s", r.Method, r.URL.Path))
}

// need is what a route asks of the API key beyond reaching the tenant.
type need int

const (
	admin  need = 1 << iota // scope admin: the route changes something
	global                  // a key spanning every tenant: the route is not within one
)

type handler func(w http.ResponseWriter, r *http.Request, key store.APIKey) error

func (s *Server) route(pattern string, n need, h handler) {
	method, path, _ := strings.Cut(pattern, " ")
	s.mux.HandleFunc(method+" "+Prefix+path, func(w http.ResponseWriter, r *http.Request) {
		key, err := s.authorize(r, n)
		if err == nil {
			err = h(w, r, key)
		}
		if err != nil {
			p, ok := problemOf(err)
			if !ok {
				if errors.Is(err, context.Canceled) {
					return
				}
				s.log.Error("management API request failed", "method", r.Method, "path", r.URL.Path, "err", err)
			}
			writeProblem(w, p)
		}
	})
}

// authorize authenticates the API key and checks it may use the route. A tenant-scoped
// key asking for another tenant gets the answer a missing tenant gets, so that it cannot
// learn which ids exist.
func (s *Server) authorize(r *http.Request, n need) (store.APIKey, error) {
	auth := r.Header.Get("Authorization")
	if len(auth) < 7 || !strings.EqualFold(auth[:7], "bearer ") {
		return store.APIKey{}, newProblem(http.StatusUnauthorized, "", "send an API key as Authorization: Bearer <key>")
	}
	key, err := s.svc.AuthenticateAPIKey(r.Context(), strings.TrimSpace(auth[7:]))
	if e, ok := service.AsError(err); ok && e.Kind == service.Forbidden {
		return key, newProblem(http.StatusUnauthorized, "", "invalid API key")
	}
	if err != nil {
		return key, err
	}
	s.usage.APIKey(key.ID, time.Now())
	if t := r.PathValue("tenant"); t != "" && key.TenantID != "" && key.TenantID != t {
		return key, newProblem(http.StatusNotFound, "", "tenant %q not found", t)
	}
	if n&global != 0 && key.TenantID != "" {
		return key, newProblem(http.StatusForbidden, "", "this API key is limited to one tenant; this needs a key for all tenants")
	}
	if n&admin != 0 && key.Scope != service.ScopeAdmin {
		return key, newProblem(http.StatusForbidden, "", "this API key has scope %q; this needs scope %q", key.Scope, service.ScopeAdmin)
	}
	return key, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

// decodeBody decodes a JSON object into v, refusing unknown fields, trailing data and
// other media types. An empty body leaves v as it is.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		return decodeError(err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return newProblem(http.StatusUnsupportedMediaType, "", "send the body as application/json, not %q", ct)
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if dec.More() {
		return badRequest("", "the body holds more than one JSON value")
	}
	return nil
}

// query checks that r has no query parameter but the allowed ones, each at most once: a
// misspelt filter must not silently widen a list.
func query(r *http.Request, allowed ...string) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, badRequest("", "malformed query string: %v", err)
	}
	for name, vs := range q {
		ok := false
		for _, a := range allowed {
			ok = ok || a == name
		}
		if !ok {
			return nil, badRequest(name, "unknown query parameter %q", name)
		}
		if len(vs) > 1 {
			return nil, badRequest(name, "query parameter %q is given more than once", name)
		}
	}
	return q, nil
}

// limitParam is the page size asked for, 0 when none was.
func limitParam(q url.Values) (int, error) {
	if !q.Has("limit") {
		return 0, nil
	}
	n, err := strconv.Atoi(q.Get("limit"))
	if err != nil || n < 1 {
		return 0, badRequest("limit", "limit must be a positive integer")
	}
	return n, nil
}

func boolParam(q url.Values, name string) (*bool, error) {
	switch q.Get(name) {
	case "":
		return nil, nil
	case "true":
		t := true
		return &t, nil
	case "false":
		f := false
		return &f, nil
	}
	return nil, badRequest(name, "%s must be true or false", name)
}

func timeParam(q url.Values, name string) (*time.Time, error) {
	v := q.Get(name)
	if v == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return nil, badRequest(name, "%s must be an RFC 3339 time, e.g. 2026-01-02T15:04:05Z", name)
	}
	return &t, nil
}

// list is the shape of every list response: a page of data and the cursor of the next
// page, null on the last.
type list[T any] struct {
	Data []T     `json:"data"`
	Next *string `json:"next"`
}

func newList[T any](data []T, next string) list[T] {
	l := list[T]{Data: data}
	if next != "" {
		l.Next = &next
	}
	return l
}
