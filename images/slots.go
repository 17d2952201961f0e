package images

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
)

// The two slots.
const (
	SlotA = "a"
	SlotB = "b"
)

// The files of an installed slot.
const (
	SlotManifest  = "manifest.json"
	SlotSignature = "manifest.sig"
	SlotKernel    = "kernel"
	SlotInitramfs = "initramfs"
)

// SlotStore is where the slots and their state live: a partition on a
// node, a directory in tests and development (DirStore). Slots does the
// deciding; a store only keeps bytes, atomically where it says so.
type SlotStore interface {
	// Lock excludes other Slots on the same store until unlock.
	Lock() (unlock func(), err error)
	// ReadState returns the state last written, or an error wrapping
	// fs.ErrNotExist when none ever was.
	ReadState() ([]byte, error)
	// WriteState replaces the state: after a crash, ReadState returns the
	// old or the new state, whole.
	WriteState(data []byte) error
	// BeginInstall starts replacing a slot's files. Until Commit returns,
	// the slot keeps its old files or (after a crash) has none; never a mix.
	BeginInstall(slot string) (SlotInstall, error)
	// Open reads a file of an installed slot; an error wrapping
	// fs.ErrNotExist when the slot has none.
	Open(slot, name string) (SlotFile, error)
}

// SlotFile is an open file of a slot (an *os.File does). ReadAt and Stat
// let the boot-time check read a slot's kernel and initramfs as it reads
// a bundle's, without copying them.
type SlotFile interface {
	io.ReadCloser
	io.ReaderAt
	Stat() (fs.FileInfo, error)
}

// SlotInstall is a slot's replacement being written.
type SlotInstall interface {
	// Create starts a file; Close on the writer makes it durable.
	Create(name string) (io.WriteCloser, error)
	// Commit replaces the slot's files with the new ones, durably.
	Commit() error
	// Abort drops the new files.
	Abort() error
}

// SlotState is the boot state of the two slots.
type SlotState struct {
	Active   string          `json:"active"`    // the slot booted normally
	NextOnce string          `json:"next_once"` // boot this slot once, then forget it ("": none)
	Tried    string          `json:"tried"`     // the slot booted once and running, not yet marked good ("": none)
	Good     map[string]bool `json:"good"`      // which slots have started healthily
	// LastFailed is the last slot the boot loader gave up on ("": none):
	// its trial boot never marked it good (the boot after it went back to
	// the active slot), or its files failed the boot-time check.
	LastFailed string `json:"last_failed,omitempty"`
	// LastFailedReason says why, for people.
	LastFailedReason string `json:"last_failed_reason,omitempty"`
}

func (st *SlotState) check() error {
	if st.Active != SlotA && st.Active != SlotB {
		return fmt.Errorf("active slot %q: want a or b", st.Active)
	}
	other := otherSlot(st.Active)
	if st.NextOnce != "" && st.NextOnce != other {
		return fmt.Errorf("next_once %q: want %q or nothing", st.NextOnce, other)
	}
	if st.Tried != "" && st.Tried != other {
		return fmt.Errorf("tried %q: want %q or nothing", st.Tried, other)
	}
	for s := range st.Good {
		if s != SlotA && s != SlotB {
			return fmt.Errorf("good: unknown slot %q", s)
		}
	}
	return nil
}

func otherSlot(s string) string {
	if s == SlotA {
		return SlotB
	}
	return SlotA
}

// Slots is the A/B logic over a store: install into the inactive slot,
// boot it once, make it active when it starts healthily, and go back to
// the active slot when it does not.
type Slots struct {
	store SlotStore
}

// NewSlots returns the slots of a store.
func NewSlots(store SlotStore) *Slots { return &Slots{store: store} }

// OpenSlots returns the slots kept in a directory (created if missing).
func OpenSlots(dir string) (*Slots, error) {
	d, err := NewDirStore(dir)
	if err != nil {
		return nil, err
	}
	return NewSlots(d), nil
}

// state reads the state; a store never written to has slot a active and
// nothing installed.
func (s *Slots) state() (*SlotState, error) {
	data, err := s.store.ReadState()
	if errors.Is(err, fs.ErrNotExist) {
		return &SlotState{Active: SlotA, Good: map[string]bool{}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the slot state: %w", err)
	}
	var st SlotState
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("%w: the slot state: %v (it is written atomically: was it edited by hand?)", ErrFormat, err)
	}
	if err := st.check(); err != nil {
		return nil, fmt.Errorf("%w: the slot state: %v", ErrFormat, err)
	}
	if st.Good == nil {
		st.Good = map[string]bool{}
	}
	return &st, nil
}

func (s *Slots) writeState(st *SlotState) error {
	if err := st.check(); err != nil {
		return fmt.Errorf("writing the slot state: %w", err) // a bug, not bad input
	}
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	if err := s.store.WriteState(append(data, '\n')); err != nil {
		return fmt.Errorf("writing the slot state: %w", err)
	}
	return nil
}

// installed returns the manifest of a slot, or nil when the slot holds
// none. Its signature is not checked here (the bundle's was, at Apply;
// Boot checks every file again), but it must parse.
func (s *Slots) installed(slot string) (*Manifest, error) {
	rc, err := s.store.Open(slot, SlotManifest)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("slot %s: %w", slot, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, maxManifestSize+1))
	if err != nil {
		return nil, fmt.Errorf("slot %s: %w", slot, err)
	}
	m, err := ParseManifest(data)
	if err != nil {
		return nil, fmt.Errorf("slot %s: %w", slot, err)
	}
	return m, nil
}

// Installed is what Apply did.
type Installed struct {
	Slot     string // the slot written, booted once at the next Boot
	Manifest *Manifest
}

// Apply verifies a bundle and installs it into the inactive slot, to be
// booted once at the next boot. The bundle must be signed by pub, be of the
// product (when product is "", the active slot's product, or any when no
// slot holds firmware yet) and be allowed to update the active slot's
// version. Nothing changes when it is not. Apply refuses while the inactive
// slot is being tried (ErrSlotBusy): it is running.
func (s *Slots) Apply(bundlePath string, pub ed25519.PublicKey, product string) (Installed, error) {
	unlock, err := s.store.Lock()
	if err != nil {
		return Installed{}, err
	}
	defer unlock()
	st, err := s.state()
	if err != nil {
		return Installed{}, err
	}
	target := otherSlot(st.Active)
	if st.Tried == target {
		return Installed{}, fmt.Errorf("%w: slot %s was booted to try it and is not marked good yet: mark it good (plinth firmware mark-good) or reboot to go back to slot %s, then apply",
			ErrSlotBusy, target, st.Active)
	}
	running := ""
	active, err := s.installed(st.Active)
	if err != nil {
		return Installed{}, fmt.Errorf("the active slot: %w", err)
	}
	if active != nil {
		running = active.Version
		if product == "" {
			product = active.Product
		}
	}
	b, err := Open(bundlePath)
	if err != nil {
		return Installed{}, err
	}
	defer b.Close()
	m, err := b.Verify(pub, product, running)
	if err != nil {
		return Installed{}, fmt.Errorf("%s: %w", bundlePath, err)
	}

	// Nothing may point at the target while it is half written.
	if st.NextOnce == target || st.Good[target] || st.LastFailed == target {
		st.NextOnce, st.LastFailed, st.LastFailedReason = "", "", ""
		delete(st.Good, target)
		if err := s.writeState(st); err != nil {
			return Installed{}, err
		}
	}
	if err := s.install(target, b, m); err != nil {
		return Installed{}, fmt.Errorf("installing into slot %s: %w", target, err)
	}
	st.NextOnce = target
	if err := s.writeState(st); err != nil {
		return Installed{}, err
	}
	return Installed{Slot: target, Manifest: m}, nil
}

// install copies a verified bundle into a slot, hashing what it writes:
// the bundle file cannot change between the check and the copy unseen.
func (s *Slots) install(slot string, b *Bundle, m *Manifest) (err error) {
	w, err := s.store.BeginInstall(slot)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			w.Abort()
		}
	}()
	files := []struct {
		name string
		r    io.Reader
		part *Part
	}{
		{SlotManifest, bytes.NewReader(b.ManifestJSON()), nil},
		{SlotSignature, bytes.NewReader(b.Signature()), nil},
		{SlotKernel, b.Kernel(), m.Part(PartKernel)},
		{SlotInitramfs, b.Initramfs(), m.Part(PartInitramfs)},
	}
	for _, f := range files {
		out, err := w.Create(f.name)
		if err != nil {
			return err
		}
		h := sha256.New()
		n, err := io.Copy(io.MultiWriter(out, h), f.r)
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("writing %s: %w", f.name, err)
		}
		if f.part != nil && (n != f.part.Size || hex.EncodeToString(h.Sum(nil)) != f.part.SHA256) {
			return fmt.Errorf("%w: the %s changed while it was installed", ErrHash, f.name)
		}
	}
	return w.Commit()
}

// BootChoice is what the boot loader boots.
type BootChoice struct {
	Slot     string
	Manifest *Manifest // the slot's, verified: its kernel command line
	Once     bool      // a trial boot of a newly applied slot
	// RolledBack is the slot whose trial boot failed (it never marked
	// good), when this boot is the one going back from it.
	RolledBack string
	// Refused are the slots passed over because their files failed the
	// check (or were missing), in the order they were looked at: the slot
	// to boot once, the active slot, the other good slot.
	Refused []RefusedSlot
	// FellBack is the active slot whose files failed the check, when Slot
	// is the other one, good and verified, which is now the active slot.
	FellBack string
}

// RefusedSlot is a slot the boot loader did not boot, and why.
type RefusedSlot struct {
	Slot string
	Err  error
}

// The reason recorded for a trial boot that never marked its slot good.
const reasonTrialFailed = "its trial boot never marked it good (plinth init does once serve is up)"

// Boot is what the boot loader does at each boot. It checks the files of
// the slot it is about to boot as Verify checks a bundle (the manifest's
// signature with pub, the size and sha256 of the kernel, the initramfs and
// every file in it) and never boots a slot that fails:
//
//   - A slot to boot once is forgotten (a failed trial is not repeated)
//     and, when it verifies, booted and recorded as tried.
//   - Otherwise the active slot boots; a leftover trial means it never
//     marked good: the tried slot is dropped (rollback).
//   - When the active slot fails the check and the other slot is good and
//     verifies, the other slot boots and becomes the active one.
//
// Every slot given up on is recorded in the state (last_failed and why)
// and in BootChoice. When nothing verifies, the error wraps ErrNoFirmware
// and every reason, and the changes made on the way (a consumed boot-once,
// a rollback) are kept; the good flags then stay as they were, so that a
// repaired store (or a read error that passes) can boot again.
func (s *Slots) Boot(pub ed25519.PublicKey) (BootChoice, error) {
	unlock, err := s.store.Lock()
	if err != nil {
		return BootChoice{}, err
	}
	defer unlock()
	st, err := s.state()
	if err != nil {
		return BootChoice{}, err
	}
	var choice BootChoice
	changed := false
	failed := func(slot, reason string) {
		st.LastFailed, st.LastFailedReason = slot, reason
		delete(st.Good, slot)
		changed = true
	}
	boot := func(slot string, m *Manifest) (BootChoice, error) {
		if changed { // a normal boot writes nothing
			if err := s.writeState(st); err != nil {
				return BootChoice{}, err
			}
		}
		choice.Slot, choice.Manifest = slot, m
		return choice, nil
	}

	if st.NextOnce != "" {
		slot := st.NextOnce
		st.NextOnce, changed = "", true
		m, err := s.verifySlot(slot, pub)
		if err == nil {
			st.Tried, choice.Once = slot, true
			return boot(slot, m)
		}
		choice.Refused = append(choice.Refused, RefusedSlot{Slot: slot, Err: err})
		failed(slot, err.Error())
	}
	if st.Tried != "" {
		choice.RolledBack = st.Tried
		failed(st.Tried, reasonTrialFailed)
		st.Tried = ""
	}
	m, activeErr := s.verifySlot(st.Active, pub)
	if activeErr == nil {
		return boot(st.Active, m)
	}
	other := otherSlot(st.Active)
	if errors.Is(activeErr, errSlotEmpty) && len(choice.Refused) == 0 && choice.RolledBack == "" && !st.Good[other] {
		return choice, fmt.Errorf("%w: the active slot %s is empty and nothing is to be tried: apply a bundle", ErrNoFirmware, st.Active)
	}
	choice.Refused = append(choice.Refused, RefusedSlot{Slot: st.Active, Err: activeErr})
	if st.Good[other] {
		m, err := s.verifySlot(other, pub)
		if err == nil {
			choice.FellBack = st.Active
			failed(st.Active, activeErr.Error())
			st.Active = other
			return boot(other, m)
		}
		choice.Refused = append(choice.Refused, RefusedSlot{Slot: other, Err: err})
	}
	// Nothing boots. The good flags stay (see above), but why is recorded.
	if !errors.Is(activeErr, errSlotEmpty) {
		st.LastFailed, st.LastFailedReason, changed = st.Active, activeErr.Error(), true
	}
	if changed {
		if err := s.writeState(st); err != nil {
			return choice, err
		}
	}
	return choice, fmt.Errorf("%w: no slot can be booted: %w", ErrNoFirmware, refusals(choice.Refused))
}

// refusals are the reasons no slot could be booted, as one error.
type refusals []RefusedSlot

func (r refusals) Error() string {
	var b strings.Builder
	for i, f := range r {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(f.Err.Error())
	}
	return b.String()
}

func (r refusals) Unwrap() []error {
	out := make([]error, len(r))
	for i, f := range r {
		out[i] = f.Err
	}
	return out
}

// errSlotEmpty: a slot holds no firmware (no manifest).
var errSlotEmpty = errors.New("it is empty")

// verifySlot checks a slot's installed files as Bundle.Verify checks a
// bundle's (the same code: the slot's files are read as a bundle), and
// returns its manifest.
func (s *Slots) verifySlot(slot string, pub ed25519.PublicKey) (*Manifest, error) {
	b, closeFiles, err := s.slotBundle(slot)
	if err != nil {
		return nil, fmt.Errorf("slot %s: %w", slot, err)
	}
	defer closeFiles()
	m, err := b.Verify(pub, "", "")
	if err != nil {
		return nil, fmt.Errorf("slot %s: %w", slot, err)
	}
	return m, nil
}

// slotBundle opens a slot's files as a Bundle: its manifest and signature
// read whole (bounded as a bundle's are), its kernel and initramfs as
// section readers over the open files, which closeFiles closes.
func (s *Slots) slotBundle(slot string) (b *Bundle, closeFiles func(), err error) {
	var files []SlotFile
	closeAll := func() {
		for _, f := range files {
			f.Close()
		}
	}
	defer func() {
		if err != nil {
			closeAll()
		}
	}()
	open := func(name string) (SlotFile, error) {
		f, err := s.store.Open(slot, name)
		if err != nil {
			return nil, fmt.Errorf("its %s: %w", name, err)
		}
		files = append(files, f)
		return f, nil
	}
	small := func(name string, limit int64) ([]byte, error) {
		f, err := open(name)
		if err != nil {
			return nil, err
		}
		data, err := io.ReadAll(io.LimitReader(f, limit+1))
		if err != nil {
			return nil, fmt.Errorf("reading its %s: %w", name, err)
		}
		if int64(len(data)) > limit {
			return nil, fmt.Errorf("%w: its %s is over %d bytes", ErrFormat, name, limit)
		}
		return data, nil
	}
	section := func(name string) (*io.SectionReader, error) {
		f, err := open(name)
		if err != nil {
			return nil, err
		}
		st, err := f.Stat()
		if err != nil {
			return nil, fmt.Errorf("its %s: %w", name, err)
		}
		return io.NewSectionReader(f, 0, st.Size()), nil
	}
	b = &Bundle{path: "slot " + slot}
	if b.manifestJSON, err = small(SlotManifest, maxManifestSize); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			err = errSlotEmpty
		}
		return nil, nil, err
	}
	if b.signature, err = small(SlotSignature, ed25519.SignatureSize); err != nil {
		return nil, nil, err
	}
	if len(b.signature) != ed25519.SignatureSize {
		return nil, nil, fmt.Errorf("%w: its %s is %d bytes, an ed25519 signature is %d", ErrFormat, SlotSignature, len(b.signature), ed25519.SignatureSize)
	}
	if b.kernel, err = section(SlotKernel); err != nil {
		return nil, nil, err
	}
	if b.initramfs, err = section(SlotInitramfs); err != nil {
		return nil, nil, err
	}
	return b, closeAll, nil
}

// MarkGood is called by plinth init after a healthy start. When the booted
// slot is the one being tried it becomes the active slot, and good; when
// the active slot is booted it is marked good. It returns the active slot
// and whether it changed.
func (s *Slots) MarkGood() (active string, promoted bool, err error) {
	unlock, err := s.store.Lock()
	if err != nil {
		return "", false, err
	}
	defer unlock()
	st, err := s.state()
	if err != nil {
		return "", false, err
	}
	booted := st.Active
	if st.Tried != "" {
		booted = st.Tried
	}
	m, err := s.installed(booted)
	if err != nil {
		return "", false, err
	}
	if m == nil {
		return "", false, fmt.Errorf("%w: slot %s, the booted one, is empty", ErrNoFirmware, booted)
	}
	if st.Tried != "" {
		st.Active, st.Tried, promoted = st.Tried, "", true
		if st.LastFailed == st.Active {
			st.LastFailed, st.LastFailedReason = "", ""
		}
	}
	if !promoted && st.Good[st.Active] {
		return st.Active, false, nil
	}
	st.Good[st.Active] = true
	if err := s.writeState(st); err != nil {
		return "", false, err
	}
	return st.Active, promoted, nil
}

// SlotInfo is one slot in Status.
type SlotInfo struct {
	Name      string `json:"name"`
	Installed bool   `json:"installed"`
	Product   string `json:"product,omitempty"`
	Version   string `json:"version,omitempty"`
	Kernel    string `json:"kernel,omitempty"`
	Active    bool   `json:"active"`
	Good      bool   `json:"good"`
	NextOnce  bool   `json:"next_once"`
	Tried     bool   `json:"tried"`
	// Error is why the slot's manifest cannot be read, if it cannot.
	Error string `json:"error,omitempty"`
}

// SlotsStatus is everything about the slots.
type SlotsStatus struct {
	State SlotState  `json:"state"`
	Slots []SlotInfo `json:"slots"`
}

// Status reports the state and what each slot holds.
func (s *Slots) Status() (SlotsStatus, error) {
	unlock, err := s.store.Lock()
	if err != nil {
		return SlotsStatus{}, err
	}
	defer unlock()
	st, err := s.state()
	if err != nil {
		return SlotsStatus{}, err
	}
	out := SlotsStatus{State: *st}
	for _, name := range []string{SlotA, SlotB} {
		info := SlotInfo{Name: name, Active: st.Active == name, Good: st.Good[name], NextOnce: st.NextOnce == name, Tried: st.Tried == name}
		m, err := s.installed(name)
		switch {
		case err != nil:
			info.Error = err.Error()
		case m != nil:
			info.Installed, info.Product, info.Version, info.Kernel = true, m.Product, m.Version, m.Kernel.Version
		}
		out.Slots = append(out.Slots, info)
	}
	return out, nil
}
