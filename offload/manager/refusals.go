package manager

import (
	"errors"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/nicflow/nicflow/api/rest"
	"github.com/nicflow/nicflow/sriov/vf"
)

// refusalErrnos are the errnos with which the kernel or a driver refuses a
// valid request: the device cannot do it (EOPNOTSUPP), does not take the
// value (EINVAL, ERANGE), has no room for it (ENOSPC) or cannot do it in
// its present state (EBUSY: a rate group left behind, say). Other errnos
// are not an answer to the request: a device that is gone (ENODEV,
// ENOENT), no permission (EPERM), no memory (ENOMEM).
var refusalErrnos = []unix.Errno{unix.EOPNOTSUPP, unix.EINVAL, unix.ERANGE, unix.ENOSPC, unix.EBUSY}

// refusedByKernel reports whether err carries one of refusalErrnos (as
// a netlink *OpError, a vepa *Error, an *os.PathError of sysfs, ...).
func refusedByKernel(err error) bool {
	for _, e := range refusalErrnos {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// hasKind reports whether err already carries a kind of the API.
func hasKind(err error) bool {
	var re *rest.Error
	return errors.As(err, &re) && re.Kind != nil
}

// refused returns the kernel's refusal of a request for device dev as a
// rest.ErrRefused naming field, in the kernel's words and naming dev (the
// words are prefixed with it when they do not name it already). Errors that
// are no refusal (see refusalErrnos), or that carry a kind already, pass
// unchanged.
func refused(field, dev string, err error) error {
	if err == nil || hasKind(err) || !refusedByKernel(err) {
		return err
	}
	msg := err.Error()
	if dev != "" && !strings.Contains(msg, dev) {
		msg = dev + ": " + msg
	}
	return &rest.Error{Kind: rest.ErrRefused, Field: field, Msg: msg, Err: err}
}

// pfFields names the request field of each PF-wide setting.
var pfFields = map[vf.PFSetting]string{vf.SettingNumVFs: "num_vfs", vf.SettingEswitchMode: "eswitch_mode"}

// refusedPF turns the kernel's refusal of a PF-wide setting (a
// *vf.PFError: a VF count or an eswitch mode the device does not take)
// into a refusal naming the request's field; other errors pass
// unchanged.
func refusedPF(err error) error {
	var pe *vf.PFError
	if !errors.As(err, &pe) {
		return err
	}
	return refused(pfFields[pe.Setting], pe.PF, err)
}

// refusedSetting turns the kernel's refusal of a VF setting (a rate above
// the link speed, say) into a refusal naming the request's field, in the
// driver's own words; other errors pass unchanged.
func refusedSetting(err error) error {
	var se *vf.SetError
	if !errors.As(err, &se) || hasKind(err) {
		return err
	}
	field := map[vf.Field]string{vf.FieldMAC: "mac", vf.FieldVLAN: "vlan", vf.FieldSpoofCheck: "spoof_check",
		vf.FieldTrust: "trust", vf.FieldRate: "max_tx_rate", vf.FieldLinkState: "link_state"}[se.Field]
	return rest.Refused(field, err)
}
