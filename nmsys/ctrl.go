package nmsys

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"unsafe"

	"github.com/nmgo/nmgo/internal/abi"
)

// ctrl issues NIOCCTRL with a request of type reqType for the kernel port
// name kname and body (which may be nil for bodiless requests). body must
// point to heap memory; the header is heap-allocated here.
func ctrl(fd int, reqType uint16, kname string, body unsafe.Pointer) error {
	if len(kname) >= abi.NETMAP_REQ_IFNAMSIZ {
		return fmt.Errorf("port name %q longer than %d bytes", kname, abi.NETMAP_REQ_IFNAMSIZ-1)
	}
	hdr := new(abi.ReqHeader)
	hdr.Version = abi.NETMAP_API
	hdr.ReqType = reqType
	copy(hdr.Name[:], kname)
	if body != nil {
		hdr.Body = abi.NewPointer(body)
	}
	err := ioctlPtr(fd, abi.NIOCCTRL, unsafe.Pointer(hdr))
	runtime.KeepAlive(hdr)
	runtime.KeepAlive(body)
	if err != nil {
		return os.NewSyscallError("ioctl NIOCCTRL", err)
	}
	return nil
}

// legacyProbe runs when NIOCCTRL fails with EOPNOTSUPP or ENOTTY (err),
// which an old module says of NIOCCTRL itself but a current one also of a
// request it refuses (REGISTER of a NIC without a native driver when the
// module takes only native adapters). It asks NIOCGINFO (which registers
// nothing) which API version the module speaks: an [*APIVersionError] if
// the module names another version, or answers neither request; nil if the
// version is nmgo's, and err is then the kernel's refusal.
func legacyProbe(fd int, kname string, err error) error {
	req := new(abi.LegacyReq)
	copy(req.Name[:abi.IFNAMSIZ-1], kname)
	req.Version = abi.NETMAP_API
	gerr := ioctlPtr(fd, abi.NIOCGINFO, unsafe.Pointer(req))
	runtime.KeepAlive(req)
	switch {
	case req.Version != abi.NETMAP_API:
		return &APIVersionError{Kernel: int(req.Version), Want: abi.NETMAP_API}
	case gerr != nil && errors.Is(err, errENOTTY):
		return &APIVersionError{Want: abi.NETMAP_API}
	}
	return nil
}

// withCtl runs f on a fresh control descriptor of /dev/netmap.
func withCtl(port, op string, f func(fd int) error) error {
	fd, err := openDev(port, op)
	if err != nil {
		return err
	}
	defer closeFD(fd)
	if err := f(fd); err != nil {
		if errors.Is(err, errEOPNOTSUPP) || errors.Is(err, errENOTTY) {
			if verr := legacyProbe(fd, port, err); verr != nil {
				return verr
			}
		}
		return &Error{Op: op, Port: port, Err: err}
	}
	return nil
}

// PortInfo is the kernel's answer to NETMAP_REQ_PORT_INFO_GET.
type PortInfo struct {
	MemSize                  int
	MemID                    int
	TxRings, RxRings         int
	HostTxRings, HostRxRings int
	TxSlots, RxSlots         int
}

// portInfoFD asks for the configuration of kernel port kname; conf, if
// not nil, is the ring geometry of a port that the kernel creates to
// answer (portInfoConf).
func portInfoFD(fd int, kname string, conf *abi.ReqPortInfoGet) (PortInfo, error) {
	b := new(abi.ReqPortInfoGet)
	if conf != nil {
		*b = *conf
	}
	if err := ctrl(fd, abi.NETMAP_REQ_PORT_INFO_GET, kname, unsafe.Pointer(b)); err != nil {
		return PortInfo{}, err
	}
	memSize, err := fitInt("nr_memsize", b.MemSize)
	if err != nil {
		return PortInfo{}, err
	}
	return PortInfo{
		MemSize: memSize, MemID: int(b.MemID),
		TxRings: int(b.TxRings), RxRings: int(b.RxRings),
		HostTxRings: int(b.HostTxRings), HostRxRings: int(b.HostRxRings),
		TxSlots: int(b.TxSlots), RxSlots: int(b.RxSlots),
	}, nil
}

// LookupPortInfo asks the kernel for the configuration of port name (a NIC, an
// existing VALE port; for a VALE name that does not exist, the kernel
// creates an ephemeral port to answer and releases it, with the ring and
// slot counts of the name's "@conf:", as [Open] of that name would create
// it). name is a port name in the [ParseName] grammar; only its port part
// and, for a VALE port, its "@conf:" counts are used.
func LookupPortInfo(name string) (PortInfo, error) {
	n, err := ParseName(name)
	if err != nil {
		return PortInfo{}, err
	}
	conf, err := portInfoConf(n)
	if err != nil {
		return PortInfo{}, &Error{Op: "port info", Port: name, Err: err}
	}
	var pi PortInfo
	err = withCtl(name, "port info", func(fd int) error {
		var err error
		pi, err = portInfoFD(fd, n.Port, conf)
		return err
	})
	return pi, err
}

// portInfoConf returns the request fields of LookupPortInfo for n: the
// "@conf:" ring and slot counts of a VALE port, which the kernel uses if
// it creates the port to answer (NETMAP_REQ_PORT_INFO_GET registers it
// with them) and an existing port does not change; nil for other ports,
// where the counts could change a NIC not in use (its host rings).
func portInfoConf(n *Name) (*abi.ReqPortInfoGet, error) {
	if !strings.HasPrefix(n.Port, abi.NM_BDG_NAME) {
		return nil, nil
	}
	reg, err := buildRegister(n, &Config{})
	if err != nil {
		return nil, err
	}
	return &abi.ReqPortInfoGet{
		TxRings: reg.TxRings, RxRings: reg.RxRings,
		HostTxRings: reg.HostTxRings, HostRxRings: reg.HostRxRings,
		TxSlots: reg.TxSlots, RxSlots: reg.RxSlots,
	}, nil
}

// Pools describes the memory region (allocator) of a port, from
// NETMAP_REQ_POOLS_INFO_GET.
type Pools struct {
	MemID   int
	MemSize int
	// Byte offsets in the region, object counts and object sizes of the
	// three pools.
	IfOffset, IfCount, IfSize       int
	RingOffset, RingCount, RingSize int
	BufOffset, BufCount, BufSize    int
}

func poolsInfoFD(fd int, kname string) (Pools, error) {
	b := new(abi.ReqPoolsInfo)
	if err := ctrl(fd, abi.NETMAP_REQ_POOLS_INFO_GET, kname, unsafe.Pointer(b)); err != nil {
		return Pools{}, err
	}
	// In a 32-bit program a count above 2^31 or a region above 2 GiB
	// is refused, not truncated.
	var p Pools
	var err error
	for _, f := range []struct {
		dst  *int
		name string
		v    uint64
	}{
		{&p.MemSize, "nr_memsize", b.MemSize},
		{&p.IfOffset, "nr_if_pool_offset", b.IfPoolOffset},
		{&p.IfCount, "nr_if_pool_objtotal", uint64(b.IfPoolObjTotal)},
		{&p.IfSize, "nr_if_pool_objsize", uint64(b.IfPoolObjSize)},
		{&p.RingOffset, "nr_ring_pool_offset", b.RingPoolOffset},
		{&p.RingCount, "nr_ring_pool_objtotal", uint64(b.RingPoolObjTotal)},
		{&p.RingSize, "nr_ring_pool_objsize", uint64(b.RingPoolObjSize)},
		{&p.BufOffset, "nr_buf_pool_offset", b.BufPoolOffset},
		{&p.BufCount, "nr_buf_pool_objtotal", uint64(b.BufPoolObjTotal)},
		{&p.BufSize, "nr_buf_pool_objsize", uint64(b.BufPoolObjSize)},
	} {
		if *f.dst, err = fitInt(f.name, f.v); err != nil {
			return Pools{}, err
		}
	}
	p.MemID = int(b.MemID)
	return p, nil
}

// LookupPools reports the memory pools of the region port name uses.
func LookupPools(name string) (Pools, error) {
	n, err := ParseName(name)
	if err != nil {
		return Pools{}, err
	}
	var p Pools
	err = withCtl(name, "pools info", func(fd int) error {
		var err error
		p, err = poolsInfoFD(fd, n.Port)
		return err
	})
	return p, err
}

// valeName checks that name is a VALE port name "valeX:Y" and returns it.
func valeName(name string) (string, error) {
	n, err := ParseName(name)
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(n.Port, abi.NM_BDG_NAME) {
		return "", &Error{Op: "vale", Port: name, Err: errors.New("not a VALE port name (valeX:Y)")}
	}
	return n.Port, nil
}

// ValeAttach attaches the network interface or persistent VALE port named
// by the port part of name ("vale0:eth1") to switch vale0 and returns its
// port index. With host set, the interface's host stack is attached as a
// second port. The interface goes into netmap mode, owned by the kernel.
func ValeAttach(name string, host bool) (int, error) {
	kname, err := valeName(name)
	if err != nil {
		return 0, err
	}
	b := new(abi.ReqValeAttach)
	b.Reg.Mode = abi.NR_REG_ALL_NIC
	if host {
		b.Reg.Mode = abi.NR_REG_NIC_SW
	}
	err = withCtl(name, "vale attach", func(fd int) error {
		return ctrl(fd, abi.NETMAP_REQ_VALE_ATTACH, kname, unsafe.Pointer(b))
	})
	return int(b.PortIndex), err
}

// ValeDetach detaches an interface attached with [ValeAttach] and returns
// the port index it had.
func ValeDetach(name string) (int, error) {
	kname, err := valeName(name)
	if err != nil {
		return 0, err
	}
	b := new(abi.ReqValeDetach)
	err = withCtl(name, "vale detach", func(fd int) error {
		return ctrl(fd, abi.NETMAP_REQ_VALE_DETACH, kname, unsafe.Pointer(b))
	})
	return int(b.PortIndex), err
}

// ValePort is one port of a VALE switch, as listed by [ValeList].
type ValePort struct {
	Name   string // "valeX:Y"
	Bridge int    // switch index
	Port   int    // port index on the switch
}

// ValeList lists every port of every VALE switch.
func ValeList() ([]ValePort, error) {
	var out []ValePort
	err := withCtl("", "vale list", func(fd int) error {
		b := new(abi.ReqValeList)
		for range abi.NM_BDG_MAXPORTS * 64 { // bound the walk
			hdr := new(abi.ReqHeader)
			hdr.Version = abi.NETMAP_API
			hdr.ReqType = abi.NETMAP_REQ_VALE_LIST
			hdr.Body = abi.NewPointer(unsafe.Pointer(b))
			err := ioctlPtr(fd, abi.NIOCCTRL, unsafe.Pointer(hdr))
			runtime.KeepAlive(hdr)
			runtime.KeepAlive(b)
			if errors.Is(err, errENOENT) {
				return nil
			}
			if err != nil {
				return os.NewSyscallError("ioctl NIOCCTRL", err)
			}
			name := hdr.Name[:]
			if i := strings.IndexByte(string(name), 0); i >= 0 {
				name = name[:i]
			}
			out = append(out, ValePort{Name: string(name), Bridge: int(b.BridgeIdx), Port: int(b.PortIdx)})
			b.PortIdx++
		}
		return errors.New("VALE port list does not end")
	})
	return out, err
}

// ValeLookup returns the switch and port index of the VALE port name; ok is
// false if the switch exists but the port does not.
func ValeLookup(name string) (vp ValePort, ok bool, err error) {
	kname, err := valeName(name)
	if err != nil {
		return ValePort{}, false, err
	}
	b := new(abi.ReqValeList)
	err = withCtl(name, "vale list", func(fd int) error {
		return ctrl(fd, abi.NETMAP_REQ_VALE_LIST, kname, unsafe.Pointer(b))
	})
	if err != nil {
		return ValePort{}, false, err
	}
	if b.PortIdx == abi.NETMAP_BDG_NOPORT {
		return ValePort{Name: kname, Bridge: int(b.BridgeIdx), Port: -1}, false, nil
	}
	return ValePort{Name: kname, Bridge: int(b.BridgeIdx), Port: int(b.PortIdx)}, true, nil
}

// ValeNewIf creates a persistent VALE interface ifname (a network device
// that exists until [ValeDelIf], not prefixed "vale"); attach it to a switch
// with ValeAttach("valeX:"+ifname, false) and open it as "valeX:"+ifname.
// cfg's ring and slot counts and memory id are used; nil means defaults.
func ValeNewIf(ifname string, cfg *Config) (PortInfo, error) {
	if ifname == "" || len(ifname) >= abi.IFNAMSIZ || strings.HasPrefix(ifname, abi.NM_BDG_NAME) || strings.ContainsAny(ifname, ":{}^*-/@ ") {
		return PortInfo{}, &Error{Op: "vale newif", Port: ifname, Err: errors.New("interface name must be 1-15 characters, not start with \"vale\", and have no port-name syntax")}
	}
	b := new(abi.ReqValeNewif)
	if cfg != nil {
		if cfg.TxSlots < 0 || cfg.RxSlots < 0 || cfg.TxRings < 0 || cfg.RxRings < 0 || cfg.MemID < 0 ||
			cfg.TxSlots > abi.NM_BDG_MAXSLOTS || cfg.RxSlots > abi.NM_BDG_MAXSLOTS ||
			cfg.TxRings > abi.NM_BDG_MAXRINGS || cfg.RxRings > abi.NM_BDG_MAXRINGS || cfg.MemID > 0xffff {
			return PortInfo{}, &Error{Op: "vale newif", Port: ifname, Err: errors.New("ring, slot or memory id request out of range")}
		}
		b.TxSlots, b.RxSlots = uint32(cfg.TxSlots), uint32(cfg.RxSlots)
		b.TxRings, b.RxRings = uint16(cfg.TxRings), uint16(cfg.RxRings)
		b.MemID = uint16(cfg.MemID)
	}
	err := withCtl(ifname, "vale newif", func(fd int) error {
		return ctrl(fd, abi.NETMAP_REQ_VALE_NEWIF, ifname, unsafe.Pointer(b))
	})
	return PortInfo{TxSlots: int(b.TxSlots), RxSlots: int(b.RxSlots), TxRings: int(b.TxRings), RxRings: int(b.RxRings), MemID: int(b.MemID)}, err
}

// ValeDelIf deletes a persistent VALE interface made by [ValeNewIf].
func ValeDelIf(ifname string) error {
	if ifname == "" || len(ifname) >= abi.IFNAMSIZ {
		return &Error{Op: "vale delif", Port: ifname, Err: errors.New("interface name must be 1-15 characters")}
	}
	return withCtl(ifname, "vale delif", func(fd int) error {
		return ctrl(fd, abi.NETMAP_REQ_VALE_DELIF, ifname, nil)
	})
}
