// Package openflow is the switch side of OpenFlow 1.3: it runs the
// controller channels of one network (passive ptcp:/pssl:/punix: listeners
// that accept any number of controllers, active tcp:/ssl:/unix:
// connections that reconnect forever; ssl: and pssl: are TLS with mutual
// authentication, see package api/mtls), negotiates the version, keeps channels alive with
// echo, tracks roles and asynchronous configuration per channel, decodes
// requests with package ofwire and turns them into calls on a Datapath,
// and sends the datapath's events (packet-in, flow-removed, port-status)
// to the channels that want them.
//
// A network's ports and events are offload's types (offload.PortInfo,
// offload.PacketIn, offload.FlowRemoved, offload.PortStatus), defined once
// there; this package only encodes them (ofp_port, OFPT_PACKET_IN, ...).
// It reaches a network only through the Datapath interface
// (api/openflow/ofnetwork adapts an offload.Network to it).
//
// A malformed message is answered with the OFPT_ERROR the spec names,
// carrying the first 64 bytes of the offending message; the channel stays
// up unless the framing itself is lost.
//
// It must not import, directly or indirectly:
// github.com/nicflow/nicflow/api/rest/...,
// github.com/nicflow/nicflow/cmd/..., github.com/nicflow/nicflow/sriov/...,
// github.com/nicflow/nicflow/vepa/...,
// github.com/nicflow/nicflow/offload/... but
// github.com/nicflow/nicflow/offload and
// github.com/nicflow/nicflow/offload/pipeline.
package openflow
