//go:build linux

package xsk_test

import "sync/atomic"

func atomicStore(p *uint64, v uint64) { atomic.StoreUint64(p, v) }
func atomicLoad(p *uint64) uint64     { return atomic.LoadUint64(p) }
