package images_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/plinth-storage/plinth/images"
)

// TestBootQEMUUpdate proves a node with no shell is updated through its
// API: the bundle goes in with PUT /v1/firmware, the reboot is asked with
// POST /v1/firmware/reboot, and the new firmware boots, starts and is
// marked good.
//
//   - Two bundles signed with one key, 1.0.0 and 1.1.0, both holding the
//     public key as /etc/plinth/firmware.pub (so plinth init gives serve
//     --firmware-key, and --slots /run/plinth-slots). One plinth binary
//     serves both: the slots care about the manifest's version, and one
//     link less saves half a minute.
//   - 1.0.0 is applied on the host (slot b) and booted once, as in
//     TestBootQEMUSlots; init marks it good.
//   - PUT /v1/firmware of 1.1.0 through the forwarded port, with the
//     token: 200, slot a, next boot once; GET /v1/firmware shows b booted
//     and a to boot once; POST /v1/firmware/reboot: 202, serve signals
//     init, which stops serve cleanly and reboots (which ends QEMU:
//     -no-reboot).
//   - The slots partition read back says a boots once next; the guest's
//     copy of slot a is copied out and the host's Boot checks every file of
//     it and picks it (once); booted, init marks it good: a is active and
//     good after the power button.
//
// Skipped like TestBootQEMUSlots. Two boots, about a minute and a half
// under TCG after the build.
func TestBootQEMUUpdate(t *testing.T) {
	qemu, kernel, modulesDir, root := needSlotsQEMU(t, "update")
	work := keptWorkDir(t)
	pub, err := images.GenerateKey(filepath.Join(work, "release.key"), filepath.Join(work, "release.pub"))
	if err != nil {
		t.Fatal(err)
	}
	binary := filepath.Join(work, "plinth")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var progress bytes.Buffer
	if err := images.BuildBinary(ctx, root, binary, "update-test", 1700000000, images.DefaultArch, &progress); err != nil {
		t.Fatalf("building plinth: %v\n%s", err, progress.String())
	}
	v100 := buildUpdateBundle(t, work, binary, kernel, modulesDir, "1.0.0")
	v110 := buildUpdateBundle(t, work, binary, kernel, modulesDir, "1.1.0")

	rig := newSlotsRig(t, qemu, work, "update")
	slots, dir, image, bootSlot := rig.slots, rig.dir, rig.image, rig.boot

	// 1.0.0 in slot b, booted once and marked good by init.
	if in, err := slots.Apply(v100, pub, images.DefaultProduct); err != nil || in.Slot != images.SlotB {
		t.Fatalf("apply 1.0.0: %+v %v", in, err)
	}
	c, err := slots.Boot(pub)
	if err != nil || c.Slot != images.SlotB || !c.Once {
		t.Fatalf("boot: %+v %v", c, err)
	}
	start := time.Now()
	first := bootSlot("update-1", c)
	first.waitLog(regexp.MustCompile(`plinth init: \[ *[0-9.]+\] serve is up: firmware slot b \(on trial\) marked good and made active`), bootTimeout)
	first.waitServing()
	t.Logf("update-1: serving %s after the boot began", time.Since(start).Round(time.Second))
	first.assertLog(`plinth init: \[ *[0-9.]+\] starting serve: serve --data /var/lib/plinth --config /etc/plinth/config.json --slots /run/plinth-slots --firmware-key /etc/plinth/firmware.pub --drive /dev/vda --drive /dev/vdb`)

	// The update, through the API.
	bundle, err := os.ReadFile(v110)
	if err != nil {
		t.Fatal(err)
	}
	var installed struct {
		Slot, Product, Version, Kernel string
		NextBoot                       string `json:"next_boot"`
	}
	start = time.Now()
	body := first.api.must(t, "PUT", "/v1/firmware", bundle, http.StatusOK)
	t.Logf("update-1: PUT /v1/firmware of %d bytes (received, verified, installed): %s", len(bundle), time.Since(start).Round(time.Second))
	if err := json.Unmarshal(body, &installed); err != nil || installed.Slot != images.SlotA || installed.Version != "1.1.0" || installed.NextBoot != "once" || installed.Product != images.DefaultProduct {
		t.Fatalf("PUT /v1/firmware: %s %v", body, err)
	}
	var status struct {
		Booted string           `json:"booted"`
		State  images.SlotState `json:"state"`
		Slots  []images.SlotInfo
	}
	body = first.api.must(t, "GET", "/v1/firmware", nil, http.StatusOK)
	if err := json.Unmarshal(body, &status); err != nil || status.Booted != images.SlotB || status.State.NextOnce != images.SlotA ||
		status.State.Active != images.SlotB || !status.Slots[0].NextOnce || status.Slots[0].Version != "1.1.0" || status.Slots[1].Version != "1.0.0" {
		t.Fatalf("GET /v1/firmware after the update: %s %v", body, err)
	}
	start = time.Now()
	first.api.must(t, "POST", "/v1/firmware/reboot", nil, http.StatusAccepted)
	first.waitExit(shutdownTimeout)
	t.Logf("update-1: rebooted %s after POST /v1/firmware/reboot", time.Since(start).Round(time.Second))
	first.assertLog(
		`(?m)^serve: .*msg="firmware applied" slot=a version=1\.1\.0`,
		`(?m)^serve: .*msg="reboot requested through the API: signalling plinth init"`,
		`plinth init: \[ *[0-9.]+\] terminated: shutting down to reboot`,
		`plinth init: \[ *[0-9.]+\] serve stopped cleanly`,
		`plinth init: \[ *[0-9.]+\] unmounted the firmware slots /dev/vdc from /run/plinth-slots`,
		`plinth init: \[ *[0-9.]+\] rebooting`,
	)
	st := readSlotsState(t, image, dir)
	if st.Active != images.SlotB || st.NextOnce != images.SlotA || st.Tried != "" || !st.Good[images.SlotB] || st.Good[images.SlotA] {
		t.Fatalf("the state after the update through the API: %+v", st)
	}

	// The boot loader: slot a as the guest wrote it, checked file by file.
	copySlotOut(t, image, dir, images.SlotA)
	if c, err = slots.Boot(pub); err != nil || c.Slot != images.SlotA || !c.Once || c.Manifest.Version != "1.1.0" || len(c.Refused) != 0 {
		t.Fatalf("the boot after the update: %+v %v", c, err)
	}
	start = time.Now()
	second := bootSlot("update-2", c)
	second.waitLog(regexp.MustCompile(`plinth init: \[ *[0-9.]+\] serve is up: firmware slot a \(on trial\) marked good and made active`), bootTimeout)
	t.Logf("update-2: slot a marked good %s after the boot began", time.Since(start).Round(time.Second))
	second.assertLog(`plinth init: \[ *[0-9.]+\] node [0-9a-f-]{36}: serving 2 drives: /dev/vda /dev/vdb`)
	second.waitServing()
	body = second.api.must(t, "GET", "/v1/firmware", nil, http.StatusOK)
	status.Slots = nil
	if err := json.Unmarshal(body, &status); err != nil || status.Booted != images.SlotA || status.State.Active != images.SlotA ||
		!status.State.Good[images.SlotA] || status.Slots[0].Version != "1.1.0" {
		t.Fatalf("GET /v1/firmware after booting the update: %s %v", body, err)
	}
	second.powerButton()
	second.waitExit(shutdownTimeout)
	st = readSlotsState(t, image, dir)
	if st.Active != images.SlotA || !st.Good[images.SlotA] || st.Tried != "" || st.NextOnce != "" {
		t.Fatalf("the state after booting the update: %+v", st)
	}
}

// buildUpdateBundle builds a bundle of a version around a prebuilt plinth:
// the kernel, the default modules and the checksum modules the boot test
// loads, serve listening on the guest port, the API token, and the
// release's public key as /etc/plinth/firmware.pub, signed with the
// release key (WORK/release.key).
func buildUpdateBundle(t *testing.T, work, binary, kernel, modulesDir, version string) string {
	t.Helper()
	key, err := images.LoadPrivateKey(filepath.Join(work, "release.key"))
	if err != nil {
		t.Fatal(err)
	}
	configFile := filepath.Join(work, "update-config.json")
	token := filepath.Join(work, "token")
	if err := os.WriteFile(configFile, fmt.Appendf(nil, "{\"listen\": \"0.0.0.0:%d\"}\n", guestPort), 0o644); err != nil {
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
	bundle := filepath.Join(work, "update-"+version+".bundle")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var progress bytes.Buffer
	if _, err := images.Build(ctx, images.BuildOptions{
		Binary:     binary,
		Kernel:     kernel,
		ModulesDir: modulesDir,
		Modules:    modules,
		Files: []images.File{
			{Src: configFile, Dst: "/etc/plinth/config.json", Mode: 0o644},
			{Src: token, Dst: "/etc/plinth/token", Mode: 0o600},
			{Src: filepath.Join(work, "release.pub"), Dst: "/etc/plinth/firmware.pub", Mode: 0o644},
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

// copySlotOut copies a slot the guest installed from the slots partition's
// image into the slots directory (which the next image is made from).
func copySlotOut(t *testing.T, image, dir, slot string) {
	t.Helper()
	if err := os.RemoveAll(filepath.Join(dir, slot)); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("debugfs", "-R", "rdump /"+slot+" "+dir, image).CombinedOutput()
	if err != nil {
		t.Fatalf("debugfs rdump /%s: %v\n%s", slot, err, out)
	}
	for _, name := range []string{images.SlotManifest, images.SlotSignature, images.SlotKernel, images.SlotInitramfs} {
		if _, err := os.Stat(filepath.Join(dir, slot, name)); err != nil {
			t.Fatalf("slot %s copied out of the image: %v\n%s", slot, err, out)
		}
	}
}
