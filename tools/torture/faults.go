package torture

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Fault is a kind of fault the harness injects.
type Fault string

const (
	// PowerCut: the power of every drive goes at once, at a random IO of
	// the next operations; writes no flush covered are dropped or torn.
	// The node is then reopened and checked.
	PowerCut Fault = "powercut"
	// DriveLoss: a victim drive fails every IO from now on (pulled out or
	// dead); the node detects it, marks it faulty and rebuilds.
	DriveLoss Fault = "loss"
	// EIO: a victim drive fails reads and writes at random.
	EIO Fault = "eio"
	// Latency: a drive (any) answers slowly for a while.
	Latency Fault = "latency"
	// BitFlip: bits of a victim drive's media flip at rest.
	BitFlip Fault = "bitflip"
	// Misdirect: a victim drive writes to the wrong place at random.
	Misdirect Fault = "misdirect"
)

// AllFaults lists every kind.
var AllFaults = []Fault{PowerCut, DriveLoss, EIO, Latency, BitFlip, Misdirect}

// defaultRates is the chance per operation that a fault of the kind is
// injected before it.
var defaultRates = map[Fault]float64{
	PowerCut:  0.03,
	DriveLoss: 0.01,
	EIO:       0.02,
	Latency:   0.02,
	BitFlip:   0.03,
	Misdirect: 0.01,
}

// Faults are the enabled kinds with their rates.
type Faults map[Fault]float64

// DefaultFaults enables every kind at its default rate.
func DefaultFaults() Faults {
	f := Faults{}
	for k, r := range defaultRates {
		f[k] = r
	}
	return f
}

// ParseFaults reads "all", "none", or a comma-separated list of kinds,
// each optionally with a rate: "powercut,eio=0.05,bitflip".
func ParseFaults(s string) (Faults, error) {
	switch strings.TrimSpace(s) {
	case "all":
		return DefaultFaults(), nil
	case "none", "":
		return Faults{}, nil
	}
	f := Faults{}
	for _, part := range strings.Split(s, ",") {
		name, rate, hasRate := strings.Cut(strings.TrimSpace(part), "=")
		k := Fault(name)
		def, ok := defaultRates[k]
		if !ok {
			return nil, fmt.Errorf("unknown fault %q (kinds: %s)", name, kinds())
		}
		r := def
		if hasRate {
			var err error
			if r, err = strconv.ParseFloat(rate, 64); err != nil || r < 0 || r > 1 {
				return nil, fmt.Errorf("fault %s: rate %q: want a number from 0 to 1", name, rate)
			}
		}
		f[k] = r
	}
	return f, nil
}

func kinds() string {
	var s []string
	for _, k := range AllFaults {
		s = append(s, string(k))
	}
	return strings.Join(s, ", ")
}

// String lists the kinds and rates in a stable order, as ParseFaults reads
// them.
func (f Faults) String() string {
	var s []string
	for k, r := range f {
		s = append(s, fmt.Sprintf("%s=%g", k, r))
	}
	sort.Strings(s)
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ",")
}
