//go:build linux

package netns

import (
	"context"
	"encoding/json"
	"os/exec"
	"testing"
	"time"

	"github.com/nmgo/nmgo/video"
)

// A UDP sender whose socket send buffer stays full: a veth whose queue
// discipline (tbf at 1 octet a second) holds every datagram, so the
// buffer never drains and a send waits for room for good. Its namespace
// and links are named nmsf-*.
const (
	nsFull   = "nmsf-s"
	linkFull = "nmsf-a"
)

func fullBufferTopology(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("tc"); err != nil {
		t.Fatalf("needs tc (iproute2): %v", err)
	}
	_ = exec.Command("ip", "netns", "del", nsFull).Run() // left by a killed run
	run(t, "ip", "netns", "add", nsFull)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", nsFull).Run() })
	run(t, "ip", "-n", nsFull, "link", "add", linkFull, "type", "veth", "peer", "name", "nmsf-b")
	run(t, "ip", "-n", nsFull, "link", "set", linkFull, "up")
	run(t, "ip", "-n", nsFull, "link", "set", "nmsf-b", "up")
	run(t, "ip", "-n", nsFull, "addr", "add", "10.201.0.1/24", "dev", linkFull)
	run(t, "ip", "-n", nsFull, "neigh", "replace", "10.201.0.2", "lladdr", "02:00:00:00:00:02", "dev", linkFull, "nud", "permanent")
	run(t, "ip", "netns", "exec", nsFull, "tc", "qdisc", "add", "dev", linkFull, "root", "tbf", "rate", "8bit", "burst", "2kb", "limit", "256mb")
}

// backlog returns the octets the queue discipline of the full link holds.
func backlog(t *testing.T) uint64 {
	t.Helper()
	var qs []struct{ Backlog uint64 }
	if err := json.Unmarshal([]byte(run(t, "ip", "netns", "exec", nsFull, "tc", "-s", "-j", "qdisc", "show", "dev", linkFull)), &qs); err != nil || len(qs) == 0 {
		t.Fatalf("tc qdisc show: %v", err)
	}
	return qs[0].Backlog
}

// waitFull returns once the sender's datagrams stop reaching the queue
// discipline (its backlog holds and has not moved for a second): the
// socket's send buffer is full and the sender waits for room.
func waitFull(t *testing.T) {
	t.Helper()
	last, since := backlog(t), time.Now()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		b := backlog(t)
		switch {
		case b != last || b == 0:
			last, since = b, time.Now()
		case time.Since(since) >= time.Second:
			return
		}
	}
	t.Fatalf("the send buffer did not fill in 60 s (backlog %d octets)", last)
}

// A sender waiting for room in a full send buffer stops when Run's
// context ends, or when it is closed: Run returns nil (its end with its
// context, as anywhere else) and counts the datagrams of the batch it
// could not send as refused for a full queue (NoBufs). Before, the wait
// in the netpoller did not watch the context, and Run (and Close, which
// waits for Run) waited for the buffer to drain.
func TestUDPSendBufferFull(t *testing.T) {
	need(t)
	f := video.Format{Sampling: video.YCbCr422, Depth: video.Depth10, Width: 640, Height: 480, Scan: video.Progressive, Rate: video.Rate50}
	sess := &video.Session{Name: "full", Streams: []video.Stream{{Format: f, PayloadType: 96}}}
	for _, how := range []string{"context", "Close"} {
		t.Run(how, func(t *testing.T) {
			fullBufferTopology(t)
			tx := dial(t, nsFull, "udp:10.201.0.2:5004", sess, nil)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			errc := make(chan error, 1)
			go func() { errc <- tx.Run(ctx) }()
			waitFull(t)
			stopped := make(chan error, 1)
			if how == "context" {
				cancel()
			} else {
				go func() { stopped <- tx.Close() }()
			}
			select {
			case err := <-errc:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(10 * time.Second):
				// The link's deletion drains the buffer, so that
				// Run, and the Close of the cleanup, end.
				_ = exec.Command("ip", "-n", nsFull, "link", "del", linkFull).Run()
				t.Fatalf("Run did not return within 10 s of its stop (%s) while the send buffer stayed full", how)
			}
			if how == "Close" {
				if err := <-stopped; err != nil {
					t.Errorf("Close: %v", err)
				}
			}
			if st := tx.Stats(0); st.NoBufs == 0 || st.Packets == 0 {
				t.Errorf("%d packets sent, %d refused: the batch cut short is not counted", st.Packets, st.NoBufs)
			}
		})
	}
}
