package initd

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the log's concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestLogLine(t *testing.T) {
	var b syncBuffer
	l := NewLog(&b, func() time.Duration { return 12*time.Second + 345678*time.Microsecond })
	l.Printf("loaded %s (%d ms)", "nvme", 3)
	if got, want := b.String(), "plinth init: [   12.345] loaded nvme (3 ms)\n"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if Uptime() <= 0 {
		t.Fatal("Uptime is not positive")
	}
}

func TestLogCopyPrefixesWholeLines(t *testing.T) {
	var b syncBuffer
	l := NewLog(&b, func() time.Duration { return 0 })
	var seen []string
	long := strings.Repeat("x", 70<<10)
	in := "PASS\nok  \tdirect\n" + long + "\nno newline at the end"
	l.Copy("run: ", strings.NewReader(in), func(s string) { seen = append(seen, s) })
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 5 || lines[0] != "run: PASS" || lines[1] != "run: ok  \tdirect" || lines[4] != "run: no newline at the end" {
		t.Fatalf("lines %q", lines)
	}
	// The 70 KiB line is split at 64 KiB, each part prefixed.
	if lines[2] != "run: "+long[:64<<10] || lines[3] != "run: "+long[64<<10:] {
		t.Fatal("long line not split into prefixed parts")
	}
	if len(seen) != 5 || seen[0] != "PASS" || seen[4] != "no newline at the end" {
		t.Fatalf("onLine saw %q", seen)
	}
}

func TestLogLinesDoNotInterleave(t *testing.T) {
	var b syncBuffer
	l := NewLog(&b, func() time.Duration { return 0 })
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, w := io.Pipe()
			go func() {
				for j := range 50 {
					// Writes that split lines in odd places.
					fmt.Fprintf(w, "child %d line %d", i, j)
					fmt.Fprintf(w, " end\n")
				}
				w.Close()
			}()
			l.Copy(fmt.Sprintf("c%d: ", i), r, nil)
		}()
		l.Printf("init line %d", i)
	}
	wg.Wait()
	for _, line := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
		if strings.HasPrefix(line, "plinth init: ") {
			continue
		}
		var c, c2, j int
		if n, err := fmt.Sscanf(line, "c%d: child %d line %d end", &c, &c2, &j); n != 3 || err != nil || c != c2 {
			t.Fatalf("mixed line %q", line)
		}
	}
}

func TestLogWriter(t *testing.T) {
	var b syncBuffer
	l := NewLog(&b, func() time.Duration { return 0 })
	w := l.Writer("format: ")
	fmt.Fprintf(w, "formatting /dev/vda as drive 0 of 2\nformatting /dev/vdb")
	fmt.Fprintf(w, " as drive 1 of 2\npartial")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	want := "format: formatting /dev/vda as drive 0 of 2\nformat: formatting /dev/vdb as drive 1 of 2\nformat: partial\n"
	if got := b.String(); got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}
