package nmsys

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrBadName is matched by every [*NameError]: errors.Is(err, ErrBadName)
// tells a malformed port name apart from a kernel refusal.
var ErrBadName = errors.New("bad port name")

// NameError reports a port name that [ParseName] rejects, and where.
type NameError struct {
	Name string // the name as given
	Pos  int    // byte offset in Name of the offending byte; len(Name) if something is missing at the end
	Msg  string // what is wrong
}

// Error returns the message in the form
// `nmsys: bad port name "netmap:eth0-x" at 12: ring number expected`.
func (e *NameError) Error() string {
	return fmt.Sprintf("nmsys: bad port name %q at %d: %s", e.Name, e.Pos, e.Msg)
}

// Is reports whether target is [ErrBadName].
func (e *NameError) Is(target error) bool { return target == ErrBadName }

// Limits of the name grammar.
const (
	maxKernelName = 63    // nmreq_header.nr_name holds 63 bytes and a NUL
	maxRingID     = 4094  // "-N", "^N": 0 <= N < NETMAP_RING_MASK (4095)
	maxMemID      = 65535 // nr_mem_id is a uint16; 0 means none
	maxValeSwitch = 15    // the kernel wants the ':' within the first 16 bytes
	maxValePort   = 15    // and at most IFNAMSIZ-1 bytes after it
	maxConfRings  = 1024
	maxConfSlots  = 65535
)

// ParseName parses a port name in the grammar of netmap's libnetmap
// (nmport_parse):
//
//	[netmap:]IFNAME[PIPE][MODE][/FLAGS][@MEMID][@OPTION]...
//	valeSWITCH:PORT[PIPE][MODE][/FLAGS][@MEMID][@OPTION]...
//
// The kernel name, [Name.Port], is everything up to the first of "-*^/@"
// minus the "netmap:" prefix; a VALE name keeps its "valeSWITCH:" prefix. A
// name with neither prefix is read as if "netmap:" came first, as netmap's
// pkt-gen does, so "eth0" is "netmap:eth0"; "netmap:vale..." is an error,
// and so is any other port (or pipe parent) whose name starts with "val",
// which netmap takes for a VALE port.
// IFNAME is printable ASCII without spaces or ':'; SWITCH is [0-9A-Za-z_]*
// with the ':' within the first 16 bytes, and PORT is 1 to 15 bytes of
// printable ASCII without spaces, as the kernel takes it (netmap's man
// page asks for [0-9A-Za-z_]+, but the kernel checks only the switch name,
// and the port of "vale0:eth0.100" is the VLAN interface eth0.100). The
// kernel name is at most 63 bytes.
//
// PIPE is "{ID" (master end) or "}ID" (slave end) of a netmap pipe, ID
// [0-9A-Za-z_]+, one bracket only; it stays in the kernel name. A pipe
// has no host rings: its MODE is none or "-N".
//
// MODE, at most one: none binds all NIC rings ([ModeAllNIC]); "^" all host
// rings ([ModeSW]); "^N" host ring N ([ModeOneSW]); "*" NIC and host rings
// ([ModeNICSW]); "-N" NIC ring N ([ModeOneNIC]). N is decimal, 0..4094.
//
// FLAGS, one or more of: x [FlagExclusive], z [FlagZeroCopyMonitor],
// t [FlagMonitorTX], r [FlagMonitorRX], R [FlagRxRingsOnly],
// T [FlagTxRingsOnly]; R and T exclude each other.
//
// "@N" selects memory region N, 1..65535; it may be repeated with the same
// N, and further "/FLAGS" may follow it. "@" followed by a non-digit starts
// an option, which runs to the next "@":
//
//   - "@share=PORT" or "@share:port=PORT": use the memory region of PORT, a
//     port name without suffixes ([Name.Share] holds its kernel name). It
//     excludes "@N".
//   - "@conf:KEY=N,...": ring geometry ([Name.Conf]). Keys rings,
//     host-rings, slots set both directions; tx-rings, rx-rings,
//     host-tx-rings, host-rx-rings, tx-slots, rx-slots set one and win over
//     the general keys whatever the order. "_" may replace "-". Ring counts
//     are 1..1024, slot counts 1..65535; a key may appear only once.
//   - "@extmem" and "@offset" are recognised, but nmgo does not support them
//     yet and reports an error.
//
// Every error is a [*NameError] pointing at the offending byte.
func ParseName(s string) (*Name, error) {
	p := nameParser{s: s}
	n := &Name{Mode: ModeAllNIC}
	port, err := p.kernelName(len(s))
	if err != nil {
		return nil, err
	}
	n.Port = port
	modePos := p.i
	if err := p.mode(n); err != nil {
		return nil, err
	}
	if isPipe(port) && !pipeMode(n.Mode) {
		return nil, p.fail(modePos, "a pipe has no host rings: netmap binds only its NIC rings (no mode, or -N)")
	}
	var conf confSet
	memPos := -1 // where the first @N or @share was, for conflict reports
	for p.i < len(s) {
		switch s[p.i] {
		case '/':
			if err := p.flags(n); err != nil {
				return nil, err
			}
		case '@':
			p.i++
			switch {
			case p.i == len(s):
				return nil, p.fail(p.i, "memory id or option expected after '@'")
			case isDigit(s[p.i]):
				if err := p.memID(n, &memPos); err != nil {
					return nil, err
				}
			default:
				if err := p.option(n, &conf, &memPos); err != nil {
					return nil, err
				}
			}
		case '-', '^', '*':
			return nil, p.fail(p.i, "ring mode %q must directly follow the port name, and only one may be given", s[p.i])
		default:
			return nil, p.fail(p.i, "unexpected %q", s[p.i])
		}
	}
	conf.apply(&n.Conf)
	return n, nil
}

// isPipe reports whether kernel name port is a netmap pipe ("P{ID",
// "P}ID").
func isPipe(port string) bool { return strings.ContainsAny(port, "{}") }

// valReserved reports whether kernel name port, not a VALE name, starts
// with "val": netmap compares only the first 3 bytes of "vale", takes such
// a name for a VALE port and, without a ':', refuses it (ENOMEM on
// register) in every mode but the null port's, which is looked for first
// and takes any name.
func valReserved(port string) bool {
	return strings.HasPrefix(port, "val") && !strings.HasPrefix(port, "vale")
}

const valReservedMsg = "port name starts with \"val\", which netmap takes for a VALE port (valeSWITCH:PORT): no interface so named can be opened (only a null port, ModeNull, may be named so)"

// pipeMode reports whether netmap registers a pipe in mode m: with the
// NIC rings only (netmap_get_pipe_na refuses the others with EINVAL); a
// null port, looked for before pipes, takes any name.
func pipeMode(m Mode) bool { return m == ModeAllNIC || m == ModeOneNIC || m == ModeNull }

// nameParser walks s; i is the offset of the next unread byte.
type nameParser struct {
	s string
	i int
}

func (p *nameParser) fail(pos int, format string, args ...any) error {
	return &NameError{Name: p.s, Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

// isIDChar reports the characters of VALE switch names and of pipe ids.
func isIDChar(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// isNameEnd reports the characters that end the kernel name.
func isNameEnd(c byte) bool { return strings.IndexByte("-*^/@", c) >= 0 }

// kernelName reads the prefix and the kernel name from s[p.i:hi], stopping
// at the first of "-*^/@" or at hi, and returns the kernel name.
func (p *nameParser) kernelName(hi int) (string, error) {
	s := p.s[:hi]
	i := p.i
	prefixed, vale := false, false
	switch {
	case strings.HasPrefix(s[i:], "netmap:"):
		prefixed = true
		i += len("netmap:")
		if strings.HasPrefix(s[i:], "vale") {
			return "", p.fail(i, "a VALE port takes no netmap: prefix")
		}
	case strings.HasPrefix(s[i:], "vale"):
		vale = true
	}
	end := i
	for end < len(s) && !isNameEnd(s[end]) {
		end++
	}
	name := s[i:end]
	if name == "" {
		return "", p.fail(i, "port name expected")
	}
	for k := 0; k < len(name); k++ {
		if c := name[k]; c <= ' ' || c >= 0x7f {
			return "", p.fail(i+k, "invalid character %q in port name", c)
		}
	}
	base := name
	if b := strings.IndexAny(name, "{}"); b >= 0 {
		base = name[:b]
		id := name[b+1:]
		if base == "" {
			return "", p.fail(i, "pipe %q needs a parent port name before it", name[b])
		}
		if id == "" {
			return "", p.fail(i+b+1, "pipe id expected after %q", name[b])
		}
		for k := 0; k < len(id); k++ {
			switch c := id[k]; {
			case c == '{' || c == '}':
				return "", p.fail(i+b+1+k, "only one pipe bracket is allowed")
			case !isIDChar(c):
				return "", p.fail(i+b+1+k, "invalid character %q in pipe id (want [0-9A-Za-z_])", c)
			}
		}
	}
	if vale {
		if err := p.valeName(i, base); err != nil {
			return "", err
		}
	} else if c := strings.IndexByte(base, ':'); c >= 0 {
		switch {
		case prefixed:
			return "", p.fail(i+c, "unexpected ':' in interface name")
		case strings.HasPrefix(base, "netmap"):
			return "", p.fail(i+len("netmap"), "nothing may come between netmap and ':'")
		default:
			return "", p.fail(i, "unknown prefix %q (want netmap: or valeSWITCH:)", base[:c+1])
		}
	}
	if len(name) > maxKernelName {
		return "", p.fail(i+maxKernelName, "port name longer than %d bytes", maxKernelName)
	}
	p.i = end
	return name, nil
}

// valeName checks base, a VALE name "valeSWITCH:PORT" found at offset at.
func (p *nameParser) valeName(at int, base string) error {
	colon := strings.IndexByte(base, ':')
	if colon < 0 {
		return p.fail(at+len(base), "':' expected in VALE name (valeSWITCH:PORT)")
	}
	for k := len("vale"); k < colon; k++ {
		if !isIDChar(base[k]) {
			return p.fail(at+k, "invalid character %q in VALE switch name (want [0-9A-Za-z_])", base[k])
		}
	}
	if colon > maxValeSwitch {
		return p.fail(at+maxValeSwitch, "VALE switch name longer than %d bytes", maxValeSwitch)
	}
	port := base[colon+1:]
	if port == "" {
		return p.fail(at+colon+1, "VALE port name expected after ':'")
	}
	// The port's characters are the kernel name's (printable, no space):
	// the kernel checks only the switch name's, and takes the port as the
	// name of an interface to attach (eth0.100, a VLAN) or of a virtual
	// port to make, as libnetmap passes it on.
	if len(port) > maxValePort {
		return p.fail(at+colon+1+maxValePort, "VALE port name longer than %d bytes", maxValePort)
	}
	return nil
}

// mode reads an optional "-N", "^", "^N" or "*".
func (p *nameParser) mode(n *Name) error {
	if p.i == len(p.s) {
		return nil
	}
	switch p.s[p.i] {
	case '-':
		p.i++
		v, err := p.number("ring number", maxRingID)
		if err != nil {
			return err
		}
		n.Mode, n.RingID = ModeOneNIC, v
	case '^':
		p.i++
		n.Mode = ModeSW
		if p.i < len(p.s) && isDigit(p.s[p.i]) {
			v, err := p.number("host ring number", maxRingID)
			if err != nil {
				return err
			}
			n.Mode, n.RingID = ModeOneSW, v
		}
	case '*':
		p.i++
		n.Mode = ModeNICSW
	}
	return nil
}

// flagLetters maps the letters after "/" to flags, in canonical order.
var flagLetters = [...]struct {
	c byte
	f Flag
}{
	{'x', FlagExclusive},
	{'z', FlagZeroCopyMonitor},
	{'t', FlagMonitorTX},
	{'r', FlagMonitorRX},
	{'R', FlagRxRingsOnly},
	{'T', FlagTxRingsOnly},
}

// flags reads "/" and the flag letters up to the next "@".
func (p *nameParser) flags(n *Name) error {
	p.i++ // '/'
	start := p.i
	for p.i < len(p.s) && p.s[p.i] != '@' {
		c := p.s[p.i]
		var f Flag
		for _, l := range flagLetters {
			if l.c == c {
				f = l.f
			}
		}
		if f == 0 {
			return p.fail(p.i, "unknown flag %q (want x, z, t, r, R or T)", c)
		}
		n.Flags |= f
		if n.Flags&(FlagRxRingsOnly|FlagTxRingsOnly) == FlagRxRingsOnly|FlagTxRingsOnly {
			return p.fail(p.i, "flags R and T exclude each other")
		}
		p.i++
	}
	if p.i == start {
		return p.fail(p.i, "flag letter expected after '/'")
	}
	return nil
}

// memID reads the N of "@N".
func (p *nameParser) memID(n *Name, memPos *int) error {
	pos := p.i
	v, err := p.number("memory id", maxMemID)
	if err != nil {
		return err
	}
	switch {
	case v == 0:
		return p.fail(pos, "memory id must be 1..%d", maxMemID)
	case n.Share != "":
		return p.fail(pos, "@%d and @share (at %d) both select a memory region", v, *memPos)
	case n.MemID != 0 && n.MemID != v:
		return p.fail(pos, "memory id %d conflicts with @%d", v, n.MemID)
	}
	n.MemID = v
	if *memPos < 0 {
		*memPos = pos - 1
	}
	return nil
}

// number reads decimal digits at p.i as a value in 0..limit.
func (p *nameParser) number(what string, limit int) (int, error) {
	start := p.i
	for p.i < len(p.s) && isDigit(p.s[p.i]) {
		p.i++
	}
	return p.parseNumber(start, p.i, what, 0, limit)
}

// parseNumber converts p.s[start:end], which must be all digits, to a value
// in lo..hi.
func (p *nameParser) parseNumber(start, end int, what string, lo, hi int) (int, error) {
	digits := p.s[start:end]
	if digits == "" {
		return 0, p.fail(start, "%s expected", what)
	}
	for k := 0; k < len(digits); k++ {
		if !isDigit(digits[k]) {
			return 0, p.fail(start+k, "%s must be a decimal number", what)
		}
	}
	v, err := strconv.Atoi(digits)
	if err != nil || v < lo || v > hi {
		return 0, p.fail(start, "%s %s out of range %d..%d", what, digits, lo, hi)
	}
	return v, nil
}

// Option keys of "@conf:", in the order of confSet's arrays.
const (
	confRings = iota
	confHostRings
	confSlots
	confTxRings
	confRxRings
	confHostTxRings
	confHostRxRings
	confTxSlots
	confRxSlots
	numConfKeys
)

var confKeys = [numConfKeys]struct {
	key   string
	limit int
}{
	confRings:       {"rings", maxConfRings},
	confHostRings:   {"host-rings", maxConfRings},
	confSlots:       {"slots", maxConfSlots},
	confTxRings:     {"tx-rings", maxConfRings},
	confRxRings:     {"rx-rings", maxConfRings},
	confHostTxRings: {"host-tx-rings", maxConfRings},
	confHostRxRings: {"host-rx-rings", maxConfRings},
	confTxSlots:     {"tx-slots", maxConfSlots},
	confRxSlots:     {"rx-slots", maxConfSlots},
}

// confSet collects the "@conf" keys of all "@conf" options of a name, so
// that specific keys win over general ones whatever their order.
type confSet struct {
	val  [numConfKeys]int
	seen [numConfKeys]bool
}

func (c *confSet) apply(rc *RingConf) {
	pick := func(specific, general int) int {
		if c.seen[specific] {
			return c.val[specific]
		}
		return c.val[general]
	}
	rc.TxRings = pick(confTxRings, confRings)
	rc.RxRings = pick(confRxRings, confRings)
	rc.HostTxRings = pick(confHostTxRings, confHostRings)
	rc.HostRxRings = pick(confHostRxRings, confHostRings)
	rc.TxSlots = pick(confTxSlots, confSlots)
	rc.RxSlots = pick(confRxSlots, confSlots)
}

// option reads one option after "@": NAME "=" VALUE or NAME ":" KEY "="
// VALUE {"," KEY "=" VALUE}, up to the next "@".
func (p *nameParser) option(n *Name, conf *confSet, memPos *int) error {
	s := p.s
	start := p.i
	for p.i < len(s) && s[p.i] != ':' && s[p.i] != '=' && s[p.i] != '@' {
		p.i++
	}
	opt := s[start:p.i]
	switch opt {
	case "":
		return p.fail(start, "option name expected after '@'")
	case "share", "conf":
	case "extmem", "offset":
		return p.fail(start, "option @%s is not supported by nmgo yet", opt)
	default:
		return p.fail(start, "unknown option %q (want @N, @share or @conf)", opt)
	}
	if p.i == len(s) || s[p.i] == '@' {
		return p.fail(p.i, "'=' or ':' expected after @%s", opt)
	}
	if s[p.i] == '=' {
		if opt == "conf" {
			return p.fail(p.i, "@conf takes key=value pairs, as in @conf:rings=2,slots=512")
		}
		p.i++
		vs := p.i
		for p.i < len(s) && s[p.i] != '@' {
			p.i++
		}
		return p.share(n, start, vs, p.i, memPos)
	}
	p.i++ // ':'
	sharePort := false
	for {
		ks := p.i
		for p.i < len(s) && s[p.i] != '=' && s[p.i] != ',' && s[p.i] != '@' {
			p.i++
		}
		key := strings.ReplaceAll(s[ks:p.i], "_", "-")
		if key == "" {
			return p.fail(ks, "key expected in @%s", opt)
		}
		if p.i == len(s) || s[p.i] != '=' {
			return p.fail(p.i, "'=' expected after key %q", key)
		}
		p.i++
		vs := p.i
		for p.i < len(s) && s[p.i] != ',' && s[p.i] != '@' {
			p.i++
		}
		if vs == p.i {
			return p.fail(vs, "empty value for key %q", key)
		}
		switch opt {
		case "share":
			if key != "port" {
				return p.fail(ks, "unknown @share key %q (want port)", key)
			}
			if sharePort {
				return p.fail(ks, "key %q given twice", key)
			}
			sharePort = true
			if err := p.share(n, start, vs, p.i, memPos); err != nil {
				return err
			}
		case "conf":
			k := -1
			for j, c := range confKeys {
				if c.key == key {
					k = j
				}
			}
			if k < 0 {
				return p.fail(ks, "unknown @conf key %q", key)
			}
			if conf.seen[k] {
				return p.fail(ks, "key %q given twice", key)
			}
			v, err := p.parseNumber(vs, p.i, key, 1, confKeys[k].limit)
			if err != nil {
				return err
			}
			conf.val[k], conf.seen[k] = v, true
		}
		if p.i == len(s) || s[p.i] != ',' {
			return nil
		}
		p.i++
	}
}

// share applies the port name s[vs:ve] of the @share option at opt.
func (p *nameParser) share(n *Name, opt, vs, ve int, memPos *int) error {
	if vs == ve {
		return p.fail(vs, "empty value for @share")
	}
	q := nameParser{s: p.s, i: vs}
	port, err := q.kernelName(ve)
	if err != nil {
		return err
	}
	switch {
	case q.i != ve:
		return p.fail(q.i, "@share takes a port name without ring or flag suffixes")
	case n.MemID != 0:
		return p.fail(opt, "@share and @%d (at %d) both select a memory region", n.MemID, *memPos)
	case n.Share != "" && n.Share != port:
		return p.fail(opt, "@share=%s conflicts with @share=%s", port, n.Share)
	}
	if valReserved(port) {
		// The port shared is looked up in all-NIC mode.
		return p.fail(vs, "%s", valReservedMsg)
	}
	n.Share = port
	if *memPos < 0 {
		*memPos = opt - 1
	}
	return nil
}

// String returns the canonical form of n, such as "netmap:eth0-2/xT" or
// "vale0:a@conf:tx-rings=2,rx-slots=512": the "netmap:" prefix unless the
// port is a VALE port, the mode, the flags in the order xztrRT, "@N",
// "@share=" and the "@conf" keys that are set, one key per direction. For
// every Name that [ParseName] returns, ParseName(n.String()) returns an
// equal Name. What the grammar cannot express ([ModeNull], [FlagNoTxPoll],
// out-of-range values) is left out or written as is.
func (n *Name) String() string {
	b := make([]byte, 0, 32+len(n.Port)+len(n.Share))
	b = appendPortName(b, n.Port)
	switch n.Mode {
	case ModeOneNIC:
		b = append(b, '-')
		b = strconv.AppendInt(b, int64(n.RingID), 10)
	case ModeSW:
		b = append(b, '^')
	case ModeOneSW:
		b = append(b, '^')
		b = strconv.AppendInt(b, int64(n.RingID), 10)
	case ModeNICSW:
		b = append(b, '*')
	}
	if n.Flags != 0 {
		mark := len(b)
		b = append(b, '/')
		for _, l := range flagLetters {
			if n.Flags&l.f != 0 {
				b = append(b, l.c)
			}
		}
		if len(b) == mark+1 { // only flags without a letter
			b = b[:mark]
		}
	}
	if n.MemID != 0 {
		b = append(b, '@')
		b = strconv.AppendInt(b, int64(n.MemID), 10)
	}
	if n.Share != "" {
		b = append(b, "@share="...)
		b = appendPortName(b, n.Share)
	}
	sep := "@conf:"
	for _, kv := range [...]struct {
		k int
		v int
	}{
		{confTxRings, n.Conf.TxRings},
		{confRxRings, n.Conf.RxRings},
		{confHostTxRings, n.Conf.HostTxRings},
		{confHostRxRings, n.Conf.HostRxRings},
		{confTxSlots, n.Conf.TxSlots},
		{confRxSlots, n.Conf.RxSlots},
	} {
		if kv.v != 0 {
			b = append(b, sep...)
			b = append(b, confKeys[kv.k].key...)
			b = append(b, '=')
			b = strconv.AppendInt(b, int64(kv.v), 10)
			sep = ","
		}
	}
	return string(b)
}

// appendPortName appends kernel name port with the prefix that makes
// ParseName read it back: none for a VALE port, "netmap:" otherwise.
func appendPortName(b []byte, port string) []byte {
	if !strings.HasPrefix(port, "vale") {
		b = append(b, "netmap:"...)
	}
	return append(b, port...)
}
