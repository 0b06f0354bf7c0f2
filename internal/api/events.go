package api

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/scimd/scimd/internal/events"
	"github.com/scimd/scimd/internal/service"
	"github.com/scimd/scimd/internal/store"
)

// listEvents serves the event feed: the key's tenant's events, or with a key for all
// tenants every tenant's (or one's, with tenant=).
func (s *Server) listEvents(w http.ResponseWriter, r *http.Request, key store.APIKey) error {
	q, err := query(r, "after", "limit", "types", "wait", "tenant")
	if err != nil {
		return err
	}
	limit, err := limitParam(q)
	if err != nil {
		return err
	}
	tenant := key.TenantID
	if t := q.Get("tenant"); t != "" {
		if key.TenantID != "" && t != key.TenantID {
			return newProblem(http.StatusNotFound, "tenant", "tenant %q not found", t)
		}
		tenant = t
	}
	var types []string
	if v := q.Get("types"); v != "" {
		types = strings.Split(v, ",")
	}
	var wait time.Duration
	if v := q.Get("wait"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return badRequest("wait", "wait must be a number of seconds")
		}
		wait = time.Duration(n) * time.Second
	}
	page, err := s.svc.Events(r.Context(), service.EventQuery{Tenant: tenant, After: q.Get("after"), Types: types, Limit: limit, Wait: wait})
	if err != nil {
		return err
	}
	data := make([]eventJSON, 0, len(page.Events))
	for _, e := range page.Events {
		c := e.Seq
		if tenant == "" {
			c = e.Pos
		}
		data = append(data, eventJSON{Event: e, Cursor: strconv.FormatInt(c, 10)})
	}
	// The cursor is always given: a reader that has caught up passes it back to wait.
	return writeJSON(w, http.StatusOK, list[eventJSON]{Data: data, Next: &page.Next})
}

// eventJSON is an event of the feed with the cursor that resumes right after it, which a
// reader keeps once it has handled the event.
type eventJSON struct {
	events.Event
	Cursor string `json:"cursor"`
}
