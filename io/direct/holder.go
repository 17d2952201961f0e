package direct

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// procRoot and sysRoot are variables so tests can point them at fixtures.
var (
	procRoot = "/proc"
	sysRoot  = "/sys"
)

// fileLockHolder names the process holding an flock on the file behind fd,
// from /proc/locks, or returns "".
func fileLockHolder(fd int) string {
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil {
		return ""
	}
	want := fmt.Sprintf("%02x:%02x:%d", unix.Major(st.Dev), unix.Minor(st.Dev), st.Ino)
	f, err := os.Open(filepath.Join(procRoot, "locks"))
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF"
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || fields[1] != "FLOCK" || fields[5] != want {
			continue
		}
		if pid, err := strconv.Atoi(fields[4]); err == nil {
			return describeProcess(pid)
		}
	}
	return ""
}

// blockHolder explains why a block device is busy: a stacked driver (md,
// dm, a partition table in use), a mount, or processes that have it open.
func blockHolder(path string) string {
	var st unix.Stat_t
	if unix.Stat(path, &st) != nil {
		return ""
	}
	major, minor := unix.Major(st.Rdev), unix.Minor(st.Rdev)
	var found []string
	sysDev := filepath.Join(sysRoot, "dev", "block", fmt.Sprintf("%d:%d", major, minor))
	if holders, err := os.ReadDir(filepath.Join(sysDev, "holders")); err == nil {
		for _, h := range holders {
			found = append(found, "kernel holder "+h.Name())
		}
	}
	if mnt := mountPoint(major, minor); mnt != "" {
		found = append(found, "a filesystem mounted at "+mnt)
	}
	found = append(found, openers(path, st.Rdev)...)
	return strings.Join(found, ", ")
}

// mountPoint returns where major:minor is mounted, from mountinfo.
func mountPoint(major, minor uint32) string {
	f, err := os.Open(filepath.Join(procRoot, "self", "mountinfo"))
	if err != nil {
		return ""
	}
	defer f.Close()
	want := fmt.Sprintf("%d:%d", major, minor)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 && fields[2] == want {
			return fields[4]
		}
	}
	return ""
}

// openers lists the processes with an fd on the device rdev.
func openers(path string, rdev uint64) []string {
	procs, err := os.ReadDir(procRoot)
	if err != nil {
		return nil
	}
	var out []string
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		fdDir := filepath.Join(procRoot, p.Name(), "fd")
		fds, err := os.ReadDir(fdDir)
		if err != nil {
			continue
		}
		for _, fd := range fds {
			var st unix.Stat_t
			if unix.Stat(filepath.Join(fdDir, fd.Name()), &st) == nil &&
				st.Mode&unix.S_IFMT == unix.S_IFBLK && st.Rdev == rdev {
				out = append(out, describeProcess(pid))
				break
			}
		}
	}
	return out
}

// describeProcess renders "process 1234 (plinth)", marking this process.
func describeProcess(pid int) string {
	name := "?"
	if b, err := os.ReadFile(filepath.Join(procRoot, strconv.Itoa(pid), "comm")); err == nil {
		name = strings.TrimSpace(string(b))
	}
	s := fmt.Sprintf("process %d (%s)", pid, name)
	if pid == os.Getpid() {
		s += ", this process"
	}
	return s
}
