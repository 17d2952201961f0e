package stripe

import (
	"errors"
	"math"
	"testing"
)

func TestLayoutValidate(t *testing.T) {
	good := []Layout{
		{1, 0, BlockSize}, {1, 31, BlockSize}, {31, 1, MaxUnit}, {16, 16, 128 << 10},
		{4, 2, 1 << 20}, {32, 0, BlockSize},
	}
	for _, l := range good {
		if err := l.Validate(); err != nil {
			t.Errorf("%v: %v", l, err)
		}
		if _, err := New(l); err != nil {
			t.Errorf("New(%v): %v", l, err)
		}
	}
	bad := []Layout{
		{0, 2, BlockSize}, {-1, 2, BlockSize}, {4, -1, BlockSize}, {32, 1, BlockSize}, {1, 32, BlockSize},
		{math.MaxInt, math.MaxInt, BlockSize}, {4, math.MaxInt, BlockSize},
		{4, 2, 0}, {4, 2, -BlockSize}, {4, 2, 1000}, {4, 2, BlockSize + 512},
		{4, 2, MaxUnit + BlockSize}, {4, 2, math.MaxInt},
	}
	for _, l := range bad {
		err := l.Validate()
		if !errors.Is(err, ErrLayout) {
			t.Errorf("%v: Validate = %v, want ErrLayout", l, err)
		}
		if c, err := New(l); !errors.Is(err, ErrLayout) || c != nil {
			t.Errorf("New(%v) = %v, %v, want ErrLayout", l, c, err)
		}
	}
}

func TestLayoutString(t *testing.T) {
	for l, want := range map[Layout]string{
		{8, 3, 128 << 10}: "8+3/128KiB",
		{4, 2, 1 << 20}:   "4+2/1MiB",
		{1, 0, 1000}:      "1+0/1000B",
	} {
		if got := l.String(); got != want {
			t.Errorf("%#v.String() = %q, want %q", l, got, want)
		}
	}
}
