package st2110

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/nmgo/nmgo/video"
)

// MulticastMAC returns the Ethernet address a multicast group maps to:
// 01:00:5e and the low 23 bits of an IPv4 group (RFC 1112 section 6.4),
// 33:33 and the low 32 bits of an IPv6 group (RFC 2464 section 7). ok is
// false for an address that is not multicast.
func MulticastMAC(group netip.Addr) (mac net.HardwareAddr, ok bool) {
	group = group.Unmap()
	if !group.IsMulticast() {
		return nil, false
	}
	if group.Is4() {
		a := group.As4()
		return net.HardwareAddr{0x01, 0x00, 0x5e, a[1] & 0x7f, a[2], a[3]}, true
	}
	a := group.As16()
	return net.HardwareAddr{0x33, 0x33, a[12], a[13], a[14], a[15]}, true
}

// flows returns the flows of sess as a transport at ep sees them: the
// SDP's media descriptions, with the destination of the transport name,
// if it has one, given to the first and the next ports to the others
// (flow k at PORT+k). A receiver over UDP needs every flow's port.
func flows(sess *video.Session, ep *endpoint, send bool) ([]video.Stream, error) {
	if sess == nil || len(sess.Streams) == 0 {
		return nil, errors.New("st2110: a session without flows")
	}
	fs := append([]video.Stream(nil), sess.Streams...)
	if ep.addr.IsValid() {
		if int(ep.addr.Port())+len(fs) > 65536 {
			return nil, fmt.Errorf("st2110: %d flows do not fit above port %d", len(fs), ep.addr.Port())
		}
		for k := range fs {
			fs[k].Dst = netip.AddrPortFrom(ep.addr.Addr(), ep.addr.Port()+uint16(k))
		}
	}
	for k := range fs {
		f := &fs[k]
		f.Dst = netip.AddrPortFrom(f.Dst.Addr().Unmap(), f.Dst.Port())
		f.Source = f.Source.Unmap()
		if err := f.Format.Validate(); err != nil {
			return nil, fmt.Errorf("st2110: flow %d: %w", k, err)
		}
		if send || ep.kind == kindUDP {
			if !f.Dst.Addr().IsValid() || f.Dst.Port() == 0 {
				return nil, fmt.Errorf("st2110: flow %d: no destination address and port (the SDP's c= and m= lines, or the transport's udp:ADDR:PORT)", k)
			}
		}
		if f.Source.IsValid() && f.Source.Is4() != f.Dst.Addr().Is4() {
			return nil, fmt.Errorf("st2110: flow %d: source %v and destination %v are not of one IP version", k, f.Source, f.Dst.Addr())
		}
		if send {
			if f.Format.Rate.IsZero() {
				return nil, fmt.Errorf("st2110: flow %d: sending needs the frame rate (exactframerate)", k)
			}
			if f.PayloadType == 0 {
				f.PayloadType = 96
			}
			if f.Sender == 0 {
				f.Sender = video.SenderNarrow
			}
		}
	}
	for i := range fs {
		for j := range i {
			if fs[i].Dst == fs[j].Dst && fs[i].Dst.IsValid() && fs[i].Source == fs[j].Source {
				return nil, fmt.Errorf("st2110: flows %d and %d both go to %v", j, i, fs[i].Dst)
			}
		}
	}
	return fs, nil
}
