package webhook

import (
	"encoding/json"
	"testing"

	"github.com/scimd/scimd/internal/events"
	"github.com/scimd/scimd/internal/scim"
)

// TestPatchOfReplaysTheChange: the PatchOp a prov:patch:full carries, applied to the
// resource before the change, gives the resource after it, whatever changed: a simple
// attribute, a complex one losing a sub-attribute, a multi-valued one, a removed one, an
// extension.
func TestPatchOfReplaysTheChange(t *testing.T) {
	const ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	rt := scim.NewUserResourceType()
	before := scim.Resource{
		"schemas":  []any{scim.UserSchema, ent},
		"userName": "ada@acme.example", "title": "Miss", "nickName": "Ada",
		"name":   map[string]any{"givenName": "Ada", "familyName": "Byron", "middleName": "Augusta"},
		"emails": []any{map[string]any{"value": "ada@acme.example", "type": "work"}},
		ent:      map[string]any{"department": "Maths", "costCenter": "7"},
	}
	after := scim.Resource{
		"schemas":  []any{scim.UserSchema, ent},
		"userName": "ada@acme.example", "title": "Countess",
		"name":   map[string]any{"givenName": "Ada", "familyName": "King"},
		"emails": []any{map[string]any{"value": "ada@king.example", "type": "home"}},
		ent:      map[string]any{"department": "Engines"},
	}
	res := map[string]any{"id": "u1", "meta": map[string]any{"resourceType": "User", "version": `W/"2"`}}
	for k, v := range after {
		res[k] = v
	}
	d := events.Data{Resource: res, Changed: events.ChangedAttributes(before, after), Op: events.OpPatch}
	if uri := setEventURI(events.UserUpdated, d); uri != EventPatchFull {
		t.Fatalf("a PATCH maps to %s", uri)
	}
	body, err := json.Marshal(patchOf(events.UserUpdated, d))
	if err != nil {
		t.Fatal(err)
	}
	var msg map[string]any
	if err := json.Unmarshal(body, &msg); err != nil {
		t.Fatal(err)
	}
	ops, err := scim.ParsePatch(rt, msg)
	if err != nil {
		t.Fatalf("the PatchOp %s does not parse: %v", body, err)
	}
	got, err := scim.ApplyPatch(rt, "u1", before, ops)
	if err != nil {
		t.Fatalf("the PatchOp %s does not apply: %v", body, err)
	}
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(after)
	if string(g) != string(w) {
		t.Errorf("the PatchOp %s applied gives\n %s\nwant\n %s", body, g, w)
	}
	d.Op = events.OpPut
	if uri := setEventURI(events.UserUpdated, d); uri != EventPutFull {
		t.Errorf("a PUT maps to %s", uri)
	}
	if uri := setEventURI(events.GroupMemberAdded, d); uri != EventPatchFull {
		t.Errorf("a member added maps to %s", uri)
	}
}
