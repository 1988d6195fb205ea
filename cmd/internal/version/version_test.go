package version

import (
	"strings"
	"testing"
)

func TestStringUsesLinkTimeVersion(t *testing.T) {
	old := Version
	t.Cleanup(func() { Version = old })
	Version = "v9.8.7"
	if got := String(); !strings.HasPrefix(got, "nicflow v9.8.7 (go") {
		t.Errorf("String() = %q, want it to start with %q", got, "nicflow v9.8.7 (go")
	}
}
