package zonemu

import (
	"testing"

	"github.com/plinth-storage/plinth/io/dev"
)

func TestInjectReadOnly(t *testing.T) {
	d, m := create(t, limitCfg(BehaviorZNS, 1, 0))
	a := mustWrite(t, d, zstart(3), 2*tLBS, 1)
	mustOK(t, d.InjectCondition(zstart(3), dev.ZoneCondReadOnly))
	wantZone(t, d, 3, dev.ZoneCondReadOnly, -1)
	// Readable, with the data it had.
	wantData(t, d, zstart(3), a)
	wantZeros(t, d, zstart(3)+2*tLBS, tZone-2*tLBS)
	// Never writable, never resettable, no zone command.
	_, err := d.WriteAt(pattern(tLBS, 2), zstart(3)+2*tLBS)
	wantErr(t, err, dev.ErrZoneReadOnly)
	wantErr(t, d.ResetZone(zstart(3)), dev.ErrZoneReadOnly)
	wantErr(t, d.OpenZone(zstart(3)), dev.ErrZoneReadOnly)
	wantErr(t, d.CloseZone(zstart(3)), dev.ErrZoneReadOnly)
	wantErr(t, d.FinishZone(zstart(3)), dev.ErrZoneReadOnly)
	// Its open resource was released.
	mustOK(t, write1(d, t, 4))
	// Persisted at once, without a Flush.
	d2, _ := reopen(t, m)
	wantZone(t, d2, 3, dev.ZoneCondReadOnly, -1)
	wantData(t, d2, zstart(3), a)
}

func TestInjectOffline(t *testing.T) {
	d, m := create(t, smallCfg())
	mustWrite(t, d, zstart(3), 2*tLBS, 1)
	mustOK(t, d.InjectCondition(zstart(3), dev.ZoneCondReadOnly))
	mustOK(t, d.InjectCondition(zstart(3), dev.ZoneCondOffline))
	wantZone(t, d, 3, dev.ZoneCondOffline, -1)
	_, err := d.ReadAt(dev.AlignedBuffer(tLBS), zstart(3))
	wantErr(t, err, dev.ErrZoneOffline)
	// A read that only touches it fails too.
	_, err = d.ReadAt(dev.AlignedBuffer(2*tLBS), zstart(3)-tLBS)
	wantErr(t, err, dev.ErrZoneOffline)
	_, err = d.WriteAt(pattern(tLBS, 2), zstart(3)+2*tLBS)
	wantErr(t, err, dev.ErrZoneOffline)
	wantErr(t, d.ResetZone(zstart(3)), dev.ErrZoneOffline)
	wantErr(t, d.FinishZone(zstart(3)), dev.ErrZoneOffline)
	// Offline for good.
	wantErr(t, d.InjectCondition(zstart(3), dev.ZoneCondReadOnly), dev.ErrZoneOp)
	mustOK(t, d.InjectCondition(zstart(3), dev.ZoneCondOffline))
	// Neighbours are unaffected.
	mustWrite(t, d, zstart(4), tLBS, 3)
	d2, _ := reopen(t, m)
	wantZone(t, d2, 3, dev.ZoneCondOffline, -1)
	wantZone(t, d2, 4, dev.ZoneCondEmpty, 0) // never flushed
}

func TestInjectArguments(t *testing.T) {
	d, _ := create(t, smallCfg())
	wantErr(t, d.InjectCondition(zstart(3), dev.ZoneCondFull), dev.ErrZoneOp)
	wantErr(t, d.InjectCondition(zstart(3), dev.ZoneCondEmpty), dev.ErrZoneOp)
	wantErr(t, d.InjectCondition(zstart(0), dev.ZoneCondOffline), dev.ErrZoneOp)
	wantErr(t, d.InjectCondition(zstart(3)+tLBS, dev.ZoneCondOffline), dev.ErrMisaligned)
	wantErr(t, d.InjectCondition(zstart(9), dev.ZoneCondOffline), dev.ErrOutOfRange)
}
