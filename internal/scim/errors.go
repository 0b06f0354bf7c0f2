package scim

import (
	"errors"
	"fmt"
	"net/http"
)

// SCIM error types from RFC 7644 §3.12, Table 9.
const (
	ErrInvalidFilter = "invalidFilter"
	ErrTooMany       = "tooMany"
	ErrUniqueness    = "uniqueness"
	ErrMutability    = "mutability"
	ErrInvalidSyntax = "invalidSyntax"
	ErrInvalidPath   = "invalidPath"
	ErrNoTarget      = "noTarget"
	ErrInvalidValue  = "invalidValue"
	ErrInvalidVers   = "invalidVers"
	ErrSensitive     = "sensitive"
)

// Error is a protocol error: it carries the HTTP status, the RFC 7644 §3.12 scimType
// (empty where the RFC defines none) and a detail meant for the client's operator.
type Error struct {
	Status   int
	ScimType string
	Detail   string
}

func (e *Error) Error() string {
	if e.ScimType != "" {
		return fmt.Sprintf("%d %s: %s", e.Status, e.ScimType, e.Detail)
	}
	return fmt.Sprintf("%d: %s", e.Status, e.Detail)
}

// AsError reports whether err is (or wraps) a protocol error and returns it.
func AsError(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}

func newErr(status int, scimType, format string, args ...any) *Error {
	return &Error{Status: status, ScimType: scimType, Detail: fmt.Sprintf(format, args...)}
}

// BadRequest is a 400 with the given scimType.
func BadRequest(scimType, format string, args ...any) *Error {
	return newErr(http.StatusBadRequest, scimType, format, args...)
}

// InvalidFilter is a 400 invalidFilter.
func InvalidFilter(format string, args ...any) *Error {
	return BadRequest(ErrInvalidFilter, format, args...)
}

// InvalidValue is a 400 invalidValue.
func InvalidValue(format string, args ...any) *Error {
	return BadRequest(ErrInvalidValue, format, args...)
}

// InvalidSyntax is a 400 invalidSyntax.
func InvalidSyntax(format string, args ...any) *Error {
	return BadRequest(ErrInvalidSyntax, format, args...)
}

// InvalidPath is a 400 invalidPath.
func InvalidPath(format string, args ...any) *Error {
	return BadRequest(ErrInvalidPath, format, args...)
}

// NotFound is a 404 without scimType.
func NotFound(format string, args ...any) *Error {
	return newErr(http.StatusNotFound, "", format, args...)
}

// Conflict is a 409 uniqueness error (RFC 7644 §3.3: "If the service provider determines
// that the creation of the requested resource conflicts with existing resources ... MUST
// return HTTP status code 409 (Conflict) with a "scimType" error code of "uniqueness"").
func Conflict(format string, args ...any) *Error {
	return newErr(http.StatusConflict, ErrUniqueness, format, args...)
}

// PreconditionFailed is a 412 for a stale If-Match (RFC 7644 §3.14).
func PreconditionFailed(format string, args ...any) *Error {
	return newErr(http.StatusPreconditionFailed, "", format, args...)
}

// Unauthorized is a 401.
func Unauthorized(format string, args ...any) *Error {
	return newErr(http.StatusUnauthorized, "", format, args...)
}

// Status builds an error with an arbitrary status and no scimType.
func Status(status int, format string, args ...any) *Error {
	return newErr(status, "", format, args...)
}
