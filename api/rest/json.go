package rest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
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
			return Invalid("", fmt.Sprintf("request body must be a JSON object, not %s", typeErr.Value))
		}
		return Invalid(typeErr.Field, fmt.Sprintf("must be %s, not %s", jsonKind(typeErr.Type.Kind().String()), typeErr.Value))
	case errors.As(err, &sizeErr):
		return &Error{Kind: errTooLarge, Msg: fmt.Sprintf("request body is larger than %d bytes", sizeErr.Limit)}
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		return Invalid(name, "unknown field")
	}
	return Invalid("", "bad JSON: "+err.Error())
}

// jsonKind names a Go kind the way a JSON user thinks of it.
func jsonKind(k string) string {
	switch {
	case strings.HasPrefix(k, "int"), strings.HasPrefix(k, "uint"):
		return "an integer"
	case strings.HasPrefix(k, "float"):
		return "a number"
	case k == "bool":
		return "true or false"
	case k == "string":
		return "a string"
	case k == "slice", k == "array":
		return "an array"
	}
	return "an object"
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
