package images

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

var slotPub = testKey(1).Public().(ed25519.PublicKey)

// versionBundle builds a bundle of a version (and min_update_from).
func versionBundle(t *testing.T, version, minFrom string) string {
	t.Helper()
	_, b := buildTest(t, func(o *BuildOptions) { o.Version, o.MinUpdateFrom = version, minFrom })
	return b
}

func wantState(t *testing.T, s *Slots, active, nextOnce, tried string, good ...string) {
	t.Helper()
	st, err := s.Status()
	if err != nil {
		t.Fatal(err)
	}
	var g []string
	for slot, ok := range st.State.Good {
		if ok {
			g = append(g, slot)
		}
	}
	sort.Strings(g)
	if st.State.Active != active || st.State.NextOnce != nextOnce || st.State.Tried != tried || strings.Join(g, ",") != strings.Join(good, ",") {
		t.Fatalf("state %+v, want active %q next_once %q tried %q good %q", st.State, active, nextOnce, tried, good)
	}
}

func boot(t *testing.T, s *Slots, want string) BootChoice {
	t.Helper()
	c, err := s.Boot(slotPub)
	if err != nil {
		t.Fatalf("Boot: %v", err)
	}
	if c.Slot != want {
		t.Fatalf("Boot chose slot %s, want %s (%+v)", c.Slot, want, c)
	}
	return c
}

func TestSlotsApplyBootMarkGoodRollback(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenSlots(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Boot(slotPub); !errors.Is(err, ErrNoFirmware) {
		t.Fatalf("Boot of empty slots: %v", err)
	}
	if _, _, err := s.MarkGood(); !errors.Is(err, ErrNoFirmware) {
		t.Fatalf("MarkGood of empty slots: %v", err)
	}

	// First install: into b (a is active, empty); boots once; marked good.
	v1 := versionBundle(t, "1.0.0", "0.0.0")
	in, err := s.Apply(v1, slotPub, "")
	if err != nil {
		t.Fatal(err)
	}
	if in.Slot != SlotB || in.Manifest.Version != "1.0.0" {
		t.Fatalf("Apply: %+v", in)
	}
	wantState(t, s, SlotA, SlotB, "")
	for _, name := range []string{SlotManifest, SlotSignature, SlotKernel, SlotInitramfs} {
		if _, err := os.Stat(filepath.Join(dir, "b", name)); err != nil {
			t.Fatalf("slot b: %v", err)
		}
	}
	c := boot(t, s, SlotB)
	if !c.Once || c.Manifest.Version != "1.0.0" || c.Manifest.Kernel.Cmdline != DefaultCmdline {
		t.Fatalf("boot once: %+v", c)
	}
	wantState(t, s, SlotA, "", SlotB)
	active, promoted, err := s.MarkGood()
	if err != nil || active != SlotB || !promoted {
		t.Fatalf("MarkGood: %s %v %v", active, promoted, err)
	}
	wantState(t, s, SlotB, "", "", SlotB)
	stateBefore, _ := os.Stat(filepath.Join(dir, "state.json"))
	boot(t, s, SlotB) // normal boots: the active slot, and no state write
	if stateAfter, _ := os.Stat(filepath.Join(dir, "state.json")); !os.SameFile(stateBefore, stateAfter) {
		t.Error("a normal boot rewrote the state")
	}
	if active, promoted, err := s.MarkGood(); err != nil || active != SlotB || promoted {
		t.Fatalf("MarkGood again: %s %v %v", active, promoted, err)
	}

	// An update into a, booted once, never marked good: the next boot goes
	// back to b, and keeps doing so.
	v2 := versionBundle(t, "1.1.0", "1.0.0")
	if in, err := s.Apply(v2, slotPub, ""); err != nil || in.Slot != SlotA {
		t.Fatalf("Apply v2: %+v %v", in, err)
	}
	boot(t, s, SlotA)
	// While a is being tried, nothing may be written into it.
	if _, err := s.Apply(v2, slotPub, ""); !errors.Is(err, ErrSlotBusy) || !strings.Contains(err.Error(), "mark-good") {
		t.Fatalf("Apply during a trial: %v", err)
	}
	c = boot(t, s, SlotB) // the trial boot failed (no MarkGood): rollback
	if c.RolledBack != SlotA || c.Once {
		t.Fatalf("rollback boot: %+v", c)
	}
	wantState(t, s, SlotB, "", "", SlotB)
	st, _ := s.Status()
	if st.State.LastFailed != SlotA {
		t.Fatalf("last_failed %q", st.State.LastFailed)
	}
	if c := boot(t, s, SlotB); c.RolledBack != "" {
		t.Fatalf("rolled back twice: %+v", c)
	}
	if active, promoted, _ := s.MarkGood(); active != SlotB || promoted {
		t.Fatal("MarkGood after a rollback promoted the failed slot")
	}

	// Applied again, it works this time.
	if _, err := s.Apply(v2, slotPub, ""); err != nil {
		t.Fatal(err)
	}
	boot(t, s, SlotA)
	if active, promoted, _ := s.MarkGood(); active != SlotA || !promoted {
		t.Fatal("the second trial was not promoted")
	}
	wantState(t, s, SlotA, "", "", SlotA, SlotB)
	st, _ = s.Status()
	if st.State.LastFailed != "" || !st.Slots[0].Installed || st.Slots[0].Version != "1.1.0" || st.Slots[1].Version != "1.0.0" {
		t.Fatalf("status %+v", st)
	}

	// Applied but not booted yet, then applied again: the pending install
	// is replaced.
	v3 := versionBundle(t, "1.2.0", "1.0.0")
	if _, err := s.Apply(v3, slotPub, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Apply(v3, slotPub, ""); err != nil {
		t.Fatal(err)
	}
	wantState(t, s, SlotA, SlotB, "", SlotA)
	if c := boot(t, s, SlotB); c.Manifest.Version != "1.2.0" {
		t.Fatalf("booted %s", c.Manifest.Version)
	}
}

// snapshot is a directory's files and their contents.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		if d.Type().IsRegular() && d.Name() != "lock" {
			data, _ := os.ReadFile(p)
			out[p] = string(data)
		}
		return nil
	})
	return out
}

func TestSlotsRefuse(t *testing.T) {
	dir := t.TempDir()
	s, _ := OpenSlots(dir)
	v12 := versionBundle(t, "1.2.0", "1.0.0")
	if _, err := s.Apply(v12, slotPub, ""); err != nil {
		t.Fatal(err)
	}
	boot(t, s, SlotB)
	s.MarkGood()
	before := snapshot(t, dir)

	_, bundle := buildTest(t, nil)
	_, _, kernelOff, _ := bundleOffsets(t, bundle)
	other := testKey(3)
	for _, c := range []struct {
		name    string
		bundle  string
		pub     ed25519.PublicKey
		product string
		is      error
	}{
		{"corrupt bundle", flipped(t, bundle, kernelOff+10), slotPub, "", ErrHash},
		{"another key", bundle, other.Public().(ed25519.PublicKey), "", ErrSignature},
		{"downgrade", versionBundle(t, "1.1.0", "1.0.0"), slotPub, "", ErrDowngrade},
		{"too old to update from", versionBundle(t, "2.0.0", "1.5.0"), slotPub, "", ErrIncompatible},
		{"another product than the active slot's", func() string {
			_, b := buildTest(t, func(o *BuildOptions) { o.Product = "plinth-gateway" })
			return b
		}(), slotPub, "", ErrIncompatible},
		{"another product than asked", bundle, slotPub, "plinth-gateway", ErrIncompatible},
		{"missing bundle", filepath.Join(dir, "nope"), slotPub, "", fs.ErrNotExist},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := s.Apply(c.bundle, c.pub, c.product); !errors.Is(err, c.is) {
				t.Fatalf("Apply: %v, want %v", err, c.is)
			}
			after := snapshot(t, dir)
			if fmt.Sprint(after) != fmt.Sprint(before) {
				t.Fatal("a refused Apply changed the slots")
			}
		})
	}
	wantState(t, s, SlotB, "", "", SlotB)
	boot(t, s, SlotB)
}

func TestSlotsPowerCut(t *testing.T) {
	dir := t.TempDir()
	s, _ := OpenSlots(dir)
	v1 := versionBundle(t, "1.0.0", "0.0.0")
	if _, err := s.Apply(v1, slotPub, ""); err != nil {
		t.Fatal(err)
	}
	boot(t, s, SlotB)
	s.MarkGood()

	// A cut during an install into a and during a state write: the new slot
	// half written, the old one half renamed, a torn temporary state.
	writeTestFile(t, filepath.Join(dir, "a.new", SlotKernel), []byte("half a kern"), 0o644)
	writeTestFile(t, filepath.Join(dir, "a.old", SlotKernel), []byte("the old one"), 0o644)
	writeTestFile(t, filepath.Join(dir, "state.json.tmp"), []byte(`{"active": "a", "next_o`), 0o644)
	wantState(t, s, SlotB, "", "", SlotB)
	if c := boot(t, s, SlotB); c.Manifest.Version != "1.0.0" {
		t.Fatalf("booted %+v", c)
	}
	st, _ := s.Status()
	if st.Slots[0].Installed {
		t.Fatal("a half-installed slot counts as installed")
	}
	// The next install cleans up and works.
	v2 := versionBundle(t, "1.1.0", "1.0.0")
	if _, err := s.Apply(v2, slotPub, ""); err != nil {
		t.Fatal(err)
	}
	for _, left := range []string{"a.new", "a.old", "b.new", "b.old"} {
		if _, err := os.Stat(filepath.Join(dir, left)); err == nil {
			t.Errorf("%s left behind", left)
		}
	}
	boot(t, s, SlotA)

	// A store failing in the middle of an install: the apply fails and the
	// slot it was writing is not booted; the active one is.
	s2 := NewSlots(&failingStore{DirStore: mustDirStore(t, dir), failOn: SlotInitramfs})
	if _, _, err := s2.MarkGood(); err != nil {
		t.Fatal(err)
	}
	v3 := versionBundle(t, "1.2.0", "1.0.0")
	if _, err := s2.Apply(v3, slotPub, ""); err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("Apply on a failing store: %v", err)
	}
	wantState(t, s, SlotA, "", "", SlotA)
	if c := boot(t, s, SlotA); c.Manifest.Version != "1.1.0" {
		t.Fatalf("booted %+v", c)
	}
	if st, _ := s.Status(); st.Slots[1].Installed && st.Slots[1].Version != "1.0.0" {
		t.Fatalf("slot b after the failed install: %+v", st.Slots[1])
	}
}

func mustDirStore(t *testing.T, dir string) *DirStore {
	d, err := NewDirStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// failingStore fails writing one file of an install.
type failingStore struct {
	*DirStore
	failOn string
}

func (f *failingStore) BeginInstall(slot string) (SlotInstall, error) {
	in, err := f.DirStore.BeginInstall(slot)
	if err != nil {
		return nil, err
	}
	return &failingInstall{SlotInstall: in, failOn: f.failOn}, nil
}

type failingInstall struct {
	SlotInstall
	failOn string
}

func (f *failingInstall) Create(name string) (io.WriteCloser, error) {
	w, err := f.SlotInstall.Create(name)
	if err != nil || name != f.failOn {
		return w, err
	}
	return &failingWriter{w: w}, nil
}

type failingWriter struct {
	w io.WriteCloser
	n int
}

func (f *failingWriter) Write(p []byte) (int, error) {
	if f.n += len(p); f.n > 1000 {
		return 0, errors.New("disk on fire")
	}
	return f.w.Write(p)
}

func (f *failingWriter) Close() error { return f.w.Close() }

func TestSlotsBadState(t *testing.T) {
	dir := t.TempDir()
	s, _ := OpenSlots(dir)
	for _, bad := range []string{`{"active": "c"}`, `{"active": "a", "next_once": "a"}`, `{"active": "a", "tried": "a"}`, `not json`, `{"active": "a", "good": {"z": true}}`} {
		writeTestFile(t, filepath.Join(dir, "state.json"), []byte(bad), 0o644)
		if _, err := s.Boot(slotPub); !errors.Is(err, ErrFormat) {
			t.Errorf("state %s: Boot: %v", bad, err)
		}
		if _, err := s.Status(); !errors.Is(err, ErrFormat) {
			t.Errorf("state %s: Status: %v", bad, err)
		}
	}
	if _, err := mustDirStore(t, dir).Open("c", SlotKernel); err == nil {
		t.Error("opened slot c")
	}
}

// flipByte changes one byte of a file in place, at off from its start
// (from its end when off is negative).
func flipByte(t *testing.T, path string, off int64) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if off < 0 {
		off += int64(len(data))
	}
	data[off] ^= 0x40
	writeTestFile(t, path, data, 0o644)
}

// twoGoodSlots returns slots where a (1.1.0) is active and good and b
// (1.0.0) is good too: the state after a successful update.
func twoGoodSlots(t *testing.T) (*Slots, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := OpenSlots(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []struct{ version, slot string }{{"1.0.0", SlotB}, {"1.1.0", SlotA}} {
		if _, err := s.Apply(versionBundle(t, v.version, "1.0.0"), slotPub, ""); err != nil {
			t.Fatal(err)
		}
		boot(t, s, v.slot)
		if _, _, err := s.MarkGood(); err != nil {
			t.Fatal(err)
		}
	}
	wantState(t, s, SlotA, "", "", SlotA, SlotB)
	return s, dir
}

func lastFailed(t *testing.T, s *Slots) (slot, reason string) {
	t.Helper()
	st, err := s.Status()
	if err != nil {
		t.Fatal(err)
	}
	return st.State.LastFailed, st.State.LastFailedReason
}

// A slot to boot once whose files do not verify is not booted: the active
// slot is, and the state and the choice say why.
func TestSlotsBootRefusesDamagedTrial(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, slotDir string)
		is     error
		says   string
	}{
		{"a flipped byte in the kernel", func(t *testing.T, d string) { flipByte(t, filepath.Join(d, SlotKernel), 5000) }, ErrHash, "the kernel's sha256"},
		{"a flipped byte in the initramfs", func(t *testing.T, d string) { flipByte(t, filepath.Join(d, SlotInitramfs), -100) }, ErrHash, "initramfs"},
		{"a truncated kernel", func(t *testing.T, d string) { os.Truncate(filepath.Join(d, SlotKernel), 100) }, ErrHash, "the kernel is 100 bytes"},
		{"an edited manifest", func(t *testing.T, d string) {
			p := filepath.Join(d, SlotManifest)
			data, _ := os.ReadFile(p)
			writeTestFile(t, p, []byte(strings.Replace(string(data), `"1.2.0"`, `"9.2.0"`, 1)), 0o644)
		}, ErrSignature, "signed with another key"},
		{"a short signature", func(t *testing.T, d string) { os.Truncate(filepath.Join(d, SlotSignature), 10) }, ErrFormat, "manifest.sig is 10 bytes"},
		{"a missing kernel", func(t *testing.T, d string) { os.Remove(filepath.Join(d, SlotKernel)) }, fs.ErrNotExist, "its kernel"},
		{"no manifest", func(t *testing.T, d string) { os.Remove(filepath.Join(d, SlotManifest)) }, errSlotEmpty, "slot a: it is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s, _ := OpenSlots(dir)
			if _, err := s.Apply(versionBundle(t, "1.0.0", "0.0.0"), slotPub, ""); err != nil {
				t.Fatal(err)
			}
			boot(t, s, SlotB)
			s.MarkGood()
			if in, err := s.Apply(versionBundle(t, "1.2.0", "1.0.0"), slotPub, ""); err != nil || in.Slot != SlotA {
				t.Fatalf("apply: %+v %v", in, err)
			}
			// Slot b is active now; a is to be tried. Damage a.
			tc.damage(t, filepath.Join(dir, SlotA))
			c := boot(t, s, SlotB)
			if c.Once || c.RolledBack != "" || c.FellBack != "" || c.Manifest.Version != "1.0.0" {
				t.Fatalf("choice %+v", c)
			}
			if len(c.Refused) != 1 || c.Refused[0].Slot != SlotA || !errors.Is(c.Refused[0].Err, tc.is) ||
				!strings.Contains(c.Refused[0].Err.Error(), "slot a: ") {
				t.Fatalf("refused %+v, want slot a: %v", c.Refused, tc.is)
			}
			wantState(t, s, SlotB, "", "", SlotB)
			if slot, reason := lastFailed(t, s); slot != SlotA || reason != c.Refused[0].Err.Error() {
				t.Fatalf("last failed %q %q", slot, reason)
			}
			// The next boot is a normal one; the trial is not repeated.
			if c := boot(t, s, SlotB); len(c.Refused) != 0 || c.Once {
				t.Fatalf("second boot %+v", c)
			}
			// MarkGood does not promote the refused slot.
			if active, promoted, err := s.MarkGood(); active != SlotB || promoted || err != nil {
				t.Fatalf("MarkGood: %s %v %v", active, promoted, err)
			}
			if !strings.Contains(c.Refused[0].Err.Error(), tc.says) {
				t.Errorf("the reason %q does not say %q", c.Refused[0].Err, tc.says)
			}
		})
	}
}

// The active slot's files failing the check, the other slot, good and
// verified, boots and becomes the active slot.
func TestSlotsBootFallsBackToGoodSlot(t *testing.T) {
	s, dir := twoGoodSlots(t)
	flipByte(t, filepath.Join(dir, SlotA, SlotKernel), 12345)
	c := boot(t, s, SlotB)
	if c.FellBack != SlotA || c.Once || c.Manifest.Version != "1.0.0" || len(c.Refused) != 1 || c.Refused[0].Slot != SlotA || !errors.Is(c.Refused[0].Err, ErrHash) {
		t.Fatalf("choice %+v", c)
	}
	wantState(t, s, SlotB, "", "", SlotB)
	if slot, reason := lastFailed(t, s); slot != SlotA || !strings.Contains(reason, "slot a: ") || !strings.Contains(reason, "kernel") {
		t.Fatalf("last failed %q %q", slot, reason)
	}
	// plinth init marks the slot it runs good: b, the active one now.
	if active, promoted, err := s.MarkGood(); active != SlotB || promoted || err != nil {
		t.Fatalf("MarkGood: %s %v %v", active, promoted, err)
	}
	if c := boot(t, s, SlotB); c.FellBack != "" || len(c.Refused) != 0 {
		t.Fatalf("the boot after: %+v", c)
	}
	// The damaged slot is the next install's target, and the update
	// check compares with the running (active) version, 1.0.0.
	in, err := s.Apply(versionBundle(t, "1.1.0", "1.0.0"), slotPub, "")
	if err != nil || in.Slot != SlotA {
		t.Fatalf("apply: %+v %v", in, err)
	}
	if slot, _ := lastFailed(t, s); slot != "" {
		t.Fatalf("last failed %q after a new install into it", slot)
	}
	if c := boot(t, s, SlotA); !c.Once || len(c.Refused) != 0 {
		t.Fatalf("trial of the repaired slot: %+v", c)
	}
}

// Nothing verifies: an error that says so and why, for each slot; the good
// flags are kept (a repair, or a read error that passes, boots again).
func TestSlotsBootNothingVerifies(t *testing.T) {
	s, dir := twoGoodSlots(t)
	before, err := os.ReadFile(filepath.Join(dir, SlotA, SlotKernel))
	if err != nil {
		t.Fatal(err)
	}
	flipByte(t, filepath.Join(dir, SlotA, SlotKernel), 100)
	flipByte(t, filepath.Join(dir, SlotB, SlotInitramfs), 100)
	c, err := s.Boot(slotPub)
	if !errors.Is(err, ErrNoFirmware) || !errors.Is(err, ErrHash) || c.Slot != "" {
		t.Fatalf("Boot: %+v %v", c, err)
	}
	for _, want := range []string{"no slot can be booted", "slot a: ", "kernel", "slot b: ", "initramfs"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error %q does not say %q", err, want)
		}
	}
	if len(c.Refused) != 2 || c.Refused[0].Slot != SlotA || c.Refused[1].Slot != SlotB {
		t.Fatalf("refused %+v", c.Refused)
	}
	wantState(t, s, SlotA, "", "", SlotA, SlotB)
	if slot, _ := lastFailed(t, s); slot != SlotA {
		t.Fatalf("last failed %q", slot)
	}
	// The other key: nothing verifies either.
	writeTestFile(t, filepath.Join(dir, SlotA, SlotKernel), before, 0o644)
	if _, err := s.Boot(testKey(7).Public().(ed25519.PublicKey)); !errors.Is(err, ErrSignature) || !errors.Is(err, ErrNoFirmware) {
		t.Fatalf("Boot with another key: %v", err)
	}
	if _, err := s.Boot(nil); !errors.Is(err, ErrSignature) {
		t.Fatalf("Boot with no key: %v", err)
	}
	// Repaired, the active slot boots again.
	boot(t, s, SlotA)

	// A trial that never marked good, whose active slot then fails: the
	// rollback is kept, nothing boots (b, tried, was never good).
	s2, dir2 := twoGoodSlots(t)
	if _, err := s2.Apply(versionBundle(t, "1.2.0", "1.0.0"), slotPub, ""); err != nil {
		t.Fatal(err)
	}
	boot(t, s2, SlotB)
	flipByte(t, filepath.Join(dir2, SlotA, SlotKernel), 100)
	c, err = s2.Boot(slotPub)
	if !errors.Is(err, ErrNoFirmware) || c.RolledBack != SlotB || len(c.Refused) != 1 {
		t.Fatalf("Boot: %+v %v", c, err)
	}
	wantState(t, s2, SlotA, "", "", SlotA)
}
