package biolat

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// SysStat is a disk's counters from /sys/block/NAME/stat (the kernel's
// Documentation/block/stat.rst), the fallback when the probes cannot run:
// no histograms, but cumulative counts and times from which averages
// follow, and the requests in flight.
type SysStat struct {
	IOs   [NrOps]uint64        // completed requests (reads, writes, flushes, discards as "other")
	Ticks [NrOps]time.Duration // time spent on them
	// InFlight is the requests issued to the driver and not completed.
	InFlight uint64
	// Busy is the time the disk had requests in flight.
	Busy time.Duration
}

// Mean is the average time of a class of requests.
func (s SysStat) Mean(op Op) time.Duration {
	if s.IOs[op] == 0 {
		return 0
	}
	return s.Ticks[op] / time.Duration(s.IOs[op])
}

// ReadSysStat reads /sys/block/NAME/stat under sysRoot (/sys).
func ReadSysStat(sysRoot, name string) (SysStat, error) {
	path := filepath.Join(sysRoot, "block", name, "stat")
	b, err := os.ReadFile(path)
	if err != nil {
		return SysStat{}, fmt.Errorf("biolat: %w", err)
	}
	return parseSysStat(path, string(b))
}

// parseSysStat reads the fields: read I/Os, merges, sectors, ticks; write
// I/Os, merges, sectors, ticks; in flight; io ticks; time in queue; then
// (Linux 4.18+) discard I/Os, merges, sectors, ticks; (5.5+) flush I/Os,
// ticks. Times are in milliseconds.
func parseSysStat(path, s string) (SysStat, error) {
	f := strings.Fields(s)
	if len(f) < 11 {
		return SysStat{}, fmt.Errorf("biolat: %s: %d fields, want at least 11", path, len(f))
	}
	n := make([]uint64, len(f))
	for i, x := range f {
		v, err := strconv.ParseUint(x, 10, 64)
		if err != nil {
			return SysStat{}, fmt.Errorf("biolat: %s: field %d %q: %w", path, i+1, x, err)
		}
		n[i] = v
	}
	ms := func(v uint64) time.Duration { return time.Duration(v) * time.Millisecond }
	st := SysStat{InFlight: n[8], Busy: ms(n[9])}
	st.IOs[Read], st.Ticks[Read] = n[0], ms(n[3])
	st.IOs[Write], st.Ticks[Write] = n[4], ms(n[7])
	if len(n) >= 15 {
		st.IOs[Other], st.Ticks[Other] = n[11], ms(n[14])
	}
	if len(n) >= 17 {
		st.IOs[Flush], st.Ticks[Flush] = n[15], ms(n[16])
	}
	return st, nil
}
