package tcflower

import (
	"encoding/binary"
	"hash/fnv"
)

// CookieLen is the length of a nicflow action cookie (TC_COOKIE_MAX_SIZE).
const CookieLen = 16

// CookieVersion is the cookie layout EncodeCookie writes.
const CookieVersion = 1

// CookieInfo is the rule identity a filter carries in its tc action
// cookie, so that a restarted agent can tell its own filters from others'
// and re-adopt them. Layout, 16 bytes, integers big-endian:
//
//	0-1    magic "nf"
//	2      version (CookieVersion)
//	3      OpenFlow table
//	4-11   flow ID (pipeline.Flow.ID)
//	12-13  OpenFlow priority
//	14-15  digest of the filter (Digest)
//
// Flow IDs are only meaningful within one agent run; after a restart the
// agent matches a re-sent rule to a kernel filter by table, priority and
// digest (and then compares the dumped filter).
type CookieInfo struct {
	Version  uint8
	Table    uint8
	FlowID   uint64
	Priority uint16
	Digest   uint16
}

var cookieMagic = [2]byte{'n', 'f'}

// EncodeCookie returns the 16-byte cookie of c.
func EncodeCookie(c CookieInfo) []byte {
	b := make([]byte, CookieLen)
	copy(b, cookieMagic[:])
	b[2] = c.Version
	b[3] = c.Table
	binary.BigEndian.PutUint64(b[4:], c.FlowID)
	binary.BigEndian.PutUint16(b[12:], c.Priority)
	binary.BigEndian.PutUint16(b[14:], c.Digest)
	return b
}

// ParseCookie decodes a cookie written by EncodeCookie. It returns false
// for a cookie that is not nicflow's (wrong length or magic) or of an
// unknown version.
func ParseCookie(b []byte) (CookieInfo, bool) {
	if len(b) != CookieLen || b[0] != cookieMagic[0] || b[1] != cookieMagic[1] || b[2] != CookieVersion {
		return CookieInfo{}, false
	}
	return CookieInfo{
		Version:  b[2],
		Table:    b[3],
		FlowID:   binary.BigEndian.Uint64(b[4:]),
		Priority: binary.BigEndian.Uint16(b[12:]),
		Digest:   binary.BigEndian.Uint16(b[14:]),
	}, true
}

// Digest is a 16-bit hash (FNV-1a folded) of everything a filter does,
// its cookie and flags excluded: two filters with the same chain, pref,
// keys and actions have the same digest.
func Digest(f *Filter) uint16 {
	g := *f
	g.Cookie, g.Flags, g.Handle = nil, 0, 0
	h := fnv.New32a()
	h.Write([]byte(g.String()))
	s := h.Sum32()
	return uint16(s>>16) ^ uint16(s)
}
