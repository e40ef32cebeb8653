package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/nmgo/nmgo/st2110"
	"github.com/nmgo/nmgo/video"
)

// videoSummary is what the final report of vtx and vrx adds: the stream
// analysis (of stream 0's figures, or over all streams, see summary) and
// every stream's counts and analysis.
type videoSummary struct {
	PacketsPerFrame int    `json:"packets_per_frame"`  // per field when interlaced; 0 when no stream knows it, -1 when two that do differ ("mixed" in the text)
	PackingMode     string `json:"packing_mode"`       // 2110GPM, 2110BPM, "" when no stream knows it, "mixed" when two that do differ
	SenderType      string `json:"sender_type"`        // N, NL, W; "" when the timing fits no type or was not measured
	Cinst           int    `json:"cinst"`              // peak Cinst measured
	CMax            int    `json:"cmax"`               // deprecated: Cinst under its old name (ST 2110-21's CMAX is the sender type's limit, not a measure)
	VRX             int    `json:"vrx"`                // peak VRX
	TRONs           int64  `json:"tro_ns"`             // mean measured TROffset
	MaxRows         int    `json:"max_rows,omitempty"` // the most of a stream's, see videoStream.MaxRows
	Verdict         string `json:"verdict"`            // the streams' worst, see videoStream.Verdict
	Pix             string `json:"pix"`                // layout of -in / -out
	SpinNs          int64  `json:"spin_ns,omitempty"`  // vtx: time spent spinning until packets were due
	// Other is what vrx received that was no stream's: not UDP, to a port
	// no stream takes, or not RTP video.
	Other *uint64 `json:"other_packets,omitempty"`
	// Passthrough is what vrx -passthrough moved between the NIC and its
	// host stack.
	Passthrough *passSummary  `json:"passthrough,omitempty"`
	Note        string        `json:"note,omitempty"` // vrx: why nothing was measured
	Streams     []videoStream `json:"streams"`

	measured bool // a stream measured a whole frame: Cinst (and CMax, its old name), VRX and TRONs are figures
}

// passSummary is st2110.PassStats in the report: packets moved from the
// NIC to its host stack, from the host stack to the wire, and dropped
// for a full ring; the ring pairs whose forwarding failed before the end,
// and the first one's error.
type passSummary struct {
	ToHost  uint64 `json:"to_host"`
	ToWire  uint64 `json:"to_wire"`
	Dropped uint64 `json:"dropped"`
	Stopped int    `json:"stopped,omitempty"`
	Err     string `json:"err,omitempty"`
}

// newPassSummary is ps in the report.
func newPassSummary(ps *st2110.PassStats) *passSummary {
	p := &passSummary{ToHost: ps.ToHost, ToWire: ps.ToWire, Dropped: ps.Dropped, Stopped: ps.Stopped}
	if ps.Err != nil {
		p.Err = ps.Err.Error()
	}
	return p
}

// videoStream is one stream of the final report.
type videoStream struct {
	Stream    int    `json:"stream"`
	Dst       string `json:"dst,omitempty"` // IP:port (vtx, vrx on udp: or with -sdp/-d)
	Port      uint16 `json:"port,omitempty"`
	Format    string `json:"format"`
	Frames    uint64 `json:"frames"` // vtx: sent; vrx: written to -out (given to the application)
	Packets   uint64 `json:"packets"`
	Bytes     uint64 `json:"bytes"` // vtx: frame octets; vrx: RTP packet octets as sent
	Late      uint64 `json:"late"`
	Lost      uint64 `json:"lost"`
	Reordered uint64 `json:"reordered"`

	// vtx only: frames skipped or cut short having fallen more than
	// -max-lag behind, and the times a stream skipped ahead.
	TxSkipped uint64 `json:"skipped_tx_frames,omitempty"`
	Resyncs   uint64 `json:"resyncs,omitempty"`

	// vrx only
	Duplicates    uint64 `json:"duplicated,omitempty"`
	Complete      uint64 `json:"complete_frames,omitempty"`
	Incomplete    uint64 `json:"incomplete_frames,omitempty"`
	Skipped       uint64 `json:"skipped_frames,omitempty"` // a first frame joined in the middle
	MissedMarkers uint64 `json:"missed_markers,omitempty"`
	BadRows       uint64 `json:"bad_rows,omitempty"`
	Malformed     uint64 `json:"malformed,omitempty"`
	WrongPT       uint64 `json:"wrong_payload_type,omitempty"`
	Truncated     uint64 `json:"truncated,omitempty"` // packets cut short in a capture
	// Dropped is the frames received whole but not taken: vrx held
	// every buffer of the stream (it could not keep up with writing -out).
	Dropped uint64 `json:"dropped_frames,omitempty"`

	// Paths are the counts of each path of two (-i twice, ST 2022-7),
	// and Skew how much later path 1's copies came than path 0's (vrx).
	Paths []pathReport `json:"paths,omitempty"`
	Skew  *skewReport  `json:"skew,omitempty"`

	PacketsPerFrame int    `json:"packets_per_frame"`
	PackingMode     string `json:"packing_mode"`
	SenderType      string `json:"sender_type"`
	Cinst           int    `json:"cinst"` // peak Cinst measured (video.Analysis.Cinst)
	// CMax is Cinst under its old name, deprecated and kept for those who
	// parse it: ST 2110-21's CMAX is the sender type's limit of Cinst
	// (video.Params.CMax), not what was measured.
	CMax   int   `json:"cmax"`
	VRX    int   `json:"vrx"`
	VRXMin int   `json:"vrx_min"`
	TRONs  int64 `json:"tro_ns"`
	Gapped bool  `json:"gapped"`
	// MaxRows is the most SRD headers (rows or parts of rows) in one
	// packet, as the analysis measured them (video.Analysis.MaxRows;
	// left out of JSON without one): above 3 the stream is beyond ST
	// 2110-20 (vtx -max-rows), although its SDP says ST2110-20, and for
	// RFC 4175 receivers only.
	MaxRows int `json:"max_rows,omitempty"`
	// Measured is the whole frames the ST 2110-21 models ran through
	// (video.Analysis.Measured): 0 when none was, and then the timing
	// figures above are left at 0 and the verdict is video.TooFew.
	Measured int64  `json:"measured_frames"`
	Analysis string `json:"analysis,omitempty"` // video.Analysis in one line
	// vrx: the frame rate the analysis used, and why (video.RateCheck):
	// an interlaced format whose exactframerate is the field rate, as the
	// RTP timestamps show, is analysed at half of it. RTPStep is the RTP
	// timestamp step per field (frame) the check saw.
	AnalysisRate string `json:"analysis_rate,omitempty"`
	RateCheck    string `json:"rate_check,omitempty"`
	RTPStep      uint32 `json:"rtp_step,omitempty"`

	// Verdict is what the text summary says of the timing: the sender
	// type ("2110TPN"), "not compliant", video.TooFew, or noRate.
	Verdict string `json:"verdict"`
	Sched   string `json:"tp,omitempty"` // vtx: the sender type scheduled

	rateLine string // the text summary's account of AnalysisRate
	troOK    bool   // TRONs was measured (the analysis measured a whole frame)
}

// rateLine says which frame rate the analysis of a stream of format f used,
// and why.
func rateLine(f *video.Format, st *video.RxStats) string {
	per := "frame"
	if f.Scan != video.Progressive {
		per = "field"
	}
	switch st.RateCheck {
	case video.RateFieldRate:
		return fmt.Sprintf("analysed at %v frames/s: exactframerate=%v is the field rate, as the RTP timestamps show (%d ticks per field)",
			st.Rate, f.Rate, st.RTPStep)
	case video.RateMismatch:
		return fmt.Sprintf("analysed at %v frames/s, exactframerate, although the RTP timestamps do not match it (%d ticks per %s)",
			st.Rate, st.RTPStep, per)
	}
	return fmt.Sprintf("analysed at %v frames/s, exactframerate, which the RTP timestamps match (%d ticks per %s)", st.Rate, st.RTPStep, per)
}

// shortSender is the sender type as -tp spells it.
func shortSender(s video.Sender) string {
	return strings.TrimPrefix(s.String(), "2110TP")
}

// summary builds the final video report; it runs after the loop is done.
func (vr *videoRun) summary() *videoSummary {
	v := vr.cfg.video
	sum := &videoSummary{Pix: v.pixName()}
	if vr.tx != nil {
		sum.SpinNs = int64(vr.tx.Spun())
	}
	for k := range v.streams {
		s := &v.streams[k]
		vs := videoStream{Stream: k, Format: s.Format.String()}
		if s.Dst.IsValid() {
			vs.Dst = s.Dst.String()
		}
		var an video.Analysis
		var analyzed bool
		if vr.tx != nil {
			st := vr.tx.Stats(k)
			vs.sent(&st)
			vs.PacketsPerFrame, vs.PackingMode, vs.Sched = vr.ppf[k], vr.tx.Flows()[k].Packing.String(), shortSender(s.Sender)
			an, analyzed = vr.tx.Analysis(k)
			vs.Paths = vr.txPaths(k, st.Packets)
		} else {
			fs := vr.rx.Stats(k)
			st := fs.RxStats
			vs.Port = st.Port
			vs.Frames, vs.Packets, vs.Bytes, vs.Late = vr.taken[k].Load(), st.Packets, st.Bytes, st.Late
			vs.Lost, vs.Reordered, vs.Duplicates = st.Lost, st.Reordered, st.Duplicates
			vs.Complete, vs.Incomplete, vs.Skipped = st.Complete, st.Frames-st.Complete, st.Skipped
			vs.MissedMarkers, vs.BadRows, vs.Malformed, vs.Truncated = st.MissedMarkers, st.BadRows, st.Malformed, st.Truncated
			vs.WrongPT, vs.Dropped = st.WrongPT, fs.Dropped
			if st.RateCheck != video.RateUnchecked {
				vs.AnalysisRate, vs.RateCheck, vs.RTPStep = st.Rate.String(), st.RateCheck.String(), st.RTPStep
				vs.rateLine = rateLine(&s.Format, &st)
			}
			vs.PacketsPerFrame = st.PacketsPerField
			if st.Packing != 0 {
				vs.PackingMode = st.Packing.String()
			}
			an, analyzed = vr.rx.Analysis(k)
			vs.Paths, vs.Skew = vr.rxPaths(k)
		}
		if analyzed {
			if an.PacketsPerFrame > 0 {
				vs.PacketsPerFrame = an.PacketsPerFrame
			}
			if an.Sender != 0 {
				vs.SenderType = shortSender(an.Sender)
			}
			// The timing figures of a stream that measured no whole
			// frame (its verdict: too few frames to judge) are left
			// out, as is the stream from the top-level figures.
			vs.Measured = an.Measured
			if vs.troOK = an.Measured > 0; vs.troOK {
				vs.Cinst, vs.CMax, vs.VRX, vs.VRXMin, vs.TRONs, vs.Gapped = an.Cinst, an.Cinst, an.VRX, an.VRXMin, int64(an.TROffset), an.Gapped
			}
			vs.Analysis = an.String()
			vs.MaxRows = an.MaxRows
		}
		switch {
		case s.Format.Rate.IsZero():
			vs.Verdict = noRate
		case analyzed:
			vs.Verdict = an.Verdict()
		default:
			vs.Verdict = video.TooFew
		}
		sum.Streams = append(sum.Streams, vs)
	}
	// The top-level figures: stream 0's when alone; over several, the
	// packets per frame and packing of the streams that know them (else
	// -1 and "mixed": a stream that received nothing knows neither, and
	// differs from none), the widest sender type ("" if any fits none),
	// and the peak Cinst and VRX and the mean TROffset of the streams that
	// measured a whole frame (a stream without packets, or only part of a
	// frame, has none, not one of 0).
	first := &sum.Streams[0]
	sum.SenderType = first.SenderType
	rank := map[string]int{"N": 1, "NL": 2, "W": 3, "": 4}
	var tro, measured int64
	sum.Verdict = first.Verdict
	for i := range sum.Streams {
		s := &sum.Streams[i]
		if verdictRank(s.Verdict) > verdictRank(sum.Verdict) {
			sum.Verdict = s.Verdict
		}
		switch {
		case s.PacketsPerFrame <= 0:
		case sum.PacketsPerFrame == 0:
			sum.PacketsPerFrame = s.PacketsPerFrame
		case s.PacketsPerFrame != sum.PacketsPerFrame:
			sum.PacketsPerFrame = -1
		}
		switch {
		case s.PackingMode == "":
		case sum.PackingMode == "":
			sum.PackingMode = s.PackingMode
		case s.PackingMode != sum.PackingMode:
			sum.PackingMode = "mixed"
		}
		if rank[s.SenderType] > rank[sum.SenderType] {
			sum.SenderType = s.SenderType
		}
		sum.MaxRows = max(sum.MaxRows, s.MaxRows)
		if s.troOK {
			sum.Cinst, sum.VRX = max(sum.Cinst, s.Cinst), max(sum.VRX, s.VRX)
			sum.CMax = sum.Cinst
			tro += s.TRONs
			measured++
		}
	}
	if sum.measured = measured > 0; sum.measured {
		sum.TRONs = tro / measured
	}
	if vr.tx == nil {
		var video, received uint64
		other := vr.rx.Other()
		for _, s := range sum.Streams {
			video += s.Packets - min(s.Packets, s.Malformed+s.WrongPT)
			received += s.Packets
		}
		sum.Other = &other
		if ps, ok := vr.rx.Passthrough(); ok {
			sum.Passthrough = newPassSummary(&ps)
		}
		switch {
		case video == 0 && other+received > 0:
			sum.Note = fmt.Sprintf("no RTP video: none of the %d packets received was RTP video of the streams", other+received)
		case video == 0:
			sum.Note = "no packets received"
		}
	}
	return sum
}

// print writes the text summary after nmbench's usual lines.
func (s *videoSummary) print(w io.Writer, rep *report) {
	fmt.Fprintf(w, "Video: %d frames, %d late", *rep.Frames, *rep.Late)
	if rep.Lost != nil {
		fmt.Fprintf(w, ", %d lost, %d reordered", *rep.Lost, *rep.Reordered)
	}
	fmt.Fprintf(w, " (%d streams)\n", len(s.Streams))
	for _, st := range s.Streams {
		where := st.Dst + " "
		if st.Dst == "" {
			where = "" // vrx: a stream that took no port has none
			if st.Port != 0 {
				where = fmt.Sprintf("port %d ", st.Port)
			}
		}
		fmt.Fprintf(w, "  stream %d %s%s: %d frames %d pkts", st.Stream, where, st.Format, st.Frames, st.Packets)
		if st.Sched != "" {
			fmt.Fprintf(w, " tp %s", st.Sched)
		}
		if bad := st.problems(); bad != "" {
			fmt.Fprintf(w, " (%s)", bad)
		}
		fmt.Fprintln(w)
		switch {
		case st.Analysis != "":
			fmt.Fprintf(w, "    %s\n", st.Analysis)
		case st.PacketsPerFrame > 0:
			fmt.Fprintf(w, "    %d pkts/frame %s: %s\n", st.PacketsPerFrame, st.PackingMode, st.Verdict)
		default:
			fmt.Fprintf(w, "    %s\n", st.Verdict)
		}
		if st.MaxRows > maxSRDs {
			fmt.Fprintf(w, "    %d SRDs a packet: beyond ST 2110-20's %d (RFC 4175 receivers only)\n", st.MaxRows, maxSRDs)
		}
		if st.rateLine != "" {
			fmt.Fprintf(w, "    %s\n", st.rateLine)
		}
		st.printPaths(w)
	}
	if s.Other != nil && *s.Other > 0 {
		fmt.Fprintf(w, "  %d other packets: not UDP, to a port no stream takes, or not RTP video\n", *s.Other)
	}
	if p := s.Passthrough; p != nil {
		fmt.Fprintf(w, "  passthrough: %d packets to the host stack, %d from it to the wire, %d dropped\n", p.ToHost, p.ToWire, p.Dropped)
		if p.Stopped > 0 {
			fmt.Fprintf(w, "  passthrough STOPPED on %d ring pair(s), the host stack cut off there: %s\n", p.Stopped, p.Err)
		}
	}
	if s.Note != "" {
		fmt.Fprintf(w, "  %s\n", s.Note)
	}
	switch {
	case len(s.Streams) < 2:
	case s.measured:
		ppf := "mixed" // streams of different packets per frame (-1 in JSON)
		if s.PacketsPerFrame >= 0 {
			ppf = strconv.Itoa(s.PacketsPerFrame)
		}
		fmt.Fprintf(w, "All streams: %s pkts/frame %s, %s, Cinst %d, VRX %d, TRO %v\n",
			ppf, s.PackingMode, s.Verdict, s.Cinst, s.VRX, time.Duration(s.TRONs))
	default: // no stream measured a whole frame: no figures to give, as for a stream
		fmt.Fprintf(w, "All streams: %s\n", s.Verdict)
	}
}

// sent sets the sender's counts of the stream from st.
func (vs *videoStream) sent(st *st2110.SendStats) {
	vs.Frames, vs.Packets, vs.Bytes, vs.Late = st.Frames, st.Packets, st.Bytes, st.Late
	vs.TxSkipped, vs.Resyncs = st.Skipped, st.Resyncs
}

// problems lists the stream's nonzero trouble counters, "" if none.
func (st *videoStream) problems() string {
	var b []string
	dup := st.Duplicates
	if len(st.Paths) == 2 {
		dup = 0 // over two paths every packet comes twice
	}
	for _, c := range []struct {
		n    uint64
		name string
	}{
		{st.Late, "late"}, {st.Lost, "lost"}, {st.Reordered, "reordered"}, {dup, "dup"},
		{st.Incomplete, "incomplete"}, {st.Skipped, "skipped"}, {st.TxSkipped, "skipped behind"}, {st.Resyncs, "resyncs"}, {st.Truncated, "truncated"},
		{st.MissedMarkers, "missed markers"}, {st.BadRows, "bad rows"}, {st.Malformed, "malformed"},
		{st.WrongPT, "wrong payload type"}, {st.Dropped, "frames dropped"},
	} {
		if c.n > 0 {
			b = append(b, fmt.Sprintf("%s %d", c.name, c.n))
		}
	}
	return strings.Join(b, ", ")
}

// maxSRDs is the most SRD headers ST 2110-20 allows a packet.
const maxSRDs = 3

// noRate is the verdict of a stream whose format has no frame rate.
const noRate = "no timing analysis without a frame rate"

// verdictRank orders verdicts from the best sender type to no analysis.
func verdictRank(v string) int {
	switch v {
	case video.SenderNarrow.String():
		return 1
	case video.SenderNarrowLinear.String():
		return 2
	case video.SenderWide.String():
		return 3
	case "not compliant":
		return 4
	case video.TooFew:
		return 5
	}
	return 6
}
