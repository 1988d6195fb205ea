// Package ofwire converts between the OpenFlow 1.3 wire format and nicflow's
// pipeline model: OXM matches, instructions, actions, FLOW_MOD, GROUP_MOD,
// METER_MOD, PACKET_OUT and PORT_MOD bodies, multipart request and reply
// bodies, and the asynchronous messages a switch sends.
//
// Decoders validate as a switch must and return a *pipeline.Error carrying
// the exact OFPT_ERROR type and code to send back. Encoders append to a byte
// slice. The package is pure: no I/O, no logging. Fixed-layout bodies are
// written with github.com/netrack/openflow/ofp structs; variable-length ones
// (matches, actions, instructions, stats entries, table features) are coded
// here because they need strict validation.
//
// It must not import, directly or indirectly: github.com/nicflow/nicflow/...
// but github.com/nicflow/nicflow/offload/pipeline, go.uber.org/zap.
package ofwire
