package kv

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plinth-storage/plinth/btree/store"
	"github.com/plinth-storage/plinth/hlc"
)

func TestCreateDropList(t *testing.T) {
	n := newNode(t, "n", 1)
	k := n.kv
	if l, err := k.List(); err != nil || len(l) != 0 {
		t.Fatalf("empty store lists %v, %v", l, err)
	}
	mustCreate(t, k, "beta")
	mustCreate(t, k, "alpha")
	wantErr(t, k.Create(ctx, "alpha"), ErrExists, "create twice")
	mustPut(t, k, "alpha", "a", "1", 5)
	mustPut(t, k, "alpha", "b", "2", 5)
	mustDelete(t, k, "alpha", "c", 5) // a tombstone counts as a key
	l, err := k.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(l) != 2 || l[0].Name != "alpha" || l[1].Name != "beta" || l[0].Keys != 3 || l[1].Keys != 0 {
		t.Fatalf("list %+v", l)
	}
	for _, i := range l {
		if i.Created.IsZero() || time.Since(i.Created) > time.Minute {
			t.Fatalf("index %s created at %v", i.Name, i.Created)
		}
	}
	if err := k.Drop(ctx, "alpha"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, k.Drop(ctx, "alpha"), ErrNoIndex, "drop twice")
	wantErr(t, k.Drop(ctx, "never"), ErrNoIndex, "drop absent")
	_, err = k.Get("alpha", []byte("a"))
	wantErr(t, err, ErrNoIndex, "get from a dropped index")
	_, err = k.Put(ctx, "alpha", []byte("a"), nil, 0)
	wantErr(t, err, ErrNoIndex, "put into a dropped index")
	_, err = k.Delete(ctx, "alpha", []byte("a"), 0)
	wantErr(t, err, ErrNoIndex, "delete from a dropped index")
	_, _, err = k.Range("alpha", RangeOptions{})
	wantErr(t, err, ErrNoIndex, "range of a dropped index")
	_, err = k.Batch(ctx, "alpha", []Op{{Key: []byte("a")}})
	wantErr(t, err, ErrNoIndex, "batch into a dropped index")
	if l, _ := k.List(); len(l) != 1 || l[0].Name != "beta" {
		t.Fatalf("after drop: %+v", l)
	}
	// Created again, it is empty: the drop removed everything.
	mustCreate(t, k, "alpha")
	if got := n.all("alpha"); len(got) != 0 {
		t.Fatalf("recreated index holds %v", got)
	}
	if got := n.tombs("alpha"); len(got) != 0 {
		t.Fatalf("recreated index holds tombstones %v", got)
	}
	if _, ok, err := n.st.Get(catalogue, []byte("alpha")); err != nil || !ok {
		t.Fatalf("no catalogue record for a recreated index: %v", err)
	}
	n.check()
}

func TestIndexNames(t *testing.T) {
	n := newNode(t, "n", 1)
	good := []string{"a", "0", "dix", "a.b-c_d", "9z", strings.Repeat("x", 63)}
	bad := []string{"", "_indexes", ".a", "-a", "A", "a/b", "a b", "é", strings.Repeat("x", 64), "a\x00"}
	for _, name := range good {
		if err := n.kv.Create(ctx, name); err != nil {
			t.Errorf("create %q: %v", name, err)
		}
	}
	for _, name := range bad {
		err := n.kv.Create(ctx, name)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "[a-z0-9._-], starting with a letter or a digit") {
			t.Errorf("create %q: %v, want ErrInvalid with the rule", name, err)
		}
		_, err = n.kv.Put(ctx, name, []byte("k"), nil, 0)
		wantErr(t, err, ErrInvalid, "put into "+name)
	}
	l, err := n.kv.List()
	if err != nil || len(l) != len(good) {
		t.Fatalf("list %v %v", l, err)
	}
}

func TestOpenOptions(t *testing.T) {
	n := newNode(t, "n", 1)
	c := hlc.New(0, hlc.Options{})
	for _, o := range []Options{
		{},
		{Clock: c, MaxValue: MaxValueLimit + 1},
		{Clock: c, MaxValue: 64 << 10},
		{Clock: c, MaxKey: MaxKeyLimit + 1},
		{Clock: c, MaxKey: -1},
		{Clock: c, MaxBatch: -1},
	} {
		if _, err := Open(ctx, n.st, o); !errors.Is(err, ErrInvalid) {
			t.Errorf("open with %+v: %v, want ErrInvalid", o, err)
		}
	}
	if _, err := Open(ctx, nil, Options{Clock: c}); !errors.Is(err, ErrInvalid) {
		t.Errorf("open without a store: %v", err)
	}
	k, err := Open(ctx, n.st, Options{Clock: c})
	if err != nil {
		t.Fatal(err)
	}
	if k.opts.MaxKey != 926 || k.opts.MaxValue != 4086 || k.opts.MaxBatch != 1000 {
		t.Fatalf("defaults %+v", k.opts)
	}
}

func TestLimits(t *testing.T) {
	n := newNode(t, "n", 1)
	k := n.kv
	mustCreate(t, k, "i")
	_, err := k.Put(ctx, "i", nil, []byte("v"), 1)
	wantErr(t, err, ErrInvalid, "empty key")
	_, err = k.Delete(ctx, "i", []byte{}, 1)
	wantErr(t, err, ErrInvalid, "delete of an empty key")
	_, err = k.Put(ctx, "i", bytes.Repeat([]byte("k"), MaxKeyLimit+1), nil, 1)
	wantErr(t, err, ErrTooLarge, "key of 1025 bytes")
	_, err = k.Get("i", bytes.Repeat([]byte("k"), MaxKeyLimit+1))
	wantErr(t, err, ErrTooLarge, "get of a key of 1025 bytes")
	_, err = k.Put(ctx, "i", []byte("k"), make([]byte, MaxValueLimit+1), 1)
	wantErr(t, err, ErrTooLarge, "value too large")
	// The largest key and value fit.
	big := bytes.Repeat([]byte("k"), MaxKeyLimit)
	if _, err := k.Put(ctx, "i", big, make([]byte, MaxValueLimit), 2); err != nil {
		t.Fatal(err)
	}
	if e, err := k.Get("i", big); err != nil || len(e.Value) != MaxValueLimit {
		t.Fatalf("largest entry: %v", err)
	}
	// Smaller limits from the options.
	small, err := Open(ctx, n.st, Options{Clock: n.clock, MaxKey: 4, MaxValue: 3, MaxBatch: 2})
	if err != nil {
		t.Fatal(err)
	}
	_, err = small.Put(ctx, "i", []byte("12345"), nil, 0)
	wantErr(t, err, ErrTooLarge, "key over MaxKey")
	_, err = small.Put(ctx, "i", []byte("k"), []byte("1234"), 0)
	wantErr(t, err, ErrTooLarge, "value over MaxValue")
	_, err = small.Batch(ctx, "i", []Op{{Key: []byte("a")}, {Key: []byte("b")}, {Key: []byte("c")}})
	wantErr(t, err, ErrTooLarge, "batch over MaxBatch")
	// A client's version far ahead of the node's clock is refused.
	future := uint64(hlc.Make(n.wall.Now().Add(time.Hour), 0))
	_, err = k.Put(ctx, "i", []byte("k"), nil, future)
	wantErr(t, err, hlc.ErrDrift, "version an hour ahead")
	_, err = k.Get("i", []byte("k"))
	wantErr(t, err, ErrNotFound, "the refused put")
}

// TestVersionOrders runs every order of puts and deletes on one key and
// checks each outcome and the state after it.
func TestVersionOrders(t *testing.T) {
	type step struct {
		del     bool
		v       uint64
		sup     bool   // expect ErrSuperseded
		value   string // expected live value after the step ("" with tomb)
		version uint64 // expected version of the state after it
		tomb    bool
	}
	put := func(v uint64, sup bool, value string, ver uint64, tomb bool) step {
		return step{v: v, sup: sup, value: value, version: ver, tomb: tomb}
	}
	del := func(v uint64, sup bool, ver uint64) step {
		return step{del: true, v: v, sup: sup, version: ver, tomb: true}
	}
	cases := map[string][]step{
		"newer put":                {put(10, false, "10", 10, false), put(20, false, "20", 20, false)},
		"older put after newer":    {put(20, false, "20", 20, false), put(10, true, "20", 20, false)},
		"same put replayed":        {put(10, false, "10", 10, false), put(10, true, "10", 10, false)},
		"put after delete, older":  {del(20, false, 20), put(10, true, "", 20, true)},
		"put after delete, same":   {del(20, false, 20), put(20, true, "", 20, true)},
		"put after delete, newer":  {del(20, false, 20), put(30, false, "30", 30, false)},
		"delete of same as value":  {put(10, false, "10", 10, false), del(10, false, 10)},
		"delete older than value":  {put(10, false, "10", 10, false), {del: true, v: 5, sup: true, value: "10", version: 10}},
		"delete replay":            {put(10, false, "10", 10, false), del(20, false, 20), del(20, true, 20)},
		"older delete after newer": {del(20, false, 20), del(10, true, 20)},
		"newer delete":             {del(10, false, 10), del(20, false, 20)},
		"delete of absent key":     {del(7, false, 7)},
		"replay of a whole story": {put(10, false, "10", 10, false), del(20, false, 20),
			put(10, true, "", 20, true), del(20, true, 20), put(30, false, "30", 30, false),
			put(10, true, "30", 30, false), {del: true, v: 20, sup: true, value: "30", version: 30},
			put(30, true, "30", 30, false)},
	}
	n := newNode(t, "n", 1)
	for name, steps := range cases {
		index := strings.ReplaceAll(strings.ReplaceAll(name, " ", "-"), ",", "")
		mustCreate(t, n.kv, index)
		for i, s := range steps {
			var err error
			var got uint64
			if s.del {
				got, err = n.kv.Delete(ctx, index, []byte("k"), s.v)
			} else {
				got, err = n.kv.Put(ctx, index, []byte("k"), fmt.Append(nil, s.v), s.v)
			}
			if s.sup != errors.Is(err, ErrSuperseded) || (!s.sup && err != nil) {
				t.Fatalf("%s step %d: error %v, superseded expected %v", name, i, err, s.sup)
			}
			if got != s.v {
				t.Fatalf("%s step %d: version %d, want %d", name, i, got, s.v)
			}
			if s.sup && !strings.Contains(err.Error(), fmt.Sprintf("has version %d", s.version)) {
				t.Fatalf("%s step %d: %v does not name the stored version", name, i, err)
			}
			e, err := n.kv.Get(index, []byte("k"))
			if s.tomb {
				wantErr(t, err, ErrNotFound, fmt.Sprintf("%s step %d", name, i))
				if !strings.Contains(err.Error(), fmt.Sprintf("deleted at version %d", s.version)) {
					t.Fatalf("%s step %d: %v", name, i, err)
				}
			} else if err != nil || string(e.Value) != s.value || e.Version != s.version {
				t.Fatalf("%s step %d: %q@%d %v, want %q@%d", name, i, e.Value, e.Version, err, s.value, s.version)
			}
		}
	}
	_, err := n.kv.Get("newer-put", []byte("absent"))
	if !errors.Is(err, ErrNotFound) || strings.Contains(err.Error(), "deleted") {
		t.Fatalf("absent key: %v", err)
	}
	n.check()
}

func TestAssignedVersions(t *testing.T) {
	n := newNode(t, "n", 1)
	mustCreate(t, n.kv, "i")
	v1 := mustPut(t, n.kv, "i", "a", "1", 0)
	v2 := mustPut(t, n.kv, "i", "a", "2", 0)
	if v1 == 0 || v2 <= v1 {
		t.Fatalf("assigned versions %d then %d", v1, v2)
	}
	if got := hlc.Timestamp(v1).Time(); !got.Equal(epoch) {
		t.Fatalf("assigned version's time %v, want the wall clock %v", got, epoch)
	}
	// A client's version moves the clock: what it assigns next is above.
	client := uint64(hlc.Make(epoch.Add(time.Minute), 5))
	mustPut(t, n.kv, "i", "b", "c", client)
	if v := mustDelete(t, n.kv, "i", "b", 0); v <= client {
		t.Fatalf("assigned delete %d not above the client's %d", v, client)
	}
	// A clock that restarted behind the stored versions (no ceiling
	// persisted) still assigns versions that win.
	mustPut(t, n.kv, "i", "c", "future", client+100)
	n.openKV() // a new clock at the same wall time, floor 0
	v := mustPut(t, n.kv, "i", "c", "now", 0)
	if v <= client+100 {
		t.Fatalf("assigned %d, not above the stored %d", v, client+100)
	}
	wantEntry(t, n.kv, "i", "c", "now", v)
	rs, err := n.kv.Batch(ctx, "i", []Op{{Key: []byte("d"), Value: []byte("x")}, {Key: []byte("d"), Delete: true}})
	if err != nil || rs[0].Superseded || rs[1].Superseded || rs[1].Version <= rs[0].Version {
		t.Fatalf("assigned batch %+v %v", rs, err)
	}
	_, err = n.kv.Get("i", []byte("d"))
	wantErr(t, err, ErrNotFound, "put then delete in a batch")
}

func TestBatchAtomic(t *testing.T) {
	n := newNode(t, "n", 1)
	mustCreate(t, n.kv, "i")
	mustPut(t, n.kv, "i", "keep", "old", 5)
	bad := map[string]struct {
		op   Op
		want error
	}{
		"empty key":        {Op{Value: []byte("v")}, ErrInvalid},
		"key too long":     {Op{Key: make([]byte, 1025)}, ErrTooLarge},
		"value too large":  {Op{Key: []byte("z"), Value: make([]byte, MaxValueLimit+1)}, ErrTooLarge},
		"delete with data": {Op{Delete: true, Key: []byte("z"), Value: []byte("v")}, ErrInvalid},
	}
	for name, b := range bad {
		ops := []Op{
			{Key: []byte("a"), Value: []byte("1"), Version: 10},
			{Key: []byte("keep"), Value: []byte("new"), Version: 10},
			{Delete: true, Key: []byte("b"), Version: 10},
			b.op,
		}
		rs, err := n.kv.Batch(ctx, "i", ops)
		wantErr(t, err, b.want, name)
		if rs != nil {
			t.Fatalf("%s: results %v with an error", name, rs)
		}
		if got := n.all("i"); !slices.Equal(got, []string{"keep@5=old"}) {
			t.Fatalf("%s: index holds %v after a failed batch", name, got)
		}
		if got := n.tombs("i"); len(got) != 0 {
			t.Fatalf("%s: tombstones %v after a failed batch", name, got)
		}
	}
	ops := make([]Op, DefaultMaxBatch+1)
	for i := range ops {
		ops[i] = Op{Key: fmt.Appendf(nil, "k%d", i), Version: 10}
	}
	_, err := n.kv.Batch(ctx, "i", ops)
	wantErr(t, err, ErrTooLarge, "too many ops")
	if got := n.all("i"); len(got) != 1 {
		t.Fatalf("index holds %v after a batch of too many ops", got)
	}
	// A full batch of the maximum size commits, all or nothing.
	rs, err := n.kv.Batch(ctx, "i", ops[:DefaultMaxBatch])
	if err != nil || len(rs) != DefaultMaxBatch {
		t.Fatal(len(rs), err)
	}
	if got := n.all("i"); len(got) != DefaultMaxBatch+1 {
		t.Fatalf("%d entries", len(got))
	}
	// A batch the journal cannot hold in one transaction is ErrTooLarge,
	// and nothing of it is committed.
	big := make([]Op, DefaultMaxBatch)
	for i := range big {
		big[i] = Op{Key: fmt.Appendf(nil, "big%04d", i), Value: make([]byte, MaxValueLimit), Version: 20}
	}
	_, err = n.kv.Batch(ctx, "i", big)
	wantErr(t, err, ErrTooLarge, "batch larger than a journal transaction")
	if _, err := n.kv.Get("i", []byte("big0000")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a refused batch left big0000: %v", err)
	}
	n.check()
}

func TestBatchSuperseded(t *testing.T) {
	n := newNode(t, "n", 1)
	mustCreate(t, n.kv, "i")
	mustPut(t, n.kv, "i", "a", "a20", 20)
	mustDelete(t, n.kv, "i", "b", 20)
	rs, err := n.kv.Batch(ctx, "i", []Op{
		{Key: []byte("a"), Value: []byte("a10"), Version: 10},  // older than the value
		{Key: []byte("b"), Value: []byte("b20"), Version: 20},  // same as the tombstone
		{Key: []byte("c"), Value: []byte("c5"), Version: 5},    // new key
		{Key: []byte("c"), Value: []byte("c6"), Version: 6},    // same key, in order
		{Delete: true, Key: []byte("c"), Version: 6},           // delete of the same version wins
		{Key: []byte("c"), Value: []byte("c6bis"), Version: 6}, // then superseded by it
		{Key: []byte("d"), Value: []byte("d9"), Version: 9},    //
		{Key: []byte("d"), Value: []byte("d8"), Version: 8},    // older than the batch's own put
		{Delete: true, Key: []byte("a"), Version: 30},          // newer delete
		{Key: []byte("a"), Value: []byte("a30"), Version: 30},  // superseded by it
		{Key: []byte("e"), Value: []byte("e1"), Version: 1},    //
		{Delete: true, Key: []byte("e"), Version: 1},           //
		{Delete: true, Key: []byte("e"), Version: 1},           // a replay within the batch
		{Key: []byte("f"), Value: []byte("f40"), Version: 40},  //
		{Key: []byte("f"), Value: []byte("f41"), Version: 41},  //
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []bool{true, true, false, false, false, true, false, true, false, true, false, false, true, false, false}
	for i, r := range rs {
		if r.Superseded != want[i] {
			t.Fatalf("op %d: superseded %v, want %v (%+v)", i, r.Superseded, want[i], rs)
		}
	}
	if got := n.all("i"); !slices.Equal(got, []string{"d@9=d9", "f@41=f41"}) {
		t.Fatalf("live %v", got)
	}
	if got := n.tombs("i"); !slices.Equal(got, []string{"a@30", "b@20", "c@6", "e@1"}) {
		t.Fatalf("tombstones %v", got)
	}
	// A batch of only superseded ops commits nothing and fails nothing.
	before := n.st.Stats().Journal.Commits
	rs, err = n.kv.Batch(ctx, "i", []Op{{Key: []byte("a"), Version: 1}, {Delete: true, Key: []byte("c"), Version: 6}})
	if err != nil || !rs[0].Superseded || !rs[1].Superseded {
		t.Fatalf("%+v %v", rs, err)
	}
	if after := n.st.Stats().Journal.Commits; after != before {
		t.Fatalf("a batch of superseded ops committed (%d -> %d)", before, after)
	}
	if rs, err := n.kv.Batch(ctx, "i", nil); err != nil || len(rs) != 0 {
		t.Fatalf("empty batch: %v %v", rs, err)
	}
}

func TestRange(t *testing.T) {
	n := newNode(t, "n", 1)
	k := n.kv
	mustCreate(t, k, "i")
	var ops []Op
	for _, key := range []string{"a", "b/1", "b/2", "b/3", "b/4", "b/5", "b0", "c", "\xff", "\xff\xff"} {
		ops = append(ops, Op{Key: []byte(key), Value: []byte("v" + key), Version: 10})
	}
	if _, err := k.Batch(ctx, "i", ops); err != nil {
		t.Fatal(err)
	}
	mustDelete(t, k, "i", "b/3", 11)
	mustDelete(t, k, "i", "b/9", 11) // a tombstone without a value
	keys := func(es []Entry) []string {
		var out []string
		for _, e := range es {
			out = append(out, string(e.Key))
			if string(e.Value) != "v"+string(e.Key) || e.Version != 10 {
				t.Fatalf("entry %q=%q@%d", e.Key, e.Value, e.Version)
			}
		}
		return out
	}
	cases := []struct {
		o    RangeOptions
		want []string
		next string
	}{
		{RangeOptions{}, []string{"a", "b/1", "b/2", "b/4", "b/5", "b0", "c", "\xff", "\xff\xff"}, ""},
		{RangeOptions{Prefix: []byte("b/")}, []string{"b/1", "b/2", "b/4", "b/5"}, ""},
		{RangeOptions{Prefix: []byte("b/"), Limit: 2}, []string{"b/1", "b/2"}, "b/4"},
		{RangeOptions{Prefix: []byte("b/"), From: []byte("b/3"), Limit: 2}, []string{"b/4", "b/5"}, ""},
		{RangeOptions{Prefix: []byte("b/"), From: []byte("a")}, []string{"b/1", "b/2", "b/4", "b/5"}, ""},
		{RangeOptions{Prefix: []byte("b/"), From: []byte("b/2x")}, []string{"b/4", "b/5"}, ""},
		{RangeOptions{Prefix: []byte("b/"), From: []byte("c")}, nil, ""},
		{RangeOptions{From: []byte("b0"), Limit: 1}, []string{"b0"}, "c"},
		{RangeOptions{Prefix: []byte("\xff")}, []string{"\xff", "\xff\xff"}, ""},
		{RangeOptions{Prefix: []byte("zz")}, nil, ""},
		{RangeOptions{Limit: 100000}, []string{"a", "b/1", "b/2", "b/4", "b/5", "b0", "c", "\xff", "\xff\xff"}, ""},
		// Reverse: From is the upper end, inclusive.
		{RangeOptions{Reverse: true}, []string{"\xff\xff", "\xff", "c", "b0", "b/5", "b/4", "b/2", "b/1", "a"}, ""},
		{RangeOptions{Reverse: true, Prefix: []byte("b/")}, []string{"b/5", "b/4", "b/2", "b/1"}, ""},
		{RangeOptions{Reverse: true, Prefix: []byte("b/"), Limit: 2}, []string{"b/5", "b/4"}, "b/2"},
		{RangeOptions{Reverse: true, Prefix: []byte("b/"), From: []byte("b/3")}, []string{"b/2", "b/1"}, ""},
		{RangeOptions{Reverse: true, Prefix: []byte("b/"), From: []byte("b/")}, nil, ""},
		{RangeOptions{Reverse: true, Prefix: []byte("b/"), From: []byte("z")}, []string{"b/5", "b/4", "b/2", "b/1"}, ""},
		{RangeOptions{Reverse: true, From: []byte("b0"), Limit: 1}, []string{"b0"}, "b/5"},
		{RangeOptions{Reverse: true, Prefix: []byte("\xff")}, []string{"\xff\xff", "\xff"}, ""},
	}
	for i, c := range cases {
		es, next, err := k.Range("i", c.o)
		if err != nil {
			t.Fatal(err)
		}
		if got := keys(es); !slices.Equal(got, c.want) || string(next) != c.next || (c.next == "") != (next == nil) {
			t.Fatalf("case %d %+v: %q next %q, want %q next %q", i, c.o, got, next, c.want, c.next)
		}
	}
	// Continuation walks the whole prefix, one entry at a time, both ways.
	for _, rev := range []bool{false, true} {
		var got []string
		var from []byte
		for calls := 0; ; calls++ {
			if calls > 10 {
				t.Fatal("continuation does not end")
			}
			es, next, err := k.Range("i", RangeOptions{Prefix: []byte("b/"), From: from, Limit: 1, Reverse: rev})
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, keys(es)...)
			if next == nil {
				break
			}
			from = next
		}
		want := []string{"b/1", "b/2", "b/4", "b/5"}
		if rev {
			slices.Reverse(want)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("reverse %v: continuation gave %q", rev, got)
		}
	}
	_, _, err := k.Range("i", RangeOptions{Limit: -1})
	wantErr(t, err, ErrInvalid, "negative limit")
	_, _, err = k.Range("nope", RangeOptions{})
	wantErr(t, err, ErrNoIndex, "range of an absent index")
	if got := n.tombs("i"); !slices.Equal(got, []string{"b/3@11", "b/9@11"}) {
		t.Fatalf("tombstones %v", got)
	}
	// A range over more tombstones than one call looks at comes back in
	// pieces and still ends.
	mustCreate(t, k, "t")
	for i := 0; i < scanBudget+10; i += 1000 {
		var ops []Op
		for j := i; j < min(i+1000, scanBudget+10); j++ {
			ops = append(ops, Op{Delete: true, Key: fmt.Appendf(nil, "k%06d", j), Version: 1})
		}
		if _, err := k.Batch(ctx, "t", ops); err != nil {
			t.Fatal(err)
		}
	}
	mustPut(t, k, "t", "z", "vz", 10)
	es, next, err := k.Range("t", RangeOptions{})
	if err != nil || len(es) != 0 || next == nil {
		t.Fatalf("first call over tombstones: %d entries, next %q, %v", len(es), next, err)
	}
	if got := n.all("t"); !slices.Equal(got, []string{"z@10=vz"}) {
		t.Fatalf("range over tombstones %v", got)
	}
}

func TestCollectTombstones(t *testing.T) {
	n := newNode(t, "n", 1)
	k := n.kv
	mustCreate(t, k, "i")
	mustCreate(t, k, "j")
	// Deletes at the fake wall time epoch, on keys with and without values.
	for i := range 600 {
		key := fmt.Sprintf("old%04d", i)
		if i%2 == 0 {
			mustPut(t, k, "i", key, "v", 0)
		}
		mustDelete(t, k, "i", key, 0)
	}
	mustDelete(t, k, "j", "old", 0)
	mustPut(t, k, "i", "live", "v", 0)
	// An hour later: more deletes, and a live value.
	n.wall.Set(epoch.Add(time.Hour))
	young := mustDelete(t, k, "i", "young", 0)
	mustPut(t, k, "j", "live", "v", 0)

	_, err := k.CollectTombstones(ctx, -time.Second, n.wall.Now())
	wantErr(t, err, ErrInvalid, "negative horizon")
	// A horizon longer than their age keeps them all.
	if got, err := k.CollectTombstones(ctx, 2*time.Hour, n.wall.Now()); err != nil || got != 0 {
		t.Fatalf("collected %d, %v, within the horizon", got, err)
	}
	got, err := k.CollectTombstones(ctx, 30*time.Minute, n.wall.Now())
	if err != nil || got != 601 {
		t.Fatalf("collected %d, %v, want 601", got, err)
	}
	if ts := n.tombs("i"); !slices.Equal(ts, []string{fmt.Sprintf("young@%d", young)}) {
		t.Fatalf("tombstones left in i: %v", ts)
	}
	if ts := n.tombs("j"); len(ts) != 0 {
		t.Fatalf("tombstones left in j: %v", ts)
	}
	if l := n.all("i"); len(l) != 1 || !strings.HasPrefix(l[0], "live@") {
		t.Fatalf("live entries of i: %v", l)
	}
	if l := n.all("j"); len(l) != 1 {
		t.Fatalf("live entries of j: %v", l)
	}
	// Collected keys are absent, not deleted.
	_, err = k.Get("i", []byte("old0000"))
	if !errors.Is(err, ErrNotFound) || strings.Contains(err.Error(), "deleted") {
		t.Fatalf("collected key: %v", err)
	}
	if got, err := k.CollectTombstones(ctx, 30*time.Minute, n.wall.Now()); err != nil || got != 0 {
		t.Fatalf("second collection %d %v", got, err)
	}
	n.check()
}

// TestConcurrentSameKey races writers with random versions on a few keys;
// the newest version of each key wins, whatever the order. Run with -race.
func TestConcurrentSameKey(t *testing.T) {
	n := newNode(t, "n", 1)
	mustCreate(t, n.kv, "i")
	const writers, each, keys = 8, 40, 3
	var mu sync.Mutex
	maxV := map[string]uint64{}
	maxDel := map[string]bool{}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for range each {
				key := fmt.Sprintf("k%d", rng.IntN(keys))
				v := uint64(1 + rng.IntN(1<<20))
				del := rng.IntN(5) == 0
				var err error
				if del {
					_, err = n.kv.Delete(ctx, "i", []byte(key), v)
				} else {
					_, err = n.kv.Put(ctx, "i", []byte(key), fmt.Append(nil, v), v)
				}
				if err != nil && !errors.Is(err, ErrSuperseded) {
					t.Error(err)
					return
				}
				mu.Lock()
				if v > maxV[key] || v == maxV[key] && del {
					maxV[key], maxDel[key] = v, del
				}
				mu.Unlock()
			}
		}()
	}
	// Writers of other keys run alongside.
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if _, err := n.kv.Put(ctx, "i", fmt.Appendf(nil, "other%d-%d", w, i), nil, 0); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	for key, v := range maxV {
		e, err := n.kv.Get("i", []byte(key))
		if maxDel[key] {
			if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), fmt.Sprintf("deleted at version %d", v)) {
				t.Fatalf("%s: %v, want deleted at %d", key, err, v)
			}
			continue
		}
		if err != nil || e.Version != v || string(e.Value) != fmt.Sprint(v) {
			t.Fatalf("%s = %q@%d %v, want version %d", key, e.Value, e.Version, err, v)
		}
	}
	if l := n.all("i"); len(l) < 4*each {
		t.Fatalf("%d live entries", len(l))
	}
	n.check()
}

func TestReopen(t *testing.T) {
	n := newNode(t, "n", 1)
	mustCreate(t, n.kv, "i")
	mustCreate(t, n.kv, "j")
	mustPut(t, n.kv, "i", "a", "1", 10)
	mustPut(t, n.kv, "i", "b", "2", 10)
	mustDelete(t, n.kv, "i", "b", 11)
	mustDelete(t, n.kv, "j", "gone", 12)
	mustCreate(t, n.kv, "dropped")
	if err := n.kv.Drop(ctx, "dropped"); err != nil {
		t.Fatal(err)
	}
	before, _ := n.kv.List()
	verify := func(when string) {
		t.Helper()
		if got := n.all("i"); !slices.Equal(got, []string{"a@10=1"}) {
			t.Fatalf("%s: i holds %v", when, got)
		}
		if got := n.tombs("i"); !slices.Equal(got, []string{"b@11"}) {
			t.Fatalf("%s: i tombstones %v", when, got)
		}
		if got := n.tombs("j"); !slices.Equal(got, []string{"gone@12"}) {
			t.Fatalf("%s: j tombstones %v", when, got)
		}
		after, err := n.kv.List()
		if err != nil || len(after) != 2 {
			t.Fatalf("%s: list %v %v", when, after, err)
		}
		for i := range after {
			if after[i].Name != before[i].Name || !after[i].Created.Equal(before[i].Created) || after[i].Keys != before[i].Keys {
				t.Fatalf("%s: list %+v, was %+v", when, after, before)
			}
		}
		// Versions still rule after the restart.
		_, err = n.kv.Put(ctx, "i", []byte("b"), nil, 11)
		wantErr(t, err, ErrSuperseded, when+": put at the tombstone's version")
		n.check()
	}
	n.cleanRestart()
	verify("clean restart")
	// A power cut: everything acknowledged is in the journal.
	n.reboot()
	verify("power cut")
}

// TestReconcile: a crash between the two commits of Create or Drop leaves a
// tree without a record, or a record without a tree; Open repairs both.
func TestReconcile(t *testing.T) {
	n := newNode(t, "n", 1)
	if err := n.st.CreateTree(ctx, treeName("orphan"), ""); err != nil {
		t.Fatal(err)
	}
	b := store.NewBatch()
	b.Put(catalogue, []byte("ghost"), encodeRecord(epoch))
	if _, err := n.st.Commit(ctx, b); err != nil {
		t.Fatal(err)
	}
	n.openKV()
	l, err := n.kv.List()
	if err != nil || len(l) != 1 || l[0].Name != "orphan" || l[0].Created.IsZero() {
		t.Fatalf("list %+v %v", l, err)
	}
	if _, ok, _ := n.st.Get(catalogue, []byte("ghost")); ok {
		t.Fatal("the record of a dropped index survived Open")
	}
	if _, ok, _ := n.st.Get(catalogue, []byte("orphan")); !ok {
		t.Fatal("no record for the orphan tree")
	}
}

// TestCorruptState: bytes in an index tree that are not a valid state are
// errors wrapping store.ErrCorrupt, from every reader, never a panic.
func TestCorruptState(t *testing.T) {
	n := newNode(t, "n", 1)
	mustCreate(t, n.kv, "i")
	b := store.NewBatch()
	b.Put(treeName("i"), []byte("bad"), []byte{9, 9, 9})
	b.Put(catalogue, []byte("i"), []byte{1, 2})
	if _, err := n.st.Commit(ctx, b); err != nil {
		t.Fatal(err)
	}
	_, err := n.kv.Get("i", []byte("bad"))
	wantErr(t, err, store.ErrCorrupt, "get")
	_, _, err = n.kv.Range("i", RangeOptions{})
	wantErr(t, err, store.ErrCorrupt, "range")
	_, err = n.kv.Put(ctx, "i", []byte("bad"), nil, 100)
	wantErr(t, err, store.ErrCorrupt, "put over a corrupt state")
	_, err = n.kv.List()
	wantErr(t, err, store.ErrCorrupt, "list with a corrupt record")
}
