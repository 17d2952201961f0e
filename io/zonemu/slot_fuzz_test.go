package zonemu

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/minio/highwayhash"
	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/io/memdev"
)

// fuzzDevSize is the size of the backing device FuzzDecodeSlot decodes
// slots for, and opens accepted slots on. It bounds the zone table
// headerZones accepts (about 65000 zones), and so the memory and time one
// input can take.
const fuzzDevSize = 1 << 20

// In modeRead and modeReseal, the fuzz input is a slot laid out as its
// header fields (hdr[:hEnd]), then its zone table, then the header padding
// (hdr[hEnd:]), each zero padded when the input is short. Every byte of a
// slot can be set, and the zeros that fill most of a slot need not be in
// the input: the input of a valid slot is hEnd+8*NrZones bytes or less,
// which keeps the fuzzer (and its minimizer) fast.

// slotInput is the fuzz input for a slot: the layout above, without its
// trailing zeros.
func slotInput(hdr, table []byte) []byte {
	in := append(append(bytes.Clone(hdr[:hEnd]), table...), hdr[hEnd:]...)
	return bytes.TrimRight(in, "\x00")
}

// decodeInput runs the decoding path of readSlot, headerZones then
// decodeSlot, on fuzz input in as slot k. When reseal is set the checksum
// field is first recomputed, so that the checks past the checksum see
// arbitrary content. table is nil when headerZones refused the header.
func decodeInput(in []byte, k int, reseal bool) (hdr, table []byte, img *slotImage, serr *slotError) {
	hdr = make([]byte, headerSize)
	copy(hdr[:hEnd], in)
	rest := in[min(len(in), hEnd):]
	// headerZones reads only the header fields.
	n, serr := headerZones(hdr, fuzzDevSize)
	if serr != nil {
		return hdr, nil, nil, serr
	}
	table = make([]byte, tableSize(n))
	copy(table, rest)
	copy(hdr[hEnd:], rest[min(len(rest), len(table)):])
	if reseal {
		le.PutUint64(hdr[hChecksum:], checksum(hdr, table))
	}
	img, serr = decodeSlot(hdr, table, k)
	return hdr, table, img, serr
}

// specChecksum is the slot checksum as the package comment specifies it,
// computed without the package's code.
func specChecksum(hdr, table []byte) uint64 {
	data := make([]byte, 0, len(hdr)-8+len(table))
	data = append(data, hdr[:64]...)
	data = append(data, hdr[72:]...)
	data = append(data, table...)
	return highwayhash.Sum64(data, []byte("plinth/zonemu metadata slot key."))
}

// afterPowerCycle is the zone state Open makes of a decoded one: open zones
// come back closed.
func afterPowerCycle(zones []zoneState) []zoneState {
	out := make([]zoneState, len(zones))
	for i, z := range zones {
		if z.cond.IsOpen() {
			z.cond = dev.ZoneCondClosed
		}
		out[i] = zoneState{cond: z.cond, wp: z.wp}
	}
	return out
}

// recorded is the zone state a slot records for an emulator state: open
// and closed zones with nothing written are empty, and only the condition
// and the write pointer are kept.
func recorded(zones []zoneState) []zoneState {
	out := make([]zoneState, len(zones))
	for i, z := range zones {
		if z.cond.IsActive() && z.wp == 0 {
			z.cond = dev.ZoneCondEmpty
		}
		out[i] = zoneState{cond: z.cond, wp: z.wp}
	}
	return out
}

// slotInputOf returns slot k on the media as a fuzz input.
func slotInputOf(m media, cfg Config, k int) []byte {
	return slotInput(slotBytes(m, cfg, k))
}

// fuzzSeedConfigs are the configs of the seed slots: SMR and ZNS, with and
// without conventional zones and limits, 512- and 4096-byte blocks, and a
// zone table of more than one block.
func fuzzSeedConfigs() []Config {
	return []Config{
		smallCfg(),
		{ZoneSize: 8 * tLBS, ZoneCapacity: 8 * tLBS, NrZones: 8, MaxOpenZones: 2, MaxActiveZones: 3, LogicalBlockSize: tLBS, Behavior: BehaviorSMR},
		{ZoneSize: tZone, ZoneCapacity: 12 * tLBS, NrZones: 10, NrConventional: 1, MaxOpenZones: 4, MaxActiveZones: 5, LogicalBlockSize: tLBS, Behavior: BehaviorZNS},
		{ZoneSize: 8 * 512, ZoneCapacity: 6 * 512, NrZones: 9, NrConventional: 2, MaxOpenZones: 2, LogicalBlockSize: 512, Behavior: BehaviorZNS},
		{ZoneSize: 2 * 512, ZoneCapacity: 2 * 512, NrZones: 600, NrConventional: 3, MaxActiveZones: 4, LogicalBlockSize: 512, Behavior: BehaviorSMR},
	}
}

// fuzzSeedSlot is a slot taken from the media, as a fuzz input, and its
// index.
type fuzzSeedSlot struct {
	in []byte
	k  int
}

// fuzzSeedSlots drives the emulator through every zone condition on each
// seed config, scripted and then at random, and returns the distinct slots
// it persisted. Each is checked to decode to the state the emulator held
// when it was written: encode then decode round-trips for every state the
// emulator reaches.
func fuzzSeedSlots(tb testing.TB) []fuzzSeedSlot {
	tb.Helper()
	var seeds []fuzzSeedSlot
	seen := map[string]bool{}
	for ci, cfg := range fuzzSeedConfigs() {
		m := newMemDev(cfg.zoneArea()+MetadataSize(cfg), cfg.LogicalBlockSize)
		d, err := Create(m, cfg)
		if err != nil {
			tb.Fatalf("config %d: Create(%+v): %v", ci, cfg, err)
		}
		lbs := cfg.LogicalBlockSize
		seq := cfg.NrZones - cfg.NrConventional
		start := func(i int) int64 { return int64(cfg.NrConventional+i%seq) * cfg.ZoneSize }
		write := func(i, blocks int) {
			z := cfg.NrConventional + i%seq
			d.mu.Lock()
			wp := d.zones[z].wp
			d.mu.Unlock()
			_, _ = d.WriteAt(pattern(blocks*lbs, byte(i)), start(i)+wp)
		}
		// snap persists the current state and keeps both slots.
		snap := func(what string) {
			tb.Helper()
			d.mu.Lock()
			want := recorded(d.zones)
			d.mu.Unlock()
			if err := d.Flush(); err != nil {
				tb.Fatalf("config %d %s: Flush: %v", ci, what, err)
			}
			for k := range 2 {
				in := slotInputOf(m, cfg, k)
				_, _, img, serr := decodeInput(in, k, false)
				if serr != nil {
					tb.Fatalf("config %d %s: slot %d written by the emulator does not decode: %v", ci, what, k, serr)
				}
				if k == d.durableSlot && (img.cfg != cfg || img.seq != d.durableSeq || !slices.Equal(img.zones, want)) {
					tb.Fatalf("config %d %s: slot %d decodes to %+v seq %d %v\nwant %+v seq %d %v",
						ci, what, k, img.cfg, img.seq, img.zones, cfg, d.durableSeq, want)
				}
				// A big zone table makes a big input, slow for the
				// fuzzer to minimize: one state of it is enough.
				if !seen[string(in)] && (cfg.NrZones <= 512 || what == "random end") {
					seen[string(in)] = true
					seeds = append(seeds, fuzzSeedSlot{in, k})
				}
			}
		}
		snap("after Create")
		write(0, 1) // implicitly open
		snap("one write")
		_ = d.OpenZone(start(1)) // explicitly open, nothing written: recorded empty
		snap("explicit open")
		write(1, 2) // explicitly open with data
		write(2, 1)
		_ = d.CloseZone(start(2)) // closed
		snap("open and closed zones")
		_ = d.FinishZone(start(3)) // full with nothing written
		write(4, int(cfg.ZoneCapacity)/lbs)
		write(5, 1)
		_ = d.InjectCondition(start(5), dev.ZoneCondReadOnly)
		write(6, 1)
		_ = d.InjectCondition(start(6), dev.ZoneCondOffline)
		snap("full, read-only and offline zones")
		_ = d.ResetZone(start(4))
		write(7, 1)
		snap("reset")
		if cfg.NrConventional > 0 {
			_, _ = d.WriteAt(pattern(lbs, 9), 0) // conventional: no zone state
		}
		rng := rand.New(rand.NewPCG(uint64(ci), 3))
		for step := range 120 {
			i := rng.IntN(seq)
			switch op := rng.IntN(10); {
			case op < 5:
				write(i, 1+rng.IntN(3))
			case op < 6:
				_ = d.ResetZone(start(i))
			case op < 7:
				_ = d.OpenZone(start(i))
			case op < 8:
				_ = d.CloseZone(start(i))
			case op < 9:
				_ = d.FinishZone(start(i))
			default:
				snap(fmt.Sprintf("random step %d", step))
			}
		}
		snap("random end")
	}
	return seeds
}

// Fuzz modes, mode%3 of FuzzDecodeSlot.
const (
	modeRead   = 0 // in is a slot, decoded as read
	modeReseal = 1 // in is a slot, its checksum recomputed first
	modeState  = 2 // in describes a state (see stateFromInput), encoded then decoded
)

// FuzzDecodeSlot fuzzes the metadata slot decoder, headerZones then
// decodeSlot as Open runs them, and the encoder. in is a slot in the layout
// described at slotInput, or a state for modeState; k&1 is the slot index.
// flip picks a bit to corrupt in an accepted slot.
//
// The decoder never panics. It never accepts a slot whose checksum is not
// the specified one, and refuses an accepted slot with any one bit flipped;
// a slot that fails its checksum is torn (the other slot is used), never
// invalid (Open fails). A slot whose checksum matches is accepted exactly
// when it holds what the package comment allows (specCheck). Whatever it
// accepts re-encodes to exactly the same bytes and decodes again the same.
// Every valid state (a config Create accepts, zones as the emulator keeps
// them) encodes to a slot that decodes to that state. Accepted slots are
// also opened, and the state Open makes of them, persisted again, opens the
// same.
func FuzzDecodeSlot(f *testing.F) {
	seeds := fuzzSeedSlots(f)
	for i, s := range seeds {
		mode := uint8(modeRead)
		if i%3 == 0 {
			mode = modeReseal
		}
		f.Add(s.in, uint8(s.k), mode, uint32(i)*7919)
		if i%4 == 0 {
			_, _, img, _ := decodeInput(s.in, s.k, false)
			f.Add(stateInput(img.cfg, img.seq, img.zones), uint8(s.k), uint8(modeState), uint32(i)*104729)
		}
	}
	// The near misses are of the last small slot, full of state.
	var valid fuzzSeedSlot
	for _, s := range seeds {
		if len(s.in) <= 512 {
			valid = s
		}
	}
	v := valid.in
	mod := func(change func(b []byte)) []byte {
		b := bytes.Clone(v)
		change(b)
		return b
	}
	random := make([]byte, 600)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	// Truncations, garbage and near misses.
	for _, b := range [][]byte{
		nil,
		[]byte(slotMagic),
		v[:hChecksum],            // no checksum
		v[:hEnd],                 // the zone table never written
		v[:hEnd+len(v[hEnd:])/2], // torn zone table
		v[:len(v)-1],             // one byte short
		append(bytes.Clone(v), make([]byte, 9)...), // trailing zeros
		append(bytes.Clone(v), 0, 0, 1),            // table padding
		mod(func(b []byte) { b[len(b)-1] ^= 1 }),   // a zone table byte
		mod(func(b []byte) { b[hChecksum] ^= 1 }),
		mod(func(b []byte) { le.PutUint32(b[hNrZones:], 0) }),
		mod(func(b []byte) { le.PutUint32(b[hNrZones:], maxZones) }),
		mod(func(b []byte) { le.PutUint32(b[hNrZones:], 1<<31) }),
		mod(func(b []byte) { le.PutUint32(b[hVersion:], 2) }),
		mod(func(b []byte) { le.PutUint32(b[hMaxOpen:], 1<<31) }),
		mod(func(b []byte) { clear(b[:len(slotMagic)]) }),
		append([]byte(slotMagic), random...),
		random,
		bytes.Repeat([]byte{0xFF}, 2*hEnd),
	} {
		f.Add(b, uint8(valid.k), uint8(modeRead), uint32(len(b)))
		f.Add(b, uint8(valid.k), uint8(modeReseal), uint32(len(b)))
		f.Add(b, uint8(valid.k), uint8(modeState), uint32(len(b)))
	}
	f.Add(v, uint8(1-valid.k), uint8(modeRead), uint32(0)) // the slot index does not match
	f.Add(v, uint8(1-valid.k), uint8(modeReseal), uint32(0))

	f.Fuzz(func(t *testing.T, in []byte, k, mode uint8, flip uint32) {
		slot := int(k & 1)
		var hdr, table []byte
		var img *slotImage
		switch mode % 3 {
		case modeRead, modeReseal:
			var serr *slotError
			reseal := mode%3 == modeReseal
			hdr, table, img, serr = decodeInput(in, slot, reseal)
			if serr != nil {
				checkRefused(t, hdr, table, serr, slot, reseal)
				return
			}
		case modeState:
			cfg, seq, zones, ok := stateFromInput(in)
			if !ok {
				return
			}
			hdr, table = make([]byte, headerSize), make([]byte, tableSize(cfg.NrZones))
			encodeSlot(hdr, table, cfg, slot, seq, zones)
			var serr *slotError
			if _, serr = headerZones(hdr, cfg.zoneArea()+MetadataSize(cfg)); serr == nil {
				img, serr = decodeSlot(hdr, table, slot)
			}
			if serr != nil {
				t.Fatalf("the slot of a valid state (config %+v) does not decode: %v", cfg, serr)
			}
			if img.cfg != cfg || img.seq != seq || !slices.Equal(img.zones, recorded(zones)) {
				t.Fatalf("state %+v seq %d %v\ndecodes to %+v seq %d %v", cfg, seq, recorded(zones), img.cfg, img.seq, img.zones)
			}
		}
		checkAccepted(t, hdr, table, img, slot)
		// One flipped bit anywhere in the slot: refused.
		bad := append(append(bytes.Clone(hdr[:hEnd]), table...), hdr[hEnd:]...)
		bit := int(flip % uint32(8*len(bad)))
		bad[bit/8] ^= 1 << (bit % 8)
		if _, _, img2, _ := decodeInput(bad, slot, false); img2 != nil {
			t.Fatalf("accepted the slot with bit %d of its input flipped", bit)
		}
		checkOpen(t, hdr, table, img, slot)
	})
}

// A state description for modeState, little-endian, zero padded:
//
//	offset size
//	     0    8 ZoneSize
//	     8    8 ZoneCapacity
//	    16    8 NrZones
//	    24    8 NrConventional
//	    32    8 MaxOpenZones
//	    40    8 MaxActiveZones
//	    48    8 LogicalBlockSize
//	    56    1 Behavior
//	    57    8 sequence number
//	    65    5 per sequential zone: a condition selector (stateConds), then
//	            a block count, brought into the range the condition allows
//
// The config fields are as wide as the Config's, so that configs the
// format cannot hold are generated too.
const (
	sCfgEnd   = 56
	sBehavior = 56
	sSeq      = 57
	sZones    = 65
	sEntry    = 5
	// sMaxZones bounds the generated zone count, for speed.
	sMaxZones = 1 << 14
)

// stateConds maps a selector byte (mod len) to a condition; the last one is
// an explicitly open zone with nothing written.
var stateConds = []dev.ZoneCond{dev.ZoneCondEmpty, dev.ZoneCondImpOpen, dev.ZoneCondExpOpen, dev.ZoneCondClosed,
	dev.ZoneCondFull, dev.ZoneCondReadOnly, dev.ZoneCondOffline, dev.ZoneCondExpOpen}

// stateFromInput builds a valid state from a description: a config Create
// accepts and zones as the emulator keeps them (within the limits, write
// pointers where the conditions allow). ok is false when the config is not
// valid or has more than sMaxZones zones.
func stateFromInput(in []byte) (cfg Config, seq uint64, zones []zoneState, ok bool) {
	b := make([]byte, max(len(in), sZones))
	copy(b, in)
	i64 := func(off int) int64 { return int64(le.Uint64(b[off:])) }
	cfg = Config{
		ZoneSize: i64(0), ZoneCapacity: i64(8), NrZones: int(i64(16)), NrConventional: int(i64(24)),
		MaxOpenZones: int(i64(32)), MaxActiveZones: int(i64(40)), LogicalBlockSize: int(i64(48)),
		Behavior: Behavior(b[sBehavior]),
	}
	if cfg.validate() != nil || cfg.NrZones > sMaxZones {
		return cfg, 0, nil, false
	}
	seq = le.Uint64(b[sSeq:])
	lbs := int64(cfg.LogicalBlockSize)
	capBlocks := cfg.ZoneCapacity / lbs
	zones = make([]zoneState, cfg.NrZones)
	open, active := 0, 0
	for i := cfg.NrConventional; i < cfg.NrZones; i++ {
		var e [sEntry]byte
		if off := sZones + sEntry*(i-cfg.NrConventional); off < len(b) {
			copy(e[:], b[off:])
		}
		sel := int(e[0]) % len(stateConds)
		blocks := int64(le.Uint32(e[1:]))
		z := zoneState{cond: stateConds[sel]}
		switch {
		case sel == len(stateConds)-1: // explicitly open, nothing written
		case z.cond.IsActive() && capBlocks > 1:
			z.wp = (1 + blocks%(capBlocks-1)) * lbs
		case z.cond.IsActive():
			z.cond, z.wp = dev.ZoneCondFull, cfg.ZoneCapacity
		case z.cond != dev.ZoneCondEmpty:
			z.wp = blocks % (capBlocks + 1) * lbs
		}
		if z.cond.IsOpen() && cfg.MaxOpenZones > 0 && open >= cfg.MaxOpenZones {
			z.cond = dev.ZoneCondClosed
			if z.wp == 0 {
				z.cond = dev.ZoneCondEmpty
			}
		}
		if z.cond.IsActive() && cfg.MaxActiveZones > 0 && active >= cfg.MaxActiveZones {
			z.cond = dev.ZoneCondFull
		}
		if z.cond.IsOpen() {
			open++
		}
		if z.cond.IsActive() {
			active++
		}
		zones[i] = z
	}
	return cfg, seq, zones, true
}

// stateInput describes a state for stateFromInput.
func stateInput(cfg Config, seq uint64, zones []zoneState) []byte {
	b := make([]byte, sZones+sEntry*(cfg.NrZones-cfg.NrConventional))
	for i, v := range []int64{cfg.ZoneSize, cfg.ZoneCapacity, int64(cfg.NrZones), int64(cfg.NrConventional),
		int64(cfg.MaxOpenZones), int64(cfg.MaxActiveZones), int64(cfg.LogicalBlockSize)} {
		le.PutUint64(b[8*i:], uint64(v))
	}
	b[sBehavior] = byte(cfg.Behavior)
	le.PutUint64(b[sSeq:], seq)
	lbs := int64(cfg.LogicalBlockSize)
	for i, z := range zones[cfg.NrConventional:] {
		e := b[sZones+sEntry*i:]
		e[0] = byte(slices.Index(stateConds, z.cond))
		blocks := z.wp / lbs
		if z.cond.IsActive() {
			blocks--
		}
		le.PutUint32(e[1:], uint32(blocks))
	}
	return b
}

// specCheck says whether a slot whose checksum matches holds what the
// package comment allows, from the layout it documents and Config's rules,
// without the decoder's code.
func specCheck(hdr, table []byte, k int) error {
	u32 := func(b []byte, off int) uint32 { return le.Uint32(b[off:]) }
	switch {
	case string(hdr[:8]) != "PLZONEMU":
		return errors.New("magic")
	case u32(hdr, 8) != 1:
		return errors.New("version")
	case u32(hdr, 12) != uint32(k):
		return errors.New("slot index")
	case hdr[61] != 0 || hdr[62] != 0 || hdr[63] != 0:
		return errors.New("reserved header bytes")
	case nonzero(hdr[72:]):
		return errors.New("header padding")
	}
	cfg := Config{
		ZoneSize: int64(le.Uint64(hdr[24:])), ZoneCapacity: int64(le.Uint64(hdr[32:])),
		NrZones: int(u32(hdr, 40)), NrConventional: int(u32(hdr, 44)),
		MaxOpenZones: int(u32(hdr, 48)), MaxActiveZones: int(u32(hdr, 52)),
		LogicalBlockSize: int(u32(hdr, 56)), Behavior: Behavior(hdr[60]),
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	if len(table) != (8*cfg.NrZones+4095)/4096*4096 {
		return errors.New("table size")
	}
	if nonzero(table[8*cfg.NrZones:]) {
		return errors.New("table padding")
	}
	open, active := 0, 0
	for i := range cfg.NrZones {
		e := table[8*i:]
		cond, wp := dev.ZoneCond(e[0]), int64(u32(e, 4))*int64(cfg.LogicalBlockSize)
		if e[1] != 0 || e[2] != 0 || e[3] != 0 {
			return fmt.Errorf("zone %d reserved bytes", i)
		}
		ok := false
		switch {
		case i < cfg.NrConventional:
			ok = cond == 0 && wp == 0
		case cond == 1:
			ok = wp == 0
		case cond == 2 || cond == 3 || cond == 4:
			ok = 0 < wp && wp < cfg.ZoneCapacity
		case cond == 0xD || cond == 0xE || cond == 0xF:
			ok = wp <= cfg.ZoneCapacity
		}
		if !ok {
			return fmt.Errorf("zone %d: condition %#x, %d bytes written", i, cond, wp)
		}
		if cond == 2 || cond == 3 {
			open++
		}
		if cond == 2 || cond == 3 || cond == 4 {
			active++
		}
	}
	if cfg.MaxOpenZones > 0 && open > cfg.MaxOpenZones || cfg.MaxActiveZones > 0 && active > cfg.MaxActiveZones {
		return errors.New("limits")
	}
	return nil
}

func nonzero(b []byte) bool { return slices.ContainsFunc(b, func(c byte) bool { return c != 0 }) }

// checkRefused checks why a slot was refused.
func checkRefused(t *testing.T, hdr, table []byte, serr *slotError, k int, reseal bool) {
	t.Helper()
	if serr.msg == "" {
		t.Fatalf("slot refused (kind %d) without a message", serr.kind)
	}
	magic := string(hdr[:len(slotMagic)]) == slotMagic
	switch {
	case table == nil: // refused by headerZones
		if want := map[bool]slotFault{false: slotAbsent, true: slotTorn}[magic]; serr.kind != want {
			t.Fatalf("header refused as kind %d, want %d: %v", serr.kind, want, serr)
		}
	case reseal || le.Uint64(hdr[hChecksum:]) == specChecksum(hdr, table):
		if serr.kind != slotInvalid {
			t.Fatalf("slot with a matching checksum refused as kind %d, not invalid: %v", serr.kind, serr)
		}
		if specCheck(hdr, table, k) == nil {
			t.Fatalf("refused a slot the format allows: %v", serr)
		}
	default:
		if serr.kind != slotTorn {
			t.Fatalf("slot failing its checksum refused as kind %d, not torn: %v", serr.kind, serr)
		}
	}
}

// checkAccepted checks a decoded slot against its bytes.
func checkAccepted(t *testing.T, hdr, table []byte, img *slotImage, k int) {
	t.Helper()
	if got, want := le.Uint64(hdr[hChecksum:]), specChecksum(hdr, table); got != want {
		t.Fatalf("accepted a slot with checksum %#016x, want %#016x", got, want)
	}
	if err := specCheck(hdr, table, k); err != nil {
		t.Fatalf("accepted a slot the format does not allow: %v", err)
	}
	if len(img.zones) != img.cfg.NrZones {
		t.Fatalf("%d zones for a config of %d zones", len(img.zones), img.cfg.NrZones)
	}
	// Re-encoding gives the same bytes, and they decode the same.
	hdr2, table2 := make([]byte, headerSize), make([]byte, len(table))
	encodeSlot(hdr2, table2, img.cfg, k, img.seq, img.zones)
	if !bytes.Equal(hdr2, hdr) {
		i := 0
		for hdr2[i] == hdr[i] {
			i++
		}
		t.Fatalf("accepted header re-encodes differently from byte %d: %#x, was %#x", i, hdr2[i], hdr[i])
	}
	if !bytes.Equal(table2, table) {
		i := 0
		for table2[i] == table[i] {
			i++
		}
		t.Fatalf("accepted zone table re-encodes differently from byte %d: %#x, was %#x", i, table2[i], table[i])
	}
	img2, serr := decodeSlot(hdr2, table2, k)
	if serr != nil || img2.cfg != img.cfg || img2.seq != img.seq || !slices.Equal(img2.zones, img.zones) {
		t.Fatalf("re-encoded slot decodes to %+v, %v; want %+v", img2, serr, img)
	}
}

// fuzzMem is the device checkOpen opens slots on, shared by the inputs
// (allocating one each time would take most of the fuzzer's time). It is
// all zeros between uses.
var fuzzMem struct {
	sync.Mutex
	m *memdev.Device
}

// checkOpen opens an accepted slot, written as slot k of a zeroed
// fuzzDevSize-byte device, and checks what the emulator makes of it; then
// it persists that state into the other slot and opens it again. A config
// whose zones do not fit the device must make Open fail.
func checkOpen(t *testing.T, hdr, table []byte, img *slotImage, k int) {
	t.Helper()
	cfg := img.cfg
	if MetadataSize(cfg) > fuzzDevSize {
		return
	}
	fuzzMem.Lock()
	defer fuzzMem.Unlock()
	if fuzzMem.m == nil {
		fuzzMem.m = memdev.New(memPath, fuzzDevSize, 512)
	}
	m := fuzzMem.m
	size := m.Geometry().Size
	meta := m.Bytes()[size-MetadataSize(cfg):]
	defer clear(meta)
	copy(m.Bytes()[headerOff(size, k):], hdr)
	copy(m.Bytes()[tableOff(size, cfg.NrZones, k):], table)
	if cfg.zoneArea()+MetadataSize(cfg) > size {
		_, err := Open(m.Reopen())
		var oe *dev.OpError
		if !errors.Is(err, ErrInvalidConfig) && !errors.Is(err, ErrCorrupt) || !errors.As(err, &oe) {
			t.Fatalf("Open of a slot whose zones do not fit the device: %v, want ErrInvalidConfig or ErrCorrupt", err)
		}
		return
	}
	want := afterPowerCycle(img.zones)
	check := func(d *Device, err error, seq uint64, slot int) {
		t.Helper()
		if err != nil {
			t.Fatalf("Open of an accepted slot: %v", err)
		}
		if d.Config() != cfg || d.durableSlot != slot || d.durableSeq != seq {
			t.Fatalf("opened config %+v, slot %d seq %d; want %+v, slot %d seq %d", d.Config(), d.durableSlot, d.durableSeq, cfg, slot, seq)
		}
		if got := afterPowerCycle(d.zones); !slices.Equal(got, want) {
			t.Fatalf("opened zones %v, want %v", got, want)
		}
		if d.nrOpen != 0 || len(d.impOpen) != 0 {
			t.Fatalf("%d zones open after Open", d.nrOpen)
		}
		zs, err := d.ReportZones(0, 0)
		if err != nil || len(zs) != cfg.NrZones {
			t.Fatalf("ReportZones: %d zones, %v", len(zs), err)
		}
		active := 0
		for _, z := range zs {
			if z.Cond.IsActive() {
				active++
			}
		}
		if active != d.nrActive {
			t.Fatalf("%d active zones reported, %d counted", active, d.nrActive)
		}
	}
	d, err := Open(m.Reopen())
	check(d, err, img.seq, k)
	if img.seq == 1<<64-1 {
		return // the next persist would wrap around
	}
	// Persist the reopened state as a zone command would.
	d.pmu.Lock()
	d.mu.Lock()
	err = d.persistLocked()
	d.mu.Unlock()
	d.pmu.Unlock()
	if err != nil {
		t.Fatalf("persisting the reopened state: %v", err)
	}
	d, err = Open(m.Reopen())
	check(d, err, img.seq+1, 1-k)
}

// TestFuzzSeedSlots checks the seed slots in a plain test run too: every
// zone condition is represented.
func TestFuzzSeedSlots(t *testing.T) {
	conds := map[dev.ZoneCond]bool{}
	for _, s := range fuzzSeedSlots(t) {
		_, _, img, serr := decodeInput(s.in, s.k, false)
		if serr != nil {
			t.Fatal(serr)
		}
		for _, z := range img.zones {
			conds[z.cond] = true
		}
	}
	for _, c := range []dev.ZoneCond{dev.ZoneCondNotWP, dev.ZoneCondEmpty, dev.ZoneCondImpOpen, dev.ZoneCondExpOpen,
		dev.ZoneCondClosed, dev.ZoneCondFull, dev.ZoneCondReadOnly, dev.ZoneCondOffline} {
		if !conds[c] {
			t.Errorf("no seed slot holds a %v zone", c)
		}
	}
}
