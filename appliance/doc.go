// Package appliance is the node: the drives it owns, formatted as one node,
// and (as later layers arrive) its pools, data log, objects and indexes.
//
// A node is a set of drives whose labels (package superblock) carry the
// same node UUID and distinct positions 0..n-1. FormatNode writes those
// labels; OpenNode opens the drives exclusively, reads the labels and checks
// that they describe one node. EnsureDefault creates the embedded default:
// emulated zoned drives in sparse files under a data directory, formatted on
// first start.
//
// This package adds no on-disk format of its own yet; the drive labels are
// specified in package superblock and the emulated drives in package zonemu.
package appliance
