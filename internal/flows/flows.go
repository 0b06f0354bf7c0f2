// Package flows holds what identity providers send to a SCIM server, recorded as data (one
// JSON file per provider dialect under testdata/, embedded in the binary), and the runner
// that replays them over internal/scimclient: the tests replay them against scimd, `scimd
// check` against any endpoint, and docs/compatibility.md is generated from their results.
//
// A flow is an ordered list of steps. Each step is one request (method, path and query,
// headers, body) with the statuses that are acceptable and the response properties that
// matter to the provider. Values such as ids are saved from one step's response and
// substituted into later steps as ${name}; ${rand} is a random suffix chosen once per run,
// so that every run creates uniquely named resources, and every resource a flow creates is
// deleted when the flow ends, whether it passed or not.
package flows

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
)

//go:embed testdata/*.json
var fixtures embed.FS

// Flow is one provider dialect's recorded requests.
type Flow struct {
	// Name is the file's base name, as given to `scimd check --flow`.
	Name string `json:"-"`
	// Provider is the identity provider as an admin knows it, e.g. "Okta (catalog app)".
	Provider string `json:"provider"`
	// About says where the requests come from.
	About string `json:"about"`
	// Sources name the public documentation and test suites the requests are taken from.
	Sources []string `json:"sources"`
	// Headers are sent with every request (User-Agent, Accept, …).
	Headers map[string]string `json:"headers"`
	// BaseQuery is appended to the base URL as the provider's admin enters it, e.g.
	// "aadOptscim062020": it then comes first in the query of every request.
	BaseQuery string `json:"baseQuery"`
	// Vars are the flow's variables, expanded once per run (they may use ${rand}).
	Vars  map[string]string `json:"vars"`
	Steps []Step            `json:"steps"`
}

// Step is one request and what its response must show.
type Step struct {
	// Name says what the provider is doing, e.g. "connector test".
	Name string `json:"name"`
	// Op is the operation's row in docs/compatibility.md; steps that share an Op are
	// one row, passing when all of them pass.
	Op      string            `json:"op"`
	Method  string            `json:"method"`
	Path    string            `json:"path"`
	Headers map[string]string `json:"headers"`
	Body    json.RawMessage   `json:"body"`
	// Echo sends the body of the last response (the GET before a PUT, as Okta's custom
	// apps do) with Set applied, instead of Body.
	Echo bool           `json:"echo"`
	Set  map[string]any `json:"set"`
	// Status lists the acceptable statuses.
	Status Statuses `json:"status"`
	// Expect maps response paths to what must be found there (see match).
	Expect map[string]any `json:"expect"`
	// Save maps variable names to response paths whose values later steps use.
	Save map[string]string `json:"save"`
}

// Statuses is one status or a list of them.
type Statuses []int

// UnmarshalJSON reads 200 or [200, 204].
func (s *Statuses) UnmarshalJSON(b []byte) error {
	var one int
	if err := json.Unmarshal(b, &one); err == nil {
		*s = Statuses{one}
		return nil
	}
	var many []int
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("status: want a number or a list of numbers: %w", err)
	}
	*s = many
	return nil
}

// flowOrder puts the most used providers first; other flows follow by name.
var flowOrder = []string{"okta-catalog", "okta-wizard", "entra", "entra-aadOptscim062020", "jumpcloud", "onelogin", "google"}

// cmpOrder orders fixture file names by their flow's place in order, then by name.
func cmpOrder(order []string, a, b string) int {
	rank := func(n string) int {
		if i := slices.Index(order, strings.TrimSuffix(path.Base(n), ".json")); i >= 0 {
			return i
		}
		return len(order)
	}
	if ra, rb := rank(a), rank(b); ra != rb {
		return ra - rb
	}
	return strings.Compare(a, b)
}

// Load returns every embedded flow, the most used providers first.
func Load() ([]Flow, error) {
	names, err := fs.Glob(fixtures, "testdata/*.json")
	if err != nil {
		return nil, fmt.Errorf("list flows: %w", err)
	}
	slices.SortFunc(names, func(a, b string) int { return cmpOrder(flowOrder, a, b) })
	var out []Flow
	for _, n := range names {
		data, err := fixtures.ReadFile(n)
		if err != nil {
			return nil, fmt.Errorf("read flow %s: %w", n, err)
		}
		f, err := Parse(strings.TrimSuffix(path.Base(n), ".json"), data)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

// Select returns the flows named in names (comma-separated, or "all").
func Select(all []Flow, names string) ([]Flow, error) {
	if names == "" || names == "all" {
		return all, nil
	}
	var out []Flow
	for _, n := range strings.Split(names, ",") {
		i := slices.IndexFunc(all, func(f Flow) bool { return f.Name == strings.TrimSpace(n) })
		if i < 0 {
			return nil, fmt.Errorf("no flow named %q; flows: %s, all", n, strings.Join(Names(all), ", "))
		}
		out = append(out, all[i])
	}
	return out, nil
}

// Names lists the flows' names.
func Names(all []Flow) []string {
	var out []string
	for _, f := range all {
		out = append(out, f.Name)
	}
	return out
}

// Parse reads one flow. Unknown fields are errors: a misspelt expectation that was
// silently ignored would be a check that cannot fail.
func Parse(name string, data []byte) (Flow, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	var f Flow
	if err := dec.Decode(&f); err != nil {
		return Flow{}, fmt.Errorf("flow %s: %w", name, err)
	}
	f.Name = name
	if f.Provider == "" || len(f.Steps) == 0 {
		return Flow{}, fmt.Errorf("flow %s: provider and steps are required", name)
	}
	// Variables are expanded once, in no particular order, so they may use ${rand} (and
	// ${guid}) but not each other.
	for k, v := range f.Vars {
		for _, m := range varRE.FindAllStringSubmatch(v, -1) {
			if m[1] != "rand" && m[1] != "guid" {
				return Flow{}, fmt.Errorf("flow %s: var %s uses ${%s}: vars may use only ${rand} and ${guid}", name, k, m[1])
			}
		}
	}
	for i, s := range f.Steps {
		if s.Name == "" || s.Op == "" || s.Method == "" || !strings.HasPrefix(s.Path, "/") || len(s.Status) == 0 {
			return Flow{}, fmt.Errorf("flow %s: step %d (%q): name, op, method, a path starting with / and status are required", name, i+1, s.Name)
		}
		if s.Echo && len(s.Body) > 0 {
			return Flow{}, fmt.Errorf("flow %s: step %q: echo and body exclude each other", name, s.Name)
		}
		for p, want := range s.Expect {
			if err := checkMatcher(want); err != nil {
				return Flow{}, fmt.Errorf("flow %s: step %q: expect %q: %w", name, s.Name, p, err)
			}
		}
	}
	return f, nil
}
