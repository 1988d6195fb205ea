package manager

import (
	"context"
	"fmt"
	"hash/fnv"
	"regexp"
	"time"

	"github.com/nicflow/nicflow/api/rest"
	"github.com/nicflow/nicflow/offload/store"
	"github.com/nicflow/nicflow/sriov/vf"
)

// hostPlumbing is mode host: a vNIC is a veth pair nicflowd creates. Its
// host end ("nfh-" and the id) is the OpenFlow port; its other end ("nfv-"
// and the id) is the vNIC's netdev, handed to the VM (as the backend of a
// tap or macvtap, or moved into a container's namespace).
type hostPlumbing struct {
	links Links
	st    *store.Store
	// uplink is a parked uplink (see parkedUplink), "" when none.
	uplink string
}

func (*hostPlumbing) start(context.Context) ([]string, error) { return nil, nil }
func (*hostPlumbing) stop(context.Context) ([]string, error)  { return nil, nil }
func (*hostPlumbing) eswitchMode() string                     { return "" }
func (p *hostPlumbing) note() string {
	if p.uplink == "" {
		return ""
	}
	return "uplink " + p.uplink + " is kept for a change back to mode nic or hairpin; in mode host it is no port"
}
func (*hostPlumbing) switching() (string, string) {
	return rest.SwitchNicflow, "host: nicflow (tc in kernel software + fast path)"
}

// check accepts what a veth can be given: a MAC and a link state. VLAN
// tags, rates and trust are VF settings; in mode host the controller's
// OpenFlow rules do that work. Spoof check is accepted and not enforced by
// the device (OpenFlow rules on the port enforce source addresses).
func (*hostPlumbing) check(s vf.Settings) error {
	return checkHostSettings(s, "a host vNIC is a veth (use OpenFlow rules, or a network in mode nic)")
}

// checkHostSettings refuses the VF-only settings for a host-side vNIC;
// what says what the vNIC is instead.
func checkHostSettings(s vf.Settings, what string) error {
	why := "is a VF setting: " + what
	switch {
	case s.VLAN != 0:
		return rest.Invalid("vlan", why)
	case s.QoS != 0:
		return rest.Invalid("qos", why)
	case s.VLANProto != "" && s.VLANProto != vf.Proto8021Q:
		return rest.Invalid("vlan_proto", why)
	case s.MinTxRate != 0:
		return rest.Invalid("min_tx_rate", why)
	case s.MaxTxRate != 0:
		return rest.Invalid("max_tx_rate", why)
	case s.Trust != nil && *s.Trust:
		return rest.Invalid("trust", why)
	}
	return nil
}

func (p *hostPlumbing) attach(_ context.Context, id, network string, s vf.Settings) (store.VNIC, error) {
	host, peer := vethNames(id)
	rec := store.VNIC{ID: id, Network: network, Kind: store.KindVeth, VFIndex: -1, VFNetdev: peer, Port: host,
		Settings: store.VFSettings(s), Attached: time.Now().UTC()}
	if err := p.links.AddVeth(host, peer, s.MAC, s.LinkState != vf.LinkDisable); err != nil {
		return store.VNIC{}, fmt.Errorf("create veth %s/%s: %w", host, peer, err)
	}
	if err := p.st.PutVNIC(rec); err != nil {
		_ = p.links.DelLink(host)
		return store.VNIC{}, fmt.Errorf("record vnic: %w", err)
	}
	return rec, nil
}

// adopt keeps a veth that survived the restart (the VM is using its peer)
// and re-creates a missing one (after a reboot).
func (p *hostPlumbing) adopt(_ context.Context, rec store.VNIC) (store.VNIC, error) {
	if p.links.HasLink(rec.Port) {
		return rec, p.links.SetUp(rec.Port)
	}
	s := rec.Settings
	if err := p.links.AddVeth(rec.Port, rec.VFNetdev, s.MAC, s.LinkState != vf.LinkDisable); err != nil {
		return rec, fmt.Errorf("re-create veth %s/%s: %w", rec.Port, rec.VFNetdev, err)
	}
	return rec, nil
}

func (p *hostPlumbing) detach(_ context.Context, rec store.VNIC) error {
	if err := p.links.DelLink(rec.Port); err != nil {
		return fmt.Errorf("delete veth %s: %w", rec.Port, err)
	}
	if err := p.st.DeleteVNIC(rec.ID); err != nil {
		return fmt.Errorf("forget vnic: %w", err)
	}
	return nil
}

// plainID is an id that fits a netdev name as is after a 4-byte prefix.
var plainID = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,11}$`)

// vethNames names a host vNIC's veth pair from its id: "nfh-ID" (host
// end) and "nfv-ID" (the vNIC). An id that does not fit a netdev name (15
// bytes, no ':') is shortened to its first 4 characters and a hash.
func vethNames(id string) (host, peer string) {
	short := id
	if !plainID.MatchString(id) {
		h := fnv.New32a()
		h.Write([]byte(id))
		head := []rune{}
		for _, r := range id {
			if len(head) == 4 {
				break
			}
			if r == ':' {
				r = '_'
			}
			head = append(head, r)
		}
		short = fmt.Sprintf("%s%07x", string(head), h.Sum32()&0xfffffff)
	}
	return "nfh-" + short, "nfv-" + short
}
