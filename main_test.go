package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = runMain(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestHelpListsEveryCommand(t *testing.T) {
	code, out, _ := run(t, "help")
	if code != 0 {
		t.Fatalf("help exited %d", code)
	}
	for name := range commands {
		if !strings.Contains(out, "  "+name) {
			t.Errorf("help does not list %s:\n%s", name, out)
		}
	}
	for name := range commands {
		code, out, _ := run(t, "help", name)
		if code != 0 || !strings.Contains(out, "usage: plinth "+name) {
			t.Errorf("help %s: exit %d\n%s", name, code, out)
		}
		code, _, errOut := run(t, name, "-h")
		if code != 0 || !strings.Contains(errOut, "usage: plinth "+name) {
			t.Errorf("%s -h: exit %d\n%s", name, code, errOut)
		}
	}
}

func TestBadCommandLines(t *testing.T) {
	for _, c := range []struct {
		args []string
		text string
	}{
		{nil, "usage: plinth <command>"},
		{[]string{"frobnicate"}, `no command "frobnicate"`},
		{[]string{"help", "frobnicate"}, `no command "frobnicate"`},
		{[]string{"mkfs"}, "name the drives"},
		{[]string{"mkfs", "--segment-size", "12X", "x"}, "unknown unit"},
		{[]string{"version", "extra"}, "no arguments"},
		{[]string{"serve", "--no-such-flag"}, "flag provided but not defined"},
	} {
		code, _, errOut := run(t, c.args...)
		if code != 2 || !strings.Contains(errOut, c.text) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", c.args, code, errOut, c.text)
		}
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := run(t, "version")
	if code != 0 {
		t.Fatal(code)
	}
	for _, want := range []string{"plinth dev", "revision: ", "built:    ", "go:       go1."} {
		if !strings.Contains(out, want) {
			t.Errorf("version output lacks %q:\n%s", want, out)
		}
	}
}

func TestMkfsAndServe(t *testing.T) {
	dir := t.TempDir()
	var drives []string
	for i := 0; i < 3; i++ {
		p := filepath.Join(dir, "d"+string(rune('0'+i))+".img")
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(p, 64<<20); err != nil {
			t.Fatal(err)
		}
		drives = append(drives, p)
	}
	code, out, errOut := run(t, append([]string{"mkfs", "--segment-size", "8M"}, drives...)...)
	if code != 0 {
		t.Fatalf("mkfs: %d %s", code, errOut)
	}
	if !strings.Contains(out, "3 of 3 drives present") || !strings.Contains(out, "8.0MiB") {
		t.Fatalf("mkfs report:\n%s", out)
	}
	// A second mkfs refuses the labelled drives and changes nothing.
	code, _, errOut = run(t, append([]string{"mkfs"}, drives...)...)
	if code != 1 || !strings.Contains(errOut, "use --force") {
		t.Fatalf("re-mkfs without --force: %d %s", code, errOut)
	}
	code, out, _ = run(t, append([]string{"serve", "--once", "--listen", "127.0.0.1:0", "--data", t.TempDir()}, drives...)...)
	if code != 0 || !strings.Contains(out, "3 of 3 drives present") || !strings.Contains(out, "metadata: 3 mirrors") ||
		!strings.Contains(out, "pool of 3 drives, 1+2 sets") {
		t.Fatalf("serve after refused mkfs: %d\n%s", code, out)
	}
	code, out, errOut = run(t, append([]string{"mkfs", "--force", "--segment-size", "8M"}, drives[:2]...)...)
	if code != 0 || !strings.Contains(out, "2 of 2 drives present") {
		t.Fatalf("mkfs --force: %d %s %s", code, out, errOut)
	}
	// A format that cannot fit a drive touches no drive.
	code, _, errOut = run(t, append([]string{"mkfs", "--force"}, drives...)...)
	if code != 1 || !strings.Contains(errOut, "holds no 268435456-byte segment") {
		t.Fatalf("mkfs with an impossible segment size: %d %s", code, errOut)
	}
	// Now d2 belongs to the old node: serving all three must fail.
	code, _, errOut = run(t, append([]string{"serve", "--once", "--listen", "127.0.0.1:0", "--data", t.TempDir()}, drives...)...)
	if code != 1 || !strings.Contains(errOut, "belongs to node") {
		t.Fatalf("serve with a foreign drive: %d %s", code, errOut)
	}
}

func TestServeEmbeddedDefault(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	code, out, errOut := run(t, "serve", "--once", "--listen", "127.0.0.1:0", "--data", dir)
	if code != 0 {
		t.Fatalf("first start: %d %s", code, errOut)
	}
	if !strings.Contains(out, "created the embedded default node") || !strings.Contains(out, "6 of 6 drives present") ||
		!strings.Contains(out, "host-managed") {
		t.Fatalf("first start output:\n%s", out)
	}
	if !strings.Contains(out, "pool default: pool of 6 drives, 4+2 sets") {
		t.Fatalf("first start: no pool:\n%s", out)
	}
	code, out, _ = run(t, "serve", "--once", "--listen", "127.0.0.1:0", "--data", dir)
	if code != 0 || strings.Contains(out, "created") || !strings.Contains(out, "6 of 6 drives present") || !strings.Contains(out, "metadata: 3 mirrors, checkpoint") {
		t.Fatalf("second start: %d\n%s", code, out)
	}
	code, out, errOut = run(t, "fsstat", "--data", dir)
	if code != 0 || !strings.Contains(out, "pool default") || !strings.Contains(out, "node: pool of 6 drives") || !strings.Contains(out, "metadata") {
		t.Fatalf("fsstat: %d %s\n%s", code, errOut, out)
	}
	code, out, _ = run(t, "fsstat", "--json", "--data", dir)
	if code != 0 || !strings.Contains(out, `"usable_bytes"`) || !strings.Contains(out, `"protect_at": 0.9`) {
		t.Fatalf("fsstat --json: %d\n%s", code, out)
	}
	code, _, errOut = run(t, "fsstat", "--data", filepath.Join(dir, "nothing"))
	if code != 1 || !strings.Contains(errOut, "no node in") {
		t.Fatalf("fsstat of no node: %d %s", code, errOut)
	}
}
