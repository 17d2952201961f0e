package fsck

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/plinth-storage/plinth/internal/human"
)

// writeStatus adds what a repair did about a finding.
func writeStatus(b *strings.Builder, f Finding) {
	if f.Status == "" {
		return
	}
	fmt.Fprintf(b, "\n          repair: %s", f.Status)
	if f.Repair != "" {
		fmt.Fprintf(b, ": %s", f.Repair)
	}
}

// writeLostFound lists lost+found, if it holds anything.
func (r *Report) writeLostFound(b *strings.Builder) {
	if len(r.LostFound) == 0 {
		return
	}
	fmt.Fprintf(b, "lost+found: %s whose data could not be recovered (empty it with 'plinth fsck --repair --clear-lost-found' once dealt with):\n",
		plural(len(r.LostFound), "object", "objects"))
	for _, e := range r.LostFound {
		fmt.Fprintf(b, "  pool %s, %s: version %d, %s, lost %s: %s\n",
			e.Pool, e.name(), e.Version, human.IBytes(e.Size), e.Lost.Format("2006-01-02 15:04:05Z"), e.Why)
	}
}

// writeRepair adds the repairs and the final line of a repair's report.
func (r *Report) writeRepair(b *strings.Builder) {
	s := r.Repair
	if len(s.Actions) > 0 {
		b.WriteString("repairs:\n")
	}
	for _, a := range s.Actions {
		fmt.Fprintf(b, "  %-9s %s\n", a.Status, a.What)
		if a.Detail != "" {
			fmt.Fprintf(b, "            %s\n", a.Detail)
		}
	}
	if len(s.New) > 0 {
		b.WriteString("found by the check after the repairs, not before:\n")
		for _, f := range s.New {
			fmt.Fprintf(b, "  %-7s %s", strings.ToUpper(string(f.Severity)), f.What)
			if where := f.Where.String(); where != "" {
				fmt.Fprintf(b, "\n          at %s", where)
			}
			b.WriteByte('\n')
		}
	}
	found := counts(r.Errors, r.Warnings, r.Infos)
	switch {
	case s.DryRun:
		fmt.Fprintf(b, "fsck: %s; dry run: %s planned, nothing changed (exit %d)\n", found, plural(len(s.Actions), "repair", "repairs"), r.ExitCode)
	case r.ExitCode == ExitCorrected:
		fmt.Fprintf(b, "fsck: %s; %d fixed, no error left: errors corrected (exit %d)\n", found, s.Fixed, r.ExitCode)
	case r.ExitCode == ExitClean:
		fmt.Fprintf(b, "fsck: %s: clean (exit %d)\n", found, r.ExitCode)
	default:
		fmt.Fprintf(b, "fsck: %s; %d fixed, %s left uncorrected (exit %d)\n", found, s.Fixed, plural(s.Left, "error", "errors"), r.ExitCode)
	}
}

// Prompt returns a Confirm for RepairOptions that asks each question on
// out and reads the answer, a line, from in: yes is "y" or "yes", anything
// else (an empty line, the end of the input) is no.
func Prompt(in io.Reader, out io.Writer) func(question string) bool {
	r := bufio.NewReader(in)
	return func(q string) bool {
		fmt.Fprintf(out, "%s\nfix? [y/N] ", q)
		line, err := r.ReadString('\n')
		if err != nil && line == "" {
			fmt.Fprintln(out)
			return false
		}
		switch strings.ToLower(strings.TrimSpace(line)) {
		case "y", "yes":
			return true
		}
		return false
	}
}
