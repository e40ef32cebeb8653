// Package porttest hands tests runs of UDP ports to bind later, by
// number: for a receiver that binds PORT+k for its flow k, or a command
// whose address is a flag. (A test that can bind port 0 and read back the
// port the kernel chose should do that instead.)
//
// A port handed out was free when checked, and stays reserved until the
// test ends (t.Cleanup): no other caller of this process gets it, and no
// other process using this package either. Ports are drawn from [20000,
// 32768), below the ephemeral range of every system (Linux's starts at
// 32768, the BSDs', macOS's and Windows' at 49152), so the kernel does not
// hand one to another socket between the check and the test's bind.
//
// Across processes (go test runs packages in parallel; a -race run, or a
// developer's loop, may run beside a plain one) the reservation is a
// POSIX record lock (fcntl F_SETLK) on the bytes [p, p+n) of one file in
// os.TempDir(), nmgo-udp-ports.lock: the kernel drops it when the process
// exits, however it exits, so no stale reservation outlives a crash. The
// file is opened without following a symbolic link and must be a regular
// file (the name is guessable, in a directory anyone may write). On a
// system without record locks (Windows), or if the file cannot be opened
// for writing, ports are reserved within the process only (UDP logs why
// to the first test of the process that calls it), and a clash
// with another process is left to the check (a bind of each port) and so
// to chance: 1 in thousands a draw. A process that binds these ports
// without this package (an older test binary, another program) is seen
// only by the check.
//
// It is for tests only (.ci/arrows keeps it out of non-test code) and is
// safe for concurrent use.
package porttest
