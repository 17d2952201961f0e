package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestTortureCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := runMain([]string{"torture", "--seeds", "3", "--ops", "40", "--json"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errOut.String())
	}
	var tot struct {
		Seeds      int            `json:"seeds"`
		Ops        int            `json:"operations"`
		Lost       int            `json:"acknowledged_lost"`
		WrongReads int            `json:"wrong_reads"`
		Faults     map[string]int `json:"faults_injected"`
	}
	if err := json.Unmarshal(out.Bytes(), &tot); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if tot.Seeds != 3 || tot.Ops != 120 || tot.Lost != 0 || tot.WrongReads != 0 {
		t.Fatalf("figures %+v", tot)
	}
	if !strings.Contains(errOut.String(), "torture: 3/3 seeds, 0 failed") {
		t.Fatalf("no progress on stderr:\n%s", errOut.String())
	}

	// One seed, a subset of its operations, traced.
	out.Reset()
	errOut.Reset()
	if code := runMain([]string{"torture", "--seed", "5", "--ops", "30", "--keep", "0-9,20", "-v"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errOut.String())
	}
	if !strings.Contains(errOut.String(), "  20 ") || strings.Contains(errOut.String(), "  15 ") {
		t.Fatalf("the trace does not follow --keep:\n%s", errOut.String())
	}

	for _, bad := range [][]string{
		{"torture", "--faults", "powercutt"},
		{"torture", "--faults", "eio=3"},
		{"torture", "--keep", "1-3"},
		{"torture", "--seed", "1", "--keep", "x"},
		{"torture", "--ops", "0"},
		{"torture", "extra"},
	} {
		out.Reset()
		errOut.Reset()
		if code := runMain(bad, &out, &errOut); code != 2 {
			t.Errorf("%v: exit %d, want 2\n%s", bad, code, errOut.String())
		}
	}
}
