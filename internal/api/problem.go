package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/scimd/scimd/internal/service"
)

// problemBase is where each problem type is documented (RFC 9457 §3.1.1: the type URI
// "is encouraged" to resolve to human-readable documentation).
const problemBase = "https://github.com/scimd/scimd/blob/main/docs/api.md#"

// Problem is an RFC 9457 problem details object, with the offending field as an extension
// member.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Field  string `json:"field,omitempty"`
}

func (p *Problem) Error() string { return p.Detail }

// problem types, by status: one type per way a request can fail.
var problemTypes = map[int]struct{ slug, title string }{
	http.StatusBadRequest:            {"invalid-request", "Invalid request"},
	http.StatusUnauthorized:          {"unauthorized", "Authentication required"},
	http.StatusForbidden:             {"forbidden", "Not allowed for this API key"},
	http.StatusNotFound:              {"not-found", "Not found"},
	http.StatusMethodNotAllowed:      {"method-not-allowed", "Method not allowed"},
	http.StatusConflict:              {"conflict", "Conflict"},
	http.StatusRequestEntityTooLarge: {"too-large", "Request body too large"},
	http.StatusUnsupportedMediaType:  {"unsupported-media-type", "Unsupported media type"},
	http.StatusInternalServerError:   {"internal", "Internal error"},
}

func newProblem(status int, field, format string, args ...any) *Problem {
	t := problemTypes[status]
	return &Problem{Type: problemBase + t.slug, Title: t.title, Status: status, Detail: fmt.Sprintf(format, args...), Field: field}
}

func badRequest(field, format string, args ...any) *Problem {
	return newProblem(http.StatusBadRequest, field, format, args...)
}

// problemOf turns any error into the problem to render; ok is false for a failure of
// scimd itself, which the caller logs.
func problemOf(err error) (p *Problem, ok bool) {
	if errors.As(err, &p) {
		return p, true
	}
	if e, isSvc := service.AsError(err); isSvc {
		status := map[service.Kind]int{
			service.Invalid:   http.StatusBadRequest,
			service.NotFound:  http.StatusNotFound,
			service.Conflict:  http.StatusConflict,
			service.Forbidden: http.StatusForbidden,
		}[e.Kind]
		if status == 0 {
			status = http.StatusBadRequest
		}
		return newProblem(status, e.Field, "%s", e.Detail), true
	}
	var maxErr *http.MaxBytesError
	if errors.As(err, &maxErr) {
		return newProblem(http.StatusRequestEntityTooLarge, "", "request body exceeds %d bytes", maxErr.Limit), true
	}
	return newProblem(http.StatusInternalServerError, "", "internal error"), false
}

func writeProblem(w http.ResponseWriter, p *Problem) {
	if p.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="scimd management API"`)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	json.NewEncoder(w).Encode(p)
}

// decodeError names the field a JSON body got wrong.
func decodeError(err error) *Problem {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	var maxErr *http.MaxBytesError
	switch {
	case errors.As(err, &maxErr):
		return newProblem(http.StatusRequestEntityTooLarge, "", "request body exceeds %d bytes", maxErr.Limit)
	case errors.As(err, &typeErr):
		return badRequest(typeErr.Field, "%s must be a JSON %s", typeErr.Field, jsonType(typeErr.Type.Kind().String()))
	case errors.As(err, &syntaxErr):
		return badRequest("", "the body is not valid JSON (at byte %d)", syntaxErr.Offset)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return badRequest(field, "unknown field %q", field)
	}
	return badRequest("", "the body is not valid JSON: %v", err)
}

func jsonType(kind string) string {
	switch kind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "ptr":
		return "value of another type"
	}
	if strings.HasPrefix(kind, "int") || strings.HasPrefix(kind, "uint") || strings.HasPrefix(kind, "float") {
		return "number"
	}
	return kind
}
