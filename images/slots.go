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
	Open(slot, name string) (io.ReadCloser, error)
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
	// LastFailed is the slot whose trial boot never marked it good: the
	// boot after it went back to the active slot ("": none).
	LastFailed string `json:"last_failed,omitempty"`
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
// none. Its signature is not checked again (the bundle's was, at Apply, and
// slots are written atomically), but it must parse.
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
		st.NextOnce, st.LastFailed = "", ""
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
	Manifest *Manifest // the slot's: its kernel command line
	Once     bool      // a trial boot of a newly applied slot
	// RolledBack is the slot whose trial boot failed (it never marked
	// good), when this boot is the one going back from it.
	RolledBack string
}

// Boot is what the boot loader does at each boot: boot the slot to boot
// once, if any, forgetting it (so a failed trial boot is not repeated), and
// otherwise the active slot. Booting the active slot while a trial is
// recorded means the trial failed: the tried slot is dropped (rollback).
func (s *Slots) Boot() (BootChoice, error) {
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
	before := *st
	if st.NextOnce != "" {
		slot := st.NextOnce
		st.NextOnce = ""
		m, err := s.installed(slot)
		if err != nil {
			return BootChoice{}, err
		}
		if m != nil {
			st.Tried = slot
			if err := s.writeState(st); err != nil {
				return BootChoice{}, err
			}
			return BootChoice{Slot: slot, Manifest: m, Once: true}, nil
		}
		// Not installed after all (the state says otherwise only if a store
		// lost the slot): forget it, boot the active slot.
	}
	changed := st.NextOnce != before.NextOnce
	if st.Tried != "" {
		choice.RolledBack = st.Tried
		st.LastFailed = st.Tried
		delete(st.Good, st.Tried)
		st.Tried = ""
		changed = true
	}
	m, err := s.installed(st.Active)
	if err != nil {
		return BootChoice{}, err
	}
	if changed { // a normal boot writes nothing
		if err := s.writeState(st); err != nil {
			return BootChoice{}, err
		}
	}
	if m == nil {
		return choice, fmt.Errorf("%w: the active slot %s is empty and nothing is to be tried: apply a bundle", ErrNoFirmware, st.Active)
	}
	choice.Slot, choice.Manifest = st.Active, m
	return choice, nil
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
			st.LastFailed = ""
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
