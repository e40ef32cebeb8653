// Package handoff lets a loop that owns its OS thread
// (runtime.LockOSThread) and waits in system calls on it give its
// goroutine's P to the runtime for a wait, now and then, so that the
// process's other goroutines run meanwhile.
//
// A system call through the runtime (syscall.Syscall, unix.Poll,
// unix.ClockNanosleep) keeps the goroutine's P; the runtime's monitor
// (sysmon) takes it only from a call it sees span two of its looks, 20 µs
// to 10 ms apart. A loop whose waits are short and many (a sender sleeping
// to each burst's time, a receiver woken by every few packets, or
// lingering for them) never makes one: with every P of the process held so
// (one such loop a P), the other goroutines (the frames' consumer, timers,
// the garbage collector's workers) wait for the loop's next yield
// (osthread.Yielder, 7 ms). [Syscall6] makes one system call with the P
// handed off at once, as the runtime does for its own blocking calls
// ([Ppoll] and [Nanosleep] are the two the loops make through it);
// [Clock] says when, once every [Every]. [HoldSleep] is the other way: a
// short sleep that keeps the P, raw, for the readers' lingers.
// [DeadlineNanos] turns an os.File-style deadline into nanoseconds on
// [Now], the monotonic clock since the package's start, and [Left] says
// how long those waits have to it on that clock.
//
// The package is Linux's: elsewhere Syscall6 and HoldSleep are missing and
// no loop hands off (a wait keeps the P as before). It uses the runtime's
// entersyscallblock and exitsyscall, linked by name (go:linkname), which
// the runtime keeps for packages that make their own blocking system calls
// (go.dev/issue/67401). A Clock belongs to one goroutine and is not safe
// for concurrent use.
package handoff
