package torture

import (
	"fmt"
	"io"
	"sort"
)

// Totals adds up runs: the figures the harness reports.
type Totals struct {
	Seeds           int           `json:"seeds"`
	FailedSeeds     []uint64      `json:"failed_seeds"`
	Ops             int           `json:"operations"`
	Acked           int           `json:"acknowledged_writes"`
	WriteErrors     int           `json:"write_errors"`
	ReadErrors      int           `json:"read_errors"`
	PowerCuts       int           `json:"power_cuts"`
	Restarts        int           `json:"clean_restarts"`
	Faults          map[Fault]int `json:"faults_injected"`
	Lost            int           `json:"acknowledged_lost"`
	WrongReads      int           `json:"wrong_reads"`
	CheckerFailures int           `json:"checker_failures"`
	Exceed          bool          `json:"exceed"`
}

// Add counts a run.
func (t *Totals) Add(r Result) {
	if t.Faults == nil {
		t.Faults = map[Fault]int{}
	}
	t.Seeds++
	if r.Failed() {
		t.FailedSeeds = append(t.FailedSeeds, r.Seed)
	}
	t.Ops += r.Ops
	t.Acked += r.Acked
	t.WriteErrors += r.WriteErrors
	t.ReadErrors += r.ReadErrors
	t.PowerCuts += r.PowerCuts
	t.Restarts += r.Restarts
	for k, n := range r.Faults {
		t.Faults[k] += n
	}
	t.Lost += r.Lost
	t.WrongReads += r.WrongReads
	t.CheckerFailures += r.CheckerFailures
	t.Exceed = t.Exceed || r.Exceed
}

// Write prints the figures.
func (t *Totals) Write(w io.Writer) {
	fmt.Fprintf(w, "seeds run              %d (%d failed)\n", t.Seeds, len(t.FailedSeeds))
	fmt.Fprintf(w, "operations             %d\n", t.Ops)
	fmt.Fprintf(w, "acknowledged writes    %d\n", t.Acked)
	fmt.Fprintf(w, "failed writes          %d (outcome unknown until a restart; checked then)\n", t.WriteErrors)
	fmt.Fprintf(w, "power cuts             %d (each followed by a restart and a full check)\n", t.PowerCuts)
	fmt.Fprintf(w, "clean restarts         %d\n", t.Restarts)
	var kinds []string
	for k := range t.Faults {
		kinds = append(kinds, string(k))
	}
	sort.Strings(kinds)
	fmt.Fprintf(w, "faults injected       ")
	for _, k := range kinds {
		fmt.Fprintf(w, " %s %d", k, t.Faults[Fault(k)])
	}
	fmt.Fprintln(w)
	note := "must be 0"
	if t.Exceed {
		note = "beyond the layout's promise: counted, allowed"
	}
	fmt.Fprintf(w, "acknowledged lost      %d (%s)\n", t.Lost, note)
	fmt.Fprintf(w, "read errors            %d (%s)\n", t.ReadErrors, note)
	fmt.Fprintf(w, "wrong reads            %d (must be 0)\n", t.WrongReads)
	fmt.Fprintf(w, "checker failures       %d (%s)\n", t.CheckerFailures, note)
}
