package st2110

import "testing"

// Close of a Receiver or Sender not made by Listen or Dial (a zero value)
// has nothing to close: it returns nil, again on a second call, instead
// of a nil-pointer panic or a wait for goroutines that never started.
func TestZeroClose(t *testing.T) {
	var r Receiver
	for i := range 2 {
		if err := r.Close(); err != nil {
			t.Errorf("zero Receiver: Close %d: %v", i+1, err)
		}
	}
	var s Sender
	for i := range 2 {
		if err := s.Close(); err != nil {
			t.Errorf("zero Sender: Close %d: %v", i+1, err)
		}
	}
}
