package ofwire

import (
	"fmt"

	of "github.com/netrack/openflow"

	"github.com/nicflow/nicflow/offload/pipeline"
)

// OpenFlow 1.3 has no bundles; OpenFlow 1.4's (section 7.3.9) are
// carried over 1.3 by the ONF extension EXT-230, as Open vSwitch speaks
// it (`ovs-ofctl -O OpenFlow13 --bundle`): OFPT_EXPERIMENTER messages of
// experimenter ONFExperimenter whose body after exp_type is the 1.4
// message's (ofp_bundle_ctrl_msg, then the inner message or properties),
// and the OFPBFC_* errors as experimenter errors of exp_type 2300 + code.

// ONF experimenter message types (exp_type) of EXT-230.
const (
	ONFBundleControl    uint32 = 2300 // ONFT_BUNDLE_CONTROL
	ONFBundleAddMessage uint32 = 2301 // ONFT_BUNDLE_ADD_MESSAGE
)

// ExperimenterHeaderLen is the size of ofp_experimenter_header: the
// OpenFlow header, experimenter and exp_type.
const ExperimenterHeaderLen = HeaderLen + 8

// bundleCtrlLen is the size of ofp_bundle_ctrl_msg after the experimenter
// header: bundle_id, type, flags.
const bundleCtrlLen = 8

// BundleCtrlType is OFPBCT_*.
type BundleCtrlType uint16

// The bundle control types.
const (
	BundleOpenRequest    BundleCtrlType = 0
	BundleOpenReply      BundleCtrlType = 1
	BundleCloseRequest   BundleCtrlType = 2
	BundleCloseReply     BundleCtrlType = 3
	BundleCommitRequest  BundleCtrlType = 4
	BundleCommitReply    BundleCtrlType = 5
	BundleDiscardRequest BundleCtrlType = 6
	BundleDiscardReply   BundleCtrlType = 7
)

var bundleCtrlTypeNames = [...]string{
	"OPEN_REQUEST", "OPEN_REPLY", "CLOSE_REQUEST", "CLOSE_REPLY",
	"COMMIT_REQUEST", "COMMIT_REPLY", "DISCARD_REQUEST", "DISCARD_REPLY",
}

func (t BundleCtrlType) String() string {
	if int(t) < len(bundleCtrlTypeNames) {
		return bundleCtrlTypeNames[t]
	}
	return fmt.Sprintf("OFPBCT(%d)", uint16(t))
}

// Bundle flags (OFPBF_*).
const (
	BundleAtomic  uint16 = 1 << 0
	BundleOrdered uint16 = 1 << 1
)

// ErrExperimenter is OFPET_EXPERIMENTER: the code field is the
// experimenter's exp_type, followed by the experimenter id, then the data.
const ErrExperimenter pipeline.ErrorType = 0xffff

// Bundle error codes (OFPBFC_*), numbered as OpenFlow 1.4 numbers them in
// OFPET_BUNDLE_FAILED. Over 1.3 code c is sent as an ONF experimenter
// error of exp_type 2300 + c (see BundleError).
const (
	BundleFailedUnknown          uint16 = 0  // unspecified error
	BundleFailedEperm            uint16 = 1  // permissions error
	BundleFailedBadID            uint16 = 2  // bundle ID doesn't exist
	BundleFailedBundleExist      uint16 = 3  // bundle ID already exists
	BundleFailedBundleClosed     uint16 = 4  // bundle ID is closed
	BundleFailedOutOfBundles     uint16 = 5  // too many bundles IDs
	BundleFailedBadType          uint16 = 6  // unsupported or unknown message control type
	BundleFailedBadFlags         uint16 = 7  // unsupported, unknown, or inconsistent flags
	BundleFailedMsgBadLen        uint16 = 8  // length problem in included message
	BundleFailedMsgBadXid        uint16 = 9  // inconsistent or duplicate XID
	BundleFailedMsgUnsup         uint16 = 10 // unsupported message in this bundle
	BundleFailedMsgConflict      uint16 = 11 // unsupported message combination in this bundle
	BundleFailedMsgTooMany       uint16 = 12 // can't handle this many messages in bundle
	BundleFailedMsgFailed        uint16 = 13 // one message in bundle failed
	BundleFailedTimeout          uint16 = 14 // bundle is taking too long
	BundleFailedBundleInProgress uint16 = 15 // bundle is locking the resource
)

// onfBundleErrBase is the exp_type of OFPBFC_UNKNOWN as an ONF error.
const onfBundleErrBase = 2300

var bundleErrNames = [...]string{
	"OFPBFC_UNKNOWN", "OFPBFC_EPERM", "OFPBFC_BAD_ID", "OFPBFC_BUNDLE_EXIST",
	"OFPBFC_BUNDLE_CLOSED", "OFPBFC_OUT_OF_BUNDLES", "OFPBFC_BAD_TYPE", "OFPBFC_BAD_FLAGS",
	"OFPBFC_MSG_BAD_LEN", "OFPBFC_MSG_BAD_XID", "OFPBFC_MSG_UNSUP", "OFPBFC_MSG_CONFLICT",
	"OFPBFC_MSG_TOO_MANY", "OFPBFC_MSG_FAILED", "OFPBFC_TIMEOUT", "OFPBFC_BUNDLE_IN_PROGRESS",
}

// BundleErrorName names an OFPBFC_* code.
func BundleErrorName(code uint16) string {
	if int(code) < len(bundleErrNames) {
		return bundleErrNames[code]
	}
	return fmt.Sprintf("OFPBFC(%d)", code)
}

// BundleError is an OFPBFC_* error (Code), with the reason in words for
// the log (OpenFlow carries only the code).
type BundleError struct {
	Code uint16
	Msg  string
}

// BundleErrorf returns a BundleError of code with a formatted reason.
func BundleErrorf(code uint16, format string, args ...any) *BundleError {
	return &BundleError{Code: code, Msg: fmt.Sprintf(format, args...)}
}

func (e *BundleError) Error() string {
	return fmt.Sprintf("%s: %s", BundleErrorName(e.Code), e.Msg)
}

// AppendBundleError appends the OFPT_ERROR that answers offending with
// the OFPBFC_* code, as OpenFlow 1.3 carries it: OFPET_EXPERIMENTER,
// exp_type 2300 + code, experimenter ONF, then the first ErrorDataLen
// bytes of offending.
func AppendBundleError(b []byte, xid uint32, code uint16, offending []byte) []byte {
	if len(offending) > ErrorDataLen {
		offending = offending[:ErrorDataLen]
	}
	start := len(b)
	b = Header{Version: Version, Type: of.TypeError, Xid: xid}.Append(b)
	b = put16(b, uint16(ErrExperimenter))
	b = put16(b, onfBundleErrBase+code)
	b = put32(b, ONFExperimenter)
	b = append(b, offending...)
	return finishAt(b, start)
}

// DecodeBundleError returns the OFPBFC_* code of a decoded OFPT_ERROR
// and its data after the experimenter id; ok is false when e is not an
// ONF bundle error.
func DecodeBundleError(e *ErrorMsg) (code uint16, data []byte, ok bool) {
	if e.Type != ErrExperimenter || len(e.Data) < 4 || be32(e.Data) != ONFExperimenter ||
		e.Code < onfBundleErrBase || e.Code >= onfBundleErrBase+uint16(len(bundleErrNames)) {
		return 0, nil, false
	}
	return e.Code - onfBundleErrBase, e.Data[4:], true
}

// Experimenter is a decoded OFPT_EXPERIMENTER.
type Experimenter struct {
	Experimenter uint32
	ExpType      uint32
	Data         []byte
}

// DecodeExperimenter decodes the body of OFPT_EXPERIMENTER.
func DecodeExperimenter(body []byte) (*Experimenter, error) {
	if len(body) < ExperimenterHeaderLen-HeaderLen {
		return nil, badLen("experimenter message body of %d bytes", len(body))
	}
	return &Experimenter{Experimenter: be32(body), ExpType: be32(body[4:]), Data: body[8:]}, nil
}

// appendExperimenterHeader appends the header of an ONF experimenter
// message; finishAt sets its length.
func appendExperimenterHeader(b []byte, xid, expType uint32) []byte {
	b = Header{Version: Version, Type: of.TypeExperiment, Xid: xid}.Append(b)
	b = put32(b, ONFExperimenter)
	return put32(b, expType)
}

// BundleCtrl is ONFT_BUNDLE_CONTROL (OpenFlow 1.4's OFPT_BUNDLE_CONTROL).
type BundleCtrl struct {
	ID    uint32
	Type  BundleCtrlType
	Flags uint16
	// Props are the properties, undecoded (nicflow knows none; Open
	// vSwitch ignores them too).
	Props []byte
}

// DecodeBundleCtrl decodes an ONFT_BUNDLE_CONTROL's data (what follows
// exp_type). A short message is OFPBRC_BAD_LEN.
func DecodeBundleCtrl(data []byte) (*BundleCtrl, error) {
	if len(data) < bundleCtrlLen || (len(data)-bundleCtrlLen)%8 != 0 {
		return nil, badLen("bundle control of %d bytes", len(data))
	}
	c := &BundleCtrl{ID: be32(data), Type: BundleCtrlType(be16(data[4:])), Flags: be16(data[6:])}
	if len(data) > bundleCtrlLen {
		c.Props = data[bundleCtrlLen:]
	}
	return c, nil
}

// AppendBundleCtrl appends a whole ONFT_BUNDLE_CONTROL message.
func AppendBundleCtrl(b []byte, xid uint32, c *BundleCtrl) []byte {
	start := len(b)
	b = appendExperimenterHeader(b, xid, ONFBundleControl)
	b = put32(b, c.ID)
	b = put16(b, uint16(c.Type))
	b = put16(b, c.Flags)
	b = append(b, c.Props...)
	return finishAt(b, start)
}

// BundleAdd is ONFT_BUNDLE_ADD_MESSAGE (OpenFlow 1.4's
// OFPT_BUNDLE_ADD_MESSAGE).
type BundleAdd struct {
	ID    uint32
	Flags uint16
	// Msg is the whole inner message, header included; its xid is the
	// outer message's.
	Msg []byte
	// Props are the properties after Msg and its padding, undecoded.
	Props []byte
}

// DecodeBundleAdd decodes an ONFT_BUNDLE_ADD_MESSAGE's data (what follows
// exp_type) of a message with xid xid, and checks the inner message's
// framing as OpenFlow 1.4 asks: a short message is OFPBRC_BAD_LEN, an
// inner message that does not fit OFPBFC_MSG_BAD_LEN, another version
// OFPBRC_BAD_VERSION, another xid OFPBFC_MSG_BAD_XID.
func DecodeBundleAdd(xid uint32, data []byte) (*BundleAdd, error) {
	if len(data) < bundleCtrlLen {
		return nil, badLen("bundle add message of %d bytes", len(data))
	}
	a := &BundleAdd{ID: be32(data), Flags: be16(data[6:])}
	rest := data[bundleCtrlLen:]
	if len(rest) < HeaderLen {
		return nil, BundleErrorf(BundleFailedMsgBadLen, "bundle add message: %d bytes for the inner message", len(rest))
	}
	h := ParseHeader(rest)
	if int(h.Length) < HeaderLen || int(h.Length) > len(rest) {
		return nil, BundleErrorf(BundleFailedMsgBadLen, "bundle add message: inner message of length %d in %d bytes", h.Length, len(rest))
	}
	if h.Version != Version {
		return nil, errf(pipeline.ErrBadRequest, BadRequestBadVersion, "bundle add message: inner message of version %#x", h.Version)
	}
	if h.Xid != xid {
		return nil, BundleErrorf(BundleFailedMsgBadXid, "bundle add message: inner xid %#x, outer %#x", h.Xid, xid)
	}
	a.Msg = rest[:h.Length]
	if props := rest[h.Length:]; len(props) > 0 {
		// Properties start 8-aligned from the outer message's start.
		skip := pad8(ExperimenterHeaderLen + bundleCtrlLen + int(h.Length))
		if len(props) < skip {
			return nil, BundleErrorf(BundleFailedMsgBadLen, "bundle add message: %d bytes after the inner message", len(props))
		}
		if len(props) > skip {
			a.Props = props[skip:]
		}
	}
	return a, nil
}

// AppendBundleAdd appends a whole ONFT_BUNDLE_ADD_MESSAGE: the outer xid
// is the inner message's. Props, if any, follow the inner message padded
// to 8 bytes.
func AppendBundleAdd(b []byte, a *BundleAdd) []byte {
	start := len(b)
	b = appendExperimenterHeader(b, ParseHeader(a.Msg).Xid, ONFBundleAddMessage)
	b = put32(b, a.ID)
	b = put16(b, 0)
	b = put16(b, a.Flags)
	b = append(b, a.Msg...)
	if len(a.Props) > 0 {
		b = appendZeros(b, pad8(len(b)-start))
		b = append(b, a.Props...)
	}
	return finishAt(b, start)
}
