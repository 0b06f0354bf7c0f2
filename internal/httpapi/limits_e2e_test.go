package httpapi_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/scimd/scimd/internal/httpapi"
	"github.com/scimd/scimd/internal/scim"
	"github.com/scimd/scimd/internal/storetest"
)

// TestConfiguredFilterLimits checks Options.FilterLimits (scimd serve --filter-max-*): a
// filter over any configured limit is 400 invalidFilter naming the limit, on GET lists and
// on searches, and a filter within them is answered.
func TestConfiguredFilterLimits(t *testing.T) {
	for _, be := range storetest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			srv := storetest.StartServerWith(t, be.Open(t), httpapi.Options{FilterLimits: scim.FilterLimits{MaxLength: 80, MaxDepth: 2, MaxNodes: 3}})
			c := srv.NewTenant(t, "limits").Client
			createUser(t, c, userBody("a", nil))
			ok := `userName eq "a" or userName eq "b"` // 3 nodes, depth 0
			lr := mustDo(t, c, http.MethodGet, "/Users?filter="+url.QueryEscape(ok), nil, http.StatusOK)
			if jsonInt(t, lr, "totalResults") != 1 {
				t.Fatalf("filter within the limits: %v", lr)
			}
			for _, tc := range []struct{ filter, limit string }{
				{`userName eq "a" or userName eq "b" or userName eq "c"`, "MaxNodes"},
				{`(((userName eq "a")))`, "MaxDepth"},
				{`userName eq "` + strings.Repeat("x", 80) + `"`, "MaxLength"},
			} {
				for _, req := range []struct {
					method, path string
					body         any
				}{
					{http.MethodGet, "/Users?filter=" + url.QueryEscape(tc.filter), nil},
					{http.MethodPost, "/Users/.search", searchBody("filter", tc.filter)},
					{http.MethodPost, "/.search", searchBody("filter", tc.filter)},
				} {
					e := expectError(t, do(t, c, req.method, req.path, req.body), http.StatusBadRequest, scim.ErrInvalidFilter)
					if d, _ := e["detail"].(string); !strings.Contains(d, tc.limit) {
						t.Errorf("%s %s: detail %q does not name %s", req.method, req.path, d, tc.limit)
					}
				}
			}
		})
	}
}

// TestRootSearchKeepsWithinLimits: the root search specialises the filter to each resource
// type and parses the result again; that text must not be deeper or longer than what the
// client sent, or a filter within the limits would be refused.
func TestRootSearchKeepsWithinLimits(t *testing.T) {
	forEachBackend(t, func(t *testing.T, srv *storetest.Server) {
		c := newClient(t, srv, "root-limits")
		createUser(t, c, userBody("a<b>&c", nil))
		// 60 comparisons chained by "and": depth 0, 119 nodes.
		terms := make([]string, 60)
		for i := range terms {
			terms[i] = `userName ne "x<y>&` + strings.Repeat("z", i%5) + `"`
		}
		chain := strings.Join(terms, " and ")
		for _, f := range []string{
			chain,
			`(userName eq "a<b>&c" or displayName eq "none") and ` + chain,
		} {
			l := expectList(t, do(t, c, http.MethodPost, "/.search", searchBody("filter", f)))
			if l.Total != 1 {
				t.Fatalf("root search with %d bytes of filter: totalResults %d, want 1", len(f), l.Total)
			}
		}
	})
}
