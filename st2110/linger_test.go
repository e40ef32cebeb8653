package st2110

import (
	"strings"
	"testing"
	"time"

	"github.com/nmgo/nmgo/internal/heapmem"
	"github.com/nmgo/nmgo/rings"
)

// pacedKernel is the kernel side of a heap RX ring fed by a paced sender,
// in virtual time: the sender puts a burst of packets in the ring every
// gap. A reader that finds the ring empty sleeps until the next burst
// (one wake-up, as poll(2) is woken by the sender's TX sync on VALE); a
// reader that lingers (after a partial batch, as nmsys.Idler and
// xsk.Idler do with Linger set) lets linger bursts gather meanwhile. The
// sender stops after total packets, and the reader with it once it has
// taken them all.
type pacedKernel struct {
	tx           *heapTx
	rx           *rings.RxRing
	rxReg        *heapmem.Region
	burst, total int
	linger       int // bursts; 0: no linger

	sent, wakes, lingers int
}

// send has the sender put n more bursts in the ring, as far as total.
func (k *pacedKernel) send(t *testing.T, bursts int) {
	n := min(bursts*k.burst, k.total-k.sent)
	if n <= 0 {
		return
	}
	if got, err := k.tx.Reserve(n); err != nil || got != n {
		t.Errorf("reserve %d: %d, %v", n, got, err) // from the reader's goroutine: no Fatal
		return
	}
	k.tx.SetLens(n, 60)
	k.tx.Publish(n)
	if err := k.tx.reg.TxSync(0); err != nil {
		t.Error(err)
		return
	}
	k.sent += n
}

// pacedReader returns a ringReader of batch packets a ring over k's ring,
// lingering for that many bursts (0: none), and its kernel.
func pacedReader(t *testing.T, batch, burst, total, bursts int) (*ringReader, *pacedKernel) {
	q, tr := heapLink(t, 1024)
	k := &pacedKernel{tx: q, rx: tr.rd.rings[0].(*rings.RxRing), rxReg: tr.k.reg, burst: burst, total: total, linger: bursts}
	rd := tr.rd
	rd.batch = batch
	rd.kernel = &pacedNext{k: k, t: t}
	return rd, k
}

// pacedNext is pacedKernel's ringKernel: linger after a partial batch,
// sync; if the ring is empty, wait for the sender's next burst.
type pacedNext struct {
	k *pacedKernel
	t *testing.T
}

func (p *pacedNext) next(took int, full bool, _ uint64, _ int64) error {
	k := p.k
	if k.linger > 0 && took > 0 && !full {
		k.lingers++
		k.send(p.t, k.linger)
	}
	if err := k.rxReg.RxSync(0); err != nil {
		return err
	}
	if k.rx.Pending() > 0 {
		return nil
	}
	if k.sent == k.total {
		return errRingClosed
	}
	k.wakes++
	k.send(p.t, 1)
	return k.rxReg.RxSync(0)
}

// TestLingerGathers: the receive loop tells its kernel side whether a
// pass filled its batch, so that a side that lingers after a partial one
// lets the sender's bursts gather into batches, where one that waits at
// once is woken for every burst; after a pass that filled its batch (a
// ring gave batch packets) it does not linger (more is waiting); every
// packet is taken either way.
func TestLingerGathers(t *testing.T) {
	sess := session("10.0.0.1", flow(fmtSD, "239.1.1.1:5004", ""))
	const burst, lingers = 6, 100
	const total = burst * (1 + 5*lingers) // a first burst, then 5 a linger
	for _, c := range []struct {
		name          string
		batch, linger int // linger in bursts
		// Expected, from the model: passes that took packets, wake-ups,
		// lingers.
		passes, wakes, lingers int
	}{
		{"none", 512, 0, total / burst, total / burst, 0},
		// One burst wakes the reader, then 5 bursts gather in each linger.
		{"5 bursts", 512, 5, 1 + lingers, 1, 1 + lingers},
		// A linger brings 30 packets to a batch of 16: a full pass (no
		// linger), then a partial one of 14 (a linger).
		{"5 bursts, batch 16", 16, 5, 1 + 2*lingers, 1, 1 + lingers},
	} {
		t.Run(c.name, func(t *testing.T) {
			rd, k := pacedReader(t, c.batch, burst, total, c.linger)
			rx, err := newReceiver("vale0:heap", sess, nil)
			if err != nil {
				t.Fatal(err)
			}
			k.send(t, 1) // the first burst is there when the reader starts
			k.wakes = 0
			if err := rx.start(&oneReader{rd}); err != nil {
				t.Fatal(err)
			}
			<-rx.Done() // the model closes the rings once all is taken
			rx.Close()
			k.wakes++ // the first burst's
			if got := rx.Other(); got != total {
				t.Errorf("took %d packets, want %d", got, total)
			}
			passes := int(rx.Batches())
			if passes != c.passes || k.wakes != c.wakes || k.lingers != c.lingers {
				t.Errorf("%d passes, %d wake-ups, %d lingers; want %d, %d, %d", passes, k.wakes, k.lingers, c.passes, c.wakes, c.lingers)
			}
			t.Logf("%.1f packets a pass, %d wake-ups for %d packets", float64(total)/float64(passes), k.wakes, total)
		})
	}
}

// TestListenLingerConfig: Listen refuses a negative Linger, one beyond
// MaxLinger, one with Passthrough and one with a capture, naming the
// field, and takes one for a netmap port, UDP sockets or an AF_XDP
// socket.
func TestListenLingerConfig(t *testing.T) {
	sess := session("10.0.0.1", flow(fmtSD, "239.1.1.1:5004", ""))
	for _, d := range []time.Duration{-time.Microsecond, MaxLinger + 1} {
		if _, err := newReceiver("vale0:x", sess, &ListenConfig{Linger: d}); err == nil || !strings.Contains(err.Error(), "ListenConfig") {
			t.Errorf("Linger %v: %v", d, err)
		}
	}
	if _, err := newReceiver("netmap:eth0", sess, &ListenConfig{Linger: MaxLinger, Passthrough: true}); err == nil || !strings.Contains(err.Error(), "Linger") {
		t.Errorf("Linger with Passthrough: %v", err)
	}
	for _, name := range []string{"vale0:x", "udp", "udp:lo", "xdp:eth0"} {
		if _, err := newReceiver(name, sess, &ListenConfig{Linger: MaxLinger}); err != nil {
			t.Errorf("%s: Linger %v: %v", name, MaxLinger, err)
		}
	}
	// A capture, on either path, is read, not waited for: nothing to
	// gather.
	for _, c := range []struct{ name, second string }{{"pcap:x.pcap", ""}, {"udp", "pcap:y.pcap"}, {"pcap:x.pcap", "pcap:y.pcap"}} {
		_, err := newReceiver(c.name, sess, &ListenConfig{Linger: 100 * time.Microsecond, Second: c.second})
		if err == nil || !strings.Contains(err.Error(), "ListenConfig.Linger with a capture") {
			t.Errorf("%s, second path %q: Linger: %v", c.name, c.second, err)
		}
	}
}
