package httpapi_test

import (
	"net/http"
	"sync"
	"testing"

	"github.com/scimd/scimd/internal/scim"
	"github.com/scimd/scimd/internal/storetest"
)

// TestAddMemberWhileDeleted: a group PATCH that adds a user who is
// being deleted at the same moment must answer what one of the two serial orders gives:
// 204 (the add came first; the delete then took the membership away) or 400 invalidValue
// (the delete came first), never a 5xx (PostgreSQL's foreign key violation was a 500 in
// about 45% of such races). 60 races on each store.
func TestAddMemberWhileDeleted(t *testing.T) {
	forEachBackend(t, func(t *testing.T, srv *storetest.Server) {
		c := newClient(t, srv, "race")
		g := mustDo(t, c, http.MethodPost, "/Groups", map[string]any{"schemas": []string{scim.GroupSchema}, "displayName": "Racers"}, http.StatusCreated)
		gid := g["id"].(string)
		uids := createUsers(t, c, 60, "racer%02d")
		added, refused := 0, 0
		for _, uid := range uids {
			var wg sync.WaitGroup
			var patchStatus, deleteStatus int
			var patchBody map[string]any
			wg.Add(2)
			go func() {
				defer wg.Done()
				resp, err := c.Do(t.Context(), http.MethodPatch, "/Groups/"+gid, map[string]any{"schemas": []string{scim.PatchOpSchema},
					"Operations": []any{map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": uid}}}}})
				if err != nil {
					t.Error(err)
					return
				}
				patchStatus = resp.Status
				patchBody, _ = resp.JSON()
			}()
			go func() {
				defer wg.Done()
				resp, err := c.Do(t.Context(), http.MethodDelete, "/Users/"+uid, nil)
				if err != nil {
					t.Error(err)
					return
				}
				deleteStatus = resp.Status
			}()
			wg.Wait()
			if deleteStatus != http.StatusNoContent {
				t.Fatalf("DELETE /Users/%s: %d", uid, deleteStatus)
			}
			switch {
			case patchStatus == http.StatusNoContent:
				added++
			case patchStatus == http.StatusBadRequest && patchBody["scimType"] == scim.ErrInvalidValue:
				refused++
			default:
				t.Fatalf("PATCH adding a user deleted meanwhile: %d %v", patchStatus, patchBody)
			}
		}
		// Either way the deleted users are no members.
		if got, _ := mustDo(t, c, http.MethodGet, "/Groups/"+gid, nil, http.StatusOK)["members"].([]any); len(got) != 0 {
			t.Fatalf("members of deleted users remain: %v", got)
		}
		t.Logf("%d adds first, %d deletes first", added, refused)
	})
}
