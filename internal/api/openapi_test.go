package api_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"

	"github.com/scimd/scimd/internal/api"
)

// specValidator checks HTTP exchanges against the served OpenAPI document.
type specValidator struct {
	mu sync.Mutex // the validator is not documented as safe for concurrent use
	v  validator.Validator
}

func newSpecValidator(t testing.TB) *specValidator {
	t.Helper()
	doc, err := libopenapi.NewDocument(api.OpenAPI)
	if err != nil {
		t.Fatalf("parse openapi.yaml: %v", err)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatalf("build validator: %v", errs)
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		for _, e := range verrs {
			t.Errorf("openapi.yaml is not a valid OpenAPI document: %s: %s", e.Message, e.Reason)
		}
		t.FailNow()
	}
	return &specValidator{v: v}
}

// outsideSpec marks a request to a path the document does not have, sent on purpose to
// see the server's 404: such an exchange is not validated.
const outsideSpec = "X-Test-Outside-Spec"

// transport is an http.RoundTripper that sends through http.DefaultTransport and fails
// the test for every request or response the OpenAPI document does not describe.
type transport struct {
	t    testing.TB
	spec *specValidator
	// checked counts the validated exchanges, so a test can tell it validated something.
	mu      sync.Mutex
	checked int
}

func (tr *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil {
		var err error
		if reqBody, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	outside := req.Header.Get(outsideSpec) != ""
	req.Header.Del(outsideSpec)
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil || outside {
		return resp, err
	}
	respBody, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	// The validator reads the bodies: give it copies, and the caller the originals.
	check := req.Clone(req.Context())
	check.Body = io.NopCloser(bytes.NewReader(reqBody))
	checkResp := *resp
	checkResp.Body = io.NopCloser(bytes.NewReader(respBody))
	tr.spec.mu.Lock()
	okReq, reqErrs := tr.spec.v.ValidateHttpRequestSync(check)
	check.Body = io.NopCloser(bytes.NewReader(reqBody))
	okResp, respErrs := tr.spec.v.ValidateHttpResponse(check, &checkResp)
	tr.spec.mu.Unlock()
	// A request the test sends on purpose to be refused is checked only for its answer.
	if !okReq && resp.StatusCode < 400 {
		for _, e := range reqErrs {
			tr.t.Errorf("%s %s: request not described by openapi.yaml: %s (%s)", req.Method, req.URL.RequestURI(), e.Message, e.Reason)
		}
	}
	if !okResp {
		for _, e := range respErrs {
			tr.t.Errorf("%s %s → %d: response not described by openapi.yaml: %s (%s); body %s", req.Method, req.URL.RequestURI(),
				resp.StatusCode, e.Message, e.Reason, truncate(respBody))
		}
	}
	tr.mu.Lock()
	tr.checked++
	tr.mu.Unlock()
	resp.Body = io.NopCloser(bytes.NewReader(respBody))
	return resp, nil
}

func truncate(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 400 {
		return s[:400] + "…"
	}
	return s
}
