package packet

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/nmgo/nmgo/internal/heapmem"
)

// TestPcapWriter writes frames and reads them back with pcapgo's reader:
// link type, timestamps (to the microsecond), lengths and snaplen cuts.
func TestPcapWriter(t *testing.T) {
	frames := testFrames(t, 20)
	for _, snap := range []int{0, 100} {
		var buf bytes.Buffer
		w, err := NewPcapWriter(&buf, snap)
		if err != nil {
			t.Fatal(err)
		}
		t0 := time.Date(2026, 11, 25, 12, 0, 0, 123456789, time.UTC)
		for i, f := range frames {
			if err := w.WritePacket(t0.Add(time.Duration(i)*time.Millisecond), f); err != nil {
				t.Fatal(err)
			}
		}
		r, err := pcapgo.NewReader(&buf)
		if err != nil {
			t.Fatal(err)
		}
		want := snap
		if want == 0 {
			want = DefaultSnaplen
		}
		if r.LinkType() != layers.LinkTypeEthernet || int(r.Snaplen()) != want {
			t.Errorf("link type %v, snaplen %d", r.LinkType(), r.Snaplen())
		}
		for i, f := range frames {
			data, ci, err := r.ReadPacketData()
			if err != nil {
				t.Fatal(err)
			}
			cut := f
			if snap > 0 && len(f) > snap {
				cut = f[:snap]
			}
			ts := t0.Add(time.Duration(i) * time.Millisecond).Truncate(time.Microsecond)
			if !bytes.Equal(data, cut) || ci.Length != len(f) || ci.CaptureLength != len(cut) || !ci.Timestamp.Equal(ts) {
				t.Errorf("snaplen %d, packet %d: %d/%d bytes at %v, want %d/%d at %v",
					snap, i, ci.CaptureLength, ci.Length, ci.Timestamp, len(cut), len(f), ts)
			}
		}
		if _, _, err := r.ReadPacketData(); !errors.Is(err, io.EOF) {
			t.Errorf("after the last packet: %v", err)
		}
	}
	if _, err := NewPcapWriter(io.Discard, -1); err == nil {
		t.Error("negative snaplen accepted")
	}
}

// TestSourceToPcap captures from heap rings through a Source into a pcap
// file and reads the file back.
func TestSourceToPcap(t *testing.T) {
	frames := testFrames(t, 300)
	sim, rx := newSim(t, &heapmem.Config{RxSlots: 128}, frames, 100)
	src, err := NewSource(sim, rx...)
	if err != nil {
		t.Fatal(err)
	}
	var file bytes.Buffer
	bw := bufio.NewWriter(&file)
	w, err := NewPcapWriter(bw, 0)
	if err != nil {
		t.Fatal(err)
	}
	var stamps []time.Time
	for {
		data, ci, err := src.ZeroCopyReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := w.WritePacket(ci.Timestamp, data); err != nil {
			t.Fatal(err)
		}
		stamps = append(stamps, ci.Timestamp)
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	r, err := pcapgo.NewReader(&file)
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range frames {
		data, ci, err := r.ReadPacketData()
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		if !bytes.Equal(data, f) || !ci.Timestamp.Equal(stamps[i]) {
			t.Fatalf("packet %d differs", i)
		}
	}
}

func TestPcapWriterAllocs(t *testing.T) {
	w, err := NewPcapWriter(bufio.NewWriter(io.Discard), 0)
	if err != nil {
		t.Fatal(err)
	}
	f := testFrames(t, 1)[0]
	ts := time.Unix(1_700_000_000, 5000)
	if n := testing.AllocsPerRun(1000, func() {
		if err := w.WritePacket(ts, f); err != nil {
			panic(err)
		}
	}); n != 0 {
		t.Errorf("WritePacket allocates %v times", n)
	}
}

// A time a classic pcap's 32-bit seconds cannot hold is an error, not a
// timestamp wrapped into 1970 (a sender's schedule stretched by a low
// MaxRate can reach past 2106).
func TestPcapWriterTimeRange(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewPcapWriterNanos(&buf, 0)
	if err != nil {
		t.Fatal(err)
	}
	f := testFrames(t, 1)[0]
	for _, ts := range []time.Time{time.Unix(1<<32, 0), time.Unix(-1, 0), time.Unix(1<<40, 0)} {
		if err := w.WritePacket(ts, f); err == nil || !strings.Contains(err.Error(), "2106") {
			t.Errorf("%v: %v, want an error naming the range", ts.UTC(), err)
		}
	}
	n := buf.Len()
	for _, ts := range []time.Time{time.Unix(0, 0), time.Unix(1<<32-1, 999999999), {}} {
		if err := w.WritePacket(ts, f); err != nil {
			t.Errorf("%v: %v", ts.UTC(), err)
		}
	}
	if buf.Len() == n {
		t.Error("nothing written")
	}
}
