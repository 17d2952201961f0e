package seg

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/io/devtest"
	"github.com/plinth-storage/plinth/io/direct"
)

// The segment on real backends: a regular file and a loop block device,
// both through O_DIRECT.

const (
	backendSize     = 8 << 20
	backendSegStart = 1 << 20
	backendSegCap   = 2 << 20
)

// drain reads a scanner to its end.
func drain(t *testing.T, s *Scanner) {
	t.Helper()
	for {
		if _, err := s.Next(); err == io.EOF {
			return
		} else if err != nil {
			t.Fatal(err)
		}
	}
}

// backendScenario writes, tears, recovers, seals and reuses a segment on
// d; reopen closes the device and opens it again, as after a restart.
func backendScenario(t *testing.T, d dev.Device, reopen func() dev.Device) dev.Device {
	t.Helper()
	loc := Location{Dev: d, Index: 2, Start: backendSegStart, Capacity: backendSegCap}
	w, err := Create(loc, testHeader(9))
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, w, 0, 10)
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	start := w.Written()
	appendN(t, w, 10, 400) // several blocks
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	recs, tail, err := scanAll(t, loc, 9)
	if err != nil {
		t.Fatal(err)
	}
	checkRecords(t, recs, 410)
	if tail.Torn || tail.End != w.Written() || tail.NextSeq != 510 {
		t.Fatalf("tail %+v, writer at %d", tail, w.Written())
	}

	// The second write's second block never reached the media.
	if _, err := d.WriteAt(dev.AlignedBuffer(4096), loc.Start+start+4096); err != nil {
		t.Fatal(err)
	}
	if err := d.Flush(); err != nil {
		t.Fatal(err)
	}
	d = reopen()
	loc.Dev = d
	recs, tail, err = scanAll(t, loc, 9)
	if err != nil {
		t.Fatal(err)
	}
	n := len(recs)
	checkRecords(t, recs, n)
	if !tail.Torn || tail.ValidEnd <= start || tail.ValidEnd >= start+8192 || n <= 10 || n >= 410 {
		t.Fatalf("torn tail %+v with %d records (the torn write starts at %d)", tail, n, start)
	}

	s, err := Scan(loc, Expect{Generation: 9})
	if err != nil {
		t.Fatal(err)
	}
	drain(t, s)
	w, err = Resume(loc, s)
	if err != nil {
		t.Fatal(err)
	}
	if w.NextSeq() != uint64(100+n) {
		t.Fatalf("resumed at sequence number %d, want %d", w.NextSeq(), 100+n)
	}
	appendN(t, w, n, 5)
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	d = reopen()
	loc.Dev = d
	recs, tail, err = scanAll(t, loc, 9)
	if err != nil {
		t.Fatal(err)
	}
	checkRecords(t, recs, n+5)
	if tail.Torn || len(tail.Skipped) != 1 || tail.Skipped[0] != s.Tail().ValidEnd {
		t.Fatalf("after the recovery: tail %+v, torn at %d", tail, s.Tail().ValidEnd)
	}

	s, err = Scan(loc, Expect{Generation: 9})
	if err != nil {
		t.Fatal(err)
	}
	drain(t, s)
	if w, err = Resume(loc, s); err != nil {
		t.Fatal(err)
	}
	f, err := w.Seal()
	if err != nil {
		t.Fatal(err)
	}
	if f.Records != uint64(n+5) || f.FirstSeq != 100 || f.LastSeq != uint64(100+n+4) {
		t.Fatalf("footer %+v", f)
	}
	d = reopen()
	loc.Dev = d
	recs, tail, err = scanAll(t, loc, 9)
	if err != nil || !tail.Sealed || tail.Footer != f {
		t.Fatalf("sealed segment: tail %+v, %v; footer %+v", tail, err, f)
	}
	checkRecords(t, recs, n+5)
	for _, at := range []int64{-1, f.DataEnd} {
		if got, err := ReadFooter(loc, Expect{Generation: 9}, at); err != nil || got != f {
			t.Fatalf("ReadFooter(%d): %+v, %v", at, got, err)
		}
	}
	s, err = Scan(loc, Expect{Generation: 9})
	if err != nil {
		t.Fatal(err)
	}
	drain(t, s)
	if _, err := Resume(loc, s); !errors.Is(err, ErrSealed) {
		t.Fatalf("resume a sealed segment: %v", err)
	}

	// Reuse: the next generation reads only its own records, the footer
	// copy of the last one is not its footer, and the old generation is
	// stale.
	w, err = Create(loc, testHeader(10))
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, w, 0, 3)
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	d = reopen()
	loc.Dev = d
	recs, tail, err = scanAll(t, loc, 10)
	if err != nil || tail.Torn || tail.Sealed {
		t.Fatalf("reused segment: tail %+v, %v", tail, err)
	}
	checkRecords(t, recs, 3)
	if _, err := ReadFooter(loc, Expect{Generation: 10}, -1); !errors.Is(err, ErrNoFooter) {
		t.Fatalf("ReadFooter of the unsealed reused segment: %v", err)
	}
	if _, _, err := scanAll(t, loc, 9); !errors.Is(err, ErrStale) {
		t.Fatalf("scan expecting the previous generation: %v", err)
	}
	return d
}

func TestBackendFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "segments.img")
	d, err := direct.Open(path, direct.Options{Create: true, Size: backendSize})
	if err != nil {
		t.Fatal(err)
	}
	if !d.Geometry().DirectIO {
		t.Logf("%s: the filesystem does not do O_DIRECT; buffered IO with fdatasync", path)
	}
	reopen := func() dev.Device {
		t.Helper()
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
		if d, err = direct.Open(path, direct.Options{}); err != nil {
			t.Fatal(err)
		}
		return d
	}
	d = backendScenario(t, d, reopen)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestBackendLoopDevice runs the scenario on a loop device with direct IO
// over a file, then reads the segment back from the file itself.
func TestBackendLoopDevice(t *testing.T) {
	file := filepath.Join(t.TempDir(), "loop.img")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(file, backendSize); err != nil {
		t.Fatal(err)
	}
	loop := devtest.LoopDevice(t, file, 0)

	d, err := direct.Open(loop, direct.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, zoned := dev.AsZoned(d); zoned || d.Geometry().Size != backendSize {
		t.Fatalf("%s: geometry %+v", loop, d.Geometry())
	}
	t.Logf("%s over %s: %d-byte logical blocks", loop, file, d.Geometry().LogicalBlockSize)
	reopen := func() dev.Device {
		t.Helper()
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
		if d, err = direct.Open(loop, direct.Options{}); err != nil {
			t.Fatal(err)
		}
		return d
	}
	d = backendScenario(t, d, reopen)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}

	// Everything the device acknowledged is in the file.
	fd, err := direct.Open(file, direct.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer fd.Close()
	loc := Location{Dev: fd, Index: 2, Start: backendSegStart, Capacity: backendSegCap}
	recs, tail, err := scanAll(t, loc, 10)
	if err != nil || tail.Torn || tail.Sealed {
		t.Fatalf("the segment read from the loop device's file: tail %+v, %v", tail, err)
	}
	checkRecords(t, recs, 3)
}
