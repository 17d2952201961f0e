package events

// ringSize is how many of the newest events are kept in memory, so that the
// queries operators run most (what happened lately) read no file.
const ringSize = 1024

// ring holds the newest events in sequence order. Callers lock.
type ring struct {
	buf   []Event
	start int // index of the oldest event
	n     int
	// complete: no event older than the oldest in the ring exists (the
	// ring holds the whole journal).
	complete bool
}

func (r *ring) init(size int) {
	r.buf = make([]Event, size)
	r.complete = true
}

func (r *ring) push(e Event) {
	if r.n < len(r.buf) {
		r.buf[(r.start+r.n)%len(r.buf)] = e
		r.n++
		return
	}
	r.buf[r.start] = e
	r.start = (r.start + 1) % len(r.buf)
	r.complete = false
}

// at returns the i-th newest event (0: the newest).
func (r *ring) at(i int) *Event {
	return &r.buf[(r.start+r.n-1-i)%len(r.buf)]
}

// oldestSeq returns the sequence number of the oldest event, 0 when empty.
func (r *ring) oldestSeq() uint64 {
	if r.n == 0 {
		return 0
	}
	return r.buf[r.start].Seq
}
