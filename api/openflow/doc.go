// Package openflow is the switch side of OpenFlow 1.3: it runs the
// controller channels of one network (passive ptcp:/punix: listeners that
// accept any number of controllers, active tcp:/unix: connections that
// reconnect forever), negotiates the version, keeps channels alive with
// echo, tracks roles and asynchronous configuration per channel, decodes
// requests with package ofwire and turns them into calls on a Datapath,
// and sends the datapath's events (packet-in, flow-removed, port-status)
// to the channels that want them.
//
// A malformed message is answered with the OFPT_ERROR the spec names,
// carrying the first 64 bytes of the offending message; the channel stays
// up unless the framing itself is lost.
package openflow
