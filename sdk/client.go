// Package sdk is the Go client of scimd's management API (/api/v1): onboard tenants, mint
// and rotate their SCIM credentials, and read the directory the identity providers keep.
//
// It imports nothing of the server, so an application pulls in no server code:
//
//	c := sdk.New("https://scim.example.com", os.Getenv("SCIMD_API_KEY"))
//	t, err := c.CreateTenant(ctx, sdk.TenantCreate{Name: "acme", ExternalRef: "cus_123"})
package sdk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Client calls one scimd server with one API key. It is safe for concurrent use.
type Client struct {
	base       string
	key        string
	http       *http.Client
	maxRetries int
	maxWait    time.Duration
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the HTTP client (http.DefaultClient otherwise).
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// WithRetries sets how many times an idempotent call is retried after a 429 or 503
// answer or a connection error (3 by default; 0 turns retrying off), and the longest wait
// before a retry (30 s by default) whatever Retry-After asks.
func WithRetries(n int, maxWait time.Duration) Option {
	return func(c *Client) { c.maxRetries, c.maxWait = n, maxWait }
}

// New returns a client of the scimd server at serverURL (scheme and host, e.g.
// https://scim.example.com) authenticating with apiKey.
func New(serverURL, apiKey string, opts ...Option) *Client {
	c := &Client{
		base: strings.TrimSuffix(strings.TrimRight(serverURL, "/"), "/api/v1") + "/api/v1",
		key:  apiKey, http: http.DefaultClient, maxRetries: 3, maxWait: 30 * time.Second,
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Error is a refusal from the server: an RFC 9457 problem.
type Error struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	// Field is the request field or query parameter to blame, when one is.
	Field string `json:"field,omitempty"`
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("scimd: %d %s (%s)", e.Status, e.Detail, e.Field)
	}
	return fmt.Sprintf("scimd: %d %s", e.Status, e.Detail)
}

// IsNotFound reports whether err is the server's 404.
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}

// call is one request: its method, path (under /api/v1), query and body.
type call struct {
	method string
	path   string
	query  url.Values
	body   any
	// idempotent calls are retried: repeating them cannot apply a change twice.
	idempotent bool
}

// do sends a call, retrying an idempotent one on 429, 503 and connection errors, and
// decodes a 2xx answer into out (when not nil).
func (c *Client) do(ctx context.Context, cl call, out any) error {
	var body []byte
	if cl.body != nil {
		var err error
		if body, err = json.Marshal(cl.body); err != nil {
			return fmt.Errorf("scimd: encode request: %w", err)
		}
	}
	u := c.base + cl.path
	if len(cl.query) > 0 {
		u += "?" + cl.query.Encode()
	}
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, cl.method, u, bytes.NewReader(body))
		if err != nil {
			return fmt.Errorf("scimd: %w", err)
		}
		req.Header.Set("Authorization", "Bearer "+c.key)
		req.Header.Set("Accept", "application/json")
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := c.http.Do(req)
		retryable := cl.idempotent && attempt < c.maxRetries
		if err != nil {
			if retryable && ctx.Err() == nil {
				if err := c.wait(ctx, attempt, ""); err != nil {
					return err
				}
				continue
			}
			return fmt.Errorf("scimd: %s %s: %w", cl.method, cl.path, err)
		}
		if retryable && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
			io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
			resp.Body.Close()
			if err := c.wait(ctx, attempt, resp.Header.Get("Retry-After")); err != nil {
				return err
			}
			continue
		}
		return decodeResponse(resp, out)
	}
}

func decodeResponse(resp *http.Response, out any) error {
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("scimd: read response: %w", err)
	}
	if resp.StatusCode >= 300 {
		e := &Error{Status: resp.StatusCode}
		if json.Unmarshal(data, e) != nil || e.Detail == "" {
			e.Detail = strings.TrimSpace(string(data))
			if e.Detail == "" {
				e.Detail = http.StatusText(resp.StatusCode)
			}
		}
		e.Status = resp.StatusCode
		return e
	}
	if out == nil || len(data) == 0 {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("scimd: decode response: %w", err)
	}
	return nil
}

// wait sleeps before a retry: what Retry-After asks (seconds or an HTTP date), else an
// exponential backoff with jitter, never longer than maxWait.
func (c *Client) wait(ctx context.Context, attempt int, retryAfter string) error {
	d := time.Duration(0)
	if retryAfter != "" {
		if secs, err := strconv.Atoi(retryAfter); err == nil && secs >= 0 {
			d = time.Duration(secs) * time.Second
		} else if t, err := http.ParseTime(retryAfter); err == nil {
			d = time.Until(t)
		}
	}
	if d <= 0 {
		base := 200 * time.Millisecond << attempt
		d = base/2 + rand.N(base/2+1)
	}
	d = min(d, c.maxWait)
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

func tenantPath(tenantID string, rest ...string) string {
	p := "/tenants/" + url.PathEscape(tenantID)
	for _, r := range rest {
		p += "/" + url.PathEscape(r)
	}
	return p
}

// pageQuery adds cursor and limit to q.
func pageQuery(q url.Values, cursor string, limit int) url.Values {
	if q == nil {
		q = url.Values{}
	}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	return q
}
