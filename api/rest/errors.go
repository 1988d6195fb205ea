package rest

import (
	"errors"
	"net/http"
	"strings"
)

// Sentinel errors a Backend returns or wraps (fmt.Errorf("uplink %s is
// gone: %w", dev, rest.ErrNotFound)) to choose the HTTP status of its
// failure. The server prefixes the operation and the resource ("network
// blue: not found"), so a backend need not repeat them.
var (
	ErrNotFound    = errors.New("not found")           // 404
	ErrConflict    = errors.New("conflict")            // 409
	ErrInvalid     = errors.New("invalid request")     // 400
	ErrUnavailable = errors.New("service unavailable") // 503
)

// Error is an API error: an HTTP status, the request field at fault (may
// be empty) and a message for people. Backends return it when they can
// name the field; it matches the sentinel of its status with errors.Is.
type Error struct {
	Status int
	Field  string
	Msg    string
}

func (e *Error) Error() string {
	if e.Field != "" && !strings.HasPrefix(e.Msg, e.Field+":") {
		return e.Field + ": " + e.Msg
	}
	return e.Msg
}

// Is reports whether target is the sentinel error of e's status.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.Status == http.StatusNotFound
	case ErrConflict:
		return e.Status == http.StatusConflict
	case ErrInvalid:
		return e.Status == http.StatusBadRequest
	case ErrUnavailable:
		return e.Status == http.StatusServiceUnavailable
	}
	return false
}

// Invalid returns a 400 error naming field.
func Invalid(field, msg string) *Error {
	return &Error{Status: http.StatusBadRequest, Field: field, Msg: msg}
}

// NotFound returns a 404 error.
func NotFound(field, msg string) *Error {
	return &Error{Status: http.StatusNotFound, Field: field, Msg: msg}
}

// Conflict returns a 409 error naming field.
func Conflict(field, msg string) *Error {
	return &Error{Status: http.StatusConflict, Field: field, Msg: msg}
}

// ErrorBody is the JSON body of every error response. Error includes the
// field name as a prefix ("vlan: 4096 is out of range 0-4094").
type ErrorBody struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

// toError returns the HTTP status and body answered for err.
func toError(err error) (int, ErrorBody) {
	body := ErrorBody{Error: err.Error()}
	var e *Error
	if errors.As(err, &e) {
		body.Field = e.Field
		if e.Status != 0 {
			return e.Status, body
		}
	}
	switch {
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound, body
	case errors.Is(err, ErrConflict):
		return http.StatusConflict, body
	case errors.Is(err, ErrInvalid):
		return http.StatusBadRequest, body
	case errors.Is(err, ErrUnavailable):
		return http.StatusServiceUnavailable, body
	}
	return http.StatusInternalServerError, body
}
