package enclosure_test

import (
	"fmt"
	"os"
	"sync"
	"testing"

	fx "github.com/plinth-storage/plinth/hw/enclosure/enclosuretest"
)

// The fixture trees live on disk; on a slow file system an 84-slot tree
// with two paths takes seconds to write, so the tests that only read share
// one machine (sharedMachine), and those that write use small enclosures.

var (
	sharedDir  string // made by TestMain, removed after the tests
	sharedOnce sync.Once
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "enclosure-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	sharedDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// sharedMachine is a read-only machine with jbod12 and the5U84; tests must
// not change it.
func sharedMachine(t *testing.T) string {
	t.Helper()
	sharedOnce.Do(func() {
		a, b := fx.The5U84()
		fx.Build(t, sharedDir, fx.JBOD12(), a, b)
	})
	return sharedDir
}
