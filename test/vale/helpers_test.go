package vale_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nmgo/nmgo/internal/abi"
	"github.com/nmgo/nmgo/internal/nmtest"
	"github.com/nmgo/nmgo/nmsys"
)

// rawRing reads and writes a netmap ring through the byte offsets of
// internal/abi. It exists so the foundation tests do not depend on the
// rings package they are the foundation of; the sync ioctls order these
// plain accesses against the kernel.
type rawRing struct {
	mem []byte
	off int
}

func (r rawRing) u32(field int) uint32 { return binary.LittleEndian.Uint32(r.mem[r.off+field:]) }
func (r rawRing) put32(field int, v uint32) {
	binary.LittleEndian.PutUint32(r.mem[r.off+field:], v)
}
func (r rawRing) numSlots() uint32 { return r.u32(abi.RingNumSlots) }
func (r rawRing) bufSize() int     { return int(r.u32(abi.RingBufSize)) }
func (r rawRing) head() uint32     { return r.u32(abi.RingHead) }
func (r rawRing) tail() uint32     { return r.u32(abi.RingTail) }
func (r rawRing) next(i uint32) uint32 {
	if i+1 == r.numSlots() {
		return 0
	}
	return i + 1
}
func (r rawRing) slotOff(i uint32) int { return r.off + abi.RingSlots + int(i)*abi.SlotSize }
func (r rawRing) slotBuf(i uint32) []byte {
	so := r.slotOff(i)
	idx := binary.LittleEndian.Uint32(r.mem[so+abi.SlotBufIdx:])
	base := r.off + int(int64(binary.LittleEndian.Uint64(r.mem[r.off+abi.RingBufOfs:])))
	start := base + int(idx)*r.bufSize()
	return r.mem[start : start+r.bufSize()]
}
func (r rawRing) slotLen(i uint32) int {
	return int(binary.LittleEndian.Uint16(r.mem[r.slotOff(i)+abi.SlotLen:]))
}
func (r rawRing) setSlotLen(i uint32, n int) {
	binary.LittleEndian.PutUint16(r.mem[r.slotOff(i)+abi.SlotLen:], uint16(n))
}
func (r rawRing) setHead(h uint32) { r.put32(abi.RingCur, h); r.put32(abi.RingHead, h) }

func txRing(t testing.TB, p *nmsys.Port, i int) rawRing {
	t.Helper()
	off, err := p.TxRingOffset(i)
	if err != nil {
		t.Fatal(err)
	}
	return rawRing{p.Mem(), off}
}

func rxRing(t testing.TB, p *nmsys.Port, i int) rawRing {
	t.Helper()
	off, err := p.RxRingOffset(i)
	if err != nil {
		t.Fatal(err)
	}
	return rawRing{p.Mem(), off}
}

// frame builds a broadcast Ethernet frame of n bytes (EtherType 0x88b5,
// local experimental) whose payload encodes seq and a pattern.
func frame(n int, seq uint32) []byte {
	f := make([]byte, n)
	copy(f[0:6], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	copy(f[6:12], []byte{0x02, 0, 0, 0, 0, 0x01})
	f[12], f[13] = 0x88, 0xb5
	binary.BigEndian.PutUint32(f[14:], seq)
	for i := 18; i < n; i++ {
		f[i] = byte(int(seq) + i*7)
	}
	return f
}

// send puts frames into TX ring ring of p and syncs.
func send(t testing.TB, p *nmsys.Port, ring int, frames ...[]byte) {
	t.Helper()
	r := txRing(t, p, ring)
	h := r.head()
	for _, f := range frames {
		if h == r.tail() {
			t.Fatalf("tx ring full")
		}
		copy(r.slotBuf(h), f)
		r.setSlotLen(h, len(f))
		h = r.next(h)
	}
	r.setHead(h)
	if err := p.TxSync(); err != nil {
		t.Fatalf("TxSync: %v", err)
	}
}

// recv collects up to n frames from RX ring ring of p, syncing until they
// arrive or timeout passes.
func recv(t testing.TB, p *nmsys.Port, ring, n int, timeout time.Duration) [][]byte {
	t.Helper()
	r := rxRing(t, p, ring)
	var out [][]byte
	deadline := time.Now().Add(timeout)
	for len(out) < n && time.Now().Before(deadline) {
		if err := p.RxSync(); err != nil {
			t.Fatalf("RxSync: %v", err)
		}
		h := r.head()
		for h != r.tail() && len(out) < n {
			l := r.slotLen(h)
			out = append(out, bytes.Clone(r.slotBuf(h)[:l]))
			h = r.next(h)
		}
		r.setHead(h)
		if len(out) < n {
			time.Sleep(time.Millisecond)
		}
	}
	return out
}

func open(t testing.TB, name string, cfg *nmsys.Config) *nmsys.Port {
	t.Helper()
	nmtest.Require(t)
	p, err := nmsys.Open(name, cfg)
	if err != nil {
		t.Fatalf("Open(%q): %v", name, err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// fdCount and netmapMappings measure leaks from /proc/self.
func fdCount(t testing.TB) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

func netmapMappings(t testing.TB) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "/dev/netmap")
}

// checkTimerSlack fails t if a thread of this process has a timer slack
// other than the one the process started with, or 1 ns: a sender that
// sleeps on its thread sets 1 ns on it and must give it back before the
// runtime may run anything else on it (every process forked from such a
// thread inherits the slack). Call it only while no netmap sender of the
// process runs: a running sender's thread has 1 ns by design.
func checkTimerSlack(t testing.TB) {
	t.Helper()
	if startSlack.err != nil {
		t.Fatalf("the process's timer slack when it started: %v", startSlack.err)
	}
	tids, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	read := 0
	for _, e := range tids {
		got, err := timerSlack(e.Name())
		switch {
		case errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH):
			continue // a thread that has ended
		case err != nil:
			t.Fatalf("thread %s: %v", e.Name(), err) // EPERM without CAP_SYS_NICE: no silent pass
		}
		read++
		if got != startSlack.ns || got == "1" {
			t.Errorf("thread %s has a timer slack of %s ns; the process started with %s ns", e.Name(), got, startSlack.ns)
		}
	}
	if read < 2 {
		t.Fatalf("the timer slack of %d of the process's %d threads read: too few to tell", read, len(tids))
	}
}

// startSlack is the timer slack of the process when it started, in ns.
var startSlack = func() (s struct {
	ns  string
	err error
}) {
	s.ns, s.err = timerSlack(strconv.Itoa(os.Getpid()))
	return s
}()

// timerSlack returns the timer slack of thread tid of this process, in ns.
// It is read from /proc/TID (there is no timerslack_ns under
// /proc/self/task/TID); reading another thread's needs CAP_SYS_NICE.
func timerSlack(tid string) (string, error) {
	b, err := os.ReadFile("/proc/" + tid + "/timerslack_ns")
	return strings.TrimSpace(string(b)), err
}

func uniq(prefix string) string {
	return fmt.Sprintf("%s%d", prefix, time.Now().UnixNano()%100000)
}
