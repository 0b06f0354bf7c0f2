package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/scimd/scimd/internal/server"
	"github.com/scimd/scimd/internal/storetest"
	"github.com/scimd/scimd/internal/webhook"
	"github.com/scimd/scimd/sdk"
)

// TestSecurityEventTokens: an endpoint of format "set" receives RFC 8935 pushes of SETs
// with RFC 9967 event URIs, which verify against the JWKS the server publishes; the
// ServiceProviderConfig advertises them.
func TestSecurityEventTokens(t *testing.T) {
	spec := newSpecValidator(t)
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			st := b.Open(t)
			signer, err := webhook.LoadSETSigner(ctx, st, "https://scim.example.com")
			if err != nil {
				t.Fatal(err)
			}
			full := storetest.StartFull(t, st, server.Options{UsageInterval: time.Hour, Webhooks: fastRetries, SET: signer})
			e := &env{t: t, full: full, tr: &transport{t: t, spec: spec}}
			e.admin = e.client(full.APIKey(t, "", "admin"))

			var mu sync.Mutex
			var tokens []string
			var contentTypes []string
			rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				mu.Lock()
				tokens = append(tokens, string(body))
				contentTypes = append(contentTypes, r.Header.Get("Content-Type"))
				mu.Unlock()
				w.WriteHeader(http.StatusAccepted) // RFC 8935 §2.2
			}))
			defer rcv.Close()
			tenant, err := e.admin.CreateTenant(ctx, sdk.TenantCreate{Name: "acme"})
			if err != nil {
				t.Fatal(err)
			}
			cred, err := e.admin.MintCredential(ctx, tenant.ID)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.admin.CreateWebhook(ctx, sdk.WebhookCreate{URL: rcv.URL, TenantID: tenant.ID, Format: "set"}); err != nil {
				t.Fatal(err)
			}
			idp := e.scim(cred.Username, cred.Password)
			spc := wantStatus(t, send(t, idp, "GET", "/ServiceProviderConfig", nil), 200, "spc")
			se, _ := spc["securityEvents"].(map[string]any)
			if uris, _ := se["eventUris"].([]any); len(uris) == 0 {
				t.Fatalf("ServiceProviderConfig has no securityEvents: %v", spc)
			}
			id := wantStatus(t, send(t, idp, "POST", "/Users", oktaUser("ada@acme.example", "Ada", "L")), 201, "create")["id"].(string)
			wantStatus(t, send(t, idp, "PUT", "/Users/"+id, oktaUser("ada@acme.example", "Ada", "King")), 200, "replace")
			wantStatus(t, send(t, idp, "PATCH", "/Users/"+id, patch(op("replace", "title", "Countess"))), 200, "modify")
			gid := wantStatus(t, send(t, idp, "POST", "/Groups", map[string]any{
				"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": "Admins", "members": []any{map[string]any{"value": id}},
			}), 201, "create group")["id"].(string)
			wantStatus(t, send(t, idp, "PUT", "/Groups/"+gid, map[string]any{
				"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": "Administrators", "members": []any{map[string]any{"value": id}},
			}), 200, "replace group")
			wantStatus(t, send(t, idp, "PATCH", "/Users/"+id, patch(op("replace", "", map[string]any{"active": false}))), 200, "deactivate")
			wantStatus(t, send(t, idp, "DELETE", "/Users/"+id, nil), 204, "delete")

			code, body := e.raw("GET", "/jwks.json", "", "", "")
			if code != 200 {
				t.Fatalf("jwks: %d %s", code, body)
			}
			var jwks jose.JSONWebKeySet
			if err := json.Unmarshal([]byte(body), &jwks); err != nil || len(jwks.Keys) != 1 {
				t.Fatalf("jwks %s: %v", body, err)
			}
			deadline := time.Now().Add(10 * time.Second)
			for {
				mu.Lock()
				n := len(tokens)
				mu.Unlock()
				if n >= 12 || time.Now().After(deadline) {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			mu.Lock()
			defer mu.Unlock()
			// The SETs in order: the event, its subject, and what its payload must hold.
			// prov:put:full and prov:create:full carry the resource, prov:patch:full the
			// change as a PatchOp (RFC 9967 §2.4).
			user, group := "/Users/"+id, "/Groups/"+gid
			type wantSET struct {
				uri, sub string
				check    func(payload map[string]any) bool
			}
			data := func(p map[string]any) map[string]any { m, _ := p["data"].(map[string]any); return m }
			patchOp := func(o, path string) func(map[string]any) bool {
				return func(p map[string]any) bool {
					ops, _ := data(p)["Operations"].([]any)
					if len(ops) != 1 {
						return false
					}
					first, _ := ops[0].(map[string]any)
					return first["op"] == o && first["path"] == path && p["version"] != nil
				}
			}
			none := func(p map[string]any) bool { return len(p) == 0 }
			// A roles change replaces the user's groups and roles, here Admins (renamed
			// Administrators later).
			roles := func(group string) func(map[string]any) bool {
				return func(p map[string]any) bool {
					ops, _ := data(p)["Operations"].([]any)
					if len(ops) != 2 || p["version"] == nil {
						return false
					}
					g, _ := ops[0].(map[string]any)
					r, _ := ops[1].(map[string]any)
					gv, _ := g["value"].([]any)
					return g["op"] == "replace" && g["path"] == "groups" && len(gv) == 1 && gv[0].(map[string]any)["display"] == group &&
						r["op"] == "replace" && r["path"] == "roles"
				}
			}
			want := []wantSET{
				{webhook.EventCreateFull, user, func(p map[string]any) bool { return data(p)["userName"] == "ada@acme.example" }},
				{webhook.EventPutFull, user, func(p map[string]any) bool {
					return data(p)["displayName"] == "Ada King" && data(p)["id"] == id && p["version"] == `W/"2"`
				}},
				{webhook.EventPatchFull, user, func(p map[string]any) bool {
					ops, _ := data(p)["Operations"].([]any)
					return patchOp("replace", "title")(p) && ops[0].(map[string]any)["value"] == "Countess"
				}},
				{webhook.EventCreateFull, group, func(p map[string]any) bool { return data(p)["displayName"] == "Admins" }},
				{webhook.EventPatchFull, group, func(p map[string]any) bool {
					ops, _ := data(p)["Operations"].([]any)
					if !patchOp("add", "members")(p) {
						return false
					}
					members, _ := ops[0].(map[string]any)["value"].([]any)
					return len(members) == 1 && members[0].(map[string]any)["value"] == id
				}},
				{webhook.EventPatchFull, user, roles("Admins")},
				{webhook.EventPutFull, group, func(p map[string]any) bool { return data(p)["displayName"] == "Administrators" }},
				{webhook.EventPatchFull, user, roles("Administrators")},
				{webhook.EventDeactivate, user, none},
				{webhook.EventPatchFull, user, roles("Administrators")}, // deactivating changes her roles
				{webhook.EventPatchFull, group, patchOp("remove", `members[value eq "`+id+`"]`)},
				{webhook.EventDelete, user, none},
			}
			if len(tokens) != len(want) {
				t.Fatalf("%d SETs, want %d", len(tokens), len(want))
			}
			for i, tok := range tokens {
				if contentTypes[i] != "application/secevent+jwt" {
					t.Errorf("Content-Type %q", contentTypes[i])
				}
				jws, err := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{jose.ES256})
				if err != nil {
					t.Fatal(err)
				}
				keys := jwks.Key(jws.Signatures[0].Header.KeyID)
				if len(keys) != 1 {
					t.Fatalf("no key %q in the JWKS", jws.Signatures[0].Header.KeyID)
				}
				payload, err := jws.Verify(keys[0].Key)
				if err != nil {
					t.Fatalf("SET %d does not verify against the JWKS: %v", i, err)
				}
				if typ := jws.Signatures[0].Header.ExtraHeaders[jose.HeaderType]; typ != "secevent+jwt" {
					t.Errorf("typ %v", typ)
				}
				var set struct {
					Aud    string                    `json:"aud"`
					Iss    string                    `json:"iss"`
					SubID  map[string]string         `json:"sub_id"`
					Events map[string]map[string]any `json:"events"`
				}
				if err := json.Unmarshal(payload, &set); err != nil {
					t.Fatal(err)
				}
				if p, ok := set.Events[want[i].uri]; !ok || len(set.Events) != 1 || !want[i].check(p) {
					t.Errorf("SET %d events %v, want %s with its payload", i, set.Events, want[i].uri)
				}
				if set.SubID["format"] != "scim" || set.SubID["uri"] != want[i].sub || set.Aud != rcv.URL || set.Iss != "https://scim.example.com" {
					t.Errorf("SET %d: %s", i, payload)
				}
				// Tampered: another payload under the same signature fails.
				if _, err := jose.ParseSignedCompact(tok[:len(tok)-4]+"AAAA", []jose.SignatureAlgorithm{jose.ES256}); err == nil {
					if tampered, _ := jose.ParseSignedCompact(tok[:len(tok)-4]+"AAAA", []jose.SignatureAlgorithm{jose.ES256}); tampered != nil {
						if _, err := tampered.Verify(keys[0].Key); err == nil {
							t.Error("a tampered SET verified")
						}
					}
				}
			}
		})
	}
}
