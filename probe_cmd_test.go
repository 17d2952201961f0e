package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

func TestProbeCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := runMain([]string{"probe", "--interval", "0", "/dev/null"}, &out, &errOut); code != 2 {
		t.Fatalf("--interval 0: exit %d", code)
	}
	if code := runMain([]string{"probe", "--count", "1", filepath.Join(t.TempDir(), "missing")}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "missing") {
		t.Fatalf("a missing device: exit %d: %s", code, errOut.String())
	}
	if os.Geteuid() != 0 {
		t.Skip("the live part needs root (loop devices, BPF)")
	}
	if _, err := exec.LookPath("losetup"); err != nil {
		t.Skip("the live part needs losetup (util-linux)")
	}
	img := filepath.Join(t.TempDir(), "disk.img")
	if err := os.WriteFile(img, make([]byte, 8<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	b, err := exec.Command("losetup", "--find", "--show", "--direct-io=on", img).CombinedOutput()
	if err != nil {
		t.Skipf("losetup: %v: %s", err, b)
	}
	loop := strings.TrimSpace(string(b))
	defer exec.Command("losetup", "-d", loop).Run()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // IO on the loop device while the probe watches
		defer wg.Done()
		fd, err := unix.Open(loop, unix.O_RDWR|unix.O_DIRECT, 0)
		if err != nil {
			return
		}
		defer unix.Close(fd)
		buf, _ := unix.Mmap(-1, 0, 4096, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			unix.Pwrite(fd, buf, int64(i%1024)*4096)
			unix.Pread(fd, buf, int64(i%1024)*4096)
		}
	}()
	out.Reset()
	errOut.Reset()
	code := runMain([]string{"probe", "--count", "2", "--interval", "300ms", loop}, &out, &errOut)
	close(stop)
	wg.Wait()
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(errOut.String(), "latency source: ") {
		t.Fatalf("the source is not said:\n%s", errOut.String())
	}
	if strings.Contains(errOut.String(), "source: ebpf") {
		for _, want := range []string{"read:", "write:", "usecs", "|*"} {
			if !strings.Contains(out.String(), want) {
				t.Fatalf("no %q in:\n%s", want, out.String())
			}
		}
	} else if !strings.Contains(out.String(), "in flight") {
		t.Fatalf("fallback output:\n%s", out.String())
	}
	t.Logf("%s\n%s", errOut.String(), out.String())
}
