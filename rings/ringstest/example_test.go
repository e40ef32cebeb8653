package ringstest_test

import (
	"fmt"

	"github.com/nmgo/nmgo/rings/ringstest"
)

// Two ports joined like two ports of a VALE switch: what one sends, the
// other receives. With netmap, a and b would be nmsys Ports, opened as
// "vale0:a" and "vale0:b".
func Example() {
	a := ringstest.MustNewPort(nil)
	b := ringstest.MustNewPort(nil)
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
	p := ringstest.MustNewPort(&ringstest.Config{RxSlots: 8, TxSlots: 8})
	p.OnSend(0, func(frame []byte) { fmt.Printf("sent %q\n", frame) })
	p.Inject(0, []byte("ping"))

	// The code under test: echo what arrives.
	rx, _ := p.RxRing(0)
	tx, _ := p.TxRing(0)
	_ = p.RxSync()
	n, _ := rx.Acquire(8)
	m, _ := tx.Reserve(n)
	for i := range m {
		in, _ := rx.Packet(i)
		tx.SetLen(i, copy(tx.Buf(i), append([]byte("echo "), in...)))
	}
	tx.Publish(m)
	rx.Release(n)
	_ = p.TxSync()
	// Output:
	// sent "echo ping"
}
