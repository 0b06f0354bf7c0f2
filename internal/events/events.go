// Package events defines the events scimd records for every change of a tenant's
// directory: their types and what each one carries. The store writes them in the same
// transaction as the change (the outbox); the feed and the webhooks read them from there.
package events

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/scimd/scimd/internal/scim"
)

// Types of events.
const (
	UserCreated        = "user.created"
	UserUpdated        = "user.updated"
	UserDeactivated    = "user.deactivated"
	UserReactivated    = "user.reactivated"
	UserDeleted        = "user.deleted"
	UserRolesChanged   = "user.roles_changed"
	GroupCreated       = "group.created"
	GroupUpdated       = "group.updated"
	GroupDeleted       = "group.deleted"
	GroupMemberAdded   = "group.member_added"
	GroupMemberRemoved = "group.member_removed"
)

// Types lists every event type, in the order the documentation gives them.
var Types = []string{
	UserCreated, UserUpdated, UserDeactivated, UserReactivated, UserDeleted, UserRolesChanged,
	GroupCreated, GroupUpdated, GroupDeleted, GroupMemberAdded, GroupMemberRemoved,
}

// Known reports whether t is an event type.
func Known(t string) bool { return slices.Contains(Types, t) }

// Event is one recorded change. Seq is the event's position in its tenant's sequence:
// strictly increasing, and no reader ever sees a gap that fills later. Pos is its
// position in the feed of all tenants (0 until it has been given one).
type Event struct {
	ID     string    `json:"id"`
	Tenant string    `json:"tenant_id"`
	Seq    int64     `json:"seq"`
	Pos    int64     `json:"-"`
	Type   string    `json:"type"`
	Time   time.Time `json:"time"`
	// Data is the event's payload, a JSON object (see Data).
	Data json.RawMessage `json:"data"`
}

// Data is the payload of an event. Resource is the user or group as it is after the
// change (as it was, for a deletion): its SCIM representation with id and meta, without
// a group's members. The other fields are set by the types that need them.
type Data struct {
	Resource map[string]any `json:"resource"`
	// Changed names the attributes a user.updated or group.updated changed.
	Changed []string `json:"changed,omitempty"`
	// Op is how a user.updated or group.updated came: OpPut when a SCIM PUT replaced the
	// resource, OpPatch when a PATCH modified it (empty when neither, e.g. a change made
	// other than over SCIM).
	Op string `json:"op,omitempty"`
	// User names the user of group.member_added and group.member_removed.
	User *Ref `json:"user,omitempty"`
	// RolesBefore and RolesAfter are a user's roles around a user.roles_changed (an empty
	// list is kept: omitzero leaves out only a nil one).
	RolesBefore []string `json:"roles_before,omitzero"`
	RolesAfter  []string `json:"roles_after,omitzero"`
}

// The SCIM operations Data.Op tells apart: RFC 9967 gives them different events
// (prov:put:full and prov:patch:full).
const (
	OpPut   = "put"
	OpPatch = "patch"
)

type opKey struct{}

// WithOp returns ctx carrying the SCIM operation of the request it serves. The store's
// update functions, which both PUT and PATCH call, take it from there for the events they
// record; the alternative, an argument to every update function, would change the store's
// interface for what only events need.
func WithOp(ctx context.Context, op string) context.Context {
	return context.WithValue(ctx, opKey{}, op)
}

// OpOf returns the SCIM operation ctx carries ("" when none).
func OpOf(ctx context.Context) string {
	op, _ := ctx.Value(opKey{}).(string)
	return op
}

// Ref names a resource.
type Ref struct {
	ID      string `json:"id"`
	Display string `json:"display,omitempty"`
}

// ChangedAttributes names the top-level attributes that differ between two versions of
// a resource, sorted. An attribute present in one and absent in the other is changed.
func ChangedAttributes(before, after scim.Resource) []string {
	var out []string
	for k, v := range after {
		if w, ok := before[k]; !ok || !jsonEqual(v, w) {
			out = append(out, k)
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

func jsonEqual(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(x) == string(y)
}
