package packet

import (
	"errors"
	"fmt"
)

// Sentinels matched (with errors.Is) by the decode errors of [RTP] and
// [RFC4175], and by the errors of a [PcapReader] on a bad file.
var (
	// ErrTruncated: the input ends before what its own headers announce
	// (a fixed header, CSRCs, a header extension, an SRD header that a
	// continuation bit promises, or sample data that SRD lengths claim).
	ErrTruncated = errors.New("truncated")
	// ErrMalformed: a header field holds a value no valid packet has (an
	// RTP version other than 2, a padding count of 0 or past the payload).
	ErrMalformed = errors.New("malformed")
)

// decodeError is a decode failure: a message naming the layer and what was
// wrong, wrapping one of the sentinels. Only failures build one, so a
// successful decode allocates nothing.
type decodeError struct {
	msg string
	err error
}

func (e *decodeError) Error() string { return e.msg }
func (e *decodeError) Unwrap() error { return e.err }

func errorf(sentinel error, format string, args ...any) error {
	return &decodeError{msg: fmt.Sprintf(format, args...), err: sentinel}
}
