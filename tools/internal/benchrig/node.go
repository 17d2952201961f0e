package benchrig

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/plinth-storage/plinth/appliance"
	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/io/direct"
)

// EnvInt is the integer in environment variable name, def when unset; a
// value that is not an integer of at least least is an error naming it.
func EnvInt(name string, def, least int) (int, error) {
	s := os.Getenv(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < least {
		return 0, fmt.Errorf("%s=%q: want an integer of at least %d", name, s, least)
	}
	return n, nil
}

// FormatFiles creates drives files of size bytes (sparse) in dir and
// formats them as one node with segments of segSize bytes, and returns
// their paths in position order.
func FormatFiles(dir string, drives int, size, segSize int64) ([]string, error) {
	var paths []string
	var devs []dev.Device
	defer func() {
		for _, d := range devs {
			d.Close()
		}
	}()
	for i := range drives {
		p := filepath.Join(dir, fmt.Sprintf("drive-%d.img", i))
		d, err := direct.Open(p, direct.Options{Create: true, Size: size})
		if err != nil {
			return nil, err
		}
		devs = append(devs, d)
		paths = append(paths, p)
	}
	if _, err := appliance.FormatNode(devs, appliance.FormatOptions{SegmentSize: segSize}); err != nil {
		return nil, err
	}
	return paths, nil
}
