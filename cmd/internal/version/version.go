// Package version reports the nicflow build's version, shared by nicflowd
// and nicflowctl.
//
// It imports no other nicflow package.
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Version is set at link time (-ldflags "-X .../version.Version=v1.2.3");
// otherwise it comes from the module's build info.
var Version = ""

// String returns "nicflow VERSION (go VERSION, vcs REVISION)".
func String() string {
	v := Version
	rev := ""
	if info, ok := debug.ReadBuildInfo(); ok {
		if v == "" && info.Main.Version != "" {
			v = info.Main.Version
		}
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				rev = ", vcs " + s.Value[:12]
			}
		}
	}
	if v == "" {
		v = "(devel)"
	}
	return fmt.Sprintf("nicflow %s (%s%s)", v, runtime.Version(), rev)
}
