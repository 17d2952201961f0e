package console

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/plinth-storage/plinth/appliance/api"
	"github.com/plinth-storage/plinth/appliance/events"
	"github.com/plinth-storage/plinth/appliance/objects"
	"github.com/plinth-storage/plinth/btree/store"
	"github.com/plinth-storage/plinth/io/iostat"
	"github.com/plinth-storage/plinth/pool"
)

// Node is what the console works on: the running node's parts and the
// functions of its server (package appliance/server fills it in). Fields
// left nil make the commands that need them answer "unavailable".
type Node struct {
	ID      string
	Store   *store.Store
	Pools   []*pool.Pool
	Objects *objects.Store
	Events  *events.Journal
	API     *api.Server

	// Status is the node's status document (the same as GET /v1/status).
	Status func() any
	// Drives lists the drives and their states.
	Drives func() ([]DriveState, error)
	// Devices are the drives the node has open, with their IO accounting.
	Devices func() []Device
	// SetDriveState moves a drive to a state (online, slow, faulty, out,
	// spare), recording who did it.
	SetDriveState func(ctx context.Context, pos int, state, by string) error
	// Enclosure maps drives to enclosure slots and drives their locate
	// LEDs; nil: no enclosure is known (see Enclosure).
	Enclosure Enclosure

	// Background work: scrub (start, stop and status), rebuild status.
	ScrubStart func()
	ScrubStop  func() bool // reports whether a pass was running
	// ScrubStatus is each pool's scrub status, and whether scrubbing is
	// halted (by scrub stop, until scrub start).
	ScrubStatus   func() (pools any, halted bool)
	RebuildStatus func() any

	// Config is the node's configuration with secrets removed.
	Config func() any
	// Logs are the node's recent log lines (nil: none kept).
	Logs *LogRing
	// Describe decodes entries of metadata trees the console knows no
	// decoder for (the server's own trees), for btree dump and get.
	Describe func(tree string, key, value []byte) (map[string]any, bool)
}

// DriveState is a drive and its state, as the server keeps it.
type DriveState struct {
	Position   uint32    `json:"position"`
	Path       string    `json:"path"`
	Pool       string    `json:"pool,omitempty"`
	State      string    `json:"state"`
	Sets       int       `json:"sets"`
	Rebuilding bool      `json:"rebuilding,omitempty"`
	Changed    time.Time `json:"changed,omitzero"`
	By         string    `json:"by,omitempty"`
}

// Device is an open drive.
type Device struct {
	Position uint32
	Path     string
	Zoned    bool
	Bytes    int64
	IO       *iostat.Device // nil: not measured
}

// errUnavailable says this node lacks what a command needs.
func errUnavailable(what string) error {
	return errorf(CodeUnavailable, "this node has no %s", what)
}

// Enclosure is what the console needs of the drive enclosures: a drive's
// slot, and its locate (identify) LED. The server implements it with
// package hw/enclosure (the kernel's SES driver); a node without one
// (Node.Enclosure nil) says so for every drive.
type Enclosure interface {
	// Slot returns the slot a drive sits in (false: not known).
	Slot(d DriveRef) (Slot, bool)
	// Locate turns a drive's locate LED on or off. A drive in no known
	// enclosure is an error wrapping ErrNoEnclosure.
	Locate(d DriveRef, on bool) error
}

// DriveRef names a drive for the enclosure.
type DriveRef struct {
	Position uint32
	Path     string
}

// Slot is where a drive sits.
type Slot struct {
	Enclosure string `json:"enclosure"` // its identifier (the SES logical identifier)
	Slot      int    `json:"slot"`      // the enclosure's slot number
	Drawer    int    `json:"drawer,omitempty"`
	Name      string `json:"name,omitempty"`  // the slot's name in the enclosure ("Slot 01")
	Label     string `json:"label,omitempty"` // for people: "0x500c0ff0abcdef3c/45 (drawer 2)"
}

// ErrNoEnclosure: no enclosure is known for a drive.
var ErrNoEnclosure = errors.New("no enclosure is known for this drive")

// locateLED drives a drive's locate LED through the enclosure, or says
// why it cannot.
func (n *Node) locateLED(d DriveRef, on bool) error {
	if n.Enclosure == nil {
		return withCode(CodeUnavailable, fmt.Errorf("drive %d (%s): %w: this node has no enclosure support, so its locate LED cannot be driven; find it by its path or serial number (plinth drives)", d.Position, d.Path, ErrNoEnclosure))
	}
	if err := n.Enclosure.Locate(d, on); err != nil {
		if errors.Is(err, ErrNoEnclosure) {
			return withCode(CodeUnavailable, fmt.Errorf("drive %d (%s): %w", d.Position, d.Path, err))
		}
		return fmt.Errorf("drive %d (%s): locate LED: %w", d.Position, d.Path, err)
	}
	return nil
}
