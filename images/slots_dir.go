package images

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// DirStore keeps the slots in a directory (see the package comment for its
// layout). Installs write DIR/SLOT.new and swap it in with renames; the
// state is written to state.json.tmp and renamed over state.json; every
// step is synced. Leftovers of a crash are ignored and cleaned by the next
// install.
type DirStore struct {
	dir string
}

// NewDirStore uses dir (created if missing) as a slot store.
func NewDirStore(dir string) (*DirStore, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("slot directory: %w", err)
	}
	return &DirStore{dir: dir}, nil
}

// Path is where a file of a slot is (what a boot loader loads).
func (d *DirStore) Path(slot, name string) string { return filepath.Join(d.dir, slot, name) }

// Lock takes an exclusive flock on DIR/lock.
func (d *DirStore) Lock() (func(), error) {
	f, err := os.OpenFile(filepath.Join(d.dir, "lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("locking the slots: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("locking the slots: %w", err)
	}
	return func() { f.Close() }, nil // closing releases the lock
}

func (d *DirStore) statePath() string { return filepath.Join(d.dir, "state.json") }

// ReadState reads DIR/state.json.
func (d *DirStore) ReadState() ([]byte, error) { return os.ReadFile(d.statePath()) }

// WriteState replaces DIR/state.json atomically.
func (d *DirStore) WriteState(data []byte) error {
	tmp := d.statePath() + ".tmp"
	if err := writeSynced(tmp, data); err != nil {
		return err
	}
	if err := os.Rename(tmp, d.statePath()); err != nil {
		return err
	}
	return syncDir(d.dir)
}

// Open opens a file of an installed slot.
func (d *DirStore) Open(slot, name string) (SlotFile, error) {
	if err := checkSlotName(slot); err != nil {
		return nil, err
	}
	if name != filepath.Base(name) {
		return nil, fmt.Errorf("slot file %q: a plain name", name)
	}
	f, err := os.Open(d.Path(slot, name))
	if err != nil {
		return nil, err // not a nil *os.File in a non-nil SlotFile
	}
	return f, nil
}

// Dir is the store's directory.
func (d *DirStore) Dir() string { return d.dir }

// BeginInstall starts DIR/SLOT.new, removing what a crashed install left.
func (d *DirStore) BeginInstall(slot string) (SlotInstall, error) {
	if err := checkSlotName(slot); err != nil {
		return nil, err
	}
	in := &dirInstall{d: d, slot: slot, tmp: filepath.Join(d.dir, slot+".new")}
	if err := os.RemoveAll(in.tmp); err != nil {
		return nil, err
	}
	if err := os.RemoveAll(filepath.Join(d.dir, slot+".old")); err != nil {
		return nil, err
	}
	if err := os.Mkdir(in.tmp, 0o755); err != nil {
		return nil, err
	}
	return in, nil
}

func checkSlotName(slot string) error {
	if slot != SlotA && slot != SlotB {
		return fmt.Errorf("no slot %q: the slots are a and b", slot)
	}
	return nil
}

type dirInstall struct {
	d    *DirStore
	slot string
	tmp  string
}

func (in *dirInstall) Create(name string) (io.WriteCloser, error) {
	if name != filepath.Base(name) {
		return nil, fmt.Errorf("slot file %q: a plain name", name)
	}
	f, err := os.OpenFile(filepath.Join(in.tmp, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, err
	}
	return syncOnClose{f}, nil
}

// Commit syncs SLOT.new, then renames SLOT out of the way (SLOT.old),
// SLOT.new to SLOT, and removes SLOT.old. A crash between the renames
// leaves the slot empty, which the state never points at during an
// install (Slots clears next_once and good for it first).
func (in *dirInstall) Commit() error {
	if err := syncDir(in.tmp); err != nil {
		return err
	}
	final := filepath.Join(in.d.dir, in.slot)
	old := final + ".old"
	if err := os.Rename(final, old); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.Rename(in.tmp, final); err != nil {
		return err
	}
	if err := syncDir(in.d.dir); err != nil {
		return err
	}
	return os.RemoveAll(old)
}

func (in *dirInstall) Abort() error { return os.RemoveAll(in.tmp) }

// syncOnClose makes a file durable when it is closed.
type syncOnClose struct{ *os.File }

func (f syncOnClose) Close() error {
	err := f.File.Sync()
	if cerr := f.File.Close(); err == nil {
		err = cerr
	}
	return err
}

// writeSynced writes a whole file and syncs it.
func writeSynced(path string, data []byte) error {
	return writeFileSynced(path, data, os.O_TRUNC, 0o644)
}

// errWriteFailed marks a writeFileSynced error after the file was
// created: its content is not what was asked.
var errWriteFailed = errors.New("write failed")

// writeFileSynced opens path for writing with O_CREATE and flag (O_EXCL,
// O_TRUNC), writes data, syncs and closes it. An error after the open
// wraps errWriteFailed.
func writeFileSynced(path string, data []byte, flag int, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|flag, mode)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%w: %w", errWriteFailed, err)
	}
	return nil
}
