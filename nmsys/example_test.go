package nmsys_test

import (
	"errors"
	"fmt"
	"log"
	"os"
	"runtime"
	"sync"

	"github.com/nmgo/nmgo/nmsys"
)

// Open a VALE port, send one frame and wait for frames. Needs netmap and
// read-write access to /dev/netmap, so it only compiles here.
func ExampleOpen() {
	p, err := nmsys.Open("vale0:a", nil)
	if errors.Is(err, nmsys.ErrNotSupported) {
		log.Fatal("no netmap here: ", err)
	}
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	fmt.Printf("%d tx and %d rx slots of %d bytes\n", p.Info().TxSlots, p.Info().RxSlots, p.Info().BufSize)

	tx, err := p.TxRing(0)
	if err != nil {
		log.Fatal(err)
	}
	if n, _ := tx.Reserve(1); n == 1 {
		frame := tx.Buf(0)[:60]
		copy(frame, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}) // broadcast
		tx.SetLen(0, len(frame))
		tx.Publish(1)
	}
	if err := p.TxSync(); err != nil {
		log.Fatal(err)
	}
	if err := p.WaitRx(); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
		log.Fatal(err)
	}
}

// One goroutine per ring pair: each goroutine owns one Port, bound to one
// ring pair, and is the only one to touch and sync that ring.
func ExampleOpenPerRing() {
	ports, err := nmsys.OpenPerRing("vale0:m@conf:rings=4", nil)
	if err != nil {
		log.Fatal(err)
	}
	var wg sync.WaitGroup
	for _, p := range ports {
		wg.Go(func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			in := p.Info()
			rx, err := p.RxRing(in.FirstRx)
			if err != nil {
				log.Print(err)
				return
			}
			for {
				n, err := rx.Acquire(512)
				if err != nil {
					log.Print(err)
					return
				}
				for i := 0; i < n; i++ {
					pkt, _ := rx.Packet(i)
					_ = pkt // valid until Release
				}
				rx.Release(n)
				if n == 0 {
					err = p.WaitRx()
				} else {
					err = p.RxSync()
				}
				if err != nil { // ErrClosed once the ports are closed
					return
				}
			}
		})
	}
	// ... later:
	for _, p := range ports {
		p.Close()
	}
	wg.Wait()
}
