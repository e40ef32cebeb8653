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
// the kernel's rules (1 to 15 octets, not "." or "..", no '/', ':', white
// space or NUL): a name no interface can have is an error here, not a
// failed look-up later.
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
	if len(iface) == 0 || len(iface) > 15 || iface == "." || iface == ".." || !validIfname(iface) {
		return "", 0, fmt.Errorf("xsk: %q: %q is not a valid interface name", name, iface)
	}
	return iface, queue, nil
}

// validIfname reports whether the kernel could have named an interface
// name (dev_valid_name): no '/', ':' or octet its isspace takes for white
// space (\t \n \v \f \r, space and Latin-1's no-break space 0xa0,
// which is also the second octet of U+00A0 in UTF-8), and no NUL, which
// would end the name the kernel reads. Octets, not runes: the kernel reads
// octets.
func validIfname(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '/' || c == ':' || c == 0 || c == ' ' || c >= '\t' && c <= '\r' || c == 0xa0:
			return false
		}
	}
	return true
}
