// Package httpapi serves the SCIM 2.0 protocol (RFC 7644) over HTTP at /scim/v2: it
// authenticates the tenant, decodes requests, calls the store and renders responses.
package httpapi

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/scimd/scimd/internal/activity"
	"github.com/scimd/scimd/internal/compat"
	"github.com/scimd/scimd/internal/credential"
	"github.com/scimd/scimd/internal/scim"
	"github.com/scimd/scimd/internal/service"
	"github.com/scimd/scimd/internal/store"
)

// Prefix is where SCIM is served.
const Prefix = "/scim/v2"

// contentType is what every SCIM response carries (RFC 7644 §3.1).
const contentType = "application/scim+json"

// Options configure a Server.
type Options struct {
	// BaseURL is the public URL scimd is reached at, used in meta.location and Location:
	// the scheme and host (https://scim.example.com), with or without Prefix
	// (https://scim.example.com/scim/v2, what an identity provider is given) and trailing
	// slashes; NormalizeBaseURL says how it is read. Empty means taken from each request.
	BaseURL string
	// MaxResults caps a page (RFC 7644 §3.4.2.4 "count"); advertised as filter.maxResults.
	MaxResults int
	// MaxBodyBytes caps a request body (default 1 MiB): a larger one is 413.
	MaxBodyBytes int64
	// MaxBodyBytesInFlight caps the bytes of request bodies handled at once (default
	// 2 MiB); a request whose body does not fit waits for its turn before its body is
	// read. It bounds the memory of decoded bodies.
	MaxBodyBytesInFlight int64
	// MaxInFlight caps the requests handled at once (0: no cap); one over it is 503 with
	// Retry-After.
	MaxInFlight int
	Logger      *slog.Logger
	// FilterLimits bound a filter's length, depth and number of nodes (zero fields take
	// scim.DefaultFilterLimits); a filter over them is 400 invalidFilter.
	FilterLimits scim.FilterLimits
	// Extensions are schema extensions from the schema file (scim.ParseSchemaFile), for
	// all tenants or for the tenants they name.
	Extensions []scim.ExtensionConfig

	// MaxBulkOperations and MaxBulkPayloadBytes cap a /Bulk request (RFC 7644 §3.7.4);
	// advertised as bulk.maxOperations and bulk.maxPayloadSize.
	MaxBulkOperations   int
	MaxBulkPayloadBytes int64

	// Usage, when set, records when each credential was last used and by which identity
	// provider.
	Usage *service.Usage

	// QueryTimeout bounds a list's database work (0: no bound); a list over it is 400
	// tooMany.
	QueryTimeout time.Duration
	// ExpensiveReadsPerTenant bounds one tenant's sorted lists run at once (default 2);
	// the others wait for their turn.
	ExpensiveReadsPerTenant int

	// Compat gives each tenant the client dialect switches it needs (serve --compat).
	Compat *compat.Config

	// RatePerCredential and RatePerTenant limit requests per second (0: no limit), each
	// with a burst of twice its rate; a request over either is 429 with Retry-After.
	RatePerCredential, RatePerTenant float64
	// TrustedProxies are the addresses whose X-Forwarded-Proto and X-Forwarded-Host are
	// believed when BaseURL is not set.
	TrustedProxies []netip.Prefix
	// AuthFailuresPerMinute is how many failed authentications a client address, and a
	// credential id, may have a minute before failures are answered 429 (0: no bound).
	AuthFailuresPerMinute int
	// Activity, when set, records each request of a known tenant in its activity log.
	Activity *activity.Recorder
	// SecurityEventURIs, when set, are the RFC 9967 events scimd pushes, advertised in
	// /ServiceProviderConfig as "securityEvents".
	SecurityEventURIs []string
}

// Defaults of Options.
const (
	DefaultMaxBodyBytes         = 1 << 20
	DefaultMaxBodyBytesInFlight = 2 << 20
)

// Server is the SCIM HTTP API.
type Server struct {
	store   store.Store
	opts    Options
	log     *slog.Logger
	handler http.Handler
	buffers bufferPool
	// defaultTypes are the resource types of tenants without extensions of their own;
	// tenantTypes those of tenants with, by tenant name.
	defaultTypes *resourceTypes
	tenantTypes  map[string]*resourceTypes
	bodies       *byteBudget
	expensive    *tenantSlots
	inFlight     chan struct{}
	overloaded   atomic.Int64
	// clientFailures counts requests the client did not complete (see clientFailure).
	clientFailures atomic.Int64
	// Request rates, and failed authentications by client address and by credential id
	// (throttleLog keeps their throttling to one log line a minute per address).
	credentialRate, tenantRate            *buckets
	failedByAddr, failedByID, throttleLog *buckets
	// clients remembers each credential's identity provider.
	clients compat.ClientMemory
}

// ClientFailures is how many requests failed by their client's doing since the server
// started: a body that could not be read (bad framing, a disconnect, the read timeout) or
// a response the client stopped receiving. They are logged at INFO, not as errors.
func (s *Server) ClientFailures() int64 { return s.clientFailures.Load() }

// clientFailure is a request its client did not complete. status is the answer, when the
// client may still be listening; 0 when the response had already begun.
type clientFailure struct {
	status int
	err    error
}

func (e *clientFailure) Error() string { return "client failure: " + e.err.Error() }
func (e *clientFailure) Unwrap() error { return e.err }

// bodyReadFailure classifies an error reading a request body: the read timeout is 408,
// anything else (malformed chunked framing, a body cut short by a disconnect) 400.
func bodyReadFailure(err error) error {
	var maxErr *http.MaxBytesError
	if errors.As(err, &maxErr) {
		return err
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded) {
		return &clientFailure{status: http.StatusRequestTimeout, err: err}
	}
	return &clientFailure{status: http.StatusBadRequest, err: err}
}

// New builds the API over a store.
func New(st store.Store, opts Options) *Server {
	if opts.MaxResults <= 0 {
		opts.MaxResults = 1000
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.MaxBodyBytesInFlight <= 0 {
		opts.MaxBodyBytesInFlight = DefaultMaxBodyBytesInFlight
	}
	if opts.MaxBulkOperations <= 0 {
		opts.MaxBulkOperations = 1000
	}
	if opts.MaxBulkPayloadBytes <= 0 {
		opts.MaxBulkPayloadBytes = 1 << 20
	}
	// A bulk body is a request body: the smaller limit is the one clients meet, so it is
	// the one advertised.
	opts.MaxBulkPayloadBytes = min(opts.MaxBulkPayloadBytes, opts.MaxBodyBytes)
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	opts.BaseURL = NormalizeBaseURL(opts.BaseURL)
	s := &Server{store: st, opts: opts, log: opts.Logger, bodies: newByteBudget(opts.MaxBodyBytesInFlight),
		credentialRate: newBuckets(opts.RatePerCredential, int(2*opts.RatePerCredential)),
		tenantRate:     newBuckets(opts.RatePerTenant, int(2*opts.RatePerTenant)),
	}
	if n := opts.AuthFailuresPerMinute; n > 0 {
		s.failedByAddr = newBuckets(float64(n)/60, n)
		s.failedByID = newBuckets(float64(n)/60, n)
		s.throttleLog = newBuckets(1.0/60, 1)
	}
	if opts.ExpensiveReadsPerTenant <= 0 {
		opts.ExpensiveReadsPerTenant = 2
		s.opts.ExpensiveReadsPerTenant = 2
	}
	s.expensive = &tenantSlots{n: opts.ExpensiveReadsPerTenant, slots: map[string]chan struct{}{}}
	if opts.MaxInFlight > 0 {
		s.inFlight = make(chan struct{}, opts.MaxInFlight)
	}
	s.buildTypes(opts.Extensions)
	mux := http.NewServeMux()
	route := func(pattern string, h handlerFunc) {
		mux.Handle(pattern, s.authenticated(h))
	}
	route("GET "+Prefix+"/Users", s.listUsers)
	route("POST "+Prefix+"/Users", s.createUser)
	route("GET "+Prefix+"/Users/{id}", s.getUser)
	route("PUT "+Prefix+"/Users/{id}", s.replaceUser)
	route("PATCH "+Prefix+"/Users/{id}", s.patchUser)
	route("DELETE "+Prefix+"/Users/{id}", s.deleteUser)
	route("GET "+Prefix+"/Groups", s.listGroups)
	route("POST "+Prefix+"/Groups", s.createGroup)
	route("GET "+Prefix+"/Groups/{id}", s.getGroup)
	route("PUT "+Prefix+"/Groups/{id}", s.replaceGroup)
	route("PATCH "+Prefix+"/Groups/{id}", s.patchGroup)
	route("DELETE "+Prefix+"/Groups/{id}", s.deleteGroup)
	route("GET "+Prefix+"/ServiceProviderConfig", s.serviceProviderConfig)
	route("GET "+Prefix+"/ResourceTypes", s.resourceTypes)
	route("GET "+Prefix+"/ResourceTypes/{id}", s.resourceType)
	route("GET "+Prefix+"/Schemas", s.schemas)
	route("GET "+Prefix+"/Schemas/{id}", s.schema)
	route("POST "+Prefix+"/Bulk", s.bulk)
	route("POST "+Prefix+"/.search", s.searchRoot)
	route("GET "+Prefix+"/{$}", s.listRoot)
	route("POST "+Prefix+"/Users/.search", s.searchUsers)
	route("POST "+Prefix+"/Groups/.search", s.searchGroups)
	route(Prefix+"/Me", s.me)
	route(Prefix+"/Me/", s.me)
	// Anything else under the prefix is a SCIM 404 (or 405), never an HTML page.
	route(Prefix+"/", func(w http.ResponseWriter, r *http.Request) error {
		return scim.NotFound("no SCIM endpoint at %s %s", r.Method, r.URL.Path)
	})
	s.handler = s.recorded(s.limited(cleanSCIMPath(mux)))
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// NormalizeBaseURL returns a public base URL without trailing slashes and without a
// trailing Prefix, so that appending Prefix gives the SCIM root exactly once whether the
// operator typed https://scim.example.com or the connector URL
// https://scim.example.com/scim/v2/ (what identity providers' forms ask for). A path in
// front of the prefix (a proxy's https://example.com/identity) is kept.
func NormalizeBaseURL(base string) string {
	base = strings.TrimRight(base, "/")
	if n := len(base) - len(Prefix); n >= 0 && strings.EqualFold(base[n:], Prefix) {
		base = strings.TrimRight(base[:n], "/")
	}
	return base
}

// cleanSCIMPath canonicalizes the path of a SCIM request before the mux sees it. The mux
// would answer a trailing slash (/Users/, which Microsoft's SCIM validator sends) with a
// 404 and a path it cleans itself (//Users, /./Users, /scim/v2) with a redirect, and
// identity providers follow neither: they report a failed request. Here such paths are
// served as their clean form. Paths that clean to something outside Prefix are not SCIM
// requests and are left to the mux.
func cleanSCIMPath(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		escaped := r.URL.EscapedPath()
		// path.Clean works on the escaped form so that an encoded slash (%2F) stays part
		// of its segment; it allocates nothing for a path that is already clean, as nearly
		// every request's is.
		clean := escaped
		if !strings.HasPrefix(clean, "/") {
			clean = "/" + clean
		}
		clean = path.Clean(clean)
		if clean != Prefix && !strings.HasPrefix(clean, Prefix+"/") {
			next.ServeHTTP(w, r)
			return
		}
		if clean == Prefix {
			clean = Prefix + "/" // the root's route, GET /scim/v2/{$}
		}
		if clean == escaped {
			next.ServeHTTP(w, r)
			return
		}
		unescaped, err := url.PathUnescape(clean)
		if err != nil {
			// Cleaning only removes segments and slashes, so it cannot break an escape
			// that the server already decoded; keep the request as it came if it did.
			next.ServeHTTP(w, r)
			return
		}
		r2 := new(http.Request)
		*r2 = *r
		u := *r.URL
		u.Path, u.RawPath = unescaped, ""
		if u.EscapedPath() != clean {
			u.RawPath = clean // keeps an escape the default encoding would change (%2F)
		}
		r2.URL = &u
		next.ServeHTTP(w, r2)
	})
}

// handlerFunc is a handler that returns its error; serve renders it in one place.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

type tenantKey struct{}

type tenantNameKey struct{}

func tenantNameOf(ctx context.Context) string {
	name, _ := ctx.Value(tenantNameKey{}).(string)
	return name
}

func tenantOf(ctx context.Context) string {
	id, _ := ctx.Value(tenantKey{}).(string)
	return id
}

// authenticated resolves the credential to its tenant, then runs h and renders its error.
func (s *Server) authenticated(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := activity.InfoFrom(r.Context())
		if info != nil {
			info.Route = r.Pattern
		}
		c, id, err := s.authenticate(r, info)
		if err != nil {
			err = s.authFailed(w, r, id, err)
		} else {
			err = s.admit(w, c)
		}
		if err == nil {
			ctx := context.WithValue(r.Context(), tenantKey{}, c.TenantID)
			ctx = context.WithValue(ctx, typesKey{}, s.typesFor(c.TenantName))
			ctx = context.WithValue(ctx, tenantNameKey{}, c.TenantName)
			err = h(w, r.WithContext(ctx))
		}
		if err != nil {
			s.renderError(w, r, err)
		}
	})
}

// authenticate returns the request's credential, or the id it claimed (if any) and why
// it is refused.
func (s *Server) authenticate(r *http.Request, info *activity.Info) (store.Credential, string, error) {
	var id, secret string
	if user, pass, ok := r.BasicAuth(); ok {
		id, secret = user, pass
	} else if auth := r.Header.Get("Authorization"); len(auth) > 7 && strings.EqualFold(auth[:7], "bearer ") {
		var ok bool
		if id, secret, ok = credential.SplitBearer(strings.TrimSpace(auth[7:])); !ok {
			return store.Credential{}, "", scim.Unauthorized("malformed bearer token")
		}
	} else {
		return store.Credential{}, "", scim.Unauthorized("authentication required: Basic or Bearer")
	}
	c, err := s.store.Credential(r.Context(), id)
	now := time.Now()
	if errors.Is(err, store.ErrNotFound) {
		credential.Valid(store.Credential{}, secret, now) // same work whether or not the id exists
		return store.Credential{}, id, scim.Unauthorized("invalid credentials")
	}
	if err != nil {
		return store.Credential{}, id, err
	}
	if info == nil {
		info = &activity.Info{Client: compat.IdentifyClient(r)}
	}
	// Known even when the secret is wrong: a tenant's log shows its identity provider
	// failing to authenticate with a revoked or rotated credential.
	info.TenantID, info.TenantName, info.CredentialID = c.TenantID, c.TenantName, c.ID
	if !credential.Valid(c, secret, now) {
		if info.Client == "" {
			info.Client, info.ClientRemembered = cmp.Or(s.clients.Recall(c.ID), c.LastClient), true
		}
		return store.Credential{}, id, scim.Unauthorized("invalid credentials")
	}
	own := info.Client
	if own != "" {
		s.clients.Remember(c.ID, own)
	} else {
		// A request of no telling shape (a GET by id, a PUT) is the identity provider's
		// whose this credential's requests were last recognised as: in this process, or
		// as the store last recorded it.
		info.Client, info.ClientRemembered = cmp.Or(s.clients.Recall(c.ID), c.LastClient), true
	}
	s.opts.Usage.Credential(c.ID, own, now)
	return c, id, nil
}

// bodyClient recognises the identity provider from the shape of the request's body, when
// neither its User-Agent nor its URL did, and remembers it for the credential.
func (s *Server) bodyClient(r *http.Request, body map[string]any) {
	info := activity.InfoFrom(r.Context())
	if info == nil || (info.Client != "" && !info.ClientRemembered) {
		return
	}
	c := compat.BodyClient(r.Method, body)
	if c == "" {
		return
	}
	info.Client, info.ClientRemembered = c, false
	s.clients.Remember(info.CredentialID, c)
	s.opts.Usage.Credential(info.CredentialID, c, time.Now())
}

// authFailed logs a refused authentication and throttles repeated ones: past the budget
// of failures for the client's address or for the credential id it claimed, the answer is
// 429 with Retry-After instead of 401, which slows a guessing client down. A valid
// credential is never refused by this: identity providers send from addresses they share
// among their customers, and one customer's misconfigured connection must not lock the
// others out.
func (s *Server) authFailed(w http.ResponseWriter, r *http.Request, id string, err error) error {
	e, ok := scim.AsError(err)
	if !ok || e.Status != http.StatusUnauthorized {
		return err
	}
	now := time.Now()
	addr := clientAddress(r)
	okAddr, waitAddr := s.failedByAddr.take(addr, now)
	okID, waitID := true, time.Duration(0)
	if id != "" {
		okID, waitID = s.failedByID.take(id, now)
	}
	if okAddr && okID {
		// Logged while under the budget only: a flood of failures is one line per window. A
		// request that claims no credential at all (a probe, a browser) is only DEBUG.
		level := slog.LevelInfo
		if id == "" {
			level = slog.LevelDebug
		}
		s.log.Log(r.Context(), level, "SCIM authentication failed", "addr", addr, "credential", id, "reason", e.Detail)
		return err
	}
	if !s.throttledLogged(addr, now) {
		s.log.Warn("SCIM authentication failures throttled", "addr", addr, "credential", id)
	}
	wait := max(waitAddr, waitID)
	w.Header().Set("Retry-After", strconv.Itoa(retryAfter(wait)))
	return scim.Status(http.StatusTooManyRequests, "too many failed authentications; retry after %d seconds", retryAfter(wait))
}

// throttledLogged reports whether addr's throttling was logged in the last minute, and
// notes it if not.
func (s *Server) throttledLogged(addr string, now time.Time) bool {
	ok, _ := s.throttleLog.take(addr, now)
	return !ok
}

// admit applies the request rate limits of the credential and of its tenant.
func (s *Server) admit(w http.ResponseWriter, c store.Credential) error {
	now := time.Now()
	for _, l := range []struct {
		b    *buckets
		key  string
		what string
	}{{s.credentialRate, c.ID, "this credential"}, {s.tenantRate, c.TenantID, "this tenant"}} {
		if ok, wait := l.b.take(l.key, now); !ok {
			w.Header().Set("Retry-After", strconv.Itoa(retryAfter(wait)))
			return scim.Status(http.StatusTooManyRequests, "request rate of %s exceeded; retry after %d seconds", l.what, retryAfter(wait))
		}
	}
	return nil
}

// renderError writes the RFC 7644 §3.12 error envelope.
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, err error) {
	var cf *clientFailure
	if errors.As(err, &cf) {
		s.clientFailures.Add(1)
		s.log.Info("client did not complete the request", "method", r.Method, "path", r.URL.Path, "err", cf.err)
		if cf.status == 0 {
			return
		}
		if cf.status == http.StatusRequestTimeout {
			err = scim.Status(cf.status, "the request body did not arrive within the server's read timeout")
		} else {
			err = scim.InvalidSyntax("the request body could not be read: %v", cf.err)
		}
	}
	e, ok := scim.AsError(err)
	switch {
	case ok:
	case errors.Is(err, store.ErrNotFound):
		e = scim.NotFound("resource not found")
	case errors.Is(err, context.Canceled):
		return
	default:
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			e = scim.Status(http.StatusRequestEntityTooLarge, "request body exceeds %d bytes", maxErr.Limit)
			break
		}
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		e = scim.Status(http.StatusInternalServerError, "internal error")
	}
	if e.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="scimd", Bearer realm="scimd"`)
	}
	body := map[string]any{
		"schemas": []string{scim.ErrorSchema},
		// RFC 7644 §3.12: "status" is "The HTTP status code ... expressed as a JSON string".
		"status": strconv.Itoa(e.Status),
		"detail": e.Detail,
	}
	if e.ScimType != "" {
		body["scimType"] = e.ScimType
	}
	if info := activity.InfoFrom(r.Context()); info != nil {
		info.ScimType, info.Detail = e.ScimType, e.Detail
	}
	writeJSON(w, e.Status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// readBody reads and parses a JSON request body, of a media type compat.BodyMediaType
// accepts (identity providers send more than RFC 7644 §3.1's application/scim+json).
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) (map[string]any, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if !compat.BodyMediaType(ct) {
			return nil, scim.Status(http.StatusUnsupportedMediaType, "Content-Type %q is not supported: use application/scim+json", ct)
		}
	}
	if r.ContentLength > s.opts.MaxBodyBytes {
		return nil, &http.MaxBytesError{Limit: s.opts.MaxBodyBytes}
	}
	declared := r.ContentLength
	if declared < 0 || declared > s.opts.MaxBodyBytes {
		declared = s.opts.MaxBodyBytes
	}
	if err := s.holdBody(r, declared); err != nil {
		return nil, err
	}
	data, err := readAll(http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes), r.ContentLength, s.opts.MaxBodyBytes)
	if err != nil {
		return nil, bodyReadFailure(err)
	}
	body, err := scim.DecodeBody(data)
	if err == nil {
		s.bodyClient(r, body)
	}
	return body, err
}

// readAll reads a body into one buffer of its declared length when it has one (io.ReadAll
// grows its buffer by copying, about three times the body's size for a large one).
func readAll(body io.Reader, contentLength, limit int64) ([]byte, error) {
	if contentLength < 0 || contentLength > limit {
		return io.ReadAll(body)
	}
	buf := make([]byte, contentLength)
	if _, err := io.ReadFull(body, buf); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return buf, nil
}

// baseURL is the absolute URL of the SCIM root for this request.
func (s *Server) baseURL(r *http.Request) string {
	if s.opts.BaseURL != "" {
		return s.opts.BaseURL + Prefix
	}
	return RequestOrigin(r, s.opts.TrustedProxies) + Prefix
}

// RequestOrigin is the scheme and host a client used to reach r: X-Forwarded-Proto and
// X-Forwarded-Host when the request comes straight from a trusted proxy, else the
// connection's own. From anyone else those headers are ignored, or any client could make
// scimd hand out URLs of its choosing (in meta.location and Location).
func RequestOrigin(r *http.Request, trusted []netip.Prefix) string {
	scheme, host := "http", r.Host
	if r.TLS != nil {
		scheme = "https"
	}
	if len(trusted) == 0 {
		return scheme + "://" + host
	}
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return scheme + "://" + host
	}
	addr := peer.Addr().Unmap()
	for _, p := range trusted {
		if !p.Contains(addr) {
			continue
		}
		// A proxy chain appends: the first value is what the client sent to the first proxy.
		if v := firstForwarded(r.Header.Get("X-Forwarded-Proto")); v == "http" || v == "https" {
			scheme = v
		}
		if v := firstForwarded(r.Header.Get("X-Forwarded-Host")); v != "" && validHost(v) {
			host = v
		}
		break
	}
	return scheme + "://" + host
}

func firstForwarded(v string) string {
	first, _, _ := strings.Cut(v, ",")
	return strings.ToLower(strings.TrimSpace(first))
}

// validHost accepts a host[:port] of letters, digits, dots, hyphens, and a bracketed IPv6
// address: nothing that could end the URL early or add a path.
func validHost(h string) bool {
	for _, c := range h {
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.ContainsRune(".-:[]", c)
		if !ok {
			return false
		}
	}
	return len(h) <= 253
}

// etag renders a version as a weak entity tag (RFC 7644 §3.14).
func etag(version int64) string {
	return `W/"` + strconv.FormatInt(version, 10) + `"`
}

// checkIfMatch enforces If-Match on a write (RFC 7644 §3.14): a stale tag is 412.
func checkIfMatch(r *http.Request, m store.Meta) error {
	h := r.Header.Get("If-Match")
	if h == "" {
		return nil
	}
	if etagListMatches(h, m.Version) {
		return nil
	}
	return scim.PreconditionFailed("the resource has changed: its version is %s", etag(m.Version))
}

// etagListMatches compares a header's entity tags with a version; weak and strong forms
// of the same tag match, as clients echo either.
func etagListMatches(header string, version int64) bool {
	want := strconv.FormatInt(version, 10)
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" {
			return true
		}
		t = strings.TrimPrefix(t, "W/")
		if strings.Trim(t, `"`) == want {
			return true
		}
	}
	return false
}

// listParams reads startIndex and count (RFC 7644 §3.4.2.4) and the filter.
func (s *Server) listParams(r *http.Request, rt *scim.ResourceType) (store.ListQuery, error) {
	q := store.ListQuery{StartIndex: 1, Count: 100}
	v := r.URL.Query()
	if raw := v.Get("startIndex"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil {
			return q, scim.InvalidValue("startIndex must be an integer, got %q", raw)
		}
		// "A value less than 1 SHALL be interpreted as 1."
		q.StartIndex = max(n, 1)
	}
	if raw := v.Get("count"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil {
			return q, scim.InvalidValue("count must be an integer, got %q", raw)
		}
		// "A negative value SHALL be interpreted as "0"."; above maxResults the page is
		// cut to maxResults.
		q.Count = min(max(n, 0), s.opts.MaxResults)
	}
	if raw := v.Get("sortBy"); raw != "" {
		p, err := scim.ParseSortBy(rt, raw)
		if err != nil {
			return q, err
		}
		q.SortBy = p
	}
	// RFC 7644 §3.4.2.3: "If sortBy is provided and sortOrder is not specified, sortOrder
	// SHALL default to ascending"; without sortBy it has nothing to order.
	switch order := v.Get("sortOrder"); order {
	case "", "ascending":
	case "descending":
		q.SortDescending = true
	default:
		return q, scim.InvalidValue("sortOrder must be \"ascending\" or \"descending\", got %q", order)
	}
	if v.Has("cursor") {
		// RFC 9865 §2: an empty (or valueless) cursor asks for the first page of a cursor-
		// paged query; startIndex does not apply to it.
		if v.Has("startIndex") {
			return q, scim.InvalidValue("startIndex and cursor are two ways of paging: give one of them")
		}
		c := v.Get("cursor")
		q.Cursor = &c
	}
	if raw := v.Get("filter"); raw != "" {
		f, err := scim.ParseFilterWithLimits(raw, s.opts.FilterLimits)
		if err != nil {
			return q, err
		}
		if err := scim.ResolveFilter(rt, f); err != nil {
			return q, err
		}
		q.Filter = f
	}
	q.Type = rt
	return q, nil
}

func projectionOf(r *http.Request, rt *scim.ResourceType) *scim.Projection {
	v := r.URL.Query()
	return scim.ParseProjection(rt, v.Get("attributes"), v.Get("excludedAttributes"))
}
