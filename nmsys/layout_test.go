package nmsys

import (
	"encoding/binary"
	"testing"

	"github.com/nmgo/nmgo/internal/abi"
	"github.com/nmgo/nmgo/internal/heapmem"
	"github.com/nmgo/nmgo/rings"
)

// FuzzLayout: the netmap_if and ring headers the kernel wrote, overwritten
// by the input, never make layout panic or accept a ring outside the
// region; every ring it accepts is one the rings package can view or
// refuses with an integrity error. The input is a sequence of writes: a
// target octet (the netmap_if, or a ring), a 2-octet offset into it, a
// width and a value.
func FuzzLayout(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0, 0, 0x28, 4, 0xff, 0xff, 0, 0, 0, 0, 0, 0})                    // netmap_if rx rings
	f.Add([]byte{1, 0, abi.RingNumSlots, 4, 0, 0, 0, 0x40, 0, 0, 0, 0})           // num_slots of ring 0
	f.Add([]byte{2, 0, abi.RingBufOfs, 8, 0xf0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0}) // buf_ofs of ring 1
	f.Fuzz(func(t *testing.T, in []byte) {
		r := heapmem.MustNew(&heapmem.Config{TxRings: 2, RxRings: 2, TxSlots: 8, RxSlots: 8, BufSize: 256})
		targets := []int{r.IfOff}
		for i := range r.NumTx() {
			targets = append(targets, r.TxRingOff(i))
		}
		for i := range r.NumRx() {
			targets = append(targets, r.RxRingOff(i))
		}
		for len(in) >= 12 {
			off := targets[int(in[0])%len(targets)] + int(binary.LittleEndian.Uint16(in[1:]))%512
			v := binary.LittleEndian.Uint64(in[4:])
			switch in[3] % 3 {
			case 0:
				r.PutU16(off, uint16(v))
			case 1:
				r.PutU32(off, uint32(v))
			case 2:
				r.PutU64(off, v)
			}
			in = in[12:]
		}
		p := &Port{mem: r.Mem, ifOff: r.IfOff}
		if err := p.layout("fuzz", &abi.ReqRegister{}); err != nil {
			return
		}
		info := p.info
		if info.BufSize <= 0 || info.BufCount < 0 || info.LastTx-info.FirstTx != len(p.txOffs) || info.LastRx-info.FirstRx != len(p.rxOffs) {
			t.Fatalf("info %+v with %d tx and %d rx rings", info, len(p.txOffs), len(p.rxOffs))
		}
		for _, off := range append(append([]int(nil), p.txOffs...), p.rxOffs...) {
			if off < 0 || off+abi.RingSlots > len(r.Mem) {
				t.Fatalf("ring at %d accepted in a %d-octet region", off, len(r.Mem))
			}
			if _, err := rings.NewRxRing(r.Mem, off); err != nil {
				if _, ok := err.(*rings.IntegrityError); !ok {
					t.Fatalf("ring at %d: %v", off, err)
				}
			}
		}
		if err := r.CheckGuards(); err != nil {
			t.Fatal(err)
		}
	})
}

// TestLayoutHugeRingCount: a netmap_if whose ni_tx_rings is 0xffffffff is
// refused in a 32-bit program as in a 64-bit one (as an int it was -1
// there, and the TX rings' offsets were taken as RX rings).
func TestLayoutHugeRingCount(t *testing.T) {
	r := heapmem.MustNew(&heapmem.Config{TxRings: 2, RxRings: 2, TxSlots: 8, RxSlots: 8, BufSize: 256})
	r.PutU32(r.IfOff+abi.IfTxRings, 0xffffffff)
	p := &Port{mem: r.Mem, ifOff: r.IfOff}
	if err := p.layout("huge", &abi.ReqRegister{}); err == nil {
		t.Errorf("ni_tx_rings 0xffffffff accepted: info %+v", p.info)
	} else {
		t.Logf("refused: %v", err)
	}
}

// TestLayoutHugeBufSize: rings whose nr_buf_size is 0xffffffff, a buffer
// larger than the region, are refused (a 64-bit program took it, a 32-bit
// one read -1).
func TestLayoutHugeBufSize(t *testing.T) {
	r := heapmem.MustNew(&heapmem.Config{TxRings: 2, RxRings: 2, TxSlots: 8, RxSlots: 8, BufSize: 256})
	for i := range r.NumTx() {
		r.PutU32(r.TxRingOff(i)+abi.RingBufSize, 0xffffffff)
	}
	for i := range r.NumRx() {
		r.PutU32(r.RxRingOff(i)+abi.RingBufSize, 0xffffffff)
	}
	p := &Port{mem: r.Mem, ifOff: r.IfOff}
	if err := p.layout("huge", &abi.ReqRegister{}); err == nil {
		t.Errorf("nr_buf_size 0xffffffff accepted: info %+v", p.info)
	} else {
		t.Logf("refused: %v", err)
	}
}
