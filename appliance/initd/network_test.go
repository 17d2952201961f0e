package initd

import (
	"strings"
	"testing"
	"time"
)

// ConfigureNetwork changes the machine's interfaces, so only its lookups
// run here; the QEMU boot test configures a real guest.

func TestFindLinkMissing(t *testing.T) {
	start := time.Now()
	_, err := findLink("plinth-none0", 300*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "interface plinth-none0") || !strings.Contains(err.Error(), "/etc/plinth/modules") {
		t.Fatalf("got %v", err)
	}
	if time.Since(start) < 300*time.Millisecond {
		t.Fatal("findLink gave up before the wait was over")
	}
}

func TestFindLinkFirst(t *testing.T) {
	link, err := findLink("", 0)
	if err != nil {
		if strings.Contains(err.Error(), "no network interface besides loopback") {
			t.Skip("this machine has only loopback")
		}
		t.Fatal(err)
	}
	if link.Attrs().Name == "lo" {
		t.Fatal("the first interface is loopback")
	}
}
