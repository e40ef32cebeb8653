package rings

// SetCheckFailedHook makes fn run first on every path that follows a
// failed check of a value read from shared memory (see hookCheckFailed)
// until the returned function restores the previous hook.
func SetCheckFailedHook(fn func()) (restore func()) {
	old := hookCheckFailed
	hookCheckFailed = fn
	return func() { hookCheckFailed = old }
}
