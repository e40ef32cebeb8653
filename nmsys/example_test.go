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

// Parse port names in libnetmap's grammar: the kernel's name, which rings
// a registration binds, flags, a memory region, ring geometry; a bad name
// is a *NameError that points at the offending byte. No netmap needed.
func ExampleParseName() {
	for _, s := range []string{
		"netmap:eth0",
		"netmap:eth0-2/R",
		"netmap:eth0^",
		"vale0:a@2",
		"netmap:pipe{1",
		"vale0:b@conf:rings=4,slots=1024",
		"netmap:eth0-x",
	} {
		n, err := nmsys.ParseName(s)
		var ne *nmsys.NameError
		if errors.As(err, &ne) {
			fmt.Printf("%s: error at byte %d: %s\n", s, ne.Pos, ne.Msg)
			continue
		}
		line := fmt.Sprintf("%s: port %q, %v", s, n.Port, n.Mode)
		if n.Mode == nmsys.ModeOneNIC || n.Mode == nmsys.ModeOneSW {
			line += fmt.Sprintf(" %d", n.RingID)
		}
		if n.Flags&nmsys.FlagRxRingsOnly != 0 {
			line += ", RX rings only"
		}
		if n.MemID != 0 {
			line += fmt.Sprintf(", memory region %d", n.MemID)
		}
		if c := n.Conf; c != (nmsys.RingConf{}) {
			line += fmt.Sprintf(", %d TX and %d RX rings of %d slots", c.TxRings, c.RxRings, c.TxSlots)
		}
		fmt.Println(line)
	}
	// Output:
	// netmap:eth0: port "eth0", all-nic
	// netmap:eth0-2/R: port "eth0", one-nic 2, RX rings only
	// netmap:eth0^: port "eth0", sw
	// vale0:a@2: port "vale0:a", all-nic, memory region 2
	// netmap:pipe{1: port "pipe{1", all-nic
	// vale0:b@conf:rings=4,slots=1024: port "vale0:b", all-nic, 4 TX and 4 RX rings of 1024 slots
	// netmap:eth0-x: error at byte 12: ring number expected
}
