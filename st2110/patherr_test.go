package st2110

import (
	"errors"
	"io/fs"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
)

// An error of the second path names the operation, the first path and the
// second once, without a doubled "st2110:", and still matches what it
// wraps.
func TestSecondPathErrors(t *testing.T) {
	sess := twoLegs(t, fmtSmall, "127.0.0.1", "127.0.0.2")
	badLeg := twoLegs(t, fmtSmall, "127.0.0.1", "127.0.0.2")
	badLeg.Streams[0].Second.Source = netip.MustParseAddr("::1") // flows fails on leg 1 only
	dir := t.TempDir()
	capSess := session("10.0.0.1", flow(fmtSmall, "239.1.1.1:5004", ""))
	capture := filepath.Join(dir, "in.pcap")
	writeCaptureTo(t, capture, capSess, [][]byte{randomFrames(fmtSmall, 1, 1)}, 1, nil)
	missing := filepath.Join(dir, "none.pcap")
	for _, c := range []struct {
		open func() error
		want string // the error's beginning
		is   error
		as   any
	}{
		{func() error { _, err := Listen("udp", sess, &ListenConfig{Second: "udp:nosuchif1"}); return err },
			"st2110: listen udp: second path udp:nosuchif1: interface nosuchif1: ", nil, nil},
		{func() error { _, err := Dial("udp", sess, &SendConfig{Second: "udp:nosuchif1"}); return err },
			"st2110: dial udp: second path udp:nosuchif1: interface nosuchif1: ", nil, nil},
		{func() error {
			_, err := Listen("pcap:"+capture, capSess, &ListenConfig{Second: "pcap:" + missing})
			return err
		}, "st2110: listen pcap:" + capture + ": second path pcap:" + missing + ": open " + missing + ": ", fs.ErrNotExist, nil},
		{func() error { _, err := Listen("udp", badLeg, &ListenConfig{Second: "udp"}); return err },
			"st2110: listen udp: second path udp: flow 0: ", nil, nil},
		{func() error { _, err := Dial("udp", badLeg, &SendConfig{Second: "udp"}); return err },
			"st2110: dial udp: second path udp: flow 0: ", nil, nil},
		{func() error { _, err := Listen("udp", sess, &ListenConfig{Second: "bogus:x"}); return err },
			"st2110: listen udp: second path bogus:x: transport \"bogus:x\": ", nil, new(*NameError)},
		{func() error { _, err := Dial("udp", sess, &SendConfig{Second: "bogus:x"}); return err },
			"st2110: dial udp: second path bogus:x: transport \"bogus:x\": ", nil, new(*NameError)},
	} {
		err := c.open()
		if err == nil {
			t.Errorf("%s...: no error", c.want)
			continue
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, c.want) || strings.Count(msg, "st2110:") != 1 || strings.Count(msg, "second path") != 1 {
			t.Errorf("error %q, want one beginning %q, naming st2110 and the second path once", msg, c.want)
		}
		if c.is != nil && !errors.Is(err, c.is) {
			t.Errorf("%v does not match %v", err, c.is)
		}
		if c.as != nil && !errors.As(err, c.as) {
			t.Errorf("%v is not a %T", err, c.as)
		}
	}
}

// An error opening the first path names the operation and the transport
// once, as a second path's does, and still matches what it wraps.
func TestFirstPathErrors(t *testing.T) {
	sess := session("127.0.0.1", flow(fmtSmall, "239.1.1.1:5004", ""))
	dir := t.TempDir()
	missing := filepath.Join(dir, "none.pcap")
	noDir := filepath.Join(dir, "nodir", "out.pcap")
	for _, c := range []struct {
		open func() error
		want string // the error's beginning
		is   error
	}{
		{func() error { _, err := Listen("udp", sess, &ListenConfig{Interface: "nosuchif0"}); return err },
			"st2110: listen udp: interface nosuchif0: ", nil},
		{func() error { _, err := Listen("udp:nosuchif0", sess, nil); return err },
			"st2110: listen udp:nosuchif0: interface nosuchif0: ", nil},
		{func() error { _, err := Dial("udp", sess, &SendConfig{Interface: "nosuchif0"}); return err },
			"st2110: dial udp: interface nosuchif0: ", nil},
		{func() error { _, err := Dial("udp:nosuchif0", sess, nil); return err },
			"st2110: dial udp:nosuchif0: interface nosuchif0: ", nil},
		{func() error { _, err := Listen("pcap:"+missing, sess, nil); return err },
			"st2110: listen pcap:" + missing + ": open " + missing + ": ", fs.ErrNotExist},
		{func() error { _, err := Dial("pcap:"+noDir, sess, &SendConfig{Count: 1}); return err },
			"st2110: dial pcap:" + noDir + ": open " + noDir + ": ", fs.ErrNotExist},
	} {
		err := c.open()
		if err == nil {
			t.Errorf("%s...: no error", c.want)
			continue
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, c.want) || strings.Count(msg, "st2110:") != 1 {
			t.Errorf("error %q, want one beginning %q, naming st2110 once", msg, c.want)
		}
		if c.is != nil && !errors.Is(err, c.is) {
			t.Errorf("%v does not match %v", err, c.is)
		}
	}
}
