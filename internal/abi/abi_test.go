package abi

import (
	"encoding/binary"
	"reflect"
	"testing"
	"unsafe"
)

// Offsets and sizes below are those of ../shared/ref/netmap-abi.md, measured
// by compiling netmap.h with gcc on x86_64. Keep the table literal: it is the
// reference the Go structs are checked against.
func TestLayoutGolden(t *testing.T) {
	type field struct {
		name string
		off  uintptr
	}
	cases := []struct {
		typ    any
		size   uintptr
		fields []field
	}{
		{ReqHeader{}, 88, []field{{"Version", 0}, {"ReqType", 2}, {"Reserved", 4}, {"Name", 8}, {"Options", 72}, {"Body", 80}}},
		{ReqOption{}, 24, []field{{"Next", 0}, {"ReqType", 8}, {"Status", 12}, {"Size", 16}}},
		{ReqRegister{}, 56, []field{{"Offset", 0}, {"MemSize", 8}, {"TxSlots", 16}, {"RxSlots", 20}, {"TxRings", 24}, {"RxRings", 26}, {"HostTxRings", 28}, {"HostRxRings", 30}, {"MemID", 32}, {"RingID", 34}, {"Mode", 36}, {"ExtraBufs", 40}, {"Flags", 48}}},
		{ReqPortInfoGet{}, 32, []field{{"MemSize", 0}, {"TxSlots", 8}, {"RxSlots", 12}, {"TxRings", 16}, {"RxRings", 18}, {"HostTxRings", 20}, {"HostRxRings", 22}, {"MemID", 24}}},
		{ReqValeAttach{}, 64, []field{{"Reg", 0}, {"PortIndex", 56}}},
		{ReqValeDetach{}, 8, []field{{"PortIndex", 0}}},
		{ReqValeList{}, 8, []field{{"BridgeIdx", 0}, {"PortIdx", 4}}},
		{ReqPortHdr{}, 8, []field{{"HdrLen", 0}}},
		{ReqValeNewif{}, 16, []field{{"TxSlots", 0}, {"RxSlots", 4}, {"TxRings", 8}, {"RxRings", 10}, {"MemID", 12}}},
		{ReqValePolling{}, 16, []field{{"Mode", 0}, {"FirstCPUID", 4}, {"NumPollingCPUs", 8}}},
		{ReqPoolsInfo{}, 64, []field{{"MemSize", 0}, {"MemID", 8}, {"IfPoolOffset", 16}, {"IfPoolObjTotal", 24}, {"IfPoolObjSize", 28}, {"RingPoolOffset", 32}, {"RingPoolObjTotal", 40}, {"RingPoolObjSize", 44}, {"BufPoolOffset", 48}, {"BufPoolObjTotal", 56}, {"BufPoolObjSize", 60}}},
		{ReqOptOffsets{}, 56, []field{{"Opt", 0}, {"MaxOffset", 24}, {"InitialOffset", 32}, {"OffsetBits", 40}, {"TxAlign", 44}, {"MinGap", 48}}},
		{LegacyReq{}, 60, []field{{"Name", 0}, {"Version", 16}, {"Offset", 20}, {"MemSize", 24}, {"TxSlots", 28}, {"RxSlots", 32}, {"TxRings", 36}, {"RxRings", 38}, {"RingID", 40}, {"Cmd", 42}, {"Arg1", 44}, {"Arg2", 46}, {"Arg3", 48}, {"Flags", 52}, {"Spare2", 56}}},
		{Slot{}, 16, []field{{"BufIdx", 0}, {"Len", 4}, {"Flags", 6}, {"Ptr", 8}}},
		{RingHeader{}, 256, []field{{"BufOfs", 0}, {"NumSlots", 8}, {"NrBufSize", 12}, {"RingID", 16}, {"Dir", 18}, {"Head", 20}, {"Cur", 24}, {"Tail", 28}, {"Flags", 32}, {"TsSec", 40}, {"TsUsec", 48}, {"OffsetMask", 56}, {"BufAlign", 64}, {"Sem", 128}}},
		{If{}, 56, []field{{"Name", 0}, {"Version", 16}, {"Flags", 20}, {"TxRings", 24}, {"RxRings", 28}, {"BufsHead", 32}, {"HostTxRings", 36}, {"HostRxRings", 40}}},
	}
	for _, c := range cases {
		rt := reflect.TypeOf(c.typ)
		if rt.Size() != c.size {
			t.Errorf("%s: size %d, want %d", rt.Name(), rt.Size(), c.size)
		}
		for _, f := range c.fields {
			sf, ok := rt.FieldByName(f.name)
			if !ok {
				t.Errorf("%s: no field %s", rt.Name(), f.name)
				continue
			}
			if sf.Offset != f.off {
				t.Errorf("%s.%s: offset %d, want %d", rt.Name(), f.name, sf.Offset, f.off)
			}
		}
	}
}

// The byte-offset constants used on []byte views must agree with the structs.
func TestOffsetConstants(t *testing.T) {
	var r RingHeader
	var s Slot
	var i If
	checks := []struct {
		name      string
		got, want uintptr
	}{
		{"RingBufOfs", RingBufOfs, unsafe.Offsetof(r.BufOfs)},
		{"RingNumSlots", RingNumSlots, unsafe.Offsetof(r.NumSlots)},
		{"RingBufSize", RingBufSize, unsafe.Offsetof(r.NrBufSize)},
		{"RingRingID", RingRingID, unsafe.Offsetof(r.RingID)},
		{"RingDir", RingDir, unsafe.Offsetof(r.Dir)},
		{"RingHead", RingHead, unsafe.Offsetof(r.Head)},
		{"RingCur", RingCur, unsafe.Offsetof(r.Cur)},
		{"RingTail", RingTail, unsafe.Offsetof(r.Tail)},
		{"RingFlags", RingFlags, unsafe.Offsetof(r.Flags)},
		{"RingTsSec", RingTsSec, unsafe.Offsetof(r.TsSec)},
		{"RingTsUsec", RingTsUsec, unsafe.Offsetof(r.TsUsec)},
		{"RingOffsetMask", RingOffsetMask, unsafe.Offsetof(r.OffsetMask)},
		{"RingBufAlign", RingBufAlign, unsafe.Offsetof(r.BufAlign)},
		{"RingSem", RingSem, unsafe.Offsetof(r.Sem)},
		{"RingSlots", RingSlots, unsafe.Sizeof(r)},
		{"SlotSize", SlotSize, unsafe.Sizeof(s)},
		{"SlotBufIdx", SlotBufIdx, unsafe.Offsetof(s.BufIdx)},
		{"SlotLen", SlotLen, unsafe.Offsetof(s.Len)},
		{"SlotFlags", SlotFlags, unsafe.Offsetof(s.Flags)},
		{"SlotPtr", SlotPtr, unsafe.Offsetof(s.Ptr)},
		{"IfName", IfName, unsafe.Offsetof(i.Name)},
		{"IfVersion", IfVersion, unsafe.Offsetof(i.Version)},
		{"IfFlags", IfFlags, unsafe.Offsetof(i.Flags)},
		{"IfTxRings", IfTxRings, unsafe.Offsetof(i.TxRings)},
		{"IfRxRings", IfRxRings, unsafe.Offsetof(i.RxRings)},
		{"IfBufsHead", IfBufsHead, unsafe.Offsetof(i.BufsHead)},
		{"IfHostTxRings", IfHostTxRings, unsafe.Offsetof(i.HostTxRings)},
		{"IfHostRxRings", IfHostRxRings, unsafe.Offsetof(i.HostRxRings)},
		{"IfRingOfs", IfRingOfs, unsafe.Sizeof(i)},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %d, struct says %d", c.name, c.got, c.want)
		}
	}
}

// Each request number is recomputed from _IO/_IOWR arithmetic with the
// struct sizes, and compared with the value printed from the C headers.
func TestRequestNumbers(t *testing.T) {
	const typ = 'i'
	cases := []struct {
		name      string
		got, want uintptr
		printed   uint32
	}{
		{"NIOCCTRL", NIOCCTRL, Ioc(IOC_READ|IOC_WRITE, typ, 151, unsafe.Sizeof(ReqHeader{})), 3227019671},
		{"NIOCGINFO", NIOCGINFO, Ioc(IOC_READ|IOC_WRITE, typ, 145, unsafe.Sizeof(LegacyReq{})), 3225184657},
		{"NIOCREGIF", NIOCREGIF, Ioc(IOC_READ|IOC_WRITE, typ, 146, unsafe.Sizeof(LegacyReq{})), 3225184658},
		{"NIOCCONFIG", NIOCCONFIG, Ioc(IOC_READ|IOC_WRITE, typ, 150, 272), 3239078294},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s = %#x, _IOC arithmetic gives %#x", c.name, c.got, c.want)
		}
		if uint32(c.got) != c.printed {
			t.Errorf("%s = %d, C headers print %d", c.name, uint32(c.got), c.printed)
		}
	}
	ctrl := uint32(NIOCCTRL)
	if int32(ctrl) != -1067947625 {
		t.Errorf("NIOCCTRL as int32 = %d", int32(ctrl))
	}
}

// A Pointer is the C uint64_t address field: its 8 bytes, read in the
// machine's byte order, are the address zero-extended to 64 bits, on 32-bit
// platforms as on 64-bit ones.
func TestPointerIsUint64(t *testing.T) {
	v := new([16]byte)
	p := NewPointer(unsafe.Pointer(v))
	if unsafe.Sizeof(p) != 8 {
		t.Fatalf("Pointer is %d bytes, want 8", unsafe.Sizeof(p))
	}
	b := unsafe.Slice((*byte)(unsafe.Pointer(&p)), 8)
	got := binary.NativeEndian.Uint64(b)
	if want := uint64(uintptr(unsafe.Pointer(v))); got != want {
		t.Errorf("Pointer bytes % x read as %#x, want the address %#x", b, got, want)
	}
	if p.Get() != unsafe.Pointer(v) {
		t.Error("Get does not return the pointer")
	}
	var h ReqHeader
	h.Body = p
	if got := *(*uint64)(unsafe.Add(unsafe.Pointer(&h), 80)); got != uint64(uintptr(unsafe.Pointer(v))) {
		t.Errorf("nr_body at offset 80 reads %#x", got)
	}
}
