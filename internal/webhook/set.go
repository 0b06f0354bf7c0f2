package webhook

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/scimd/scimd/internal/events"
	"github.com/scimd/scimd/internal/store"
)

// RFC 9967 §2.4 event URIs of provisioning changes.
const (
	EventCreateFull = "urn:ietf:params:scim:event:prov:create:full"
	EventPatchFull  = "urn:ietf:params:scim:event:prov:patch:full"
	EventPutFull    = "urn:ietf:params:scim:event:prov:put:full"
	EventDelete     = "urn:ietf:params:scim:event:prov:delete"
	EventActivate   = "urn:ietf:params:scim:event:prov:activate"
	EventDeactivate = "urn:ietf:params:scim:event:prov:deactivate"
)

// SETEventURIs are the event URIs scimd sends, as /ServiceProviderConfig lists them.
var SETEventURIs = []string{EventCreateFull, EventPutFull, EventPatchFull, EventDelete, EventActivate, EventDeactivate}

// setEventURI maps an event to its RFC 9967 event: an update that a SCIM PUT made is
// prov:put:full; every other modification, a PATCH and the changes that follow from one
// (members, roles), is prov:patch:full.
func setEventURI(t string, d events.Data) string {
	switch t {
	case events.UserCreated, events.GroupCreated:
		return EventCreateFull
	case events.UserDeleted, events.GroupDeleted:
		return EventDelete
	case events.UserDeactivated:
		return EventDeactivate
	case events.UserReactivated:
		return EventActivate
	case events.UserUpdated, events.GroupUpdated:
		if d.Op == events.OpPut {
			return EventPutFull
		}
	}
	return EventPatchFull
}

// patchOf is the SCIM PatchOp message (RFC 7644 §3.5.2) that a prov:patch:full event
// carries as its data (RFC 9967 §2.4.2): the change the event records, written as
// operations on the resource before it. An event covers one resource and one kind of
// change, so the operations are built from the event rather than copied from the request
// (a PATCH of a group's name and members records several events). A changed attribute
// is replaced by its whole new value (a complex one is removed and added again, since a
// replace would keep the sub-attributes it does not name) or removed.
func patchOf(t string, d events.Data) map[string]any {
	var ops []any
	switch t {
	case events.GroupMemberAdded, events.GroupMemberRemoved:
		if d.User == nil {
			break
		}
		if t == events.GroupMemberAdded {
			member := map[string]any{"value": d.User.ID}
			if d.User.Display != "" {
				member["display"] = d.User.Display
			}
			ops = append(ops, map[string]any{"op": "add", "path": "members", "value": []any{member}})
		} else {
			ops = append(ops, map[string]any{"op": "remove", "path": `members[value eq "` + d.User.ID + `"]`})
		}
	case events.UserRolesChanged:
		// What changed in the user is its "roles" and, when a membership changed them, its
		// "groups" (the group's side comes as member events): both are given whole.
		for _, name := range []string{"groups", "roles"} {
			v, ok := d.Resource[name]
			if !ok {
				v = []any{}
			}
			ops = append(ops, map[string]any{"op": "replace", "path": name, "value": v})
		}
	default:
		for _, name := range d.Changed {
			v, ok := d.Resource[name]
			switch {
			case !ok:
				ops = append(ops, map[string]any{"op": "remove", "path": name})
			case isObject(v):
				ops = append(ops, map[string]any{"op": "remove", "path": name}, map[string]any{"op": "add", "path": name, "value": v})
			default:
				ops = append(ops, map[string]any{"op": "replace", "path": name, "value": v})
			}
		}
	}
	if ops == nil {
		ops = []any{}
	}
	return map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"}, "Operations": ops}
}

func isObject(v any) bool {
	_, ok := v.(map[string]any)
	return ok
}

// SETSigner signs RFC 8417 security event tokens with an ES256 key that every instance
// shares (kept in the database), whose public half JWKS serves.
type SETSigner struct {
	key    *ecdsa.PrivateKey
	kid    string
	issuer string
	signer jose.Signer
}

// LoadSETSigner reads the signing key from the store, creating it on first use; issuer
// is the SETs' "iss" (the server's public URL).
func LoadSETSigner(ctx context.Context, st store.Store, issuer string) (*SETSigner, error) {
	der, err := st.SigningKey(ctx, func() ([]byte, error) {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		return x509.MarshalPKCS8PrivateKey(k)
	})
	if err != nil {
		return nil, fmt.Errorf("load the SET signing key: %w", err)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("parse the SET signing key: %w", err)
	}
	key, ok := parsed.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("the SET signing key is a %T, not an ECDSA key", parsed)
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(pub)
	kid := base64.RawURLEncoding.EncodeToString(sum[:12])
	// RFC 8417 §2.3: a SET's "typ" header is "secevent+jwt".
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key},
		(&jose.SignerOptions{}).WithType("secevent+jwt").WithHeader(jose.HeaderKey("kid"), kid))
	if err != nil {
		return nil, err
	}
	return &SETSigner{key: key, kid: kid, issuer: issuer, signer: signer}, nil
}

// JWKS is the JSON Web Key Set of the public key.
func (s *SETSigner) JWKS() ([]byte, error) {
	return json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &s.key.PublicKey, KeyID: s.kid, Algorithm: string(jose.ES256), Use: "sig"}}})
}

// Sign makes the SET of an event for the receiver aud: RFC 9967 §2.2's sub_id names the
// resource, and the event carries its attributes after the change.
func (s *SETSigner) Sign(e events.Event, aud string) ([]byte, error) {
	var d events.Data
	if err := json.Unmarshal(e.Data, &d); err != nil {
		return nil, err
	}
	rt, _ := d.Resource["meta"].(map[string]any)["resourceType"].(string)
	id, _ := d.Resource["id"].(string)
	sub := map[string]any{"format": "scim", "uri": "/" + rt + "s/" + id}
	if ext, ok := d.Resource["externalId"].(string); ok && ext != "" {
		sub["externalId"] = ext
	}
	uri := setEventURI(e.Type, d)
	payload := map[string]any{}
	switch uri {
	case EventCreateFull, EventPutFull:
		// RFC 9967 §2.4.1, §2.4.3: the resource as created or as replaced.
		payload["data"] = d.Resource
	case EventPatchFull:
		payload["data"] = patchOf(e.Type, d)
	}
	if meta, ok := d.Resource["meta"].(map[string]any); ok && payload["data"] != nil {
		// The resource's version (ETag) after the change, which RFC 9967 lets these
		// events carry: a receiver can tell whether its copy is current.
		if v, ok := meta["version"].(string); ok {
			payload["version"] = v
		}
	}
	claims := map[string]any{
		"jti":    e.ID,
		"iss":    s.issuer,
		"aud":    aud,
		"iat":    time.Now().Unix(),
		"toe":    e.Time.Unix(),
		"txn":    fmt.Sprintf("%s:%d", e.Tenant, e.Seq),
		"sub_id": sub,
		"events": map[string]any{uri: payload},
	}
	body, err := json.Marshal(claims)
	if err != nil {
		return nil, err
	}
	jws, err := s.signer.Sign(body)
	if err != nil {
		return nil, err
	}
	compact, err := jws.CompactSerialize()
	return []byte(compact), err
}
