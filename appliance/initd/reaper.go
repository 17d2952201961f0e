package initd

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// Reaper starts init's children and reaps every child of PID 1: its own,
// whose exit statuses it hands to their Child, and the orphans the kernel
// gives PID 1, which it only collects. Go's os/exec waits for one pid; a
// reaper that waits for any pid (wait4(-1)) would steal those statuses,
// so every child of init is started here instead, and the reaper is the
// only caller of wait4.
type Reaper struct {
	mu      sync.Mutex // held across fork and registration, and while reaping
	waiting map[int]*Child
	orphan  func(pid int, ws unix.WaitStatus)
}

// NewReaper returns a reaper; orphan (nil: ignore) hears of every reaped
// process init did not start.
func NewReaper(orphan func(pid int, ws unix.WaitStatus)) *Reaper {
	return &Reaper{waiting: map[int]*Child{}, orphan: orphan}
}

// Child is a process started by a Reaper.
type Child struct {
	Pid    int
	done   chan struct{}
	status unix.WaitStatus
}

// Done is closed when the child has exited and been reaped.
func (c *Child) Done() <-chan struct{} { return c.done }

// Wait waits for the child to exit and returns its status.
func (c *Child) Wait() unix.WaitStatus {
	<-c.done
	return c.status
}

// Signal sends sig to the child (nothing once it has been reaped: its pid
// may belong to another process by then).
func (c *Child) Signal(sig syscall.Signal) error {
	select {
	case <-c.done:
		return nil
	default:
	}
	if err := unix.Kill(c.Pid, sig); err != nil && !errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("signal %v to pid %d: %w", sig, c.Pid, err)
	}
	return nil
}

// Start runs path with argv (argv[0] included) and env in a session of its
// own, stdin from /dev/null and stdout and stderr on out.
func (r *Reaper) Start(path string, argv, env []string, out *os.File) (*Child, error) {
	null, err := os.Open(os.DevNull)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", path, err)
	}
	defer null.Close()
	r.mu.Lock()
	defer r.mu.Unlock()
	pid, err := syscall.ForkExec(path, argv, &syscall.ProcAttr{
		Env:   env,
		Files: []uintptr{null.Fd(), out.Fd(), out.Fd()},
		Sys:   &syscall.SysProcAttr{Setsid: true},
	})
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", path, err)
	}
	c := &Child{Pid: pid, done: make(chan struct{})}
	r.waiting[pid] = c
	return c, nil
}

// Reap collects every child that has exited, without blocking. Call it on
// each SIGCHLD.
func (r *Reaper) Reap() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || pid <= 0 {
			return // ECHILD: no children; 0: none has exited
		}
		if c, ok := r.waiting[pid]; ok {
			delete(r.waiting, pid)
			c.status = ws
			close(c.done)
			continue
		}
		if r.orphan != nil {
			r.orphan(pid, ws)
		}
	}
}

// ExitString describes a wait status for the log: "exit 0", "killed by
// signal 9 (killed)".
func ExitString(ws unix.WaitStatus) string {
	switch {
	case ws.Exited():
		return fmt.Sprintf("exit %d", ws.ExitStatus())
	case ws.Signaled():
		return fmt.Sprintf("killed by signal %d (%v)", int(ws.Signal()), ws.Signal())
	}
	return fmt.Sprintf("wait status %#x", uint32(ws))
}
