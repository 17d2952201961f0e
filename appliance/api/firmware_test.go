package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// fakeFirmware records what the API asks of it and answers what it is told.
type fakeFirmware struct {
	mu        sync.Mutex
	applyErr  error
	rebootErr error
	got       []byte // the last bundle read
	actor     string
	rebooted  chan struct{}
}

// set changes what the fake answers (under its lock: the handlers run on
// the server's goroutines).
func (f *fakeFirmware) set(applyErr, rebootErr error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.applyErr, f.rebootErr = applyErr, rebootErr
}

// last is the bundle and actor of the last call.
func (f *fakeFirmware) last() ([]byte, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.got, f.actor
}

func (f *fakeFirmware) Apply(ctx context.Context, bundle io.Reader, actor string) (FirmwareInstalled, error) {
	b, err := io.ReadAll(bundle)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.got, f.actor = b, actor
	if err != nil {
		return FirmwareInstalled{}, fmt.Errorf("receiving the bundle: %w", err)
	}
	if f.applyErr != nil {
		return FirmwareInstalled{}, f.applyErr
	}
	return FirmwareInstalled{Slot: "a", Product: "plinth-storage-node", Version: "1.1.0", Kernel: "6.1.0-99-test", NextBoot: "once"}, nil
}

func (f *fakeFirmware) Status() (any, error) {
	return map[string]any{"booted": "b"}, nil
}

func (f *fakeFirmware) Reboot(actor string) (func(), error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.actor = actor
	if f.rebootErr != nil {
		return nil, f.rebootErr
	}
	return func() { close(f.rebooted) }, nil
}

// TestFirmwareEndpoints: the routes, the statuses each sentinel error
// chooses, the size limit (by Content-Length and while streaming), the
// token, and the reboot called only after a 202.
func TestFirmwareEndpoints(t *testing.T) {
	r := newRig(t, Limits{MaxBundle: 1000})

	// No Firmware: 404 on every endpoint.
	resp, body := r.do("GET", "/v1/firmware", nil)
	r.expect(resp, body, 404, "NotFound", "not updated through the API")
	resp, body = r.do("PUT", "/v1/firmware", strings.NewReader("x"))
	r.expect(resp, body, 404, "NotFound")
	resp, body = r.do("POST", "/v1/firmware/reboot", nil)
	r.expect(resp, body, 404, "NotFound")

	fw := &fakeFirmware{rebooted: make(chan struct{})}
	r.srv.cfg.Firmware = fw

	// Without the token: 401, the fake never called.
	for _, req := range []struct{ method, path string }{{"GET", "/v1/firmware"}, {"PUT", "/v1/firmware"}, {"POST", "/v1/firmware/reboot"}} {
		hr, _ := http.NewRequest(req.method, r.ts.URL+req.path, strings.NewReader("bundle"))
		res, err := http.DefaultClient.Do(hr)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("%s %s without a token: %d", req.method, req.path, res.StatusCode)
		}
	}
	if got, actor := fw.last(); got != nil || actor != "" {
		t.Fatal("the firmware was asked without a token")
	}

	// Methods.
	resp, body = r.do("DELETE", "/v1/firmware", nil)
	r.expect(resp, body, 405, "allowed: GET, PUT")
	resp, body = r.do("GET", "/v1/firmware/reboot", nil)
	r.expect(resp, body, 405, "MethodNotAllowed")

	// Status and a good apply.
	resp, body = r.do("GET", "/v1/firmware", nil)
	r.expect(resp, body, 200, `"booted": "b"`)
	resp, body = r.do("PUT", "/v1/firmware", strings.NewReader("the bundle"))
	r.expect(resp, body, 200, `"slot": "a"`, `"version": "1.1.0"`, `"kernel": "6.1.0-99-test"`, `"next_boot": "once"`)
	var in FirmwareInstalled
	if err := json.Unmarshal([]byte(body), &in); err != nil || in.Product != "plinth-storage-node" {
		t.Fatalf("reply %s: %+v %v", body, in, err)
	}
	if got, actor := fw.last(); string(got) != "the bundle" || !strings.HasPrefix(actor, "api 127.0.0.1:") {
		t.Fatalf("the firmware got %q from %q", got, actor)
	}

	// Every sentinel's status and code; the message is the error's.
	for _, c := range []struct {
		err    error
		status int
		code   string
	}{
		{fmt.Errorf("%w: give serve --slots", ErrFirmwareNotConfigured), 503, "FirmwareNotConfigured"},
		{fmt.Errorf("%w: no manifest", ErrBundleFormat), 400, "InvalidBundle"},
		{fmt.Errorf("%w: another key", ErrBundleSignature), 400, "BadSignature"},
		{fmt.Errorf("%w: the kernel", ErrBundleHash), 400, "BadHash"},
		{fmt.Errorf("%w: 1.0.0, running 1.1.0", ErrFirmwareDowngrade), 409, "Downgrade"},
		{fmt.Errorf("%w: for a gateway", ErrFirmwareIncompatible), 409, "Incompatible"},
		{fmt.Errorf("%w: slot a is on trial", ErrFirmwareBusy), 409, "SlotBusy"},
		{errors.New("disk on fire"), 500, "InternalError"},
	} {
		fw.set(c.err, nil)
		resp, body = r.do("PUT", "/v1/firmware", strings.NewReader("b"))
		r.expect(resp, body, c.status, `"code":"`+c.code+`"`, c.err.Error())
	}
	fw.set(nil, nil)

	// Too large: by its Content-Length before anything is read, and by
	// what is read when it comes chunked.
	resp, body = r.do("PUT", "/v1/firmware", bytes.NewReader(make([]byte, 1001)))
	r.expect(resp, body, 413, "TooLarge", "at most 1000")
	if got, _ := fw.last(); len(got) != 1 { // still the last bundle of the loop above
		t.Fatal("a bundle over the limit by its Content-Length was passed on")
	}
	resp, body = r.do("PUT", "/v1/firmware", io.MultiReader(bytes.NewReader(make([]byte, 1001))))
	r.expect(resp, body, 413, "TooLarge", "over 1000 bytes")
	resp, body = r.do("PUT", "/v1/firmware", io.MultiReader(bytes.NewReader(make([]byte, 1000))))
	r.expect(resp, body, 200, `"slot": "a"`)

	// Reboot: refused with 409 when not under init, and nothing rebooted.
	fw.set(nil, fmt.Errorf("%w: reboot the node yourself", ErrNotUnderInit))
	resp, body = r.do("POST", "/v1/firmware/reboot", nil)
	r.expect(resp, body, 409, "NotUnderInit", "not running under plinth init: reboot the node yourself")
	select {
	case <-fw.rebooted:
		t.Fatal("rebooted after a refusal")
	default:
	}
	fw.set(nil, nil)
	resp, body = r.do("POST", "/v1/firmware/reboot", nil)
	r.expect(resp, body, 202, "reboots now")
	<-fw.rebooted // the reboot ran (after the reply: the handler calls it last)
}

// TestFirmwareStatusMapping: wrapped sentinels keep their status through
// further wrapping; other errors fall back to classify.
func TestFirmwareStatusMapping(t *testing.T) {
	err := fmt.Errorf("applying: %w", fmt.Errorf("%w: x", ErrFirmwareDowngrade))
	if s, c := FirmwareStatus(err); s != 409 || c != "Downgrade" {
		t.Fatalf("%d %s", s, c)
	}
	if s, c := FirmwareStatus(context.Canceled); s != 499 || c != "ClientClosedRequest" {
		t.Fatalf("%d %s", s, c)
	}
	if s, _ := FirmwareStatus(&http.MaxBytesError{Limit: 1}); s != 413 {
		t.Fatalf("%d", s)
	}
}
