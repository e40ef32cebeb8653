package abi

import "testing"

func TestSyncRequestNumbersLinux(t *testing.T) {
	if NIOCTXSYNC != Ioc(IOC_NONE, 'i', 148, 0) || NIOCTXSYNC != 27028 {
		t.Errorf("NIOCTXSYNC = %#x", NIOCTXSYNC)
	}
	if NIOCRXSYNC != Ioc(IOC_NONE, 'i', 149, 0) || NIOCRXSYNC != 27029 {
		t.Errorf("NIOCRXSYNC = %#x", NIOCRXSYNC)
	}
}
