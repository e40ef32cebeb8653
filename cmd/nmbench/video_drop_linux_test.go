//go:build linux

package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fmt512x128 has frames of 163,840 octets: more than a pipe holds (64 KiB),
// so that vrx writing one to a FIFO nobody reads is stuck in the write.
const fmt512x128 = "sampling=YCbCr-4:2:2; width=512; height=128; depth=10; exactframerate=25"

// A frame vrx drops because it holds every buffer of its stream counts
// toward -frames. vrx -frames 6 -frame-buffers 1 writes -out to a FIFO
// that the test reads only once vtx has sent its 6 frames and vrx's socket
// is empty: the first frame holds the one buffer, stuck in its write, and
// the frames completed meanwhile are dropped. vrx once waited for frames
// to replace them that never came, until -t or a signal (here the test's
// deadline); it must end once the 6 frames are taken or dropped.
func TestVrxDroppedFramesEndRun(t *testing.T) {
	const frames = 6
	tx, rx, got, deadline := stuckVrx(t, frames, frames, 1)
	if tx.Frames != frames || tx.PacketsPerFrame <= 8 {
		t.Fatalf("vtx: %+v", tx)
	}
	if deadline {
		t.Fatalf("vrx ran until the test's deadline: it waited for frames it had dropped: %+v", rx)
	}
	if len(rx.Streams) != 1 {
		t.Fatalf("vrx: %+v", rx)
	}
	s := rx.Streams[0]
	t.Logf("vrx: %d frames taken, %d dropped, %d complete, %d packets", s.Frames, s.Dropped, s.Complete, s.Packets)
	// Frames 2 to 5 were completed while frame 1 was stuck in its write:
	// dropped. Frame 6 may have been completed after the write went on.
	if s.Frames+s.Dropped != frames || s.Dropped < frames-2 || s.Complete != frames || s.Lost != 0 {
		t.Errorf("vrx: want %d frames taken or dropped, at least %d dropped: %+v", frames, frames-2, s)
	}
	if want := int(s.Frames) * 163840; len(got) != want {
		t.Errorf("-out: %d octets, want %d (%d frames)", len(got), want, s.Frames)
	}
}

// waitUDPEmpty waits until the receive queue of the UDP socket bound to
// port is empty (rx_queue, after the colon of the fifth field of
// /proc/self/net/udp).
func waitUDPEmpty(t *testing.T, port string) {
	t.Helper()
	p, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if fs := procUDP(t, p); fs != nil {
			if _, rxq, ok := strings.Cut(fs[4], ":"); ok && strings.Trim(rxq, "0") == "" {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the socket of port %d still holds datagrams after 20 s", p)
		}
	}
}

// TestVrxWritesFrameQueuedBeforeDrops: with two frame buffers and -out a
// FIFO read only at the end, vrx holds frame 1 (writing it), frame 2 waits
// in the second buffer, and frames 3 to 12 are dropped. Frames 1 to 6 are
// the stream's first -frames 6: vrx must write frames 1 and 2 and count 3
// to 6 as dropped; judged by the drops of the moment (10) it skipped
// frame 2.
func TestVrxWritesFrameQueuedBeforeDrops(t *testing.T) {
	const want, sent = 6, 12
	_, rx, got, deadline := stuckVrx(t, want, sent, 2)
	if deadline || len(rx.Streams) != 1 {
		t.Fatalf("vrx ran until the test's deadline (%v) or without its stream: %+v", deadline, rx)
	}
	s := rx.Streams[0]
	t.Logf("vrx: %d frames taken, %d dropped, %d complete; -out %d frames", s.Frames, s.Dropped, s.Complete, len(got)/163840)
	if s.Frames != 2 || len(got) != 2*163840 {
		t.Errorf("vrx took %d frame(s) and wrote %d octets, want frames 1 and 2 (2 x 163840): frame 2 was queued in the second buffer before any drop", s.Frames, len(got))
	}
}

// stuckVrx runs vrx -frames want -frame-buffers buffers with -out a FIFO
// that is read only once vtx has sent sent frames and vrx's socket is
// empty, so that vrx holds a buffer stuck in its first write while the
// frames completed meanwhile find none free. It returns both reports,
// what vrx wrote, and whether vrx ran until the test's deadline.
func stuckVrx(t *testing.T, want, sent, buffers int) (tx, rx videoReport, got []byte, deadline bool) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out")
	if err := syscall.Mkfifo(out, 0o600); err != nil {
		t.Fatal(err)
	}
	// Open the FIFO's reading end first, without blocking, so that vrx's
	// open for writing does not block; read it only later.
	fifo, err := os.OpenFile(out, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer fifo.Close()
	port := freeUDPPort(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// -b 8: the socket is read 8 datagrams at a time, fewer than a
	// frame's packets, so that an empty socket (below) means every frame
	// but the last was completed.
	done := goCLI(ctx, "-i", "udp:127.0.0.1:"+port, "-f", "vrx", "-fmt", fmt512x128, "-frames", strconv.Itoa(want),
		"-frame-buffers", strconv.Itoa(buffers), "-b", "8", "-out", out)
	waitUDPBound(t, port)
	tx = runCLI(t, ctx, "-i", "udp:127.0.0.1:"+port, "-f", "vtx", "-fmt", fmt512x128, "-frames", strconv.Itoa(sent), "-R", "50000")
	waitUDPEmpty(t, port)
	if got, err = io.ReadAll(fifo); err != nil {
		t.Fatal(err)
	}
	rx = (<-done).report(t)
	return tx, rx, got, ctx.Err() != nil
}
