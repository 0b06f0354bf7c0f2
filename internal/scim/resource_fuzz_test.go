package scim

import (
	"encoding/json"
	"testing"
)

// The fuzz targets below hold the promise of this package to the HTTP layer: whatever a
// client sends, decoding, normalizing and patching never panic and fail only with a
// *Error (which renders as an RFC 7644 §3.12 response), and what they accept is a
// resource that normalizes to itself. Their seed corpora in testdata/fuzz hold the
// RFC 7644 §3.5.2 examples and the bodies Okta and Microsoft Entra ID are documented or
// were observed to send.

// fuzzWantError fails unless err is a *Error with a 4xx status and, for a 400, a scimType.
func fuzzWantError(t *testing.T, what string, err error) {
	t.Helper()
	e, ok := AsError(err)
	if !ok {
		t.Fatalf("%s: error %v (%T) is not a *scim.Error", what, err, err)
	}
	if e.Status < 400 || e.Status > 499 || (e.Status == 400 && e.ScimType == "") || e.Detail == "" {
		t.Fatalf("%s: error %+v is not a client error with a scimType and a detail", what, e)
	}
}

// FuzzDecodeResource: a request body of a POST or PUT, for Users and for Groups.
func FuzzDecodeResource(f *testing.F) {
	f.Add([]byte(patchUserJSON))
	f.Add([]byte(patchGroupJSON))
	types := []struct {
		rt      *ResourceType
		managed []string
	}{
		{NewUserResourceType(), nil},
		{NewGroupResourceType(), []string{"members"}},
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, ty := range types {
			body, err := DecodeJSON(data)
			if err != nil {
				fuzzWantError(t, "DecodeJSON", err)
				return
			}
			res, managed, err := NormalizeResource(ty.rt, body, ty.managed...)
			if err != nil {
				fuzzWantError(t, ty.rt.ID+": NormalizeResource", err)
				continue
			}
			if res == nil || managed == nil {
				t.Fatalf("%s: NormalizeResource returned nil without an error", ty.rt.ID)
			}
			again, _, err := NormalizeResource(ty.rt, map[string]any(res))
			if err != nil {
				t.Fatalf("%s: the normalized resource does not normalize: %v\n%s", ty.rt.ID, err, pJSON(res))
			}
			if g, w := pJSON(again), pJSON(res); g != w {
				t.Fatalf("%s: normalizing twice differs:\n%s\nthen\n%s", ty.rt.ID, w, g)
			}
			for name, v := range managed {
				if _, err := NormalizeValue(ty.rt.Schema.Attr(name), v, name); err != nil {
					t.Fatalf("%s: normalized %s does not normalize: %v", ty.rt.ID, name, err)
				}
			}
		}
	})
}

// FuzzApplyPatch: a PATCH request body against a fixed user and a fixed group.
func FuzzApplyPatch(f *testing.F) {
	f.Add([]byte(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}`))
	targets := []struct {
		rt    *ResourceType
		id    string
		start Resource
	}{
		{NewUserResourceType(), patchUserID, Resource(pDecode(f, patchUserJSON))},
		{NewGroupResourceType(), "acbf3ae7-8463-4692-b4fd-9b4da3f908ce", Resource(pDecode(f, patchGroupJSON))},
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, tg := range targets {
			body, err := DecodeJSON(data)
			if err != nil {
				fuzzWantError(t, "DecodeJSON", err)
				return
			}
			ops, err := ParsePatch(tg.rt, body)
			if err != nil {
				fuzzWantError(t, tg.rt.ID+": ParsePatch", err)
				continue
			}
			before := pJSON(tg.start)
			got, err := ApplyPatch(tg.rt, tg.id, tg.start, ops)
			if after := pJSON(tg.start); after != before {
				t.Fatalf("%s: ApplyPatch modified the stored resource:\n%s", tg.rt.ID, after)
			}
			if err != nil {
				fuzzWantError(t, tg.rt.ID+": ApplyPatch", err)
				if got != nil {
					t.Fatalf("%s: ApplyPatch returned a resource with its error", tg.rt.ID)
				}
				continue
			}
			again, _, err := NormalizeResource(tg.rt, map[string]any(got))
			if err != nil {
				t.Fatalf("%s: the patched resource does not normalize: %v\n%s", tg.rt.ID, err, pJSON(got))
			}
			if g, w := pJSON(again), pJSON(got); g != w {
				t.Fatalf("%s: the patched resource normalizes to something else:\n%s\nthen\n%s", tg.rt.ID, w, g)
			}
		}
	})
}

// TestPatchEveryPathWithEveryValue crosses every op, path form and kind of value, which a
// byte-level fuzzer seldom assembles: each combination must either fail with a *Error or
// give a resource that normalizes to itself, and never touch the stored one.
func TestPatchEveryPathWithEveryValue(t *testing.T) {
	paths := []string{
		"", "userName", "displayName", "active", "name", "name.givenName", "emails", "emails.value", "emails.primary",
		`emails[type eq "work"]`, `emails[type eq "work"].value`, `emails[type eq "work"].primary`, `emails[type eq "other"]`,
		`emails[type eq "other"].value`, `emails[value co "@"]`, `emails[type eq "home" or primary eq true].display`,
		`emails[not (type eq "work")]`, "addresses", `addresses[type eq "work"].locality`, `addresses[type eq "home"]`,
		"phoneNumbers", "groups", "id", "meta", "meta.created", "externalId", "password", "x509Certificates",
		enterpriseURN, enterpriseURN + ":department", enterpriseURN + ":manager", enterpriseURN + ":manager.value",
		enterpriseURN + ":manager.displayName", "manager", "urn:ietf:params:scim:schemas:core:2.0:User:nickName",
	}
	values := []string{
		`null`, `""`, `"x"`, `"True"`, `true`, `false`, `0`, `1.5`, `[]`, `{}`, `[null]`, `[{}]`, `["a","b"]`,
		`{"value":"v@example.com","type":"work","primary":true}`, `[{"value":"v@example.com","primary":true},{"value":"w@example.com"}]`,
		`[{"value":"v@example.com","primary":true},{"value":"w@example.com","primary":true}]`, `{"givenName":"G","familyName":null}`,
		`{"department":"D","manager":{"value":"m"}}`, `{"displayName":"X","name.givenName":"Y"}`, `"2819c223-7f76-453a-919d-413861904646"`,
		`[{"value":"m"},{"value":"n"}]`, `{"nosuch":1}`, `{"type":"other"}`,
	}
	rt := NewUserResourceType()
	start := Resource(pDecode(t, patchUserJSON))
	before := pJSON(start)
	n := 0
	for _, op := range []string{"add", "replace", "remove"} {
		for _, path := range paths {
			for _, value := range values {
				o := `{"op":"` + op + `","value":` + value
				if path != "" {
					q, _ := json.Marshal(path)
					o += `,"path":` + string(q)
				}
				body := `[` + o + `}]`
				ops, err := ParsePatch(rt, pDecode(t, `{"schemas":["`+PatchOpSchema+`"],"Operations":`+body+`}`))
				if err != nil {
					fuzzWantError(t, body, err)
					continue
				}
				got, err := ApplyPatch(rt, patchUserID, start, ops)
				if pJSON(start) != before {
					t.Fatalf("%s modified the stored resource", body)
				}
				if err != nil {
					fuzzWantError(t, body, err)
					continue
				}
				n++
				again, _, err := NormalizeResource(rt, map[string]any(got))
				if err != nil {
					t.Fatalf("%s: the result does not normalize: %v\n%s", body, err, pJSON(got))
				}
				if g, w := pJSON(again), pJSON(got); g != w {
					t.Fatalf("%s: the result normalizes to something else:\n%s\nthen\n%s", body, w, g)
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no combination succeeded")
	}
}
