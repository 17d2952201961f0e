package hw

// Options tells Inventory where to look. The zero value inventories this
// machine.
type Options struct {
	// SysfsRoot is where sysfs is mounted; default "/sys".
	SysfsRoot string
	// DevRoot holds the device nodes; default "/dev". Nodes are opened
	// read-only, never exclusively, to probe for signatures and labels.
	DevRoot string
	// MountInfo is the mount table in mountinfo format; default
	// "/proc/self/mountinfo".
	MountInfo string
	// Label, when set, reads a Plinth label from a device node path. It
	// returns the UUID of the node the drive belongs to, and found=false
	// when the drive carries no Plinth label.
	Label func(devPath string) (nodeUUID string, found bool, err error)
	// ThisNode is the UUID of the node running the inventory. A drive whose
	// label names any other node is refused. When ThisNode is "" (the node
	// has no identity yet) every labelled drive is refused as labelled by
	// the node its label names.
	ThisNode string
}

func (o Options) withDefaults() Options {
	if o.SysfsRoot == "" {
		o.SysfsRoot = "/sys"
	}
	if o.DevRoot == "" {
		o.DevRoot = "/dev"
	}
	if o.MountInfo == "" {
		o.MountInfo = "/proc/self/mountinfo"
	}
	return o
}
