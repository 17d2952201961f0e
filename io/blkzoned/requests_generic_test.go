//go:build !(mips || mipsle || mips64 || mips64le || ppc || ppc64 || ppc64le || sparc || sparc64)

package blkzoned

// wantRequests are the request numbers of the generic ioctl encoding, as a C
// compiler computes them from <linux/blkzoned.h> on x86-64.
var wantRequests = map[string]uintptr{
	"BLKREPORTZONE": 0xc0101282,
	"BLKRESETZONE":  0x40101283,
	"BLKGETZONESZ":  0x80041284,
	"BLKGETNRZONES": 0x80041285,
	"BLKOPENZONE":   0x40101286,
	"BLKCLOSEZONE":  0x40101287,
	"BLKFINISHZONE": 0x40101288,
}
