package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plinth-storage/plinth/appliance/console"
)

// TestREADMEConsoleExamples runs the README's console examples, as
// written, against a fresh node holding photos/cat.jpg (only the data
// directory and the bundle's directory differ).
func TestREADMEConsoleExamples(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "<!-- console-examples:begin -->\n```sh\n")
	block, _, ok2 := strings.Cut(rest, "```\n<!-- console-examples:end -->")
	if !ok || !ok2 {
		t.Fatal("README.md has no console-examples block")
	}
	s := consoleNode(t, nil)
	if _, err := s.Objects().CreateBucket(context.Background(), "photos"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Objects().Put(context.Background(), "photos", "cat.jpg", strings.NewReader(strings.Repeat("purr", 5000)), objectsPutOptions()); err != nil {
		t.Fatal(err)
	}
	dir, out := filepath.Dir(s.ConsoleSocket()), t.TempDir()
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(block), "\n") {
		words, err := console.Words(line)
		if err != nil || len(words) < 2 || words[0] != "plinth" {
			t.Fatalf("example %q: %v", line, err)
		}
		for i, w := range words {
			switch w {
			case "plinth-data":
				words[i] = dir
			case "/tmp":
				words[i] = out
			}
		}
		code, stdout, stderr := run(t, words[1:]...)
		if code != 0 || stdout == "" {
			t.Errorf("%s: exit %d\n%s%s", line, code, stdout, stderr)
		}
		n++
	}
	if n < 5 {
		t.Errorf("only %d examples", n)
	}
	if b, _ := filepath.Glob(filepath.Join(out, "plinth-support-*.tar.gz")); len(b) != 1 {
		t.Errorf("the bundle example wrote %v", b)
	}
}
