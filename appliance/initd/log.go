package initd

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Log writes init's console lines (format in the package comment) and
// the prefixed lines of children. It is safe for concurrent use; each
// line is written with one Write.
type Log struct {
	mu     sync.Mutex
	w      io.Writer
	uptime func() time.Duration
}

// NewLog logs to w; uptime gives the time since boot (nil: CLOCK_BOOTTIME).
func NewLog(w io.Writer, uptime func() time.Duration) *Log {
	if uptime == nil {
		uptime = Uptime
	}
	return &Log{w: w, uptime: uptime}
}

// Uptime is the time since boot, the clock of the kernel's own log lines.
func Uptime() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

// Printf logs one line "plinth init: [SSSSS.mmm] MESSAGE".
func (l *Log) Printf(format string, args ...any) {
	up := l.uptime()
	line := fmt.Sprintf("plinth init: [%5d.%03d] %s\n", up/time.Second, up%time.Second/time.Millisecond, fmt.Sprintf(format, args...))
	l.write(line)
}

func (l *Log) write(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	// Nothing useful can be done when the console fails; init goes on.
	_, _ = io.WriteString(l.w, line)
}

// Copy copies r to the log line by line, each line prefixed, until r ends;
// a line longer than 64 KiB is split. It is how a child's output reaches
// the console without interleaving with init's lines. onLine (nil: none)
// sees each line, without prefix or newline, after it is logged.
func (l *Log) Copy(prefix string, r io.Reader, onLine func(line string)) {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			s := strings.TrimSuffix(string(line), "\n")
			l.write(prefix + s + "\n")
			if onLine != nil {
				onLine(s)
			}
		}
		if err != nil && err != bufio.ErrBufferFull {
			return
		}
	}
}

// Writer returns a writer whose lines are logged with prefix, for
// in-process steps that report progress on an io.Writer. Close it to
// flush a last partial line and wait until everything is logged.
func (l *Log) Writer(prefix string) io.WriteCloser {
	r, w := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.Copy(prefix, r, nil)
		r.Close()
	}()
	return &logWriter{w: w, done: done}
}

type logWriter struct {
	w    *io.PipeWriter
	done chan struct{}
}

func (lw *logWriter) Write(p []byte) (int, error) { return lw.w.Write(p) }

func (lw *logWriter) Close() error {
	err := lw.w.Close()
	<-lw.done
	return err
}
