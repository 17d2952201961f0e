package fsck

import (
	"fmt"
	"io"
	"strings"
)

// WriteText prints the report for people: the node, then each phase with
// what it checked and its findings, then a final line with the counts and
// the exit status.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	present := 0
	for _, d := range r.Drives {
		if d.Present {
			present++
		}
	}
	deep := "no (add --deep to read every record and parity unit)"
	if r.Deep {
		deep = "yes"
	}
	fmt.Fprintf(&b, "node %s: %d of %d drives present; deep: %s\n", orUnknown(r.Node), present, len(r.Drives), deep)
	for i, ph := range r.Phases {
		fmt.Fprintf(&b, "[%d/%d] %s: ", i+1, len(r.Phases), ph.Title)
		switch {
		case ph.Skipped != "":
			fmt.Fprintf(&b, "skipped: %s\n", ph.Skipped)
		default:
			fmt.Fprintf(&b, "%s; %s\n", ph.Checked, counts(ph.Errors, ph.Warns, ph.Infos))
		}
		for _, f := range r.Findings {
			if f.Phase != ph.Phase {
				continue
			}
			fmt.Fprintf(&b, "  %-7s %s", strings.ToUpper(string(f.Severity)), f.What)
			if where := f.Where.String(); where != "" {
				fmt.Fprintf(&b, "\n          at %s", where)
			}
			if f.Fix != "" {
				fmt.Fprintf(&b, "\n          fix: %s", f.Fix)
			}
			writeStatus(&b, f)
			b.WriteByte('\n')
		}
	}
	r.writeLostFound(&b)
	if r.Repair != nil {
		r.writeRepair(&b)
		_, err := io.WriteString(w, b.String())
		return err
	}
	status := "clean"
	if r.Errors > 0 {
		status = "errors left uncorrected"
	}
	fmt.Fprintf(&b, "fsck: %s: %s (exit %d)\n", counts(r.Errors, r.Warnings, r.Infos), status, r.ExitCode)
	_, err := io.WriteString(w, b.String())
	return err
}

func counts(errs, warns, infos int) string {
	if errs+warns+infos == 0 {
		return "nothing found"
	}
	return strings.Join([]string{plural(errs, "error", "errors"), plural(warns, "warning", "warnings"), plural(infos, "note", "notes")}, ", ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

func orUnknown(s string) string {
	if s == "" {
		return "(unknown)"
	}
	return s
}
