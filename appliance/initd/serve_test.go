package initd

import (
	"strings"
	"testing"

	"github.com/plinth-storage/plinth/hw"
)

// TestServeArgv: serve gets the firmware slots and key only when init has
// them, so that its API can install firmware; the drives come last.
func TestServeArgv(t *testing.T) {
	drives := []hw.Drive{blank("vda"), blank("vdb")}
	for _, c := range []struct {
		config, slots, key string
		want               string
	}{
		{"", "", "", "/bin/plinth serve --data /var/lib/plinth --drive /dev/vda --drive /dev/vdb"},
		{ConfigFile, SlotsMount, FirmwareKeyFile, "/bin/plinth serve --data /var/lib/plinth --config /etc/plinth/config.json " +
			"--slots /run/plinth-slots --firmware-key /etc/plinth/firmware.pub --drive /dev/vda --drive /dev/vdb"},
		// Slots without a key: GET /v1/firmware works, PUT says what is missing.
		{"", "/slots", "", "/bin/plinth serve --data /var/lib/plinth --slots /slots --drive /dev/vda --drive /dev/vdb"},
	} {
		if got := strings.Join(ServeArgv("/bin/plinth", c.config, c.slots, c.key, drives), " "); got != c.want {
			t.Errorf("ServeArgv(%q, %q, %q):\n got %s\nwant %s", c.config, c.slots, c.key, got, c.want)
		}
	}
}
