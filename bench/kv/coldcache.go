package main

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// dropPageCache makes the next reads come from the device: it writes back
// dirty pages and asks the kernel to drop clean ones. That needs root; without
// it the reads after a reopen are cold only in the engine's own cache. The
// returned sentence goes into the report as it is.
func dropPageCache() string {
	if os.Geteuid() != 0 {
		return "cold = reopened, page cache NOT dropped (not root)"
	}
	unix.Sync()
	if err := os.WriteFile("/proc/sys/vm/drop_caches", []byte("3\n"), 0); err != nil {
		return fmt.Sprintf("cold = reopened, page cache NOT dropped (%v)", err)
	}
	return "cold = closed, page cache dropped (sync; echo 3 > /proc/sys/vm/drop_caches), reopened"
}
