package nmtest

import (
	"os"
	"testing"
)

// Device is the netmap control device.
const Device = "/dev/netmap"

// Required reports whether NMTEST_REQUIRE=1 is set.
func Required() bool { return os.Getenv("NMTEST_REQUIRE") == "1" }

// Require skips t (or fails it under NMTEST_REQUIRE=1) when /dev/netmap is
// missing.
func Require(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(Device); err != nil {
		if Required() {
			t.Fatalf("NMTEST_REQUIRE=1 but netmap is unavailable: %v", err)
		}
		t.Skipf("needs netmap (%v); run test/vale/vm/run to test in a VM with netmap.ko", err)
	}
}

// Tool returns the path of a netmap tool given by the environment variable
// env (NMTEST_PKTGEN, NMTEST_VALECTL), skipping or failing like Require when
// it is not set or missing.
func Tool(t testing.TB, env string) string {
	t.Helper()
	p := os.Getenv(env)
	if p == "" {
		if Required() {
			t.Fatalf("NMTEST_REQUIRE=1 but %s is not set", env)
		}
		t.Skipf("%s not set", env)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s=%s: %v", env, p, err)
	}
	return p
}
