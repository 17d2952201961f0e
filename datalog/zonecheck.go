package datalog

import (
	"errors"
	"fmt"

	"github.com/plinth-storage/plinth/io/dev"
)

// ErrBehindWritePointer: a member's zone holds fewer bytes than the
// stripes its set says were written (acknowledged stripes missing from
// the drive), or the zone cannot be written or read at all.
var ErrBehindWritePointer = errors.New("zone write pointer behind the set's frontier")

// CheckWritePointers compares the write pointer the drive reports for each
// sequential member of set with what the stream up to frontier needs
// there: the segment header and frontier/StripeBytes units. A full zone
// holds everything (its write pointer no longer says how much). It
// returns one *MemberError wrapping ErrBehindWritePointer per member that
// falls short, is offline or read-only, or cannot be reported, and the
// number of members it compared. Members without a device or on
// conventional drives are skipped: their written length is not recorded
// anywhere but in their blocks' tags, which the deep check reads.
//
// A write pointer past the frontier is normal: stripes written after the
// last commit that no index references (the next start advances past
// them).
func CheckWritePointers(set Set, frontier int64) (compared int, problems []error, err error) {
	g, err := newGeometry(set, false)
	if err != nil {
		return 0, nil, err
	}
	stripes := (frontier + g.stripeBytes - 1) / g.stripeBytes
	for i, m := range set.Members {
		if m.Loc.Dev == nil || !m.Loc.Sequential {
			continue
		}
		compared++
		problem := func(format string, args ...any) {
			problems = append(problems, &MemberError{Set: set.ID, Member: i, Loc: m.Loc, Op: "write pointer",
				Err: fmt.Errorf("%w: %s", ErrBehindWritePointer, fmt.Sprintf(format, args...))})
		}
		z, ok := dev.AsZoned(m.Loc.Dev)
		if !ok {
			problem("a sequential segment on a device that is not zoned")
			continue
		}
		zn, err := reportZone(z, m.Loc)
		if err != nil {
			problem("report zone: %v", err)
			continue
		}
		switch zn.Cond {
		case dev.ZoneCondFull:
			continue
		case dev.ZoneCondOffline, dev.ZoneCondReadOnly:
			problem("the zone is %s", zn.Cond)
			continue
		}
		need := int64(0)
		if stripes > 0 {
			need = g.hdr[i] + stripes*int64(g.unit)
		}
		if have := zn.WritePointer - m.Loc.Start; have < need {
			problem("the drive reports %d bytes written in the zone (%s), the set's frontier %d needs %d (stripes %d to %d are not on the drive)",
				have, zn.Cond, frontier, need, max(0, (have-g.hdr[i])/int64(g.unit)), stripes-1)
		}
	}
	return compared, problems, nil
}
