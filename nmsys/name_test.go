package nmsys

import (
	"errors"
	"strings"
	"testing"
)

func TestParseName(t *testing.T) {
	long := strings.Repeat("a", maxKernelName)
	cases := []struct {
		in   string
		want Name
	}{
		// netmap's own examples (utils/ctrl-api-test.c).
		{"netmap:eth0-2/Tx", Name{Port: "eth0", Mode: ModeOneNIC, RingID: 2, Flags: FlagTxRingsOnly | FlagExclusive}},
		{"netmap:eth0@2/R", Name{Port: "eth0", Mode: ModeAllNIC, MemID: 2, Flags: FlagRxRingsOnly}},
		{"vale0:0-3@conf:slots=256", Name{Port: "vale0:0", Mode: ModeOneNIC, RingID: 3, Conf: RingConf{TxSlots: 256, RxSlots: 256}}},
		{"netmap:pipe{in-7", Name{Port: "pipe{in", Mode: ModeOneNIC, RingID: 7}},

		// Prefixes and bare names.
		{"netmap:eth0", Name{Port: "eth0", Mode: ModeAllNIC}},
		{"eth0", Name{Port: "eth0", Mode: ModeAllNIC}},
		{"eth0-2", Name{Port: "eth0", Mode: ModeOneNIC, RingID: 2}},
		{"pipe{1", Name{Port: "pipe{1", Mode: ModeAllNIC}},
		{"netmap0", Name{Port: "netmap0", Mode: ModeAllNIC}},
		{"enp1s0.100", Name{Port: "enp1s0.100", Mode: ModeAllNIC}},
		{"netmap:" + long, Name{Port: long, Mode: ModeAllNIC}},
		{long + "*", Name{Port: long, Mode: ModeNICSW}},

		// VALE.
		{"vale0:a", Name{Port: "vale0:a", Mode: ModeAllNIC}},
		{"vale:x", Name{Port: "vale:x", Mode: ModeAllNIC}},
		{"valeSW1:p_2", Name{Port: "valeSW1:p_2", Mode: ModeAllNIC}},
		{"vale01234567890:abcdefghijklmno", Name{Port: "vale01234567890:abcdefghijklmno", Mode: ModeAllNIC}},
		{"vale0:a{3", Name{Port: "vale0:a{3", Mode: ModeAllNIC}},
		{"vale0:a}x_1-1", Name{Port: "vale0:a}x_1", Mode: ModeOneNIC, RingID: 1}},
		// The kernel checks the switch name's characters, not the port's:
		// a VLAN interface to attach, and what a virtual port may be called.
		{"vale0:eth0.100", Name{Port: "vale0:eth0.100", Mode: ModeAllNIC}},
		{"vale0:eth0.100-1", Name{Port: "vale0:eth0.100", Mode: ModeOneNIC, RingID: 1}},
		{"vale0:a:b", Name{Port: "vale0:a:b", Mode: ModeAllNIC}},
		{"vale0:a.b{1", Name{Port: "vale0:a.b{1", Mode: ModeAllNIC}},

		// Modes.
		{"netmap:eth0^", Name{Port: "eth0", Mode: ModeSW}},
		{"netmap:eth0^0", Name{Port: "eth0", Mode: ModeOneSW, RingID: 0}},
		{"netmap:eth0^12", Name{Port: "eth0", Mode: ModeOneSW, RingID: 12}},
		{"netmap:eth0*", Name{Port: "eth0", Mode: ModeNICSW}},
		{"netmap:eth0-0", Name{Port: "eth0", Mode: ModeOneNIC, RingID: 0}},
		{"netmap:eth0-007", Name{Port: "eth0", Mode: ModeOneNIC, RingID: 7}},
		{"netmap:eth0-4094", Name{Port: "eth0", Mode: ModeOneNIC, RingID: 4094}},

		// Flags.
		{"netmap:eth0/x", Name{Port: "eth0", Mode: ModeAllNIC, Flags: FlagExclusive}},
		{"netmap:eth0/z", Name{Port: "eth0", Mode: ModeAllNIC, Flags: FlagZeroCopyMonitor}},
		{"netmap:eth0/t", Name{Port: "eth0", Mode: ModeAllNIC, Flags: FlagMonitorTX}},
		{"netmap:eth0/r", Name{Port: "eth0", Mode: ModeAllNIC, Flags: FlagMonitorRX}},
		{"netmap:eth0/R", Name{Port: "eth0", Mode: ModeAllNIC, Flags: FlagRxRingsOnly}},
		{"netmap:eth0/T", Name{Port: "eth0", Mode: ModeAllNIC, Flags: FlagTxRingsOnly}},
		{"netmap:eth0/xx", Name{Port: "eth0", Mode: ModeAllNIC, Flags: FlagExclusive}},
		{"netmap:eth0^1/rtzR", Name{Port: "eth0", Mode: ModeOneSW, RingID: 1,
			Flags: FlagMonitorRX | FlagMonitorTX | FlagZeroCopyMonitor | FlagRxRingsOnly}},
		{"netmap:eth0*/x@3/T", Name{Port: "eth0", Mode: ModeNICSW, Flags: FlagExclusive | FlagTxRingsOnly, MemID: 3}},

		// Memory ids.
		{"netmap:eth0@1", Name{Port: "eth0", Mode: ModeAllNIC, MemID: 1}},
		{"vale0:a@65535", Name{Port: "vale0:a", Mode: ModeAllNIC, MemID: 65535}},
		{"netmap:eth0@5@5", Name{Port: "eth0", Mode: ModeAllNIC, MemID: 5}},
		{"netmap:eth0@05", Name{Port: "eth0", Mode: ModeAllNIC, MemID: 5}},

		// @share.
		{"vale0:b@share=vale0:a", Name{Port: "vale0:b", Mode: ModeAllNIC, Share: "vale0:a"}},
		{"vale0:b@share:port=netmap:eth0", Name{Port: "vale0:b", Mode: ModeAllNIC, Share: "eth0"}},
		{"netmap:p{1@share=eth1", Name{Port: "p{1", Mode: ModeAllNIC, Share: "eth1"}},
		{"vale0:b@share=vale0:a@share=vale0:a", Name{Port: "vale0:b", Mode: ModeAllNIC, Share: "vale0:a"}},

		// @conf.
		{"vale0:a@conf:rings=2", Name{Port: "vale0:a", Mode: ModeAllNIC, Conf: RingConf{TxRings: 2, RxRings: 2}}},
		{"vale0:a@conf:host-rings=1", Name{Port: "vale0:a", Mode: ModeAllNIC, Conf: RingConf{HostTxRings: 1, HostRxRings: 1}}},
		{"vale0:a@conf:tx-rings=3", Name{Port: "vale0:a", Mode: ModeAllNIC, Conf: RingConf{TxRings: 3}}},
		{"vale0:a@conf:rx-rings=4", Name{Port: "vale0:a", Mode: ModeAllNIC, Conf: RingConf{RxRings: 4}}},
		{"vale0:a@conf:host-tx-rings=2,host-rx-rings=3", Name{Port: "vale0:a", Mode: ModeAllNIC, Conf: RingConf{HostTxRings: 2, HostRxRings: 3}}},
		{"vale0:a@conf:tx-slots=1024", Name{Port: "vale0:a", Mode: ModeAllNIC, Conf: RingConf{TxSlots: 1024}}},
		{"vale0:a@conf:rx_slots=65535", Name{Port: "vale0:a", Mode: ModeAllNIC, Conf: RingConf{RxSlots: 65535}}},
		{"vale0:a@conf:rx_slots=100,slots=256,rings=2,host_rings=1,tx-rings=4", Name{Port: "vale0:a", Mode: ModeAllNIC,
			Conf: RingConf{TxRings: 4, RxRings: 2, HostTxRings: 1, HostRxRings: 1, TxSlots: 256, RxSlots: 100}}},
		{"vale0:a@conf:tx-rings=1024@conf:rings=1,host-tx-rings=5", Name{Port: "vale0:a", Mode: ModeAllNIC,
			Conf: RingConf{TxRings: 1024, RxRings: 1, HostTxRings: 5}}},
		{"netmap:eth0-1/x@2@conf:slots=512", Name{Port: "eth0", Mode: ModeOneNIC, RingID: 1, Flags: FlagExclusive, MemID: 2,
			Conf: RingConf{TxSlots: 512, RxSlots: 512}}},
	}
	for _, c := range cases {
		got, err := ParseName(c.in)
		if err != nil {
			t.Errorf("ParseName(%q): %v", c.in, err)
			continue
		}
		if *got != c.want {
			t.Errorf("ParseName(%q)\n got %+v\nwant %+v", c.in, *got, c.want)
		}
		s := got.String()
		again, err := ParseName(s)
		if err != nil {
			t.Errorf("ParseName(%q) (String of %q): %v", s, c.in, err)
			continue
		}
		if *again != *got {
			t.Errorf("round trip %q -> %q:\n got %+v\nwant %+v", c.in, s, *again, *got)
		}
		if again.String() != s {
			t.Errorf("String not stable: %q -> %q", s, again.String())
		}
	}
}

func TestNameString(t *testing.T) {
	cases := []struct{ in, want string }{
		{"eth0", "netmap:eth0"},
		{"netmap:eth0-2/Tx", "netmap:eth0-2/xT"},
		{"eth0^", "netmap:eth0^"},
		{"eth0^3", "netmap:eth0^3"},
		{"eth0*", "netmap:eth0*"},
		{"eth0/Rrtzx", "netmap:eth0/xztrR"},
		{"netmap:pipe}q", "netmap:pipe}q"},
		{"vale0:a@conf:rx_slots=512,tx-rings=2", "vale0:a@conf:tx-rings=2,rx-slots=512"},
		{"vale0:a@conf:rings=2,host-rings=1,slots=8", "vale0:a@conf:tx-rings=2,rx-rings=2,host-tx-rings=1,host-rx-rings=1,tx-slots=8,rx-slots=8"},
		{"vale0:b@share:port=eth0", "vale0:b@share=netmap:eth0"},
		{"eth0@007/x", "netmap:eth0/x@7"},
	}
	for _, c := range cases {
		n, err := ParseName(c.in)
		if err != nil {
			t.Errorf("ParseName(%q): %v", c.in, err)
			continue
		}
		if got := n.String(); got != c.want {
			t.Errorf("ParseName(%q).String() = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestParseNameErrors(t *testing.T) {
	cases := []struct {
		in  string
		pos int
		msg string
	}{
		// netmap's own examples (utils/ctrl-api-test.c).
		{"netmap:", 7, "port name expected"},
		{"netmap:vale0:0", 7, "no netmap: prefix"},
		{"netmapXXX:eth0", 6, "nothing may come between netmap and ':'"},
		{"netmap:pipe{1}2", 13, "only one pipe bracket"},
		{"netmap:eth0-", 12, "ring number expected"},
		{"netmap:eth0@", 12, "memory id or option expected"},

		// Kernel name.
		{"", 0, "port name expected"},
		{"-1", 0, "port name expected"},
		{"netmap:valentine", 7, "no netmap: prefix"},
		// The kernel takes any name starting with "val" for a VALE port
		// (it compares 3 bytes of "vale") and fails it with ENOMEM; a
		// port shared is looked up in all-NIC mode (the port's own name
		// is checked with its mode: TestBuildRegister).
		{"vale0:a@share=val0", 14, `starts with "val"`},
		{"netmap:eth0@share=netmap:valx{1", 18, `starts with "val"`},
		{"foo:bar", 0, `unknown prefix "foo:"`},
		{"netmap:eth0:1", 11, "unexpected ':'"},
		{"netmap:eth 0", 10, "invalid character ' '"},
		{"netmap:eth\x000", 10, `invalid character '\x00'`},
		{"eth\t0", 3, "invalid character"},
		{"eth\xc3\xa90", 3, "invalid character"},
		{"eth\x7f", 3, "invalid character"},
		{"netmap:" + strings.Repeat("a", 64), 70, "longer than 63 bytes"},
		{strings.Repeat("b", 100) + "-1", 63, "longer than 63 bytes"},
		{"netmap:{1", 7, "needs a parent port name"},
		{"netmap:p{", 9, "pipe id expected"},
		{"netmap:p}-1", 9, "pipe id expected"},
		{"netmap:p{a.b", 10, "invalid character '.' in pipe id"},
		{"netmap:p{a{b", 10, "only one pipe bracket"},
		// netmap binds only the NIC rings of a pipe (EINVAL otherwise).
		{"netmap:p{1^", 10, "pipe has no host rings"},
		{"p}x^0", 3, "pipe has no host rings"},
		{"vale0:a}x_1*", 11, "pipe has no host rings"},

		// VALE names.
		{"vale0", 5, "':' expected"},
		{"vale0-1:a", 5, "':' expected"},
		{"vale0{1", 5, "':' expected"},
		{"vale0:", 6, "VALE port name expected"},
		{"vale0:-1", 6, "VALE port name expected"},
		{"vale0:a b", 7, "invalid character ' '"},
		{"vale0:eth0.10000000000", 21, "VALE port name longer than 15"},
		{"vale.0:a", 4, "invalid character '.' in VALE switch name"},
		{"vale0123456789ab:a", 15, "VALE switch name longer than 15"},
		{"vale0:abcdefghijklmnop", 21, "VALE port name longer than 15"},

		// Modes.
		{"netmap:eth0-x", 12, "ring number expected"},
		{"netmap:eth0--1", 12, "ring number expected"},
		{"netmap:eth0-4095", 12, "out of range 0..4094"},
		{"netmap:eth0-99999999999999999999999", 12, "out of range"},
		{"netmap:eth0^4095", 12, "out of range 0..4094"},
		{"netmap:eth0-1^", 13, "only one may be given"},
		{"netmap:eth0^*", 12, "only one may be given"},
		{"netmap:eth0**", 12, "only one may be given"},
		{"netmap:eth0/x-1", 13, "unknown flag '-'"},
		{"netmap:eth0@1-1", 13, "ring mode"},
		{"netmap:eth0*1", 12, "unexpected '1'"},

		// Flags.
		{"netmap:eth0/", 12, "flag letter expected"},
		{"netmap:eth0/@1", 12, "flag letter expected"},
		{"netmap:eth0/q", 12, "unknown flag 'q'"},
		{"netmap:eth0/x/z", 13, "unknown flag '/'"},
		{"netmap:eth0/RT", 13, "R and T exclude each other"},
		{"netmap:eth0/T@1/R", 16, "R and T exclude each other"},

		// Memory ids.
		{"netmap:eth0@0", 12, "memory id must be 1..65535"},
		{"netmap:eth0@65536", 12, "out of range 0..65535"},
		{"netmap:eth0@1@2", 14, "conflicts with @1"},
		{"netmap:eth0@1x", 13, "unexpected 'x'"},
		{"netmap:eth0@@", 12, "option name expected"},

		// Options.
		{"vale0:a@=1", 8, "option name expected"},
		{"vale0:a@bogus=1", 8, `unknown option "bogus"`},
		{"vale0:a@Conf:rings=1", 8, "unknown option"},
		{"vale0:a@extmem=/tmp/x", 8, "@extmem is not supported by nmgo yet"},
		{"vale0:a@extmem:file=/tmp/x,if-num=2", 8, "@extmem is not supported"},
		{"vale0:a@offset=64", 8, "@offset is not supported"},
		{"vale0:a@offset:initial=64,bits=8", 8, "@offset is not supported"},
		{"vale0:a@conf", 12, "'=' or ':' expected after @conf"},
		{"vale0:a@share@2", 13, "'=' or ':' expected after @share"},
		{"vale0:a@conf=2", 12, "@conf takes key=value pairs"},
		{"vale0:a@conf:", 13, "key expected"},
		{"vale0:a@conf:rings=2,", 21, "key expected"},
		{"vale0:a@conf:,rings=2", 13, "key expected"},
		{"vale0:a@conf:=2", 13, "key expected"},
		{"vale0:a@conf:rings", 18, "'=' expected after key"},
		{"vale0:a@conf:rings,slots=2", 18, "'=' expected after key"},
		{"vale0:a@conf:rings=", 19, "empty value"},
		{"vale0:a@conf:rings=,slots=2", 19, "empty value"},
		{"vale0:a@conf:rings=0", 19, "rings 0 out of range 1..1024"},
		{"vale0:a@conf:rings=1025", 19, "out of range 1..1024"},
		{"vale0:a@conf:host-rings=2000", 24, "out of range 1..1024"},
		{"vale0:a@conf:slots=65536", 19, "out of range 1..65535"},
		{"vale0:a@conf:tx-slots=-1", 22, "must be a decimal number"},
		{"vale0:a@conf:tx-slots=+1", 22, "must be a decimal number"},
		{"vale0:a@conf:tx-slots=1k", 23, "must be a decimal number"},
		{"vale0:a@conf:tx-slots=0x10", 23, "must be a decimal number"},
		{"vale0:a@conf:rings=2,rings=3", 21, `key "rings" given twice`},
		{"vale0:a@conf:rx_slots=2,rx-slots=3", 24, `key "rx-slots" given twice`},
		{"vale0:a@conf:rings=2@conf:rings=3", 26, "given twice"},
		{"vale0:a@conf:bogus=1", 13, `unknown @conf key "bogus"`},
		{"vale0:a@conf:port=1", 13, "unknown @conf key"},
		{"vale0:a@share=", 14, "empty value for @share"},
		{"vale0:a@share:port=", 19, "empty value"},
		{"vale0:a@share:file=vale0:b", 14, "unknown @share key"},
		{"vale0:a@share:port=vale0:b,port=vale0:b", 27, "given twice"},
		{"vale0:a@share=vale0:", 20, "VALE port name expected"},
		{"vale0:a@share=netmap:", 21, "port name expected"},
		{"vale0:a@share=eth0-1", 18, "without ring or flag suffixes"},
		{"vale0:a@share=eth0/x", 18, "without ring or flag suffixes"},
		{"vale0:a@share:port=eth0,x=1", 24, "unknown @share key"},
		{"vale0:a@share=vale0:b@share=vale0:c", 22, "conflicts with @share=vale0:b"},
		{"vale0:a@2@share=vale0:b", 10, "both select a memory region"},
		{"vale0:a@share=vale0:b@2", 22, "both select a memory region"},
	}
	for _, c := range cases {
		n, err := ParseName(c.in)
		if err == nil {
			t.Errorf("ParseName(%q) = %+v, want an error", c.in, *n)
			continue
		}
		var ne *NameError
		if !errors.As(err, &ne) {
			t.Errorf("ParseName(%q) = %T %v, want *NameError", c.in, err, err)
			continue
		}
		if !errors.Is(err, ErrBadName) {
			t.Errorf("ParseName(%q): %v does not match ErrBadName", c.in, err)
		}
		if ne.Name != c.in || ne.Pos != c.pos || !strings.Contains(ne.Msg, c.msg) {
			t.Errorf("ParseName(%q): %v\nwant at %d: ...%s...", c.in, err, c.pos, c.msg)
		}
	}
}

func TestNameErrorString(t *testing.T) {
	_, err := ParseName("netmap:eth0-x")
	const want = `nmsys: bad port name "netmap:eth0-x" at 12: ring number expected`
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
	if errors.Is(errors.New("bad port name"), ErrBadName) {
		t.Error("an unrelated error matches ErrBadName")
	}
}

// checkName asserts the properties every name ParseName accepts must have.
func checkName(t *testing.T, in string, n *Name) {
	t.Helper()
	if n.Port == "" || len(n.Port) > maxKernelName || strings.IndexByte(n.Port, 0) >= 0 {
		t.Fatalf("ParseName(%q): bad Port %q", in, n.Port)
	}
	switch n.Mode {
	case ModeAllNIC, ModeSW, ModeNICSW, ModeOneNIC, ModeOneSW:
	default:
		t.Fatalf("ParseName(%q): mode %v", in, n.Mode)
	}
	if n.RingID < 0 || n.RingID >= 4095 || (n.RingID != 0 && n.Mode != ModeOneNIC && n.Mode != ModeOneSW) {
		t.Fatalf("ParseName(%q): ring %d in mode %v", in, n.RingID, n.Mode)
	}
	if n.MemID < 0 || n.MemID > maxMemID || (n.MemID != 0 && n.Share != "") {
		t.Fatalf("ParseName(%q): mem id %d, share %q", in, n.MemID, n.Share)
	}
	if n.Flags&(FlagRxRingsOnly|FlagTxRingsOnly) == FlagRxRingsOnly|FlagTxRingsOnly {
		t.Fatalf("ParseName(%q): flags %#x", in, n.Flags)
	}
	s := n.String()
	again, err := ParseName(s)
	if err != nil {
		t.Fatalf("ParseName(%q) (String of %q): %v", s, in, err)
	}
	if *again != *n {
		t.Fatalf("round trip %q -> %q:\n got %+v\nwant %+v", in, s, *again, *n)
	}
}

func FuzzParseName(f *testing.F) {
	for _, s := range []string{
		"netmap:eth0-2/Tx", "netmap:eth0@2/R", "vale0:0-3@conf:slots=256", "netmap:pipe{in-7",
		"netmap:", "netmap:vale0:0", "netmapXXX:eth0", "netmap:pipe{1}2", "netmap:eth0-", "netmap:eth0@",
		"eth0", "eth0^1/xz@7", "eth0*/tr", "vale:x", "valeSW1:p_2}3^", "vale0:b@share=vale0:a",
		"vale0:b@share:port=netmap:eth0", "netmap:p}1@conf:rx_slots=5,rings=2,host-rings=1",
		"vale0:a@conf:tx-rings=2@conf:rx-slots=512", "vale0:a@extmem=/x", "vale0:a@offset:bits=8", "@", "/",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseName(s)
		if err != nil {
			var ne *NameError
			if !errors.As(err, &ne) || !errors.Is(err, ErrBadName) {
				t.Fatalf("ParseName(%q): %T %v", s, err, err)
			}
			if ne.Name != s || ne.Pos < 0 || ne.Pos > len(s) || ne.Msg == "" {
				t.Fatalf("ParseName(%q): %+v", s, *ne)
			}
			return
		}
		checkName(t, s, n)
	})
}

// TestValeNameAttachVLAN: ValeAttach's check of its name lets through the
// port part of a VLAN interface, which the kernel attaches.
func TestValeNameAttachVLAN(t *testing.T) {
	if k, err := valeName("vale0:eth0.100"); err != nil || k != "vale0:eth0.100" {
		t.Errorf("valeName(vale0:eth0.100) = %q, %v", k, err)
	}
	if _, err := valeName("vale0:eth0 100"); err == nil {
		t.Error("valeName(vale0:eth0 100): no error")
	}
}
