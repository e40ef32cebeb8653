package packet

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// rtpSeeds are UDP payloads: RTP with and without RFC 4175 headers, CSRCs,
// extensions and padding, and broken ones.
func rtpSeeds(t testing.TB) [][]byte {
	seeds := [][]byte{
		unhex(t, "80e0fa9f 2d0f8a13 00000000 5658 0004 821b 05a0 01020304"),
		unhex(t, "b27f0001 00000002 00000003 00000004 00000005 bede0001 11223344 6162 000003"),
		unhex(t, "8260ffff 00000001 00000002 00000003 00000004 0001 0001 0001 8000 0001 0002 8000 0001 0003 0000 aabbcc"),
		unhex(t, "a0600001 00000000 00000000 0004"),
		unhex(t, "90600001 00000000 00000000 bede0002 00000000"),
		unhex(t, "8f600001 00000000 00000000"),
		{0x80},
		nil,
	}
	for _, tc := range tplCases {
		c := tc.c
		fr := rtpFrame(t, &c)
		p := gopacket.NewPacket(fr, layers.LayerTypeEthernet, gopacket.Default)
		if udp, ok := p.Layer(layers.LayerTypeUDP).(*layers.UDP); ok {
			seeds = append(seeds, udp.Payload)
		}
	}
	return seeds
}

// FuzzRTP decodes arbitrary bytes as RTP: either a decode error matching a
// sentinel, or a header whose parts tile the input and that serializes
// back to the same bytes (padding contents aside).
func FuzzRTP(f *testing.F) {
	for _, s := range rtpSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var r RTP
		var df truncFeedback
		if err := r.DecodeFromBytes(data, &df); err != nil {
			if !strings.HasPrefix(err.Error(), "rtp: ") || !(errors.Is(err, ErrTruncated) || errors.Is(err, ErrMalformed)) {
				t.Fatalf("error %q", err)
			}
			return
		}
		hl, pl, pad := len(r.Contents), len(r.Payload), int(r.PaddingLength)
		if hl < RTPLen || hl+pl+pad != len(data) || (pad != 0) != r.Padding || r.Version != 2 || len(r.CSRC) > MaxCSRC {
			t.Fatalf("header %d + payload %d + padding %d for %d bytes: %+v", hl, pl, pad, len(data), r)
		}
		if !bytes.Equal(r.Contents, data[:hl]) || !bytes.Equal(r.Payload, data[hl:hl+pl]) {
			t.Fatalf("contents or payload not the input's")
		}
		if bool(df) {
			t.Fatalf("SetTruncated on success")
		}
		sb := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(sb, gopacket.SerializeOptions{}, &r, gopacket.Payload(r.Payload)); err != nil {
			t.Fatalf("serialize: %v", err)
		}
		out := sb.Bytes()
		if len(out) != len(data) || !bytes.Equal(out[:hl+pl], data[:hl+pl]) || (pad > 0 && out[len(out)-1] != data[len(data)-1]) {
			t.Fatalf("serialized\n% x\ninput\n% x", out, data)
		}
	})
}

// FuzzRFC4175 decodes arbitrary bytes as the RFC 4175 payload header:
// either a decode error matching ErrTruncated, or SRD headers that are all
// in the input, whose data fits in the payload, and which serialize back
// to the same header bytes.
func FuzzRFC4175(f *testing.F) {
	for _, s := range rtpSeeds(f) {
		if len(s) > RTPLen {
			f.Add(s[RTPLen:])
		}
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var h RFC4175
		var df truncFeedback
		if err := h.DecodeFromBytes(data, &df); err != nil {
			if !strings.HasPrefix(err.Error(), "rfc4175: ") || !errors.Is(err, ErrTruncated) || !bool(df) {
				t.Fatalf("error %q (truncated flag %v)", err, bool(df))
			}
			return
		}
		// As many SRDs as the input holds.
		if len(h.SRDs) > (len(data)-ExtSeqLen)/SRDLen {
			t.Fatalf("%d SRDs decoded from %d octets", len(h.SRDs), len(data))
		}
		k := len(h.SRDs)
		if k == 0 || len(h.Contents) != ExtSeqLen+SRDLen*k || !bytes.Equal(h.Contents, data[:len(h.Contents)]) ||
			!bytes.Equal(h.Payload, data[len(h.Contents):]) {
			t.Fatalf("%d SRDs, contents %d bytes, payload %d, input %d", k, len(h.Contents), len(h.Payload), len(data))
		}
		var all []byte
		for i, s := range h.SRDs {
			if s.Continuation != (i < k-1) || s.Line > MaxLine || s.Offset > MaxOffset {
				t.Fatalf("SRD %d of %d: %+v", i, k, s)
			}
			all = append(all, h.Data(i)...)
		}
		if k > smallSRDs { // Data reads kept offsets, summing no lengths
			last := h.Data(k - 1)
			h.SRDs[0].Length++
			if d := h.Data(k - 1); len(d) != len(last) || len(d) > 0 && &d[0] != &last[0] {
				t.Fatalf("%d SRDs: SRD 0's length changed moved SRD %d's data", k, k-1)
			}
			h.SRDs[0].Length--
		}
		if !bytes.HasPrefix(h.Payload, all) {
			t.Fatalf("SRD data is not the start of the payload")
		}
		sb := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(sb, gopacket.SerializeOptions{}, &h, gopacket.Payload(h.Payload)); err != nil {
			t.Fatalf("serialize: %v", err)
		}
		if !bytes.Equal(sb.Bytes(), data) {
			t.Fatalf("serialized\n% x\ninput\n% x", sb.Bytes(), data)
		}
	})
}

// FuzzDecodingLayerParser runs the whole chain over arbitrary frames: it
// must return, never panic (the parser is told not to recover panics), and
// agree with RTP and RFC4175 decoding the UDP payload on their own: the
// chain goes on past UDP exactly when they decode it, to the same headers.
func FuzzDecodingLayerParser(f *testing.F) {
	for _, tc := range tplCases {
		c := tc.c
		f.Add(rtpFrame(f, &c))
	}
	ch := newChain()
	parser, udp, rtp, vid := ch.parser, &ch.udp, &ch.rtp, &ch.vid
	parser.IgnorePanic = true // a panic fails the fuzz target
	var decoded []gopacket.LayerType
	f.Fuzz(func(t *testing.T, data []byte) {
		err := parser.DecodeLayers(data, &decoded)
		if err == nil && len(decoded) > 0 && decoded[len(decoded)-1] == LayerTypeRFC4175 && len(vid.Payload) != 0 {
			t.Fatalf("stopped after RFC 4175 with %d bytes of payload", len(vid.Payload))
		}
		k := slices.Index(decoded, layers.LayerTypeUDP)
		if k < 0 {
			return
		}
		var r RTP
		rerr := r.DecodeFromBytes(udp.Payload, gopacket.NilDecodeFeedback)
		if gotRTP := k+1 < len(decoded) && decoded[k+1] == LayerTypeRTP; gotRTP != (rerr == nil) {
			t.Fatalf("chain %v, RTP alone: %v", decoded, rerr)
		}
		if rerr != nil {
			return
		}
		if !bytes.Equal(r.Contents, rtp.Contents) || !bytes.Equal(r.Payload, rtp.Payload) || r.SequenceNumber != rtp.SequenceNumber {
			t.Fatalf("RTP in the chain %+v, alone %+v", *rtp, r)
		}
		var h RFC4175
		herr := h.DecodeFromBytes(r.Payload, gopacket.NilDecodeFeedback)
		if gotVid := k+2 < len(decoded) && decoded[k+2] == LayerTypeRFC4175; gotVid != (herr == nil) {
			t.Fatalf("chain %v, RFC 4175 alone: %v", decoded, herr)
		}
		if herr == nil && (!slices.Equal(h.SRDs, vid.SRDs) || !bytes.Equal(h.Payload, vid.Payload)) {
			t.Fatalf("SRDs in the chain %+v, alone %+v", vid.SRDs, h.SRDs)
		}
	})
}
