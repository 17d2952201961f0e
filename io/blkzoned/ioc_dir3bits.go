//go:build mips || mipsle || mips64 || mips64le || ppc || ppc64 || ppc64le || sparc || sparc64

package blkzoned

// MIPS, PowerPC and SPARC override the generic ioctl encoding
// (arch/*/include/uapi/asm/ioctl.h): 13 bits of argument size and 3 of
// direction, with different direction values. The same _IOR therefore
// yields a different request number there, which is why the numbers are
// computed rather than written down.
const (
	iocSizeBits = 13
	iocDirBits  = 3

	iocNone  = 1
	iocRead  = 2 // the kernel writes, user space reads
	iocWrite = 4 // user space writes, the kernel reads
)
