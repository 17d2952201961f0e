package hw

import (
	"os"
	"path/filepath"
	"testing"
)

func TestVPDSerial(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
	}{
		{"\x00\x80\x00\x08  ABC123", "  ABC123"},
		{"\x00\x80\x00\x20ABC", "ABC"}, // length beyond the data
		{"\x00\x80\x00\x00", ""},
		{"\x00\x83\x00\x03ABC", ""}, // another page
		{"\x00\x80", ""},
		{"", ""},
	} {
		if got := vpdSerial([]byte(tc.in)); got != tc.want {
			t.Errorf("vpdSerial(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestClean(t *testing.T) {
	for in, want := range map[string]string{
		"  ST18000NM000J  \n": "ST18000NM000J",
		"A\tB\x00C\xffD":      "ABCD",
		"\x00\x00":            "",
	} {
		if got := clean(in); got != want {
			t.Errorf("clean(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTransport(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"sys/block/nvme2n1/device/transport":                        "tcp\n",
		"sys/block/nvme3n1/device/transport":                        "pcie\n",
		"sys/block/sdx/device/vendor":                               "SEAGATE \n",
		"sys/block/sdy/device/vendor":                               "ATA     \n",
		"sys/block/sdy/device/sas_address":                          "0x5000c50000000001\n",
		"devices/pci0000:00/0000:00:14.0/usb2/2-1/block/sdu/size":   "8\n",
		"devices/pci0000:00/0000:00:14.0/usb2/2-1/block/sdu/device": "",
	})
	if err := os.Symlink(filepath.Join(dir, "devices/pci0000:00/0000:00:14.0/usb2/2-1/block/sdu"),
		filepath.Join(dir, "sys/block/sdu")); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"nvme2n1": "nvme-tcp",
		"nvme3n1": "nvme",
		"nvme4n1": "nvme", // no transport file (a multipath head)
		"sdx":     "scsi",
		"sdy":     "sata", // SATA behind a SAS HBA
		"sdu":     "usb",
		"vdb":     "virtio",
		"xvda":    "xen",
		"mmcblk0": "mmc",
		"pmem0":   "",
	} {
		if got := transport(sysDir(filepath.Join(dir, "sys/block", name)), name); got != want {
			t.Errorf("transport(%s) = %q, want %q", name, got, want)
		}
	}
}
