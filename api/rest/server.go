package rest

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"time"

	"go.uber.org/zap"
)

// DefaultSocket is where nicflowd serves the API by default.
const DefaultSocket = "/run/nicflow/nicflowd.sock"

// Config configures a Server.
type Config struct {
	Backend Backend
	// Logger logs failed requests (5xx); nil logs nothing.
	Logger *zap.Logger
	// Version is reported by /healthz.
	Version string
	// ReadTimeout bounds reading a request, its headers and its body: a
	// client that sends them slower is answered 408 and its connection
	// closed. Zero means DefaultReadTimeout.
	ReadTimeout time.Duration
}

// DefaultReadTimeout bounds reading a request (headers and body, at most
// maxBody bytes); the headers alone must come within headerTimeout.
const DefaultReadTimeout = 30 * time.Second

// headerTimeout bounds reading a request's headers.
const headerTimeout = 10 * time.Second

// Server is the HTTP API. It is safe for concurrent use.
type Server struct {
	backend Backend
	log     *zap.Logger
	version string
	mux     *http.ServeMux
	routes  []string // "METHOD /path", in registration order
	// readTimeout bounds reading a request (Config.ReadTimeout).
	readTimeout time.Duration
}

// New returns a Server serving cfg.Backend.
func New(cfg Config) (*Server, error) {
	if cfg.Backend == nil {
		return nil, errors.New("rest: Config.Backend is required")
	}
	s := &Server{backend: cfg.Backend, log: cfg.Logger, version: cfg.Version, mux: http.NewServeMux(), readTimeout: cfg.ReadTimeout}
	if s.readTimeout <= 0 {
		s.readTimeout = DefaultReadTimeout
	}
	if s.log == nil {
		s.log = zap.NewNop()
	}
	s.routeHealth()
	s.routeMetrics()
	s.routeOpenAPI()
	s.routeNICs()
	s.routeNetworks()
	s.routeVNICs()
	s.routeFlows()
	s.routePorts()
	s.routeTables()
	return s, nil
}

// handle registers a handler for "METHOD /path".
func (s *Server) handle(pattern string, h http.HandlerFunc) {
	s.mux.HandleFunc(pattern, h)
	s.routes = append(s.routes, pattern)
}

// Routes returns the registered routes as "METHOD /path" patterns.
func (s *Server) Routes() []string { return append([]string(nil), s.routes...) }

// Handler returns the API's http.Handler. Unknown paths and methods get
// JSON errors too.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := s.mux.Handler(r); pattern != "" {
			s.mux.ServeHTTP(w, r)
			return
		}
		// Let the mux decide between 404 and 405 (with its Allow header),
		// then answer in JSON.
		rec := &statusRecorder{header: http.Header{}}
		s.mux.ServeHTTP(rec, r)
		if allow := rec.header.Get("Allow"); allow != "" {
			w.Header().Set("Allow", allow)
		}
		status := rec.status
		if status < 400 {
			status = http.StatusNotFound
		}
		msg := fmt.Sprintf("no route for %s %s", r.Method, r.URL.Path)
		if status == http.StatusMethodNotAllowed {
			msg = fmt.Sprintf("method %s is not allowed on %s (allowed: %s)", r.Method, r.URL.Path, rec.header.Get("Allow"))
		}
		writeJSON(w, status, ErrorBody{Error: msg})
	})
}

// Serve answers requests on ln until ctx ends, then shuts down
// gracefully (in-flight requests get a few seconds).
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler: s.Handler(),
		// A body is read under ReadTimeout: without it a client that
		// trickles one holds its connection until shutdown.
		ReadHeaderTimeout: min(headerTimeout, s.readTimeout),
		ReadTimeout:       s.readTimeout,
		IdleTimeout:       2 * time.Minute,
		BaseContext:       func(net.Listener) context.Context { return ctx },
		// net/http's own complaints (a refused TLS handshake: no client
		// certificate, another CA; a malformed request line) go to the
		// daemon's log, not to a stray line on stderr.
		ErrorLog: s.stdLog(ln),
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve api on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return fmt.Errorf("shut down api on %s: %w", ln.Addr(), err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve api on %s: %w", ln.Addr(), err)
	}
	return nil
}

// stdLog is a log.Logger writing to the server's zap logger at warn level,
// naming the listener, for net/http's ErrorLog.
func (s *Server) stdLog(ln net.Listener) *log.Logger {
	l, err := zap.NewStdLogAt(s.log.With(zap.String("listener", ln.Addr().Network()+":"+ln.Addr().String())), zap.WarnLevel)
	if err != nil { // only for a level zap does not know
		panic(err)
	}
	return l
}

// statusRecorder records the status and headers the mux answers for a
// request it has no route for.
type statusRecorder struct {
	header http.Header
	status int
}

func (r *statusRecorder) Header() http.Header         { return r.header }
func (r *statusRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (r *statusRecorder) WriteHeader(code int)        { r.status = code }
