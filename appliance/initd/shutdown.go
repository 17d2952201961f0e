package initd

import (
	"errors"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Shutdown signals (busybox init's conventions).
func isPowerOff(sig os.Signal) bool { return sig == syscall.SIGUSR2 || sig == syscall.SIGPWR }

// shutdown stops what runs: serve (SIGTERM, up to ServeStopTimeout to
// drain and take its final checkpoint, then SIGKILL) or the boot step under
// way, then runs fsck when plinth.fsck says so. booted is closed when the
// boot goroutine has returned.
func (ip *initProc) shutdown(sig os.Signal, booted <-chan struct{}) {
	log := ip.log
	what := "reboot"
	if isPowerOff(sig) {
		what = "power off"
	}
	log.Printf("%v: shutting down to %s", sig, what)
	ip.mu.Lock()
	ip.stopping = true
	cur := ip.current
	params := ip.params
	ip.mu.Unlock()
	close(ip.stop)

	timeout := StepStopTimeout
	if cur != nil {
		if cur.name == "serve" {
			timeout = ServeStopTimeout
			log.Printf("stopping serve (SIGTERM; it drains requests and takes a final checkpoint; up to %s)", timeout)
		} else {
			log.Printf("stopping %s (SIGTERM)", cur.name)
		}
		if err := cur.child.Signal(syscall.SIGTERM); err != nil {
			log.Printf("%v", err)
		}
	}
	select {
	case <-booted:
	case <-time.After(timeout):
		ip.mu.Lock()
		cur = ip.current
		ip.mu.Unlock()
		if cur != nil {
			log.Printf("%s did not stop within %s: killing it (SIGKILL)", cur.name, timeout)
			if cur.name == "serve" {
				log.Printf("serve took no final checkpoint: its next start replays the journal (acknowledged writes are safe)")
			}
			_ = cur.child.Signal(syscall.SIGKILL)
		} else {
			log.Printf("the boot step under way did not end within %s", timeout)
		}
		select {
		case <-booted:
		case <-time.After(StepStopTimeout):
			log.Printf("the boot did not stop: going on with the shutdown anyway")
		}
	}
	if cur != nil && cur.name == "serve" {
		select {
		case <-cur.child.Done():
			ws := cur.child.Wait()
			if ws.Exited() && ws.ExitStatus() == 0 {
				log.Printf("serve stopped cleanly")
			} else {
				log.Printf("serve stopped: %s", ExitString(ws))
			}
		default:
			log.Printf("serve is still running")
		}
	}
	if params.FsckAtShutdown {
		ip.fsck("shutdown", true)
	}
}

// finish ends every process left, syncs, unmounts the firmware slots
// partition and the data directory, and reboots or powers off. It never
// returns.
func (ip *initProc) finish(sig os.Signal) {
	log := ip.log
	// What is left (orphans, a stuck child) gets a moment to exit.
	if err := unix.Kill(-1, unix.SIGTERM); err == nil {
		time.Sleep(time.Second)
		_ = unix.Kill(-1, unix.SIGKILL)
		log.Printf("sent every remaining process SIGTERM, then SIGKILL")
	}
	unix.Sync()
	log.Printf("synced filesystems")
	ip.unmountSlots()
	if err := unix.Unmount(DataDir, 0); err != nil {
		if errors.Is(err, unix.EBUSY) {
			err = unix.Unmount(DataDir, unix.MNT_DETACH)
		}
		if err != nil {
			log.Printf("unmount %s: %v", DataDir, err)
		}
	} else {
		log.Printf("unmounted %s", DataDir)
	}
	cmd, what := unix.LINUX_REBOOT_CMD_RESTART, "rebooting"
	if isPowerOff(sig) {
		cmd, what = unix.LINUX_REBOOT_CMD_POWER_OFF, "powering off"
	}
	log.Printf("%s", what)
	err := unix.Reboot(cmd)
	// Still here: the reboot failed. PID 1 must not exit.
	log.Printf("%s failed: %v; halt the machine by hand", what, err)
	for {
		time.Sleep(time.Hour)
	}
}
