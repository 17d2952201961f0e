// Package enclosure maps drives to enclosure slots and drives the slots'
// locate and fault LEDs, through the kernel's enclosure class
// (/sys/class/enclosure), which the SES driver (drivers/scsi/ses.c) fills
// for every SCSI Enclosure Services device it finds. It imports nothing
// above the hardware layer.
//
// # What is read
//
// Each entry of /sys/class/enclosure is one enclosure device, named after
// its SES SCSI device (H:C:T:L), and is one path to an enclosure: a
// dual-ported SAS JBOD such as a 5U84 shows once per SES path (one per IO
// module or expander it is reached through). Relative to
// /sys/class/enclosure/H:C:T:L:
//
//	id                  the enclosure logical identifier from SES page 1,
//	                    printed "%#llx": "0x500c0ff0abcdef3c\n" (no file,
//	                    or unreadable, on kernels without it; "0" when the
//	                    enclosure reports none)
//	device/vendor       the SES device's SCSI vendor, space padded ("SEAGATE ")
//	device/model        the SES device's SCSI product ("5U84            ")
//	device/sas_address  the SES device's SAS address, "0x5000c500a1b2c3d4"
//	                    (where the HBA driver shows it), used when id is
//	                    missing or zero
//	COMPONENT/          one directory per device or array device element:
//	                    a drive bay, named from the enclosure's element
//	                    descriptor ("Slot 01", "DISK001", "ArrayDevice05")
//	                    or, when it has none, by element number ("7")
//
// and relative to a COMPONENT directory:
//
//	slot          the enclosure's slot number, decimal, "%d\n"; from the
//	              additional element status page, else the element number
//	              (old kernels have no slot file: the number at the end
//	              of the component name is used, else -1)
//	device        a link to the SCSI device in the bay, only when the kernel
//	              matched one (by the SAS address of the drive's phy 0, on
//	              the same SCSI host); device/block/NAME is the disk ("sdb")
//	status        the element status: one of "unsupported", "OK",
//	              "critical", "non-critical", "unrecoverable",
//	              "not installed" (an empty bay), "unknown", "unavailable"
//	fault         "%d\n": 0 off, non-zero on (SES gives 0, 2, 4 or 6:
//	              RQST FAULT and FAULT SENSED)
//	locate        "%d\n": 0 off, 1 on (RQST IDENT)
//
// Only slot, the device link, id, vendor, model and sas_address come from
// memory. Every read of status, fault or locate makes the kernel send the
// enclosure a RECEIVE DIAGNOSTIC RESULTS command for the status page, so
// Scan reads them once per slot, on the first path that answers, and Map
// (what the drive inventory uses) does not read them at all.
//
// Components that are not directories holding a slot or type file (power/,
// the device and subsystem links, uevent, components, id) are skipped. An
// enclosure device or linked drive that disappears while it is read (hot
// removal) is skipped too. A missing /sys/class/enclosure (no ses module, no
// enclosure) means no enclosures, not an error. A directory that exists but
// cannot be read, or a slot file that is not a decimal number, fails the
// scan with an error naming the enclosure, component and file.
//
// # One enclosure, several paths
//
// Enclosure devices with the same non-zero id are one enclosure (SES
// requires the logical identifier to be the same on every path); without
// an id, those whose SES device has the same SAS address are; without
// either, each path is its own enclosure. Paths are in H:C:T:L order. A slot
// is matched across paths by its slot number, or by its component name when
// some path repeats a slot number (enclosures that number each drawer's
// slots from 0). A slot's Disk is the first disk any path links to it, its
// Disks every disk the paths link (a dual-ported drive on two HBAs can show
// as two SCSI disks); a drive is found through whichever path links it.
//
// # Drawers
//
// When every component name names a drawer ("Drawer 2 Slot 05",
// "DRAWER1_SLOT03", "Drw2-Disk07"), the names say which drawer each slot is
// in. Otherwise an enclosure of 84 slots numbered 0-83 or 1-84 is a 5U84:
// its first 42 slots are drawer 1, the next 42 drawer 2. Any other
// enclosure has no drawers (Drawer 0).
//
// # What is written
//
// Locate and Fault (and Slot.SetLocate, Slot.SetFault) write "1\n" to turn
// the LED on and "0\n" to turn it off, as `echo 1 > locate` does: the file
// is opened write-only with O_TRUNC, never created. The write goes to the
// slot's component on the first path; only if that fails is the next path
// tried. The kernel parses the value with simple_strtoul and sets or clears
// RQST IDENT (locate) or RQST FAULT (fault) in the element's control
// descriptor, sent to the enclosure with SEND DIAGNOSTIC. When no path
// takes the write, the error names every file that was tried and why. The
// enclosure class ignores the SES driver's result, so a write the enclosure
// rejects still succeeds: read the LED back with Scan to be sure.
package enclosure
