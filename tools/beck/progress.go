package beck

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// The progress record: in the tree ProgressTree of the store the rebuild
// creates, committed in the same transactions as the work it describes
// (doc.go specifies it byte by byte).

// ProgressTree is the metadata tree of a rebuild under way: its progress
// record, and the objects found lost so far. A store that has it is a
// rebuild to resume; the last step drops it.
const ProgressTree = "beck/progress"

// stagingTree is the tree where the scan puts every record of pool
// name's logs, for the index phase to resolve.
func stagingTree(name string) string { return "beck/staging/" + name }

var progressKey = []byte("progress")

// lostPrefix starts the keys of the lost owners: pool name, a zero byte,
// the owner.
var lostPrefix = []byte("lost/")

// Phases as the progress record numbers them.
const (
	stepSetup  = 1 // the fresh store's node, pool and allocator records
	stepScan   = 2 // reading the logs into the staging trees
	stepIndex  = 3 // resolving the staging trees into the pools' indexes
	stepTables = 4 // live bytes, buckets, clock; staging trees dropped
	stepVerify = 5 // the pools opened and checked
)

// Counters are the figures of a rebuild, kept across interruptions.
type Counters struct {
	BytesScanned   int64 `json:"bytes_scanned"`   // stream bytes read from the logs
	Records        int64 `json:"records"`         // records found
	DamagedStripes int64 `json:"damaged_stripes"` // stripes that could not be read whole
	Objects        int64 `json:"owners"`          // owners restored with data
	Tombstones     int64 `json:"tombstones"`      // owners restored deleted
	NoAttrs        int64 `json:"without_attributes"`
	Older          int64 `json:"older_versions"` // restored at an older version than the newest found
	Lost           int64 `json:"lost"`           // owners with data in the log and no version to restore
}

func (c *Counters) fields() []*int64 {
	return []*int64{&c.BytesScanned, &c.Records, &c.DamagedStripes, &c.Objects, &c.Tombstones, &c.NoAttrs, &c.Older, &c.Lost}
}

// progress is the decoded progress record.
type progress struct {
	step     byte
	scanSet  int   // the set being scanned, by its number in discovery order
	scanOff  int64 // the stream offset the scan of that set goes on from
	digest   [32]byte
	started  int64 // Unix ns of the first run
	counters Counters
	idxPool  int    // the pool being indexed, by number
	idxOwner []byte // the last owner indexed in it (nil: none yet)
}

const progressFixed = 126

func (p progress) encode() []byte {
	b := make([]byte, progressFixed, progressFixed+len(p.idxOwner))
	b[0], b[1] = 1, p.step
	binary.BigEndian.PutUint32(b[4:], uint32(p.scanSet))
	binary.BigEndian.PutUint64(b[8:], uint64(p.scanOff))
	copy(b[16:48], p.digest[:])
	binary.BigEndian.PutUint64(b[48:], uint64(p.started))
	for i, f := range p.counters.fields() {
		binary.BigEndian.PutUint64(b[56+8*i:], uint64(*f))
	}
	binary.BigEndian.PutUint32(b[120:], uint32(p.idxPool))
	binary.BigEndian.PutUint16(b[124:], uint16(len(p.idxOwner)))
	return append(b, p.idxOwner...)
}

func decodeProgress(b []byte) (progress, error) {
	var p progress
	if len(b) < progressFixed || b[0] != 1 {
		return p, fmt.Errorf("progress record of %d bytes, version %d: not one this binary wrote", len(b), firstByte(b))
	}
	if b[2] != 0 || b[3] != 0 || b[1] < stepSetup || b[1] > stepVerify {
		return p, fmt.Errorf("progress record: step %d, reserved %x", b[1], b[2:4])
	}
	p.step = b[1]
	p.scanSet = int(binary.BigEndian.Uint32(b[4:]))
	p.scanOff = int64(binary.BigEndian.Uint64(b[8:]))
	copy(p.digest[:], b[16:48])
	p.started = int64(binary.BigEndian.Uint64(b[48:]))
	for i, f := range p.counters.fields() {
		*f = int64(binary.BigEndian.Uint64(b[56+8*i:]))
	}
	p.idxPool = int(binary.BigEndian.Uint32(b[120:]))
	n := int(binary.BigEndian.Uint16(b[124:]))
	if len(b) != progressFixed+n || p.scanOff < 0 {
		return p, fmt.Errorf("progress record of %d bytes with an owner of %d", len(b), n)
	}
	if n > 0 {
		p.idxOwner = bytes.Clone(b[progressFixed:])
	}
	return p, nil
}

func firstByte(b []byte) int {
	if len(b) == 0 {
		return -1
	}
	return int(b[0])
}

// lostKey is the key of a lost owner of a pool.
func lostKey(poolName string, owner []byte) []byte {
	k := append(bytes.Clone(lostPrefix), poolName...)
	k = append(k, 0)
	return append(k, owner...)
}

// parseLostKey splits a lost owner's key.
func parseLostKey(k []byte) (poolName string, owner []byte, ok bool) {
	rest, found := bytes.CutPrefix(k, lostPrefix)
	if !found {
		return "", nil, false
	}
	name, owner, found := bytes.Cut(rest, []byte{0})
	return string(name), owner, found && len(owner) > 0
}
