package flows

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Floor is the smallest HTTP+JSON server that answers the load run's requests: users and
// groups in maps behind one mutex, bodies decoded and encoded with encoding/json, no SCIM
// validation, no storage, no authentication. What scimd achieves as a fraction of what
// Floor achieves on the same machine in the same run is the share of the machine's
// HTTP+JSON speed that scimd keeps; it is not a SCIM server and answers nothing else.
type Floor struct {
	mu     sync.Mutex
	next   int
	users  map[string]map[string]any
	order  []string          // user ids in creation order, for paging
	byName map[string]string // userName → id
	groups map[string]map[string]bool
}

// NewFloor returns an empty floor server; serve it under /scim/v2.
func NewFloor() *Floor {
	return &Floor{users: map[string]map[string]any{}, byName: map[string]string{}, groups: map[string]map[string]bool{}}
}

func (f *Floor) id() string {
	f.next++
	return strconv.Itoa(f.next)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/scim+json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func readJSON(r *http.Request) (map[string]any, bool) {
	var m map[string]any
	return m, json.NewDecoder(r.Body).Decode(&m) == nil
}

// ServeHTTP answers the requests Bench makes.
func (f *Floor) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := strings.TrimPrefix(r.URL.Path, "/scim/v2")
	coll, id, _ := strings.Cut(strings.TrimPrefix(p, "/"), "/")
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case coll == "Users" && id == "" && r.Method == http.MethodPost:
		u, ok := readJSON(r)
		if !ok {
			writeJSON(w, http.StatusBadRequest, nil)
			return
		}
		name, _ := u["userName"].(string)
		if _, dup := f.byName[name]; dup {
			writeJSON(w, http.StatusConflict, nil)
			return
		}
		u["id"] = f.id()
		f.users[u["id"].(string)] = u
		f.byName[name] = u["id"].(string)
		f.order = append(f.order, u["id"].(string))
		writeJSON(w, http.StatusCreated, u)
	case coll == "Users" && id == "" && r.Method == http.MethodGet:
		f.list(w, r.URL.Query())
	case coll == "Users" && r.Method == http.MethodGet:
		if u, ok := f.users[id]; ok {
			writeJSON(w, http.StatusOK, u)
			return
		}
		writeJSON(w, http.StatusNotFound, nil)
	case coll == "Users" && r.Method == http.MethodPut:
		u, ok := readJSON(r)
		if _, exists := f.users[id]; !ok || !exists {
			writeJSON(w, http.StatusNotFound, nil)
			return
		}
		u["id"] = id
		f.users[id] = u
		writeJSON(w, http.StatusOK, u)
	case coll == "Users" && r.Method == http.MethodPatch:
		u, exists := f.users[id]
		if _, ok := readJSON(r); !ok || !exists {
			writeJSON(w, http.StatusNotFound, nil)
			return
		}
		u["active"] = false
		writeJSON(w, http.StatusOK, u)
	case coll == "Users" && r.Method == http.MethodDelete:
		if u, ok := f.users[id]; ok {
			delete(f.byName, u["userName"].(string))
			delete(f.users, id)
			f.order = slices.DeleteFunc(f.order, func(s string) bool { return s == id })
		}
		w.WriteHeader(http.StatusNoContent)
	case coll == "Groups" && id == "" && r.Method == http.MethodPost:
		g, _ := readJSON(r)
		gid := f.id()
		f.groups[gid] = map[string]bool{}
		g["id"] = gid
		writeJSON(w, http.StatusCreated, g)
	case coll == "Groups" && id == "" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, map[string]any{"totalResults": len(f.groups)})
	case coll == "Groups" && r.Method == http.MethodPatch:
		f.patchGroup(w, r, id)
	case coll == "Groups" && r.Method == http.MethodDelete:
		delete(f.groups, id)
		w.WriteHeader(http.StatusNoContent)
	default:
		writeJSON(w, http.StatusNotFound, nil)
	}
}

// list answers a userName eq filter from the name index, or a page in creation order.
func (f *Floor) list(w http.ResponseWriter, q url.Values) {
	var res []any
	total := 0
	if filter := q.Get("filter"); filter != "" {
		if _, v, ok := strings.Cut(filter, `"`); ok {
			if id, ok := f.byName[strings.TrimSuffix(v, `"`)]; ok {
				res = append(res, f.users[id])
			}
		}
		total = len(res)
	} else {
		start, _ := strconv.Atoi(q.Get("startIndex"))
		count, err := strconv.Atoi(q.Get("count"))
		if err != nil {
			count = 100
		}
		start = max(start, 1)
		total = len(f.order)
		for i := start - 1; i >= 0 && i < len(f.order) && len(res) < count; i++ {
			res = append(res, f.users[f.order[i]])
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"schemas":      []string{"urn:ietf:params:scim:api:messages:2.0:ListResponse"},
		"totalResults": total, "itemsPerPage": len(res), "startIndex": 1, "Resources": res})
}

// patchGroup applies the two member operations Bench sends: add with a value list, and
// remove by a members[value eq "…"] filter.
func (f *Floor) patchGroup(w http.ResponseWriter, r *http.Request, id string) {
	members, ok := f.groups[id]
	var body struct {
		Operations []struct {
			Op    string `json:"op"`
			Path  string `json:"path"`
			Value []struct {
				Value string `json:"value"`
			} `json:"value"`
		} `json:"Operations"`
	}
	if !ok || json.NewDecoder(r.Body).Decode(&body) != nil {
		writeJSON(w, http.StatusNotFound, nil)
		return
	}
	for _, op := range body.Operations {
		switch op.Op {
		case "add":
			for _, v := range op.Value {
				members[v.Value] = true
			}
		case "remove":
			if _, v, ok := strings.Cut(op.Path, `"`); ok {
				delete(members, strings.TrimSuffix(strings.TrimSuffix(v, `]`), `"`))
			}
		}
	}
	w.WriteHeader(http.StatusNoContent)
}
