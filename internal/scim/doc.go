// Package scim knows the SCIM 2.0 protocol (RFC 7643, RFC 7644): schemas and their
// attribute definitions, filter and PATCH path parsing, resource validation and the error type.
// It knows nothing of HTTP or SQL.
package scim
