package vale_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/nmgo/nmgo/internal/nmtest"
	"github.com/nmgo/nmgo/nmsys"
	"github.com/nmgo/nmgo/packet"
)

// outDir is where the capture tests leave their pcap files: $NMTEST_OUT,
// else the guest's /out in the VM (test/vale/vm/run --out DIR copies it
// back, and .ci/run reads the files there with tshark), else a temporary
// directory.
func outDir(t *testing.T) string {
	if d := os.Getenv("NMTEST_OUT"); d != "" {
		return d
	}
	if fi, err := os.Stat("/out"); nmtest.Required() && err == nil && fi.IsDir() {
		return "/out"
	}
	return t.TempDir()
}

// capture reads n packets from port's first RX ring through a
// packet.Source and gopacket.NewPacketSource, writing them to the pcap
// file path; each read gives up after timeout. sent, if not nil, is
// called before each read so that a sender in the same goroutine can keep
// the ring fed. It returns the packets as gopacket decoded them.
func capture(t *testing.T, port *nmsys.Port, path string, n int, timeout time.Duration, sent func(got int)) []gopacket.Packet {
	t.Helper()
	rx, err := port.RxRing(port.Info().FirstRx)
	if err != nil {
		t.Fatal(err)
	}
	src, err := packet.NewSource(port, rx)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	bw := bufio.NewWriter(f)
	w, err := packet.NewPcapWriter(bw, 0)
	if err != nil {
		t.Fatal(err)
	}
	ps := gopacket.NewPacketSource(src, src.LinkType())
	var pkts []gopacket.Packet
	for len(pkts) < n {
		if sent != nil {
			sent(len(pkts))
		}
		if err := port.SetReadDeadline(time.Now().Add(timeout)); err != nil {
			t.Fatal(err)
		}
		p, err := ps.NextPacket()
		if err != nil {
			t.Fatalf("after %d of %d packets: %v", len(pkts), n, err)
		}
		md := p.Metadata()
		if err := w.WritePacket(md.Timestamp, p.Data()); err != nil {
			t.Fatal(err)
		}
		pkts = append(pkts, p)
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %d packets to %s", len(pkts), path)
	return pkts
}

// readPcap reads a pcap file back with pcapgo.
func readPcap(t *testing.T, path string) [][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(bufio.NewReader(f))
	if err != nil {
		t.Fatal(err)
	}
	if r.LinkType() != layers.LinkTypeEthernet {
		t.Fatalf("%s: link type %v", path, r.LinkType())
	}
	var out [][]byte
	for {
		data, ci, err := r.ReadPacketData()
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			t.Fatalf("%s: packet %d: %v", path, len(out), err)
		}
		if ci.Timestamp.Unix() < 1 || ci.CaptureLength != ci.Length {
			t.Fatalf("%s: packet %d: capture info %+v", path, len(out), ci)
		}
		out = append(out, data)
	}
	return out
}

// TestCaptureRTP sends ST 2110-20 packets built with packet.Template from
// one VALE port, captures them on another through packet.Source into
// /out/capture-rtp.pcap, and decodes the file with gopacket: every
// packet, in order, across the 16-bit sequence wrap.
func TestCaptureRTP(t *testing.T) {
	const (
		n     = 1000
		first = 0xfe00 // the RTP sequence number wraps after 512 packets
		chunk = 200
		pl    = packet.SRDLen + 1200
	)
	tx := open(t, "vale30:src", nil)
	rxp := open(t, "vale30:cap", &nmsys.Config{RxSlots: 1024})
	tpl, err := packet.NewTemplate(&packet.TemplateConfig{
		SrcMAC: net.HardwareAddr{0x02, 0, 0, 0, 0x30, 1}, DstMAC: net.HardwareAddr{0x01, 0x00, 0x5e, 0x01, 0x02, 0x03},
		Src: netip.MustParseAddrPort("10.0.30.1:5004"), Dst: netip.MustParseAddrPort("239.1.2.3:5004"),
		PayloadType: 96, SSRC: 0x2110, RFC4175: true, UDPChecksum: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	ring, err := tx.TxRing(tx.Info().FirstTx)
	if err != nil {
		t.Fatal(err)
	}
	next := 0
	// send puts the next chunk into the TX ring and syncs: VALE forwards
	// during the sync, so the frames are then in the capture port's ring,
	// which has room for them (VALE drops what does not fit).
	send := func(got int) {
		if got < next || next == n {
			return
		}
		for k := min(chunk, n-next); k > 0; {
			m, err := ring.Reserve(k)
			if err != nil {
				t.Fatal(err)
			}
			for i := range m {
				s := next + i
				b := ring.Buf(i)
				line := uint16(s % 1080)
				packet.PutSRD(b[tpl.Len():], 1200, false, line, false, 0)
				d := b[tpl.Len()+packet.SRDLen : tpl.Len()+pl]
				for j := range d {
					d[j] = byte(j)
				}
				ring.SetLen(i, tpl.Write(b, pl, &packet.Fields{
					Seq: uint32(first + s), Timestamp: uint32(1501 * (s / 4)), Marker: s%4 == 3, ID: uint16(s)}))
			}
			ring.Publish(m)
			if err := tx.TxSync(); err != nil {
				t.Fatal(err)
			}
			next += m
			k -= m
			if m == 0 {
				if err := tx.WaitTx(); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	path := filepath.Join(outDir(t), "capture-rtp.pcap")
	pkts := capture(t, rxp, path, n, 5*time.Second, send)

	var (
		eth     layers.Ethernet
		ip4     layers.IPv4
		udp     packet.UDP
		rtp     = packet.RTP{NextType: packet.LayerTypeRFC4175}
		vid     packet.RFC4175
		samples gopacket.Payload
	)
	parser := gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &eth, &ip4, &udp, &rtp, &vid, &samples)
	var decoded []gopacket.LayerType
	file := readPcap(t, path)
	if len(file) != n {
		t.Fatalf("%s holds %d packets, want %d", path, len(file), n)
	}
	for i, data := range file {
		if string(data) != string(pkts[i].Data()) {
			t.Fatalf("packet %d in the file differs from the one captured", i)
		}
		if err := parser.DecodeLayers(data, &decoded); err != nil || len(decoded) != 6 {
			t.Fatalf("packet %d: %v, decoded %v", i, err, decoded)
		}
		seq := vid.Seq(rtp.SequenceNumber)
		if seq != uint32(first+i) || rtp.Timestamp != uint32(1501*(i/4)) || rtp.Marker != (i%4 == 3) ||
			rtp.PayloadType != 96 || rtp.SSRC != 0x2110 || ip4.Id != uint16(i) ||
			len(vid.SRDs) != 1 || vid.SRDs[0].Line != uint16(i%1080) || len(vid.Data(0)) != 1200 || vid.Data(0)[1199] != byte(1199%256) {
			t.Fatalf("packet %d: seq %#x ts %d marker %v id %d SRDs %+v", i, seq, rtp.Timestamp, rtp.Marker, ip4.Id, vid.SRDs)
		}
	}
	t.Logf("%d RTP/RFC 4175 packets, seq %#x..%#x, decoded from %s", n, first, first+n-1, path)
}

// TestCapturePktgen captures what netmap's pkt-gen sends into a VALE
// switch, through packet.Source, into /out/capture-pktgen.pcap.
func TestCapturePktgen(t *testing.T) {
	nmtest.Require(t)
	pg := nmtest.Tool(t, "NMTEST_PKTGEN")
	const n = 1000
	rxp := open(t, "vale31:cap", &nmsys.Config{RxSlots: 1024})
	var wg sync.WaitGroup
	var out []byte
	var pgErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		// 10 000 packets/s: the 1024-slot ring holds 100 ms of them.
		out, pgErr = exec.Command(pg, "-i", "vale31:gen", "-f", "tx", "-n", strconv.Itoa(n), "-R", "10000", "-w", "0").CombinedOutput()
	}()
	path := filepath.Join(outDir(t), "capture-pktgen.pcap")
	pkts := capture(t, rxp, path, n, 10*time.Second, nil)
	wg.Wait()
	if pgErr != nil {
		t.Fatalf("pkt-gen: %v\n%s", pgErr, out)
	}
	file := readPcap(t, path)
	if len(file) != n {
		t.Fatalf("%s holds %d packets, want %d", path, len(file), n)
	}
	for i, p := range pkts {
		udp, ok := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
		if !ok || p.Layer(layers.LayerTypeIPv4) == nil || p.ErrorLayer() != nil {
			t.Fatalf("packet %d is not IPv4/UDP: %v", i, p)
		}
		if i == 0 {
			t.Logf("first packet: %d bytes, UDP %d -> %d", len(p.Data()), udp.SrcPort, udp.DstPort)
		}
	}
}
