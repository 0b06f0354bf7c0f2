package scim

// ErrInvalidCursor is the scimType of a cursor the service provider cannot continue
// (RFC 9865 §2.1, extending RFC 7644 §3.12 Table 9).
const ErrInvalidCursor = "invalidCursor"
