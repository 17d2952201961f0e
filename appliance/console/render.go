package console

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/plinth-storage/plinth/appliance"
	"github.com/plinth-storage/plinth/appliance/api"
	"github.com/plinth-storage/plinth/appliance/events"
	"github.com/plinth-storage/plinth/internal/human"
	"github.com/plinth-storage/plinth/pool"
)

// Render writes a command's result for people. A command without a view of
// its own is shown as an outline of its JSON.
func Render(w io.Writer, cmd string, result json.RawMessage) error {
	r := renderers[cmd]
	if r == nil {
		return renderOutline(w, result)
	}
	return r(w, result)
}

// RenderItem writes a stream item (an event of events follow).
func RenderItem(w io.Writer, cmd string, item json.RawMessage) error {
	if cmd == "events" {
		var e events.Event
		if err := json.Unmarshal(item, &e); err != nil {
			return err
		}
		_, err := fmt.Fprintln(w, e.String())
		return err
	}
	return renderOutline(w, item)
}

// RenderPreview writes what a confirm-required error previews.
func RenderPreview(w io.Writer, cmd string, preview json.RawMessage) error {
	var e EditResult
	if err := json.Unmarshal(preview, &e); err != nil || e.Op == "" {
		return renderOutline(w, preview)
	}
	fmt.Fprintf(w, "btree %s in %s, key %s\n", e.Op, e.Tree, showKey(e.Key))
	fmt.Fprintf(w, "  now:   %s\n", showValue(e.Old, e.OldDecoded))
	if e.Op == "put" {
		fmt.Fprintf(w, "  after: %s\n", showValue(e.New, e.NewDecoded))
	} else {
		fmt.Fprintf(w, "  after: (deleted)\n")
	}
	return nil
}

type renderer func(io.Writer, json.RawMessage) error

// as decodes a result and renders it.
func as[T any](f func(io.Writer, T)) renderer {
	return func(w io.Writer, b json.RawMessage) error {
		var v T
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber() // decoded entries' versions are too large for a float
		if err := dec.Decode(&v); err != nil {
			return fmt.Errorf("decode the result: %w", err)
		}
		f(w, v)
		return nil
	}
}

var renderers map[string]renderer

func init() {
	renderers = map[string]renderer{
		"help":           as(renderHelp),
		"status":         as(renderStatus),
		"drives":         as(renderDrives),
		"pools":          as(renderPools),
		"fsstat":         as(renderFSStat),
		"events":         as(renderEvents),
		"object locate":  as(renderLocate),
		"set show":       as(renderSet),
		"segment show":   as(renderSegment),
		"btree list":     as(renderTrees),
		"btree dump":     as(renderNode),
		"btree get":      as(renderGet),
		"btree put":      as(renderEdit),
		"btree del":      as(renderEdit),
		"requests":       as(renderRequests),
		"pause":          as(renderPause),
		"resume":         as(renderPause),
		"latency":        as(renderLatency),
		"cleaner status": as(renderCleaner),
		"scrub start":    as(renderScrub),
		"scrub stop":     as(renderScrub),
		"scrub status":   as(renderScrub),
		"rebuild status": as(renderRebuild),
		"repair stripe":  as(func(w io.Writer, r pool.StripeRepair) { renderStripeRepair(w, r) }),
		"repair object":  as(renderRepairObject),
		"support-bundle": as(func(w io.Writer, b BundleResult) {
			fmt.Fprintf(w, "%s: %s, sha256 %s, %d files\n", b.Name, human.IBytes(int64(b.Bytes)), b.SHA256, len(b.Files))
		}),
	}
}

func tab(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 4, 2, ' ', 0) }

func us(n int64) string {
	if n == 0 {
		return "-"
	}
	return (time.Duration(n) * time.Microsecond).String()
}

func renderHelp(w io.Writer, h HelpResult) {
	for _, c := range h.Commands {
		flags := ""
		if c.Mutating {
			flags = " (changes the node: audited)"
		}
		fmt.Fprintf(w, "%s\n      %s%s\n", Usage(c), c.Summary, flags)
	}
	fmt.Fprintln(w, "Arguments are positional or NAME=VALUE; keys and values are text, hex:... or b64:...; 'help CMD' describes one command.")
}

// statusDoc is the part of the node's status document status shows.
type statusDoc struct {
	Node     string               `json:"node"`
	Uptime   string               `json:"uptime"`
	ReadOnly string               `json:"read_only"`
	Space    appliance.NodeFSStat `json:"space"`
	Drives   []struct {
		Position uint32 `json:"position"`
		Path     string `json:"path"`
	} `json:"drives"`
	Pools []struct {
		Name   string     `json:"name"`
		Layout string     `json:"layout"`
		Stats  pool.Stats `json:"stats"`
		Repair int        `json:"repair_queue"`
	} `json:"pools"`
	Metadata struct {
		Mirrors        int       `json:"mirrors_healthy"`
		CheckpointGen  uint64    `json:"checkpoint"`
		LastCheckpoint time.Time `json:"last_checkpoint"`
		Trees          int       `json:"trees"`
	} `json:"metadata"`
	Scrub []struct {
		Pool          string    `json:"pool"`
		Running       bool      `json:"running"`
		SetsDone      int64     `json:"sets_done"`
		SetsTotal     int64     `json:"sets_total"`
		LastCompleted time.Time `json:"last_completed"`
	} `json:"scrub"`
	Rebuild []struct {
		Pool      string `json:"pool"`
		Running   bool   `json:"running"`
		SetsDone  int    `json:"sets_done"`
		SetsTotal int    `json:"sets_total"`
		LastError string `json:"last_error"`
	} `json:"rebuild"`
}

func renderStatus(w io.Writer, s struct {
	Time time.Time       `json:"time"`
	Node json.RawMessage `json:"node"`
	API  APIState        `json:"api"`
}) {
	var d statusDoc
	json.Unmarshal(s.Node, &d)
	fmt.Fprintf(w, "node %s, up %s, %d drives, %d pools\n", d.Node, d.Uptime, len(d.Drives), len(d.Pools))
	if d.ReadOnly != "" {
		fmt.Fprintf(w, "METADATA READ-ONLY: %s\n", d.ReadOnly)
	}
	t := d.Space.Total
	fmt.Fprintf(w, "space: %s used of %s usable, %s free\n", human.IBytes(t.UsedBytes), human.IBytes(t.UsableBytes), human.IBytes(t.FreeUsableBytes))
	fmt.Fprintf(w, "metadata: %d mirrors healthy, checkpoint %d (%s ago), %d trees\n", d.Metadata.Mirrors, d.Metadata.CheckpointGen, since(d.Metadata.LastCheckpoint), d.Metadata.Trees)
	for _, p := range d.Pools {
		fmt.Fprintf(w, "pool %s (%s): %d puts, %d deletes, %d degraded reads, repair queue %d", p.Name, p.Layout, p.Stats.Puts, p.Stats.Deletes, p.Stats.DegradedReads, p.Repair)
		if p.Stats.WriteProtected {
			fmt.Fprintf(w, ", WRITE-PROTECTED: %s", p.Stats.WriteProtectReason)
		}
		fmt.Fprintln(w)
	}
	for _, sc := range d.Scrub {
		if sc.Running {
			fmt.Fprintf(w, "scrub %s: running, %d/%d sets\n", sc.Pool, sc.SetsDone, sc.SetsTotal)
		}
	}
	for _, r := range d.Rebuild {
		if r.Running {
			fmt.Fprintf(w, "rebuild %s: running, %d/%d sets\n", r.Pool, r.SetsDone, r.SetsTotal)
		} else if r.LastError != "" {
			fmt.Fprintf(w, "rebuild %s: %s\n", r.Pool, r.LastError)
		}
	}
	renderAPI(w, s.API)
}

func renderAPI(w io.Writer, a APIState) {
	fmt.Fprintf(w, "api: %d running, %d queued, %d held (limits %d running, %d queued)", a.Running, a.Queued, a.Held, a.Limits.MaxConcurrent, a.Limits.MaxQueue)
	if a.Oldest != "" {
		fmt.Fprintf(w, ", oldest %s", a.Oldest)
	}
	fmt.Fprintln(w)
	if a.Pause.Paused {
		renderPause(w, a.Pause)
	}
}

func renderPause(w io.Writer, p api.PauseState) {
	if !p.Paused {
		fmt.Fprint(w, "api: not paused")
		if !p.LastResume.IsZero() {
			fmt.Fprintf(w, " (last pause ended %s ago: %s)", since(p.LastResume), p.LastResumeWhy)
		}
		fmt.Fprintln(w)
		return
	}
	mode := "new requests held"
	if p.Reject {
		mode = "new requests refused (503)"
	}
	if p.HoldInFlight {
		mode += ", requests under way held"
	} else {
		mode += ", requests under way finish"
	}
	fmt.Fprintf(w, "api: PAUSED by %s since %s (%s); lifts itself at %s; %d held\n", p.By, p.Since.Format(time.RFC3339), mode, p.Until.Format(time.RFC3339), p.Held)
}

func renderDrives(w io.Writer, ds []DriveInfo) {
	tw := tab(w)
	fmt.Fprintln(tw, "POS\tSLOT\tSTATE\tPOOL\tSETS\tSIZE\tREAD p50/p99\tWRITE p50/p99\tERRORS\tPATH")
	for _, d := range ds {
		slot := "-"
		if d.Slot != nil {
			slot = fmt.Sprintf("%s:%d", d.Slot.Enclosure, d.Slot.Slot)
			if d.Slot.Label != "" {
				slot = d.Slot.Label
			}
		}
		state := d.State
		if d.Rebuilding {
			state += " (rebuilding)"
		}
		rd, wr, errs := "-", "-", "-"
		if l := d.Latency; l != nil {
			rd = us(l.Read.P50US) + "/" + us(l.Read.P99US)
			wr = us(l.Write.P50US) + "/" + us(l.Write.P99US)
			errs = fmt.Sprint(l.Read.Errors + l.Write.Errors)
			if l.StalledUS > int64(time.Second/time.Microsecond) {
				errs += " STALLED " + us(l.StalledUS)
			}
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", d.Position, slot, state, d.Pool, d.Sets, human.IBytes(d.Bytes), rd, wr, errs, d.Path)
	}
	tw.Flush()
	for _, d := range ds {
		if d.By != "" && d.State != "online" {
			fmt.Fprintf(w, "drive %d: %s since %s, by %s\n", d.Position, d.State, d.Changed.Format(time.RFC3339), d.By)
		}
	}
}

func renderPools(w io.Writer, ps []PoolInfo) {
	for _, p := range ps {
		fmt.Fprintf(w, "pool %s: %s on %d drives; %d puts, %d deletes, %s written, %s read, %d degraded reads, %d repaired, repair queue %d\n",
			p.Name, p.Layout, len(p.Drives), p.Stats.Puts, p.Stats.Deletes, human.IBytes(p.Stats.BytesWritten), human.IBytes(p.Stats.BytesRead),
			p.Stats.DegradedReads, p.Stats.Repaired, p.RepairQueue)
		var ds []string
		for _, d := range p.Drives {
			ds = append(ds, fmt.Sprintf("%d:%s(%d/%d free)", d.Position, d.State, d.FreeSegments, d.DataSegments))
		}
		fmt.Fprintf(w, "  drives %s\n", strings.Join(ds, " "))
		fmt.Fprintln(w, indent(p.Space.String(), "  "))
		renderCleanerLine(w, p.Cleaner)
	}
}

func indent(s, by string) string {
	return by + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+by)
}

func renderFSStat(w io.Writer, f appliance.NodeFSStat) {
	for _, p := range f.Pools {
		fmt.Fprintln(w, p)
	}
	if len(f.Pools) > 1 {
		fmt.Fprintf(w, "node: %v\n", f.Total)
	}
}

func renderEvents(w io.Writer, r EventsResult) {
	for _, e := range r.Events {
		fmt.Fprintln(w, e.String())
	}
	if r.Followed > 0 {
		fmt.Fprintf(w, "(%d events followed, last #%d)\n", r.Followed, r.Last)
	} else if len(r.Events) == 0 {
		fmt.Fprintln(w, "(no events)")
	}
}

func renderUnits(w io.Writer, us []pool.UnitLocation) {
	tw := tab(w)
	fmt.Fprintln(tw, "    MEMBER\tROLE\tDRIVE\tSEGMENT\tGEN\tLBA\tBLOCKS\tBYTES AT\tPATH")
	for _, u := range us {
		role := u.Role
		if u.HoldsRecord {
			role += "*"
		}
		path := u.Path
		if u.Missing {
			path = "(missing)"
		}
		fmt.Fprintf(tw, "    %d\t%s\t%d\t%d\t%d\t%d\t%d\t%d+%d\t%s\n", u.Member, role, u.Drive, u.Segment, u.Generation, u.LBA, u.LBACount, u.ByteOffset, u.Bytes, path)
	}
	tw.Flush()
}

func renderLocate(w io.Writer, r LocateObjectResult) {
	fmt.Fprintf(w, "%s/%s: pool %s, owner %q, %s version %d", r.Bucket, r.Key, r.Pool, r.Owner, r.State, r.Version)
	if r.State == "data" {
		fmt.Fprintf(w, ", %d bytes, %d extents", r.Size, len(r.Extents))
	}
	fmt.Fprintln(w, " (the index keeps the current version only; older ones are dead records)")
	if r.Pending {
		fmt.Fprintln(w, "  tombstone record pending (not written yet)")
	}
	if t := r.Tombstone; t != nil {
		fmt.Fprintf(w, "  tombstone: set %d (%s) stream offset %d, %d bytes, stripe %d\n", t.Set, t.SetState, t.StreamOffset, t.RecordBytes, t.Stripe)
		renderUnits(w, t.Members)
	}
	for _, e := range r.Extents {
		fmt.Fprintf(w, "  bytes %d-%d: set %d (%s) stream offset %d, record %d bytes, stripe %d, version %d, checksum %s\n",
			e.Offset, e.Offset+e.Length-1, e.Set, e.SetState, e.StreamOffset, e.RecordBytes, e.Stripe, e.Version, e.Checksum)
		renderUnits(w, e.Members)
	}
	if r.More {
		fmt.Fprintf(w, "  ... more extents: from=%d continues\n", r.Next)
	}
	if len(r.Extents) > 0 {
		fmt.Fprintln(w, "  (* the data units holding the record's bytes: those blocks; the other units: the whole unit)")
	}
}

func renderSet(w io.Writer, s pool.SetInfo) {
	fmt.Fprintf(w, "set %d of pool %s: %s (unit %s), %s, created %s", s.ID, s.Pool, s.Layout, human.IBytes(int64(s.Unit)), s.State, s.Created.Format(time.RFC3339))
	if !s.Sealed.IsZero() {
		fmt.Fprintf(w, ", sealed %s", s.Sealed.Format(time.RFC3339))
	}
	fmt.Fprintf(w, "\n  stream: %s written of %s, %s live, %d stripes of %s\n", human.IBytes(s.Frontier), human.IBytes(s.Capacity), human.IBytes(s.Live), s.Stripes, human.IBytes(s.StripeBytes))
	tw := tab(w)
	fmt.Fprintln(tw, "  MEMBER\tROLE\tDRIVE\tSTATE\tSEGMENT\tGEN\tLBA\tBYTE OFFSET\tPATH")
	for _, m := range s.Members {
		path := m.Path
		if m.Missing {
			path = "(missing)"
		}
		fmt.Fprintf(tw, "  %d\t%s\t%d\t%s\t%d\t%d\t%d\t%d\t%s\n", m.Member, m.Role, m.Drive, m.Health, m.Segment, m.Generation, m.LBA, m.ByteOffset, path)
	}
	tw.Flush()
	for _, r := range s.Replacing {
		fmt.Fprintf(w, "  member %d being rebuilt onto segment %d of drive %d\n", r.Member, r.Segment, r.Drive)
	}
	if len(s.RepairQueue) > 0 {
		fmt.Fprintf(w, "  stripes queued for repair: %v\n", s.RepairQueue)
	}
}

func renderSegment(w io.Writer, s pool.SegmentInfo) {
	fmt.Fprintf(w, "segment %d of drive %d (%s), pool %s: %s, generation %d", s.Index, s.Drive, s.Path, s.Pool, s.State, s.Generation)
	if s.Set != 0 {
		fmt.Fprintf(w, ", set %d", s.Set)
		if s.Member != nil {
			fmt.Fprintf(w, " member %d", *s.Member)
		}
	}
	fmt.Fprintf(w, ", %s live\n", human.IBytes(s.Live))
	fmt.Fprintf(w, "  bytes %d+%d on the drive, LBA %d+%d (%d-byte blocks)\n", s.ByteOffset, s.Capacity, s.LBA, s.LBACount, s.BlockSize)
	if s.Zone != "" && s.WritePointer != nil {
		fmt.Fprintf(w, "  zone %s, %s written\n", s.Zone, human.IBytes(*s.WritePointer))
	}
	if !s.Changed.IsZero() {
		fmt.Fprintf(w, "  changed %s\n", s.Changed.Format(time.RFC3339))
	}
}

func renderTrees(w io.Writer, ts []TreeInfo) {
	tw := tab(w)
	fmt.Fprintln(tw, "TREE\tID\tENTRIES\tBYTES\tHEIGHT\tLEAVES\tINTERNAL\tBUFFERED")
	buffered := false
	for _, t := range ts {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%d\t%d\t%d\t%d\n", t.Name, t.ID, t.Entries, human.IBytes(int64(t.Bytes)), t.Height, t.Leaves, t.Internal, t.Buffered)
		buffered = buffered || t.Buffered > 0
	}
	tw.Flush()
	if buffered {
		fmt.Fprintln(w, "BUFFERED: puts since the last checkpoint into leaves not read yet, counted as new keys;")
		fmt.Fprintln(w, "ENTRIES and BYTES are upper bounds until the next checkpoint makes them exact.")
	}
}

func showKey(b Bytes) string {
	if b.Text != "" {
		return fmt.Sprintf("%q", b.Text)
	}
	return "hex:" + b.Hex
}

func showValue(b *Bytes, decoded map[string]any) string {
	if b == nil {
		return "(none)"
	}
	s := fmt.Sprintf("%d bytes %s", b.Len, showKey(*b))
	if b.Len == 0 {
		s = "0 bytes"
	}
	if len(decoded) > 0 {
		s += " " + showDecoded(decoded)
	}
	return s
}

func showDecoded(m map[string]any) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%v", k, m[k]))
	}
	return "{" + strings.Join(parts, " ") + "}"
}

func renderNode(w io.Writer, n NodeResult) {
	kind := "internal"
	if n.Leaf {
		kind = "leaf"
	}
	where := "in memory (changed since the last checkpoint)"
	if a := n.Addr; a != nil {
		where = fmt.Sprintf("metadata segment %d offset %d, %d bytes, checksum %s, generation %d", a.Segment, a.Offset, a.Length, a.Checksum, a.Generation)
	}
	fmt.Fprintf(w, "tree %s (id %d) node %s: %s, level %d, %d bytes encoded, %s\n", n.Tree, n.TreeID, n.Path, kind, n.Level, n.Size, where)
	for i, e := range n.Entries {
		fmt.Fprintf(w, "  %d  %s = %s\n", i, showKey(e.Key), showValue(&e.Value, e.Decoded))
	}
	for _, c := range n.Children {
		at := "in memory"
		if c.Addr != nil {
			at = fmt.Sprintf("segment %d offset %d (%d bytes, gen %d)", c.Addr.Segment, c.Addr.Offset, c.Addr.Length, c.Addr.Generation)
		}
		key := showKey(c.Key)
		if c.Key.Len == 0 {
			key = "(first)"
		}
		fmt.Fprintf(w, "  %s  from %s  %s\n", c.Path, key, at)
	}
}

func renderGet(w io.Writer, g GetResult) {
	if !g.Found {
		fmt.Fprintf(w, "%s %s: no value\n", g.Tree, showKey(g.Key))
		return
	}
	fmt.Fprintf(w, "%s %s = %s\n", g.Tree, showKey(g.Key), showValue(g.Value, g.Decoded))
}

func renderEdit(w io.Writer, e EditResult) {
	if !e.Applied {
		RenderPreview(w, "", mustJSON(e))
		return
	}
	fmt.Fprintf(w, "btree %s in %s, key %s: done (journal LSN %d)\n", e.Op, e.Tree, showKey(e.Key), e.LSN)
	fmt.Fprintf(w, "  was: %s\n", showValue(e.Old, e.OldDecoded))
	if e.Op == "put" {
		fmt.Fprintf(w, "  now: %s\n", showValue(e.New, e.NewDecoded))
	}
}

func mustJSON(v any) json.RawMessage {
	b, _ := marshal(v)
	return b
}

func renderRequests(w io.Writer, r RequestsResult) {
	renderAPI(w, r.API)
	if len(r.Requests) == 0 {
		fmt.Fprintln(w, "(no requests)")
		return
	}
	tw := tab(w)
	fmt.Fprintln(tw, "ID\tSTATE\tAGE\tOP\tCLIENT\tREQUEST")
	for _, q := range r.Requests {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s %s\n", q.ID, q.State, q.Age, q.Op, q.Client, q.Method, q.Path)
	}
	tw.Flush()
}

// renderLatency draws each drive's histograms as text bars.
func renderLatency(w io.Writer, ds []DriveLatency) {
	const width = 40
	for _, d := range ds {
		fmt.Fprintf(w, "drive %d %s", d.Position, d.Path)
		if d.StalledUS > 0 {
			fmt.Fprintf(w, " (IO under way for %s without completing)", us(d.StalledUS))
		}
		fmt.Fprintln(w)
		kinds := make([]string, 0, len(d.Ops))
		for k := range d.Ops {
			kinds = append(kinds, k)
		}
		order := map[string]int{"read": 0, "write": 1, "flush": 2, "other": 3}
		sort.Slice(kinds, func(i, j int) bool { return order[kinds[i]] < order[kinds[j]] })
		for _, k := range kinds {
			h := d.Ops[k]
			fmt.Fprintf(w, "  %s: %d ops, %s, %d errors, %d in flight; p50 %s, p99 %s, mean %s\n", k, h.Count, human.IBytes(h.Bytes), h.Errors, h.InFlight, us(h.P50US), us(h.P99US), us(h.MeanUS))
			var peak int64
			for _, b := range h.Buckets {
				peak = max(peak, b.Count)
			}
			for _, b := range h.Buckets {
				n := 0
				if peak > 0 {
					n = int((b.Count*width + peak - 1) / peak)
				}
				fmt.Fprintf(w, "    < %10s |%-*s| %d\n", us(b.UpperUS), width, strings.Repeat("#", n), b.Count)
			}
		}
	}
}

func renderCleanerLine(w io.Writer, c CleanerState) {
	state := "idle"
	if c.Active {
		state = "active"
		if c.Set != 0 {
			state += fmt.Sprintf(", cleaning set %d", c.Set)
		}
	}
	fmt.Fprintf(w, "  cleaner %s: %d sets cleaned, %s moved, %d released, %s reclaimable", state, c.SetsCleaned, human.IBytes(c.BytesRelocated), c.SetsReleased, human.IBytes(c.ReclaimableB))
	if c.Reason != "" {
		fmt.Fprintf(w, " (%s)", c.Reason)
	}
	if c.LastError != "" {
		fmt.Fprintf(w, "; last error: %s", c.LastError)
	}
	fmt.Fprintln(w)
}

func renderCleaner(w io.Writer, cs []CleanerState) {
	for _, c := range cs {
		fmt.Fprintf(w, "pool %s\n", c.Pool)
		renderCleanerLine(w, c)
		for _, cd := range c.Candidates {
			fmt.Fprintf(w, "    next: set %d, %.0f%% live (%s of %s), sealed %s ago, score %.1f\n", cd.Set, cd.Utilization*100, human.IBytes(cd.Live), human.IBytes(cd.Capacity), time.Duration(cd.AgeSeconds)*time.Second, cd.Score)
		}
	}
}

func renderStripeRepair(w io.Writer, r pool.StripeRepair) {
	fmt.Fprintf(w, "pool %s set %d stripe %d: ", r.Pool, r.Set, r.Stripe)
	if r.Sound {
		fmt.Fprint(w, "sound")
	} else {
		fmt.Fprintf(w, "damaged (missing %v, corrupt %v, rebuilt %v)", r.Missing, r.Corrupt, r.Rebuilt)
	}
	if r.VerifyError != "" {
		fmt.Fprintf(w, ": %s", r.VerifyError)
	}
	if r.Rewritten {
		fmt.Fprintf(w, "; %s of live records rewritten elsewhere", human.IBytes(r.MovedBytes))
	} else {
		fmt.Fprint(w, "; nothing rewritten")
	}
	if r.Dequeued {
		fmt.Fprint(w, "; left the repair queue")
	}
	fmt.Fprintln(w)
}

func renderRepairObject(w io.Writer, r RepairObjectResult) {
	fmt.Fprintf(w, "%s/%s (pool %s): %d stripes checked, %d damaged, %d rewritten\n", r.Bucket, r.Key, r.Pool, len(r.Stripes), r.Damaged, r.Rewritten)
	for _, s := range r.Stripes {
		if !s.Sound || s.Rewritten {
			fmt.Fprint(w, "  ")
			renderStripeRepair(w, s)
		}
	}
}

// renderOutline writes any JSON as an indented outline.
func renderOutline(w io.Writer, b json.RawMessage) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("decode the result: %w", err)
	}
	outline(w, v, "")
	return nil
}

func outline(w io.Writer, v any, in string) {
	switch t := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			switch e := t[k].(type) {
			case map[string]any, []any:
				if isEmpty(e) {
					fmt.Fprintf(w, "%s%s: -\n", in, k)
					continue
				}
				fmt.Fprintf(w, "%s%s:\n", in, k)
				outline(w, e, in+"  ")
			default:
				fmt.Fprintf(w, "%s%s: %v\n", in, k, scalar(e))
			}
		}
	case []any:
		for i, e := range t {
			switch e.(type) {
			case map[string]any, []any:
				fmt.Fprintf(w, "%s- [%d]\n", in, i)
				outline(w, e, in+"  ")
			default:
				fmt.Fprintf(w, "%s- %v\n", in, scalar(e))
			}
		}
	default:
		fmt.Fprintf(w, "%s%v\n", in, scalar(t))
	}
}

func isEmpty(v any) bool {
	switch t := v.(type) {
	case map[string]any:
		return len(t) == 0
	case []any:
		return len(t) == 0
	}
	return false
}

func scalar(v any) string {
	switch t := v.(type) {
	case nil:
		return "-"
	case float64:
		if t == float64(int64(t)) {
			return fmt.Sprint(int64(t))
		}
		return fmt.Sprint(t)
	}
	return fmt.Sprint(v)
}

func renderScrub(w io.Writer, r struct {
	Started    bool `json:"started"`
	Stopped    bool `json:"stopped"`
	WasRunning bool `json:"was_running"`
	Halted     bool `json:"halted"`
	Pools      []struct {
		Pool          string    `json:"pool"`
		Running       bool      `json:"running"`
		PassStarted   time.Time `json:"pass_started"`
		SetsDone      int64     `json:"sets_done"`
		SetsTotal     int64     `json:"sets_total"`
		LastCompleted time.Time `json:"last_completed"`
		Damaged       int64     `json:"damaged_last_pass"`
		Unrecoverable int64     `json:"unrecoverable_last_pass"`
		NextDue       time.Time `json:"next_due"`
		LastError     string    `json:"last_error"`
	} `json:"pools"`
}) {
	switch {
	case r.Started:
		fmt.Fprintln(w, "scrub: a pass of every pool starts now")
	case r.Stopped && r.WasRunning:
		fmt.Fprintln(w, "scrub: the pass under way stopped (it resumes where it stopped at scrub start); no pass runs until then")
	case r.Stopped:
		fmt.Fprintln(w, "scrub: halted; no pass runs until scrub start")
	case r.Halted:
		fmt.Fprintln(w, "scrub: HALTED by an operator (scrub start lets it run)")
	}
	for _, p := range r.Pools {
		fmt.Fprintf(w, "pool %s: ", p.Pool)
		if p.Running {
			fmt.Fprintf(w, "running since %s, %d/%d sets", p.PassStarted.Format(time.RFC3339), p.SetsDone, p.SetsTotal)
		} else if !p.PassStarted.IsZero() {
			fmt.Fprintf(w, "pass started %s stopped after %d/%d sets", p.PassStarted.Format(time.RFC3339), p.SetsDone, p.SetsTotal)
		} else {
			fmt.Fprint(w, "idle")
		}
		if !p.LastCompleted.IsZero() {
			fmt.Fprintf(w, "; last pass %s: %d damaged, %d unrecoverable", p.LastCompleted.Format(time.RFC3339), p.Damaged, p.Unrecoverable)
		}
		if !p.NextDue.IsZero() {
			fmt.Fprintf(w, "; next due %s", p.NextDue.Format(time.RFC3339))
		}
		if p.LastError != "" {
			fmt.Fprintf(w, "; last error: %s", p.LastError)
		}
		fmt.Fprintln(w)
	}
}

func renderRebuild(w io.Writer, r struct {
	Pools []struct {
		Pool        string    `json:"pool"`
		Running     bool      `json:"running"`
		Started     time.Time `json:"started"`
		SetsDone    int       `json:"sets_done"`
		SetsTotal   int       `json:"sets_total"`
		Members     int       `json:"members_rebuilt"`
		Bytes       int64     `json:"bytes"`
		Failed      int       `json:"members_failed"`
		ETA         string    `json:"eta"`
		LastDone    time.Time `json:"last_done"`
		LastError   string    `json:"last_error"`
		Rebalancing bool      `json:"rebalancing"`
		Moved       int       `json:"rebalance_moved"`
		Spread      float64   `json:"drive_spread"`
	} `json:"pools"`
}) {
	for _, p := range r.Pools {
		fmt.Fprintf(w, "pool %s: ", p.Pool)
		switch {
		case p.Running:
			fmt.Fprintf(w, "rebuilding since %s: %d/%d sets, %d members (%s) rebuilt, %d failed", p.Started.Format(time.RFC3339), p.SetsDone, p.SetsTotal, p.Members, human.IBytes(p.Bytes), p.Failed)
			if p.ETA != "" {
				fmt.Fprintf(w, ", ETA %s", p.ETA)
			}
		case p.Rebalancing:
			fmt.Fprintf(w, "rebalancing (drive spread %.0f%%)", p.Spread*100)
		default:
			fmt.Fprint(w, "idle")
			if !p.LastDone.IsZero() {
				fmt.Fprintf(w, "; last rebuild done %s (%d members, %s)", p.LastDone.Format(time.RFC3339), p.Members, human.IBytes(p.Bytes))
			}
		}
		if p.LastError != "" {
			fmt.Fprintf(w, "; last error: %s", p.LastError)
		}
		fmt.Fprintln(w)
	}
}
