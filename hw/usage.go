package hw

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"
)

// kernelUsage returns the refusal reasons the kernel knows about: mounts of
// the drive or its partitions, its partitions, and holders (md, dm) of the
// drive or its partitions. When it cannot tell, that is a reason too: a
// drive is only usable when it is known to be unused.
func kernelUsage(s sysDir, mt mountTable) []string {
	var mounted, held []string
	if r := mountReason(s, "", mt); r != "" {
		mounted = append(mounted, r)
	}
	if r := holderReason(s, ""); r != "" {
		held = append(held, r)
	}
	parts, err := partitions(s)
	if err != nil {
		held = append(held, fmt.Sprintf("cannot list partitions: %v", err))
	}
	for _, p := range parts {
		if r := mountReason(s, p, mt); r != "" {
			mounted = append(mounted, r)
		}
		if r := holderReason(s, p); r != "" {
			held = append(held, r)
		}
	}
	reasons := mounted
	if len(parts) > 0 {
		reasons = append(reasons, "has partitions: "+strings.Join(parts, ", "))
	}
	return append(reasons, held...)
}

// partitions lists the subdirectories of /sys/block/X that have a partition
// file, in kernel order.
func partitions(s sysDir) ([]string, error) {
	entries, err := os.ReadDir(string(s))
	if err != nil {
		return nil, err
	}
	var parts []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if _, err := os.Stat(s.path(e.Name() + "/partition")); err == nil {
			parts = append(parts, e.Name())
		}
	}
	sort.Slice(parts, func(i, j int) bool { return lessName(parts[i], parts[j]) })
	return parts, nil
}

// mountReason checks the device number in part/dev ("" = the drive itself)
// against the mount table.
func mountReason(s sysDir, part string, mt mountTable) string {
	who := "mounted at "
	if part != "" {
		who = part + " mounted at "
	}
	rel := join(part, "dev")
	devno, ok, err := s.attr(rel)
	switch {
	case err != nil:
		return fmt.Sprintf("cannot tell whether it is mounted: %v", err)
	case !ok:
		return fmt.Sprintf("cannot tell whether it is mounted: %s is missing", s.path(rel))
	}
	if ms := mt[devno]; len(ms) > 0 {
		return who + ms.describe()
	}
	return ""
}

// holderReason names the holders of part ("" = the drive itself): the
// entries of holders/, with a device-mapper holder's dm/name.
func holderReason(s sysDir, part string) string {
	rel := join(part, "holders")
	entries, err := os.ReadDir(s.path(rel))
	if errors.Is(err, fs.ErrNotExist) {
		return ""
	}
	if err != nil {
		return fmt.Sprintf("cannot list holders: %v", err)
	}
	if len(entries) == 0 {
		return ""
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		n := e.Name()
		if dm := clean(s.bestEffort(join(rel, n+"/dm/name"))); dm != "" {
			n += " (" + dm + ")"
		}
		names = append(names, n)
	}
	sort.Strings(names)
	if part == "" {
		return "held by " + strings.Join(names, ", ")
	}
	return part + " held by " + strings.Join(names, ", ")
}

func join(dir, rel string) string {
	if dir == "" {
		return rel
	}
	return dir + "/" + rel
}
