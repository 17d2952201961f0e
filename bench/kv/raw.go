package main

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/ncw/directio"
	"golang.org/x/sys/unix"
)

// RawResult is the device under -dir measured without an engine, in the same
// run, so the engine figures can be read against it: a batch commit cannot be
// faster than one small write plus fdatasync, nor a cold get than one random
// read. All I/O is O_DIRECT (no page cache) and from one goroutine (queue
// depth 1), as the engines are driven.
type RawResult struct {
	FileMiB int `json:"file_mib"`
	// 1 MiB sequential writes, each followed by fdatasync (the file grows,
	// as a log does).
	SeqWriteMiBPerSec float64 `json:"seq_write_1mib_fdatasync_mib_per_sec"`
	SeqWriteP50Millis float64 `json:"seq_write_1mib_fdatasync_p50_ms"`
	// 4 KiB writes over the written file, each followed by fdatasync: the
	// floor of any durable commit on this device.
	SyncWritePerSec   float64 `json:"write_4kib_fdatasync_per_sec"`
	SyncWriteP50Milli float64 `json:"write_4kib_fdatasync_p50_ms"`
	SyncWriteP99Milli float64 `json:"write_4kib_fdatasync_p99_ms"`
	// 4 KiB reads at random 4 KiB-aligned offsets of the file.
	RandReadPerSec   float64 `json:"rand_read_4kib_per_sec"`
	RandReadP50Micro float64 `json:"rand_read_4kib_p50_us"`
	RandReadP99Micro float64 `json:"rand_read_4kib_p99_us"`

	Error string `json:"error,omitempty"`
}

const (
	rawBlock    = 4 << 10
	rawChunk    = 1 << 20
	rawMaxOps   = 20000
	rawMaxPhase = 5 * time.Second // per small-I/O phase, so a slow disk does not stall the run
)

// runRaw writes a file of fileMiB in dir, measures it and removes it.
func runRaw(dir string, fileMiB int, seed uint64, logf func(string, ...any)) (*RawResult, error) {
	path := filepath.Join(dir, "raw-device-reference.dat")
	f, err := directio.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("raw: open %s with O_DIRECT: %w", path, err)
	}
	defer os.Remove(path)
	defer f.Close()
	fd := int(f.Fd())
	r := &RawResult{FileMiB: fileMiB}
	rng := rand.New(rand.NewPCG(seed, 0x7261770a))

	// Random content, so a device that compresses or deduplicates gains
	// nothing; the first word changes on every write.
	buf := directio.AlignedBlock(rawChunk)
	for i := 0; i < len(buf); i += 8 {
		binary.LittleEndian.PutUint64(buf[i:], rng.Uint64())
	}

	logf("raw: %d × 1 MiB O_DIRECT writes + fdatasync", fileMiB)
	lat := make([]time.Duration, 0, fileMiB)
	var total time.Duration
	for i := range fileMiB {
		binary.LittleEndian.PutUint64(buf, rng.Uint64())
		t0 := time.Now()
		if _, err := f.WriteAt(buf, int64(i)*rawChunk); err != nil {
			return nil, fmt.Errorf("raw: sequential write at %d MiB: %w", i, err)
		}
		if err := unix.Fdatasync(fd); err != nil {
			return nil, fmt.Errorf("raw: fdatasync: %w", err)
		}
		d := time.Since(t0)
		total += d
		lat = append(lat, d)
	}
	slices.Sort(lat)
	r.SeqWriteMiBPerSec = float64(fileMiB) / total.Seconds()
	r.SeqWriteP50Millis = millis(percentile(lat, 0.5))

	blocks := int64(fileMiB) * rawChunk / rawBlock
	small := buf[:rawBlock]

	logf("raw: 4 KiB O_DIRECT writes + fdatasync")
	lat, total = lat[:0], 0
	for i := int64(0); i < rawMaxOps && total < rawMaxPhase; i++ {
		binary.LittleEndian.PutUint64(small, rng.Uint64())
		t0 := time.Now()
		if _, err := f.WriteAt(small, (i%blocks)*rawBlock); err != nil {
			return nil, fmt.Errorf("raw: 4 KiB write: %w", err)
		}
		if err := unix.Fdatasync(fd); err != nil {
			return nil, fmt.Errorf("raw: fdatasync: %w", err)
		}
		d := time.Since(t0)
		total += d
		lat = append(lat, d)
	}
	slices.Sort(lat)
	r.SyncWritePerSec = float64(len(lat)) / total.Seconds()
	r.SyncWriteP50Milli = millis(percentile(lat, 0.5))
	r.SyncWriteP99Milli = millis(percentile(lat, 0.99))

	logf("raw: 4 KiB O_DIRECT random reads")
	lat, total = lat[:0], 0
	for i := 0; i < rawMaxOps && total < rawMaxPhase; i++ {
		off := rng.Int64N(blocks) * rawBlock
		t0 := time.Now()
		if _, err := f.ReadAt(small, off); err != nil {
			return nil, fmt.Errorf("raw: 4 KiB read at %d: %w", off, err)
		}
		d := time.Since(t0)
		total += d
		lat = append(lat, d)
	}
	slices.Sort(lat)
	r.RandReadPerSec = float64(len(lat)) / total.Seconds()
	r.RandReadP50Micro = millis(percentile(lat, 0.5)) * 1000
	r.RandReadP99Micro = millis(percentile(lat, 0.99)) * 1000
	return r, nil
}
