package torture

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/plinth-storage/plinth/appliance"
	"github.com/plinth-storage/plinth/appliance/server"
	"github.com/plinth-storage/plinth/btree/store"
	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/io/faultdev"
	"github.com/plinth-storage/plinth/io/memdev"
	"github.com/plinth-storage/plinth/pool"
)

// The node under test: drives in memory, each behind a fault injector on
// the shared power rail.
const (
	nDrives     = 8
	segmentSize = 1 << 20
	driveSize   = 48 << 20
	stripeUnit  = 16 << 10
	// roomBytes bounds the objects a run keeps (the pool holds about
	// 8 drives * 40 MiB * 4/6 with cleaning room to spare).
	roomBytes   = 40 << 20
	drivePrefix = "torture-drive-"
)

// drive is one drive of the node across restarts.
type drive struct {
	media          *memdev.Device   // the platters; survives everything
	cur            *faultdev.Device // this life's injector (nil while closed)
	lost           bool             // fails everything; left out at the next start
	eio, misdirect float64          // transient faults, set again at each start
	slow           time.Duration
}

// rig is the node under test.
type rig struct {
	seed   uint64
	dir    string
	drives []*drive
	rail   *rail
	srv    *server.Server
	life   int // starts so far
	log    io.Writer
}

func newRig(seed uint64, dir string, log io.Writer) (*rig, error) {
	r := &rig{seed: seed, dir: dir, rail: &rail{}, log: log}
	var devs []dev.Device
	for i := range nDrives {
		m := memdev.On(drivePrefix+strconv.Itoa(i), takeMedia(), 4096)
		r.drives = append(r.drives, &drive{media: m})
		devs = append(devs, m)
	}
	if _, err := appliance.FormatNode(devs, appliance.FormatOptions{SegmentSize: segmentSize}); err != nil {
		return nil, fmt.Errorf("format the node: %w", err)
	}
	for _, d := range devs {
		d.Close()
	}
	return r, nil
}

// Runs reuse the drives' memory: allocating (and the kernel zeroing)
// 384 MiB per seed cost more than the run itself, and with the garbage
// collector paced for simulations the heap grew to many times that.
var mediaPool sync.Pool

func takeMedia() []byte {
	if b, ok := mediaPool.Get().(*[]byte); ok {
		clear(*b)
		return *b
	}
	return make([]byte, driveSize)
}

// release gives the drives' memory back for the next run. The node must
// be closed.
func (r *rig) release() {
	for _, d := range r.drives {
		b := d.media.Bytes()[:driveSize]
		mediaPool.Put(&b)
		d.media = nil
	}
}

// openDrive hands the node a drive by path: a fresh injector over the
// drive's media with the drive's faults, on the rail.
func (r *rig) openDrive(path string) (dev.Device, error) {
	i, err := strconv.Atoi(strings.TrimPrefix(path, drivePrefix))
	if err != nil || i < 0 || i >= len(r.drives) {
		return nil, fmt.Errorf("torture: no drive %q", path)
	}
	d := r.drives[i]
	fd := faultdev.New(d.media.Reopen(), r.seed*1000003+uint64(r.life)*nDrives+uint64(i))
	d.cur = fd
	d.apply()
	r.rail.drives = append(r.rail.drives, fd)
	return railed{Device: fd, r: r.rail}, nil
}

// apply arms the drive's faults on its current injector.
func (d *drive) apply() {
	fd := d.cur
	if fd == nil {
		return
	}
	fd.ClearFaults()
	if d.lost {
		for _, op := range []faultdev.Op{faultdev.OpRead, faultdev.OpWrite, faultdev.OpFlush, faultdev.OpDiscard} {
			fd.FailRate(op, 1)
		}
		return
	}
	fd.FailRate(faultdev.OpRead, d.eio)
	fd.FailRate(faultdev.OpWrite, d.eio)
	fd.MisdirectRate(d.misdirect)
	if d.slow > 0 {
		for _, op := range []faultdev.Op{faultdev.OpRead, faultdev.OpWrite, faultdev.OpFlush} {
			fd.Latency(op, d.slow, d.slow)
		}
	}
}

func (r *rig) config() server.Config {
	var paths []string
	var all []int
	for i, d := range r.drives {
		all = append(all, i)
		if !d.lost {
			paths = append(paths, drivePrefix+strconv.Itoa(i))
		}
	}
	return server.Config{
		DataDir: r.dir,
		Drives:  paths,
		Listen:  "127.0.0.1:0",
		Pools:   []server.PoolConfig{{Name: "tp", Drives: all, Layout: "4+2", Unit: stripeUnit}},
		// A failed drive is noticed after a few errors; nothing runs by
		// the clock: the harness says when.
		DriveErrorThreshold: 3,
		DriveTimeout:        server.Duration(time.Hour),
		ScrubInterval:       server.Duration(1000 * time.Hour),
		GCInterval:          server.Duration(1000 * time.Hour),
		RebuildRate:         1 << 40,
		LogLevel:            "error",
	}
}

// start opens the node.
func (r *rig) start() error {
	r.rail.drives = nil
	r.life++
	var log *slog.Logger
	if r.log != nil {
		log = slog.New(slog.NewTextHandler(r.log, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	srv, err := server.Open(r.config(), server.Options{
		Log:       log,
		OpenDrive: r.openDrive,
		Pool:      pool.Options{Cleaner: pool.CleanerOptions{Manual: true, Rate: 1 << 40}},
		Store:     store.Options{CacheBytes: 4 << 20, DirtyBytes: 1 << 20, CheckpointInterval: -1},
	})
	if err != nil {
		r.closeDrives()
		return err
	}
	r.srv = srv
	return nil
}

// stop closes the node; after a power cut its errors are expected.
func (r *rig) stop() error {
	if r.srv == nil {
		return nil
	}
	err := r.srv.Close()
	r.srv = nil
	r.closeDrives()
	return err
}

// closeDrives forgets this life's injectors (the node closed them).
func (r *rig) closeDrives() {
	for _, d := range r.drives {
		d.cur = nil
	}
}

// powerCut cuts every drive now (if the rail has not already) and stops
// the node.
func (r *rig) powerCut(mode faultdev.CutMode) {
	r.rail.cutNow(mode)
	_ = r.stop()
	r.rail.hasFired()
}

// flip flips count bits of drive i's media at rest within 256 KiB from
// fraction at of the drive: labels, journal, B-tree nodes, data, parity
// or free space, wherever that is.
func (r *rig) flip(rng *rand.Rand, i int, at float64, count int) {
	d := r.drives[i]
	size := d.media.Geometry().Size
	base := int64(at * float64(size))
	for range count {
		off := base + rng.Int64N(256<<10)
		if off >= size {
			off = size - 1
		}
		if d.cur != nil {
			d.cur.CorruptAt(off)
		} else {
			d.media.Bytes()[off] ^= 1 << rng.IntN(8)
		}
	}
}

var bg = context.Background()

func dataDir(base string, seed uint64) string {
	return filepath.Join(base, fmt.Sprintf("seed-%d", seed))
}
