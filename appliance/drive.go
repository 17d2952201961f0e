package appliance

import (
	"errors"
	"fmt"
	"os"

	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/io/direct"
	"github.com/plinth-storage/plinth/io/zonemu"
)

// OpenDevice opens a drive for exclusive use: a block device, an emulated
// zoned drive (a file formatted by the zoned emulator), or a plain file.
func OpenDevice(path string) (dev.Device, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("open drive: %w", err)
	}
	if st.Mode().IsRegular() {
		z, err := zonemu.OpenFile(path)
		if err == nil {
			return z, nil
		}
		if !errors.Is(err, zonemu.ErrNotFormatted) {
			return nil, fmt.Errorf("open emulated zoned drive: %w", err)
		}
	}
	return direct.Open(path, direct.Options{})
}

// closeAll closes devices, for error paths.
func closeAll(devs []dev.Device) {
	for _, d := range devs {
		if d != nil {
			d.Close()
		}
	}
}
