package ofclient

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/nicflow/nicflow/api/openflow/ofwire"
)

// FormatFlows prints flows one per line, as ovs-ofctl dump-flows does:
//
//	cookie=0x0, duration=1.234s, table=0, n_packets=5, n_bytes=490, priority=100,in_port=1 actions=output:2
func FormatFlows(w io.Writer, flows []ofwire.FlowStats) error {
	for i := range flows {
		if _, err := fmt.Fprintln(w, FormatFlow(&flows[i])); err != nil {
			return fmt.Errorf("format flows: %w", err)
		}
	}
	return nil
}

// FormatFlow renders one flow as a FormatFlows line.
func FormatFlow(f *ofwire.FlowStats) string {
	var b strings.Builder
	fmt.Fprintf(&b, " cookie=%#x, duration=%.3fs, table=%d, n_packets=%d, n_bytes=%d, ",
		f.Cookie, f.Duration.Round(time.Millisecond).Seconds(), f.TableID, f.Packets, f.Bytes)
	if f.IdleTimeout != 0 {
		fmt.Fprintf(&b, "idle_timeout=%d, ", f.IdleTimeout)
	}
	if f.HardTimeout != 0 {
		fmt.Fprintf(&b, "hard_timeout=%d, ", f.HardTimeout)
	}
	fmt.Fprintf(&b, "priority=%d", f.Priority)
	if m := ofwire.FormatMatch(&f.Match); m != "" {
		b.WriteString("," + m)
	}
	b.WriteString(" actions=" + ofwire.FormatInstructions(&f.Instr))
	return b.String()
}
