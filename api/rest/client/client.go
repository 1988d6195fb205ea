// Package client is a typed Go client of nicflowd's REST API (package
// rest), over the daemon's unix socket or an http:// URL. nicflowctl uses
// it, and so do tests that drive a running daemon.
//
// A Client is safe for concurrent use.
//
// It must not import, directly or indirectly: github.com/nicflow/nicflow/...
// but github.com/nicflow/nicflow/api/rest and
// github.com/nicflow/nicflow/api/openflow/oftarget and
// github.com/nicflow/nicflow/api/mtls.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"

	"github.com/nicflow/nicflow/api/mtls"
	"github.com/nicflow/nicflow/api/rest"
)

// Options say where the API is. URL wins over Socket; with neither, the
// client uses rest.DefaultSocket.
type Options struct {
	// Socket is the unix socket path of the API.
	Socket string
	// URL is the API's base URL over TCP ("http://127.0.0.1:8080").
	URL string
	// TLS are the client's key, certificate and CA for an https:// URL
	// (nicflowd's --api-listen beyond loopback needs mutual TLS): the
	// server must present a certificate the CA signed. Zero: https uses
	// the system's roots and offers no certificate.
	TLS mtls.Files
	// HTTPClient overrides the HTTP client (its transport is replaced for
	// a unix socket or for TLS files).
	HTTPClient *http.Client
}

// Client talks to one nicflowd.
type Client struct {
	base  string       // "http://nicflowd" for a socket, else the URL
	where string       // the socket path or the URL, for errors
	unix  bool         // talking over a unix socket
	hc    *http.Client // never nil
}

// New returns a client for the API that o names.
func New(o Options) (*Client, error) {
	hc := &http.Client{}
	if o.HTTPClient != nil {
		copied := *o.HTTPClient
		hc = &copied
	}
	if o.URL != "" {
		u, err := url.Parse(o.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("api url %q: want http://HOST:PORT or https://HOST:PORT", o.URL)
		}
		if !o.TLS.IsZero() {
			if u.Scheme != "https" {
				return nil, fmt.Errorf("api url %q: TLS files need an https:// URL", o.URL)
			}
			mat, err := mtls.Load(o.TLS, nil)
			if err != nil {
				return nil, err
			}
			hc.Transport = &http.Transport{TLSClientConfig: mat.ClientConfig(), ForceAttemptHTTP2: true}
		}
		return &Client{base: strings.TrimSuffix(o.URL, "/"), where: o.URL, hc: hc}, nil
	}
	if !o.TLS.IsZero() {
		return nil, errors.New("TLS files are for an https:// URL, not the unix socket")
	}
	path := o.Socket
	if path == "" {
		path = rest.DefaultSocket
	}
	hc.Transport = &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
	}
	return &Client{base: "http://nicflowd", where: path, unix: true, hc: hc}, nil
}

// ErrNotRunning matches the errors of requests that found no daemon
// listening: a missing socket or a refused connection.
var ErrNotRunning = errors.New("nicflowd is not running")

// NotRunningError reports that no daemon answered at Where.
type NotRunningError struct {
	Where string // socket path or URL
	Err   error
}

func (e *NotRunningError) Error() string {
	switch {
	case errors.Is(e.Err, fs.ErrNotExist):
		return fmt.Sprintf("nicflowd is not running: no API socket at %s", e.Where)
	case errors.Is(e.Err, syscall.ECONNREFUSED):
		return fmt.Sprintf("nicflowd is not running: nothing accepts connections on %s", e.Where)
	}
	return fmt.Sprintf("nicflowd is not running at %s: %v", e.Where, e.Err)
}

func (e *NotRunningError) Unwrap() error        { return e.Err }
func (e *NotRunningError) Is(target error) bool { return target == ErrNotRunning }

// APIError is an error the API answered.
type APIError struct {
	Status int
	rest.ErrorBody
}

func (e *APIError) Error() string {
	if e.ErrorBody.Error == "" {
		return fmt.Sprintf("HTTP %d %s", e.Status, http.StatusText(e.Status))
	}
	return e.ErrorBody.Error
}

// Is matches the kind of the answer's status: rest.ErrNotFound,
// rest.ErrConflict, rest.ErrInvalid, rest.ErrUnavailable, rest.ErrRefused.
func (e *APIError) Is(target error) bool {
	status, ok := rest.StatusOf(target)
	return ok && status == e.Status
}

// do sends a request with an optional JSON body and decodes a JSON answer
// into out (unless out is nil). It returns the HTTP status.
func (c *Client) do(ctx context.Context, method, path string, body, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, fmt.Errorf("%s %s: encode request: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if notRunning(err) {
			return 0, &NotRunningError{Where: c.where, Err: err}
		}
		return 0, fmt.Errorf("%s %s at %s: %w", method, path, c.where, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode >= 400 {
		e := &APIError{Status: resp.StatusCode}
		if json.Unmarshal(data, &e.ErrorBody) != nil {
			e.ErrorBody = rest.ErrorBody{Error: strings.TrimSpace(string(data))}
		}
		return resp.StatusCode, e
	}
	if out == nil {
		return resp.StatusCode, nil
	}
	if s, ok := out.(*string); ok {
		*s = string(data)
		return resp.StatusCode, nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return resp.StatusCode, fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return resp.StatusCode, nil
}

// notRunning reports whether a transport error means nobody listens.
func notRunning(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED)
}

// esc escapes one path segment.
func esc(s string) string { return url.PathEscape(s) }
