package rest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"reflect"
	"strings"

	"go.uber.org/zap"
)

// maxBody bounds request bodies.
const maxBody = 1 << 20

// decode reads exactly one JSON object into v, rejecting unknown fields;
// errors are *Error values naming the field when there is one.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			// The server's ReadTimeout: the connection is closed after the answer.
			return &Error{Kind: errSlow, Msg: "request body not received in time (the server's read timeout); send it at once"}
		}
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Invalid("", "request body holds more than one JSON value")
	}
	return nil
}

func decodeError(err error) error {
	var (
		apiErr    *Error
		syntaxErr *json.SyntaxError
		typeErr   *json.UnmarshalTypeError
		sizeErr   *http.MaxBytesError
	)
	switch {
	case errors.As(err, &apiErr):
		return apiErr
	case errors.Is(err, io.EOF):
		return Invalid("", "request body is empty; a JSON object is expected")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return Invalid("", "request body is truncated JSON")
	case errors.As(err, &syntaxErr):
		return Invalid("", fmt.Sprintf("malformed JSON at byte %d: %v", syntaxErr.Offset, syntaxErr))
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			got, _ := jsonValue(typeErr.Value)
			return Invalid("", "request body must be a JSON object, not "+got)
		}
		return Invalid(typeErr.Field, typeMismatch(typeErr.Type, typeErr.Value))
	case errors.As(err, &sizeErr):
		return &Error{Kind: errTooLarge, Msg: fmt.Sprintf("request body is larger than %d bytes", sizeErr.Limit)}
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		return Invalid(name, "unknown field")
	}
	return Invalid("", "bad JSON: "+err.Error())
}

// typeMismatch says what a field of Go type t wants and what it got, the
// way a JSON user thinks of it: value is encoding/json's description of
// the JSON value ("number -5", "string", "object", ...), shown as the
// number itself or the JSON type with its article ("must be a
// non-negative integer, not -5", "must be an integer, not a string").
func typeMismatch(t reflect.Type, value string) string {
	got, isNumber := jsonValue(value)
	// whole: an integer literal that did not fit (a fraction is no integer).
	whole := isNumber && !strings.ContainsAny(got, ".eE")
	want := "an object"
	switch k := t.Kind(); {
	case k >= reflect.Int && k <= reflect.Int64:
		want = "an integer"
		if whole {
			want = fmt.Sprintf("an integer from %d to %d", int64(-1)<<(t.Bits()-1), int64(1)<<(t.Bits()-1)-1)
		}
	case k >= reflect.Uint && k <= reflect.Uintptr:
		want = "a non-negative integer"
		if whole && !strings.HasPrefix(got, "-") {
			want += fmt.Sprintf(" no larger than %d", uint64(1)<<t.Bits()-1)
		}
	case k == reflect.Float32 || k == reflect.Float64:
		want = "a number"
	case k == reflect.Bool:
		want = "true or false"
	case k == reflect.String:
		want = "a string"
	case k == reflect.Slice || k == reflect.Array:
		want = "an array"
	}
	return fmt.Sprintf("must be %s, not %s", want, got)
}

// jsonValue shows a JSON value as encoding/json describes it: a number
// as itself ("number -5": "-5", true), another type with its article
// ("string": "a string", "bool": "true or false").
func jsonValue(value string) (_ string, isNumber bool) {
	if n, ok := strings.CutPrefix(value, "number "); ok {
		return n, true
	}
	switch value {
	case "bool":
		return "true or false", false
	case "array", "object":
		return "an " + value, false
	case "string", "number":
		return "a " + value, false
	}
	return value, false
}

// writeJSON answers v as indented JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v) // the client went away: nothing to do
}

// fail answers err as a JSON error, logging server-side failures.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, body := toError(err)
	if status >= 500 {
		s.log.Error("api request failed", zap.String(logKeyMethod, r.Method),
			zap.String(logKeyPath, r.URL.Path), zap.Int(logKeyStatus, status), zap.Error(err))
	}
	writeJSON(w, status, body)
}

// Log keys.
const (
	logKeyMethod = "method"
	logKeyPath   = "path"
	logKeyStatus = "status"
)

// answerList answers a list request: the items (an empty list rather than
// null), or err wrapped with what was asked.
func answerList[T any](s *Server, w http.ResponseWriter, r *http.Request, items []T, err error, what string) {
	if items == nil {
		items = []T{}
	}
	answer(s, w, r, items, err, what)
}

// answer answers a read request with v, or err wrapped with what was
// asked.
func answer[T any](s *Server, w http.ResponseWriter, r *http.Request, v T, err error, what string) {
	if err != nil {
		s.fail(w, r, fmt.Errorf("%s: %w", what, err))
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// decodeValid decodes the request body into v and validates it; on an
// error it has answered the request and returns false.
func (s *Server) decodeValid(w http.ResponseWriter, r *http.Request, v interface{ Validate() error }) bool {
	err := decode(w, r, v)
	if err == nil {
		err = v.Validate()
	}
	if err != nil {
		s.fail(w, r, err)
		return false
	}
	return true
}
