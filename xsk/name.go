package xsk

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseName splits an interface-and-queue name, as the "xdp:" port names
// of nmgo's tools give them: "eth0" is queue 0 of eth0 and "eth0-3" queue 3.
// A name whose own last part is a number after a dash ("veth-1") must be
// given with its queue ("veth-1-0"). The interface name is checked against
// the kernel's rules (1 to 15 octets, no '/', ':' or white space).
func ParseName(name string) (iface string, queue int, err error) {
	iface = name
	if i := strings.LastIndexByte(name, '-'); i > 0 && i < len(name)-1 {
		if q, perr := strconv.Atoi(name[i+1:]); perr == nil && name[i+1] != '+' {
			if q < 0 || q >= maxQueues {
				return "", 0, fmt.Errorf("xsk: %q: queue %d out of range [0, %d)", name, q, maxQueues)
			}
			iface, queue = name[:i], q
		}
	}
	if len(iface) == 0 || len(iface) > 15 || iface == "." || iface == ".." || strings.ContainsAny(iface, "/: \t\n\r\x00") {
		return "", 0, fmt.Errorf("xsk: %q: %q is not a valid interface name", name, iface)
	}
	return iface, queue, nil
}
