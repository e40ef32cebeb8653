package rings_test

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/nmgo/nmgo/rings"
	"github.com/nmgo/nmgo/rings/ringstest"
)

// The examples run on a ringstest.Port, a netmap port in memory whose
// TxSync and RxSync play the kernel; an nmsys.Port has the same methods.

// Send a batch: reserve slots, fill their buffers, publish, sync.
func ExampleTxRing() {
	port, err := ringstest.NewPort(&ringstest.Config{TxSlots: 8, RxSlots: 8})
	if err != nil {
		panic(err)
	}
	port.OnSend(0, func(frame []byte) { fmt.Printf("sent %q\n", frame) })

	tx, err := port.TxRing(0)
	if err != nil {
		panic(err)
	}
	msgs := []string{"one", "two", "three"}
	n, err := tx.Reserve(len(msgs))
	if err != nil {
		panic(err)
	}
	for i := range n {
		tx.SetLen(i, copy(tx.Buf(i), msgs[i]))
	}
	tx.Publish(n)
	if err := port.TxSync(); err != nil {
		panic(err)
	}
	fmt.Println("space:", tx.Space())
	// Output:
	// sent "one"
	// sent "two"
	// sent "three"
	// space: 7
}

// Receive a batch: sync, view the packets in place, release them.
func ExampleRxRing() {
	port, err := ringstest.NewPort(&ringstest.Config{TxSlots: 8, RxSlots: 8})
	if err != nil {
		panic(err)
	}
	port.Inject(0, []byte("hello"))
	port.Inject(0, []byte("world"))

	rx, err := port.RxRing(0)
	if err != nil {
		panic(err)
	}
	if err := port.RxSync(); err != nil {
		panic(err)
	}
	pkts := make([][]byte, 64) // reused for every batch
	n, err := rx.View(pkts)
	if err != nil && !errors.Is(err, rings.ErrIntegrity) {
		panic(err)
	}
	for _, p := range pkts[:n] {
		fmt.Printf("%s\n", p) // p aliases the ring until Release
	}
	rx.Release(n)
	// Output:
	// hello
	// world
}

// Forward packets from an RX ring to a TX ring of the same region without
// copying them: the slots swap buffers.
func ExampleTxRing_Swap() {
	port, err := ringstest.NewPort(&ringstest.Config{TxSlots: 8, RxSlots: 8})
	if err != nil {
		panic(err)
	}
	port.OnSend(0, func(frame []byte) { fmt.Printf("forwarded %q\n", frame) })
	port.Inject(0, []byte("zero"))
	port.Inject(0, []byte("copy"))
	_ = port.RxSync()

	rx, _ := port.RxRing(0)
	tx, _ := port.TxRing(0)
	n, _ := rx.Acquire(64)
	m, _ := tx.Reserve(n)
	for i := range m {
		if err := tx.Swap(i, rx, i); err != nil {
			fmt.Println(err)
		}
	}
	tx.Publish(m)
	rx.Release(m)
	_ = port.TxSync()
	_ = port.RxSync()
	// Output:
	// forwarded "zero"
	// forwarded "copy"
}

// A packet larger than a buffer spans several slots chained with
// NS_MOREFRAG; ReadPacket joins them into a caller's buffer.
func ExampleRxRing_ReadPacket() {
	port, err := ringstest.NewPort(&ringstest.Config{TxSlots: 8, RxSlots: 8, BufSize: 64})
	if err != nil {
		panic(err)
	}
	port.Inject(0, bytes.Repeat([]byte("x"), 150)) // 3 slots of 64 bytes
	_ = port.RxSync()

	rx, _ := port.RxRing(0)
	buf := make([]byte, 64*64) // room for the largest packet
	n, _ := rx.Acquire(64)
	for i := 0; i < n; {
		size, slots, err := rx.ReadPacket(i, buf)
		if err != nil {
			fmt.Println(err)
			break
		}
		fmt.Println(size, "bytes in", slots, "slots")
		i += slots
	}
	rx.Release(n)
	// Output:
	// 150 bytes in 3 slots
}

// Keep a received packet without copying it: swap an extra buffer into its
// slot, release the slot, and read the packet later from the buffer.
func ExampleExtraBufs() {
	port, err := ringstest.NewPort(&ringstest.Config{TxSlots: 8, RxSlots: 8, ExtraBufs: 2})
	if err != nil {
		panic(err)
	}
	port.Inject(0, []byte("keep me"))
	_ = port.RxSync()

	rx, _ := port.RxRing(0)
	off, _ := port.RxRingOffset(0)
	extra, err := rings.NewExtraBufs(port.Mem(), port.IfOffset(), off, 0)
	if err != nil {
		panic(err)
	}
	rx.Acquire(1)
	p, _ := rx.Packet(0)
	size := len(p)
	spare, _ := extra.Get()
	held, _ := rx.SwapBuf(0, spare) // the slot now receives into spare
	rx.Release(1)

	b, _ := extra.Buf(held)
	fmt.Printf("%s (%d left)\n", b[:size], extra.Len())
	_ = extra.Put(held) // back on the list before the port closes
	// Output:
	// keep me (1 left)
}

// Pass on what the application does not take: received packets move to
// another ring of the region by buffer swap, without a copy, as a NIC's
// packets go to its host TX ring (here TX ring 1 plays that ring).
func ExampleForward() {
	port, err := ringstest.NewPort(&ringstest.Config{TxRings: 2, TxSlots: 8, RxSlots: 8})
	if err != nil {
		panic(err)
	}
	port.OnSend(1, func(frame []byte) { fmt.Printf("to the host: %q\n", frame) })
	for _, p := range []string{"arp", "video 1", "ping", "video 2"} {
		port.Inject(0, []byte(p))
	}
	if err := port.RxSync(); err != nil {
		panic(err)
	}
	nic, err := port.RxRing(0)
	if err != nil {
		panic(err)
	}
	host, err := port.TxRing(1)
	if err != nil {
		panic(err)
	}
	f, err := rings.Forward(host, nic, 64, func(pkt []byte) bool {
		if !bytes.HasPrefix(pkt, []byte("video")) {
			return false
		}
		fmt.Printf("taken: %q\n", pkt)
		return true
	})
	if err != nil {
		panic(err)
	}
	if err := port.TxSync(); err != nil {
		panic(err)
	}
	fmt.Printf("%+v\n", f)
	// Output:
	// taken: "video 1"
	// taken: "video 2"
	// to the host: "arp"
	// to the host: "ping"
	// {Acquired:4 Taken:2 Sent:2 Dropped:0 Bad:0 Held:0}
}
