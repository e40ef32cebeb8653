//go:build linux || freebsd

package nmsys

import (
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/nmgo/nmgo/internal/abi"
)

func TestOpenMissingDevice(t *testing.T) {
	old := devicePath
	devicePath = "/nonexistent/netmap"
	defer func() { devicePath = old }()

	p, err := Open("vale0:a", nil)
	if err == nil {
		p.Close()
		t.Fatal("Open succeeded without a device")
	}
	if !errors.Is(err, ErrNotSupported) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("err = %v; want ErrNotSupported and fs.ErrNotExist", err)
	}
	for _, want := range []string{"/nonexistent/netmap", "netmap.ko", "mainline Linux"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks hint %q", err, want)
		}
	}
	// A user of the library has no copy of this repository's test tools.
	if strings.Contains(err.Error(), "test/") {
		t.Errorf("error %q sends the user to a path of nmgo's repository", err)
	}
	for _, f := range []func() error{
		func() error { _, err := ValeList(); return err },
		func() error { _, err := LookupPortInfo("vale0:a"); return err },
		func() error { return ValeDelIf("x") },
	} {
		if err := f(); !errors.Is(err, ErrNotSupported) {
			t.Errorf("control call without device: %v", err)
		}
	}
}

func TestOpenBadName(t *testing.T) {
	_, err := Open("netmap:eth0-", nil)
	var ne *NameError
	if !errors.As(err, &ne) || !errors.Is(err, ErrBadName) {
		t.Fatalf("err = %v, want *NameError", err)
	}
}

func TestBuildRegister(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		want abi.ReqRegister
	}{
		{"vale0:a", Config{}, abi.ReqRegister{Mode: abi.NR_REG_ALL_NIC}},
		{"netmap:eth0^", Config{}, abi.ReqRegister{Mode: abi.NR_REG_SW}},
		{"netmap:eth0^1", Config{}, abi.ReqRegister{Mode: abi.NR_REG_ONE_SW, RingID: 1}},
		{"netmap:eth0*", Config{}, abi.ReqRegister{Mode: abi.NR_REG_NIC_SW}},
		{"netmap:eth0-3/x", Config{}, abi.ReqRegister{Mode: abi.NR_REG_ONE_NIC, RingID: 3, Flags: abi.NR_EXCLUSIVE}},
		{"netmap:eth0", Config{Mode: ModeOneNIC, RingID: 2}, abi.ReqRegister{Mode: abi.NR_REG_ONE_NIC, RingID: 2}},
		{"vale0:a@conf:rings=2,slots=512", Config{}, abi.ReqRegister{Mode: 1, TxRings: 2, RxRings: 2, TxSlots: 512, RxSlots: 512}},
		{"vale0:a@conf:rings=2", Config{TxRings: 4, ExtraBuffers: 100, MemID: 3}, abi.ReqRegister{Mode: 1, TxRings: 4, RxRings: 2, ExtraBufs: 100, MemID: 3}},
		{"vale0:a", Config{RxOnly: true, NoTxPoll: true}, abi.ReqRegister{Mode: 1, Flags: abi.NR_RX_RINGS_ONLY | abi.NR_NO_TX_POLL}},
		{"vale0:a@7", Config{TxOnly: true, Exclusive: true, AcceptVnetHdr: true}, abi.ReqRegister{Mode: 1, MemID: 7, Flags: abi.NR_TX_RINGS_ONLY | abi.NR_EXCLUSIVE | abi.NR_ACCEPT_VNET_HDR}},
		// A null port, looked for before VALE ports, takes any name.
		{"netmap:valx", Config{Mode: ModeNull}, abi.ReqRegister{Mode: abi.NR_REG_NULL}},
	}
	for _, c := range cases {
		n, err := ParseName(c.name)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		got, err := buildRegister(n, &c.cfg)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if *got != c.want {
			t.Errorf("%s %+v:\n got %+v\nwant %+v", c.name, c.cfg, *got, c.want)
		}
	}
	bad := []struct {
		name string
		cfg  Config
	}{
		{"vale0:a", Config{TxOnly: true, RxOnly: true}},
		{"vale0:a/R", Config{TxOnly: true}},
		{"vale0:a", Config{Mode: 99}},
		{"vale0:a", Config{Mode: ModeOneNIC, RingID: 5000}},
		{"vale0:a", Config{TxRings: -1}},
		{"vale0:a", Config{TxSlots: 1 << 30}},
		{"vale0:a", Config{MemID: 70000}},
		{"netmap:p{1", Config{Mode: ModeSW}},
		{"vale0:a}2-1", Config{Mode: ModeNICSW}},
		{"p}3", Config{Mode: ModeOneSW}},
		// The kernel takes any name starting with "val" for a VALE
		// port (it compares 3 bytes of "vale") and fails it with
		// ENOMEM, in every mode but the null port's.
		{"netmap:val0", Config{}},
		{"valid0", Config{Mode: ModeAllNIC}},
		{"val", Config{Mode: ModeSW}},
		{"netmap:valx{1", Config{}},
	}
	for _, c := range bad {
		n, err := ParseName(c.name)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if _, err := buildRegister(n, &c.cfg); err == nil {
			t.Errorf("%s %+v accepted", c.name, c.cfg)
		}
	}
}

func TestErrorShapes(t *testing.T) {
	e := &APIVersionError{Kernel: 11, Want: 14}
	if !errors.Is(e, ErrAPIVersion) || !strings.Contains(e.Error(), "11") {
		t.Errorf("APIVersionError: %v", e)
	}
	if !errors.Is(ErrClosed, fs.ErrClosed) {
		t.Error("ErrClosed does not match os.ErrClosed")
	}
	oe := &Error{Op: "register", Port: "vale0:a", Err: fs.ErrPermission}
	if oe.Error() != `nmsys: register "vale0:a": permission denied` || !errors.Is(oe, fs.ErrPermission) {
		t.Errorf("Error: %v", oe)
	}
}

// LookupPortInfo asks with the "@conf:" counts of a VALE name, which the
// kernel uses when it creates the port to answer, as Open of the name
// would create it; other ports are asked with none (the counts could set
// a NIC's host rings). Before, every lookup asked with none: a VALE port
// that the name's "@conf:" would create with several rings was reported
// with the kernel's defaults.
func TestPortInfoConf(t *testing.T) {
	for _, c := range []struct {
		name string
		want *abi.ReqPortInfoGet
	}{
		{"vale0:a@conf:rx-rings=1,tx-rings=2,tx-slots=512", &abi.ReqPortInfoGet{TxRings: 2, RxRings: 1, TxSlots: 512}},
		{"vale0:a-1@conf:rings=4,host-rings=2,slots=256", &abi.ReqPortInfoGet{TxRings: 4, RxRings: 4, HostTxRings: 2, HostRxRings: 2, TxSlots: 256, RxSlots: 256}},
		{"vale0:a", &abi.ReqPortInfoGet{}},
		{"netmap:eth0@conf:host-rings=2", nil},
		{"netmap:p{1@conf:rings=2", nil},
	} {
		n, err := ParseName(c.name)
		if err != nil {
			t.Fatal(err)
		}
		got, err := portInfoConf(n)
		if err != nil || (got == nil) != (c.want == nil) || got != nil && *got != *c.want {
			t.Errorf("%s: %+v, %v; want %+v", c.name, got, err, c.want)
		}
	}
}
