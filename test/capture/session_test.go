package capture

import (
	"net/netip"

	"github.com/nmgo/nmgo/video"
)

// session is a session of one small video stream, which the captures of
// these tests are listened to as.
func session() *video.Session {
	f := video.Format{Sampling: video.YCbCr422, Depth: video.Depth10, Width: 64, Height: 32,
		Scan: video.Progressive, Rate: video.Rate50}
	return &video.Session{Name: "test", Origin: netip.MustParseAddr("10.0.0.1"),
		Streams: []video.Stream{{Format: f, PayloadType: 96, Dst: netip.MustParseAddrPort("239.1.1.1:5004")}}}
}
