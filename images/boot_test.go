package images_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plinth-storage/plinth/images"
)

// TestBootQEMU builds a firmware bundle from this source tree and the
// installed Debian kernel, boots it under QEMU and checks what `plinth
// init` and the node do on real kernels and devices:
//
//   - Zoned: two NVMe ZNS namespaces, two host-managed SMR disks
//     (scsi_debug zbc=host-managed, made inside the guest) and two virtio
//     disks. The io/direct conformance suite runs in the guest on the four
//     zoned devices (plinth.run), init formats all six into one node and
//     serves it; objects go in and out through a forwarded port; Ctrl-Alt-Del
//     (QEMU's sendkey) stops serve cleanly, fsck at shutdown is clean (it
//     checks the zone write pointers the kernel reports against the
//     allocator) and the machine reboots, which ends QEMU (-no-reboot).
//   - PowerCut: two fresh virtio disks (plinth.drives names them: the
//     scsi_debug disks exist too); objects are stored from several clients
//     and QEMU is killed (SIGKILL) with PUTs in flight; a second boot on
//     the same disk files runs fsck at boot (clean), serves the same node,
//     and every acknowledged object reads back intact.
//   - Unformatted: a blank disk without plinth.format=blank is left alone;
//     init says how to format it and idles until the ACPI power button
//     (QEMU's system_powerdown, as a BMC's graceful shutdown) powers it
//     off.
//
// It takes minutes (build, then two or three boots); -short skips it.
// QEMU uses KVM when /dev/kvm boots a kernel, software emulation (TCG)
// otherwise; PLINTH_QEMU_ACCEL=kvm or tcg chooses. On failure the console
// log's last 100 lines are printed and the work directory is kept.
func TestBootQEMU(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the QEMU boot test builds a firmware image and boots it, which takes minutes")
	}
	qemu, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		t.Skip("no qemu-system-x86_64 (apt-get install qemu-system-x86): the boot test boots the firmware image in it")
	}
	kernel, modulesDir, ok := findKernel()
	if !ok {
		t.Skip("no /boot/vmlinuz-VER with /lib/modules/VER/modules.dep (apt-get install linux-image-amd64): the boot test needs a kernel and its modules")
	}
	root := images.FindModuleRoot(".")
	if root == "" {
		t.Skip("not run from the plinth source tree: the boot test builds plinth from it")
	}
	work := keptWorkDir(t)
	env := buildBootImage(t, work, root, kernel, modulesDir)
	env.qemu = qemu
	env.accel = chooseAccel(t, qemu, env.kernel, work)

	if !t.Run("Zoned", func(t *testing.T) { bootZoned(t, env) }) {
		return
	}
	t.Run("PowerCut", func(t *testing.T) { bootPowerCut(t, env) })
	t.Run("Unformatted", func(t *testing.T) { bootUnformatted(t, env) })
}

// The guest's setup.
const (
	bootToken  = "boot-test-token-5f1e2d3c4b5a6978"
	guestIP    = "ip=10.0.2.15::10.0.2.2:255.255.255.0:node::off"
	guestPort  = 8350
	scsiDebug  = "zbc=host-managed dev_size_mb=256 zone_size_mb=16 add_host=2 per_host_store=1 sector_size=4096"
	conformRun = `plinth.run="/test/direct.test -test.run ^TestConformanceDevices$ -test.v -conformance.devices=zoned"`
)

// How long the guest gets for each stage: bounds for failures, not
// expectations (a boot to serving takes under a minute with TCG).
const (
	bootTimeout     = 5 * time.Minute
	shutdownTimeout = 3 * time.Minute
	requestTimeout  = 2 * time.Minute
)

// findKernel finds the newest /boot/vmlinuz-VER whose modules are
// installed in /lib/modules/VER.
func findKernel() (kernel, modulesDir string, ok bool) {
	paths, _ := filepath.Glob("/boot/vmlinuz-*")
	sort.Sort(sort.Reverse(sort.StringSlice(paths)))
	for _, p := range paths {
		ver := strings.TrimPrefix(filepath.Base(p), "vmlinuz-")
		dir := filepath.Join("/lib/modules", ver)
		if _, err := os.Stat(filepath.Join(dir, "modules.dep")); err != nil {
			continue
		}
		f, err := os.Open(p)
		if err != nil {
			continue // not readable by this user
		}
		f.Close()
		return p, dir, true
	}
	return "", "", false
}

// keptWorkDir is a scratch directory removed when the test passes and kept
// (and named in the log) when it fails, with the console logs and disks.
func keptWorkDir(t *testing.T) string {
	dir, err := os.MkdirTemp("", "plinth-boot-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("kept the boot test's files (console logs, disk images, bundle) in %s", dir)
			return
		}
		os.RemoveAll(dir)
	})
	return dir
}

// bootEnv is what every boot needs.
type bootEnv struct {
	qemu           string
	accel          []string
	kernel, initrd string
	work           string
}

// buildBootImage builds the bundle: plinth from the source tree, the
// kernel, the default modules plus scsi_debug (loaded with the zoned
// parameters) and the checksum modules the block integrity code asks for
// (there is no modprobe in the image to load them on demand), serve's
// configuration, the API token and the io/direct test binary. It then
// verifies the bundle and extracts the kernel and initramfs.
func buildBootImage(t *testing.T, work, root, kernel, modulesDir string) *bootEnv {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	directTest := filepath.Join(work, "direct.test")
	cmd := exec.CommandContext(ctx, "go", "test", "-c", "-o", directTest, "./io/direct")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the io/direct test binary: %v\n%s", err, out)
	}
	config := filepath.Join(work, "config.json")
	token := filepath.Join(work, "token")
	if err := os.WriteFile(config, fmt.Appendf(nil, "{\"listen\": \"0.0.0.0:%d\"}\n", guestPort), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(token, []byte(bootToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	modules := []images.ModuleSpec{
		{Name: "crc64_rocksoft_generic", Optional: true},
		{Name: "crct10dif_generic", Optional: true},
	}
	modules = append(modules, images.MergeModules(images.DefaultModules(), []images.ModuleSpec{
		{Name: "scsi_debug", Params: strings.Fields(scsiDebug)},
	})...)
	bundle := filepath.Join(work, "boot-test.bundle")
	var progress bytes.Buffer
	_, err = images.Build(ctx, images.BuildOptions{
		Source:     root,
		Kernel:     kernel,
		ModulesDir: modulesDir,
		Modules:    modules,
		Files: []images.File{
			{Src: config, Dst: "/etc/plinth/config.json", Mode: 0o644},
			{Src: token, Dst: "/etc/plinth/token", Mode: 0o600},
			{Src: directTest, Dst: "/test/direct.test", Mode: 0o755},
		},
		Product:         images.DefaultProduct,
		Version:         "0.0.1",
		SourceDateEpoch: 1700000000,
		Key:             priv,
		Output:          bundle,
		Progress:        &progress,
	})
	if err != nil {
		t.Fatalf("building the bundle: %v\n%s", err, progress.String())
	}
	if _, err := images.Verify(bundle, pub, images.DefaultProduct, ""); err != nil {
		t.Fatalf("the bundle just built does not verify: %v", err)
	}
	b, err := images.Open(bundle)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	env := &bootEnv{kernel: filepath.Join(work, "kernel"), initrd: filepath.Join(work, "initramfs"), work: work}
	if err := b.ExtractKernel(env.kernel); err != nil {
		t.Fatal(err)
	}
	if err := b.ExtractInitramfs(env.initrd); err != nil {
		t.Fatal(err)
	}
	return env
}

// chooseAccel picks KVM when a kernel boots with it (/dev/kvm may exist
// and still not run a guest: nested virtualisation without the CPU
// features QEMU asks for), software emulation otherwise.
func chooseAccel(t *testing.T, qemu, kernel, work string) []string {
	kvm := []string{"-enable-kvm", "-cpu", "host"}
	tcg := []string{"-accel", "tcg"}
	switch os.Getenv("PLINTH_QEMU_ACCEL") {
	case "kvm":
		return kvm
	case "tcg":
		return tcg
	}
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		t.Logf("QEMU: software emulation (TCG): /dev/kvm: %v", err)
		return tcg
	}
	f.Close()
	// A kernel without a root panics and, with -no-reboot, ends QEMU
	// within seconds; its first line proves KVM runs it.
	probe := filepath.Join(work, "kvm-probe.log")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	args := append(append([]string(nil), kvm...), "-m", "256", "-display", "none", "-no-reboot", "-monitor", "none",
		"-serial", "file:"+probe, "-kernel", kernel, "-append", "console=ttyS0 panic=-1")
	out, err := exec.CommandContext(ctx, qemu, args...).CombinedOutput()
	if b, _ := os.ReadFile(probe); bytes.Contains(b, []byte("Linux version")) {
		t.Logf("QEMU: KVM")
		return kvm
	}
	t.Logf("QEMU: software emulation (TCG): /dev/kvm did not boot a kernel within 15s (%v %s)", err, bytes.TrimSpace(out))
	return tcg
}

// vm is one QEMU run of the image.
type vm struct {
	t       *testing.T
	name    string
	cmd     *exec.Cmd
	console string // the serial console's log
	monitor string // QEMU's monitor socket
	api     *apiClient
	exited  chan struct{}
	waitErr error
}

// bootVM starts QEMU with the image, the kernel command line extra
// parameters and the given drive arguments.
func bootVM(t *testing.T, env *bootEnv, name, params string, drives []string) *vm {
	t.Helper()
	port := freePort(t)
	v := &vm{
		t:       t,
		name:    name,
		console: filepath.Join(env.work, name+"-console.log"),
		monitor: filepath.Join(env.work, name+"-monitor.sock"),
		api:     newAPIClient(fmt.Sprintf("http://127.0.0.1:%d", port)),
		exited:  make(chan struct{}),
	}
	args := append([]string(nil), env.accel...)
	args = append(args, "-m", "2048", "-smp", "2", "-nographic", "-no-reboot",
		"-serial", "file:"+v.console,
		"-monitor", "unix:"+v.monitor+",server,nowait",
		"-kernel", env.kernel, "-initrd", env.initrd,
		"-append", "console=ttyS0 panic=-1 "+guestIP+" "+params,
		"-netdev", fmt.Sprintf("user,id=n0,hostfwd=tcp:127.0.0.1:%d-:%d", port, guestPort),
		"-device", "virtio-net-pci,netdev=n0")
	args = append(args, drives...)
	v.cmd = exec.Command(env.qemu, args...)
	stderr, err := os.Create(filepath.Join(env.work, name+"-qemu.log"))
	if err != nil {
		t.Fatal(err)
	}
	v.cmd.Stdout, v.cmd.Stderr = stderr, stderr
	if err := v.cmd.Start(); err != nil {
		stderr.Close()
		t.Fatalf("starting QEMU: %v", err)
	}
	go func() {
		v.waitErr = v.cmd.Wait()
		stderr.Close()
		close(v.exited)
	}()
	t.Cleanup(func() {
		v.kill()
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(env.work, name+"-qemu.log"))
			t.Logf("%s: QEMU's own output: %s", name, bytes.TrimSpace(b))
			t.Logf("%s: the console log's last 100 lines (%s):\n%s", name, v.console, v.tail(100))
		}
	})
	t.Logf("%s: booting: %s", name, strings.Join(v.cmd.Args, " "))
	return v
}

// freePort is a loopback TCP port nobody listens on now.
func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// virtioDisk and znsNamespace are QEMU's arguments for the disks.
func virtioDisk(id, file string) []string {
	return []string{"-drive", "if=none,id=" + id + ",file=" + file + ",format=raw", "-device", "virtio-blk-pci,drive=" + id}
}

func znsNamespace(id, file string, nsid int) []string {
	return []string{"-drive", "if=none,id=" + id + ",file=" + file + ",format=raw",
		"-device", fmt.Sprintf("nvme-ns,drive=%s,bus=nvme0,nsid=%d,zoned=on,logical_block_size=4096,physical_block_size=4096,zoned.zone_size=16M", id, nsid)}
}

// sparseFile makes a disk image of size bytes that uses no space.
func sparseFile(t *testing.T, path string, size int64) string {
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	return path
}

// log is the console log so far; the serial line ends lines with CR LF.
func (v *vm) log() string {
	b, _ := os.ReadFile(v.console)
	return strings.ReplaceAll(string(b), "\r\n", "\n")
}

func (v *vm) tail(n int) string {
	lines := strings.Split(strings.TrimRight(v.log(), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

func (v *vm) running() bool {
	select {
	case <-v.exited:
		return false
	default:
		return true
	}
}

// waitLog waits for a console line matching re, failing the test when the
// guest stops first or the time runs out. It returns the submatches.
func (v *vm) waitLog(re *regexp.Regexp, timeout time.Duration) []string {
	v.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if m := re.FindStringSubmatch(v.log()); m != nil {
			return m
		}
		if !v.running() {
			if m := re.FindStringSubmatch(v.log()); m != nil {
				return m
			}
			v.t.Fatalf("%s: QEMU ended (%v) before the console showed %q", v.name, v.waitErr, re)
		}
		if time.Now().After(deadline) {
			v.t.Fatalf("%s: the console did not show %q within %s", v.name, re, timeout)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitServing waits until serve has started and the API answers through
// the forwarded port.
func (v *vm) waitServing() {
	v.t.Helper()
	v.waitLog(regexp.MustCompile(`(?m)^serve: serving \(pid \d+\)`), bootTimeout)
	deadline := time.Now().Add(requestTimeout)
	for {
		code, body, err := v.api.do("GET", "/v1/status", nil)
		if err == nil && code == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			v.t.Fatalf("%s: GET /v1/status through the forwarded port: %d %s %v", v.name, code, body, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// ctrlAltDel presses Ctrl-Alt-Del on the guest's keyboard (QEMU's
// sendkey through the monitor socket).
func (v *vm) ctrlAltDel() {
	v.t.Helper()
	v.monitorCommand("sendkey ctrl-alt-delete")
}

// powerButton presses the guest's ACPI power button (QEMU's
// system_powerdown), as a BMC's graceful shutdown does.
func (v *vm) powerButton() {
	v.t.Helper()
	v.monitorCommand("system_powerdown")
}

// monitorCommand runs one command on QEMU's monitor socket.
func (v *vm) monitorCommand(cmd string) {
	v.t.Helper()
	c, err := net.Dial("unix", v.monitor)
	if err != nil {
		v.t.Fatalf("%s: QEMU monitor: %v", v.name, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(c)
	readPrompt := func() error {
		var seen []byte
		for !bytes.HasSuffix(seen, []byte("(qemu) ")) {
			b, err := r.ReadByte()
			if err != nil {
				return err
			}
			seen = append(seen, b)
		}
		return nil
	}
	if err := readPrompt(); err != nil {
		v.t.Fatalf("%s: QEMU monitor: %v", v.name, err)
	}
	if _, err := io.WriteString(c, cmd+"\n"); err != nil {
		v.t.Fatalf("%s: QEMU monitor: %v", v.name, err)
	}
	if err := readPrompt(); err != nil {
		v.t.Fatalf("%s: QEMU monitor after %s: %v", v.name, cmd, err)
	}
}

// waitExit waits for QEMU to end by itself (the guest rebooted or
// powered off; -no-reboot ends QEMU instead of rebooting).
func (v *vm) waitExit(timeout time.Duration) {
	v.t.Helper()
	select {
	case <-v.exited:
		if v.waitErr != nil {
			v.t.Fatalf("%s: QEMU: %v", v.name, v.waitErr)
		}
	case <-time.After(timeout):
		v.t.Fatalf("%s: the guest did not reboot within %s", v.name, timeout)
	}
}

// kill ends QEMU at once (SIGKILL): the power cut.
func (v *vm) kill() {
	if v.running() {
		v.cmd.Process.Kill()
		<-v.exited
	}
}

// assertLog fails unless the console log matches every pattern.
func (v *vm) assertLog(patterns ...string) {
	v.t.Helper()
	log := v.log()
	for _, p := range patterns {
		if !regexp.MustCompile(p).MatchString(log) {
			v.t.Errorf("%s: the console log lacks %q", v.name, p)
		}
	}
}

// apiClient speaks the node's HTTP API with the test token.
type apiClient struct {
	base string
	c    *http.Client
}

func newAPIClient(base string) *apiClient {
	return &apiClient{base: base, c: &http.Client{Timeout: requestTimeout}}
}

func (a *apiClient) do(method, path string, body []byte) (int, []byte, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, a.base+path, r)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+bootToken)
	resp, err := a.c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// must does a request that must answer want.
func (a *apiClient) must(t *testing.T, method, path string, body []byte, want int) []byte {
	t.Helper()
	code, b, err := a.do(method, path, body)
	if err != nil || code != want {
		t.Fatalf("%s %s: %d %s %v, want %d", method, path, code, bytes.TrimSpace(b), err, want)
	}
	return b
}

// objectData is the content of a test object, made again from its seed.
func objectData(seed uint64, size int) []byte {
	r := mrand.New(mrand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, size)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func bootZoned(t *testing.T, env *bootEnv) {
	var drives []string
	drives = append(drives, virtioDisk("v0", sparseFile(t, filepath.Join(env.work, "zoned-v0.img"), 1<<30))...)
	drives = append(drives, virtioDisk("v1", sparseFile(t, filepath.Join(env.work, "zoned-v1.img"), 1<<30))...)
	drives = append(drives, "-device", "nvme,id=nvme0,serial=plinthzns")
	drives = append(drives, znsNamespace("z0", sparseFile(t, filepath.Join(env.work, "zoned-z0.img"), 1<<30), 1)...)
	drives = append(drives, znsNamespace("z1", sparseFile(t, filepath.Join(env.work, "zoned-z1.img"), 1<<30), 2)...)
	v := bootVM(t, env, "zoned", "plinth.format=blank plinth.fsck=shutdown "+conformRun, drives)
	v.waitServing()

	// The conformance suite ran on the four zoned devices and passed,
	// before init formatted all six drives.
	v.assertLog(
		`conformance: 4 devices: /dev/nvme0n1 /dev/nvme0n2 /dev/sda /dev/sdb`,
		`(?m)^run: PASS$`,
		`plinth init: \[ *[0-9.]+\] run /test/direct\.test: exit 0`,
		`plinth init: \[ *[0-9.]+\] formatted node [0-9a-f-]{36} on 6 drives`,
		`(?m)^serve: pool default: pool of 6 drives, 4\+2 sets`,
	)
	if t.Failed() {
		t.FailNow()
	}

	// Objects of several sizes, some over 1 MiB, in and out.
	v.api.must(t, "PUT", "/v1/buckets/bootzoned", nil, http.StatusCreated)
	sizes := []int{1, 4096, 100_000, 1<<20 + 1, 3<<20 + 12345, 6 << 20}
	for i, size := range sizes {
		v.api.must(t, "PUT", fmt.Sprintf("/v1/buckets/bootzoned/obj-%d", i), objectData(uint64(i), size), http.StatusOK)
	}
	for i, size := range sizes {
		got := v.api.must(t, "GET", fmt.Sprintf("/v1/buckets/bootzoned/obj-%d", i), nil, http.StatusOK)
		if !bytes.Equal(got, objectData(uint64(i), size)) {
			t.Fatalf("obj-%d: read %d bytes that differ from the %d written", i, len(got), size)
		}
	}

	// Ctrl-Alt-Del: serve stops cleanly, fsck at shutdown is clean, the
	// guest reboots and QEMU ends.
	v.ctrlAltDel()
	v.waitExit(shutdownTimeout)
	v.assertLog(
		`plinth init: \[ *[0-9.]+\] interrupt: shutting down to reboot`,
		`plinth init: \[ *[0-9.]+\] serve stopped cleanly`,
		`plinth init: \[ *[0-9.]+\] fsck at shutdown: checking /dev/nvme0n1 /dev/nvme0n2 /dev/sda /dev/sdb /dev/vda /dev/vdb`,
		// fsck compared the write pointers the kernel reports with the
		// allocator's view of the zoned members.
		`(?m)^fsck: .*write pointers of [1-9][0-9]* zoned members`,
		`plinth init: \[ *[0-9.]+\] fsck: clean \(exit 0\)`,
		`plinth init: \[ *[0-9.]+\] rebooting`,
	)
}

// acked is an object the node acknowledged.
type acked struct {
	key  string
	seed uint64
	size int
}

func bootPowerCut(t *testing.T, env *bootEnv) {
	disks := func() []string {
		var d []string
		d = append(d, virtioDisk("v0", filepath.Join(env.work, "powercut-v0.img"))...)
		return append(d, virtioDisk("v1", filepath.Join(env.work, "powercut-v1.img"))...)
	}
	sparseFile(t, filepath.Join(env.work, "powercut-v0.img"), 16<<30)
	sparseFile(t, filepath.Join(env.work, "powercut-v1.img"), 16<<30)
	// The image loads scsi_debug, whose disks are RAM: plinth.drives
	// keeps the node on the virtio disks, which survive the power cut.
	const params = "plinth.format=blank plinth.drives=/dev/vda,/dev/vdb"
	first := bootVM(t, env, "powercut-1", params, disks())
	first.waitServing()
	node := first.waitLog(regexp.MustCompile(`formatted node ([0-9a-f-]{36}) on 2 drives`), time.Second)[1]
	first.api.must(t, "PUT", "/v1/buckets/powercut", nil, http.StatusCreated)

	// Writers store objects until the power cut; what the node
	// acknowledged is remembered.
	var mu sync.Mutex
	var done []acked
	var lastErr error
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := mrand.New(mrand.NewPCG(uint64(w), 42))
			for i := 0; ctx.Err() == nil; i++ {
				o := acked{key: fmt.Sprintf("w%d/obj-%04d", w, i), seed: uint64(w)<<32 | uint64(i), size: 1 + r.IntN(1536<<10)}
				code, body, err := first.api.do("PUT", "/v1/buckets/powercut/"+o.key, objectData(o.seed, o.size))
				mu.Lock()
				if err == nil && code == http.StatusOK {
					done = append(done, o)
				} else if err == nil {
					lastErr = fmt.Errorf("PUT %s: %d %s", o.key, code, bytes.TrimSpace(body))
				}
				mu.Unlock()
			}
		}()
	}
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(done)
	}
	deadline := time.Now().Add(requestTimeout)
	for count() < 15 && time.Now().Before(deadline) && first.running() {
		time.Sleep(100 * time.Millisecond)
	}
	first.kill() // the power cut, with PUTs under way
	cancel()
	wg.Wait()
	if lastErr != nil {
		t.Errorf("a PUT was refused before the power cut: %v", lastErr)
	}
	if len(done) < 15 {
		t.Fatalf("only %d objects acknowledged in %s before the power cut", len(done), requestTimeout)
	}
	t.Logf("power cut after %d acknowledged objects", len(done))

	// The second boot: fsck at boot is clean, the same node is served,
	// nothing is formatted again, every acknowledged object is intact.
	second := bootVM(t, env, "powercut-2", params+" plinth.fsck=boot", disks())
	second.waitServing()
	second.assertLog(
		`plinth init: \[ *[0-9.]+\] fsck at boot: checking /dev/vda /dev/vdb`,
		`plinth init: \[ *[0-9.]+\] fsck: clean \(exit 0\)`,
		`plinth init: \[ *[0-9.]+\] node `+node+`: serving 2 drives: /dev/vda /dev/vdb`,
	)
	if strings.Contains(second.log(), "formatted node") {
		t.Errorf("the second boot formatted the drives again")
	}
	for _, o := range done {
		got := second.api.must(t, "GET", "/v1/buckets/powercut/"+o.key, nil, http.StatusOK)
		if !bytes.Equal(got, objectData(o.seed, o.size)) {
			t.Errorf("%s: read %d bytes that differ from the %d acknowledged", o.key, len(got), o.size)
		}
	}
	second.ctrlAltDel()
	second.waitExit(shutdownTimeout)
	second.assertLog(`plinth init: \[ *[0-9.]+\] serve stopped cleanly`)
}

func bootUnformatted(t *testing.T, env *bootEnv) {
	disk := virtioDisk("v0", sparseFile(t, filepath.Join(env.work, "unformatted-v0.img"), 1<<30))
	v := bootVM(t, env, "unformatted", "plinth.drives=/dev/vda", disk)
	v.waitLog(regexp.MustCompile(`plinth init: \[ *[0-9.]+\] idle: waiting for a shutdown signal`), bootTimeout)
	v.assertLog(`plinth init: \[ *[0-9.]+\] no Plinth drives; boot with plinth.format=blank to format`)
	if strings.Contains(v.log(), "formatted node") || strings.Contains(v.log(), "starting serve") {
		t.Errorf("init formatted or served a drive it was not told to format")
	}
	// The ACPI power button (a BMC's graceful shutdown): init powers off.
	v.assertLog(`plinth init: \[ *[0-9.]+\] power button: /dev/input/event[0-9]+ \(a press powers the node off cleanly\)`)
	v.powerButton()
	v.waitExit(shutdownTimeout)
	v.assertLog(
		`plinth init: \[ *[0-9.]+\] power button pressed`,
		`plinth init: \[ *[0-9.]+\] power failure: shutting down to power off`,
		`plinth init: \[ *[0-9.]+\] powering off`,
	)
}
