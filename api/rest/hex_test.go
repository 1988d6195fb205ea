package rest_test

import (
	"encoding/json"
	"testing"

	"github.com/nicflow/nicflow/api/rest"
)

func TestDatapathIDJSON(t *testing.T) {
	tests := []struct {
		in      string
		want    rest.DatapathID
		wantErr bool
	}{
		{`"0x000000000000abcd"`, 0xabcd, false},
		{`"0xABCD"`, 0xabcd, false},
		{`"000000000000abcd"`, 0xabcd, false}, // ovs-vsctl style
		{`"43981"`, 43981, false},
		{`43981`, 43981, false},
		{`"18446744073709551615"`, 1<<64 - 1, false},
		{`"0xffffffffffffffff"`, 1<<64 - 1, false},
		{`0`, 0, false},
		{`"0x"`, 0, true},
		{`"abcd"`, 0, true},
		{`"0x10000000000000000"`, 0, true},
		{`-1`, 0, true},
		{`1.5`, 0, true},
		{`null`, 0, false},
		{`{}`, 0, true},
	}
	for _, tt := range tests {
		var d rest.DatapathID
		err := json.Unmarshal([]byte(tt.in), &d)
		if (err != nil) != tt.wantErr || (err == nil && d != tt.want) {
			t.Errorf("unmarshal %s = %v, %v; want %v (error %v)", tt.in, d, err, tt.want, tt.wantErr)
		}
	}
	out, err := json.Marshal(rest.DatapathID(0xabcd))
	if err != nil || string(out) != `"0x000000000000abcd"` {
		t.Errorf("marshal = %s, %v", out, err)
	}
	out, err = json.Marshal(rest.Cookie(0xbeef))
	if err != nil || string(out) != `"0xbeef"` {
		t.Errorf("marshal cookie = %s, %v", out, err)
	}
}
