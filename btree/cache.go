package btree

import (
	"encoding/binary"
	"fmt"
	"sync"
	"unsafe"
)

// NodeReader reads encoded nodes from the media for a Cache.
type NodeReader interface {
	// ReadNode reads the encoded bytes of the node at addr (addr.Len
	// bytes) whose checksum the pointer says is sum. A reader with several
	// copies (mirrors) uses Verify(b, sum) to pass over a copy that is
	// damaged, misdirected or stale and read the next one; the cache
	// verifies whatever it returns. It reads into a new buffer it does
	// not reuse: the cache keeps it, and the keys and values of the
	// decoded node alias it.
	ReadNode(addr Addr, sum uint64) ([]byte, error)
}

// CacheStats describes a Cache. Hits plus Misses is the number of Loads.
type CacheStats struct {
	Hits      uint64 // Loads answered from the cache (a mismatching expectation included)
	Misses    uint64 // Loads that did not find the node: each read it, or waited for a concurrent read of it
	Evictions uint64 // entries dropped to make room for others
	Bytes     uint64 // the accounted size of the cached entries: never above Limit
	Nodes     uint64 // cached entries
	Limit     uint64 // the bound on Bytes
}

// Accounting. An entry costs the buffer the node was read into (its keys
// and values alias it), plus the slice decoding allocated (one Entry or
// Child, slice headers and pointer, per entry), plus a fixed overhead for
// the Node (72 bytes), the cache entry (80) and its map slot, rounded up.
// The decoded slice has to count: a 16 KiB leaf of 3-byte entries decodes
// into some 5,400 Entry values of 48 bytes, 16 times its encoded size,
// and a bound that left them out would not bound memory.
const (
	cacheEntryOverhead = 256
	entrySliceCost     = int64(unsafe.Sizeof(Entry{}))
	childSliceCost     = int64(unsafe.Sizeof(Child{}))
)

// entryCost is what a cached node counts against the limit.
func entryCost(n *Node, encoded int) int64 {
	return int64(encoded) + cacheEntryOverhead +
		int64(cap(n.Entries))*entrySliceCost + int64(cap(n.Children))*childSliceCost
}

// Sharding (see Cache).
const (
	// minShardBytes: no shard gets a smaller share of the limit. Every
	// node the format allows costs less (at most MaxNode bytes plus its
	// decoded slice: some 1.1 MiB for a 64 KiB leaf of the smallest
	// entries), so sharding never makes a node uncacheable that the
	// whole limit could hold, and a shard holds enough nodes for its LRU
	// order to mean something.
	minShardBytes = 4 << 20
	maxShards     = 64
)

// shardsFor is the number of shards for a limit: the largest power of two
// up to maxShards that leaves each shard at least minShardBytes.
func shardsFor(limit int64) int {
	n := 1
	for n < maxShards && limit/int64(2*n) >= minShardBytes {
		n *= 2
	}
	return n
}

// Cache is a Loader that keeps decoded nodes in memory, bounded in bytes:
// the only memory it holds is its entries, accounted within the limit,
// plus a constant (its shards) and, while reads are in flight, the nodes
// being read. It never maps the media into memory: it reads nodes
// through a NodeReader.
//
// Entries are keyed by the node's address and checksum (at most one
// checksum per address: an address holds one node at a time). A node is
// immutable once written (copy-on-write), so a hit needs no re-reading
// nor re-hashing. It does need the node to be the one the Load expects:
// an entry keeps the Expect it was verified against, and a hit whose
// expectation differs in tree, level or generation fails with ErrMismatch
// as Decode would (the checksum covers those fields, so no other
// expectation could succeed). The comparator is not compared: the keys'
// order was verified under the comparator of the Load that read the
// node, and the expectation names the tree, which has a single
// comparator.
//
// The checksum is expect.Sum, the one Decode verifies (the tree passes
// the pointer's). A Load whose checksum differs from the entry at its
// address is a miss: it reads the media, and if the node there now has
// that checksum, it replaces the entry.
//
// Eviction is least recently used. An exact LRU writes on every hit
// (moving the entry to the front of its list), so hits take a mutex. A
// single one would serialize readers on many cores, so a large cache is
// split into up to 64 shards by a hash of the address, each an exact LRU
// with its own mutex, map and list, and an equal share of the limit; a
// shard's critical section is a map lookup and a few pointer writes. A
// cache below twice minShardBytes has one shard: an exact LRU over the
// whole limit. The shards' shares add up to at most the limit, and each
// shard evicts before it inserts, under its lock, so Bytes never exceeds
// Limit; the only memory beyond it is the node each read in flight holds
// before its entry is inserted. A node costing more than a shard's share
// (for one shard, more than the whole limit) is returned but not cached.
// BenchmarkCacheHitParallel on 2 CPUs: hits on random nodes take about
// 145 ns with one shard (more than the 105 ns of one CPU: the mutex
// contends) and 80 ns with 64 shards. All readers of a tree go through
// its root, whose shard sees every lookup: hits on a single node take
// about 60 ns either way, as the shard's mutex is then the shared state.
//
// Concurrent Loads of the same node (same address and expectation) read
// it once: the first reads and decodes it, the others wait for its
// result. Failures — read errors, ErrCorrupt, ErrMismatch — are returned
// wrapped with the address and never cached.
type Cache struct {
	r      NodeReader
	limit  int64
	shift  uint // a hash's top bits pick the shard
	shards []cacheShard
}

type cacheShard struct {
	mu      sync.Mutex
	limit   int64
	bytes   int64
	entries map[Addr]*cacheEntry
	lru     cacheEntry // sentinel of the list: lru.next is the most recently used entry, lru.prev the least
	flights map[flightKey]*flight
	epoch   uint64 // counts Forgets: a read begun before one does not insert its node

	hits, misses, evictions uint64

	_ [64]byte // keeps the next shard's mutex off this shard's cache lines
}

type cacheEntry struct {
	prev, next *cacheEntry
	addr       Addr
	expect     Expect // what the node was verified against
	node       *Node
	cost       int64
}

// flightKey names a read in flight: concurrent Loads with the same key
// share its result, errors included.
type flightKey struct {
	addr   Addr
	expect Expect
}

type flight struct {
	done chan struct{} // closed once node and err are set
	node *Node
	err  error
}

// NewCache returns a cache holding at most limitBytes of nodes (a limit
// below zero counts as zero: nothing is cached) read through r.
func NewCache(limitBytes int64, r NodeReader) *Cache {
	return newCache(limitBytes, r, shardsFor(limitBytes))
}

// newCache is NewCache with a number of shards, a power of two.
func newCache(limit int64, r NodeReader, shards int) *Cache {
	if r == nil {
		panic("btree: NewCache without a NodeReader")
	}
	if shards < 1 || shards&(shards-1) != 0 {
		panic(fmt.Sprintf("btree: %d cache shards, not a power of two", shards))
	}
	limit = max(limit, 0)
	c := &Cache{r: r, limit: limit, shift: 64, shards: make([]cacheShard, shards)}
	for n := shards; n > 1; n >>= 1 {
		c.shift--
	}
	for i := range c.shards {
		s := &c.shards[i]
		s.limit = limit / int64(shards)
		s.entries = make(map[Addr]*cacheEntry)
		s.flights = make(map[flightKey]*flight)
		s.lru.prev, s.lru.next = &s.lru, &s.lru
	}
	return c
}

func (c *Cache) shard(a Addr) *cacheShard {
	h := (a.Off ^ uint64(a.Set)*0xff51afd7ed558ccd) * 0x9e3779b97f4a7c15
	return &c.shards[h>>c.shift] // a shift by 64 is 0: one shard
}

// Load returns the node p points at, verified against expect and ordered
// by cmp: from the cache, or read through the NodeReader and decoded.
func (c *Cache) Load(p Ptr, expect Expect, cmp Compare) (*Node, error) {
	a := p.Addr
	s := c.shard(a)
	s.mu.Lock()
	if e := s.entries[a]; e != nil && e.expect.Sum == expect.Sum {
		s.hits++
		s.touch(e)
		s.mu.Unlock()
		// e's fields other than its links never change.
		if e.expect != expect {
			return nil, wrapAddr(a, mismatch(e.expect, expect))
		}
		return e.node, nil
	}
	s.misses++
	k := flightKey{a, expect}
	if f := s.flights[k]; f != nil {
		s.mu.Unlock()
		<-f.done
		return f.node, f.err
	}
	f := &flight{done: make(chan struct{})}
	s.flights[k] = f
	epoch := s.epoch
	s.mu.Unlock()
	return c.read(s, k, f, epoch, cmp)
}

// read performs flight f: it reads and decodes the node, caches it, and
// hands the result to the Loads waiting for it.
func (c *Cache) read(s *cacheShard, k flightKey, f *flight, epoch uint64, cmp Compare) (*Node, error) {
	landed := false
	defer func() {
		if landed {
			return
		}
		// ReadNode or the comparator panicked: release the waiters
		// with an error and let the panic go on.
		f.err = wrapAddr(k.addr, fmt.Errorf("reading the node panicked"))
		s.mu.Lock()
		delete(s.flights, k)
		s.mu.Unlock()
		close(f.done)
	}()
	n, size, err := c.readNode(k.addr, k.expect, cmp)
	if err != nil {
		err = wrapAddr(k.addr, err)
	}
	f.node, f.err = n, err
	s.mu.Lock()
	delete(s.flights, k)
	if err == nil && s.epoch == epoch {
		s.insert(k.addr, k.expect, n, entryCost(n, size))
	}
	s.mu.Unlock()
	landed = true
	close(f.done)
	return n, err
}

// readNode reads and decodes the node at a, and returns its encoded size.
func (c *Cache) readNode(a Addr, expect Expect, cmp Compare) (*Node, int, error) {
	if a.Len < nodeHeaderSize || a.Len > MaxNode {
		return nil, 0, fmt.Errorf("%w: the pointer gives a node %d bytes long", ErrCorrupt, a.Len)
	}
	b, err := c.r.ReadNode(a, expect.Sum)
	if err != nil {
		return nil, 0, err
	}
	if len(b) != int(a.Len) {
		return nil, 0, fmt.Errorf("%w: the reader returned %d bytes for a node of %d", ErrCorrupt, len(b), a.Len)
	}
	n, err := Decode(b, expect, cmp)
	if err != nil {
		return nil, 0, err
	}
	// Decode accepts bytes after the node; the pointer's length is the
	// node's (Flush makes sure of that).
	if size := binary.LittleEndian.Uint32(b[24:]); size != a.Len {
		return nil, 0, fmt.Errorf("%w: a node of %d bytes where the pointer says %d", ErrCorrupt, size, a.Len)
	}
	return n, len(b), nil
}

func wrapAddr(a Addr, err error) error {
	return fmt.Errorf("node cache: node at %s: %w", addrString(a), err)
}

// mismatch is Decode's error for a node verified against got (of the
// same checksum) when want is expected.
func mismatch(got, want Expect) error {
	switch {
	case got.Tree != want.Tree:
		return fmt.Errorf("%w: node of tree %d, want tree %d", ErrMismatch, got.Tree, want.Tree)
	case got.Level != want.Level:
		return fmt.Errorf("%w: node at level %d, want %d", ErrMismatch, got.Level, want.Level)
	default:
		return fmt.Errorf("%w: node of generation %d, the pointer says %d", ErrMismatch, got.Gen, want.Gen)
	}
}

// Forget drops the entry of the node at addr, if any: its space is being
// reused. Reads in flight in the same shard then do not cache what they
// read (it may be the old contents), so once Forget returns, a stale
// pointer to the old node is not answered from the cache: it reads the
// media, and fails with ErrMismatch once the space holds another node.
func (c *Cache) Forget(addr Addr) {
	s := c.shard(addr)
	s.mu.Lock()
	if e := s.entries[addr]; e != nil {
		s.remove(e)
	}
	s.epoch++
	s.mu.Unlock()
}

// Stats returns the counters, summed over the shards.
func (c *Cache) Stats() CacheStats {
	st := CacheStats{Limit: uint64(c.limit)}
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		st.Hits += s.hits
		st.Misses += s.misses
		st.Evictions += s.evictions
		st.Bytes += uint64(s.bytes)
		st.Nodes += uint64(len(s.entries))
		s.mu.Unlock()
	}
	return st
}

// insert caches n at a, evicting least recently used entries to make
// room. It replaces the entry of another checksum at a (the node the
// media holds now). Called with s.mu held.
func (s *cacheShard) insert(a Addr, expect Expect, n *Node, cost int64) {
	if old := s.entries[a]; old != nil {
		s.remove(old)
	}
	if cost > s.limit {
		return
	}
	for s.bytes+cost > s.limit {
		s.remove(s.lru.prev)
		s.evictions++
	}
	e := &cacheEntry{addr: a, expect: expect, node: n, cost: cost}
	s.entries[a] = e
	s.bytes += cost
	s.pushFront(e)
}

func (s *cacheShard) remove(e *cacheEntry) {
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = nil, nil
	delete(s.entries, e.addr)
	s.bytes -= e.cost
}

func (s *cacheShard) pushFront(e *cacheEntry) {
	e.prev, e.next = &s.lru, s.lru.next
	e.next.prev = e
	s.lru.next = e
}

// touch makes e the most recently used entry.
func (s *cacheShard) touch(e *cacheEntry) {
	if s.lru.next == e {
		return
	}
	e.prev.next, e.next.prev = e.next, e.prev
	s.pushFront(e)
}
