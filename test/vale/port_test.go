package vale_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nmgo/nmgo/internal/abi"
	"github.com/nmgo/nmgo/internal/nmtest"
	"github.com/nmgo/nmgo/nmsys"
)

// TestOpenVALE registers an ephemeral VALE port and checks Info against
// what the kernel says (PORT_INFO_GET, POOLS_INFO_GET and the ring headers).
func TestOpenVALE(t *testing.T) {
	p := open(t, "vale0:a", &nmsys.Config{TxSlots: 512, RxSlots: 256})
	in := p.Info()
	t.Logf("info: %+v", in)
	if in.Name != "vale0:a" || in.TxRings != 1 || in.RxRings != 1 || in.TxSlots != 512 || in.RxSlots != 256 {
		t.Errorf("unexpected info %+v", in)
	}
	if in.FirstTx != 0 || in.LastTx != 1 || in.FirstRx != 0 || in.LastRx != 1 {
		t.Errorf("bound rings tx [%d,%d) rx [%d,%d), want [0,1) each", in.FirstTx, in.LastTx, in.FirstRx, in.LastRx)
	}
	if !in.PrivateMem || in.BufSize != 2048 || in.MemSize != len(p.Mem()) || in.MemID == 0 {
		t.Errorf("memory: %+v", in)
	}
	pi, err := nmsys.LookupPortInfo("vale0:a")
	if err != nil {
		t.Fatal(err)
	}
	if pi.MemID != in.MemID || pi.MemSize != in.MemSize || pi.TxSlots != in.TxSlots || pi.RxSlots != in.RxSlots ||
		pi.TxRings != in.TxRings || pi.RxRings != in.RxRings {
		t.Errorf("PORT_INFO_GET %+v disagrees with Info %+v", pi, in)
	}
	pools, err := nmsys.LookupPools("vale0:a")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("pools: %+v", pools)
	if pools.BufCount != in.BufCount || pools.BufSize != in.BufSize || pools.MemSize != in.MemSize {
		t.Errorf("POOLS_INFO_GET %+v disagrees with Info %+v", pools, in)
	}
	tx, rx := txRing(t, p, 0), rxRing(t, p, 0)
	if tx.numSlots() != 512 || rx.numSlots() != 256 {
		t.Errorf("ring headers: tx %d rx %d slots", tx.numSlots(), rx.numSlots())
	}
	if tx.head() != 0 || tx.tail() != 511 || rx.head() != 0 || rx.tail() != 0 {
		t.Errorf("initial cursors: tx head %d tail %d, rx head %d tail %d", tx.head(), tx.tail(), rx.head(), rx.tail())
	}
}

// TestLookupPortInfoConf: a VALE port that does not exist is reported with
// the counts of the name's "@conf:", as the open of that name would create
// it (the kernel creates the port to answer with the request's counts); an
// existing port with its own.
func TestLookupPortInfoConf(t *testing.T) {
	nmtest.Require(t)
	pi, err := nmsys.LookupPortInfo("vale0:lkc-1@conf:rx-rings=1,tx-rings=2,tx-slots=512")
	if err != nil {
		t.Fatal(err)
	}
	if pi.TxRings != 2 || pi.RxRings != 1 || pi.TxSlots != 512 {
		t.Errorf("a port that @conf creates: %+v, want 2 TX rings of 512 slots, 1 RX ring", pi)
	}
	p := open(t, "vale0:lkd", nil)
	in := p.Info()
	pi, err = nmsys.LookupPortInfo("vale0:lkd@conf:rings=3,slots=128")
	if err != nil {
		t.Fatal(err)
	}
	if pi.TxRings != in.TxRings || pi.RxRings != in.RxRings || pi.TxSlots != in.TxSlots || pi.RxSlots != in.RxSlots {
		t.Errorf("an existing port: %+v, want its own counts %+v", pi, in)
	}
}

// TestVALEFrameByteExact writes frames of several sizes into TX slots of
// one VALE port and reads them back byte-exact on another.
func TestVALEFrameByteExact(t *testing.T) {
	a := open(t, "vale1:a", nil)
	b := open(t, "vale1:b", nil)
	var want [][]byte
	for i, n := range []int{60, 64, 128, 1000, 1514} {
		want = append(want, frame(n, uint32(i)))
	}
	send(t, a, 0, want...)
	got := recv(t, b, 0, len(want), 2*time.Second)
	if len(got) != len(want) {
		t.Fatalf("received %d frames, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Errorf("frame %d (%d bytes) differs: got %d bytes", i, len(want[i]), len(got[i]))
		}
	}
	// Nothing comes back to the sender.
	if back := recv(t, a, 0, 1, 50*time.Millisecond); len(back) != 0 {
		t.Errorf("sender received %d frames", len(back))
	}
}

// TestPipePair opens both ends of a netmap pipe and moves a frame each way.
func TestPipePair(t *testing.T) {
	parent := uniq("pp")
	m := open(t, "netmap:"+parent+"{1", nil)
	s := open(t, "netmap:"+parent+"}1", nil)
	if m.Info().MemID != s.Info().MemID {
		t.Errorf("pipe ends in different regions: %d, %d", m.Info().MemID, s.Info().MemID)
	}
	f1, f2 := frame(200, 1), frame(1400, 2)
	send(t, m, 0, f1)
	if got := recv(t, s, 0, 1, 2*time.Second); len(got) != 1 || !bytes.Equal(got[0], f1) {
		t.Fatalf("master->slave: got %d frames", len(got))
	}
	send(t, s, 0, f2)
	if got := recv(t, m, 0, 1, 2*time.Second); len(got) != 1 || !bytes.Equal(got[0], f2) {
		t.Fatalf("slave->master: got %d frames", len(got))
	}
}

// TestPersistentVALE creates a persistent VALE interface, attaches it,
// finds it in the switch list, detaches and deletes it; then registers a
// second one attached to a switch and moves a frame into it.
func TestPersistentVALE(t *testing.T) {
	nmtest.Require(t)
	ifn := uniq("nmv")
	if _, err := nmsys.ValeNewIf(ifn, &nmsys.Config{TxSlots: 256, RxSlots: 256}); err != nil {
		t.Fatalf("ValeNewIf: %v", err)
	}
	// Creating it twice is refused.
	if _, err := nmsys.ValeNewIf(ifn, nil); !errors.Is(err, syscall.EEXIST) {
		t.Errorf("second ValeNewIf: %v, want EEXIST", err)
	}
	name := "vale5:" + ifn
	idx, err := nmsys.ValeAttach(name, false)
	if err != nil {
		t.Fatalf("ValeAttach: %v", err)
	}
	list, err := nmsys.ValeList()
	if err != nil {
		t.Fatalf("ValeList: %v", err)
	}
	found := false
	for _, vp := range list {
		if vp.Name == name && vp.Port == idx {
			found = true
		}
	}
	if !found {
		t.Errorf("ValeList %+v lacks %s at %d", list, name, idx)
	}
	if vp, ok, err := nmsys.ValeLookup(name); err != nil || !ok || vp.Port != idx {
		t.Errorf("ValeLookup = %+v, %v, %v", vp, ok, err)
	}
	if vc := os.Getenv("NMTEST_VALECTL"); vc != "" {
		out, _ := exec.Command(vc).CombinedOutput()
		if !strings.Contains(string(out), name) {
			t.Errorf("vale-ctl does not list %s:\n%s", name, out)
		}
	}
	if got, err := nmsys.ValeDetach(name); err != nil || got != idx {
		t.Fatalf("ValeDetach = %d, %v; want %d", got, err, idx)
	}
	if _, ok, _ := nmsys.ValeLookup(name); ok {
		t.Errorf("%s still attached after detach", name)
	}
	if err := nmsys.ValeDelIf(ifn); err != nil {
		t.Fatalf("ValeDelIf: %v", err)
	}
	if err := nmsys.ValeDelIf(ifn); !errors.Is(err, syscall.ENXIO) {
		t.Errorf("second ValeDelIf = %v, want ENXIO", err)
	}

	// Registering an attached persistent port. netmap renames the switch
	// port to the bare interface name once it has been registered, after
	// which VALE_DETACH of "valeX:if" answers ENXIO (netmap's own vale-ctl
	// and pkt-gen behave the same), so this one is left attached.
	ifn2 := uniq("nmw")
	if _, err := nmsys.ValeNewIf(ifn2, &nmsys.Config{TxSlots: 256, RxSlots: 256}); err != nil {
		t.Fatalf("ValeNewIf: %v", err)
	}
	name2 := "vale5:" + ifn2
	if _, err := nmsys.ValeAttach(name2, false); err != nil {
		t.Fatalf("ValeAttach: %v", err)
	}
	p, err := nmsys.Open(name2, nil)
	if err != nil {
		t.Fatalf("Open(%s): %v", name2, err)
	}
	defer p.Close()
	if in := p.Info(); in.TxSlots != 256 || in.RxSlots != 256 {
		t.Errorf("persistent port info %+v", in)
	}
	peer := open(t, "vale5:peer", nil)
	f := frame(300, 9)
	send(t, peer, 0, f)
	if got := recv(t, p, 0, 1, 2*time.Second); len(got) != 1 || !bytes.Equal(got[0], f) {
		t.Errorf("persistent port got %d frames", len(got))
	}
}

// TestHostRings registers the host rings, the NIC and host rings together,
// and one NIC ring pair of an emulated (virtio) interface.
func TestHostRings(t *testing.T) {
	nmtest.Require(t)
	dev := ""
	for _, d := range []string{"eth0", "eth1"} {
		if _, err := os.Stat("/sys/class/net/" + d); err == nil {
			dev = d
			break
		}
	}
	if dev == "" {
		if nmtest.Required() {
			t.Fatal("no ethN device in the VM: the runner should give it virtio NICs")
		}
		t.Skip("no network device for host rings")
	}
	cases := []struct {
		suffix         string
		txFirst, txEnd func(nmsys.Info) int
	}{
		{"^", func(i nmsys.Info) int { return i.TxRings }, func(i nmsys.Info) int { return i.TxRings + i.HostTxRings }},
		{"*", func(i nmsys.Info) int { return 0 }, func(i nmsys.Info) int { return i.TxRings + i.HostTxRings }},
		{"-0", func(i nmsys.Info) int { return 0 }, func(i nmsys.Info) int { return 1 }},
	}
	for _, c := range cases {
		t.Run(c.suffix, func(t *testing.T) {
			p, err := nmsys.Open("netmap:"+dev+c.suffix, nil)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer p.Close()
			in := p.Info()
			t.Logf("%s%s: %+v", dev, c.suffix, in)
			if in.FirstTx != c.txFirst(in) || in.LastTx != c.txEnd(in) {
				t.Errorf("bound tx [%d,%d), want [%d,%d)", in.FirstTx, in.LastTx, c.txFirst(in), c.txEnd(in))
			}
			if in.IfName != dev {
				t.Errorf("IfName %q", in.IfName)
			}
			if err := p.TxSync(); err != nil {
				t.Error(err)
			}
			if err := p.RxSync(); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestExclusiveBusy: a second exclusive registration of the same rings
// fails with EBUSY, naming the port and the operation.
func TestExclusiveBusy(t *testing.T) {
	open(t, "vale2:x/x", nil)
	p, err := nmsys.Open("vale2:x/x", nil)
	if err == nil {
		p.Close()
		t.Fatal("second exclusive Open succeeded")
	}
	if !errors.Is(err, syscall.EBUSY) {
		t.Fatalf("err = %v, want EBUSY", err)
	}
	if !strings.Contains(err.Error(), `register "vale2:x/x"`) {
		t.Errorf("error does not name the operation and port: %v", err)
	}
	t.Logf("error: %v", err)
}

// TestOpenErrors: a missing interface and a bad name give clear errors.
func TestOpenErrors(t *testing.T) {
	nmtest.Require(t)
	_, err := nmsys.Open("netmap:nosuchif9", nil)
	if err == nil || !errors.Is(err, syscall.ENXIO) || !strings.Contains(err.Error(), "nosuchif9") {
		t.Errorf("missing interface: %v", err)
	}
	_, err = nmsys.Open("vale0:", nil)
	if !errors.Is(err, nmsys.ErrBadName) {
		t.Errorf("bad name: %v", err)
	}
	_, err = nmsys.Open("vale0:c", &nmsys.Config{TxOnly: true, RxOnly: true})
	if err == nil {
		t.Error("TxOnly+RxOnly accepted")
	}
}

// TestWaitRxWakeup blocks in WaitRx through the netpoller and is woken by
// a frame sent from another port.
func TestWaitRxWakeup(t *testing.T) {
	for _, cfg := range []*nmsys.Config{nil, {RxOnly: true, NoTxPoll: true}, {ThreadWait: true}} {
		rxp := open(t, "vale3:rx", cfg)
		txp := open(t, "vale3:tx", nil)
		const n = 50
		for i := range n {
			done := make(chan error, 1)
			go func() { done <- rxp.WaitRx() }()
			time.Sleep(time.Duration(i%5) * time.Millisecond)
			send(t, txp, 0, frame(60, uint32(i)))
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("WaitRx %d: %v", i, err)
				}
			case <-time.After(3 * time.Second):
				t.Fatalf("WaitRx %d did not wake", i)
			}
			if got := recv(t, rxp, 0, 1, time.Second); len(got) != 1 {
				t.Fatalf("frame %d: woke but %d frames", i, len(got))
			}
		}
		rxp.Close()
		txp.Close()
	}
}

// TestWaitDeadline: WaitRx and WaitTx honour deadlines.
func TestWaitDeadline(t *testing.T) {
	for _, cfg := range []*nmsys.Config{nil, {ThreadWait: true}} {
		waitDeadline(t, cfg)
	}
}

func waitDeadline(t *testing.T, cfg *nmsys.Config) {
	p := open(t, "vale4:d", cfg)
	defer p.Close()
	p.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	start := time.Now()
	err := p.WaitRx()
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("WaitRx = %v, want deadline exceeded", err)
	}
	if d := time.Since(start); d < 40*time.Millisecond || d > 2*time.Second {
		t.Errorf("WaitRx returned after %v", d)
	}
	// A past deadline returns at once; clearing it lets WaitTx find space.
	p.SetReadDeadline(time.Unix(1, 0))
	if err := p.WaitRx(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("past deadline: %v", err)
	}
	p.SetDeadline(time.Time{})
	if err := p.WaitTx(); err != nil {
		t.Errorf("WaitTx on an empty VALE ring: %v", err)
	}
}

// TestCloseWhileWaiting: Close wakes a goroutine blocked in WaitRx, which
// returns ErrClosed within 100 ms, and leaves no fd or mapping behind.
func TestCloseWhileWaiting(t *testing.T) {
	nmtest.Require(t)
	fds, maps := fdCount(t), netmapMappings(t)
	for i := range 10 {
		var cfg *nmsys.Config
		if i%2 == 1 {
			cfg = &nmsys.Config{ThreadWait: true}
		}
		p, err := nmsys.Open("vale6:w", cfg)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- p.WaitRx() }()
		time.Sleep(20 * time.Millisecond) // let it block in the netpoller (or poll(2))
		start := time.Now()
		if err := p.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		select {
		case err := <-done:
			if d := time.Since(start); d > 100*time.Millisecond {
				t.Errorf("round %d: WaitRx returned %v after Close", i, d)
			}
			if !errors.Is(err, nmsys.ErrClosed) || !errors.Is(err, os.ErrClosed) {
				t.Errorf("round %d: WaitRx = %v, want ErrClosed", i, err)
			}
		case <-time.After(100 * time.Millisecond):
			t.Fatalf("round %d: WaitRx still blocked 100ms after Close", i)
		}
		if err := p.Close(); !errors.Is(err, nmsys.ErrClosed) {
			t.Errorf("second Close = %v", err)
		}
		if err := p.TxSync(); !errors.Is(err, nmsys.ErrClosed) {
			t.Errorf("TxSync after Close = %v", err)
		}
	}
	if got := fdCount(t); got != fds {
		t.Errorf("fds: %d before, %d after", fds, got)
	}
	if got := netmapMappings(t); got != maps {
		t.Errorf("netmap mappings: %d before, %d after", maps, got)
	}
}

// TestPollRx: PollRx, the thread-blocking wait, wakes on a frame, times
// out on an empty ring, returns ErrClosed soon after Close, and does not
// allocate.
func TestPollRx(t *testing.T) {
	rxp := open(t, "vale16:rx", nil)
	txp := open(t, "vale16:tx", nil)
	start := time.Now()
	if err := rxp.PollRx(50 * time.Millisecond); err != nil {
		t.Fatalf("PollRx on an empty ring: %v", err)
	}
	if d := time.Since(start); d < 40*time.Millisecond || d > 2*time.Second {
		t.Errorf("PollRx(50ms) on an empty ring returned after %v", d)
	}
	for i := range 50 {
		done := make(chan error, 1)
		go func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			done <- rxp.PollRx(5 * time.Second)
		}()
		time.Sleep(time.Duration(i%5) * time.Millisecond)
		send(t, txp, 0, frame(60, uint32(i)))
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("PollRx %d: %v", i, err)
			}
		case <-time.After(3 * time.Second):
			t.Fatalf("PollRx %d did not wake", i)
		}
		if got := recv(t, rxp, 0, 1, time.Second); len(got) != 1 {
			t.Fatalf("frame %d: woke but %d frames", i, len(got))
		}
	}
	if n := testing.AllocsPerRun(100, func() { _ = rxp.PollRx(0) }); n != 0 {
		t.Errorf("PollRx(0): %v allocations per run", n)
	}
	if err := txp.PollRx(-1); err != nil {
		t.Errorf("PollRx(-1) = %v, want nil (sync only)", err)
	}
	done := make(chan error, 1)
	go func() { done <- rxp.PollRx(time.Minute) }()
	time.Sleep(20 * time.Millisecond)
	closed := time.Now()
	if err := rxp.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, nmsys.ErrClosed) {
			t.Errorf("PollRx after Close = %v, want ErrClosed", err)
		}
		if d := time.Since(closed); d > 100*time.Millisecond {
			t.Errorf("PollRx returned %v after Close", d)
		}
	case <-time.After(time.Second):
		t.Fatal("PollRx still blocked 1s after Close")
	}
}

// TestCloseSharedRegion closes the Port whose descriptor made a memory
// region's mapping while another Port of the region stays open: the
// kernel must release the closed Port at once (its VALE port leaves the
// switch, its exclusive claim ends), not when the last Port of the region
// closes.
func TestCloseSharedRegion(t *testing.T) {
	nmtest.Require(t)
	a, err := nmsys.Open("vale31:a/x", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := nmsys.Open("vale31:b", &nmsys.Config{MemID: a.Info().MemID})
	if err != nil {
		a.Close()
		t.Fatal(err)
	}
	defer b.Close()
	if &a.Mem()[0] != &b.Mem()[0] {
		t.Fatalf("ports of memory region %d do not share one mapping", a.Info().MemID)
	}
	rx, err := b.RxRing(0)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("close a: %v", err)
	}
	if _, ok, err := nmsys.ValeLookup("vale31:a"); err != nil || ok {
		t.Errorf("after a.Close: vale31:a still a port of vale31: %v (%v)", ok, err)
	}
	a2, err := nmsys.Open("vale31:a/x", nil)
	if err != nil {
		t.Errorf("reopen vale31:a/x after Close: %v", err)
	} else {
		a2.Close()
	}
	// b's mapping, remade through b's descriptor, still works.
	c := open(t, "vale31:c", nil)
	send(t, c, 0, frame(60, 7))
	if got := recv(t, b, 0, 1, 5*time.Second); len(got) != 1 || !bytes.Equal(got[0], frame(60, 7)) {
		t.Errorf("b received %d frames after a.Close, want the one sent", len(got))
	}
	if err := rx.Reset(); err != nil {
		t.Errorf("b's ring view after a.Close: %v", err)
	}
}

// TestOpenAdmodeNative opens a NIC without a native netmap driver while
// the module accepts only native adapters (admode=1): the kernel refuses
// with EOPNOTSUPP, which is not an API version mismatch.
func TestOpenAdmodeNative(t *testing.T) {
	nmtest.Require(t)
	const param = "/sys/module/netmap/parameters/admode"
	old, err := os.ReadFile(param)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(param, []byte("1"), 0); err != nil {
		t.Fatal(err)
	}
	defer os.WriteFile(param, old, 0)
	p, err := nmsys.Open("netmap:eth1", nil)
	if err == nil {
		p.Close()
		t.Fatal("eth1 (virtio, emulated adapter) registered with admode=1")
	}
	t.Logf("Open netmap:eth1 with admode=1: %v", err)
	if errors.Is(err, nmsys.ErrAPIVersion) {
		t.Errorf("native-only refusal reported as an API version problem: %v", err)
	}
	if !errors.Is(err, syscall.EOPNOTSUPP) || !strings.Contains(err.Error(), "admode") {
		t.Errorf("want the register error EOPNOTSUPP with a hint about admode, got %v", err)
	}
}

// TestExtraBufsAfterClose uses an extra-buffer pool after its Port
// closed, with no ring view taken: the pool must not fault.
func TestExtraBufsAfterClose(t *testing.T) {
	nmtest.Require(t)
	if os.Getenv("NMGO_EXTRA_CHILD") == "1" {
		p, err := nmsys.Open("vale32:a", &nmsys.Config{ExtraBuffers: 8})
		if err != nil {
			t.Fatal(err)
		}
		x, err := p.ExtraBuffers()
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("extra buffers: %d", x.Len())
		p.Close()
		idx, err := x.Get()
		t.Logf("Get after Close: %d, %v", idx, err)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestExtraBufsAfterClose$", "-test.v")
	cmd.Env = append(os.Environ(), "NMGO_EXTRA_CHILD=1")
	out, err := cmd.CombinedOutput()
	t.Logf("child: %v\n%s", err, out)
	if err != nil {
		t.Errorf("ExtraBufs.Get after Port.Close: child failed: %v", err)
	}
}

// TestPollRxRingMisuse: an RX head the kernel rejects (in range, but past
// tail) is reported by netmap only through poll's POLLERR (the sync ioctl
// returns 0, and the ring keeps its cursors): PollRx and RxPair.Poll must
// return that as an error naming the ring's cursors, not sleep until their
// timeout and return nil. netmap reports it once per port (a WaitRx, which
// syncs before it polls, never sees it), so each case has a port of its
// own.
func TestPollRxRingMisuse(t *testing.T) {
	nmtest.Require(t)
	q := open(t, "vale33:q", nil)
	for _, c := range []struct {
		name string
		f    func(p *nmsys.Port) error
	}{
		{"PollRx", func(p *nmsys.Port) error { return p.PollRx(300 * time.Millisecond) }},
		{"RxPair.Poll", func(p *nmsys.Port) error {
			pair, err := nmsys.NewRxPair(q, p)
			if err != nil {
				return err
			}
			return pair.Poll(300 * time.Millisecond)
		}},
	} {
		p := open(t, "vale33:"+strings.ReplaceAll(c.name, ".", ""), &nmsys.Config{ThreadWait: true})
		rx := rxRing(t, p, 0)
		rx.put32(abi.RingHead, 5) // empty ring: hwcur = hwtail = 0, cur 0
		err := c.f(p)
		t.Logf("%s: %v (now head %d cur %d tail %d)", c.name, err, rx.head(), rx.u32(abi.RingCur), rx.tail())
		if err == nil || !strings.Contains(err.Error(), "POLLERR") || !strings.Contains(err.Error(), "head 5") {
			t.Errorf("%s with RX head 5 on an empty ring = %v, want a POLLERR error naming head 5", c.name, err)
		}
		rx.setHead(0)
		if err := p.PollRx(0); err != nil {
			t.Errorf("%s: PollRx after head is back at 0: %v", c.name, err)
		}
	}
}
