package st2110

import "strings"

// secondPathError is an error of the second path (ListenConfig.Second,
// SendConfig.Second) of a Listen or Dial: it names the operation, the
// first path and the second once ("st2110: listen udp: second path
// udp:eth1: interface eth1: ..."), the prefixes the error had of its own
// left out, and unwraps to it (errors.Is, errors.As: a *NameError, a
// *video.BudgetError, the transport's error).
type secondPathError struct {
	op, name, second string
	err              error
}

// secondErr wraps err, of the second path of op ("listen", "dial") on
// transport name; nil for nil.
func secondErr(op, name, second string, err error) error {
	if err == nil {
		return nil
	}
	return &secondPathError{op: op, name: name, second: second, err: err}
}

func (e *secondPathError) Error() string {
	msg := strings.TrimPrefix(e.err.Error(), "st2110: ")
	for _, p := range []string{e.op + " " + e.second + ": ", e.op + ": ", "second path " + e.second + ": "} {
		msg = strings.TrimPrefix(msg, p)
	}
	return "st2110: " + e.op + " " + e.name + ": second path " + e.second + ": " + msg
}

func (e *secondPathError) Unwrap() error { return e.err }
