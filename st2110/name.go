package st2110

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/nmgo/nmgo/nmsys"
	"github.com/nmgo/nmgo/xsk"
)

// kind is a transport's kind.
type kind uint8

const (
	kindNetmap kind = iota + 1
	kindUDP
	kindPcap
	kindXDP
)

// endpoint is a parsed transport name.
type endpoint struct {
	name  string // as given
	kind  kind
	port  string         // netmap: the port name
	file  string         // pcap: the file
	addr  netip.AddrPort // udp: destination of the first flow, if given
	iface string         // udp, xdp: interface
	queue int            // xdp: the interface's queue
}

// NameError is the error of a transport name that cannot be read.
type NameError struct {
	Name   string
	Reason string
	Err    error // the port name error of package nmsys or xsk, if any
}

func (e *NameError) Error() string {
	return fmt.Sprintf("st2110: transport %q: %s", e.Name, e.Reason)
}

func (e *NameError) Unwrap() error { return e.Err }

// parseName reads a transport name:
//
//	udp | udp:IFACE | udp:ADDR:PORT | udp:ADDR:PORT@IFACE
//	pcap:FILE
//	xdp:IFACE | xdp:IFACE-Q                     (xsk.ParseName)
//	netmap:IFNAME... | valeX:Y... | IFNAME...   (nmsys.ParseName)
func parseName(s string) (endpoint, error) {
	e := endpoint{name: s}
	bad := func(format string, args ...any) (endpoint, error) {
		return e, &NameError{Name: s, Reason: fmt.Sprintf(format, args...)}
	}
	switch {
	case s == "":
		return bad("empty (want udp:..., pcap:FILE, xdp:IFACE or a netmap port such as netmap:eth0 or vale0:a)")
	case s == "udp:":
		// A colon introduces a part, as after pcap: and xdp:; plain UDP
		// is "udp".
		return bad("empty part after udp: (want udp, udp:IFACE or udp:ADDR:PORT[@IFACE])")
	case s == "udp" || strings.HasPrefix(s, "udp:"):
		e.kind = kindUDP
		rest := strings.TrimPrefix(strings.TrimPrefix(s, "udp"), ":")
		if at := strings.LastIndexByte(rest, '@'); at >= 0 {
			rest, e.iface = rest[:at], rest[at+1:]
			if e.iface == "" || rest == "" {
				return bad("want udp:ADDR:PORT@IFACE")
			}
		}
		switch {
		case rest == "":
		case strings.ContainsAny(rest, ":["):
			ap, err := netip.ParseAddrPort(rest)
			if err != nil {
				return bad("%q is not ADDR:PORT (%v)", rest, err)
			}
			if ap.Port() == 0 {
				return bad("port 0")
			}
			e.addr = netip.AddrPortFrom(ap.Addr().Unmap().WithZone(""), ap.Port())
			switch z := ap.Addr().Zone(); {
			case z == "":
			case e.iface == "":
				e.iface = z
			case z != e.iface:
				return bad("zone %s and interface %s: two interfaces", z, e.iface)
			}
		default:
			if _, err := netip.ParseAddr(rest); err == nil {
				return bad("address %s without a port (want udp:ADDR:PORT)", rest)
			}
			if e.iface != "" {
				return bad("%s@%s: two interfaces (want udp:IFACE or udp:ADDR:PORT@IFACE)", rest, e.iface)
			}
			e.iface = rest
		}
		if len(e.iface) > 15 || strings.ContainsAny(e.iface, "/: \t") {
			return bad("interface name %q", e.iface)
		}
	case strings.HasPrefix(s, "pcap:"):
		e.kind, e.file = kindPcap, strings.TrimPrefix(s, "pcap:")
		if e.file == "" {
			return bad("no file name (want pcap:FILE)")
		}
	case strings.HasPrefix(s, "xdp:"):
		iface, q, err := xsk.ParseName(strings.TrimPrefix(s, "xdp:"))
		if err != nil {
			return e, &NameError{Name: s, Reason: "not xdp:IFACE or xdp:IFACE-Q: " + err.Error(), Err: err}
		}
		e.kind, e.iface, e.queue = kindXDP, iface, q
	default:
		if _, err := nmsys.ParseName(s); err != nil {
			return e, &NameError{Name: s, Reason: "not udp:..., pcap:FILE, xdp:IFACE or a netmap port: " + err.Error(), Err: err}
		}
		e.kind, e.port = kindNetmap, s
	}
	return e, nil
}
