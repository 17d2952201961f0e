package datalog

import (
	"fmt"

	"github.com/plinth-storage/plinth/stripe"
)

// VerifyStripe reads stripe s whole, data and parity units, and checks
// both: every data block's tag (rebuilding bad data units from parity, as
// a degraded read does) and every parity unit against the parity of the
// verified data. The Report names what it found missing, corrupt or
// rebuilt; an empty Report is a healthy stripe. More than K bad units is an
// error wrapping stripe.ErrUnrecoverable. Only stripes below the stream end
// can be verified (ErrRange).
func (r *Reader) VerifyStripe(s int64) (stripe.Report, error) {
	var rep stripe.Report
	if r.err != nil {
		return rep, r.err
	}
	if s < 0 || s*r.g.stripeBytes >= r.end {
		return rep, fmt.Errorf("data log set %d: verify stripe %d of a %d-byte stream: %w", r.g.set.ID, s, r.end, ErrRange)
	}
	_, err := r.degraded(s, &rep)
	return rep, err
}
