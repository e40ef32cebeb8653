package main

import (
	"errors"
	"fmt"

	"github.com/nmgo/nmgo/video"
)

// The frames vtx sends: the -in file's, converted from the -pix layout,
// or a moving test pattern, charged to the -max-mem budget.

// frameSources returns the frames of each stream: -in, converted from the
// -pix layout, or a moving test pattern; streams of one format share.
func frameSources(v *videoConfig) ([]video.FrameSource, error) {
	var file []byte
	if v.in != "" {
		// The file is charged once read; what is left of the budget
		// bounds the read.
		var err error
		if file, err = readCapped(v.in, v.budget.Limit()-v.budget.Used()); err != nil {
			if errors.Is(err, errTooLong) {
				return nil, fmt.Errorf("-in: %w: over the memory budget (raise -max-mem)", err)
			}
			return nil, fmt.Errorf("-in: %w", err)
		}
		if err := v.charge("-in "+v.in, int64(len(file))); err != nil {
			return nil, err
		}
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
	if file == nil {
		if err := v.charge(fmt.Sprintf("stream %d (%v): test pattern", k, f), video.PatternMemory(f)); err != nil {
			return nil, err
		}
		return video.NewPattern(f)
	}
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
