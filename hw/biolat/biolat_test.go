package biolat

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestIssueArgsFromBTF(t *testing.T) {
	if _, err := os.Stat(kernelBTF); err != nil {
		t.Skipf("no kernel BTF (%v)", err)
	}
	n, err := IssueArgs()
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 && n != 2 {
		t.Fatalf("block_rq_issue takes %d arguments; want 1 (Linux 5.11+) or 2", n)
	}
	// The format file of the tracepoint, when tracefs is mounted, agrees:
	// the queue argument of older kernels shows as no field, so only
	// check that the count is plausible for the running kernel.
	var u unix.Utsname
	if unix.Uname(&u) == nil && strings.HasPrefix(unix.ByteSliceToString(u.Release[:]), "6.") && n != 1 {
		t.Fatalf("a 6.x kernel with %d block_rq_issue arguments", n)
	}
}

// loopDevice attaches a loop device (direct IO) over a new file; skipped
// without root or losetup.
func loopDevice(t *testing.T, size int64) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (loop devices, BPF)")
	}
	if _, err := exec.LookPath("losetup"); err != nil {
		t.Skip("needs losetup (util-linux)")
	}
	f := filepath.Join(t.TempDir(), "disk.img")
	if err := os.WriteFile(f, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(f, size); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("losetup", "--find", "--show", "--direct-io=on", f).CombinedOutput()
	if err != nil {
		t.Skipf("losetup: %v: %s", err, out)
	}
	dev := strings.TrimSpace(string(out))
	t.Cleanup(func() { exec.Command("losetup", "-d", dev).Run() })
	return dev
}

// directIO writes and reads n 4 KiB blocks of dev with O_DIRECT and
// flushes.
func directIO(t *testing.T, dev string, n int) {
	t.Helper()
	fd, err := unix.Open(dev, unix.O_RDWR|unix.O_DIRECT, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	buf, err := unix.Mmap(-1, 0, 4096, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(buf)
	for i := range n {
		if _, err := unix.Pwrite(fd, buf, int64(i)*4096); err != nil {
			t.Fatal(err)
		}
		if _, err := unix.Pread(fd, buf, int64(i)*4096); err != nil {
			t.Fatal(err)
		}
	}
	if err := unix.Fsync(fd); err != nil {
		t.Fatal(err)
	}
}

func loadOrSkip(t *testing.T, o Options) *Probe {
	t.Helper()
	p, err := Load(o)
	if errors.Is(err, ErrUnavailable) {
		if os.Getenv("CI") != "" && os.Geteuid() == 0 {
			t.Fatalf("CI runs as root with BPF: %v", err)
		}
		t.Skipf("%v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// The probes see IO on the drives they watch, kept apart by class, with
// in-flight counts back to zero and slow requests streamed; a drive they
// do not watch is not counted.
func TestProbesSeeLoopIO(t *testing.T) {
	for _, raw := range []bool{false, true} {
		name := map[bool]string{false: "tp_btf", true: "raw_tp"}[raw]
		t.Run(name, func(t *testing.T) {
			watched, other := loopDevice(t, 16<<20), loopDevice(t, 16<<20)
			dev, _, err := DiskOf(watched, "/sys")
			if err != nil {
				t.Fatal(err)
			}
			odev, _, err := DiskOf(other, "/sys")
			if err != nil {
				t.Fatal(err)
			}
			p := loadOrSkip(t, Options{Devices: []uint32{dev}, Slow: time.Nanosecond, Raw: raw})
			t.Logf("mode: %s", p.Mode())
			if raw != strings.HasPrefix(p.Mode(), "raw") {
				t.Fatalf("asked raw=%v, mode %q", raw, p.Mode())
			}
			directIO(t, watched, 64)
			directIO(t, other, 64)
			hs, err := p.Histograms()
			if err != nil {
				t.Fatal(err)
			}
			h := hs[dev]
			if h == nil {
				t.Fatalf("no figures for %s (%s); have %v", watched, DevString(dev), keys(hs))
			}
			if h.Issue[Read].Total() < 64 || h.Issue[Write].Total() < 64 {
				t.Fatalf("%s: %d reads, %d writes counted; want at least 64 each", watched, h.Issue[Read].Total(), h.Issue[Write].Total())
			}
			if h.InFlight != 0 {
				t.Errorf("%d requests in flight after the IO completed", h.InFlight)
			}
			if q := h.Issue[Read].Quantile(0.5); q <= 0 || q > time.Second {
				t.Errorf("median read %v", q)
			}
			if hs[odev] != nil {
				t.Fatalf("%s is not watched but was counted", other)
			}
			ev, err := p.NextSlow()
			if err != nil {
				t.Fatal(err)
			}
			if ev.Dev != dev || ev.Latency <= 0 {
				t.Fatalf("slow event %v", ev)
			}
		})
	}
}

// Without the kernel's BTF the probes say they cannot run, and why, and
// the source says what takes their place.
func TestUnavailableFallsBack(t *testing.T) {
	old := kernelBTF
	kernelBTF = filepath.Join(t.TempDir(), "no-btf")
	defer func() { kernelBTF = old }()
	p, err := Load(Options{})
	if !errors.Is(err, ErrUnavailable) || p != nil {
		t.Fatalf("Load without BTF: %v", err)
	}
	src := SourceOf(p, err)
	if src.Kind != "iopath" || !strings.Contains(src.Detail, "no BTF") || !strings.Contains(src.Detail, "/sys/block") {
		t.Fatalf("source %+v", src)
	}
}

func TestSysStat(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "block", "sda"), 0o755); err != nil {
		t.Fatal(err)
	}
	// Linux 5.5+: 17 fields.
	line := "  100 2 800 50   40 1 320 80   3 120 130   5 0 40 10   7 14\n"
	if err := os.WriteFile(filepath.Join(dir, "block", "sda", "stat"), []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := ReadSysStat(dir, "sda")
	if err != nil {
		t.Fatal(err)
	}
	if st.IOs[Read] != 100 || st.Mean(Read) != 500*time.Microsecond || st.IOs[Write] != 40 || st.Mean(Write) != 2*time.Millisecond ||
		st.InFlight != 3 || st.IOs[Other] != 5 || st.IOs[Flush] != 7 || st.Mean(Flush) != 2*time.Millisecond {
		t.Fatalf("parsed %+v", st)
	}
	if _, err := parseSysStat("x", "1 2 3"); err == nil {
		t.Fatal("a short stat line was accepted")
	}
	if _, err := parseSysStat("x", "1 2 3 4 5 6 7 8 9 10 eleven"); err == nil {
		t.Fatal("a bad field was accepted")
	}
}

func TestHistQuantile(t *testing.T) {
	var h Hist
	if h.Quantile(0.99) != 0 {
		t.Fatal("empty histogram has a quantile")
	}
	h.Counts[3] = 90 // [8, 16) us
	h.Counts[10] = 10
	if q := h.Quantile(0.5); q != 16*time.Microsecond {
		t.Fatalf("p50 %v", q)
	}
	if q := h.Quantile(0.99); q != 2048*time.Microsecond {
		t.Fatalf("p99 %v", q)
	}
	old := h
	h.Counts[3] += 5
	if d := h.Sub(old); d.Total() != 5 {
		t.Fatalf("sub %v", d.Total())
	}
}

func keys(m map[uint32]*Drive) []string {
	var s []string
	for k := range m {
		s = append(s, DevString(k))
	}
	return s
}
