package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/scimd/scimd/internal/flows"
)

// TestCheckAgainstServe runs `scimd check` against a fresh `scimd serve`, with each form
// of authentication: every step of every flow passes, and what the flows created is gone.
func TestCheckAgainstServe(t *testing.T) {
	s := startServe(t, []string{"serve", "--addr", "127.0.0.1:0", "--db", tempDB(t)}, nil, true)
	printed := printedSecrets(t, s.stdout.String())
	base := printed["SCIM connector base URL"]
	all, err := flows.Load()
	if err != nil {
		t.Fatal(err)
	}

	r := runMain(t, "", nil, "check", "--bearer", printed["Bearer token"], base)
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("check: exit %d, stderr %q\n%s", r.code, r.stderr, r.stdout)
	}
	steps := 0
	for _, f := range all {
		if !strings.Contains(r.stdout, "\n"+f.Name+" (") && !strings.HasPrefix(r.stdout, f.Name+" (") {
			t.Errorf("flow %s not reported:\n%s", f.Name, r.stdout)
		}
		steps += len(f.Steps)
	}
	if strings.Contains(r.stdout, "FAIL") {
		t.Fatalf("a step failed against scimd:\n%s", r.stdout)
	}
	m := regexp.MustCompile(`(?m)^(\d+) passed, 0 failed\n\z`).FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("no summary line:\n%s", r.stdout)
	}
	if n := atoi(t, m[1]); n < steps {
		t.Fatalf("%d steps passed, the flows have %d", n, steps)
	}

	// Basic authentication, one flow, JSON.
	var rep checkReport
	r = runMain(t, "", nil, "check", "--basic", printed["Basic auth user name"]+":"+printed["Basic auth password"], "--flow", "okta-wizard", "--json", base)
	if r.code != 0 {
		t.Fatalf("check --basic: exit %d, stderr %q\n%s", r.code, r.stderr, r.stdout)
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || len(rep.Flows) != 1 || rep.Failed != 0 || rep.Passed < wizardSteps(all) {
		t.Fatalf("check --json: %v %+v\n%s", err, rep, r.stdout)
	}

	// The flows removed what they created.
	users := callBearer(t, base, printed["Bearer token"], "/Users")
	groups := callBearer(t, base, printed["Bearer token"], "/Groups")
	if users != "0" || groups != "0" {
		t.Fatalf("after check: %s users and %s groups left", users, groups)
	}

	// A wrong credential fails the check, with the reason.
	r = runMain(t, "", nil, "check", "--bearer", "wrong", "--flow", "google", base)
	if r.code == 0 || !strings.Contains(r.stdout, "status 401, want 200") || !strings.Contains(r.stderr, "steps failed") {
		t.Fatalf("check with a wrong token: exit %d, stderr %q\n%s", r.code, r.stderr, r.stdout)
	}
}

func wizardSteps(all []flows.Flow) int {
	for _, f := range all {
		if f.Name == "okta-wizard" {
			return len(f.Steps)
		}
	}
	return 1
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatal(err)
	}
	return n
}

func callBearer(t *testing.T, base, bearer, path string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+path, nil)
	req.Header.Set("Authorization", "Bearer "+bearer)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var l struct {
		TotalResults json.Number `json:"totalResults"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&l); err != nil {
		t.Fatal(err)
	}
	return l.TotalResults.String()
}

// capitalisedOp matches a PATCH operation named as Entra ID names them by default.
var capitalisedOp = regexp.MustCompile(`"op":"(Add|Replace|Remove)"`)

// TestCheckBrokenEndpoint runs `scimd check` against scimd behind a proxy that breaks it
// the two ways SCIM servers most often break with identity providers: op names matched
// case-sensitively (400 for Entra's "Replace"), and 400 instead of 409 for a duplicate
// userName. The check must fail exactly the steps that meet those breaks, saying why,
// and pass the flows that do not.
func TestCheckBrokenEndpoint(t *testing.T) {
	s := startServe(t, []string{"serve", "--addr", "127.0.0.1:0", "--db", tempDB(t)}, nil, true)
	printed := printedSecrets(t, s.stdout.String())
	target, _ := url.Parse("http://" + s.addr)
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ModifyResponse = func(resp *http.Response) error {
		if resp.StatusCode == http.StatusConflict {
			resp.StatusCode = http.StatusBadRequest
		}
		return nil
	}
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Method == http.MethodPatch && capitalisedOp.Match(body) {
			w.Header().Set("Content-Type", "application/scim+json")
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"400","scimType":"invalidSyntax","detail":"unknown op"}`)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		proxy.ServeHTTP(w, r)
	}))
	defer broken.Close()

	r := runMain(t, "", nil, "check", "--bearer", printed["Bearer token"], "--json", broken.URL+"/scim/v2")
	if r.code == 0 {
		t.Fatalf("check passed a broken endpoint:\n%s", r.stdout)
	}
	var rep checkReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("check --json: %v\n%s", err, r.stdout)
	}
	all, err := flows.Load()
	if err != nil {
		t.Fatal(err)
	}
	byFlow := map[string]flows.Flow{}
	for _, f := range all {
		byFlow[f.Name] = f
	}
	dupFailed := false
	for _, res := range rep.Flows {
		f := byFlow[res.Flow]
		for i, sr := range res.Steps {
			if sr.Op == flows.OpCleanup {
				if !sr.Pass {
					t.Errorf("%s: cleanup failed: %s", res.Flow, sr.Reason)
				}
				continue
			}
			step := f.Steps[i]
			switch {
			case capitalisedOp.Match(compact(t, step.Body)):
				if sr.Pass || !strings.Contains(sr.Reason, "status 400") || !strings.Contains(sr.Reason, "unknown op") {
					t.Errorf("%s: %q: pass=%v %q, want a failure on status 400", res.Flow, sr.Step, sr.Pass, sr.Reason)
				}
			case sr.Op == "duplicate is 409":
				dupFailed = !sr.Pass && strings.Contains(sr.Reason, "status 400, want 409")
			}
		}
		if p, fl := res.Counts(); fl > 0 && !strings.HasPrefix(res.Flow, "entra") && res.Flow != "okta-catalog" {
			t.Errorf("%s: %d steps failed (%d passed), but it meets neither break", res.Flow, fl, p)
		}
	}
	if !dupFailed {
		t.Errorf("the duplicate-userName step did not fail on the 400:\n%s", r.stdout)
	}
	if rep.Failed == 0 || !strings.Contains(r.stderr, fmt.Sprintf("%d of %d steps failed", rep.Failed, rep.Passed+rep.Failed)) {
		t.Errorf("stderr %q, report %d passed %d failed", r.stderr, rep.Passed, rep.Failed)
	}
}

func compact(t *testing.T, raw json.RawMessage) []byte {
	t.Helper()
	if len(raw) == 0 {
		return nil
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestCheckUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"check"}, "want one URL"},
		{[]string{"check", "ftp://x"}, "not an http or https URL"},
		{[]string{"check", "http://127.0.0.1:1/scim/v2?aadOptscim062020"}, "without a query"},
		{[]string{"check", "--bearer", "a", "--basic", "b:c", "http://127.0.0.1:1"}, "not both"},
		{[]string{"check", "--basic", "bc", "http://127.0.0.1:1"}, "USER:PASS"},
		{[]string{"check", "--flow", "nope", "http://127.0.0.1:1"}, "no flow named"},
		{[]string{"check", "--bearer", "x", "http://127.0.0.1:1/scim/v2"}, "cannot reach http://127.0.0.1:1/scim/v2"},
	} {
		fails(t, runMain(t, "", nil, tc.args...), tc.want, strings.Join(tc.args, " "))
	}
}
