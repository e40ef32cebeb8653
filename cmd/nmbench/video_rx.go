package main

import (
	"strconv"

	"github.com/nmgo/nmgo/video"
)

// frameWriter writes one stream's received frames to -out, converted to
// the -pix layout.
type frameWriter struct {
	f    *outputFile // its writes End cuts (cutAtEnd)
	pix  video.PixelFormat
	fmt  *video.Format
	conv []byte
	err  error
}

func (w *frameWriter) write(frame []byte) {
	if w == nil || w.err != nil {
		return
	}
	b := frame
	if w.pix != 0 {
		if w.err = video.Unpack(w.conv, frame, w.fmt, w.pix); w.err != nil {
			return
		}
		b = w.conv
	}
	_, w.err = w.f.Write(b)
}

// outName returns the -out file of stream k of n.
func outName(out string, k, n int) string {
	if n == 1 {
		return out
	}
	return out + "." + strconv.Itoa(k)
}
