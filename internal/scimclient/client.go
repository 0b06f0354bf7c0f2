// Package scimclient is the one SCIM 2.0 client: the tests, the recorded identity-provider
// flows, `scimd check` and `scimd bench` all use it. Raw requests in, status and decoded
// JSON out.
package scimclient

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Client talks to one SCIM base URL (ending in /scim/v2) with one credential.
type Client struct {
	BaseURL string
	// Authorization is the Authorization header value sent with every request.
	Authorization string
	HTTP          *http.Client
	// Retries429 is how many times a request answered 429 is sent again after the wait
	// its Retry-After asks for (integer seconds, at most MaxRetryAfter), as identity
	// providers do (Okta honours Retry-After). 0 returns the 429. Tests leave it 0.
	Retries429 int
}

// MaxRetryAfter bounds the wait for one Retry-After.
const MaxRetryAfter = 60 * time.Second

// New returns a client using bearer authentication.
func New(baseURL, bearer string) *Client {
	return &Client{BaseURL: strings.TrimRight(baseURL, "/"), Authorization: "Bearer " + bearer, HTTP: http.DefaultClient}
}

// Basic returns the Authorization value for Basic authentication.
func Basic(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

// Response is an HTTP response with its body read.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
	// Throttled counts the 429 answers waited out before this one (Retries429).
	Throttled int
}

// JSON decodes the body as a JSON object (numbers as json.Number).
func (r *Response) JSON() (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("decode %d response %q: %w", r.Status, truncate(r.Body), err)
	}
	return m, nil
}

func truncate(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}

// Request is one request: body may be nil, a []byte or string sent as is, or a value
// encoded as JSON.
type Request struct {
	Method string
	Path   string // relative to BaseURL, e.g. "/Users?filter=…"
	Body   any
	Header http.Header
	NoAuth bool
}

// Do sends a request with Content-Type application/scim+json when it has a body.
func (c *Client) Do(ctx context.Context, method, path string, body any) (*Response, error) {
	return c.Send(ctx, Request{Method: method, Path: path, Body: body})
}

// Send sends a request, again after a 429 as Retries429 allows.
func (c *Client) Send(ctx context.Context, req Request) (*Response, error) {
	_, stream := req.Body.(io.Reader)
	throttled := 0
	for {
		resp, err := c.send(ctx, req)
		if err != nil || resp.Status != http.StatusTooManyRequests || throttled >= c.Retries429 || stream {
			if resp != nil {
				resp.Throttled = throttled
			}
			return resp, err
		}
		// RFC 9110 §10.2.3: Retry-After is an HTTP-date or a number of seconds; scimd and
		// Okta's reading use seconds, and without a usable value one second is waited.
		wait := time.Second
		if n, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && n >= 0 {
			wait = min(time.Duration(n)*time.Second, MaxRetryAfter)
		}
		throttled++
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			resp.Throttled = throttled
			return resp, nil
		case <-t.C:
		}
	}
}

func (c *Client) send(ctx context.Context, req Request) (*Response, error) {
	var rd io.Reader
	switch b := req.Body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	case io.Reader: // sent as it comes: chunked, without a Content-Length
		rd = b
	default:
		data, err := json.Marshal(b)
		if err != nil {
			return nil, fmt.Errorf("encode request: %w", err)
		}
		rd = bytes.NewReader(data)
	}
	hr, err := http.NewRequestWithContext(ctx, req.Method, c.BaseURL+req.Path, rd)
	if err != nil {
		return nil, err
	}
	if rd != nil {
		hr.Header.Set("Content-Type", "application/scim+json; charset=utf-8")
	}
	hr.Header.Set("Accept", "application/scim+json")
	if !req.NoAuth && c.Authorization != "" {
		hr.Header.Set("Authorization", c.Authorization)
	}
	for k, vs := range req.Header {
		hr.Header.Del(k)
		for _, v := range vs {
			hr.Header.Add(k, v)
		}
	}
	resp, err := c.HTTP.Do(hr)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", req.Method, req.Path, err)
	}
	defer resp.Body.Close()
	var body io.Reader = resp.Body
	// Okta sends Accept-Encoding: gzip,deflate; a request that sets the header itself
	// gets the body as the server encoded it (net/http decompresses only when it asked).
	if resp.Header.Get("Content-Encoding") == "gzip" && !resp.Uncompressed {
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			return nil, fmt.Errorf("%s %s: gzip body: %w", req.Method, req.Path, err)
		}
		body = zr
	}
	data, err := io.ReadAll(body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: read body: %w", req.Method, req.Path, err)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: data}, nil
}
