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
var SETEventURIs = []string{EventCreateFull, EventPatchFull, EventDelete, EventActivate, EventDeactivate}

// setEventURI maps an event type to its RFC 9967 event. scimd's store does not keep
// whether a change came as PUT or PATCH: every modification is prov:patch:full, which
// carries the whole resource after the change as prov:put:full would.
func setEventURI(t string) string {
	switch t {
	case events.UserCreated, events.GroupCreated:
		return EventCreateFull
	case events.UserDeleted, events.GroupDeleted:
		return EventDelete
	case events.UserDeactivated:
		return EventDeactivate
	case events.UserReactivated:
		return EventActivate
	}
	return EventPatchFull
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
	uri := setEventURI(e.Type)
	payload := map[string]any{}
	switch uri {
	case EventCreateFull, EventPatchFull:
		payload["data"] = d.Resource
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
