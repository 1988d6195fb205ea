package vmtest

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseSmartNICFilters(t *testing.T) {
	text := "1 0 10 6e6601000000000000000007000a1234 5 640\n" +
		"2 1 3 - 0 0\n"
	got, err := parseSmartNICFilters(text)
	if err != nil {
		t.Fatal(err)
	}
	want := []SmartNICFilter{
		{ID: 1, Chain: 0, Prio: 10, Cookie: []byte{'n', 'f', 1, 0, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0x0a, 0x12, 0x34}, Packets: 5, Bytes: 640},
		{ID: 2, Chain: 1, Prio: 3},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("parse (-want +got):\n%s", diff)
	}
	for _, bad := range []string{"1 0 10 - 5", "x 0 10 - 5 6", "1 0 10 zz 5 6"} {
		if _, err := parseSmartNICFilters(bad); err == nil {
			t.Errorf("parse %q: no error", bad)
		}
	}
	if got, err := parseSmartNICFilters(""); err != nil || len(got) != 0 {
		t.Errorf("parse empty = %v, %v", got, err)
	}
}
