package alloc

import "fmt"

// MaxWidth bounds the members of a set (N+K or M), which keeps a set
// entry within a B-tree value.
const MaxWidth = 64

// Layout is how a set protects its stream: N data and K parity members
// (Reed-Solomon, Data and Parity), or M identical copies (Copies).
// Exactly one of the two forms is set.
type Layout struct {
	Data, Parity int // erasure-coded: N+K
	Copies       int // mirrored: M
}

// EC is an erasure-coded layout of n data and k parity members.
func EC(n, k int) Layout { return Layout{Data: n, Parity: k} }

// Mirror is a layout of m copies.
func Mirror(m int) Layout { return Layout{Copies: m} }

// Mirrored reports whether the layout is a mirror.
func (l Layout) Mirrored() bool { return l.Copies > 0 }

// Width is the number of members, hence of distinct drives, a set takes.
func (l Layout) Width() int {
	if l.Mirrored() {
		return l.Copies
	}
	return l.Data + l.Parity
}

// Validate checks the layout.
func (l Layout) Validate() error {
	switch {
	case l.Copies < 0 || l.Data < 0 || l.Parity < 0:
		return fmt.Errorf("%w: layout %+v has a negative count", ErrInvalid, l)
	case l.Copies > 0 && (l.Data != 0 || l.Parity != 0):
		return fmt.Errorf("%w: layout %+v is both mirrored and erasure-coded", ErrInvalid, l)
	case l.Copies == 0 && l.Data == 0:
		return fmt.Errorf("%w: layout %+v has no data members", ErrInvalid, l)
	case l.Width() > MaxWidth:
		return fmt.Errorf("%w: layout %s has %d members, at most %d", ErrInvalid, l, l.Width(), MaxWidth)
	}
	return nil
}

func (l Layout) String() string {
	if l.Mirrored() {
		return fmt.Sprintf("%d-way mirror", l.Copies)
	}
	return fmt.Sprintf("%d+%d", l.Data, l.Parity)
}

// capacity is the bytes of stream a set holds when its smallest member
// segment holds seg bytes.
func (l Layout) capacity(seg int64) int64 {
	if l.Mirrored() {
		return seg
	}
	return int64(l.Data) * seg
}

// memberSize is the bytes each member segment must hold for a set of
// capacity c (the inverse of capacity).
func (l Layout) memberSize(c int64) int64 {
	if l.Mirrored() || c <= 0 {
		return c
	}
	n := int64(l.Data)
	return c/n + min(c%n, 1)
}

// share is what each member holds of a set's live bytes: the stream is
// spread over the N data members, and parity units are as large as data
// units; every mirror copy holds all of it.
func (l Layout) share(live int64) int64 {
	if l.Mirrored() || live <= 0 {
		return live
	}
	n := int64(l.Data)
	return live/n + min(live%n, 1)
}

// usable converts raw bytes (spread over all members) into stream bytes.
func (l Layout) usable(raw int64) int64 {
	if l.Mirrored() {
		return raw / int64(l.Copies)
	}
	// Segment-sized quantities times N can overflow only beyond 2^63/64
	// bytes; divide first to stay exact enough and safe.
	w := int64(l.Width())
	return raw/w*int64(l.Data) + raw%w*int64(l.Data)/w
}
