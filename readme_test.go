package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestREADMEExamples runs the README's curl examples, as written, against
// a fresh `plinth serve` (only the address differs: the node listens on a
// free port), so the documentation cannot drift from the API.
func TestREADMEExamples(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: starts plinth serve (-short skips it)")
	}
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed (CI installs it): the README's examples use it")
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "<!-- api-examples:begin -->\n```sh\n")
	script, _, ok2 := strings.Cut(rest, "```\n<!-- api-examples:end -->")
	if !ok || !ok2 {
		t.Fatal("README.md has no api-examples block")
	}
	const addr = "PLINTH=http://127.0.0.1:8350\n"
	if !strings.HasPrefix(script, addr) {
		t.Fatalf("the examples must start with %q", addr)
	}
	work := t.TempDir()
	n := startNode(t, filepath.Join(work, "plinth-data"))
	script = "set -e\nPLINTH=" + n.url + "\n" + strings.TrimPrefix(script, addr)
	cmd := exec.Command("sh", "-c", script)
	cmd.Dir = work
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the README's examples failed: %v\n%s", err, out)
	}
	for _, want := range []string{`"name": "photos"`, "hello", "\n304\n", "Superseded", `"value": "Grace Hopper"`, "plinth_pool_usable_bytes{pool=\"default\"}"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the examples' output lacks %q:\n%s", want, out)
		}
	}
	if strings.Count(string(out), "Superseded") != 2 {
		t.Errorf("want two Superseded refusals:\n%s", out)
	}
	n.stop()
}
