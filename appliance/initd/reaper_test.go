package initd

import (
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// shell finds /bin/sh, or skips.
func shell(t *testing.T) string {
	t.Helper()
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh: the reaper tests run shell children")
	}
	return sh
}

// reapLoop reaps every 10 ms until the test ends (PID 1 reaps on SIGCHLD;
// a test process would race the Go runtime's own SIGCHLD use).
func reapLoop(t *testing.T, r *Reaper) {
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
				r.Reap()
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-done })
}

func TestReaperExitStatuses(t *testing.T) {
	sh := shell(t)
	r := NewReaper(nil)
	reapLoop(t, r)
	out, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	ok, err := r.Start(sh, []string{"sh", "-c", "echo hello; exit 0"}, []string{"PATH=/bin:/usr/bin"}, out)
	if err != nil {
		t.Fatal(err)
	}
	fail, err := r.Start(sh, []string{"sh", "-c", "exit 3"}, nil, out)
	if err != nil {
		t.Fatal(err)
	}
	long, err := r.Start(sh, []string{"sh", "-c", "sleep 30"}, nil, out)
	if err != nil {
		t.Fatal(err)
	}
	if ws := ok.Wait(); ExitString(ws) != "exit 0" {
		t.Fatalf("ok: %s", ExitString(ws))
	}
	if ws := fail.Wait(); ExitString(ws) != "exit 3" {
		t.Fatalf("fail: %s", ExitString(ws))
	}
	if err := long.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if ws := long.Wait(); ExitString(ws) != "killed by signal 9 (killed)" {
		t.Fatalf("killed: %s", ExitString(ws))
	}
	// Signalling a reaped child is a no-op, not a signal to a stranger.
	if err := long.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out.Name())
	if err != nil || string(b) != "hello\n" {
		t.Fatalf("output %q, %v", b, err)
	}
}

func TestReaperStartFails(t *testing.T) {
	r := NewReaper(nil)
	_, err := r.Start("/nonexistent/prog", []string{"prog"}, nil, os.Stderr)
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/prog") {
		t.Fatalf("got %v", err)
	}
}

// TestReaperOrphans makes the test process a child subreaper, as PID 1 is
// for every process: a grandchild whose parent exits becomes our child,
// and the reaper collects it and reports it as an orphan.
func TestReaperOrphans(t *testing.T) {
	sh := shell(t)
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Skipf("cannot become a child subreaper: %v", err)
	}
	defer unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
	var mu sync.Mutex
	var orphans []string
	r := NewReaper(func(pid int, ws unix.WaitStatus) {
		mu.Lock()
		defer mu.Unlock()
		orphans = append(orphans, ExitString(ws))
	})
	reapLoop(t, r)
	c, err := r.Start(sh, []string{"sh", "-c", "(sleep 0.2; exit 7) & exit 0"}, nil, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	if ws := c.Wait(); ExitString(ws) != "exit 0" {
		t.Fatalf("parent: %s", ExitString(ws))
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		got := append([]string(nil), orphans...)
		mu.Unlock()
		if len(got) == 1 {
			if got[0] != "exit 7" {
				t.Fatalf("orphan: %s", got[0])
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("orphan not reaped: %v", got)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestExitStringOther(t *testing.T) {
	// A stopped process's status (WIFSTOPPED, SIGSTOP): 0x137f.
	if got := ExitString(unix.WaitStatus(0x137f)); got != "wait status 0x137f" {
		t.Fatalf("got %q", got)
	}
}
