package rest

import (
	_ "embed" // the OpenAPI document
	"net/http"
)

// OpenAPI is the API's OpenAPI 3 document (openapi.yaml).
//
//go:embed openapi.yaml
var OpenAPI []byte

func (s *Server) routeOpenAPI() {
	s.handle("GET /openapi.yaml", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		_, _ = w.Write(OpenAPI)
	})
}
