package xsk_test

import (
	"fmt"
	"log"

	"github.com/nmgo/nmgo/xsk"
)

// Receive on queue 0 of eth0 and send what arrives back out (needs root).
// The frames of a batch are read in place and the receive frames go back
// to the kernel with Release.
func ExampleOpen() {
	s, err := xsk.Open("eth0", &xsk.Config{Queue: 0})
	if err != nil {
		log.Fatal(err) // errors.Is(err, xsk.ErrNotSupported) off Linux
	}
	defer s.Close()
	rx, tx := s.Rx(), s.Tx()
	for {
		n, err := rx.Acquire(64)
		if err != nil {
			log.Fatal(err)
		}
		if n == 0 {
			if err := s.WaitRx(); err != nil {
				log.Fatal(err)
			}
			continue
		}
		m, err := tx.Reserve(n)
		if err != nil {
			log.Fatal(err)
		}
		for i := range m {
			pkt, err := rx.Packet(i)
			if err != nil {
				log.Fatal(err)
			}
			tx.SetLen(i, copy(tx.Buf(i), pkt))
		}
		tx.Publish(m)
		rx.Release(n)
		if err := s.Kick(); err != nil {
			log.Fatal(err)
		}
	}
}

// ParseName splits the "IFACE-Q" names of nmgo's xdp: ports.
func ExampleParseName() {
	for _, name := range []string{"eth0", "eth0-3", "veth-1-0"} {
		iface, q, err := xsk.ParseName(name)
		fmt.Println(iface, q, err)
	}
	// Output:
	// eth0 0 <nil>
	// eth0 3 <nil>
	// veth-1 0 <nil>
}
