package st2110_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/nmgo/nmgo/st2110"
	"github.com/nmgo/nmgo/video"
)

// Receive from a live capture (tcpdump -w into a FIFO), giving up if no
// writer has come with the capture's header within a time: ListenContext's
// context bounds that wait, not the Receiver it returns.
func ExampleListenContext() {
	sdp, err := os.ReadFile("testdata/flows.sdp")
	if err != nil {
		log.Fatal(err)
	}
	sess, err := video.ParseSDP(sdp)
	if err != nil {
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "live")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	fifo := filepath.Join(dir, "live.pcap")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil { // no writer comes
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	rx, err := st2110.ListenContext(ctx, "pcap:"+fifo, sess, nil)
	if errors.Is(err, context.DeadlineExceeded) {
		fmt.Println("no capture within 100 ms")
		return
	}
	if err != nil {
		log.Fatal(err)
	}
	defer rx.Close()
	for f, err := range rx.Frames(context.Background()) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("flow %d: %d octets\n", f.Flow, len(f.Data))
	}
	// Output: no capture within 100 ms
}
