package nmsys

import (
	"errors"
	"fmt"
	"strings"
	"unsafe"

	"github.com/nmgo/nmgo/internal/abi"
)

// layout validates the netmap_if and the bound rings inside the mapped
// region and fills p.info and the ring offsets. Everything read here was
// written by the kernel and is checked before use.
func (p *Port) layout(kname string, reg *abi.ReqRegister) error {
	mem := p.mem
	// Written so that no sum can wrap: in a 32-bit program the region
	// may be close to the largest int.
	if p.ifOff < 0 || p.ifOff > len(mem)-abi.IfRingOfs || p.ifOff%8 != 0 {
		return fmt.Errorf("netmap_if offset %d outside the %d-byte region", p.ifOff, len(mem))
	}
	nifp := (*abi.If)(unsafe.Pointer(&mem[p.ifOff]))
	// Compared before they become ints: in a 32-bit program a count from
	// 2^31 up would be negative and pass.
	const maxRings = 1 << 12
	utx, urx, uhtx, uhrx := nifp.TxRings, nifp.RxRings, nifp.HostTxRings, nifp.HostRxRings
	if utx > maxRings || urx > maxRings || uhtx > maxRings || uhrx > maxRings {
		return fmt.Errorf("netmap_if reports %d+%d tx and %d+%d rx rings", utx, uhtx, urx, uhrx)
	}
	ntx, nrx, htx, hrx := int(utx), int(urx), int(uhtx), int(uhrx)
	if htx == 0 { // pre-API-14 kernels leave these 0 and have one host ring
		htx = 1
	}
	if hrx == 0 {
		hrx = 1
	}
	total := ntx + htx + nrx + hrx
	if 8*total > len(mem)-p.ifOff-abi.IfRingOfs {
		return fmt.Errorf("netmap_if ring table (%d rings) runs past the region", total)
	}
	ringOfs := func(i int) int64 {
		return *(*int64)(unsafe.Pointer(&mem[p.ifOff+abi.IfRingOfs+8*i]))
	}
	// Bound rings are the non-zero entries; libnetmap takes the first and
	// last non-zero entry of each direction.
	span := func(base, n int) (first, last int) {
		first, last = -1, -1
		for i := 0; i < n; i++ {
			if ringOfs(base+i) != 0 {
				if first < 0 {
					first = i
				}
				last = i + 1
			}
		}
		if first < 0 {
			return 0, 0
		}
		return first, last
	}
	ft, lt := span(0, ntx+htx)
	fr, lr := span(ntx+htx, nrx+hrx)

	bufSize, bufBase := 0, -1
	check := func(idx int) (int, error) {
		o := ringOfs(idx)
		off := int64(p.ifOff) + o
		if o == 0 || off < 0 || off%8 != 0 || off+abi.RingSlots > int64(len(mem)) {
			return 0, fmt.Errorf("ring %d at offset %d is outside the region", idx, o)
		}
		r := (*abi.RingHeader)(unsafe.Pointer(&mem[off]))
		ns := int64(r.NumSlots)
		if ns == 0 || off+abi.RingSlots+ns*abi.SlotSize > int64(len(mem)) {
			return 0, fmt.Errorf("ring %d: %d slots run past the region", idx, ns)
		}
		ubs := r.NrBufSize
		base := off + r.BufOfs
		if ubs == 0 || uint64(ubs) > uint64(len(mem)) || base < 0 || base >= int64(len(mem)) {
			return 0, fmt.Errorf("ring %d: buffer pool at %d (buffers of %d octets) is outside the region", idx, base, ubs)
		}
		bs := int(ubs) // at most the region's length: an int
		if bufSize == 0 {
			bufSize, bufBase = bs, int(base)
		} else if bs != bufSize || int(base) != bufBase {
			return 0, fmt.Errorf("ring %d: buffer pool %d/%d differs from %d/%d", idx, base, bs, bufBase, bufSize)
		}
		return int(off), nil
	}
	for i := ft; i < lt; i++ {
		off, err := check(i)
		if err != nil {
			return fmt.Errorf("tx %w", err)
		}
		p.txOffs = append(p.txOffs, off)
	}
	for i := fr; i < lr; i++ {
		off, err := check(ntx + htx + i)
		if err != nil {
			return fmt.Errorf("rx %w", err)
		}
		p.rxOffs = append(p.rxOffs, off)
	}
	if len(p.txOffs)+len(p.rxOffs) == 0 {
		return errors.New("no rings bound")
	}

	ifname := nifp.Name[:]
	if i := strings.IndexByte(string(ifname), 0); i >= 0 {
		ifname = ifname[:i]
	}
	p.info = Info{
		Name:         kname,
		IfName:       string(ifname),
		TxRings:      ntx,
		RxRings:      nrx,
		HostTxRings:  htx,
		HostRxRings:  hrx,
		TxSlots:      int(reg.TxSlots),
		RxSlots:      int(reg.RxSlots),
		FirstTx:      ft,
		LastTx:       lt,
		FirstRx:      fr,
		LastRx:       lr,
		MemID:        int(reg.MemID),
		MemSize:      len(mem),
		BufSize:      bufSize,
		BufCount:     (len(mem) - bufBase) / bufSize,
		PrivateMem:   nifp.Flags&abi.NI_PRIV_MEM != 0,
		ExtraBuffers: int(reg.ExtraBufs),
	}
	return nil
}
