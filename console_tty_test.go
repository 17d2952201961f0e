package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal: the master (the test's side) and the
// slave (the console's terminal).
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		m.Close()
		t.Skipf("unlock the pseudo-terminal: %v", err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		m.Close()
		t.Skipf("pseudo-terminal number: %v", err)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		m.Close()
		t.Skipf("open the pseudo-terminal's slave: %v", err)
	}
	unix.IoctlSetWinsize(int(s.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 50, Col: 200})
	return m, s
}

// screen collects what the console writes to its terminal.
type screen struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *screen) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// waitFor waits until the screen shows want after position from, and
// returns the position after it.
func (s *screen) waitFor(t *testing.T, from int, want string) int {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		out := s.String()
		if from <= len(out) {
			if i := strings.Index(out[from:], want); i >= 0 {
				return from + i + len(want)
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("the console's terminal never showed %q; it shows:\n%s", want, s.String()[min(from, len(s.String())):])
	return 0
}

// TestConsoleInteractive: on a terminal, plinth console prompts, completes
// commands with Tab, keeps history (up arrow; ~/.plinth_console_history),
// asks before a metadata edit, and quits on Ctrl-D.
func TestConsoleInteractive(t *testing.T) {
	s := consoleNode(t, nil)
	dir := filepath.Dir(s.ConsoleSocket())
	home := t.TempDir()
	master, slave := openPTY(t)
	defer master.Close()
	cmd := exec.Command(os.Args[0], "console", "--data", dir)
	cmd.Env = append(os.Environ(), "PLINTH_RUN_MAIN=1", "HOME="+home, "TERM=xterm")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-done
		}
	})
	scr := &screen{}
	go func() {
		b := make([]byte, 4096)
		for {
			n, err := master.Read(b)
			scr.mu.Lock()
			scr.buf.Write(b[:n])
			scr.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	type_ := func(s string) {
		if _, err := master.WriteString(s); err != nil {
			t.Fatal(err)
		}
	}
	at := scr.waitFor(t, 0, "plinth> ")
	type_("who\t") // completes to "whoami "
	at = scr.waitFor(t, at, "whoami ")
	type_("\r")
	at = scr.waitFor(t, at, "peer: uid ")
	at = scr.waitFor(t, at, "plinth> ")
	type_("btree li\t\r")
	at = scr.waitFor(t, at, "pool/default/heads")
	at = scr.waitFor(t, at, "plinth> ")
	type_("\x1b[A\r") // up: btree list again
	at = scr.waitFor(t, at, "pool/default/heads")
	at = scr.waitFor(t, at, "plinth> ")
	type_("btree put node/drives hex:00000063 hex:010300000000000000017474\r")
	at = scr.waitFor(t, at, "do it? [y/N] ")
	type_("y\r")
	at = scr.waitFor(t, at, "done (journal LSN")
	at = scr.waitFor(t, at, "plinth> ")
	type_("\x04") // Ctrl-D
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("the console exited with %v:\n%s", err, scr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("the console did not quit on Ctrl-D:\n%s", scr.String()[at:])
	}
	hist, err := os.ReadFile(filepath.Join(home, ".plinth_console_history"))
	if err != nil || !strings.Contains(string(hist), "whoami\nbtree list\n") {
		t.Fatalf("history: %q %v", hist, err)
	}
}
