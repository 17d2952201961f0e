package appliance

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/plinth-storage/plinth/internal/human"
	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/io/zonemu"
)

// The embedded default: six emulated host-managed SMR drives of 64 zones of
// 256 MiB (16 GiB each, sparse), the first two zones conventional as on real
// SMR drives.
const (
	DefaultDataDir = "plinth-data"
	DefaultDrives  = 6
	drivesDir      = "drives"
	driveSuffix    = ".zdev"
)

// DefaultDriveConfig is the geometry of each emulated default drive.
func DefaultDriveConfig() zonemu.Config {
	return zonemu.Config{
		ZoneSize:         256 << 20,
		ZoneCapacity:     256 << 20,
		NrZones:          64,
		NrConventional:   2,
		MaxOpenZones:     16,
		LogicalBlockSize: 4096,
		Behavior:         zonemu.BehaviorSMR,
	}
}

// DefaultOptions says what EnsureDefault creates.
type DefaultOptions struct {
	Drives   int           // DefaultDrives when 0
	Config   zonemu.Config // DefaultDriveConfig() when NrZones is 0
	Progress io.Writer
}

// EnsureDefault returns the drive files of the embedded default node in
// dir, creating and formatting them on first start. Creation happens in a
// scratch directory that is renamed into place only when every drive is
// formatted, so a crash during the first start leaves nothing half made;
// the scratch directory of such a crash is removed on the next start.
func EnsureDefault(dir string, opts DefaultOptions) (paths []string, created bool, err error) {
	if opts.Drives == 0 {
		opts.Drives = DefaultDrives
	}
	if opts.Config.NrZones == 0 {
		opts.Config = DefaultDriveConfig()
	}
	final := filepath.Join(dir, drivesDir)
	if paths, err := driveFiles(final); err == nil {
		return paths, false, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, false, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, false, fmt.Errorf("data directory: %w", err)
	}
	scratch := final + ".creating"
	if err := os.RemoveAll(scratch); err != nil {
		return nil, false, fmt.Errorf("remove the leftover of an interrupted first start: %w", err)
	}
	if err := os.Mkdir(scratch, 0o755); err != nil {
		return nil, false, fmt.Errorf("data directory: %w", err)
	}
	var devs []dev.Device
	defer func() { closeAll(devs) }()
	for i := 0; i < opts.Drives; i++ {
		p := filepath.Join(scratch, fmt.Sprintf("drive-%d%s", i, driveSuffix))
		z, err := zonemu.CreateFile(p, opts.Config)
		if err != nil {
			return nil, false, fmt.Errorf("create emulated drive: %w", err)
		}
		devs = append(devs, z)
	}
	if opts.Progress != nil {
		fmt.Fprintf(opts.Progress, "first start: creating %d emulated host-managed %s drives of %d zones of %s (sparse files) in %s\n",
			opts.Drives, strings.ToUpper(opts.Config.Behavior.String()), opts.Config.NrZones, human.IBytes(opts.Config.ZoneSize), final)
	}
	if _, err := FormatNode(devs, FormatOptions{}); err != nil {
		return nil, false, err
	}
	for _, d := range devs {
		if err := d.Flush(); err != nil {
			return nil, false, err
		}
	}
	closeAll(devs)
	devs = nil
	if err := syncDir(scratch); err != nil {
		return nil, false, err
	}
	if err := os.Rename(scratch, final); err != nil {
		return nil, false, fmt.Errorf("data directory: %w", err)
	}
	if err := syncDir(dir); err != nil {
		return nil, false, err
	}
	paths, err = driveFiles(final)
	return paths, true, err
}

// driveFiles lists the drive files in dir, sorted by name.
func driveFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	var paths []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), driveSuffix) {
			paths = append(paths, filepath.Join(dir, e.Name()))
		}
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("data directory %s holds no drives (*%s files)", dir, driveSuffix)
	}
	sort.Strings(paths)
	return paths, nil
}

// syncDir makes a directory's entries durable.
func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
