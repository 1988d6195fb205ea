// Package ofclient is a small OpenFlow 1.3 controller-side client: it
// dials a switch, does the handshake, matches replies to requests by xid,
// reassembles multipart replies split with OFPMPF_REPLY_MORE, and offers
// helpers for the requests nicflowctl and the integration tests need
// (flow, port and table statistics, port descriptions, adding and
// deleting flows, barriers). FormatFlows prints flows like ovs-ofctl.
//
// It must not import, directly or indirectly: github.com/nicflow/nicflow/...
// but github.com/nicflow/nicflow/api/openflow/ofwire and
// github.com/nicflow/nicflow/offload/pipeline.
package ofclient
