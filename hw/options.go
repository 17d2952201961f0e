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
	// SkipLabels: do not read Plinth labels. Drives then have no
	// PlinthNode and are never refused for their label. For callers that
	// check labels themselves: plinth mkfs refuses labelled drives unless
	// --force.
	SkipLabels bool
	// ThisNode is the UUID of the node running the inventory (any spelling
	// uuid.Parse accepts). A drive whose label names any other node is
	// refused. When ThisNode is "" (the node
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
