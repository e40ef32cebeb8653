package video

// ParseFmtp parses the parameters of an ST 2110-20 a=fmtp line, without the
// payload type, such as
//
//	sampling=YCbCr-4:2:2; width=1920; height=1080; depth=10; exactframerate=60000/1001
//
// into a stream: its Format and the PM, TP, MAXUDP, SSN, TROFF and CMAX
// values present. sampling, width, height and depth are required; the other
// keys of ST 2110-20 (interlace, segmented, colorimetry, TCS, RANGE, PAR)
// are read as [ParseSDP] reads them, unknown keys are ignored. A key given
// twice is read twice and its last value counts, without an allocation per
// repeat; a value that does not read is an error even if a later one
// would (exactframerate=0; exactframerate=50 is refused).
// Addresses and the payload type are left zero.
func ParseFmtp(params string) (*Stream, error) {
	s := &Stream{}
	if err := s.parseFmtp(params); err != nil {
		return nil, err
	}
	return s, nil
}
