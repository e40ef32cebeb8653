package interop

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// enabled is set by NMTEST_INTEROP=1: the tests run, and a missing tool
// fails them instead of skipping.
var enabled = os.Getenv("NMTEST_INTEROP") == "1"

// nmbench is the path of the nmbench binary TestMain builds, and nmbenchErr
// why it cannot be used (the build failed, or it has no video functions).
var (
	nmbench    string
	nmbenchErr error
)

func TestMain(m *testing.M) {
	if !enabled {
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "nmgo-interop-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	nmbench, nmbenchErr = buildNmbench(dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// buildNmbench builds cmd/nmbench into dir once for all tests and checks
// that it has the video sender and receiver.
func buildNmbench(dir string) (string, error) {
	bin := filepath.Join(dir, "nmbench")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/nmgo/nmgo/cmd/nmbench")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/nmbench: %v\n%s", err, out)
	}
	// -h exits with status 2 after printing the usage; only the text matters.
	var usage bytes.Buffer
	cmd = exec.Command(bin, "-h")
	cmd.Stdout, cmd.Stderr = &usage, &usage
	_ = cmd.Run()
	for _, want := range []string{"vtx", "vrx", "-fmt", "-sdp-out", "-in", "-out", "-pix"} {
		if !strings.Contains(usage.String(), want) {
			return "", fmt.Errorf("nmbench has no -f vtx yet: its usage does not mention %q", want)
		}
	}
	return bin, nil
}

// need skips t unless NMTEST_INTEROP=1, then checks that the named tools
// are installed, failing t if one is missing.
func need(t testing.TB, tools ...string) {
	t.Helper()
	if !enabled {
		t.Skip("interop tests run with NMTEST_INTEROP=1 (needs ffmpeg and GStreamer; .ci/run sets it)")
	}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("NMTEST_INTEROP=1 but %s is missing (apt-get install ffmpeg gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good): %v", tool, err)
		}
	}
	if slices.Contains(tools, "gst-launch-1.0") {
		for _, el := range []string{"rtpvrawpay", "rtpvrawdepay", "videotestsrc", "udpsrc", "udpsink", "filesrc", "filesink"} {
			if out, err := exec.Command("gst-inspect-1.0", el).CombinedOutput(); err != nil {
				t.Fatalf("NMTEST_INTEROP=1 but GStreamer has no %s (gstreamer1.0-plugins-base and -good): %v\n%s", el, err, tail(out, 5))
			}
		}
	}
}

// needNmbench is need plus a usable nmbench.
func needNmbench(t testing.TB, tools ...string) string {
	t.Helper()
	need(t, tools...)
	if nmbenchErr != nil {
		t.Fatal(nmbenchErr)
	}
	if nmbench == "" {
		t.Fatal(errors.New("nmbench was not built"))
	}
	return nmbench
}

// tail returns the last n lines of b.
func tail(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
