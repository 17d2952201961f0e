package hw

import (
	"math/rand"
	"reflect"
	"sort"
	"testing"
)

func TestLessName(t *testing.T) {
	want := []string{
		"loop1", "loop2", "loop10",
		"nvme0n1", "nvme0n2", "nvme0n10", "nvme1n1", "nvme10n1",
		"sda", "sda1", "sda2", "sda10", "sdb", "sdz", "sdaa", "sdab", "sdba", "sdzz", "sdaaa",
		"vda", "vdb",
		"xvda",
	}
	got := append([]string(nil), want...)
	r := rand.New(rand.NewSource(1))
	for i := 0; i < 20; i++ {
		r.Shuffle(len(got), func(i, j int) { got[i], got[j] = got[j], got[i] })
		sort.Slice(got, func(i, j int) bool { return lessName(got[i], got[j]) })
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("sorted\n %q\nwant\n %q", got, want)
		}
	}
	// Names that differ only in leading zeros still have an order.
	if lessName("x01", "x1") == lessName("x1", "x01") {
		t.Error("x01 and x1 are not ordered")
	}
	if lessName("sda", "sda") {
		t.Error("sda < sda")
	}
}
