package dev

import (
	"math/bits"
	"sync"

	"github.com/ncw/directio"
)

// BufferAlign is the memory alignment of every buffer this package hands
// out. It covers every logical block size Plinth supports (512 and 4096).
const BufferAlign = directio.AlignSize

// AlignedBuffer returns a zeroed buffer of n bytes aligned to BufferAlign.
func AlignedBuffer(n int) []byte {
	if n == 0 {
		return nil
	}
	// AlignedBlock over-allocates to align; cap the slice at n so that
	// capacity means the buffer's size (the pool's size classes rely on it).
	return directio.AlignedBlock(n)[:n:n]
}

// BufferPool recycles aligned buffers by power-of-two size class so that hot
// paths allocate nothing. Buffers of at most MaxPooled bytes are pooled;
// larger ones are allocated and dropped.
type BufferPool struct {
	classes [maxClass + 1]sync.Pool
}

const (
	minClass  = 12 // 4 KiB
	maxClass  = 24 // 16 MiB
	MaxPooled = 1 << maxClass
)

// Get returns an aligned buffer of exactly n bytes. Its contents are
// undefined (a recycled buffer is not zeroed).
func (bp *BufferPool) Get(n int) []byte {
	if n <= 0 {
		return nil
	}
	c := class(n)
	if c > maxClass {
		return AlignedBuffer(n)
	}
	if v := bp.classes[c].Get(); v != nil {
		return (*(v.(*[]byte)))[:n]
	}
	return AlignedBuffer(1 << c)[:n]
}

// Put returns a buffer obtained from Get. Putting any other buffer is
// allowed only if it came from AlignedBuffer with a power-of-two size.
func (bp *BufferPool) Put(b []byte) {
	c := cap(b)
	if c == 0 || c&(c-1) != 0 || c > MaxPooled || c < 1<<minClass || !IsAligned(b[:1], BufferAlign) {
		return
	}
	b = b[:c]
	bp.classes[bits.TrailingZeros(uint(c))].Put(&b)
}

func class(n int) int {
	c := bits.Len(uint(n - 1))
	if c < minClass {
		c = minClass
	}
	return c
}
