package rest

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// DatapathID is an OpenFlow datapath id. It is written as 16 hex digits
// ("0x000000000000abcd") and read from a JSON string in hex ("0xabcd", or
// 16 hex digits as ovs-vsctl prints them) or decimal, or from a JSON
// number. Zero means "derive it" (from the first port's MAC address).
type DatapathID uint64

// String returns the id as "0x" and 16 hex digits.
func (d DatapathID) String() string { return fmt.Sprintf("0x%016x", uint64(d)) }

// MarshalJSON writes the id as a hex string.
func (d DatapathID) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads a hex or decimal string or a number; a bad value is
// an *Error naming datapath_id.
func (d *DatapathID) UnmarshalJSON(b []byte) error {
	v, err := parseUint64JSON(b, true)
	if err != nil {
		return Invalid("datapath_id", err.Error())
	}
	*d = DatapathID(v)
	return nil
}

// ParseDatapathID parses a datapath id as UnmarshalJSON reads it from a
// string: decimal, 0x-hex or 16 hex digits.
func ParseDatapathID(s string) (DatapathID, error) {
	v, err := parseUint64(s, true)
	return DatapathID(v), err
}

// Cookie is an OpenFlow cookie, written as a hex string ("0xbeef") so
// that JSON readers with float64 numbers keep every bit.
type Cookie uint64

// MarshalJSON writes the cookie as a hex string.
func (c Cookie) MarshalJSON() ([]byte, error) { return json.Marshal(fmt.Sprintf("%#x", uint64(c))) }

// UnmarshalJSON reads a hex or decimal string or a number.
func (c *Cookie) UnmarshalJSON(b []byte) error {
	v, err := parseUint64JSON(b, false)
	if err != nil {
		return Invalid("cookie", err.Error())
	}
	*c = Cookie(v)
	return nil
}

// parseUint64JSON parses a JSON string or number; null is 0, as an
// omitted field.
func parseUint64JSON(b []byte, bareHex16 bool) (uint64, error) {
	s := string(b)
	if s == "null" {
		return 0, nil
	}
	if strings.HasPrefix(s, `"`) {
		if err := json.Unmarshal(b, &s); err != nil {
			return 0, fmt.Errorf("%s is not a string", b)
		}
		return parseUint64(s, bareHex16)
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s is not a 64-bit unsigned number", s)
	}
	return v, nil
}

// parseUint64 parses decimal or 0x-hex; with bareHex16 also 16 hex digits.
func parseUint64(s string, bareHex16 bool) (uint64, error) {
	if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
		v, err := strconv.ParseUint(s[2:], 16, 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not a 64-bit hex number", s)
		}
		return v, nil
	}
	if bareHex16 && len(s) == 16 {
		if v, err := strconv.ParseUint(s, 16, 64); err == nil {
			return v, nil
		}
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a decimal, 0x-hex or 16-hex-digit number", s)
	}
	return v, nil
}
