package fsck

import (
	"errors"
	"fmt"

	"github.com/plinth-storage/plinth/io/dev"
)

// busy says what to do about a drive another process owns. io/direct's
// open already names the holder in its *dev.BusyError (from /proc/locks
// for files, /proc/*/fd for block devices); the error stays one, for
// errors.As and errors.Is(err, dev.ErrBusy).
func busy(err error) error {
	if !errors.Is(err, dev.ErrBusy) {
		return err
	}
	return fmt.Errorf("%w; stop it, then run fsck again", err)
}
