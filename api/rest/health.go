package rest

import "net/http"

// Health is the body of /healthz.
type Health struct {
	Status  string `json:"status"` // ok or failing
	Version string `json:"version,omitempty"`
	Error   string `json:"error,omitempty"`
}

func (s *Server) routeHealth() {
	s.handle("GET /healthz", s.health)
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	h := Health{Status: "ok", Version: s.version}
	if hc, ok := s.backend.(HealthChecker); ok {
		if err := hc.Health(r.Context()); err != nil {
			h.Status, h.Error = "failing", err.Error()
			writeJSON(w, http.StatusServiceUnavailable, h)
			return
		}
	}
	writeJSON(w, http.StatusOK, h)
}
