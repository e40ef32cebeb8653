package vale_test

import (
	"bytes"
	"os"
	"sync"
)

var interruptSignal = os.Interrupt

// safeBuffer is a bytes.Buffer safe for the concurrent writes of a child
// process's stdout and stderr copiers.
type safeBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *safeBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *safeBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.b.Bytes())
}
