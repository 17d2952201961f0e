package initd

import (
	"fmt"
	"strings"
	"time"
)

// Param is one kernel command line parameter. HasValue is false for a bare
// word ("quiet"); Value is then "".
type Param struct {
	Name     string
	Value    string
	HasValue bool
}

// SplitCmdline splits a kernel command line into parameters the way the
// kernel does (next_arg in lib/cmdline.c): spaces separate parameters
// except inside double quotes; a double quote anywhere toggles quoting;
// the name ends at the first '='; a value that starts with a quote loses
// it and the parameter's last quote; a parameter that starts with a quote
// loses it and its last quote. A lone "--" (the end of the kernel's own
// parameters; the rest goes to init) is skipped.
func SplitCmdline(s string) []Param {
	var out []Param
	i := 0
	isSpace := func(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' }
	for {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i >= len(s) {
			return out
		}
		quoted := false
		inQuote := false
		if s[i] == '"' {
			i++
			quoted, inQuote = true, true
		}
		start, equals := i, -1
		for ; i < len(s); i++ {
			if isSpace(s[i]) && !inQuote {
				break
			}
			if equals < 0 && s[i] == '=' {
				equals = i
			}
			if s[i] == '"' {
				inQuote = !inQuote
			}
		}
		arg := s[start:i]
		// Where the parameter ends, before the kernel's trimming.
		trimLastQuote := func(v string) string {
			if strings.HasSuffix(v, `"`) {
				return v[:len(v)-1]
			}
			return v
		}
		var p Param
		if equals < 0 {
			p.Name = arg
			if quoted {
				p.Name = trimLastQuote(p.Name)
			}
		} else {
			p.Name, p.Value, p.HasValue = arg[:equals-start], arg[equals-start+1:], true
			if strings.HasPrefix(p.Value, `"`) {
				p.Value = trimLastQuote(p.Value[1:])
			} else if quoted {
				p.Value = trimLastQuote(p.Value)
			}
		}
		if p.Name == "--" && !p.HasValue {
			continue
		}
		out = append(out, p)
	}
}

// FormatPolicy says when init formats drives.
type FormatPolicy int

const (
	// FormatNever never formats (plinth.format=never, the default).
	FormatNever FormatPolicy = iota
	// FormatBlank formats when every drive is blank (plinth.format=blank).
	FormatBlank
)

func (f FormatPolicy) String() string {
	if f == FormatBlank {
		return "blank"
	}
	return "never"
}

// DefaultSettle is how long init waits for block devices by default.
const DefaultSettle = 3 * time.Second

// Params is what init takes from the kernel command line.
type Params struct {
	Format FormatPolicy
	// Drives are the device paths of plinth.drives; nil is "auto".
	Drives []string
	// FsckAtBoot and FsckAtShutdown come from plinth.fsck.
	FsckAtBoot, FsckAtShutdown bool
	// Run is plinth.run split into words (PROG first); nil when absent.
	Run []string
	// Settle is plinth.settle (DefaultSettle when absent).
	Settle time.Duration
	// Slots is plinth.slots: the firmware slots partition (a block
	// device) or directory; "" when absent.
	Slots string
	// IP holds the ip= parameters in order. NetworkOff is set by ip=off
	// or ip=none.
	IP         []IPConfig
	NetworkOff bool
}

// ParseParams reads init's parameters from a kernel command line. Bad
// values do not stop the boot: each one yields a problem (which names the
// parameter, the value and the default used instead) and the default.
// Parameters init does not know are the kernel's or a module's: ignored.
func ParseParams(cmdline string) (Params, []error) {
	p := Params{Settle: DefaultSettle}
	var problems []error
	bad := func(param Param, want, using string) {
		problems = append(problems, fmt.Errorf("%s=%q: %s; using %s", param.Name, param.Value, want, using))
	}
	for _, param := range SplitCmdline(cmdline) {
		v := param.Value
		switch param.Name {
		case "plinth.format":
			switch v {
			case "blank":
				p.Format = FormatBlank
			case "never":
				p.Format = FormatNever
			default:
				bad(param, "want blank or never", p.Format.String())
			}
		case "plinth.drives":
			if v == "auto" {
				p.Drives = nil
				continue
			}
			var drives []string
			for d := range strings.SplitSeq(v, ",") {
				if d = strings.TrimSpace(d); d != "" {
					drives = append(drives, d)
				}
			}
			if len(drives) == 0 || !allAbsolute(drives) {
				bad(param, "want auto or device paths separated by commas (/dev/sdb,/dev/sdc)", "auto")
				p.Drives = nil
				continue
			}
			p.Drives = drives
		case "plinth.fsck":
			boot, shutdown, ok := parseFsck(v)
			if !ok {
				bad(param, "want off, boot, shutdown or boot,shutdown", "off")
				boot, shutdown = false, false
			}
			p.FsckAtBoot, p.FsckAtShutdown = boot, shutdown
		case "plinth.run":
			p.Run = strings.Fields(v)
			if len(p.Run) == 0 {
				p.Run = nil
				bad(param, "want a program and its arguments", "nothing")
			}
		case "plinth.settle":
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				bad(param, "want a duration such as 3s or 500ms", DefaultSettle.String())
				d = DefaultSettle
			}
			p.Settle = d
		case "plinth.slots":
			if !strings.HasPrefix(v, "/") {
				bad(param, "want the slots partition or directory, an absolute path", "no slots")
				continue
			}
			p.Slots = v
		case "ip":
			if v == "off" || v == "none" {
				p.NetworkOff = true
				p.IP = nil
				continue
			}
			c, err := ParseIP(v)
			if err != nil {
				problems = append(problems, fmt.Errorf("ip=%q: %w; this address is not configured", v, err))
				continue
			}
			p.IP = append(p.IP, c)
			p.NetworkOff = false
		}
	}
	return p, problems
}

func allAbsolute(paths []string) bool {
	for _, p := range paths {
		if !strings.HasPrefix(p, "/") {
			return false
		}
	}
	return true
}

// parseFsck reads plinth.fsck's value.
func parseFsck(v string) (boot, shutdown, ok bool) {
	if v == "off" {
		return false, false, true
	}
	for w := range strings.SplitSeq(v, ",") {
		switch w {
		case "boot":
			boot = true
		case "shutdown":
			shutdown = true
		default:
			return false, false, false
		}
	}
	return boot, shutdown, true
}
