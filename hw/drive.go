package hw

import "github.com/plinth-storage/plinth/io/dev"

// Drive describes one block device of the inventory. Sizes are bytes.
type Drive struct {
	Name string // kernel name: "sdb", "nvme0n2"
	Path string // device node: "/dev/sdb"

	Model     string // "" when the kernel does not say
	Serial    string
	WWN       string // the kernel's wwid: "naa.5000c500...", "eui.0014ee83..."
	Transport string // sata, sas, scsi, usb, nvme, nvme-tcp, virtio, loop, nbd, mmc, xen; "" unknown

	Size       int64
	Rotational bool

	Zoned          dev.ZoneModel
	ZoneSize       int64 // 0 when not zoned
	NrZones        int   // 0 when not zoned
	MaxOpenZones   int   // 0 when not zoned or no limit
	MaxActiveZones int   // 0 when not zoned or no limit

	LogicalBlockSize  int
	PhysicalBlockSize int
	OptimalIOSize     int // 0 when the device does not report one

	// From the drive's Plinth label; all zero when the drive has none (or
	// labels were not read, or the label could not be).
	PlinthNode     string // UUID of the node the drive belongs to
	PlinthDrive    string // UUID of the drive in that node
	PlinthPosition int    // the drive's position in the node, 0-based

	Refused []string // why Plinth must not take the drive; empty when usable
}

// Usable reports whether Plinth may take the drive.
func (d Drive) Usable() bool { return len(d.Refused) == 0 }
