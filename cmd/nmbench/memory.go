package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/nmgo/nmgo/video"
)

// The memory that inputs size (the format, the SDP, the -in file, the
// number of streams) is charged to one video.Budget of -max-mem octets
// before it is allocated: frame buffers of the receivers, the test pattern
// or the -in frames of vtx, the -pix conversion buffers. An input that
// does not fit is one line naming the stream and the octets.

// maxStreams bounds -streams and the streams of an SDP.
const maxStreams = video.MaxSDPMedia

// byteSize is a flag value in octets, with an optional k, M, G or T
// suffix (powers of 1024).
type byteSize int64

func (b *byteSize) String() string { return strconv.FormatInt(int64(*b), 10) }

func (b *byteSize) Set(s string) error {
	shift := 0
	if i := strings.IndexAny(s, "kKmMgGtT"); i >= 0 && i == len(s)-1 {
		shift = 10 * (1 + strings.IndexByte("kmgt", s[i]|0x20))
		s = s[:i]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)>>shift {
		return errors.New("want a positive number of octets, with an optional k, M, G or T")
	}
	*b = byteSize(n << shift)
	return nil
}

// errTooLong is readCapped's error for a file over its limit, as against
// one it could not read.
var errTooLong = errors.New("longer than")

// readCapped reads the file name whole, refusing one longer than limit
// octets: a regular file by its size, before reading; anything else (a
// pipe, /dev/zero) without reading more than limit+1.
func readCapped(name string, limit int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		if fi.Size() > limit {
			return nil, fmt.Errorf("%s: %d octets, %w %d", name, fi.Size(), errTooLong, limit)
		}
		b := make([]byte, fi.Size())
		n, err := io.ReadFull(f, b)
		if err == io.ErrUnexpectedEOF {
			err = nil // it shrank meanwhile
		}
		return b[:n], err
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: %w %d octets", name, errTooLong, limit)
	}
	return b, nil
}

// charge takes n octets for what from the run's budget; the error says how
// to raise it.
func (v *videoConfig) charge(what string, n int64) error {
	if err := v.budget.Charge(what, n); err != nil {
		return fmt.Errorf("%w (raise -max-mem)", err)
	}
	return nil
}
