package console_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plinth-storage/plinth/appliance/console"
	"github.com/plinth-storage/plinth/appliance/events"
	"github.com/plinth-storage/plinth/appliance/server"
	"github.com/plinth-storage/plinth/pool"
)

func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// TestNodeCommands: the commands that look at the node answer against a
// running node, in the documented shapes.
func TestNodeCommands(t *testing.T) {
	n := startNode(t, nil)
	c := n.dial()
	n.put("photos", "cat.jpg", randomBytes(1, 300<<10))

	var help console.HelpResult
	do(t, c, "help", nil, &help)
	var names []string
	for _, cmd := range help.Commands {
		names = append(names, cmd.Name)
		if cmd.Summary == "" || cmd.Result == "" || cmd.Args == nil {
			t.Errorf("help: %s lacks a summary, a result or args: %+v", cmd.Name, cmd)
		}
	}
	for _, want := range []string{"status", "drives", "pools", "fsstat", "events", "object locate", "set show", "segment show",
		"btree list", "btree dump", "btree get", "btree put", "btree del", "requests", "pause", "resume", "repair stripe",
		"repair object", "drive out", "drive in", "drive fail", "drive locate", "scrub start", "scrub stop", "scrub status",
		"rebuild status", "cleaner status", "latency", "support-bundle", "help", "whoami", "buckets"} {
		if !slices.Contains(names, want) {
			t.Errorf("help does not list %q", want)
		}
	}
	if help.Protocol != console.ProtocolVersion {
		t.Errorf("protocol %d", help.Protocol)
	}

	var who map[string]string
	do(t, c, "whoami", nil, &who)
	if !strings.HasPrefix(who["peer"], "uid ") || !strings.Contains(who["peer"], " pid ") {
		t.Errorf("whoami: %v", who)
	}

	var st struct {
		Time time.Time `json:"time"`
		Node struct {
			Node   string            `json:"node"`
			Drives []json.RawMessage `json:"drives"`
		} `json:"node"`
		API console.APIState `json:"api"`
	}
	do(t, c, "status", nil, &st)
	if st.Node.Node != who["node"] || len(st.Node.Drives) != 6 || st.API.Limits.MaxConcurrent != 64 || st.API.Pause.Paused {
		t.Errorf("status: %+v", st)
	}

	var drives []console.DriveInfo
	do(t, c, "drives", nil, &drives)
	if len(drives) != 6 {
		t.Fatalf("drives: %+v", drives)
	}
	for i, d := range drives {
		if d.Position != uint32(i) || d.State != "online" || d.Pool != "default" || d.Slot != nil || d.Latency == nil || d.Bytes == 0 || !d.Zoned {
			t.Errorf("drive %d: %+v", i, d)
		}
	}
	var reads int64
	for _, d := range drives {
		reads += d.Latency.Read.Count + d.Latency.Write.Count
	}
	if reads == 0 {
		t.Error("drives: no IO counted")
	}

	var pools []console.PoolInfo
	do(t, c, "pools", nil, &pools)
	if len(pools) != 1 || pools[0].Name != "default" || len(pools[0].Drives) != 6 || pools[0].Stats.Puts != 1 || pools[0].Space.Pool != "default" {
		t.Errorf("pools: %+v", pools)
	}
	var fs struct {
		Pools []pool.FSStat `json:"pools"`
	}
	do(t, c, "fsstat", nil, &fs)
	if len(fs.Pools) != 1 || fs.Pools[0].Data.UsedBytes == 0 {
		t.Errorf("fsstat: %+v", fs)
	}
	var buckets []struct {
		Name, Pool string
	}
	do(t, c, "buckets", nil, &buckets)
	if len(buckets) != 1 || buckets[0].Name != "photos" || buckets[0].Pool != "default" {
		t.Errorf("buckets: %+v", buckets)
	}

	var lat []console.DriveLatency
	do(t, c, "latency", map[string]any{"drive": "0"}, &lat)
	if len(lat) != 1 || lat[0].Position != 0 || len(lat[0].Ops) != 2 || len(lat[0].Ops["write"].Buckets) == 0 {
		t.Errorf("latency 0: %+v", lat)
	}
	do(t, c, "latency", map[string]any{"ops": "all"}, &lat)
	if len(lat) != 6 || len(lat[5].Ops) != 4 {
		t.Errorf("latency ops=all: %d drives", len(lat))
	}
	var text bytes.Buffer
	if err := console.Render(&text, "latency", do(t, c, "latency", nil, nil)); err != nil || !strings.Contains(text.String(), "|#") {
		t.Errorf("latency bars: %v\n%s", err, text.String())
	}
	fails(t, c, "latency", map[string]any{"drive": "9"}, console.CodeNotFound)

	var cleaner []console.CleanerState
	do(t, c, "cleaner status", map[string]any{"candidates": 3}, &cleaner)
	if len(cleaner) != 1 || cleaner[0].Pool != "default" || cleaner[0].Active {
		t.Errorf("cleaner status: %+v", cleaner)
	}
	var rebuild struct {
		Pools []struct {
			Pool    string `json:"pool"`
			Running bool   `json:"running"`
		} `json:"pools"`
	}
	do(t, c, "rebuild status", nil, &rebuild)
	if len(rebuild.Pools) != 1 || rebuild.Pools[0].Pool != "default" {
		t.Errorf("rebuild status: %+v", rebuild)
	}

	// Errors: an unknown command, unknown and missing arguments, a
	// malformed line.
	fails(t, c, "frobnicate", nil, console.CodeUnknownCommand)
	fails(t, c, "status", map[string]any{"verbose": true}, console.CodeBadArgs)
	fails(t, c, "set show", nil, console.CodeBadArgs)
	fails(t, c, "set show", map[string]any{"set": "one"}, console.CodeBadArgs)
	fails(t, c, "events", map[string]any{"severity": "bad"}, console.CodeBadArgs)
	fails(t, c, "events", map[string]any{"since": "yesterday"}, console.CodeBadArgs)
	fails(t, c, "set show", map[string]any{"set": 999}, console.CodeNotFound)
	fails(t, c, "drive out", map[string]any{"drive": "99"}, console.CodeNotFound)
	raw, err := rawExchange(n.s.ConsoleSocket(), "not json\n{\"cmd\": \"\"}\n{\"id\": 7, \"cmd\": \"whoami\"}\n")
	if err != nil || len(raw) != 3 || !strings.Contains(raw[0], `"bad-request"`) || !strings.Contains(raw[1], `"bad-request"`) || !strings.HasPrefix(raw[2], `{"id":7,"ok":true,"result":`) {
		t.Errorf("raw exchange: %q %v", raw, err)
	}
}

// rawExchange writes lines to the console socket and reads a reply per
// line.
func rawExchange(sock, lines string) ([]string, error) {
	c, err := dialRaw(sock)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if _, err := io.WriteString(c, lines); err != nil {
		return nil, err
	}
	var out []string
	buf := make([]byte, 64<<10)
	var acc []byte
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for strings.Count(string(acc), "\n") < strings.Count(lines, "\n") {
		k, err := c.Read(buf)
		acc = append(acc, buf[:k]...)
		if err != nil {
			break
		}
	}
	return append(out, strings.Split(strings.TrimRight(string(acc), "\n"), "\n")...), nil
}

// TestEvents: filters, and follow streams what comes until canceled.
func TestEvents(t *testing.T) {
	n := startNode(t, nil)
	c := n.dial()
	var evs console.EventsResult
	do(t, c, "events", map[string]any{"kind": "node-created,node-started"}, &evs)
	if len(evs.Events) != 2 || evs.Events[0].Kind != "node-created" || evs.Last != evs.Events[1].Seq {
		t.Fatalf("events kind=: %+v", evs)
	}
	do(t, c, "events", map[string]any{"severity": "critical"}, &evs)
	if len(evs.Events) != 0 {
		t.Errorf("severity=critical: %+v", evs)
	}
	do(t, c, "events", map[string]any{"since": "1h", "limit": 1}, &evs)
	if len(evs.Events) != 1 {
		t.Errorf("since=1h limit=1: %+v", evs)
	}
	do(t, c, "events", map[string]any{"since": time.Now().Add(time.Hour).Format(time.RFC3339)}, &evs)
	if len(evs.Events) != 0 {
		t.Errorf("since the future: %+v", evs)
	}

	// Follow, on a second connection: the past ones, then new ones.
	f := n.dial()
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan events.Event, 16)
	res := make(chan error, 1)
	var final json.RawMessage
	go func() {
		var err error
		final, err = f.Do(ctx, console.Request{Cmd: "events", Args: map[string]any{"kind": "console-command", "follow": true}}, func(b json.RawMessage) {
			var e events.Event
			if json.Unmarshal(b, &e) == nil {
				got <- e
			}
		})
		res <- err
	}()
	time.Sleep(100 * time.Millisecond)
	do(t, c, "scrub stop", nil, nil) // a mutating command: audited
	select {
	case e := <-got:
		if e.Kind != "console-command" || !strings.HasPrefix(e.Detail, "scrub stop") || !strings.HasPrefix(e.Actor, "uid ") {
			t.Errorf("followed %+v", e)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("follow: no event")
	}
	cancel()
	select {
	case err := <-res:
		var r console.EventsResult
		if err != nil || json.Unmarshal(final, &r) != nil || r.Followed != 1 {
			t.Errorf("follow ended: %s %v", final, err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("follow did not end when canceled")
	}
	// The connection serves on after a canceled follow.
	do(t, f, "whoami", nil, nil)
}

// TestLocateAndRepair: object locate names the drive blocks that hold an
// object's bytes (read them back from the drive file: they are there);
// set show and segment show agree with it; a data unit damaged on the
// drive is found and rewritten from parity by repair stripe and repair
// object, and the object reads back whole.
func TestLocateAndRepair(t *testing.T) {
	n := startNode(t, nil)
	c := n.dial()
	data := randomBytes(2, 200<<10)
	n.put("photos", "cat.jpg", data)
	other := randomBytes(3, 100<<10)
	n.put("photos", "dog.jpg", other)

	var loc struct {
		Bucket string `json:"bucket"`
		Key    string `json:"key"`
		pool.OwnerLocation
	}
	do(t, c, "object locate", map[string]any{"object": "photos/cat.jpg"}, &loc)
	if loc.State != "data" || loc.Size != int64(len(data)) || loc.Owner != "o/photos/cat.jpg" || len(loc.Extents) == 0 {
		t.Fatalf("locate: %+v", loc)
	}
	var covered int64
	for _, e := range loc.Extents {
		if e.Offset != covered || len(e.Members) != 6 {
			t.Fatalf("extent %+v (covered %d)", e, covered)
		}
		covered += e.Length
		for _, m := range e.Members {
			if m.LBA*int64(m.BlockSize) != m.ByteOffset || m.LBACount*int64(m.BlockSize) != m.Bytes || m.Path == "" {
				t.Errorf("member %+v", m)
			}
			if m.HoldsRecord && m.Role != "data" {
				t.Errorf("a parity member holds record bytes: %+v", m)
			}
		}
	}
	if covered != int64(len(data)) {
		t.Fatalf("extents cover %d of %d bytes", covered, len(data))
	}
	// The first data member holding the first extent's bytes has the
	// object's first bytes in its first block (after the record header).
	first := loc.Extents[0]
	var m0 *pool.UnitLocation
	for i := range first.Members {
		if first.Members[i].HoldsRecord {
			m0 = &first.Members[i]
			break
		}
	}
	blk := make([]byte, 4096)
	readAt(t, m0.Path, blk, m0.ByteOffset)
	if !bytes.Contains(blk[:4088], data[:64]) {
		t.Fatalf("the block object locate names (%s at %d) does not hold the object's first bytes", m0.Path, m0.ByteOffset)
	}

	var set pool.SetInfo
	do(t, c, "set show", map[string]any{"set": first.Set}, &set)
	if set.ID != first.Set || len(set.Members) != 6 || set.Live == 0 || set.Stripes == 0 || set.Members[m0.Member].Drive != m0.Drive {
		t.Fatalf("set show: %+v", set)
	}
	var sg pool.SegmentInfo
	do(t, c, "segment show", map[string]any{"drive": m0.Drive, "segment": m0.Segment}, &sg)
	if sg.Set != first.Set || sg.Member == nil || *sg.Member != m0.Member || sg.State != set.State || sg.Zone == "" || sg.WritePointer == nil || *sg.WritePointer == 0 {
		t.Fatalf("segment show: %+v", sg)
	}
	fails(t, c, "segment show", map[string]any{"drive": m0.Drive, "segment": 100000}, console.CodeBadArgs)

	// A sound stripe is left alone unless forced.
	var sr pool.StripeRepair
	do(t, c, "repair stripe", map[string]any{"set": first.Set, "stripe": first.Stripe}, &sr)
	if !sr.Sound || sr.Rewritten {
		t.Fatalf("repair of a sound stripe: %+v", sr)
	}
	fails(t, c, "repair stripe", map[string]any{"set": first.Set, "stripe": 1 << 20}, console.CodeBadArgs)

	// Damage the block on the drive: repair stripe finds it and rewrites
	// the stripe's live records from parity.
	writeAt(t, m0.Path, bytes.Repeat([]byte{0xa5}, 4096), m0.ByteOffset)
	do(t, c, "repair stripe", map[string]any{"set": first.Set, "stripe": first.Stripe}, &sr)
	if sr.Sound || !sr.Rewritten || sr.MovedBytes == 0 || len(sr.Corrupt)+len(sr.Missing) == 0 {
		t.Fatalf("repair of a damaged stripe: %+v", sr)
	}
	if got := n.get("photos", "cat.jpg"); !bytes.Equal(got, data) {
		t.Fatal("the object reads back wrong after the repair")
	}
	var after struct{ pool.OwnerLocation }
	do(t, c, "object locate", map[string]any{"object": "photos/cat.jpg"}, &after)
	if after.Extents[0].Set == first.Set && after.Extents[0].Stripe == first.Stripe {
		t.Fatalf("the repaired extent still lies in set %d stripe %d", first.Set, first.Stripe)
	}

	// repair object: damage a block of the other object's last extent.
	var dl struct{ pool.OwnerLocation }
	do(t, c, "object locate", map[string]any{"object": "photos/dog.jpg"}, &dl)
	last := dl.Extents[len(dl.Extents)-1]
	for _, m := range last.Members {
		if m.HoldsRecord {
			writeAt(t, m.Path, bytes.Repeat([]byte{0x5a}, 4096), m.ByteOffset)
			break
		}
	}
	var ro console.RepairObjectResult
	do(t, c, "repair object", map[string]any{"object": "photos/dog.jpg"}, &ro)
	if ro.Damaged != 1 || ro.Rewritten != 1 || len(ro.Stripes) == 0 {
		t.Fatalf("repair object: %+v", ro)
	}
	if got := n.get("photos", "dog.jpg"); !bytes.Equal(got, other) {
		t.Fatal("the other object reads back wrong after its repair")
	}
	do(t, c, "repair object", map[string]any{"object": "photos/dog.jpg", "force": true}, &ro)
	if ro.Damaged != 0 || ro.Rewritten != len(ro.Stripes) {
		t.Fatalf("forced repair object: %+v", ro)
	}
	fails(t, c, "object locate", map[string]any{"object": "photos/none"}, console.CodeNotFound)
	fails(t, c, "object locate", map[string]any{"object": "nobucket/x"}, console.CodeNotFound)
	fails(t, c, "object locate", map[string]any{"object": "nokey"}, console.CodeBadArgs)
	if err := n.s.Check(context.Background()); err != nil {
		t.Fatalf("check after the repairs: %v", err)
	}

	// A deleted object locates as its tombstone.
	if _, err := n.s.Objects().Delete(context.Background(), "photos", "dog.jpg", 0); err != nil {
		t.Fatal(err)
	}
	do(t, c, "object locate", map[string]any{"object": "photos/dog.jpg"}, &dl)
	if dl.State != "tombstone" || dl.Tombstone == nil && !dl.Pending {
		t.Fatalf("locate a deleted object: %+v", dl)
	}
}

func readAt(t *testing.T, path string, b []byte, off int64) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
}

func writeAt(t *testing.T, path string, b []byte, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
}

// TestBtree: list, dump (root and a child, decoded), get, and the edits:
// previewed without confirm, done with it, refused when the value changed
// since the preview, audited.
func TestBtree(t *testing.T) {
	n := startNode(t, nil)
	c := n.dial()
	for i := range 300 {
		n.put("many", strings.Repeat("k", 100)+hex.EncodeToString([]byte{byte(i >> 8), byte(i)}), []byte("x"))
	}
	var trees []console.TreeInfo
	do(t, c, "btree list", nil, &trees)
	var heads console.TreeInfo
	for _, tr := range trees {
		if tr.Name == "pool/default/heads" {
			heads = tr
		}
	}
	if heads.Entries != 300 || heads.Height < 2 {
		t.Fatalf("btree list: %+v", trees)
	}
	if err := n.s.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	var root console.NodeResult
	do(t, c, "btree dump", map[string]any{"tree": "pool/default/heads"}, &root)
	if root.Path != "root" || root.Leaf || len(root.Children) < 2 || !root.OnMedia || root.Addr == nil || root.Children[0].Addr == nil {
		t.Fatalf("btree dump root: %+v", root)
	}
	var leaf console.NodeResult
	cmds := helpOf(t, c)
	line(t, c, cmds, "btree dump pool/default/heads "+root.Children[1].Path, &leaf)
	if !leaf.Leaf || len(leaf.Entries) == 0 || leaf.Entries[0].Decoded["state"] != "data" || !strings.HasPrefix(leaf.Entries[0].Key.Text, "o/many/") {
		t.Fatalf("btree dump %s: %+v", root.Children[1].Path, leaf)
	}
	if leaf.Entries[0].Key.Text < root.Children[1].Key.Text {
		t.Errorf("child %s starts at %q, its separator is %q", root.Children[1].Path, leaf.Entries[0].Key.Text, root.Children[1].Key.Text)
	}
	fails(t, c, "btree dump", map[string]any{"tree": "pool/default/heads", "node": "root/999"}, console.CodeNotFound)
	fails(t, c, "btree dump", map[string]any{"tree": "pool/default/heads", "node": "root/x"}, console.CodeBadArgs)
	fails(t, c, "btree dump", map[string]any{"tree": "no/such"}, console.CodeNotFound)

	var g console.GetResult
	do(t, c, "btree get", map[string]any{"tree": "objects/buckets", "key": "many"}, &g)
	if !g.Found || g.Decoded["pool"] != "default" {
		t.Fatalf("btree get: %+v", g)
	}

	// A put: previewed, then done.
	key := "hex:00000063" // drive 99: no such drive, so nothing acts on it
	val := "hex:01" + "03" + "0000000000000001" + hex.EncodeToString([]byte("test"))
	ce := fails(t, c, "btree put", map[string]any{"tree": "node/drives", "key": key, "value": val}, console.CodeConfirmRequired)
	var prev console.EditResult
	if err := json.Unmarshal(ce.Preview, &prev); err != nil || prev.Applied || prev.Old != nil || prev.Expect != "absent" || prev.NewDecoded["state"] != "out" || prev.NewDecoded["drive"] != float64(99) {
		t.Fatalf("preview: %s %v", ce.Preview, err)
	}
	do(t, c, "btree get", map[string]any{"tree": "node/drives", "key": key}, &g)
	if g.Found {
		t.Fatal("a previewed put changed the tree")
	}
	var done console.EditResult
	do(t, c, "btree put", map[string]any{"tree": "node/drives", "key": key, "value": val, "expect": prev.Expect, "confirm": true}, &done)
	if !done.Applied || done.LSN == 0 || done.Old != nil {
		t.Fatalf("put: %+v", done)
	}
	do(t, c, "btree get", map[string]any{"tree": "node/drives", "key": key}, &g)
	if !g.Found || g.Value.Hex != strings.TrimPrefix(val, "hex:") || g.Decoded["by"] != "test" {
		t.Fatalf("after the put: %+v", g)
	}
	// A confirmed edit whose expectation no longer holds changes nothing.
	fails(t, c, "btree put", map[string]any{"tree": "node/drives", "key": key, "value": "x", "expect": "absent", "confirm": true}, console.CodeConflict)
	fails(t, c, "btree del", map[string]any{"tree": "node/drives", "key": key, "expect": "hex:00", "confirm": true}, console.CodeConflict)
	ce = fails(t, c, "btree del", map[string]any{"tree": "node/drives", "key": key}, console.CodeConfirmRequired)
	json.Unmarshal(ce.Preview, &prev)
	do(t, c, "btree del", map[string]any{"tree": "node/drives", "key": key, "expect": prev.Expect, "confirm": true}, &done)
	if !done.Applied || done.Old == nil || done.Old.Hex != strings.TrimPrefix(val, "hex:") {
		t.Fatalf("del: %+v", done)
	}
	do(t, c, "btree get", map[string]any{"tree": "node/drives", "key": key}, &g)
	if g.Found {
		t.Fatal("the key survived its delete")
	}
	fails(t, c, "btree put", map[string]any{"tree": "no/such", "key": "k", "value": "v", "confirm": true}, console.CodeNotFound)
	fails(t, c, "btree put", map[string]any{"tree": "node/drives", "key": "", "value": "v"}, console.CodeBadArgs)
	fails(t, c, "btree put", map[string]any{"tree": "node/drives", "key": "hex:zz", "value": "v"}, console.CodeBadArgs)
	fails(t, c, "btree put", map[string]any{"tree": "node/drives", "key": "k", "value": strings.Repeat("v", 5000)}, console.CodeBadArgs)

	// Audited: the done edits and the refused ones, not the previews.
	var evs console.EventsResult
	do(t, c, "events", map[string]any{"kind": "console-command"}, &evs)
	var edits []string
	for _, e := range evs.Events {
		if e.Actor == "" || e.Source != "console" {
			t.Errorf("audit record without an actor: %+v", e)
		}
		edits = append(edits, e.Severity+" "+strings.SplitN(e.Detail, " {", 2)[0])
	}
	want := []string{"info btree put", "warning btree put", "warning btree del", "info btree del", "warning btree put"}
	if !slices.Equal(edits, want) {
		t.Errorf("audit: %q\nwant %q", edits, want)
	}
	if err := n.s.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func helpOf(t *testing.T, c *console.Client) []console.Command {
	cmds, err := c.Help(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return cmds
}

// TestDriveAndScrub: drive out, in and fail change the drive's state (and
// are audited with who ran them); drive locate says no enclosure is
// known; scrub stop halts scrubbing until scrub start, which runs a pass.
func TestDriveAndScrub(t *testing.T) {
	n := startNode(t, nil)
	c := n.dial()
	n.put("bkt1", "k", randomBytes(4, 64<<10))
	var r console.DriveStateResult
	do(t, c, "drive fail", map[string]any{"drive": "5"}, &r)
	if r.From != "online" || r.State != "faulty" {
		t.Fatalf("drive fail: %+v", r)
	}
	var ds []console.DriveInfo
	do(t, c, "drives", nil, &ds)
	if ds[5].State != "faulty" || !strings.Contains(ds[5].By, "console: uid ") {
		t.Fatalf("after drive fail: %+v", ds[5])
	}
	do(t, c, "drive in", map[string]any{"drive": ds[5].Path}, &r)
	if r.State != "online" || r.Drive != 5 {
		t.Fatalf("drive in by path: %+v", r)
	}
	do(t, c, "drive out", map[string]any{"drive": "4"}, &r)
	do(t, c, "drive in", map[string]any{"drive": "4"}, &r)
	do(t, c, "drives", nil, &ds)
	if ds[4].State != "online" || ds[5].State != "online" {
		t.Fatalf("drives back in: %+v", ds)
	}
	ce := fails(t, c, "drive locate", map[string]any{"drive": "2", "led": "on"}, console.CodeUnavailable)
	if !strings.Contains(ce.Message, "no enclosure is known") || !strings.Contains(ce.Message, "drive 2") {
		t.Errorf("drive locate: %v", ce)
	}
	fails(t, c, "drive locate", map[string]any{"drive": "2", "led": "blink"}, console.CodeBadArgs)
	var evs console.EventsResult
	do(t, c, "events", map[string]any{"kind": "drive-state"}, &evs)
	if len(evs.Events) != 4 || !strings.HasPrefix(evs.Events[0].Actor, "console: uid ") {
		t.Errorf("drive-state events: %+v", evs.Events)
	}

	var sc console.ScrubResult
	do(t, c, "scrub stop", nil, &sc)
	if !sc.Stopped || !sc.Halted {
		t.Fatalf("scrub stop: %+v", sc)
	}
	raw := do(t, c, "scrub status", nil, &sc)
	if !sc.Halted {
		t.Fatalf("scrub status after stop: %s", raw)
	}
	// Halted, a kick runs no pass.
	before := scrubCompleted(t, c)
	n.s.ScrubNow(context.Background())
	if scrubCompleted(t, c) != before {
		t.Fatal("a pass ran while scrubbing was halted")
	}
	do(t, c, "scrub start", nil, &sc)
	if !sc.Started || sc.Halted {
		t.Fatalf("scrub start: %+v", sc)
	}
	waitFor(t, "the scrub pass", func() bool { return scrubCompleted(t, c).After(before) })
}

type scrubPool struct {
	Pool          string    `json:"pool"`
	Running       bool      `json:"running"`
	LastCompleted time.Time `json:"last_completed"`
}

func scrubCompleted(t *testing.T, c *console.Client) time.Time {
	var sc struct {
		Pools []scrubPool `json:"pools"`
	}
	do(t, c, "scrub status", nil, &sc)
	if sc.Pools[0].Running {
		return time.Time{}
	}
	return sc.Pools[0].LastCompleted
}

// TestSupportBundle: one tar.gz with the documented files, the
// configuration's secrets removed.
func TestSupportBundle(t *testing.T) {
	n := startNode(t, func(c *server.Config) {})
	c := n.dial()
	var b console.BundleResult
	do(t, c, "support-bundle", nil, &b)
	data, err := base64.StdEncoding.DecodeString(b.Data)
	if err != nil || len(data) != b.Bytes {
		t.Fatalf("bundle data: %v (%d of %d bytes)", err, len(data), b.Bytes)
	}
	sum := sha256.Sum256(data)
	if hex.EncodeToString(sum[:]) != b.SHA256 || !strings.HasPrefix(b.Name, "plinth-support-") || !strings.HasSuffix(b.Name, ".tar.gz") {
		t.Fatalf("bundle: %s %s", b.Name, b.SHA256)
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	files := map[string][]byte{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(tr)
		files[h.Name[strings.IndexByte(h.Name, '/')+1:]] = body
	}
	for _, want := range []string{"manifest.json", "config.json", "status.json", "drives.json", "pools.json", "fsstat.json", "histograms.json",
		"latency.txt", "metadata.json", "trees.json", "scrub.json", "rebuild.json", "requests.json", "events.jsonl", "events-stats.json", "logs.txt"} {
		if _, ok := files[want]; !ok {
			t.Errorf("the bundle lacks %s (has %v)", want, keys(files))
		}
	}
	if !strings.Contains(string(files["events.jsonl"]), `"kind":"node-started"`) || !strings.Contains(string(files["logs.txt"]), "msg=serving") ||
		!strings.Contains(string(files["config.json"]), `"data_dir"`) || !strings.Contains(string(files["latency.txt"]), "|") {
		t.Errorf("bundle contents:\nevents %s\nlogs %s\nconfig %s", files["events.jsonl"], files["logs.txt"], files["config.json"])
	}
	if strings.Contains(string(files["config.json"]), n.s.Token()) {
		t.Error("the bundle holds the API token")
	}
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestRedact: secrets are removed from a configuration, and only they.
func TestRedact(t *testing.T) {
	cfg := map[string]any{"listen": "x", "tls": map[string]any{"cert": "c.pem", "key": "/etc/k.pem"}, "limits": map[string]any{"max_key": 900},
		"console": map[string]any{"key": "ck.pem", "client_ca": "ca.pem"}, "api_token": "s3cr3t", "list": []any{map[string]any{"password": "p"}}}
	b, _ := json.Marshal(console.Redact(cfg))
	s := string(b)
	for _, secret := range []string{"/etc/k.pem", "ck.pem", "s3cr3t", `"p"`} {
		if strings.Contains(s, secret) {
			t.Errorf("%q kept: %s", secret, s)
		}
	}
	for _, kept := range []string{"c.pem", "ca.pem", "900", `"listen":"x"`} {
		if !strings.Contains(s, kept) {
			t.Errorf("%q removed: %s", kept, s)
		}
	}
}

// TestConcurrentConnections: several consoles at once, each served.
func TestConcurrentConnections(t *testing.T) {
	n := startNode(t, nil)
	var wg sync.WaitGroup
	for range 8 {
		c := n.dial()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				if _, err := c.Do(context.Background(), console.Request{Cmd: "status"}, nil); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func dialRaw(sock string) (net.Conn, error) { return net.Dial("unix", sock) }
