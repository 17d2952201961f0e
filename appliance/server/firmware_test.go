package server

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/plinth-storage/plinth/appliance/api"
	"github.com/plinth-storage/plinth/appliance/events"
	"github.com/plinth-storage/plinth/images"
	"github.com/plinth-storage/plinth/pool"
)

// bundleKit builds small real firmware bundles quickly: a tiny static Go
// program stands in for plinth, a text file for the kernel, one fake
// module.
type bundleKit struct {
	dir, binary, kernel, modules string
}

func newBundleKit(t *testing.T) *bundleKit {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("needs the go command to build the test bundles' binary")
	}
	dir := t.TempDir()
	k := &bundleKit{dir: dir, binary: filepath.Join(dir, "tiny"), kernel: filepath.Join(dir, "vmlinuz"), modules: filepath.Join(dir, "6.1.0-99-test")}
	write := func(p, data string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	src := filepath.Join(dir, "src")
	write(filepath.Join(src, "main.go"), "package main\n\nfunc main() {}\n")
	write(filepath.Join(src, "go.mod"), "module tiny\n\ngo 1.22\n")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w -buildid=", "-o", k.binary, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+images.DefaultArch, "GOFLAGS=-buildvcs=false")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the test binary: %v\n%s", err, out)
	}
	write(k.kernel, strings.Repeat("not a kernel ", 1000))
	write(filepath.Join(k.modules, "modules.dep"), "kernel/drivers/block/virtio_blk.ko:\n")
	write(filepath.Join(k.modules, "kernel/drivers/block/virtio_blk.ko"), "\x7fELF virtio_blk")
	return k
}

// build makes the bundle name of product and version signed with key.
func (k *bundleKit) build(t *testing.T, name string, key ed25519.PrivateKey, product, version, minFrom string) string {
	t.Helper()
	out := filepath.Join(k.dir, name+".bundle")
	var progress bytes.Buffer
	if _, err := images.Build(context.Background(), images.BuildOptions{
		Binary: k.binary, Kernel: k.kernel, ModulesDir: k.modules,
		Modules: []images.ModuleSpec{{Name: "virtio_blk"}},
		Product: product, Version: version, MinUpdateFrom: minFrom,
		SourceDateEpoch: 1700000000, Key: key, Output: out, Progress: &progress,
	}); err != nil {
		t.Fatalf("building %s %s: %v\n%s", product, version, err, progress.String())
	}
	return out
}

// testSigningKey is a fixed ed25519 key.
func testSigningKey(seed byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
}

// newKeyPair makes a key pair in dir, as plinth firmware keygen does, and
// returns the private key and the public key's file.
func newKeyPair(t *testing.T, dir, name string) (ed25519.PrivateKey, string) {
	t.Helper()
	priv, pub := filepath.Join(dir, name+".key"), filepath.Join(dir, name+".pub")
	if _, err := images.GenerateKey(priv, pub); err != nil {
		t.Fatal(err)
	}
	key, err := images.LoadPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return key, pub
}

// fwNode is a running node with the firmware endpoints.
type fwNode struct {
	t   *testing.T
	srv *Server
}

func openFWNode(t *testing.T, cfg Config, o Options) *fwNode {
	t.Helper()
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	cfg.Listen = "127.0.0.1:0"
	o.Default = smallDefault()
	o.Pool = pool.Options{Cleaner: pool.CleanerOptions{Manual: true}}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	// An upload a crash left behind is removed at the start.
	leftover := filepath.Join(cfg.DataDir, "firmware-upload-123.bundle")
	if err := os.WriteFile(leftover, []byte("half a bundle"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Open(cfg, o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(leftover); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the leftover upload is still there: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, time.Second) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return &fwNode{t: t, srv: s}
}

// do sends a request with the token and returns the status and body.
func (n *fwNode) do(method, path, bodyFile string) (int, string) {
	n.t.Helper()
	var body io.Reader
	if bodyFile != "" {
		f, err := os.Open(bodyFile)
		if err != nil {
			n.t.Fatal(err)
		}
		defer f.Close()
		body = f
	}
	req, err := http.NewRequest(method, n.srv.URL()+path, body)
	if err != nil {
		n.t.Fatal(err)
	}
	if f, ok := body.(*os.File); ok { // as curl -T sends it
		fi, err := f.Stat()
		if err != nil {
			n.t.Fatal(err)
		}
		req.ContentLength = fi.Size()
	}
	req.Header.Set("Authorization", "Bearer "+n.srv.Token())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		n.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// must does a request that must answer status with a body holding want.
func (n *fwNode) must(method, path, bodyFile string, status int, want ...string) string {
	n.t.Helper()
	code, body := n.do(method, path, bodyFile)
	if code != status {
		n.t.Fatalf("%s %s: %d, want %d: %s", method, path, code, status, body)
	}
	for _, w := range want {
		if !strings.Contains(body, w) {
			n.t.Fatalf("%s %s: the reply lacks %q: %s", method, path, w, body)
		}
	}
	return body
}

// events are the node's firmware events so far.
func (n *fwNode) events() []events.Event {
	n.t.Helper()
	n.srv.events.Sync()
	evs, err := n.srv.events.Query(events.Filter{Kinds: []string{"firmware-applied", "firmware-refused", "firmware-apply-failed", "reboot-requested", "reboot-failed"}})
	if err != nil {
		n.t.Fatal(err)
	}
	return evs
}

// TestFirmwareAPI: bundles installed through the API on a slots
// directory: a good update goes into the inactive slot to boot once (and is
// journaled with who sent it); a bad signature, a damaged part, garbage, a
// downgrade, another product and an update while the other slot is on
// trial are refused with their status and nothing changes; GET shows the
// slots and the booted one; the reboot is refused outside plinth init and
// signals init inside it.
func TestFirmwareAPI(t *testing.T) {
	kit := newBundleKit(t)
	key, pubPath := newKeyPair(t, kit.dir, "release")
	other := testSigningKey(9)
	v100 := kit.build(t, "v100", key, images.DefaultProduct, "1.0.0", "0.0.0")
	v110 := kit.build(t, "v110", key, images.DefaultProduct, "1.1.0", "1.0.0")
	v090 := kit.build(t, "v090", key, images.DefaultProduct, "0.9.0", "0.0.0")
	gateway := kit.build(t, "gateway", key, "plinth-gateway", "2.0.0", "0.0.0")
	forged := kit.build(t, "forged", other, images.DefaultProduct, "1.2.0", "0.0.0")
	damaged := filepath.Join(kit.dir, "damaged.bundle")
	data, err := os.ReadFile(v110)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)-3000] ^= 1 // in the initramfs, after the signed manifest
	if err := os.WriteFile(damaged, data, 0o644); err != nil {
		t.Fatal(err)
	}
	garbage := filepath.Join(kit.dir, "garbage.bundle")
	if err := os.WriteFile(garbage, []byte("this is not a tar archive, let alone a bundle"), 0o644); err != nil {
		t.Fatal(err)
	}

	// The node runs slot b, 1.0.0, installed and marked good as init would.
	slotsDir := filepath.Join(kit.dir, "slots")
	slots, err := images.OpenSlots(slotsDir)
	if err != nil {
		t.Fatal(err)
	}
	pub := key.Public().(ed25519.PublicKey)
	if _, err := slots.Apply(v100, pub, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := slots.Boot(pub); err != nil {
		t.Fatal(err)
	}
	if _, _, err := slots.MarkGood(); err != nil {
		t.Fatal(err)
	}

	var signalled []os.Signal
	var mu sync.Mutex
	n := openFWNode(t, Config{Firmware: FirmwareConfig{Slots: slotsDir, PublicKey: pubPath}}, Options{
		UnderInit: func() error { return nil },
		SignalInit: func(sig os.Signal) error {
			mu.Lock()
			defer mu.Unlock()
			signalled = append(signalled, sig)
			return nil
		},
	})

	var st struct {
		Booted string           `json:"booted"`
		State  images.SlotState `json:"state"`
		Slots  []images.SlotInfo
		Key    string `json:"public_key"`
	}
	body := n.must("GET", "/v1/firmware", "", 200)
	if err := json.Unmarshal([]byte(body), &st); err != nil || st.Booted != "b" || st.State.Active != "b" || !st.Slots[1].Good || st.Slots[1].Version != "1.0.0" || st.Slots[0].Installed || st.Key != pubPath {
		t.Fatalf("status before: %+v %v\n%s", st, err, body)
	}

	// Refusals: each says which check failed; the slots do not change.
	for _, c := range []struct {
		file   string
		status int
		want   []string
	}{
		{forged, 400, []string{`"BadSignature"`, "signed with another key"}},
		{damaged, 400, []string{`"BadHash"`, "the initramfs"}},
		{garbage, 400, []string{`"InvalidBundle"`, "not a valid firmware bundle"}},
		{v090, 409, []string{`"Downgrade"`, "the bundle is version 0.9.0, the node runs 1.0.0"}},
		{gateway, 409, []string{`"Incompatible"`, `plinth-gateway`, "not compatible with this node"}},
	} {
		body := n.must("PUT", "/v1/firmware", c.file, c.status, c.want...)
		if strings.Contains(body, "firmware-upload-") {
			t.Errorf("the reply names the upload's file: %s", body)
		}
		wantSlots(t, slots, "b", "", "")
	}

	// A good update: into a, to boot once.
	n.must("PUT", "/v1/firmware", v110, 200, `"slot": "a"`, `"version": "1.1.0"`, `"product": "plinth-storage-node"`, `"kernel": "6.1.0-99-test"`, `"next_boot": "once"`)
	wantSlots(t, slots, "b", "a", "")
	body = n.must("GET", "/v1/firmware", "", 200)
	if err := json.Unmarshal([]byte(body), &st); err != nil || st.Booted != "b" || !st.Slots[0].NextOnce || st.Slots[0].Version != "1.1.0" {
		t.Fatalf("status after the update: %+v %v\n%s", st, err, body)
	}
	if left, _ := filepath.Glob(filepath.Join(n.srv.cfg.DataDir, uploadPattern)); len(left) != 0 {
		t.Fatalf("uploads left in the data directory: %v", left)
	}

	// The boot loader boots a once: while it is on trial, an update would
	// overwrite the running slot: 409.
	if c, err := slots.Boot(pub); err != nil || c.Slot != "a" || !c.Once {
		t.Fatalf("boot: %+v %v", c, err)
	}
	n.must("PUT", "/v1/firmware", v110, 409, `"SlotBusy"`, "being tried")
	body = n.must("GET", "/v1/firmware", "", 200)
	if err := json.Unmarshal([]byte(body), &st); err != nil || st.Booted != "a" || st.State.Tried != "a" {
		t.Fatalf("status on trial: %+v %v\n%s", st, err, body)
	}

	// One apply at a time.
	n.srv.firmware.applying.Lock()
	n.must("PUT", "/v1/firmware", v110, 409, `"SlotBusy"`, "another bundle is being applied")
	n.srv.firmware.applying.Unlock()

	// The journal: every apply with its outcome and who sent it.
	evs := n.events()
	kinds := map[string]int{}
	for _, e := range evs {
		kinds[e.Kind]++
		if !strings.HasPrefix(e.Actor, "api 127.0.0.1:") || e.Source != "firmware" {
			t.Errorf("event %+v: want the API client as actor, source firmware", e)
		}
	}
	if kinds["firmware-applied"] != 1 || kinds["firmware-refused"] != 7 {
		t.Fatalf("firmware events: %v\n%+v", kinds, evs)
	}
	for _, e := range evs {
		if e.Kind == "firmware-applied" && (e.Severity != events.Info || !strings.Contains(e.Detail, "1.1.0") || !strings.Contains(e.Detail, "slot a")) {
			t.Errorf("applied event: %+v", e)
		}
	}

	// Reboot: 202, then SIGTERM to init, journaled.
	n.must("POST", "/v1/firmware/reboot", "", 202, "reboots now")
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		got := append([]os.Signal(nil), signalled...)
		mu.Unlock()
		if len(got) == 1 && got[0] == syscall.SIGTERM {
			break
		}
		if len(got) > 1 || time.Now().After(deadline) {
			t.Fatalf("signals sent to init: %v", got)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if evs := n.events(); evs[len(evs)-1].Kind != "reboot-requested" {
		t.Fatalf("the last firmware event: %+v", evs[len(evs)-1])
	}
}

func wantSlots(t *testing.T, s *images.Slots, active, nextOnce, tried string) {
	t.Helper()
	st, err := s.Status()
	if err != nil {
		t.Fatal(err)
	}
	if st.State.Active != active || st.State.NextOnce != nextOnce || st.State.Tried != tried {
		t.Fatalf("slots %+v, want active %q next_once %q tried %q", st.State, active, nextOnce, tried)
	}
}

// TestFirmwareNotConfigured: without slots or without a key, PUT answers
// 503 saying how to configure them (and the refusal is journaled); the
// size limit is configured; GET needs the slots only; the reboot outside
// plinth init is 409 and signals nobody.
func TestFirmwareNotConfigured(t *testing.T) {
	slotsDir := t.TempDir()
	bundle := filepath.Join(t.TempDir(), "small.bundle")
	if err := os.WriteFile(bundle, bytes.Repeat([]byte("x"), 600), 0o644); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(t.TempDir(), "big.bundle")
	if err := os.WriteFile(big, bytes.Repeat([]byte("x"), 1001), 0o644); err != nil {
		t.Fatal(err)
	}
	var signalled atomic.Bool
	n := openFWNode(t, Config{Firmware: FirmwareConfig{Slots: slotsDir, MaxBundleSize: 1000}}, Options{
		SignalInit: func(os.Signal) error { signalled.Store(true); return nil },
	})
	n.must("PUT", "/v1/firmware", big, 413, "TooLarge", "at most 1000")
	n.must("PUT", "/v1/firmware", bundle, 503, "FirmwareNotConfigured", "--firmware-key", "/etc/plinth/firmware.pub")
	n.must("GET", "/v1/firmware", "", 200, `"booted": ""`, `"active": "a"`)
	n.must("POST", "/v1/firmware/reboot", "", 409, "NotUnderInit", "not running under plinth init: reboot the node yourself")
	if signalled.Load() {
		t.Fatal("init was signalled although serve does not run under it")
	}
	evs := n.events()
	if len(evs) != 1 || evs[0].Kind != "firmware-refused" || evs[0].Severity != events.Warning || !strings.Contains(evs[0].Detail, "--firmware-key") {
		t.Fatalf("events: %+v", evs)
	}

	// No slots at all.
	f, err := newFirmware(FirmwareConfig{}, t.TempDir(), Options{}, func(events.Event) {}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Apply(context.Background(), strings.NewReader("x"), "test"); !errors.Is(err, api.ErrFirmwareNotConfigured) || !strings.Contains(err.Error(), "--slots") {
		t.Fatalf("apply without slots: %v", err)
	}
	if _, err := f.Status(); !errors.Is(err, api.ErrFirmwareNotConfigured) {
		t.Fatalf("status without slots: %v", err)
	}
}

// TestFirmwareConfig: the configuration file's section, and what Open
// refuses: a key that does not load, slots that are not there, a /dev
// path that is no block device, a negative size.
func TestFirmwareConfig(t *testing.T) {
	dir := t.TempDir()
	c, err := LoadConfig(writeFile(t, `{"firmware": {"slots": "/run/plinth-slots", "public_key": "/etc/plinth/firmware.pub", "max_bundle_size": 5000}}`))
	if err != nil || c.Firmware.Slots != "/run/plinth-slots" || c.Firmware.PublicKey != "/etc/plinth/firmware.pub" || c.Firmware.MaxBundleSize != 5000 {
		t.Fatalf("%+v %v", c.Firmware, err)
	}
	if _, err := LoadConfig(writeFile(t, `{"firmware": {"max_bundle_size": -1}}`)); err == nil || !strings.Contains(err.Error(), "max_bundle_size") {
		t.Fatalf("negative size: %v", err)
	}
	if _, err := LoadConfig(writeFile(t, `{"firmware": {"slot": "/x"}}`)); err == nil || !strings.Contains(err.Error(), `unknown field "slot"`) {
		t.Fatalf("misspelt field: %v", err)
	}
	notAKey := filepath.Join(dir, "not.pub")
	os.WriteFile(notAKey, []byte("hello\n"), 0o644)
	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o644)
	discard := func(events.Event) {}
	log := slog.New(slog.DiscardHandler)
	for _, c := range []struct {
		cfg  FirmwareConfig
		want string
	}{
		{FirmwareConfig{PublicKey: notAKey}, "firmware public key"},
		{FirmwareConfig{PublicKey: filepath.Join(dir, "missing.pub")}, "no such file"},
		{FirmwareConfig{Slots: filepath.Join(dir, "missing")}, "no such file"},
		{FirmwareConfig{Slots: "/dev/plinth-no-such-slots"}, "not a block device"},
		{FirmwareConfig{Slots: file}, "neither"},
	} {
		if _, err := newFirmware(c.cfg, dir, Options{}, discard, log); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.cfg, err, c.want)
		}
	}
}

// TestUnderPlinthInit: a test binary is not run by plinth init (its parent
// is not PID 1, or PID 1 runs another program).
func TestUnderPlinthInit(t *testing.T) {
	err := underPlinthInit()
	if !errors.Is(err, api.ErrNotUnderInit) || !strings.Contains(err.Error(), "reboot the node yourself") {
		t.Fatalf("underPlinthInit in a test: %v", err)
	}
}
