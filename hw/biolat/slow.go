package biolat

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/cilium/ebpf/ringbuf"
)

// SlowIO is one request slower than Options.Slow.
type SlowIO struct {
	Dev     uint32
	Op      Op
	Latency time.Duration
	Sector  uint64
	Bytes   uint32
}

func (s SlowIO) String() string {
	return fmt.Sprintf("drive %s: %s of %d bytes at sector %d took %v", DevString(s.Dev), s.Op, s.Bytes, s.Sector, s.Latency)
}

// ErrClosed: the probe was closed.
var ErrClosed = errors.New("biolat: probe closed")

// NextSlow waits for the next slow request. It returns ErrClosed once the
// probe is closed, and an error when Options.Slow was not set.
func (p *Probe) NextSlow() (SlowIO, error) {
	if p.ring == nil {
		return SlowIO{}, errors.New("biolat: no slow-IO threshold was set")
	}
	rec, err := p.ring.Read()
	if errors.Is(err, ringbuf.ErrClosed) {
		return SlowIO{}, ErrClosed
	}
	if err != nil {
		return SlowIO{}, fmt.Errorf("biolat: slow-IO ring: %w", err)
	}
	var e probesSlowIo
	if err := binary.Read(bytes.NewReader(rec.RawSample), binary.NativeEndian, &e); err != nil {
		return SlowIO{}, fmt.Errorf("biolat: slow-IO event: %w", err)
	}
	return SlowIO{Dev: e.Dev, Op: Op(min(e.Op, uint32(Other))), Latency: time.Duration(e.LatNs), Sector: e.Sector, Bytes: e.Bytes}, nil
}
