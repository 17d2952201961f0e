package simtest

import (
	"strings"
	"testing"
)

func TestListAndRerun(t *testing.T) {
	s := &Seeds{pkg: "./x/", prefix: "x", main: 40, seeds: new(int), seed: new(int64), first: new(uint64)}
	*s.seed, *s.first = -1, 5
	got := s.List(40, 10)
	want := 40
	switch {
	case testing.Short():
		want = 10
	case RaceEnabled:
		want = 10
	}
	if len(got) != want || got[0] != 5 || got[len(got)-1] != uint64(5+want-1) {
		t.Fatalf("default list %v", got)
	}
	*s.seeds = 400
	if got := s.List(20, 5); len(got) != 200 {
		t.Fatalf("scaled list of %d seeds, want 200", len(got))
	}
	*s.seed = 17
	if got := s.List(20, 5); len(got) != 1 || got[0] != 17 {
		t.Fatalf("one seed: %v", got)
	}
	if r := s.Rerun("TestX", 17); !strings.Contains(r, "go test ./x/ -run '^TestX$' -x.seed=17") {
		t.Fatalf("rerun hint %q", r)
	}
}

func TestHistoryBounded(t *testing.T) {
	var h History
	for i := range 1000 {
		h.Add(strings.Repeat("x", i%3))
	}
	h.Mark("step %d", 7)
	s := h.String()
	if n := strings.Count(s, "\n\t"); n != 200 {
		t.Fatalf("%d lines shown, want 200", n)
	}
	if !strings.HasSuffix(s, "--- step 7") {
		t.Fatalf("the newest line is not last: %q", s[len(s)-20:])
	}
	if len(h.lines) > 600 {
		t.Fatalf("%d lines kept", len(h.lines))
	}
}
