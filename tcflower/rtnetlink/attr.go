package rtnetlink

import "github.com/mdlayher/netlink"

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
