package hw

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
)

// identity fills the descriptive fields: model, serial, WWN, transport.
// All best effort; see the package comment for the files.
func identity(d *Drive, s sysDir) {
	d.Model = clean(s.bestEffort("device/model"))
	d.Serial = serial(s)
	d.WWN = clean(s.bestEffort("wwid"))
	if d.WWN == "" {
		d.WWN = clean(s.bestEffort("device/wwid"))
	}
	d.Transport = transport(s, d.Name)
}

func serial(s sysDir) string {
	for _, rel := range []string{"device/serial", "serial"} {
		if v := clean(s.bestEffort(rel)); v != "" {
			return v
		}
	}
	b, err := os.ReadFile(s.path("device/vpd_pg80"))
	if err != nil {
		return ""
	}
	return clean(vpdSerial(b))
}

// vpdSerial decodes the SCSI Unit Serial Number VPD page (0x80): a 4-byte
// header whose bytes 2-3 are the big-endian page length, then the serial in
// ASCII, often padded with spaces. It returns "" for anything else.
func vpdSerial(b []byte) string {
	if len(b) < 4 || b[1] != 0x80 {
		return ""
	}
	n := int(binary.BigEndian.Uint16(b[2:4]))
	if n > len(b)-4 {
		n = len(b) - 4
	}
	return string(b[4 : 4+n])
}

// clean keeps printable ASCII and trims the padding drives put around their
// identity strings, so that a table stays a table.
func clean(v string) string {
	v = strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return -1
		}
		return r
	}, v)
	return strings.TrimSpace(v)
}

// transport guesses how the drive is attached.
func transport(s sysDir, name string) string {
	switch {
	case strings.HasPrefix(name, "nvme"):
		// device/transport: pcie, tcp, rdma, fc, loop.
		if t := clean(s.bestEffort("device/transport")); t != "" && t != "pcie" {
			return "nvme-" + t
		}
		return "nvme"
	case strings.HasPrefix(name, "vd"):
		return "virtio"
	case strings.HasPrefix(name, "xvd"):
		return "xen"
	case strings.HasPrefix(name, "loop"):
		return "loop"
	case strings.HasPrefix(name, "nbd"):
		return "nbd"
	case strings.HasPrefix(name, "mmcblk"):
		return "mmc"
	case strings.HasPrefix(name, "sd"):
		return scsiTransport(s)
	}
	return ""
}

func scsiTransport(s sysDir) string {
	if real, err := filepath.EvalSymlinks(string(s)); err == nil && strings.Contains(real, "/usb") {
		return "usb"
	}
	// libata presents SATA drives as SCSI disks of vendor "ATA", also
	// behind SAS HBAs and expanders.
	if clean(s.bestEffort("device/vendor")) == "ATA" {
		return "sata"
	}
	if _, err := os.Stat(s.path("device/sas_address")); err == nil {
		return "sas"
	}
	return "scsi"
}
