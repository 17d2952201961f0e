package btree

import "sync"

// A flush merges every buffered leaf with its base on the media, and a
// checkpoint after many random puts has a base to read for most leaves
// of the tree. Read one at a time, in the flush's order, those reads
// would make the checkpoint as slow as the device's latency times the
// number of leaves; basePrefetch reads them ahead, several at once, in
// that order, a bounded window ahead of the writer (so the memory it
// holds is prefetchWindow leaves at most, whatever the tree's size).
const (
	prefetchReaders = 16
	prefetchWindow  = 64
)

// basePrefetch reads the root bases (on the media) of the buffered
// leaves of a snapshot in the order the flush writes them.
type basePrefetch struct {
	t     *Tree
	ptrs  []Ptr
	slots []chan baseRead // one per pointer, buffered
	next  int             // the writer's next slot
	free  chan struct{}   // window tokens: one per slot the writer may still have to take
	quit  chan struct{}
	wg    sync.WaitGroup
}

type baseRead struct {
	n   *mnode
	err error
}

// prefetchBases starts reading the root bases of the buffered leaves
// below n, in write order; nil if there are none.
func (t *Tree) prefetchBases(n *mnode) *basePrefetch {
	var ptrs []Ptr
	var walk func(n *mnode)
	walk = func(n *mnode) {
		if n.buf != nil {
			if p, ok := rootBase(n); ok {
				ptrs = append(ptrs, p)
			}
			return
		}
		for _, c := range n.mem {
			if c != nil {
				walk(c)
			}
		}
	}
	walk(n)
	if len(ptrs) < 2 {
		return nil // nothing to overlap
	}
	pf := &basePrefetch{t: t, ptrs: ptrs, slots: make([]chan baseRead, len(ptrs)), free: make(chan struct{}, prefetchWindow), quit: make(chan struct{})}
	for i := range pf.slots {
		pf.slots[i] = make(chan baseRead, 1)
	}
	for range prefetchWindow {
		pf.free <- struct{}{}
	}
	jobs := make(chan int)
	pf.wg.Add(1)
	go func() { // hands out slots in order, within the window
		defer pf.wg.Done()
		defer close(jobs)
		for i := range ptrs {
			select {
			case <-pf.free:
			case <-pf.quit:
				return
			}
			select {
			case jobs <- i:
			case <-pf.quit:
				return
			}
		}
	}()
	for range min(prefetchReaders, len(ptrs)) {
		pf.wg.Add(1)
		go func() {
			defer pf.wg.Done()
			for i := range jobs {
				n, err := t.load(ptrs[i], 0)
				pf.slots[i] <- baseRead{n, err}
			}
		}()
	}
	return pf
}

// take returns the next root base read, which must be p's (the writer
// goes in the order the prefetch was planned in); nil when it is not, or
// there is no prefetch: the writer then reads p itself.
func (pf *basePrefetch) take(p Ptr) (*mnode, error) {
	if pf == nil || pf.next >= len(pf.ptrs) || pf.ptrs[pf.next] != p {
		return nil, nil
	}
	r := <-pf.slots[pf.next]
	pf.next++
	pf.free <- struct{}{}
	return r.n, r.err
}

// stop ends the prefetch and waits for the reads in flight.
func (pf *basePrefetch) stop() {
	if pf == nil {
		return
	}
	close(pf.quit)
	pf.wg.Wait()
}
