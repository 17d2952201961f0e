package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"

	"golang.org/x/sys/unix"
)

// Env is the machine and the run, printed at the top of the report: figures
// from different machines, kernels or filesystems do not compare.
type Env struct {
	Command    string            `json:"command"`
	WorkDir    string            `json:"work_dir"`
	GoVersion  string            `json:"go_version"`
	Cgo        string            `json:"cgo"`
	CPUs       int               `json:"cpus"`
	CPUModel   string            `json:"cpu_model"`
	Kernel     string            `json:"kernel"`
	MemTotal   int64             `json:"mem_total_bytes"`
	Dir        string            `json:"dir"`
	Filesystem string            `json:"filesystem"`
	Device     string            `json:"device"`
	Versions   map[string]string `json:"engine_versions"`
}

func collectEnv(dir string) *Env {
	e := &Env{
		Command:   shellQuote(append([]string{filepath.Base(os.Args[0])}, os.Args[1:]...)),
		GoVersion: runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH,
		CPUs:      runtime.NumCPU(),
		CPUModel:  cpuModel(),
		Dir:       dir,
		Versions:  map[string]string{},
	}
	e.WorkDir, _ = os.Getwd()
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		e.Kernel = unix.ByteSliceToString(u.Sysname[:]) + " " + unix.ByteSliceToString(u.Release[:]) +
			" " + unix.ByteSliceToString(u.Machine[:])
	}
	e.MemTotal = memTotal()
	e.Filesystem, e.Device = filesystemOf(dir)
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "CGO_ENABLED" {
				e.Cgo = s.Value
			}
		}
		for _, d := range bi.Deps {
			name := ""
			switch d.Path {
			case "go.etcd.io/bbolt":
				name = "bbolt"
			case "github.com/cockroachdb/pebble/v2":
				name = "pebble"
			case "github.com/plinth-storage/plinth":
				name = "plinth"
			}
			if name == "" {
				continue
			}
			v := d.Version
			if d.Replace != nil {
				v = "replaced by " + d.Replace.Path // the working tree: ../
			}
			e.Versions[name] = v
		}
	}
	return e
}

// shellQuote renders args as a command a shell would run the same way.
func shellQuote(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if a != "" && strings.IndexFunc(a, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./,=:+", r))
		}) < 0 {
			out[i] = a
			continue
		}
		out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(out, " ")
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	for line := range bytes.Lines(b) {
		if name, value, ok := bytes.Cut(line, []byte(":")); ok && string(bytes.TrimSpace(name)) == "model name" {
			return string(bytes.TrimSpace(value))
		}
	}
	return "unknown"
}

func memTotal() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	var kb int64
	for line := range bytes.Lines(b) {
		if _, err := fmt.Sscanf(string(line), "MemTotal: %d kB", &kb); err == nil {
			return kb << 10
		}
	}
	return 0
}

// filesystemOf finds the mount holding dir in /proc/self/mountinfo (the
// longest mount point that is a prefix of it) and describes it and its block
// device: type, source, options; rotational, scheduler and model from sysfs.
func filesystemOf(dir string) (fs, device string) {
	abs, err := filepath.Abs(dir)
	if err == nil {
		if real, err := filepath.EvalSymlinks(abs); err == nil {
			abs = real
		}
	}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "unknown (" + err.Error() + ")", ""
	}
	defer f.Close()
	var best []string
	bestLen := -1
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// id parent major:minor root mountpoint options [optional...] - fstype source superoptions
		fields := strings.Fields(sc.Text())
		sep := -1
		for i, x := range fields {
			if x == "-" {
				sep = i
				break
			}
		}
		if sep < 6 || len(fields) < sep+3 {
			continue
		}
		mp := unescapeMount(fields[4])
		if !within(abs, mp) || len(mp) <= bestLen {
			continue
		}
		bestLen = len(mp)
		best = []string{fields[sep+1], fields[sep+2], mp, fields[5], fields[2]}
	}
	if best == nil {
		return "unknown", ""
	}
	fs = fmt.Sprintf("%s on %s (mounted at %s, %s)", best[0], best[1], best[2], best[3])
	return fs, blockDevice(best[4])
}

func within(path, mount string) bool {
	return mount == "/" || path == mount || strings.HasPrefix(path, mount+"/")
}

// unescapeMount undoes mountinfo's octal escapes of space, tab, newline, backslash.
func unescapeMount(s string) string {
	r := strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`)
	return r.Replace(s)
}

// blockDevice describes the device major:minor from sysfs; a partition's
// queue settings are its disk's.
func blockDevice(majmin string) string {
	base := "/sys/dev/block/" + majmin
	read := func(rel string) string {
		for _, p := range []string{base + "/" + rel, base + "/../" + rel} {
			if b, err := os.ReadFile(p); err == nil {
				return strings.TrimSpace(string(b))
			}
		}
		return ""
	}
	var parts []string
	if real, err := filepath.EvalSymlinks(base); err == nil {
		parts = append(parts, filepath.Base(real))
	}
	switch read("queue/rotational") {
	case "0":
		parts = append(parts, "non-rotational")
	case "1":
		parts = append(parts, "rotational (as the kernel reports it; virtual disks often claim it)")
	}
	if s := read("queue/scheduler"); s != "" {
		parts = append(parts, "scheduler "+s)
	}
	if s := read("device/model"); s != "" {
		parts = append(parts, "model "+s)
	}
	if len(parts) == 0 {
		return ""
	}
	return strings.Join(parts, ", ")
}
