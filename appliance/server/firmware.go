package server

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/plinth-storage/plinth/appliance/api"
	"github.com/plinth-storage/plinth/appliance/events"
	"github.com/plinth-storage/plinth/images"
)

// Firmware updates through the API (api.Firmware; the endpoints are in
// package api's firmware.go):
//
//   - PUT /v1/firmware streams the bundle to DATA/firmware-upload-*.bundle
//     (at most max_bundle_size bytes; removed when the request ends, and
//     leftovers of a crash at the next start), checks its structure and
//     signature (400 with which), then images.Slots.Apply installs it into
//     the inactive slot to boot once: Apply verifies every hash and that
//     the bundle may update the active slot's product and version (409
//     otherwise), and refuses while the inactive slot is on trial (409).
//     One apply runs at a time; another meanwhile gets 409 at once.
//   - GET /v1/firmware is images.Slots.Status and the booted slot.
//   - POST /v1/firmware/reboot: when serve's parent is PID 1 running this
//     same binary (plinth init), 202 and then SIGTERM to PID 1, which stops
//     serve cleanly (final checkpoint) and reboots; otherwise 409.
//
// Every apply and reboot goes to the events journal (source "firmware",
// actor the API client's address) with its outcome: firmware-applied
// (info), firmware-refused (warning: a 4xx or 503), firmware-apply-failed
// (error), reboot-requested (info), reboot-failed (error).
//
// The slots (--slots, "firmware": {"slots"}) are the slots partition, a
// block device opened for each request (images.OpenPartition: used where
// it is mounted, else mounted for the request, which takes root), or a
// directory of slots (plinth init passes its mount of plinth.slots,
// /run/plinth-slots). The public key (--firmware-key, "public_key") is the
// PEM key bundles must be signed with (plinth init passes
// /etc/plinth/firmware.pub when the image holds it).

// FirmwareConfig lets the API install firmware ("firmware" in the
// configuration). Empty Slots or PublicKey: PUT /v1/firmware answers 503
// saying how to configure it.
type FirmwareConfig struct {
	Slots     string `json:"slots"`
	PublicKey string `json:"public_key"`
	// MaxBundleSize bounds an uploaded bundle (default api.DefaultMaxBundle,
	// 1 GiB); more is refused with 413.
	MaxBundleSize int64 `json:"max_bundle_size"`
}

func (c FirmwareConfig) validate() error {
	if c.MaxBundleSize < 0 {
		return fmt.Errorf("firmware: max_bundle_size %d: want a size in bytes (0: the default, 1 GiB)", c.MaxBundleSize)
	}
	return nil
}

// uploadPattern names the uploads in the data directory.
const uploadPattern = "firmware-upload-*.bundle"

// procInitExe and procSelfExe are how serve tells that PID 1 runs plinth.
const (
	procInitExe = "/proc/1/exe"
	procSelfExe = "/proc/self/exe"
)

// firmware is the node's api.Firmware.
type firmware struct {
	slots   string            // the slots partition or directory ("": none)
	keyPath string            // where pub came from
	pub     ed25519.PublicKey // nil: none configured
	dataDir string            // where uploads stream to
	emit    func(events.Event)
	log     *slog.Logger

	underInit  func() error
	signalInit func(os.Signal) error

	applying sync.Mutex // one apply at a time (TryLock: the next gets 409)
}

// newFirmware checks the configured slots and loads the key: a node
// configured for updates that cannot do them must say so when it starts,
// not at its first update. It removes uploads a crash left behind.
func newFirmware(c FirmwareConfig, dataDir string, o Options, emit func(events.Event), log *slog.Logger) (*firmware, error) {
	f := &firmware{slots: c.Slots, keyPath: c.PublicKey, dataDir: dataDir, emit: emit, log: log,
		underInit: o.UnderInit, signalInit: o.SignalInit}
	if f.underInit == nil {
		f.underInit = underPlinthInit
	}
	if f.signalInit == nil {
		f.signalInit = signalPID1
	}
	if c.Slots != "" {
		if err := checkSlotsPath(c.Slots); err != nil {
			return nil, err
		}
	}
	if c.PublicKey != "" {
		pub, err := images.LoadPublicKey(c.PublicKey)
		if err != nil {
			return nil, fmt.Errorf("firmware public key (--firmware-key, \"firmware\": {\"public_key\"}): %w", err)
		}
		f.pub = pub
	}
	leftovers, _ := filepath.Glob(filepath.Join(dataDir, uploadPattern))
	for _, p := range leftovers {
		if err := os.Remove(p); err != nil {
			log.Warn("removing an upload a crash left", "file", p, "err", err)
		}
	}
	if f.slots != "" && f.pub != nil {
		log.Info("firmware updates through the API", "slots", f.slots, "public_key", f.keyPath)
	}
	return f, nil
}

// checkSlotsPath: the slots are a block device or an existing directory;
// a path under /dev that is not a block device is a typo, not a directory.
func checkSlotsPath(path string) error {
	if images.IsBlockDevice(path) {
		return nil
	}
	st, err := os.Stat(path)
	switch {
	case strings.HasPrefix(filepath.Clean(path), "/dev/"):
		return fmt.Errorf("firmware slots %s: not a block device (the slots partition is one)", path)
	case err != nil:
		return fmt.Errorf("firmware slots (--slots, \"firmware\": {\"slots\"}): %w", err)
	case !st.IsDir():
		return fmt.Errorf("firmware slots %s: neither the slots partition (a block device) nor a directory", path)
	}
	return nil
}

// notConfigured says what is missing and how to configure it (503).
func (f *firmware) notConfigured(needKey bool) error {
	switch {
	case f.slots == "":
		return fmt.Errorf("%w: no firmware slots: start serve with --slots PARTITION|DIR or set \"firmware\": {\"slots\": ...} in its configuration "+
			"(plinth init passes the slots it was booted with, plinth.slots=DEVICE)", api.ErrFirmwareNotConfigured)
	case needKey && f.pub == nil:
		return fmt.Errorf("%w: no firmware public key to verify bundles with: start serve with --firmware-key FILE or set \"firmware\": {\"public_key\": ...} in its configuration "+
			"(plinth init passes /etc/plinth/firmware.pub when the image holds it: build the image with --file KEY.pub:/etc/plinth/firmware.pub)", api.ErrFirmwareNotConfigured)
	}
	return nil
}

// openSlots opens the slots for one request; done closes them (unmounting
// a partition mounted for it).
func (f *firmware) openSlots() (slots *images.Slots, done func() error, err error) {
	if images.IsBlockDevice(f.slots) {
		p, err := images.OpenPartition(f.slots)
		if err != nil {
			return nil, nil, err
		}
		return images.NewSlots(p), p.Close, nil
	}
	d, err := images.NewDirStore(f.slots)
	if err != nil {
		return nil, nil, err
	}
	return images.NewSlots(d), func() error { return nil }, nil
}

// Apply installs an uploaded bundle and journals the outcome.
func (f *firmware) Apply(ctx context.Context, bundle io.Reader, actor string) (api.FirmwareInstalled, error) {
	in, err := f.apply(ctx, bundle)
	e := events.Event{Source: "firmware", Actor: actorOf(actor)}
	status, _ := api.FirmwareStatus(err)
	switch {
	case err == nil:
		e.Severity, e.Kind = events.Info, "firmware-applied"
		e.Detail = fmt.Sprintf("installed %s %s (kernel %s) into slot %s: the next boot tries it once", in.Product, in.Version, in.Kernel, in.Slot)
		f.log.Info("firmware applied", "slot", in.Slot, "version", in.Version, "actor", actor)
	case status >= 400 && status < 500 && status != 499 || status == http.StatusServiceUnavailable:
		e.Severity, e.Kind, e.Detail = events.Warning, "firmware-refused", err.Error()
		f.log.Warn("firmware refused", "err", err, "actor", actor)
	default:
		e.Severity, e.Kind, e.Detail = events.Error, "firmware-apply-failed", err.Error()
		f.log.Error("firmware apply failed", "err", err, "actor", actor)
	}
	f.emit(e)
	return in, err
}

func (f *firmware) apply(ctx context.Context, bundle io.Reader) (api.FirmwareInstalled, error) {
	if err := f.notConfigured(true); err != nil {
		return api.FirmwareInstalled{}, err
	}
	if !f.applying.TryLock() {
		return api.FirmwareInstalled{}, fmt.Errorf("%w: another bundle is being applied: try again when it is done", api.ErrFirmwareBusy)
	}
	defer f.applying.Unlock()
	path, err := f.receive(ctx, bundle)
	if path != "" {
		defer os.Remove(path)
	}
	if err != nil {
		return api.FirmwareInstalled{}, err
	}
	// Structure and signature first, so that a bad bundle is a 400 and an
	// ErrFormat from Apply can only be the slots' own state (a 500).
	if err := precheck(path, f.pub); err != nil {
		return api.FirmwareInstalled{}, refused(err, path, true)
	}
	slots, done, err := f.openSlots()
	if err != nil {
		return api.FirmwareInstalled{}, fmt.Errorf("opening the firmware slots %s: %w", f.slots, err)
	}
	in, err := slots.Apply(path, f.pub, "")
	if cerr := done(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return api.FirmwareInstalled{}, refused(err, path, false)
	}
	m := in.Manifest
	return api.FirmwareInstalled{Slot: in.Slot, Product: m.Product, Version: m.Version, Kernel: m.Kernel.Version, NextBoot: "once"}, nil
}

// receive streams the bundle into a new file in the data directory and
// returns its name (also on error, when it made one: the caller removes it).
func (f *firmware) receive(ctx context.Context, bundle io.Reader) (string, error) {
	tmp, err := os.CreateTemp(f.dataDir, uploadPattern)
	if err != nil {
		return "", fmt.Errorf("a file for the bundle: %w", err)
	}
	_, err = io.Copy(tmp, readerCtx{ctx, bundle})
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return tmp.Name(), fmt.Errorf("receiving the bundle: %w", err)
	}
	return tmp.Name(), nil
}

// readerCtx stops a copy when ctx is done (the client went away).
type readerCtx struct {
	ctx context.Context
	r   io.Reader
}

func (r readerCtx) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}

// precheck checks a bundle's structure, signature and manifest: cheap
// (no hashing), and what tells a bad bundle from a bad slot store.
func precheck(path string, pub ed25519.PublicKey) error {
	b, err := images.Open(path)
	if err != nil {
		return err
	}
	defer b.Close()
	if !ed25519.Verify(pub, b.ManifestJSON(), b.Signature()) {
		return fmt.Errorf("%w: it was signed with another key than this node's, or changed after signing", images.ErrSignature)
	}
	_, err = b.Manifest()
	return err
}

// imagesErrors are the images errors that are the bundle's (or the
// slots' business state) and the API's sentinels for them. ErrFormat is
// the bundle's only in precheck (from Apply it is the slot state's).
var imagesErrors = []struct{ images, api error }{
	{images.ErrSignature, api.ErrBundleSignature},
	{images.ErrHash, api.ErrBundleHash},
	{images.ErrDowngrade, api.ErrFirmwareDowngrade},
	{images.ErrIncompatible, api.ErrFirmwareIncompatible},
	{images.ErrSlotBusy, api.ErrFirmwareBusy},
}

// uploadError is an images error about an upload, under the API's
// sentinel for it when it has one: errors.Is finds both. Its message is
// images' with the upload's file name replaced by what the client knows it
// as.
type uploadError struct {
	kind, err error // kind: nil when the API has no sentinel for it (a 500)
	msg       string
}

func (u *uploadError) Error() string { return u.msg }

func (u *uploadError) Unwrap() []error {
	if u.kind == nil {
		return []error{u.err}
	}
	return []error{u.kind, u.err}
}

// refused files err under the API's sentinel, when it has one.
func refused(err error, path string, bundleFormat bool) error {
	msg := strings.ReplaceAll(err.Error(), path+": ", "") // "PATH: the bundle is ..."
	u := &uploadError{err: err, msg: strings.ReplaceAll(msg, path, "the uploaded bundle")}
	if bundleFormat && errors.Is(err, images.ErrFormat) {
		u.kind = api.ErrBundleFormat
		return u
	}
	for _, m := range imagesErrors {
		if errors.Is(err, m.images) {
			u.kind = m.api
			return u
		}
	}
	u.msg = "installing the bundle: " + u.msg
	return u
}

// firmwareStatus is GET /v1/firmware.
type firmwareStatus struct {
	// Booted is the slot the node runs: the one on trial, else the active
	// one ("" when that holds no firmware: the node was not booted from
	// these slots).
	Booted string `json:"booted"`
	images.SlotsStatus
	// PublicKey is the key bundles must be signed with ("": none, so
	// PUT /v1/firmware is refused).
	PublicKey string `json:"public_key,omitempty"`
}

// Status is the slots' status and which one is booted.
func (f *firmware) Status() (any, error) {
	if err := f.notConfigured(false); err != nil {
		return nil, err
	}
	slots, done, err := f.openSlots()
	if err != nil {
		return nil, fmt.Errorf("opening the firmware slots %s: %w", f.slots, err)
	}
	st, err := slots.Status()
	if cerr := done(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("the firmware slots %s: %w", f.slots, err)
	}
	out := firmwareStatus{SlotsStatus: st, PublicKey: f.keyPath}
	booted := st.State.Active
	if st.State.Tried != "" {
		booted = st.State.Tried
	}
	for _, s := range st.Slots {
		if s.Name == booted && s.Installed {
			out.Booted = booted
		}
	}
	return out, nil
}

// Reboot asks plinth init to reboot the node, when it runs this serve.
func (f *firmware) Reboot(actor string) (func(), error) {
	if err := f.underInit(); err != nil {
		return nil, err
	}
	f.emit(events.Event{Severity: events.Info, Kind: "reboot-requested", Source: "firmware", Actor: actorOf(actor),
		Detail: "reboot asked through the API: plinth init stops serve and reboots the node"})
	f.log.Info("reboot requested through the API: signalling plinth init", "actor", actor)
	return func() {
		if err := f.signalInit(syscall.SIGTERM); err != nil {
			f.log.Error("asking plinth init to reboot", "err", err)
			f.emit(events.Event{Severity: events.Error, Kind: "reboot-failed", Source: "firmware", Actor: actorOf(actor),
				Detail: fmt.Sprintf("SIGTERM to plinth init (PID 1): %v: reboot the node yourself", err)})
		}
	}, nil
}

// underPlinthInit: serve's parent is PID 1, and PID 1 runs the binary
// serve runs (plinth init starts serve from its own executable).
func underPlinthInit() error {
	if ppid := os.Getppid(); ppid != 1 {
		return fmt.Errorf("%w: reboot the node yourself (serve's parent is process %d, not PID 1)", api.ErrNotUnderInit, ppid)
	}
	initExe, err := os.Stat(procInitExe)
	if err != nil {
		return fmt.Errorf("%w: reboot the node yourself (what PID 1 runs: %v)", api.ErrNotUnderInit, err)
	}
	self, err := os.Stat(procSelfExe)
	if err != nil {
		return fmt.Errorf("%w: reboot the node yourself (%v)", api.ErrNotUnderInit, err)
	}
	if !os.SameFile(initExe, self) {
		return fmt.Errorf("%w: reboot the node yourself (PID 1 is another program)", api.ErrNotUnderInit)
	}
	return nil
}

// signalPID1 sends sig to plinth init: SIGTERM reboots.
func signalPID1(sig os.Signal) error {
	s, ok := sig.(syscall.Signal)
	if !ok {
		return fmt.Errorf("signal %v: not a system signal", sig)
	}
	return syscall.Kill(1, s)
}
