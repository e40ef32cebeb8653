package interop

import (
	"fmt"
	"os"
	"strconv"
	"testing"
)

// The peers' command lines. They start from the ones verified in
// ref/interop.md; the socket buffers are 4 MiB, net.core.rmem_max on the
// CI machines, so larger values would not take effect anyway.

// rcvbuf is the receive socket buffer the receivers ask for.
const rcvbuf = 4 << 20

// pps is the packet rate nmgo's senders keep to. ffmpeg's receiver reads
// with a poll and a recvfrom per packet on one thread. ref/interop.md has
// it keep up with about 100 kpps on two idle cores; measured here, it lost
// half the packets at 100 kpps and none at 70 kpps, and next to a busy
// qemu VM it lost some at 50 kpps. 40 kpps costs 0.65 s for six 1080p
// 10-bit frames. NMTEST_INTEROP_PPS overrides it, to measure.
var pps = envInt("NMTEST_INTEROP_PPS", 40_000)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// The peers' senders pace themselves by bit rate: gstBitrate is about
// 35 kpps of GStreamer's 1442-octet packets, in bursts of a tenth of a
// frame (rtpvrawpay's chunks-per-frame), and ffmpegBitrate about 87 kpps
// of ffmpeg's, paced per packet by its udp protocol.
const (
	gstBitrate    = 400_000_000
	ffmpegBitrate = 1_000_000_000
)

// ffmpegRecv returns the command line of an ffmpeg that reads the stream an
// SDP file describes and writes n frames' payload untouched (-c:v copy: the
// pgroup bytes, bitpacked or UYVY) to out, then exits.
func ffmpegRecv(sdp, out string, n int) []string {
	return []string{"ffmpeg", "-hide_banner", "-nostdin", "-nostats", "-y",
		"-protocol_whitelist", "file,udp,rtp", "-buffer_size", strconv.Itoa(rcvbuf),
		"-i", sdp, "-map", "0:v", "-c:v", "copy", "-frames:v", strconv.Itoa(n), "-f", "rawvideo", out}
}

// ffmpegSend returns the command line of an ffmpeg that sends n frames of
// a noisy test picture as RFC 4175 to 127.0.0.1:port at bitrate bits per
// second, writes the SDP of the stream to sdp and the frames it sent, in
// pgroup layout, to src. The noise makes neighbouring lines and frames
// differ, so a misplaced line shows. Without bitrate (udp's pacing thread)
// ffmpeg sends each 1080p frame as one burst larger than the receiver's
// socket buffer; the thread's FIFO (fifo_size, in 188-octet units) must
// hold the frames ffmpeg queues ahead, or its writes fail with ENOMEM.
func ffmpegSend(t testing.TB, c *format, port int, sdp, src string, n int, bitrate int) []string {
	f := c.video(t)
	frames := strconv.Itoa(n)
	fifo := n * f.FrameSize() / 188 * 2
	return []string{"ffmpeg", "-hide_banner", "-nostdin", "-nostats", "-y", "-re",
		"-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=%dx%d:rate=25,noise=alls=40:allf=t", f.Width, f.Height),
		"-map", "0:v", "-frames:v", frames, "-pix_fmt", c.ffPix, "-c:v", c.ffCodec, "-f", "rtp", "-sdp_file", sdp,
		fmt.Sprintf("udp://127.0.0.1:%d?pkt_size=1400&bitrate=%d&fifo_size=%d", port, bitrate, fifo),
		"-map", "0:v", "-frames:v", frames, "-pix_fmt", c.ffPix, "-c:v", c.ffCodec, "-f", "rawvideo", src}
}

// gstCaps returns the RTP caps that stand in for an SDP at udpsrc
// (sdpdemux is in plugins-bad); GStreamer carries depth, width and height
// as strings.
func gstCaps(c *format, t testing.TB) string {
	f := c.video(t)
	return fmt.Sprintf("application/x-rtp,media=video,clock-rate=90000,encoding-name=RAW,payload=96,"+
		"sampling=%s,depth=(string)%s,width=(string)%d,height=(string)%d", f.Sampling, f.Depth, f.Width, f.Height)
}

// gstRecv returns the command line of a GStreamer pipeline that receives
// the stream on 127.0.0.1:port and writes the frames to out in c.gst, whose
// layout is the pgroup layout. It runs until interrupted (-e: SIGINT ends
// the stream cleanly); "identity eos-after" loses the last frame.
func gstRecv(t testing.TB, c *format, port int, out string) []string {
	return gstRecvFrom(t, c, "127.0.0.1", port, out)
}

// gstRecvFrom is gstRecv on address (a multicast group is joined:
// auto-multicast).
func gstRecvFrom(t testing.TB, c *format, address string, port int, out string) []string {
	return []string{"gst-launch-1.0", "-e", "udpsrc", "address=" + address, "port=" + strconv.Itoa(port), "auto-multicast=true",
		"buffer-size=" + strconv.Itoa(rcvbuf), "caps=" + gstCaps(c, t),
		"!", "rtpvrawdepay", "!", "video/x-raw,format=" + c.gst, "!", "filesink", "location=" + out}
}

// gstSend returns the command line of a GStreamer pipeline that sends n
// frames of television snow (random pixels) with rtpvrawpay to
// 127.0.0.1:port at bitrate bits per second and writes the same frames to
// src.
func gstSend(t testing.TB, c *format, port int, src string, n, bitrate int) []string {
	return gstSendTo(t, c, "127.0.0.1", port, src, n, bitrate)
}

// gstSendTo is gstSend to host (a multicast group: auto-multicast).
func gstSendTo(t testing.TB, c *format, host string, port int, src string, n, bitrate int) []string {
	f := c.video(t)
	return []string{"gst-launch-1.0", "-e", "videotestsrc", "num-buffers=" + strconv.Itoa(n), "pattern=snow",
		"!", fmt.Sprintf("video/x-raw,format=%s,width=%d,height=%d,framerate=25/1", c.gst, f.Width, f.Height),
		"!", "tee", "name=t",
		"t.", "!", "queue", "!", "filesink", "location=" + src,
		"t.", "!", "queue", "!", "rtpvrawpay", "pt=96", "mtu=1400",
		"!", "udpsink", "host=" + host, "port=" + strconv.Itoa(port), "auto-multicast=true", "max-bitrate=" + strconv.Itoa(bitrate)}
}
