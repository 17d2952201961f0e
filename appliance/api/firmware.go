package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// Firmware updates of a running node (Config.Firmware).
//
//	PUT  /v1/firmware          the body is a firmware bundle: verified with
//	                           the node's firmware key and against the active
//	                           slot's product and version, installed into the
//	                           inactive slot to boot once. 200 with
//	                           {"slot", "product", "version", "kernel",
//	                           "next_boot": "once"}
//	GET  /v1/firmware          the slots: {"booted", "state", "slots", ...}
//	POST /v1/firmware/reboot   202, then plinth init reboots the node (a
//	                           slot to boot once boots then)
//
// Errors (code in the JSON error):
//
//	400 InvalidBundle, BadSignature, BadHash   the bundle: its structure or
//	                           manifest, its signature, a part's size or sha256
//	409 Downgrade, Incompatible, SlotBusy      the bundle cannot update this
//	                           node now: older than the active slot, for
//	                           another product or too old to update from, or
//	                           the inactive slot is on trial (or another
//	                           update is being applied)
//	409 NotUnderInit           reboot: serve does not run under plinth init
//	413 TooLarge               the bundle is over Limits.MaxBundle
//	503 FirmwareNotConfigured  the node has no slots or no key: the message
//	                           says how to configure them
//
// The bundle streams to a file (the implementation's business, normally in
// the data directory): it is never held in memory.

// DefaultMaxBundle is the largest bundle PUT /v1/firmware takes unless
// Limits.MaxBundle says otherwise.
const DefaultMaxBundle = 1 << 30

// Firmware is what the firmware endpoints use. Its errors wrap the
// sentinels below, which choose the status; any other error is a 500 (or
// what classify makes of it: a body over the limit is a 413).
type Firmware interface {
	// Apply installs the bundle read from bundle into the inactive slot,
	// to be booted once. actor is who asked, for the events journal.
	Apply(ctx context.Context, bundle io.Reader, actor string) (FirmwareInstalled, error)
	// Status is the slots' state, as a JSON document.
	Status() (any, error)
	// Reboot checks that the node can be rebooted from here and returns
	// what reboots it, which the API calls once its 202 reply is sent.
	Reboot(actor string) (reboot func(), err error)
}

// FirmwareInstalled is the reply to PUT /v1/firmware.
type FirmwareInstalled struct {
	Slot    string `json:"slot"`
	Product string `json:"product"`
	Version string `json:"version"`
	Kernel  string `json:"kernel"` // the kernel's release
	// NextBoot is "once": the next boot tries the slot once.
	NextBoot string `json:"next_boot"`
}

// The errors a Firmware wraps to choose the reply's status.
var (
	// ErrFirmwareNotConfigured (503): the node has no firmware slots or no
	// firmware public key configured.
	ErrFirmwareNotConfigured = errors.New("firmware updates are not configured on this node")
	// ErrBundleFormat (400): not a firmware bundle, or a malformed manifest.
	ErrBundleFormat = errors.New("not a valid firmware bundle")
	// ErrBundleSignature (400): the signature does not verify with the
	// node's firmware key.
	ErrBundleSignature = errors.New("the bundle's signature does not verify with the node's firmware key")
	// ErrBundleHash (400): a part's size or sha256 is not its manifest's.
	ErrBundleHash = errors.New("a part of the bundle does not match its manifest")
	// ErrFirmwareDowngrade (409): older than the active slot's firmware.
	ErrFirmwareDowngrade = errors.New("the bundle is older than the running firmware")
	// ErrFirmwareIncompatible (409): for another product, or the running
	// version is too old to update to it.
	ErrFirmwareIncompatible = errors.New("the bundle is not compatible with this node")
	// ErrFirmwareBusy (409): the inactive slot is being tried, or another
	// update is being applied.
	ErrFirmwareBusy = errors.New("the firmware slots are busy")
	// ErrNotUnderInit (409): a reboot was asked of a serve that plinth init
	// does not supervise.
	ErrNotUnderInit = errors.New("not running under plinth init")
)

// firmwareErrors map the sentinels to a status and a code.
var firmwareErrors = []struct {
	err    error
	status int
	code   string
}{
	{ErrFirmwareNotConfigured, http.StatusServiceUnavailable, "FirmwareNotConfigured"},
	{ErrBundleFormat, http.StatusBadRequest, "InvalidBundle"},
	{ErrBundleSignature, http.StatusBadRequest, "BadSignature"},
	{ErrBundleHash, http.StatusBadRequest, "BadHash"},
	{ErrFirmwareDowngrade, http.StatusConflict, "Downgrade"},
	{ErrFirmwareIncompatible, http.StatusConflict, "Incompatible"},
	{ErrFirmwareBusy, http.StatusConflict, "SlotBusy"},
	{ErrNotUnderInit, http.StatusConflict, "NotUnderInit"},
}

// FirmwareStatus is the status and code the API answers a Firmware's
// error with (500 InternalError when it wraps none of the sentinels and
// classify knows nothing better).
func FirmwareStatus(err error) (int, string) {
	for _, e := range firmwareErrors {
		if errors.Is(err, e.err) {
			return e.status, e.code
		}
	}
	return classify(err)
}

// firmwareFail answers a Firmware's error.
func (s *Server) firmwareFail(w http.ResponseWriter, r *http.Request, err error) {
	status, code := FirmwareStatus(err)
	if status >= 500 && status != http.StatusServiceUnavailable {
		s.cfg.Log.Error("firmware request failed", "method", r.Method, "path", r.URL.EscapedPath(), "request_id", w.Header().Get("X-Request-Id"), "err", err)
	}
	writeError(w, r, status, code, err.Error())
}

func (s *Server) maxBundle() int64 {
	if s.cfg.Limits.MaxBundle > 0 {
		return s.cfg.Limits.MaxBundle
	}
	return DefaultMaxBundle
}

// firmware is the API's Firmware; without one it answers 404 for the
// handler, which returns.
func (s *Server) firmware(w http.ResponseWriter, r *http.Request) (Firmware, bool) {
	if s.cfg.Firmware == nil {
		writeError(w, r, http.StatusNotFound, "NotFound", "this node's firmware is not updated through the API")
		return nil, false
	}
	return s.cfg.Firmware, true
}

// putFirmware streams a bundle to the Firmware, which installs it.
func (s *Server) putFirmware(w http.ResponseWriter, r *http.Request, _ routed) {
	fw, ok := s.firmware(w, r)
	if !ok {
		return
	}
	limit := s.maxBundle()
	if r.ContentLength > limit {
		writeError(w, r, http.StatusRequestEntityTooLarge, "TooLarge", fmt.Sprintf("the bundle is %d bytes: this node takes bundles of at most %d", r.ContentLength, limit))
		return
	}
	in, err := fw.Apply(r.Context(), http.MaxBytesReader(w, r.Body, limit), "api "+r.RemoteAddr)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, r, http.StatusRequestEntityTooLarge, "TooLarge", fmt.Sprintf("the bundle is over %d bytes, the most this node takes", limit))
			return
		}
		s.firmwareFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, in)
}

// firmwareStatus answers the slots' status.
func (s *Server) firmwareStatus(w http.ResponseWriter, r *http.Request, _ routed) {
	fw, ok := s.firmware(w, r)
	if !ok {
		return
	}
	st, err := fw.Status()
	if err != nil {
		s.firmwareFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// rebootFirmware answers 202 and then reboots the node: the reply goes out
// before serve is told to stop (it would be drained anyway, but a client
// must not have to race the shutdown for its answer).
func (s *Server) rebootFirmware(w http.ResponseWriter, r *http.Request, _ routed) {
	fw, ok := s.firmware(w, r)
	if !ok {
		return
	}
	reboot, err := fw.Reboot("api " + r.RemoteAddr)
	if err != nil {
		s.firmwareFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{
		"reboot": "the node reboots now: plinth init stops serve (final checkpoint) and restarts the machine; a slot applied to boot once boots now",
	})
	http.NewResponseController(w).Flush()
	reboot()
}
