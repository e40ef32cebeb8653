package ringstest_test

import (
	"fmt"

	"github.com/nmgo/nmgo/rings/ringstest"
)

// Two ports joined like two ports of a VALE switch: what one sends, the
// other receives. With netmap, a and b would be nmsys Ports, opened as
// "vale0:a" and "vale0:b".
func Example() {
	a, err := ringstest.NewPort(nil)
	if err != nil {
		panic(err)
	}
	b, err := ringstest.NewPort(nil)
	if err != nil {
		panic(err)
	}
	if err := ringstest.Connect(a, 0, b, 0); err != nil {
		panic(err)
	}

	tx, _ := a.TxRing(0)
	n, _ := tx.Reserve(2)
	for i, msg := range []string{"hello", "world"}[:n] {
		tx.SetLen(i, copy(tx.Buf(i), msg))
	}
	tx.Publish(n)
	if err := a.TxSync(); err != nil {
		panic(err)
	}

	if err := b.WaitRx(); err != nil { // returns at once: frames are waiting
		panic(err)
	}
	rx, _ := b.RxRing(0)
	m, _ := rx.Acquire(64)
	for i := range m {
		p, _ := rx.Packet(i)
		fmt.Printf("%s\n", p)
	}
	rx.Release(m)
	// Output:
	// hello
	// world
}

// Inject plays the wire for a receiver under test; OnSend shows what a
// sender under test sent.
func ExamplePort_Inject() {
	p, err := ringstest.NewPort(&ringstest.Config{RxSlots: 8, TxSlots: 8})
	if err != nil {
		panic(err)
	}
	p.OnSend(0, func(frame []byte) { fmt.Printf("sent %q\n", frame) })
	p.Inject(0, []byte("ping"))

	echo(p) // the code under test
	// Output:
	// sent "echo ping"
}

// echo answers one frame received on port with "echo " and the frame.
func echo(port *ringstest.Port) {
	if err := port.WaitRx(); err != nil {
		panic(err)
	}
	rx, _ := port.RxRing(0)
	tx, _ := port.TxRing(0)
	if n, _ := rx.Acquire(1); n == 1 {
		in, _ := rx.Packet(0)
		if m, _ := tx.Reserve(1); m == 1 {
			k, _ := tx.WritePacket(0, append([]byte("echo "), in...))
			tx.Publish(k)
		}
		rx.Release(1)
	}
	if err := port.TxSync(); err != nil {
		panic(err)
	}
}
