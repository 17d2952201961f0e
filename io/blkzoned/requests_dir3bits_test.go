//go:build mips || mipsle || mips64 || mips64le || ppc || ppc64 || ppc64le || sparc || sparc64

package blkzoned

// wantRequests are the request numbers of the MIPS, PowerPC and SPARC ioctl
// encoding: read and write swap places in the top bits, so _IOWR is
// unchanged and every _IOR and _IOW differs from the generic value.
var wantRequests = map[string]uintptr{
	"BLKREPORTZONE": 0xc0101282,
	"BLKRESETZONE":  0x80101283,
	"BLKGETZONESZ":  0x40041284,
	"BLKGETNRZONES": 0x40041285,
	"BLKOPENZONE":   0x80101286,
	"BLKCLOSEZONE":  0x80101287,
	"BLKFINISHZONE": 0x80101288,
}
