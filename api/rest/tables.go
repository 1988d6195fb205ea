package rest

import (
	"net/http"
)

// Table is one flow table of a network with its counters: Active rules,
// Lookups (packets looked up in it) and Matched (packets that hit a rule),
// merged over the tiers as OpenFlow's TABLE_STATS are.
type Table struct {
	Table   uint8  `json:"table"`
	Active  uint32 `json:"active"`
	Lookups uint64 `json:"lookups"`
	Matched uint64 `json:"matched"`
}

func (s *Server) routeTables() {
	s.handle("GET /v1/networks/{name}/tables", s.listTables)
}

// listTables answers the tables that are in use (a rule or a lookup): a
// switch has 254 and most stay empty.
func (s *Server) listTables(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	tables, err := s.backend.Tables(r.Context(), name)
	answerList(s, w, r, tables, err, "tables of network "+name)
}
