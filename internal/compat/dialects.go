package compat

import (
	"mime"
	"strings"

	"github.com/scimd/scimd/internal/scim"
)

// Dialect is one behaviour scimd has because a client in the field needs it: what the
// client sends, who sends it, where the code that accepts it is, and the recorded flow
// step (internal/flows/testdata) that proves it.
type Dialect struct {
	// Name identifies the behaviour, after the client that needs it.
	Name string
	// Clients are the clients that send it.
	Clients []string
	// Sends is what they send, and what scimd does with it.
	Sends string
	// Code is where it is handled, as "file:function" from the repository root. Most of
	// these live in the protocol package, inside the parsing they bend: there they apply
	// to every tenant, because no client needs the opposite answer. A behaviour two
	// clients need opposite answers for is a Switch instead.
	Code string
	// Switch names the per-tenant switch (Switches' JSON name), or "" when every tenant
	// gets the behaviour.
	Switch string
	// Proof names the flow step that replays it: "flow: step name". "" when no recorded
	// flow sends it.
	Proof string
}

// Dialects is every dialect behaviour of scimd. docs/compatibility.md lists it; a test
// checks that each Code names a function that exists and each Proof a step that passes.
var Dialects = []Dialect{
	{Name: "entra-op-case", Clients: []string{Entra},
		Sends: `PATCH op names "Add", "Replace", "Remove": matched case-insensitively`,
		Code:  "internal/scim/patch.go:ParsePatch", Proof: `entra: update: one Replace per attribute`},
	{Name: "entra-validator-empty-operations", Clients: []string{"Microsoft SCIM Validator"},
		Sends: `a PATCH whose "Operations" is [] (RFC 7644 §3.5.2 asks for "one or more"): a no-op, not a 400`,
		Code:  "internal/scim/patch.go:ParsePatch", Proof: `entra: SCIM Validator: PATCH with no operations`},
	{Name: "entra-string-booleans", Clients: []string{Entra},
		Sends: `booleans as strings "True", "False", "false" (default mode, and "active":"True" on POST in Microsoft's Postman collection): read as booleans`,
		Code:  "internal/scim/resource.go:normalizeSingle", Proof: `entra: disable with the string "False"`},
	{Name: "pathless-patch", Clients: []string{Okta, Entra},
		Sends: `PATCH without "path", the value an object of attributes: plain, dotted ("name.givenName") or schema-qualified keys; Okta deactivates and renames so, Entra with aadOptscim062020 updates so`,
		Code:  "internal/scim/patch.go:ExpandPathless", Proof: `entra-aadOptscim062020: replace many: a filter path plus a path-less replace with dotted and URN keys`},
	{Name: "okta-echoed-id", Clients: []string{Okta},
		Sends: `"id" inside a path-less group rename: equal to the current id, it is not a change`,
		Code:  "internal/scim/patch.go:applyOne", Proof: `okta-catalog: rename: replace without a path, id echoed`},
	{Name: "okta-put-echo", Clients: []string{Okta},
		Sends: `PUT of the whole body a GET returned (custom apps): id, meta, groups and password in it are ignored, not rejected (RFC 7644 §3.5.1)`,
		Code:  "internal/scim/resource.go:NormalizeResource", Proof: `okta-wizard: profile update: PUT of the echoed body`},
	{Name: "entra-member-remove-by-value", Clients: []string{Entra, JumpCloud},
		Sends: `{"op":"Remove","path":"members","value":[{"value":"…"}]}: only the members listed go, not all of them`,
		Code:  "internal/scim/patch.go:applyOne", Proof: `entra: Remove with path members and a value list`},
	{Name: "member-add-idempotent", Clients: []string{JumpCloud},
		Sends: `the same member added again: no change, no error (RFC 7644 §3.5.2.1)`,
		Code:  "internal/scim/patch.go:addValues", Proof: `jumpcloud: add the same member again`},
	{Name: "entra-manager-shapes", Clients: []string{Entra},
		Sends: `the enterprise manager as a bare string, as {"value":…} or as [{"value":…}]: all mean {"value":…}`,
		Code:  "internal/scim/resource.go:NormalizeValue", Proof: `entra: manager as a bare string`},
	{Name: "entra-manager-unqualified", Clients: []string{Entra},
		Sends: `path "manager" without the enterprise URN: the one extension attribute of that name`,
		Code:  "internal/scim/patch.go:parseResolvePath", Proof: `entra: manager as [{$ref, value}] on the path manager`},
	{Name: "entra-add-through-filter", Clients: []string{Entra},
		Sends: `{"op":"Add","path":"emails[type eq \"work\"].value"} when the user has no work e-mail: adds one`,
		Code:  "internal/scim/patch.go:addThroughFilter", Proof: `entra-aadOptscim062020: add a first work e-mail through a filter path`},
	{Name: "entra-create-extras", Clients: []string{Entra},
		Sends: `creates carrying "meta", "roles": [], explicit nulls and Microsoft's ADSCIM group schema: nulls are unassigned, undeclared attributes ignored`,
		Code:  "internal/scim/resource.go:NormalizeResource", Proof: `entra: create with explicit nulls and a manager of null`},
	{Name: "entra-flag-query", Clients: []string{Entra},
		Sends: `?aadOptscim062020 on the tenant URL, so on every request: ignored by routing, and marks the client as Entra`,
		Code:  "internal/compat/client.go:QueryClient", Proof: `entra-aadOptscim062020: Test Connection: a user that does not exist`},
	{Name: "json-media-type", Clients: []string{Okta, Entra},
		Sends: `bodies as application/json (Okta's SPEC test) or application/scim+json; charset=utf-8 (Entra): both accepted`,
		Code:  "internal/compat/dialects.go:BodyMediaType", Proof: `okta-catalog: create as Okta's SPEC test does, with application/json`},
	{Name: "entra-replace-members-adds", Clients: []string{Entra},
		Sends: `Replace of "members" with only the changed members (reported, not documented): with the switch, an add; without it, the whole list as RFC 7644 and Okta's Push now need`,
		Code:  "internal/compat/dialects.go:RewriteMemberOps", Switch: "replaceMembersAdds"},
	{Name: "scim2-models-no-pagination", Clients: []string{"scim2-models (Python)"},
		Sends: `validates /ServiceProviderConfig against RFC 7643's schema and rejects RFC 9865's "pagination": left out for the tenant`,
		Code:  "internal/httpapi/discovery.go:serviceProviderConfig", Switch: "scim2ModelsNoPagination"},
}

// BodyMediaType reports whether a request body's Content-Type is accepted. RFC 7644 §3.1
// names application/scim+json; application/json is accepted too, with or without
// parameters such as charset: Okta's SPEC test posts application/json, Okta's client and
// Entra ID send application/scim+json; charset=utf-8.
func BodyMediaType(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == "application/scim+json" || mt == "application/json")
}

// RewriteMemberOps applies a tenant's switches to parsed group PATCH operations, before
// they are split into attribute and member changes. With ReplaceMembersAdds, a replace
// whose path is "members" (no filter) becomes an add; path-less operations are left as
// they are, since Okta's path-less replace of {"members": […]} is a whole list.
func RewriteMemberOps(sw Switches, ops []scim.PatchOperation) []scim.PatchOperation {
	if !sw.ReplaceMembersAdds {
		return ops
	}
	out := make([]scim.PatchOperation, len(ops))
	for i, op := range ops {
		if op.Op == "replace" && op.Path != nil && op.Path.Filter == nil && op.Path.Sub == "" && op.Path.Attr.Sub == "" &&
			strings.EqualFold(op.Path.Attr.Name, "members") && (op.Path.Attr.URN == "" || strings.EqualFold(op.Path.Attr.URN, scim.GroupSchema)) {
			op.Op = "add"
		}
		out[i] = op
	}
	return out
}
