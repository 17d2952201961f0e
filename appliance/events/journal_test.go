package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func open(t *testing.T, dir string, o Options) *Journal {
	t.Helper()
	j, err := Open(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = j.Close() })
	return j
}

func query(t *testing.T, j *Journal, f Filter) []Event {
	t.Helper()
	evs, err := j.Query(f)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func seqs(evs []Event) []uint64 {
	var s []uint64
	for _, e := range evs {
		s = append(s, e.Seq)
	}
	return s
}

func sameSeqs(t *testing.T, what string, evs []Event, want ...uint64) {
	t.Helper()
	if got := seqs(evs); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s: seqs %v, want %v", what, got, want)
	}
}

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func TestEmitQuery(t *testing.T) {
	j := open(t, t.TempDir(), Options{})
	stripe := int64(7)
	j.Emit(Event{Time: t0, Severity: Info, Kind: "node-start", Source: "node", Detail: "up"})
	j.Emit(Event{Time: t0.Add(time.Second), Severity: Warning, Kind: "degraded-read", Source: "pool", Pool: "p0", Set: 3, Stripe: &stripe})
	j.Emit(Event{Time: t0.Add(2 * time.Second), Severity: Error, Kind: "drive-failed", Source: "pool", Pool: "p0", Drive: "sdb"})
	j.Emit(Event{Time: t0.Add(3 * time.Second), Severity: Critical, Kind: "read-only", Source: "metadata"})
	j.Emit(Event{Time: t0.Add(4 * time.Second), Kind: "object-deleted", Source: "console", Pool: "p1", Actor: "alice"})
	if err := j.Sync(); err != nil {
		t.Fatal(err)
	}
	all := query(t, j, Filter{})
	sameSeqs(t, "all", all, 1, 2, 3, 4, 5)
	if all[4].Severity != Info || all[4].Actor != "alice" || *all[1].Stripe != 7 || all[1].Set != 3 {
		t.Errorf("fields not kept: %+v", all)
	}
	sameSeqs(t, "after 3", query(t, j, Filter{AfterSeq: 3}), 4, 5)
	sameSeqs(t, "since", query(t, j, Filter{Since: t0.Add(2 * time.Second)}), 3, 4, 5)
	sameSeqs(t, "kinds", query(t, j, Filter{Kinds: []string{"drive-failed", "node-start"}}), 1, 3)
	sameSeqs(t, "min warning", query(t, j, Filter{MinSeverity: Warning}), 2, 3, 4)
	sameSeqs(t, "min error", query(t, j, Filter{MinSeverity: Error}), 3, 4)
	sameSeqs(t, "pool", query(t, j, Filter{Pool: "p0"}), 2, 3)
	sameSeqs(t, "drive", query(t, j, Filter{Drive: "sdb"}), 3)
	sameSeqs(t, "limit keeps the newest", query(t, j, Filter{Limit: 2}), 4, 5)
	sameSeqs(t, "none", query(t, j, Filter{Pool: "nope"}))
	if _, err := j.Query(Filter{MinSeverity: "loud"}); err == nil {
		t.Error("a filter with an unknown severity was accepted")
	}
	if s := j.Stats(); s.LastSeq != 5 || s.Emitted != 5 || s.Written != 5 || s.Dropped != 0 {
		t.Errorf("stats %+v", s)
	}
}

func TestDefaultLimit(t *testing.T) {
	j := open(t, t.TempDir(), Options{})
	for i := range 150 {
		j.Emit(Event{Kind: "k", Source: "node", Detail: fmt.Sprint(i)})
	}
	if err := j.Sync(); err != nil {
		t.Fatal(err)
	}
	evs := query(t, j, Filter{})
	if len(evs) != DefaultLimit || evs[0].Seq != 51 || evs[len(evs)-1].Seq != 150 {
		t.Fatalf("got %d events, seqs %d..%d; want the newest %d", len(evs), evs[0].Seq, evs[len(evs)-1].Seq, DefaultLimit)
	}
}

func TestNormalize(t *testing.T) {
	j := open(t, t.TempDir(), Options{Now: func() time.Time { return t0 }})
	j.Emit(Event{Kind: "a", Source: "node"})
	j.Emit(Event{Kind: "b", Source: "node", Severity: "loud", Detail: "x"})
	j.Emit(Event{Kind: "c", Source: "node", Detail: strings.Repeat("é", MaxDetail)})
	if err := j.Sync(); err != nil {
		t.Fatal(err)
	}
	evs := query(t, j, Filter{})
	if evs[0].Severity != Info || !evs[0].Time.Equal(t0) {
		t.Errorf("defaults not filled: %+v", evs[0])
	}
	if evs[1].Severity != Error || !strings.Contains(evs[1].Detail, `unknown severity "loud"`) {
		t.Errorf("unknown severity: %+v", evs[1])
	}
	if d := evs[2].Detail; len(d) > MaxDetail || !strings.HasSuffix(d, "[cut]") || !strings.HasPrefix(d, "éé") {
		t.Errorf("long detail: %d bytes, ends %q", len(d), d[max(len(d)-10, 0):])
	}
	// The disk holds the same: reopen and read back.
	j.Close()
	j2 := open(t, j.Dir(), Options{})
	if evs2 := query(t, j2, Filter{}); fmt.Sprint(evs2) != fmt.Sprint(evs) {
		t.Errorf("after reopen:\n%v\nwant\n%v", evs2, evs)
	}
}

func TestRestartContinuesSeq(t *testing.T) {
	dir := t.TempDir()
	j := open(t, dir, Options{})
	for range 5 {
		j.Emit(Event{Kind: "k", Source: "node"})
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	j = open(t, dir, Options{})
	if s := j.Stats().LastSeq; s != 5 {
		t.Fatalf("LastSeq after reopen = %d, want 5", s)
	}
	j.Emit(Event{Kind: "k2", Source: "node"})
	if err := j.Sync(); err != nil {
		t.Fatal(err)
	}
	sameSeqs(t, "after restart", query(t, j, Filter{}), 1, 2, 3, 4, 5, 6)
	if j.Stats().RepairedBytes != 0 {
		t.Error("a clean journal was repaired")
	}
}

func TestTornTail(t *testing.T) {
	for _, tail := range []string{
		`{"seq":4,"time":"2025-01-02T03:0`,     // torn mid-line
		`{"seq":4,"kind":"k","source":"node"}`, // whole object, newline lost
		"garbage\n",                            // a whole garbage line
		string(make([]byte, 8192)),             // zeros a crash left
		"not json\n\x00\x00{\"se",              // several kinds at once
	} {
		dir := t.TempDir()
		j := open(t, dir, Options{})
		for range 3 {
			j.Emit(Event{Kind: "k", Source: "node"})
		}
		if err := j.Close(); err != nil {
			t.Fatal(err)
		}
		name := filepath.Join(dir, FileName)
		good, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteString(tail); err != nil {
			t.Fatal(err)
		}
		f.Close()

		j = open(t, dir, Options{})
		if err := j.Sync(); err != nil {
			t.Fatal(err)
		}
		if s := j.Stats(); s.RepairedBytes != int64(len(tail)) {
			t.Errorf("tail %q: repaired %d bytes, want %d", tail, s.RepairedBytes, len(tail))
		}
		evs := query(t, j, Filter{})
		sameSeqs(t, "after repair", evs, 1, 2, 3, 4)
		if last := evs[len(evs)-1]; last.Kind != KindRepaired || last.Severity != Warning || !strings.Contains(last.Detail, fmt.Sprintf("cut %d bytes", len(tail))) {
			t.Errorf("repair event: %+v", last)
		}
		now, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(now), string(good)) || strings.Count(string(now), "\n") != 4 {
			t.Errorf("file after repair:\n%s", now)
		}
		j.Close()
	}
}

func TestAllGarbage(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, FileName), []byte("\x00\x01 junk\nmore junk"), 0o600); err != nil {
		t.Fatal(err)
	}
	j := open(t, dir, Options{})
	if err := j.Sync(); err != nil {
		t.Fatal(err)
	}
	evs := query(t, j, Filter{})
	if len(evs) != 1 || evs[0].Seq != 1 || evs[0].Kind != KindRepaired {
		t.Fatalf("got %v, want only the repair event", evs)
	}
}

// writeLines writes n events (seqs from..from+n-1) to a file, with bad lines
// after the given seqs.
func writeLines(t *testing.T, name string, from, n uint64, badAfter map[uint64]string) {
	t.Helper()
	var b strings.Builder
	for s := from; s < from+n; s++ {
		line, err := json.Marshal(Event{Seq: s, Time: t0, Severity: Info, Kind: "k", Source: "node"})
		if err != nil {
			t.Fatal(err)
		}
		b.Write(line)
		b.WriteByte('\n')
		if bad, ok := badAfter[s]; ok {
			b.WriteString(bad)
		}
	}
	if err := os.WriteFile(name, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestGarbageInTheMiddle(t *testing.T) {
	dir := t.TempDir()
	long := strings.Repeat("x", 3*maxLine) + "\n"
	writeLines(t, filepath.Join(dir, OldFileName), 1, 1000, map[uint64]string{10: "garbage\n", 20: long})
	writeLines(t, filepath.Join(dir, FileName), 1001, 1000, map[uint64]string{1500: "{\"seq\":\n", 1999: "\n"})
	j := open(t, dir, Options{})
	if s := j.Stats(); s.RepairedBytes != 0 || s.LastSeq != 2000 {
		t.Fatalf("stats after open %+v", s)
	}
	evs := query(t, j, Filter{Limit: 5000})
	if len(evs) != 2000 {
		t.Fatalf("got %d events, want 2000", len(evs))
	}
	for i, e := range evs {
		if e.Seq != uint64(i+1) {
			t.Fatalf("event %d has seq %d", i, e.Seq)
		}
	}
	if bad := j.Stats().BadLines; bad < 4 {
		t.Errorf("BadLines = %d, want the 4 bad lines counted", bad)
	}
	// A query the ring answers reads no file.
	before := j.Stats().BadLines
	sameSeqs(t, "recent", query(t, j, Filter{Limit: 2}), 1999, 2000)
	if j.Stats().BadLines != before {
		t.Error("a recent query read the files")
	}
	// A query that stops early: AfterSeq inside the old file.
	if evs := query(t, j, Filter{AfterSeq: 995, Limit: 5000}); len(evs) != 1005 || evs[0].Seq != 996 {
		t.Errorf("AfterSeq 995: %d events from %d", len(evs), evs[0].Seq)
	}
}

func TestRotation(t *testing.T) {
	dir := t.TempDir()
	const maxBytes = 256 << 10 // about 1200 events a file: the files hold more than the ring
	j := open(t, dir, Options{MaxBytes: maxBytes})
	const n = 6000
	for i := range n {
		j.Emit(Event{Kind: "rotation-test", Source: "node", Pool: "p0", Detail: fmt.Sprintf("event number %d", i)})
		if i%500 == 0 {
			if err := j.Sync(); err != nil { // keep the queue from overflowing
				t.Fatal(err)
			}
		}
	}
	if err := j.Sync(); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() > maxBytes {
			t.Errorf("%s is %d bytes, over %d", e.Name(), fi.Size(), maxBytes)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v", e.Name(), fi.Mode())
		}
	}
	if fmt.Sprint(names) != fmt.Sprint([]string{FileName, OldFileName}) {
		t.Fatalf("files %v, want the current and one old", names)
	}
	s := j.Stats()
	if s.Rotations < 2 || s.Dropped != 0 || s.Written != n {
		t.Fatalf("stats %+v", s)
	}
	firstCur := firstSeq(t, filepath.Join(dir, FileName))
	firstOld := firstSeq(t, filepath.Join(dir, OldFileName))
	evs := query(t, j, Filter{Limit: n})
	if len(evs) <= ringSize || evs[0].Seq != firstOld || evs[len(evs)-1].Seq != n || firstOld >= firstCur {
		t.Fatalf("query got %d events %d..%d; files start at %d (old) and %d (current)", len(evs), evs[0].Seq, evs[len(evs)-1].Seq, firstOld, firstCur)
	}
	for i := 1; i < len(evs); i++ {
		if evs[i].Seq != evs[i-1].Seq+1 {
			t.Fatalf("gap between %d and %d", evs[i-1].Seq, evs[i].Seq)
		}
	}
	// Restart: the ring loads from both files, seq goes on.
	j.Close()
	j = open(t, dir, Options{MaxBytes: maxBytes})
	if got := query(t, j, Filter{Limit: n}); len(got) != len(evs) {
		t.Errorf("after restart %d events, want %d", len(got), len(evs))
	}
	j.Emit(Event{Kind: "k", Source: "node"})
	j.Sync()
	if s := j.Stats().LastSeq; s != n+1 {
		t.Errorf("LastSeq %d, want %d", s, n+1)
	}
}

func firstSeq(t *testing.T, name string) uint64 {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(string(b), "\n")
	e, ok := parse([]byte(first))
	if !ok {
		t.Fatalf("%s starts with %q", name, first)
	}
	return e.Seq
}

func TestDropped(t *testing.T) {
	j := open(t, t.TempDir(), Options{Buffer: 1})
	j.ringMu.Lock() // the writer stops at its first event
	j.Emit(Event{Kind: "first", Source: "node"})
	for deadline := time.Now().Add(5 * time.Second); len(j.q) != 0; {
		if time.Now().After(deadline) {
			t.Fatal("the writer did not take the first event")
		}
		time.Sleep(time.Millisecond)
	}
	j.Emit(Event{Kind: "second", Source: "node"}) // fills the queue
	for range 5 {
		j.Emit(Event{Kind: "lost", Source: "node"})
	}
	if s := j.Stats(); s.Dropped != 5 || s.Emitted != 2 {
		t.Errorf("stats %+v, want 5 dropped", s)
	}
	j.ringMu.Unlock()
	if err := j.Sync(); err != nil {
		t.Fatal(err)
	}
	evs := query(t, j, Filter{})
	var kinds []string
	for _, e := range evs {
		kinds = append(kinds, e.Kind)
	}
	if fmt.Sprint(kinds) != "[first second events-dropped]" {
		t.Fatalf("kinds %v", kinds)
	}
	if d := evs[2]; d.Severity != Warning || !strings.HasPrefix(d.Detail, "5 events dropped") {
		t.Errorf("dropped event %+v", d)
	}
}

func TestDurability(t *testing.T) {
	dir := t.TempDir()
	j := open(t, dir, Options{SyncInterval: time.Hour})
	j.Emit(Event{Kind: "info-event", Source: "node", Detail: "d1"})
	if err := j.Sync(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	e, ok := parse([]byte(strings.TrimSuffix(string(b), "\n")))
	if !ok || e.Seq != 1 || e.Kind != "info-event" || e.Detail != "d1" || !strings.HasSuffix(string(b), "\n") {
		t.Fatalf("file holds %q", b)
	}
	// An error is synced at once, with no Sync and a long interval.
	syncs := j.Stats().Syncs
	j.Emit(Event{Kind: "bad", Source: "node", Severity: Critical})
	waitFor(t, "an urgent sync", func() bool { return j.Stats().Syncs > syncs })
	// An info event is synced within the interval.
	j2 := open(t, t.TempDir(), Options{SyncInterval: 5 * time.Millisecond})
	j2.Emit(Event{Kind: "info", Source: "node"})
	waitFor(t, "a timed sync", func() bool { return j2.Stats().Syncs > 0 })
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no %s", what)
		}
	}
}

func TestFollow(t *testing.T) {
	j := open(t, t.TempDir(), Options{})
	ctx, cancel := context.WithCancel(context.Background())
	errs := j.Follow(ctx, Filter{MinSeverity: Error})
	all := j.Follow(context.Background(), Filter{})
	j.Emit(Event{Kind: "a", Source: "node"})
	j.Emit(Event{Kind: "b", Source: "node", Severity: Error})
	j.Emit(Event{Kind: "c", Source: "node", Severity: Critical})
	for _, want := range []string{"b", "c"} {
		if e := recv(t, errs); e.Kind != want {
			t.Errorf("followed %q, want %q", e.Kind, want)
		}
	}
	for _, want := range []string{"a", "b", "c"} {
		if e := recv(t, all); e.Kind != want {
			t.Errorf("followed %q, want %q", e.Kind, want)
		}
	}
	cancel()
	waitClosed(t, errs)
	j.Emit(Event{Kind: "d", Source: "node"})
	if e := recv(t, all); e.Kind != "d" || e.Seq != 4 {
		t.Errorf("followed %+v", e)
	}
	if bad := j.Follow(context.Background(), Filter{MinSeverity: "loud"}); !isClosed(bad) {
		t.Error("an invalid filter got an open channel")
	}
	j.Close()
	waitClosed(t, all)
	if !isClosed(j.Follow(context.Background(), Filter{})) {
		t.Error("Follow after Close got an open channel")
	}
}

func TestSlowFollower(t *testing.T) {
	j := open(t, t.TempDir(), Options{})
	slow := j.Follow(context.Background(), Filter{})
	const n = FollowBuffer + 44
	for range n {
		j.Emit(Event{Kind: "k", Source: "node"})
	}
	if err := j.Sync(); err != nil {
		t.Fatal(err)
	}
	if s := j.Stats(); s.FollowDropped != 44 || s.Dropped != 0 || s.Written != n {
		t.Errorf("stats %+v", s)
	}
	if len(slow) != FollowBuffer {
		t.Errorf("follower holds %d events", len(slow))
	}
}

func recv(t *testing.T, ch <-chan Event) Event {
	t.Helper()
	select {
	case e, ok := <-ch:
		if !ok {
			t.Fatal("follow channel closed")
		}
		return e
	case <-time.After(5 * time.Second):
		t.Fatal("nothing followed")
	}
	return Event{}
}

func waitClosed(t *testing.T, ch <-chan Event) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-timeout:
			t.Fatal("follow channel not closed")
		}
	}
}

func isClosed(ch <-chan Event) bool {
	select {
	case _, ok := <-ch:
		return !ok
	case <-time.After(time.Second):
		return false
	}
}

func TestClose(t *testing.T) {
	dir := t.TempDir()
	j := open(t, dir, Options{})
	if _, err := Open(dir, Options{}); err == nil {
		t.Fatal("a second Open of the same directory succeeded")
	}
	j.Emit(Event{Kind: "k", Source: "node"})
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close = %v", err)
	}
	if err := j.Sync(); !errors.Is(err, ErrClosed) {
		t.Errorf("Sync after Close = %v", err)
	}
	j.Emit(Event{Kind: "late", Source: "node"})
	if s := j.Stats(); s.Dropped != 1 || s.Written != 1 {
		t.Errorf("stats after Close %+v", s)
	}
	// Close wrote the queued event; the directory is free again.
	j2 := open(t, dir, Options{})
	sameSeqs(t, "after close", query(t, j2, Filter{}), 1)
}

func TestConcurrentEmit(t *testing.T) {
	j := open(t, t.TempDir(), Options{MaxBytes: 32 << 10})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fol := j.Follow(ctx, Filter{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		var last uint64
		for e := range fol {
			if e.Seq <= last {
				t.Errorf("followed seq %d after %d", e.Seq, last)
			}
			last = e.Seq
		}
	}()
	const workers, each = 4, 300
	errc := make(chan error, workers)
	for w := range workers {
		go func() {
			for i := range each {
				j.Emit(Event{Kind: "k", Source: "node", Detail: fmt.Sprintf("%d/%d", w, i)})
				if i%50 == 0 {
					if _, err := j.Query(Filter{Limit: 2000}); err != nil {
						errc <- err
						return
					}
				}
			}
			errc <- j.Sync()
		}()
	}
	for range workers {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	s := j.Stats()
	if s.Written+s.Dropped != workers*each || s.LostLines != 0 {
		t.Errorf("stats %+v", s)
	}
	evs := query(t, j, Filter{Limit: workers * each})
	for i := 1; i < len(evs); i++ {
		if evs[i].Seq <= evs[i-1].Seq {
			t.Fatalf("query out of order at %d", i)
		}
	}
	cancel()
	<-done
}
