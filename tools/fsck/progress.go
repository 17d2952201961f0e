package fsck

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
)

// Progress receives the progress of each phase.
type Progress interface {
	// Begin starts phase p, number i of n; total is its work in units
	// of unit ("bytes" shows as bytes), 0 when not known in advance.
	Begin(p Phase, i, n int, total int64, unit string) Bar
}

// Bar is one phase's progress.
type Bar interface {
	// Update says how much work is done, of total (which a phase may
	// learn as it goes; 0: still not known).
	Update(done, total int64)
	// End closes the phase with its one-line summary.
	End(summary string)
}

// Bars draws a progress bar with an estimate of the time left for each
// phase on w, a terminal, and leaves a line with the phase's summary when
// it ends.
func Bars(w io.Writer) Progress { return &bars{w: w} }

type bars struct{ w io.Writer }

func (b *bars) Begin(p Phase, i, n int, total int64, unit string) Bar {
	desc := fmt.Sprintf("[%d/%d] %s", i, n, p.Title())
	max := total
	if max <= 0 {
		max = -1 // a spinner until the total is known
	}
	opts := []progressbar.Option{
		progressbar.OptionSetWriter(b.w),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionThrottle(100 * time.Millisecond),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetWidth(30),
	}
	if unit == "bytes" {
		opts = append(opts, progressbar.OptionShowBytes(true))
	} else {
		opts = append(opts, progressbar.OptionShowCount(), progressbar.OptionSetItsString(unit))
	}
	return &bar{w: b.w, desc: desc, pb: progressbar.NewOptions64(max, opts...), max: max, start: time.Now()}
}

type bar struct {
	w     io.Writer
	desc  string
	mu    sync.Mutex
	pb    *progressbar.ProgressBar
	max   int64
	start time.Time
}

func (b *bar) Update(done, total int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if total > 0 && total != b.max {
		b.pb.ChangeMax64(total)
		b.max = total
	}
	_ = b.pb.Set64(done) // drawing on a terminal: nothing to do about an error
}

func (b *bar) End(summary string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	_ = b.pb.Finish()
	_ = b.pb.Clear()
	fmt.Fprintf(b.w, "%s: %s (%s)\n", b.desc, summary, time.Since(b.start).Round(time.Millisecond))
}

// Lines writes one line per phase on w when the phase ends: the progress
// of a check whose output is not a terminal, or is JSON.
func Lines(w io.Writer) Progress { return &lines{w: w} }

type lines struct{ w io.Writer }

func (l *lines) Begin(p Phase, i, n int, _ int64, _ string) Bar {
	return &line{w: l.w, desc: fmt.Sprintf("fsck: [%d/%d] %s", i, n, p.Title()), start: time.Now()}
}

type line struct {
	w     io.Writer
	desc  string
	start time.Time
}

func (l *line) Update(int64, int64) {}

func (l *line) End(summary string) {
	fmt.Fprintf(l.w, "%s: %s (%s)\n", l.desc, summary, time.Since(l.start).Round(time.Millisecond))
}

// quiet is the progress of a check that shows none.
type quiet struct{}

func (quiet) Begin(Phase, int, int, int64, string) Bar { return quiet{} }
func (quiet) Update(int64, int64)                      {}
func (quiet) End(string)                               {}
