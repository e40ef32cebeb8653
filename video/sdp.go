package video

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/pion/sdp/v3"
)

// Sender is the ST 2110-21 sender type (fmtp "TP"). The zero value means
// not signalled.
type Sender uint8

const (
	_                  Sender = iota
	SenderNarrow              // "2110TPN": narrow, gapped
	SenderNarrowLinear        // "2110TPNL": narrow, linear
	SenderWide                // "2110TPW": wide; software senders without a hardware shaper
)

// String returns the SDP spelling, such as "2110TPW".
func (s Sender) String() string {
	switch s {
	case SenderNarrow:
		return "2110TPN"
	case SenderNarrowLinear:
		return "2110TPNL"
	case SenderWide:
		return "2110TPW"
	}
	return fmt.Sprintf("Sender(%d)", uint8(s))
}

// DefaultSSN is the SSN value sdpoker and most receivers expect.
const DefaultSSN = "ST2110-20:2017"

// Stream is one ST 2110-20 video media description: the format, how it is
// packed and paced, and where it goes.
type Stream struct {
	Format      Format
	PayloadType uint8   // dynamic, 96..127
	Packing     Packing // PM; zero when absent (FFmpeg, GStreamer)
	MaxUDP      int     // MAXUDP: 1460, 8960, or zero when absent
	Sender      Sender  // TP; zero when absent
	SSN         string  // SSN, such as "ST2110-20:2017"
	TROff       int     // TROFF as written (ST 2110-21 section 8.2); zero when absent
	CMax        int     // CMAX; zero when absent

	Dst        netip.AddrPort // c= address and m= port
	TTL        int            // c= TTL of an IPv4 multicast address; zero when absent
	Source     netip.Addr     // a=source-filter: incl source; invalid when absent
	RefClock   string         // a=ts-refclk value, such as "ptp=IEEE1588-2008:39-A7-94-FF-FE-07-CB-D0:37"
	MediaClock string         // a=mediaclk value, such as "direct=0"
	MID        string         // a=mid value (ST 2022-7 groups)

	// Second is where the flow's second copy goes when it is sent twice
	// over two paths (ST 2022-7 seamless protection): the other media
	// description of an a=group:DUP pair (RFC 7104), whose format and
	// payload type are this one's. Dst, TTL, Source and MID above are the
	// first leg's. Zero for a flow on one path.
	Second Leg
}

// Leg is where one copy of an ST 2022-7 flow goes: the transport fields
// of one media description of an a=group:DUP pair (RFC 7104). The two
// legs of a flow usually differ in destination group and source, one per
// network.
type Leg struct {
	Dst    netip.AddrPort // c= address and m= port
	TTL    int            // c= TTL of an IPv4 multicast address; zero when absent
	Source netip.Addr     // a=source-filter: incl source; invalid when absent
	MID    string         // a=mid value
}

// IsZero reports whether l is the zero Leg: no second path.
func (l Leg) IsZero() bool { return l == Leg{} }

// Legs returns how many paths the flow has: 2 with a second leg, else 1.
func (s *Stream) Legs() int {
	if s.Second.IsZero() {
		return 1
	}
	return 2
}

// Leg returns the flow as its leg i sees it: leg 0 is s without its
// second leg; leg 1 has the second leg's destination, TTL, source and MID
// (s's own where the flow has no second leg, as when both paths carry the
// same addresses on two networks).
func (s *Stream) Leg(i int) Stream {
	l := *s
	l.Second = Leg{}
	if i == 1 && !s.Second.IsZero() {
		l.Dst, l.TTL, l.Source, l.MID = s.Second.Dst, s.Second.TTL, s.Second.Source, s.Second.MID
	}
	return l
}

// Session is an SDP session description holding ST 2110-20 video streams.
// Media descriptions that are not RTP raw video are skipped when parsing.
// The two media descriptions of an ST 2022-7 pair (a=group:DUP) are one
// Stream with a second leg ([Stream.Second]).
type Session struct {
	Origin  netip.Addr // o= unicast address
	ID      uint64     // o= session id
	Version uint64     // o= session version
	Name    string     // s=
	Info    string     // i=, optional
	// Groups are the a=group values other than the DUP pairs of Streams'
	// legs, such as "LS 1 2"; [Session.Marshal] writes a DUP group for
	// each stream with a second leg.
	Groups  []string
	Streams []Stream
}

// PacketizerConfig returns the packetizer configuration the stream
// describes: its packing (GPM if absent), payload size limit and payload type.
func (s *Stream) PacketizerConfig() *PacketizerConfig {
	return &PacketizerConfig{Packing: s.Packing, PayloadSize: s.MaxUDP, PayloadType: s.PayloadType}
}

// Limits of [ParseSDP]: the size of a session description and the number
// of its media descriptions (m= lines, of any kind). Each stream of an SDP
// becomes state and a frame buffer in a receiver, so the SDP must not
// choose how many.
const (
	MaxSDPSize  = 1 << 20
	MaxSDPMedia = 1024
)

// ParseSDP parses an SDP session description and the ST 2110-20 media in
// it: every m=video line with an "a=rtpmap:<pt> raw/90000" (any case, as
// GStreamer writes RAW). It accepts what FFmpeg and GStreamer write (which
// lack exactframerate, PM, SSN, TP and colorimetry, or use RFC 4175's
// colorimetry names) as well as full ST 2110-20 descriptions. A description
// longer than [MaxSDPSize] octets or with more than [MaxSDPMedia] media is
// refused, before its media are read (one whose m= lines start lines,
// before it is parsed at all).
//
// A raw video payload type that the m= line does not list, or that is 0
// (static, and "any" to the receivers), is an error; so is a c= address
// that is not an IP address of its address type (host names are not
// resolved), a c= number of addresses other than 1 (RFC 4566: the stream
// on that many consecutive groups; a Stream has one destination), an m=
// number of ports other than 1 (the stream on that many RTP ports), a
// transport other than RTP/AVP or RTP/AVPF (RTP over TCP, SRTP), and an
// exactframerate outside 1/1000 to 1000 pictures per second.
//
// A stream's Source is that of the inclusive a=source-filter (RFC 4570)
// of its medium, else of the session, whose destination is the medium's
// c= address or "*". A stream takes one source or any (the receivers join
// one source-specific group and take only its packets), so a filter that
// applies and lists several sources, two that name different ones, and an
// exclusive filter that applies are errors naming the line.
//
// An a=group:DUP of two raw video media (ST 2022-7 seamless protection,
// RFC 7104: a=mid names them) becomes one Stream with a second leg
// ([Stream.Second]), in the place of the first, and leaves Groups; its two
// media must describe the same format and payload type. A DUP group that
// names a medium twice, names more than two, or pairs a medium already
// paired is an error; one whose media are not both raw video stays in
// Groups, as do other groups.
func ParseSDP(b []byte) (*Session, error) {
	if len(b) > MaxSDPSize {
		return nil, fmt.Errorf("video: sdp of %d octets, at most %d", len(b), MaxSDPSize)
	}
	// pion/sdp ends the lines it reads field by field (m=, c=, t=, ...)
	// at a CR as well as at an LF, and skips blank lines, so an m= line
	// may start after either. (An a= line runs to its LF: a "\rm=" inside
	// one is counted too, which errs only towards refusing.)
	if n := bytes.Count(b, []byte("\nm=")) + bytes.Count(b, []byte("\rm=")) + bytes.Count(b[:min(len(b), 2)], []byte("m=")); n > MaxSDPMedia {
		return nil, fmt.Errorf("video: sdp with %d media descriptions, at most %d", n, MaxSDPMedia)
	}
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(string(b)); err != nil {
		return nil, fmt.Errorf("video: sdp: %w", err)
	}
	// The count above refuses the usual forms before pion parses them
	// (in memory linear in the size, which MaxSDPSize bounds); pion also
	// reads an m= that follows a c= address on its line, which only its
	// count sees.
	if n := len(sd.MediaDescriptions); n > MaxSDPMedia {
		return nil, fmt.Errorf("video: sdp with %d media descriptions, at most %d", n, MaxSDPMedia)
	}
	s := &Session{ID: sd.Origin.SessionID, Version: sd.Origin.SessionVersion, Name: string(sd.SessionName)}
	if a, err := netip.ParseAddr(sd.Origin.UnicastAddress); err == nil {
		s.Origin = a
	}
	if sd.SessionInformation != nil {
		s.Info = string(*sd.SessionInformation)
	}
	for _, a := range sd.Attributes {
		if a.Key == "group" {
			s.Groups = append(s.Groups, a.Value)
		}
	}
	filters := readSessionFilters(sd.Attributes)
	for i, md := range sd.MediaDescriptions {
		if md.MediaName.Media != "video" {
			continue
		}
		st, ok, err := parseMedia(b, &sd, filters, md)
		if err != nil {
			return nil, fmt.Errorf("video: sdp media %d (port %d): %w", i+1, md.MediaName.Port.Value, err)
		}
		if ok {
			s.Streams = append(s.Streams, st)
		}
	}
	if len(s.Streams) == 0 {
		return nil, fmt.Errorf("video: sdp has no raw/90000 video media")
	}
	if err := s.pairLegs(); err != nil {
		return nil, err
	}
	return s, nil
}

// pairLegs folds the media of each a=group:DUP pair of raw video streams
// into one Stream with a second leg, and takes the group out of Groups.
// Its work is linear in the groups' tokens and the streams.
func (s *Session) pairLegs() error {
	byMID := map[string]int{}
	for i := range s.Streams {
		m := s.Streams[i].MID
		if m == "" {
			continue
		}
		if _, dup := byMID[m]; dup {
			return fmt.Errorf("video: sdp: two raw video media have a=mid:%s", m)
		}
		byMID[m] = i
	}
	paired := make([]bool, len(s.Streams))
	second := make([]bool, len(s.Streams))
	groups := s.Groups[:0:0]
	for _, g := range s.Groups {
		f := strings.Fields(g)
		if len(f) == 0 || f[0] != "DUP" {
			groups = append(groups, g)
			continue
		}
		mids := f[1:]
		var idx []int
		for _, m := range mids {
			if i, ok := byMID[m]; ok {
				idx = append(idx, i)
			}
		}
		switch {
		case len(idx) < 2:
			groups = append(groups, g) // not a pair of raw video media
			continue
		case len(mids) > 2:
			return fmt.Errorf("video: sdp: a=group:%s: ST 2022-7 pairs two media, this group has %d", g, len(mids))
		case idx[0] == idx[1]:
			return fmt.Errorf("video: sdp: a=group:%s names a=mid:%s twice", g, mids[0])
		}
		a, b := &s.Streams[idx[0]], &s.Streams[idx[1]]
		if paired[idx[0]] || paired[idx[1]] {
			return fmt.Errorf("video: sdp: a=group:%s: a medium in two DUP groups", g)
		}
		if !sameFlow(a, b) {
			return fmt.Errorf("video: sdp: a=group:%s: the legs differ (format %v, payload type %d; format %v, payload type %d)",
				g, a.Format, a.PayloadType, b.Format, b.PayloadType)
		}
		a.Second = Leg{Dst: b.Dst, TTL: b.TTL, Source: b.Source, MID: b.MID}
		paired[idx[0]], paired[idx[1]], second[idx[1]] = true, true, true
	}
	s.Groups = groups
	if len(s.Groups) == 0 {
		s.Groups = nil
	}
	out := s.Streams[:0]
	for i := range s.Streams {
		if !second[i] {
			out = append(out, s.Streams[i])
		}
	}
	s.Streams = out
	return nil
}

// sameFlow reports whether a and b describe the same stream of packets,
// as the two legs of an ST 2022-7 pair must: format, payload type and the
// fmtp parameters that shape the packets.
func sameFlow(a, b *Stream) bool {
	return a.Format == b.Format && a.PayloadType == b.PayloadType && a.Packing == b.Packing &&
		a.MaxUDP == b.MaxUDP && a.Sender == b.Sender
}

// parseMedia reads one m=video description; ok is false if it is not RTP
// raw video.
func parseMedia(raw []byte, sd *sdp.SessionDescription, session *sessionFilters, md *sdp.MediaDescription) (st Stream, ok bool, err error) {
	pt := -1
	var fmtp string
	for _, a := range md.Attributes {
		if a.Key != "rtpmap" {
			continue
		}
		num, enc, _ := strings.Cut(a.Value, " ")
		name, clock, _ := strings.Cut(strings.TrimSpace(enc), "/")
		if !strings.EqualFold(name, "raw") {
			continue
		}
		if clock != "90000" {
			return st, false, fmt.Errorf("raw video clock rate %q, want 90000", clock)
		}
		n, err := strconv.ParseUint(num, 10, 7)
		if err != nil {
			return st, false, fmt.Errorf("rtpmap payload type %q", num)
		}
		pt = int(n)
		break
	}
	if pt < 0 {
		return st, false, nil
	}
	switch {
	case pt == 0:
		// Static (PCMU, RFC 3551), and to the receivers 0 means any.
		return st, false, errors.New("a=rtpmap:0 raw/90000: payload type 0 is not dynamic (PCMU's, RFC 3551); raw video takes one of 96..127")
	case !slices.Contains(md.MediaName.Formats, strconv.Itoa(pt)):
		return st, false, fmt.Errorf("a=rtpmap:%d raw/90000: payload type %d is not in the m= line's formats %v", pt, pt, md.MediaName.Formats)
	}
	st.PayloadType = uint8(pt)
	for _, a := range md.Attributes {
		switch a.Key {
		case "fmtp":
			num, params, _ := strings.Cut(a.Value, " ")
			if num == strconv.Itoa(pt) {
				fmtp = params
			}
		case "ts-refclk":
			st.RefClock = a.Value
		case "mediaclk":
			st.MediaClock = a.Value
		case "mid":
			st.MID = a.Value
		}
	}
	if fmtp == "" {
		return st, false, fmt.Errorf("no a=fmtp for payload type %d", pt)
	}
	// The transport (RFC 4566 section 5.14): RTP over UDP, the AV profile
	// (RFC 3551) or its feedback extension (RFC 4585), whose packets are
	// the same. Over TCP (RFC 4571) the stream never reaches a UDP port,
	// and SRTP's (SAVP) samples are encrypted: read as raw video they
	// would be noise, or nothing, rather than an error.
	if p := strings.Join(md.MediaName.Protos, "/"); p != "RTP/AVP" && p != "RTP/AVPF" {
		return st, false, fmt.Errorf("m=%s %d: transport %s; raw video is received as RTP/AVP (or RTP/AVPF) over UDP", md.MediaName.Media, md.MediaName.Port.Value, p)
	}
	// The number of ports (RFC 4566 section 5.14, m=<media> <port>/<number
	// of ports>): the stream would be sent to that many RTP ports from
	// <port> on (layered encoding), as with a c= count, which a stream
	// here (one destination, one port) cannot take; 1 is the port written.
	if r := md.MediaName.Port.Range; r != nil && *r != 1 {
		m := fmt.Sprintf("m=%s %s", md.MediaName.Media, portField(raw, md))
		if *r < 1 {
			return st, false, fmt.Errorf("%s: number of ports %d: want a positive integer (RFC 4566 section 5.14)", m, *r)
		}
		return st, false, fmt.Errorf("%s: %d ports (RFC 4566 section 5.14); only one port per stream is supported", m, *r)
	}
	if err := st.parseFmtp(fmtp); err != nil {
		return st, false, err
	}
	ci := md.ConnectionInformation
	if ci == nil {
		ci = sd.ConnectionInformation
	}
	if ci != nil && ci.Address != nil {
		// <address>[/<ttl>[/<count>]] for IPv4, <address>[/<count>] for IPv6
		// (RFC 4566 section 5.7); pion leaves the suffixes in Address.
		addr, rest, _ := strings.Cut(ci.Address.Address, "/")
		a, err := netip.ParseAddr(addr)
		switch {
		case err != nil || a.Zone() != "":
			return st, false, fmt.Errorf("c=%s %s %s: %q is not an IP address (host names are not resolved here)", ci.NetworkType, ci.AddressType, ci.Address.Address, addr)
		case ci.AddressType == "IP4" && !a.Is4(), ci.AddressType == "IP6" && !a.Is6():
			return st, false, fmt.Errorf("c=%s %s %s: %v is not an %s address", ci.NetworkType, ci.AddressType, ci.Address.Address, a, ci.AddressType)
		}
		st.Dst = netip.AddrPortFrom(a, uint16(md.MediaName.Port.Value))
		ttl, count := "", rest
		if a.Is4() {
			ttl, count, _ = strings.Cut(rest, "/")
		}
		// The number of addresses (RFC 4566 section 5.7): the stream
		// would be sent to that many consecutive groups, which a stream
		// here (one destination, one join) cannot take; 1 is the one
		// address written.
		if count != "" {
			n, err := strconv.Atoi(count)
			switch {
			case err != nil || n < 1:
				return st, false, fmt.Errorf("c=%s %s %s: number of addresses %q: want a positive integer (RFC 4566 section 5.7)", ci.NetworkType, ci.AddressType, ci.Address.Address, count)
			case n > 1:
				return st, false, fmt.Errorf("c=%s %s %s: %d consecutive addresses (RFC 4566 section 5.7); only one address per stream is supported", ci.NetworkType, ci.AddressType, ci.Address.Address, n)
			}
		}
		if a.Is4() && ttl != "" {
			if st.TTL, err = strconv.Atoi(ttl); err != nil || st.TTL < 0 || st.TTL > 255 {
				return st, false, fmt.Errorf("c=%s %s %s: TTL %q: want an integer 0..255 (RFC 4566 section 5.7)", ci.NetworkType, ci.AddressType, ci.Address.Address, ttl)
			}
		}
		if ci.Address.TTL != nil {
			st.TTL = *ci.Address.TTL
		}
		if !a.IsMulticast() {
			st.TTL = 0 // RFC 4566 section 5.7: a TTL goes with a multicast address only; Marshal writes none for others
		}
	}
	// The medium's own source filters, else the session's (RFC 4570
	// section 3: a filter at the session level applies to every medium).
	src, found, err := sourceFilter(md.Attributes, st.Dst.Addr())
	if err == nil && !found {
		src, _, err = session.source(st.Dst.Addr())
	}
	if err != nil {
		return st, false, err
	}
	st.Source = src
	return st, true, nil
}

// portField returns the <port>/<number of ports> field of the m= line in
// raw that pion read as md, as it is written there ("5000/+2", which pion
// reads as 2), or PORT/COUNT if no line has md's media, port and count.
// It is only called for an error: its work is linear in raw.
func portField(raw []byte, md *sdp.MediaDescription) string {
	mn := &md.MediaName
	for _, line := range strings.FieldsFunc(string(raw), func(r rune) bool { return r == '\n' || r == '\r' }) {
		rest, ok := strings.CutPrefix(line, "m=")
		f := strings.Fields(rest)
		if !ok || len(f) < 2 || f[0] != mn.Media {
			continue
		}
		parts := strings.Split(f[1], "/")
		if len(parts) < 2 {
			continue
		}
		p, perr := strconv.Atoi(parts[0])
		n, nerr := strconv.Atoi(parts[1])
		if perr == nil && nerr == nil && p == mn.Port.Value && n == *mn.Port.Range {
			return f[1]
		}
	}
	return fmt.Sprintf("%d/%d", mn.Port.Value, *mn.Port.Range)
}

// sourceFilter returns the source of the inclusive a=source-filter of
// attrs that applies to destination dst (RFC 4570: its destination address
// is dst, or "*"); found is false if none does. A filter for another
// destination (another medium's group, or a host name, which this package
// does not resolve) is passed over. A stream here has one source or any:
// the receivers join one source-specific group and take only that source's
// packets. So an inclusive filter that lists more than one source, a second
// one that names another source, and an exclusive filter that applies
// (which would take every source but some) are errors naming the line,
// rather than a source left out in silence; so is a source that is not an
// IP address of dst's family, and a filter that cannot be read at all.
func sourceFilter(attrs []sdp.Attribute, dst netip.Addr) (src netip.Addr, found bool, err error) {
	var st srcState
	for _, a := range attrs {
		if a.Key != "source-filter" {
			continue
		}
		fl, ok := readSourceFilter(a.Value)
		if !ok || !fl.all && fl.dest != dst.Unmap() {
			continue
		}
		if err := fl.apply(dst, &st); err != nil {
			return netip.Addr{}, false, err
		}
	}
	return st.src, st.found, nil
}

// srcFilter is one a=source-filter line, read.
type srcFilter struct {
	value string     // the attribute's value, for errors
	all   bool       // for every destination: "*", or a line that cannot be read
	dest  netip.Addr // else the destination it applies to, unmapped
	src   netip.Addr // its one source, if err is nil
	err   error      // what is wrong with it wherever it applies
}

// srcState is what the filters that apply to a stream have said so far.
type srcState struct {
	src   netip.Addr
	found bool
	first string // the filter that named src first
}

// readSourceFilter reads the value v of an a=source-filter; ok is false
// for a filter whose destination is not an IP address (a host name),
// which applies to no stream.
func readSourceFilter(v string) (fl srcFilter, ok bool) {
	fl.value = v
	// <filter-mode> <nettype> <address-types> <dest-address> <src-list>
	// RFC 4570's ABNF: the filter mode, network and address types are
	// case-insensitive.
	f := strings.Fields(v)
	if len(f) >= 3 {
		f[0], f[1], f[2] = strings.ToLower(f[0]), strings.ToUpper(f[1]), strings.ToUpper(f[2])
	}
	if len(f) < 5 || f[1] != "IN" || f[2] != "IP4" && f[2] != "IP6" && f[2] != "*" {
		fl.all, fl.err = true, fmt.Errorf("a=source-filter:%s: want incl|excl IN IP4|IP6|* <destination> <sources>", v)
		return fl, true
	}
	if f[3] == "*" {
		fl.all = true
	} else if d, err := netip.ParseAddr(f[3]); err == nil {
		fl.dest = d.Unmap()
	} else {
		return fl, false
	}
	switch f[0] {
	case "incl":
	case "excl":
		fl.err = fmt.Errorf("a=source-filter:%s: exclusive source filters are not supported (a stream takes one source or any)", v)
		return fl, true
	default:
		fl.err = fmt.Errorf("a=source-filter:%s: filter mode %q, want incl or excl", v, f[0])
		return fl, true
	}
	if n := len(f) - 4; n > 1 {
		fl.err = fmt.Errorf("a=source-filter:%s: %d sources; only one source per stream is supported (the receivers join and take one source)", v, n)
		return fl, true
	}
	s, err := netip.ParseAddr(f[4])
	switch {
	case err != nil || s.Zone() != "":
		fl.err = fmt.Errorf("a=source-filter:%s: source %q is not an IP address", v, f[4])
	case f[2] == "IP4" && !s.Is4(), f[2] == "IP6" && !s.Is6():
		fl.err = fmt.Errorf("a=source-filter:%s: source %v is not an %s address", v, s, f[2])
	default:
		fl.src = s
	}
	return fl, true
}

// apply takes the filter fl, which applies to destination dst, into st.
func (fl *srcFilter) apply(dst netip.Addr, st *srcState) error {
	switch {
	case fl.err != nil:
		return fl.err
	case dst.IsValid() && fl.src.Is4() != dst.Unmap().Is4():
		return fmt.Errorf("a=source-filter:%s: source %v and destination %v are not of one IP version", fl.value, fl.src, dst)
	case st.found && fl.src != st.src:
		return fmt.Errorf("a=source-filter:%s: a second source for %v (a=source-filter:%s names %v); only one source per stream is supported (the receivers join and take one source)", fl.value, dst, st.first, st.src)
	}
	if !st.found {
		st.src, st.found, st.first = fl.src, true, fl.value
	}
	return nil
}

// sessionFilters are the session-level a=source-filter lines, read once
// for all the media: what sourceFilter(attrs, dst) returns for each
// destination, at a cost linear in the filters and the media. (Read
// again for each medium, a session of some thousand filters and a
// thousand media took seconds.)
type sessionFilters struct {
	list []srcFilter
	all  []int // the filters (indices in list) for every destination
	// next[k] is the first position after k in all whose filter is not
	// one without error naming all[k]'s source, or len(all): the
	// filters between change nothing once all[k] has applied.
	next  []int
	byDst map[netip.Addr][]int // the other filters, by destination
	memo  map[netip.Addr]srcResult
	// applied counts the filters applied, for the tests that check
	// the cost stays linear.
	applied int
}

type srcResult struct {
	src   netip.Addr
	found bool
	err   error
}

func readSessionFilters(attrs []sdp.Attribute) *sessionFilters {
	sf := &sessionFilters{byDst: map[netip.Addr][]int{}, memo: map[netip.Addr]srcResult{}}
	for _, a := range attrs {
		if a.Key != "source-filter" {
			continue
		}
		fl, ok := readSourceFilter(a.Value)
		if !ok {
			continue
		}
		i := len(sf.list)
		sf.list = append(sf.list, fl)
		if fl.all {
			sf.all = append(sf.all, i)
		} else {
			sf.byDst[fl.dest] = append(sf.byDst[fl.dest], i)
		}
	}
	sf.next = make([]int, len(sf.all))
	for k := len(sf.all) - 1; k >= 0; k-- {
		sf.next[k] = k + 1
		if k+1 < len(sf.all) {
			a, b := &sf.list[sf.all[k]], &sf.list[sf.all[k+1]]
			if a.err == nil && b.err == nil && a.src == b.src {
				sf.next[k] = sf.next[k+1]
			}
		}
	}
	return sf
}

// source is sourceFilter(attrs, dst) for the session's attributes.
func (sf *sessionFilters) source(dst netip.Addr) (netip.Addr, bool, error) {
	if r, ok := sf.memo[dst]; ok {
		return r.src, r.found, r.err
	}
	var spec []int
	if dst.IsValid() {
		spec = sf.byDst[dst.Unmap()]
	}
	var st srcState
	var err error
	for i, w := 0, 0; err == nil && (i < len(spec) || w < len(sf.all)); {
		sf.applied++
		if w == len(sf.all) || i < len(spec) && spec[i] < sf.all[w] {
			err = sf.list[spec[i]].apply(dst, &st)
			i++
		} else {
			err = sf.list[sf.all[w]].apply(dst, &st)
			w = sf.next[w]
		}
	}
	r := srcResult{st.src, st.found, err}
	if err != nil {
		r = srcResult{err: err}
	}
	sf.memo[dst] = r
	return r.src, r.found, r.err
}

// parseFmtp parses the parameters of an ST 2110-20 a=fmtp line (after the
// payload type) into the stream's format and transport fields, which it
// leaves as they were on an error. A key repeated is read again, and the
// last value counts (as in FFmpeg's RFC 4175 reader), without an
// allocation per repeat; each value is read as it comes, so one that does
// not read refuses the line though a later one would read.
func (s *Stream) parseFmtp(params string) error {
	// The readers take st and give it back by value: a pointer passed
	// through a table of funcs would put it (and s) on the heap.
	st := fmtpState{Stream: *s}
	st.Format.Scan = Progressive
	var have [len(fmtpKeys)]bool
	for p := range strings.SplitSeq(params, ";") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		key, val, hasVal := strings.Cut(p, "=")
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		i := fmtpKey(key)
		if i < 0 {
			continue // a key not read: no record of it is kept
		}
		have[i] = true
		var err error
		if st, err = fmtpKeys[i].read(st, val, hasVal); err != nil {
			return err
		}
	}
	for i, k := range fmtpKeys {
		if k.required && !have[i] {
			return fmt.Errorf("video: fmtp lacks %s", k.name)
		}
	}
	switch {
	case st.segmented && !st.interlace:
		return fmt.Errorf("video: fmtp has segmented without interlace")
	case st.segmented:
		st.Format.Scan = PsF
	case st.interlace:
		st.Format.Scan = Interlaced
	}
	if err := st.Format.Validate(); err != nil {
		return err
	}
	*s = st.Stream
	return nil
}

// fmtpState is what parseFmtp has read of an fmtp line: the stream, and
// the flags that decide its scan once the line is read.
type fmtpState struct {
	Stream
	interlace, segmented bool
}

// fmtpParam is an fmtp key parseFmtp reads: its name in lower case,
// whether parseFmtp requires it (the four a format cannot do without;
// ST 2110-20 requires more), and how its value (hasVal false for a key
// without "=") is read into st, which it returns.
type fmtpParam struct {
	name     string
	required bool
	read     func(st fmtpState, val string, hasVal bool) (fmtpState, error)
}

// fmtpKeys are the fmtp keys parseFmtp reads, each with its reader, so a
// key cannot be listed without being read nor read without being listed.
var fmtpKeys = [...]fmtpParam{
	{"sampling", true, func(st fmtpState, v string, _ bool) (_ fmtpState, err error) {
		st.Format.Sampling, err = ParseSampling(v)
		return st, err
	}},
	{"depth", true, func(st fmtpState, v string, _ bool) (_ fmtpState, err error) {
		st.Format.Depth, err = ParseDepth(v)
		return st, err
	}},
	{"width", true, func(st fmtpState, v string, _ bool) (_ fmtpState, err error) {
		st.Format.Width, err = parseDim("width", v)
		return st, err
	}},
	{"height", true, func(st fmtpState, v string, _ bool) (_ fmtpState, err error) {
		st.Format.Height, err = parseDim("height", v)
		return st, err
	}},
	{"exactframerate", false, func(st fmtpState, v string, _ bool) (_ fmtpState, err error) {
		st.Format.Rate, err = parseRate(v)
		return st, err
	}},
	{"colorimetry", false, func(st fmtpState, v string, _ bool) (_ fmtpState, err error) {
		st.Format.Colorimetry, err = ParseColorimetry(v)
		return st, err
	}},
	{"tcs", false, func(st fmtpState, v string, _ bool) (_ fmtpState, err error) {
		st.Format.TCS, err = ParseTCS(v)
		return st, err
	}},
	{"range", false, func(st fmtpState, v string, _ bool) (_ fmtpState, err error) {
		st.Format.Range, err = ParseRange(v)
		return st, err
	}},
	{"par", false, func(st fmtpState, v string, _ bool) (_ fmtpState, err error) {
		st.Format.PAR, err = parsePAR(v)
		return st, err
	}},
	{"interlace", false, func(st fmtpState, v string, hasVal bool) (fmtpState, error) {
		st.interlace = fmtpFlag(v, hasVal)
		return st, nil
	}},
	{"segmented", false, func(st fmtpState, v string, hasVal bool) (fmtpState, error) {
		st.segmented = fmtpFlag(v, hasVal)
		return st, nil
	}},
	{"pm", false, func(st fmtpState, v string, _ bool) (fmtpState, error) {
		switch v {
		case "2110GPM":
			st.Packing = GPM
		case "2110BPM":
			st.Packing = BPM
		default:
			return st, fmt.Errorf("video: unknown PM %q", v)
		}
		return st, nil
	}},
	{"tp", false, func(st fmtpState, v string, _ bool) (fmtpState, error) {
		switch v {
		case "2110TPN":
			st.Sender = SenderNarrow
		case "2110TPNL":
			st.Sender = SenderNarrowLinear
		case "2110TPW":
			st.Sender = SenderWide
		default:
			return st, fmt.Errorf("video: unknown TP %q", v)
		}
		return st, nil
	}},
	{"ssn", false, func(st fmtpState, v string, _ bool) (fmtpState, error) {
		st.SSN = v
		return st, nil
	}},
	{"maxudp", false, func(st fmtpState, v string, _ bool) (_ fmtpState, err error) {
		st.MaxUDP, err = strconv.Atoi(v)
		if err == nil && st.MaxUDP != MaxUDP && st.MaxUDP != MaxUDPExtended {
			err = fmt.Errorf("video: MAXUDP %d (want %d or %d)", st.MaxUDP, MaxUDP, MaxUDPExtended)
		}
		return st, err
	}},
	{"troff", false, func(st fmtpState, v string, _ bool) (_ fmtpState, err error) {
		st.TROff, err = parsePositive("TROFF", v)
		return st, err
	}},
	{"cmax", false, func(st fmtpState, v string, _ bool) (_ fmtpState, err error) {
		st.CMax, err = parsePositive("CMAX", v)
		return st, err
	}},
}

// fmtpFlag reads a flag key such as interlace: set when it has no value
// or one other than "false" and "0".
func fmtpFlag(v string, hasVal bool) bool {
	return !hasVal || (v != "false" && v != "0")
}

// fmtpKeyMax is the size of fmtpKey's buffer: at least the longest name
// of fmtpKeys (TestFmtpKeys checks that each is found).
const fmtpKeyMax = 16

// fmtpKey returns the index in fmtpKeys of key as strings.ToLower lowers
// it, or -1 for a key parseFmtp does not read; it lowers key into a
// buffer of its own, bounded, without allocating.
func fmtpKey(key string) int {
	var buf [fmtpKeyMax]byte
	b := buf[:0]
	for _, r := range key {
		r = unicode.ToLower(r)
		if len(b)+utf8.RuneLen(r) > len(buf) {
			return -1
		}
		b = utf8.AppendRune(b, r)
	}
	for i, k := range fmtpKeys {
		if string(b) == k.name {
			return i
		}
	}
	return -1
}

func parseDim(name, v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > MaxDimension {
		return 0, fmt.Errorf("video: %s %q out of range 1..%d", name, v, MaxDimension)
	}
	return n, nil
}

func parsePositive(name, v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("video: %s %q", name, v)
	}
	return n, nil
}

// parseRate reads "25" or "30000/1001" and reduces it to lowest terms.
func parseRate(v string) (Rate, error) {
	ns, ds, ratio := strings.Cut(v, "/")
	n, err1 := strconv.ParseUint(ns, 10, 32)
	d := uint64(1)
	var err2 error
	if ratio {
		d, err2 = strconv.ParseUint(ds, 10, 32)
	}
	if err1 != nil || err2 != nil || n == 0 || d == 0 {
		return Rate{}, fmt.Errorf("video: exactframerate %q", v)
	}
	// Euclid on two 32-bit values: at most some 47 steps and no
	// allocation, however often an fmtp line repeats the key.
	n, d = reduce(n, d)
	r := Rate{uint32(n), uint32(d)}
	if !r.inRange() {
		return Rate{}, fmt.Errorf("video: exactframerate %q: want 1/%d to %d pictures per second", v, maxRate, maxRate)
	}
	return r, nil
}

func parsePAR(v string) ([2]int, error) {
	ws, hs, ok := strings.Cut(v, ":")
	w, err1 := strconv.Atoi(ws)
	h, err2 := strconv.Atoi(hs)
	if !ok || err1 != nil || err2 != nil || w < 1 || h < 1 {
		return [2]int{}, fmt.Errorf("video: PAR %q", v)
	}
	return [2]int{w, h}, nil
}

// Fmtp returns the parameters of the stream's a=fmtp line (without the
// payload type) as the ST 2110-20 example writes them: in its order, each
// followed by ";", separated by spaces. Absent values get ST 2110 defaults:
// PM 2110GPM, SSN ST2110-20:2017, TP 2110TPW (a sender without a hardware
// shaper), colorimetry UNSPECIFIED.
func (s *Stream) Fmtp() (string, error) {
	f := &s.Format
	if err := f.Validate(); err != nil {
		return "", err
	}
	if f.Rate.IsZero() {
		return "", fmt.Errorf("video: exactframerate is required in ST 2110-20 SDP")
	}
	var b strings.Builder
	kv := func(k string, v any) { fmt.Fprintf(&b, "%s=%v; ", k, v) }
	kv("sampling", f.Sampling)
	kv("width", f.Width)
	kv("height", f.Height)
	kv("exactframerate", f.Rate)
	kv("depth", f.Depth)
	if f.TCS != 0 {
		kv("TCS", f.TCS)
	}
	c := f.Colorimetry
	if c == 0 {
		c = ColorimetryUnspecified
	}
	kv("colorimetry", c)
	pm := s.Packing
	if pm == 0 {
		pm = GPM
	}
	kv("PM", pm)
	ssn := s.SSN
	if ssn == "" {
		ssn = DefaultSSN
	}
	kv("SSN", ssn)
	tp := s.Sender
	if tp == 0 {
		tp = SenderWide
	}
	kv("TP", tp)
	if f.Scan != Progressive {
		b.WriteString("interlace; ")
	}
	if f.Scan == PsF {
		b.WriteString("segmented; ")
	}
	if f.Range != 0 {
		kv("RANGE", f.Range)
	}
	if s.MaxUDP != 0 {
		kv("MAXUDP", s.MaxUDP)
	}
	if f.PAR != [2]int{} {
		kv("PAR", fmt.Sprintf("%d:%d", f.PAR[0], f.PAR[1]))
	}
	if s.TROff != 0 {
		kv("TROFF", s.TROff)
	}
	if s.CMax != 0 {
		kv("CMAX", s.CMax)
	}
	return strings.TrimSuffix(b.String(), " "), nil
}

// Marshal writes the session as SDP with pion/sdp: per stream an m=video
// line, c=, a=source-filter (if Source is set), a=rtpmap raw/90000, a=fmtp,
// a=ts-refclk (if set; ST 2110-10 requires one), a=mediaclk (direct=0 if
// unset) and a=mid (if set). A stream with a second leg ([Stream.Second])
// is two media descriptions, the first leg's then the second's, with an
// a=mid each ("primary" and "secondary", numbered from the second such
// stream on, where the legs name none) and a session-level a=group:DUP
// of the two (RFC 7104), as ST 2110-10 writes ST 2022-7 pairs.
//
// Marshal refuses what [ParseSDP] would not read back as it was written: a
// string field with a line break (which would add lines of its own), a
// TTL outside 1..255 or on other than an IPv4 multicast destination
// (IPv6's c= has no TTL), a negative TROFF or CMAX, a MAXUDP other than
// 1460 or 8960, a source of the other IP version than its destination, an
// address with a zone or an IPv4-mapped IPv6 address, and a group of
// Groups that would pair two streams' media (give the second leg as
// [Stream.Second]).
func (s *Session) Marshal() ([]byte, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	orig := s.Origin
	if !orig.IsValid() {
		orig = netip.IPv4Unspecified()
	}
	sd := &sdp.SessionDescription{
		Origin: sdp.Origin{Username: "-", SessionID: s.ID, SessionVersion: s.Version,
			NetworkType: "IN", AddressType: addrType(orig), UnicastAddress: orig.String()},
		SessionName:      sdp.SessionName(s.Name),
		TimeDescriptions: []sdp.TimeDescription{{}},
	}
	if sd.SessionName == "" {
		sd.SessionName = "-"
	}
	if s.Info != "" {
		info := sdp.Information(s.Info)
		sd.SessionInformation = &info
	}
	mids, dups, err := s.legMIDs()
	if err != nil {
		return nil, err
	}
	if err := s.checkGroups(mids, &dups); err != nil {
		return nil, err
	}
	s.writeGroups(sd, &dups)
	for i := range s.Streams {
		st := &s.Streams[i]
		for leg := range st.Legs() {
			l := st.Leg(leg)
			l.MID = mids[i][leg]
			md, err := l.media(i + 1)
			if err != nil {
				return nil, err
			}
			sd.WithMedia(md)
		}
	}
	return sd.Marshal()
}

// check refuses the session-level fields Marshal cannot write as they are
// (see Marshal); media checks the streams'.
func (s *Session) check() error {
	for _, f := range []struct{ name, v string }{{"Name", s.Name}, {"Info", s.Info}} {
		if err := sdpText("session "+f.name, f.v); err != nil {
			return err
		}
	}
	if s.Origin.Zone() != "" || s.Origin.Is4In6() {
		return fmt.Errorf("video: sdp: origin address %v: want an IPv4 or IPv6 address without a zone", s.Origin)
	}
	for _, g := range s.Groups {
		if err := sdpText("a=group", g); err != nil {
			return err
		}
	}
	return nil
}

// writeGroups adds the a=group attributes of Groups but the pairs' (dups),
// then the pairs'.
func (s *Session) writeGroups(sd *sdp.SessionDescription, dups *pairGroups) {
	for _, g := range s.Groups {
		if !dups.has(g) {
			sd.WithValueAttribute("group", g)
		}
	}
	for _, g := range dups.list {
		sd.WithValueAttribute("group", g)
	}
}

// pairGroups are the a=group:DUP values Marshal writes for the streams
// with a second leg: in the streams' order, and as a set (nil without a
// pair), looked up once for each of Groups (twice over) at a cost that
// does not grow with the pairs. (Searched in the list, Groups times
// pairs: a 1 MiB SDP of 512 pairs and 25000 groups of its own took some
// 55 ms to write back.)
type pairGroups struct {
	list []string
	set  map[string]bool
	// lookups counts has's calls, with the tag nmgo_workcount only
	// (workcount.go), for the test of the cost.
	lookups workCount
}

// has reports whether g is one of the pairs' groups: from the set alone,
// never searching the list.
func (p *pairGroups) has(g string) bool {
	p.lookups.add(1)
	return p.set[g]
}

// checkGroups refuses a DUP group of Groups, other than those Marshal
// writes for the pairs (dups), that names two of the media by their
// a=mid (mids): ParseSDP would pair them, or refuse the group.
func (s *Session) checkGroups(mids [][2]string, dups *pairGroups) error {
	known := map[string]bool{}
	for i := range s.Streams {
		for leg := range s.Streams[i].Legs() {
			known[mids[i][leg]] = mids[i][leg] != ""
		}
	}
	for _, g := range s.Groups {
		f := strings.Fields(g)
		if len(f) == 0 || f[0] != "DUP" || dups.has(g) {
			continue
		}
		n := 0
		for _, m := range f[1:] {
			if known[m] {
				n++
			}
		}
		if n >= 2 {
			return fmt.Errorf("video: sdp: a=group:%s names two media: give a flow's second leg as Stream.Second", g)
		}
	}
	return nil
}

// isToken reports whether s is an RFC 4566 token (as an a=mid value must
// be, RFC 5888): printable ASCII without blanks or the separators
// (),/:;<=>?@[]\ and double quote.
func isToken(s string) bool {
	for _, r := range s {
		if r <= ' ' || r >= 0x7f || strings.ContainsRune("\"(),/:;<=>?@[\\]", r) {
			return false
		}
	}
	return true
}

// sdpText refuses a value that would break its SDP line: a line break, or
// a NUL (RFC 4566 text excludes both).
func sdpText(what, v string) error {
	if strings.ContainsAny(v, "\r\n\x00") {
		return fmt.Errorf("video: sdp: %s %q: a line break or NUL in an SDP value", what, v)
	}
	return nil
}

// legMIDs returns the a=mid of each leg of each stream (the stream's own,
// or for the legs of a pair that name none, "primary" and "secondary",
// then "primary2" and "secondary2", ...) and the a=group:DUP value of
// each pair. Two media with one a=mid are an error.
func (s *Session) legMIDs() ([][2]string, pairGroups, error) {
	mids := make([][2]string, len(s.Streams))
	seen := map[string]bool{}
	pairs := 0
	for i := range s.Streams {
		st := &s.Streams[i]
		mids[i] = [2]string{st.MID, st.Second.MID}
		if st.Legs() == 2 {
			pairs++
			n := ""
			if pairs > 1 {
				n = strconv.Itoa(pairs)
			}
			if mids[i][0] == "" {
				mids[i][0] = "primary" + n
			}
			if mids[i][1] == "" {
				mids[i][1] = "secondary" + n
			}
		}
		for leg := range st.Legs() {
			m := mids[i][leg]
			if m == "" {
				continue
			}
			if seen[m] || !isToken(m) {
				return nil, pairGroups{}, fmt.Errorf("video: stream %d: a=mid %q is used twice or is not a token", i+1, m)
			}
			seen[m] = true
		}
	}
	var dups pairGroups
	for i := range s.Streams {
		if s.Streams[i].Legs() == 2 {
			g := "DUP " + mids[i][0] + " " + mids[i][1]
			if dups.set == nil {
				dups.set = make(map[string]bool, pairs)
			}
			dups.list = append(dups.list, g)
			dups.set[g] = true
		}
	}
	return mids, dups, nil
}

// media returns the media description of one leg of stream number n.
func (st *Stream) media(n int) (*sdp.MediaDescription, error) {
	fmtp, err := st.Fmtp()
	if err != nil {
		return nil, streamErr(n, err)
	}
	if st.PayloadType < 96 || st.PayloadType > 127 {
		return nil, fmt.Errorf("video: stream %d: payload type %d not dynamic (96..127)", n, st.PayloadType)
	}
	dst := st.Dst.Addr()
	if !dst.IsValid() {
		return nil, fmt.Errorf("video: stream %d: no destination address", n)
	}
	if dst.Zone() != "" || dst.Is4In6() {
		return nil, fmt.Errorf("video: stream %d: destination %v: want an IPv4 or IPv6 address without a zone", n, dst)
	}
	if st.Source.IsValid() && (st.Source.Zone() != "" || st.Source.Is4() != dst.Is4() || st.Source.Is4In6()) {
		return nil, fmt.Errorf("video: stream %d: source %v of destination %v: want an address of the same IP version without a zone", n, st.Source, dst)
	}
	switch {
	case st.TTL < 0 || st.TTL > 255:
		return nil, fmt.Errorf("video: stream %d: TTL %d out of range 0..255", n, st.TTL)
	case st.TTL != 0 && (!dst.Is4() || !dst.IsMulticast()):
		return nil, fmt.Errorf("video: stream %d: TTL %d: c= has a TTL for IPv4 multicast only, not %v", n, st.TTL, dst)
	case st.TROff < 0 || st.CMax < 0:
		return nil, fmt.Errorf("video: stream %d: negative TROFF (%d) or CMAX (%d)", n, st.TROff, st.CMax)
	case st.MaxUDP != 0 && st.MaxUDP != MaxUDP && st.MaxUDP != MaxUDPExtended:
		return nil, fmt.Errorf("video: stream %d: MAXUDP %d (want %d or %d, or 0 for none)", n, st.MaxUDP, MaxUDP, MaxUDPExtended)
	case strings.ContainsFunc(st.SSN, func(r rune) bool { return r <= ' ' || r == ';' || r >= 0x7f }):
		return nil, fmt.Errorf("video: stream %d: SSN %q: want printable ASCII without blanks or semicolons (they would end it in a=fmtp)", n, st.SSN)
	}
	for _, f := range []struct{ name, v string }{{"SSN", st.SSN}, {"a=ts-refclk", st.RefClock}, {"a=mediaclk", st.MediaClock}} {
		if err := sdpText(fmt.Sprintf("stream %d: %s", n, f.name), f.v); err != nil {
			return nil, err
		}
	}
	pt := strconv.Itoa(int(st.PayloadType))
	md := &sdp.MediaDescription{
		MediaName: sdp.MediaName{Media: "video", Port: sdp.RangedPort{Value: int(st.Dst.Port())},
			Protos: []string{"RTP", "AVP"}, Formats: []string{pt}},
		ConnectionInformation: &sdp.ConnectionInformation{NetworkType: "IN", AddressType: addrType(st.Dst.Addr()),
			Address: &sdp.Address{Address: st.Dst.Addr().String()}},
	}
	if st.TTL != 0 {
		ttl := st.TTL
		md.ConnectionInformation.Address.TTL = &ttl
	}
	if st.Source.IsValid() {
		md.WithValueAttribute("source-filter", fmt.Sprintf(" incl IN %s %s %s",
			addrType(st.Dst.Addr()), st.Dst.Addr(), st.Source))
	}
	md.WithValueAttribute("rtpmap", pt+" raw/90000")
	md.WithValueAttribute("fmtp", pt+" "+fmtp)
	if st.RefClock != "" {
		md.WithValueAttribute("ts-refclk", st.RefClock)
	}
	mc := st.MediaClock
	if mc == "" {
		mc = "direct=0"
	}
	md.WithValueAttribute("mediaclk", mc)
	if st.MID != "" {
		md.WithValueAttribute("mid", st.MID)
	}
	return md, nil
}

func addrType(a netip.Addr) string {
	if a.Is6() && !a.Is4In6() {
		return "IP6"
	}
	return "IP4"
}
