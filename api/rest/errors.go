package rest

import (
	"errors"
	"net/http"
	"strings"
)

// Kinds of failure. A Backend's error carries one, as the Kind of an *Error
// or wrapped (fmt.Errorf("uplink %s is gone: %w", dev, rest.ErrNotFound)),
// and the server maps it to the HTTP status of the answer (kindStatus); a
// backend builds no status. The server prefixes the operation and the
// resource ("network blue: not found"), so a backend need not repeat them.
var (
	ErrNotFound    = errors.New("not found")           // 404
	ErrConflict    = errors.New("conflict")            // 409
	ErrInvalid     = errors.New("invalid request")     // 400
	ErrUnavailable = errors.New("service unavailable") // 503
	// ErrRefused: the kernel or a driver refused a valid request (a VF
	// rate above the link speed, VEPA on a NIC that has none); the error
	// carries the kernel's words.
	ErrRefused = errors.New("refused by the kernel") // 422

	// errTooLarge is the server's own: a request body over maxBody.
	errTooLarge = errors.New("request body too large") // 413
	// errSlow is the server's own: a request body not received within
	// the read timeout.
	errSlow = errors.New("request body too slow") // 408
)

// kindStatus is the HTTP status of each kind.
var kindStatus = []struct {
	kind   error
	status int
}{
	{ErrNotFound, http.StatusNotFound},
	{ErrConflict, http.StatusConflict},
	{ErrInvalid, http.StatusBadRequest},
	{ErrUnavailable, http.StatusServiceUnavailable},
	{ErrRefused, http.StatusUnprocessableEntity},
	{errTooLarge, http.StatusRequestEntityTooLarge},
	{errSlow, http.StatusRequestTimeout},
}

// StatusOf is the HTTP status the server answers for a kind (ErrNotFound,
// ...); false for an error that is none.
func StatusOf(kind error) (int, bool) {
	for _, ks := range kindStatus {
		if ks.kind == kind {
			return ks.status, true
		}
	}
	return 0, false
}

// Error is a failure with its kind, the request field at fault (may be
// empty), a message for people and its cause. Backends return it when they
// can name the field; it matches its kind with errors.Is and its cause
// with errors.Is and errors.As.
type Error struct {
	// Kind is ErrNotFound, ErrConflict, ErrInvalid, ErrUnavailable or
	// ErrRefused; nil is an internal failure (500).
	Kind  error
	Field string
	// Msg says what went wrong, with the cause's words where they help
	// (the kernel's refusal); empty: the cause's text.
	Msg string
	Err error
}

func (e *Error) Error() string {
	msg := e.Msg
	if msg == "" && e.Err != nil {
		msg = e.Err.Error()
	}
	if e.Field != "" && !strings.HasPrefix(msg, e.Field+":") {
		return e.Field + ": " + msg
	}
	return msg
}

// Is reports whether target is e's kind.
func (e *Error) Is(target error) bool { return target != nil && target == e.Kind }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Invalid returns an ErrInvalid error naming field.
func Invalid(field, msg string) *Error {
	return &Error{Kind: ErrInvalid, Field: field, Msg: msg}
}

// NotFound returns an ErrNotFound error naming field.
func NotFound(field, msg string) *Error {
	return &Error{Kind: ErrNotFound, Field: field, Msg: msg}
}

// Conflict returns an ErrConflict error naming field.
func Conflict(field, msg string) *Error {
	return &Error{Kind: ErrConflict, Field: field, Msg: msg}
}

// Unavailable returns an ErrUnavailable error naming field (may be
// empty): what the request needs is missing on this host or not running.
func Unavailable(field, msg string) *Error {
	return &Error{Kind: ErrUnavailable, Field: field, Msg: msg}
}

// Refused returns an ErrRefused error naming the field whose value the
// kernel refused, in the kernel's words (err's text).
func Refused(field string, err error) *Error {
	return &Error{Kind: ErrRefused, Field: field, Err: err}
}

// ErrorBody is the JSON body of every error response. Error includes the
// field name as a prefix ("vlan: 4096 is out of range 0-4094").
type ErrorBody struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

// toError returns the HTTP status and body answered for err: the status
// of the kind of the outermost *Error that has one, else of the kind err
// wraps, else 500.
func toError(err error) (int, ErrorBody) {
	body := ErrorBody{Error: err.Error()}
	var e *Error
	if errors.As(err, &e) {
		body.Field = e.Field
		if status, ok := StatusOf(e.Kind); ok {
			return status, body
		}
	}
	for _, ks := range kindStatus {
		if errors.Is(err, ks.kind) {
			return ks.status, body
		}
	}
	return http.StatusInternalServerError, body
}
