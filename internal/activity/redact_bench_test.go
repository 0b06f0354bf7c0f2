package activity

import "testing"

var oktaCreate = []byte(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"test.user@okta.local","name":{"givenName":"Test","familyName":"User"},"emails":[{"primary":true,"value":"test.user@okta.local","type":"work"}],"displayName":"Test User","locale":"en-US","externalId":"00ujl29u0le5T6Aj10h7","groups":[],"password":"1mz050nq","active":true}`)

var userResponse = []byte(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"23a35c27-23d3-4c03-b4c5-6443c09e7173","userName":"test.user@okta.local","name":{"givenName":"Test","familyName":"User"},"emails":[{"primary":true,"value":"test.user@okta.local","type":"work"}],"displayName":"Test User","locale":"en-US","externalId":"00ujl29u0le5T6Aj10h7","groups":[],"active":true,"meta":{"resourceType":"User","created":"2026-12-06T07:33:48Z","lastModified":"2026-12-06T07:33:48Z","location":"https://scim.example/scim/v2/Users/23a35c27-23d3-4c03-b4c5-6443c09e7173","version":"W/\"1\""}}`)

// pageResponse is a page of 100 users as a list answers it (about 58 KB, no secret).
var pageResponse = func() []byte {
	b := []byte(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":1000,"itemsPerPage":100,"startIndex":1,"Resources":[`)
	for i := range 100 {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, userResponse...)
	}
	return append(b, "]}"...)
}()

// BenchmarkRedactBody is the log's work per body off the request path: an Okta create
// (it names a password), the user it answers and a page of users (they name none).
func BenchmarkRedactBody(b *testing.B) {
	for _, bc := range []struct {
		name   string
		body   []byte
		redact func([]byte, int64, int) string
	}{
		{"okta-create", oktaCreate, RedactBody},
		{"user-response", userResponse, RedactResponse},
		{"page-response", pageResponse, RedactResponse},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.body)))
			for b.Loop() {
				bc.redact(bc.body, 0, DefaultBodyLimit)
			}
		})
	}
}
