// Package interop holds nmgo's interoperability tests against the RFC 4175
// implementations of FFmpeg and GStreamer, over UDP on the loopback
// interface. Every test compares the frames a receiver wrote with the ones
// the sender was given, byte for byte (sha256 and frame counts, and on a
// mismatch the first differing frame, row and octet):
//
//   - TestVtxToFFmpeg, TestVtxToGStreamer: nmbench -f vtx sends, ffmpeg
//     (reading the SDP nmbench wrote, -c:v copy) and gst-launch-1.0
//     (udpsrc ! rtpvrawdepay ! filesink) receive.
//   - TestGStreamerToVrx, TestFFmpegToVrx: rtpvrawpay and ffmpeg's rtp
//     muxer send, nmbench -f vrx receives.
//   - TestFFmpegAcceptsOurSDP: ffprobe reads nmbench's SDP as the format
//     that was asked for.
//   - TestPacketizerToFFmpeg and the other Packetizer, Depacketizer and
//     MarshalledSDP tests do the same with the video package on a UDP
//     socket in place of nmbench, to tell a fault of the package from one
//     of the command.
//   - TestDupSDPToFFmpeg: st2110.Dial sends on two paths (ST 2022-7, two
//     loopback ports) and writes an SDP with an a=group:DUP pair; ffmpeg
//     accepts it and receives the first leg's frames, and video.ParseSDP
//     reads it back as one flow with both legs.
//   - TestPeersGStreamerToFFmpeg is the baseline without nmgo.
//   - TestGStreamerMulticastToListen, TestDialMulticastToGStreamer,
//     TestDialMulticastToFFmpeg: package st2110 over multicast. GStreamer's
//     udpsink sends to a group (auto-multicast) that st2110.Listen joins;
//     st2110.Dial sends to a group that GStreamer's udpsrc joins, and that
//     ffmpeg joins from the SDP the Sender wrote (with its
//     a=source-filter). They run in a network namespace, nmst-io, whose
//     loopback carries multicast (the host's lo has no MULTICAST flag and
//     no route for 224.0.0.0/4), so they need root.
//
// The formats are 1080p 4:2:2 10-bit and 8-bit and 1080i59.94 4:2:2 10-bit
// (FFmpeg's receiver only: the peers' senders and GStreamer's receiver have
// no interlaced mode). nmgo's senders keep to 40 kpps (NMTEST_INTEROP_PPS
// changes it), well under what ffmpeg's receiver keeps up with. A subtest
// that fails while the kernel drops UDP datagrams for full receive buffers
// (a receiver fell behind on a busy machine) runs once more at half the
// rate; any other failure is final.
//
// How ffmpeg must be told to send RFC 4175, as the tests do: 10-bit 4:2:2
// with -c:v bitpacked -pix_fmt yuv422p10le (pgroups of 5 octets per 2
// pixels), 8-bit 4:2:2 with -c:v rawvideo -pix_fmt uyvy422. The trap is
// -c:v rawvideo -pix_fmt yuv422p10: ffmpeg's RTP muxer writes the same
// SDP for it (sampling=YCbCr-4:2:2; depth=10) but sends the planar frame
// as it is in memory (the Y plane, then Cb, then Cr, 16-bit little-endian
// words, 8192 octets for 64x32 where the pgroups take 5120) where RFC 4175
// puts pgroups, so every receiver, ffmpeg's own included, decodes noise.
// (ffmpeg 5.1; the SDP does not tell the two apart.)
//
// The tests need ffmpeg, ffprobe and gst-launch-1.0 with the rtpvrawpay and
// rtpvrawdepay elements (Debian: ffmpeg, gstreamer1.0-tools,
// gstreamer1.0-plugins-base, gstreamer1.0-plugins-good), and no privilege
// but for the multicast tests (root, and ip from iproute2).
// They run only when NMTEST_INTEROP=1 is set, and then a missing tool is a
// failure, not a skip; .ci/run installs the tools and sets it:
//
//	NMTEST_INTEROP=1 go test -v ./test/interop/
//
// Without it they skip, so go test ./... stays fast. The package has no API;
// it is not imported by anything.
package interop
