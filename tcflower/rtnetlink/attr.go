package rtnetlink

import (
	"fmt"

	"github.com/mdlayher/netlink"
)

// Nest encodes the attributes fn writes as the payload of attribute typ,
// like (*netlink.AttributeEncoder).Nested but without NLA_F_NESTED in the
// type: the form iproute2's addattr_nest sends and the kernel's tc and
// bridge-family parsers take (nla_parse_nested_deprecated), byte for byte
// what the recorded requests and golden files of tcflower and vepa hold.
// Where iproute2 sets the flag (IFLA_PROTINFO), use Nested.
func Nest(ae *netlink.AttributeEncoder, typ uint16, fn func(nae *netlink.AttributeEncoder) error) {
	ae.Do(typ, func() ([]byte, error) {
		nae := netlink.NewAttributeEncoder()
		nae.ByteOrder = ae.ByteOrder
		if err := fn(nae); err != nil {
			return nil, err
		}
		return nae.Encode()
	})
}

// AppendAttributes appends the attributes fn encodes to b, a message's
// fixed header (struct tcmsg, struct ifinfomsg), and returns the message
// body. An error of fn comes back as it is.
func AppendAttributes(b []byte, fn func(ae *netlink.AttributeEncoder) error) ([]byte, error) {
	ae := netlink.NewAttributeEncoder()
	if err := fn(ae); err != nil {
		return nil, err
	}
	attrs, err := ae.Encode()
	if err != nil {
		return nil, err
	}
	return append(b, attrs...), nil
}

// DecodeAttributes calls fn on each attribute of b, in order, with
// mdlayher/netlink's AttributeDecoder positioned on it, and returns the
// first error: a malformed attribute (its length runs past b), or one that
// a getter of ad (ad.Uint16 of an attribute that is not 2 bytes long, ...)
// or a function given to ad.Do or ad.Nested recorded. names, which may be
// nil, names attribute types for the error: "IFLA_MASTER: netlink:
// attribute 10 is not a int32; length: 2". A nested attribute decodes
// with DecodeAttributes inside ad.Do.
func DecodeAttributes(b []byte, names map[uint16]string, fn func(ad *netlink.AttributeDecoder)) error {
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		return err
	}
	for ad.Next() {
		fn(ad)
		if err := ad.Err(); err != nil {
			if name, ok := names[ad.Type()]; ok {
				return fmt.Errorf("%s: %w", name, err)
			}
			return err
		}
	}
	return ad.Err()
}
