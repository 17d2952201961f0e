package images_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/plinth-storage/plinth/images"
)

// TestBootQEMUSlots proves the A/B flow end to end: the boot loader's part
// runs on the host (Slots.Boot over a slots directory), plinth init's part
// in the guest, on the slots partition (an ext4 image of that directory,
// attached as a third virtio disk: plinth.slots=/dev/vdc).
//
//   - Two bundles: 1.0.0, good (the power-cut scenario's image without the
//     conformance test binary, and with scsi_debug shipped but not loaded,
//     as by default), and 1.1.0, whose serve can never start (its
//     configuration listens on port 99999).
//   - 1.0.0 is applied (slot b) and booted once with plinth.drives=auto;
//     init mounts the partition, leaves its disk out of the drives (an ext4
//     signature would otherwise stop the format), formats the two data
//     disks, serve starts, and init marks slot b good: read back from the
//     image after the power button, b is active and good and the
//     filesystem is clean (init unmounted it).
//   - 1.1.0 is applied (slot a) and booted once; serve fails again and
//     again, init marks nothing good; after the power button, the boot
//     loader's next Boot rolls back to b (RolledBack "a"), whose files
//     verify.
//
// Skipped like TestBootQEMU, and without mkfs.ext4, debugfs or e2fsck
// (e2fsprogs). Two boots: about two minutes under TCG, after the builds.
func TestBootQEMUSlots(t *testing.T) {
	qemu, kernel, modulesDir, root := needSlotsQEMU(t, "slots")
	work := keptWorkDir(t)
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	good := buildSlotsBundle(t, work, root, kernel, modulesDir, priv, "1.0.0", fmt.Sprintf(`{"listen": "0.0.0.0:%d"}`, guestPort))
	bad := buildSlotsBundle(t, work, root, kernel, modulesDir, priv, "1.1.0", `{"listen": "0.0.0.0:99999"}`)

	// plinth.drives=auto (the default): every disk but the slots' one.
	rig := newSlotsRig(t, qemu, work, "slots")
	slots, dir, image, bootSlot := rig.slots, rig.dir, rig.image, rig.boot

	// The first install, into b: booted once, marked good by init.
	if in, err := slots.Apply(good, pub, images.DefaultProduct); err != nil || in.Slot != images.SlotB {
		t.Fatalf("apply 1.0.0: %+v %v", in, err)
	}
	c, err := slots.Boot(pub)
	if err != nil || c.Slot != images.SlotB || !c.Once {
		t.Fatalf("boot: %+v %v", c, err)
	}
	first := bootSlot("slots-1", c)
	first.waitLog(regexp.MustCompile(`plinth init: \[ *[0-9.]+\] serve is up: firmware slot b \(on trial\) marked good and made active, in /run/plinth-slots`), bootTimeout)
	first.assertLog(
		`plinth init: \[ *[0-9.]+\] parameters: format=blank drives=auto .* slots=/dev/vdc`,
		`plinth init: \[ *[0-9.]+\] drive vdc: .*refused: signature: ext4`,
		`plinth init: \[ *[0-9.]+\] loaded ext4`,
		`plinth init: \[ *[0-9.]+\] firmware slots: mounted /dev/vdc \(ext4\) on /run/plinth-slots`,
		`plinth init: \[ *[0-9.]+\] not using /dev/vdc: it holds the firmware slots \(plinth.slots=/dev/vdc\)`,
		`plinth init: \[ *[0-9.]+\] all 2 drives are blank and plinth.format=blank: formatting them into a new node: /dev/vda /dev/vdb`,
		`plinth init: \[ *[0-9.]+\] formatted node [0-9a-f-]{36} on 2 drives`,
	)
	first.powerButton()
	first.waitExit(shutdownTimeout)
	first.assertLog(
		`plinth init: \[ *[0-9.]+\] serve stopped cleanly`,
		`plinth init: \[ *[0-9.]+\] unmounted the firmware slots /dev/vdc from /run/plinth-slots`,
		`plinth init: \[ *[0-9.]+\] powering off`,
	)
	st := readSlotsState(t, image, dir)
	if st.Active != images.SlotB || !st.Good[images.SlotB] || st.Tried != "" || st.NextOnce != "" {
		t.Fatalf("the state init left on the slots partition: %+v", st)
	}

	// An update whose serve never starts, into a: booted once, never
	// marked good; the next boot goes back to b.
	if in, err := slots.Apply(bad, pub, ""); err != nil || in.Slot != images.SlotA {
		t.Fatalf("apply 1.1.0: %+v %v", in, err)
	}
	if c, err = slots.Boot(pub); err != nil || c.Slot != images.SlotA || !c.Once || c.Manifest.Version != "1.1.0" {
		t.Fatalf("boot: %+v %v", c, err)
	}
	second := bootSlot("slots-2", c)
	second.waitLog(regexp.MustCompile(`plinth init: \[ *[0-9.]+\] restarting serve in 2s`), bootTimeout)
	second.assertLog(
		`plinth init: \[ *[0-9.]+\] firmware slots: mounted /dev/vdc \(ext4\) on /run/plinth-slots`,
		`plinth init: \[ *[0-9.]+\] node [0-9a-f-]{36}: serving 2 drives: /dev/vda /dev/vdb`,
		`(?m)^serve: .*listen on 0\.0\.0\.0:99999`,
		`plinth init: \[ *[0-9.]+\] serve exited unexpectedly: exit 1`,
	)
	second.powerButton()
	second.waitExit(shutdownTimeout)
	second.assertLog(
		`plinth init: \[ *[0-9.]+\] unmounted the firmware slots /dev/vdc from /run/plinth-slots`,
		`plinth init: \[ *[0-9.]+\] powering off`,
	)
	if log := second.log(); strings.Contains(log, "marked good") || strings.Contains(log, "serving (pid") {
		t.Errorf("the update that cannot serve was marked good, or served")
	}
	if st := readSlotsState(t, image, dir); st.Active != images.SlotB || st.Tried != images.SlotA || st.Good[images.SlotA] {
		t.Fatalf("the state after the failed trial: %+v", st)
	}
	c, err = slots.Boot(pub)
	if err != nil || c.Slot != images.SlotB || c.RolledBack != images.SlotA || c.Once || len(c.Refused) != 0 || c.Manifest.Version != "1.0.0" {
		t.Fatalf("the boot after the failed trial: %+v %v", c, err)
	}
	status, err := slots.Status()
	if err != nil {
		t.Fatal(err)
	}
	if s := status.State; s.Active != images.SlotB || s.Tried != "" || s.LastFailed != images.SlotA || !s.Good[images.SlotB] || s.Good[images.SlotA] {
		t.Fatalf("the state after the rollback: %+v", s)
	}
}

// buildSlotsBundle builds a bundle of a version whose serve has the given
// configuration: plinth from the source tree, the kernel, the default
// modules (scsi_debug not loaded: its RAM disks would be drives) and the
// checksum modules the boot test loads, the API token.
func buildSlotsBundle(t *testing.T, work, root, kernel, modulesDir string, key ed25519.PrivateKey, version, config string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	configFile := filepath.Join(work, "config-"+version+".json")
	token := filepath.Join(work, "token")
	if err := os.WriteFile(configFile, []byte(config+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(token, []byte(bootToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	modules := []images.ModuleSpec{
		{Name: "crc64_rocksoft_generic", Optional: true},
		{Name: "crct10dif_generic", Optional: true},
	}
	modules = append(modules, images.DefaultModules()...)
	bundle := filepath.Join(work, "slots-"+version+".bundle")
	var progress bytes.Buffer
	if _, err := images.Build(ctx, images.BuildOptions{
		Source:     root,
		Kernel:     kernel,
		ModulesDir: modulesDir,
		Modules:    modules,
		Files: []images.File{
			{Src: configFile, Dst: "/etc/plinth/config.json", Mode: 0o644},
			{Src: token, Dst: "/etc/plinth/token", Mode: 0o600},
		},
		Product:         images.DefaultProduct,
		Version:         version,
		MinUpdateFrom:   "1.0.0",
		SourceDateEpoch: 1700000000,
		Key:             key,
		Output:          bundle,
		Progress:        &progress,
	}); err != nil {
		t.Fatalf("building bundle %s: %v\n%s", version, err, progress.String())
	}
	return bundle
}

// needSlotsQEMU skips t unless QEMU, e2fsprogs, a kernel with its modules
// and the plinth source tree are here (what, the test's name, goes into
// the reasons), and returns them.
func needSlotsQEMU(t *testing.T, what string) (qemu, kernel, modulesDir, root string) {
	t.Helper()
	if testing.Short() {
		t.Skipf("-short: the QEMU %s test builds firmware images and boots them, which takes minutes", what)
	}
	qemu, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		t.Skipf("no qemu-system-x86_64 (apt-get install qemu-system-x86): the %s test boots the firmware image in it", what)
	}
	for _, tool := range []string{"mkfs.ext4", "debugfs", "e2fsck"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s (apt-get install e2fsprogs): the %s test makes the slots partition's ext4 image and reads it back", tool, what)
		}
	}
	kernel, modulesDir, ok := findKernel()
	if !ok {
		t.Skipf("no /boot/vmlinuz-VER with /lib/modules/VER/modules.dep (apt-get install linux-image-amd64): the %s test needs a kernel and its modules", what)
	}
	root = images.FindModuleRoot(".")
	if root == "" {
		t.Skipf("not run from the plinth source tree: the %s test builds plinth from it", what)
	}
	return qemu, kernel, modulesDir, root
}

// slotsRig is a slots directory on the host (the boot loader's copy), its
// ext4 image attached as the third virtio disk (/dev/vdc) and two data
// disks: boot boots the slot the boot loader chose, with
// plinth.format=blank plinth.slots=/dev/vdc and the drives auto.
type slotsRig struct {
	t                      *testing.T
	qemu, work, dir, image string
	slots                  *images.Slots
	disks                  []string
	accel                  []string
}

func newSlotsRig(t *testing.T, qemu, work, prefix string) *slotsRig {
	t.Helper()
	r := &slotsRig{t: t, qemu: qemu, work: work, dir: filepath.Join(work, "slots"), image: filepath.Join(work, "slots.img")}
	var err error
	if r.slots, err = images.OpenSlots(r.dir); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"v0", "v1"} {
		disk := filepath.Join(work, prefix+"-"+v+".img")
		sparseFile(t, disk, 16<<30)
		r.disks = append(r.disks, virtioDisk(v, disk)...)
	}
	return r
}

// boot boots what the boot loader chose, from the slots partition made
// from the slots directory as it is now.
func (r *slotsRig) boot(name string, c images.BootChoice) *vm {
	r.t.Helper()
	env := &bootEnv{qemu: r.qemu, work: r.work, kernel: filepath.Join(r.dir, c.Slot, images.SlotKernel), initrd: filepath.Join(r.dir, c.Slot, images.SlotInitramfs)}
	if r.accel == nil {
		r.accel = chooseAccel(r.t, r.qemu, env.kernel, r.work)
	}
	env.accel = r.accel
	makeSlotsImage(r.t, r.dir, r.image)
	drives := append(append([]string(nil), r.disks...), virtioDisk("slots", r.image)...)
	return bootVM(r.t, env, name, "plinth.format=blank plinth.slots=/dev/vdc", drives)
}

// makeSlotsImage makes the slots partition from the slots directory, which
// stays the authoritative copy on the host: an ext4 image holding it.
func makeSlotsImage(t *testing.T, dir, image string) {
	t.Helper()
	os.Remove(image)
	if out, err := exec.Command("mkfs.ext4", "-q", "-L", "plinth-slots", "-d", dir, image, "64M").CombinedOutput(); err != nil {
		t.Fatalf("mkfs.ext4 -d %s: %v\n%s", dir, err, out)
	}
}

// readSlotsState checks that the guest left the slots partition clean
// (init unmounted it), then copies its state.json back into the slots
// directory and returns it.
func readSlotsState(t *testing.T, image, dir string) images.SlotState {
	t.Helper()
	if out, err := exec.Command("e2fsck", "-fn", image).CombinedOutput(); err != nil {
		t.Fatalf("the slots partition is not clean after the guest stopped (e2fsck -fn: %v):\n%s", err, out)
	}
	data, err := exec.Command("debugfs", "-R", "cat /state.json", image).Output()
	if err != nil {
		t.Fatalf("debugfs cat /state.json: %v", err)
	}
	var st images.SlotState
	if err := json.Unmarshal(data, &st); err != nil {
		t.Fatalf("state.json on the slots partition: %v\n%s", err, data)
	}
	store, err := images.NewDirStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.WriteState(data); err != nil {
		t.Fatal(err)
	}
	return st
}
