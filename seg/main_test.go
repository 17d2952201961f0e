package seg

import (
	"os"
	"runtime/debug"
	"testing"
)

func TestMain(m *testing.M) {
	// Every Writer holds a MaxWrite (4 MiB) buffer and every scan a 1 MiB
	// window, against a live heap of a few megabytes: at the default GOGC
	// the simulations, which create thousands of them, spend most of
	// their time collecting and faulting those buffers back in.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(300)
	}
	os.Exit(m.Run())
}
