package main

import (
	"errors"
	"fmt"

	"github.com/nmgo/nmgo/video"
)

// The frames vtx sends from -in, converted from the -pix layout, charged
// to the -max-mem budget. Without -in, st2110.Dial draws a moving test
// pattern of each format, once it has opened the transport, charged to
// the same budget (SendConfig.Budget).

// frameSources returns the frames of each stream, from -in, converted
// from the -pix layout; streams of one format share.
func frameSources(v *videoConfig) ([]video.FrameSource, error) {
	// The file is charged once read; what is left of the budget bounds
	// the read.
	file, err := readCapped(v.in, v.budget.Limit()-v.budget.Used())
	if err != nil {
		if errors.Is(err, errTooLong) {
			return nil, fmt.Errorf("-in: %w: over the memory budget (raise -max-mem)", err)
		}
		return nil, fmt.Errorf("-in: %w", err)
	}
	if err := v.charge("-in "+v.in, int64(len(file))); err != nil {
		return nil, err
	}
	byFormat := map[video.Format]video.FrameSource{}
	var out []video.FrameSource
	for k := range v.streams {
		f := v.streams[k].Format
		src, ok := byFormat[f]
		if !ok {
			var err error
			if src, err = frameSource(v, k, file); err != nil {
				return nil, err
			}
			byFormat[f] = src
		}
		out = append(out, src)
	}
	return out, nil
}

func frameSource(v *videoConfig, k int, file []byte) (video.FrameSource, error) {
	f := &v.streams[k].Format
	size := v.frameBytes(k)
	if len(file) == 0 || len(file)%size != 0 {
		return nil, usage(fmt.Errorf("-in %s: %d octets are not whole frames of %v in the %s layout (%d octets each)",
			v.in, len(file), f, v.pixName(), size))
	}
	frames := file
	if v.pixFmt != 0 {
		n := len(file) / size
		if err := v.charge(fmt.Sprintf("stream %d (%v): %d frames from -in", k, f, n), int64(n)*int64(f.FrameSize())); err != nil {
			return nil, err
		}
		frames = make([]byte, n*f.FrameSize())
		for i := range n {
			if err := video.Pack(frames[i*f.FrameSize():(i+1)*f.FrameSize()], file[i*size:(i+1)*size], f, v.pixFmt); err != nil {
				return nil, fmt.Errorf("-in %s: frame %d: %w", v.in, i, err)
			}
		}
	}
	return video.NewFrameLoop(f, frames)
}
