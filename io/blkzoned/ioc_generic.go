//go:build !(mips || mipsle || mips64 || mips64le || ppc || ppc64 || ppc64le || sparc || sparc64)

package blkzoned

// The ioctl request encoding of include/uapi/asm-generic/ioctl.h, which
// x86, arm, arm64, riscv, s390 and loongarch use unchanged: 8 bits of
// number, 8 of type, 14 of argument size, 2 of direction.
const (
	iocSizeBits = 14
	iocDirBits  = 2

	iocNone  = 0
	iocWrite = 1 // user space writes, the kernel reads
	iocRead  = 2 // the kernel writes, user space reads
)
