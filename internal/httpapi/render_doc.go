package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"time"
	"unicode/utf8"

	"github.com/scimd/scimd/internal/scim"
	"github.com/scimd/scimd/internal/store"
)

// Listing is the request identity providers repeat most: an import pages through every
// user. A user listed with the default projection is written from its stored JSON document
// as it is, with id, schemas, groups and meta around it, instead of being decoded into
// maps and encoded again. That is exact only because the store keeps exactly the
// attributes a default response returns (see docRenderable).

// docRenderable reports whether every stored attribute of the resource type is returned
// by default, so that a stored document, written as it is, is its default projection.
// Attributes returned "never" are not stored when they are writeOnly (password); any
// other "never" or "request" attribute (a custom extension may declare one) turns the
// shortcut off.
func docRenderable(rt *scim.ResourceType) bool {
	var ok func(attrs []*scim.Attribute) bool
	ok = func(attrs []*scim.Attribute) bool {
		for _, a := range attrs {
			switch a.Returned {
			case scim.ReturnedRequest:
				return false
			case scim.ReturnedNever:
				if a.Mutability != scim.WriteOnly {
					return false
				}
			}
			if !ok(a.SubAttributes) {
				return false
			}
		}
		return true
	}
	if !ok(rt.Schema.Attributes) {
		return false
	}
	for _, e := range rt.Extensions {
		if !ok(e.Schema.Attributes) {
			return false
		}
	}
	return true
}

var errNotObject = errors.New("stored document is not a JSON object")

// docMembers returns the members of a JSON object (the text between its braces, trimmed)
// and calls key for each top-level key. A key written with escapes is reported as an
// error: stored keys are attribute names, and the caller then takes the decoding path.
func docMembers(doc []byte, key func(k []byte)) ([]byte, error) {
	doc = bytes.TrimSpace(doc)
	if len(doc) < 2 || doc[0] != '{' || doc[len(doc)-1] != '}' {
		return nil, errNotObject
	}
	inner := bytes.TrimSpace(doc[1 : len(doc)-1])
	i := 0
	skipSpace := func() {
		for i < len(inner) && (inner[i] == ' ' || inner[i] == '\t' || inner[i] == '\n' || inner[i] == '\r') {
			i++
		}
	}
	// str skips a string starting at inner[i] == '"' and reports whether it had escapes.
	str := func() (escaped bool, err error) {
		i++
		for i < len(inner) {
			switch inner[i] {
			case '\\':
				escaped = true
				i += 2
				continue
			case '"':
				i++
				return escaped, nil
			}
			i++
		}
		return false, errNotObject
	}
	for {
		skipSpace()
		if i >= len(inner) {
			return inner, nil
		}
		if inner[i] != '"' {
			return nil, errNotObject
		}
		start := i
		escaped, err := str()
		if err != nil {
			return nil, err
		}
		if escaped {
			return nil, errNotObject
		}
		key(inner[start+1 : i-1])
		skipSpace()
		if i >= len(inner) || inner[i] != ':' {
			return nil, errNotObject
		}
		i++
		// Skip the value: strings are skipped whole, so brackets inside them do not count.
		depth := 0
		for i < len(inner) {
			c := inner[i]
			if c == '"' {
				if _, err := str(); err != nil {
					return nil, err
				}
				continue
			}
			if depth == 0 && c == ',' {
				break
			}
			switch c {
			case '{', '[':
				depth++
			case '}', ']':
				depth--
			}
			i++
		}
		if depth != 0 {
			return nil, errNotObject
		}
		if i < len(inner) {
			i++ // the comma
		}
	}
}

// appendJSONString appends s as a JSON string; the common case (printable ASCII without
// quotes or backslashes) is copied as it is.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// appendMeta appends the "meta" member (RFC 7643 §3.1).
func appendMeta(b []byte, resourceType, location string, m store.Meta) []byte {
	b = append(b, `"meta":{"resourceType":`...)
	b = appendJSONString(b, resourceType)
	b = append(b, `,"created":`...)
	b = appendTime(b, m.Created)
	b = append(b, `,"lastModified":`...)
	b = appendTime(b, m.LastModified)
	b = append(b, `,"location":`...)
	b = appendJSONString(b, location)
	b = append(b, `,"version":`...)
	b = appendJSONString(b, etag(m.Version))
	return append(b, '}')
}

// writeUserDoc writes a listed user from its stored document (u.Doc), with every default
// attribute. It returns false, having written nothing, when the document cannot be
// written as it is; the caller then decodes it.
func (s *Server) writeUserDoc(o *objectWriter, rt *scim.ResourceType, base string, u *store.User, scratch []byte) ([]byte, bool) {
	hasActive, managed := false, false
	var exts []string
	inner, err := docMembers(u.Doc, func(k []byte) {
		switch string(k) {
		case "active":
			hasActive = true
			return
		case "schemas", "id", "meta", "groups", "roles":
			managed = true // written here, never stored; a document that has one is decoded
			return
		}
		for _, e := range rt.Extensions {
			if string(k) == e.Schema.ID {
				exts = append(exts, e.Schema.ID)
			}
		}
	})
	if err != nil || managed {
		return scratch, false
	}
	b := append(scratch[:0], `{"schemas":[`...)
	b = appendJSONString(b, rt.Schema.ID)
	for _, e := range exts {
		b = append(b, ',')
		b = appendJSONString(b, e)
	}
	b = append(b, `],"id":`...)
	b = appendJSONString(b, u.ID)
	if len(inner) > 0 {
		b = append(b, ',')
		b = append(b, inner...)
	}
	if !hasActive {
		// Absent means active (see writeUser).
		b = append(b, `,"active":true`...)
	}
	if len(u.Groups) > 0 {
		b = append(b, `,"groups":[`...)
		for i, g := range u.Groups {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"value":`...)
			b = appendJSONString(b, g.ID)
			b = append(b, `,"$ref":`...)
			b = appendJSONString(b, base+"/Groups/"+g.ID)
			b = append(b, `,"display":`...)
			b = appendJSONString(b, g.DisplayName)
			b = append(b, `,"type":"direct"}`...)
		}
		b = append(b, ']')
	}
	if len(u.Roles) > 0 {
		b = append(b, `,"roles":[`...)
		for i, name := range u.Roles {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"value":`...)
			b = appendJSONString(b, name)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, ',')
	b = appendMeta(b, "User", base+"/Users/"+u.ID, u.Meta)
	b = append(b, '}')
	o.w.Write(b)
	return b, true
}
