package softpath

import (
	"github.com/nicflow/nicflow/offload/pipeline"
	"github.com/nicflow/nicflow/softpath/packet"
)

// Execute runs a packet-out: the action list on frame as if it arrived on
// inPort (a port number or pipeline.PortController). output:TABLE runs the
// pipeline from table 0. frame is not modified nor kept.
func (d *Datapath) Execute(inPort uint32, frame []byte, actions []pipeline.Action) error {
	d.ctlMu.Lock()
	defer d.ctlMu.Unlock()
	w := d.ctl
	w.begin()
	defer w.flush()
	var p pkt
	p.buf = frame
	p.shared = true // the caller's memory
	p.inPort = inPort
	p.lay = packet.Parse(frame, inPort, &p.key)
	for i := range actions {
		a := &actions[i]
		if a.Type == pipeline.ActionOutput && a.Port == pipeline.PortTable {
			c := p
			c.shared = true
			w.enterTables(&c)
			continue
		}
		if !w.apply(&p, actions[i:i+1], 0) {
			break
		}
	}
	return nil
}
