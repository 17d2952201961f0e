package console

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
)

func TestWords(t *testing.T) {
	for in, want := range map[string][]string{
		``:                         nil,
		`status`:                   {"status"},
		`  btree  get   t k  `:     {"btree", "get", "t", "k"},
		`btree put t 'a b' "c d"`:  {"btree", "put", "t", "a b", "c d"},
		`btree put t a\ b ''`:      {"btree", "put", "t", "a b", ""},
		`x "it's" 'say "hi"'`:      {"x", "it's", `say "hi"`},
		`x a=\"b\"`:                {"x", `a="b"`},
		`events kind=a,b  follow`:  {"events", "kind=a,b", "follow"},
		"tab\there":                {"tab", "here"},
		`x 'back\slash'`:           {"x", `back\slash`},
		`x "back\"quote"`:          {"x", `back"quote`},
		`object locate b/"a key"`:  {"object", "locate", "b/a key"},
		`btree get t hex:00000001`: {"btree", "get", "t", "hex:00000001"},
	} {
		got, err := Words(in)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("Words(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{`x 'open`, `x "open`, `x \`} {
		if _, err := Words(bad); err == nil {
			t.Errorf("Words(%q): no error", bad)
		}
	}
}

func TestSplitCommands(t *testing.T) {
	for in, want := range map[string][]string{
		`status; drives`:             {"status", "drives"},
		` ; status;;`:                {"status"},
		`btree put t k 'a;b'; x`:     {"btree put t k 'a;b'", "x"},
		`btree put t k a\;b; x`:      {`btree put t k a\;b`, "x"},
		`btree put t k "x;y" ; done`: {`btree put t k "x;y"`, "done"},
	} {
		if got := SplitCommands(in); !reflect.DeepEqual(got, want) {
			t.Errorf("SplitCommands(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseLine(t *testing.T) {
	cmds := Commands()
	for in, want := range map[string]Request{
		"status":                                  {Cmd: "status", Args: map[string]any{}},
		"btree put node/x key 'a value'":          {Cmd: "btree put", Args: map[string]any{"tree": "node/x", "key": "key", "value": "a value"}},
		"btree put node/x k v confirm":            {Cmd: "btree put", Args: map[string]any{"tree": "node/x", "key": "k", "value": "v", "confirm": true}},
		"btree put tree=node/x k v expect=absent": {Cmd: "btree put", Args: map[string]any{"tree": "node/x", "key": "k", "value": "v", "expect": "absent"}},
		"btree put node/x -- tree=k v":            {Cmd: "btree put", Args: map[string]any{"tree": "node/x", "key": "tree=k", "value": "v"}},
		"events kind=a,b severity=error follow":   {Cmd: "events", Args: map[string]any{"kind": "a,b", "severity": "error", "follow": true}},
		"drive locate 3 on":                       {Cmd: "drive locate", Args: map[string]any{"drive": "3", "led": "on"}},
		"latency":                                 {Cmd: "latency", Args: map[string]any{}},
		"repair stripe 12 7 force":                {Cmd: "repair stripe", Args: map[string]any{"set": "12", "stripe": "7", "force": true}},
		"object locate photos/a/b.jpg max=5":      {Cmd: "object locate", Args: map[string]any{"object": "photos/a/b.jpg", "max": "5"}},
	} {
		got, err := ParseLine(in, cmds)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("ParseLine(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for in, msg := range map[string]string{
		"":                 "no command",
		"frobnicate":       `no command "frobnicate"`,
		"btree":            "btree what?",
		"btree get t":      "KEY is missing",
		"status extra":     "too many arguments",
		"drive locate 3":   "LED is missing",
		"btree get 'open":  "unterminated",
		"scrub frobnicate": "scrub what?",
	} {
		_, err := ParseLine(in, cmds)
		if err == nil || !bytes.Contains([]byte(err.Error()), []byte(msg)) {
			t.Errorf("ParseLine(%q): %v, want %q", in, err, msg)
		}
	}
}

func TestComplete(t *testing.T) {
	cmds := Commands()
	values := func(kind string) []string {
		return map[string][]string{"tree": {"node/drives", "pool/default/heads"}, "drive": {"0", "1", "10"}, "bucket": {"photos/"}}[kind]
	}
	for in, want := range map[string][]string{
		"":                               {"btree", "buckets", "cleaner", "drive", "drives", "events", "fsstat", "help", "latency", "object", "pause", "pools", "rebuild", "repair", "requests", "resume", "scrub", "segment", "set", "status", "support-bundle", "whoami"},
		"bt":                             {"btree"},
		"btree ":                         {"del", "dump", "get", "list", "put"},
		"btree d":                        {"del", "dump"},
		"btree dump ":                    {"node/drives", "pool/default/heads"},
		"btree dump po":                  {"pool/default/heads"},
		"btree dump pool/default/heads ": nil,
		"drive locate 1":                 {"1", "10"},
		"drive locate 1 ":                {"on", "off"},
		"events sev":                     {"severity="},
		"events severity=e":              {"severity=error"},
		"events fo":                      {"follow"},
		"events follow fo":               nil,
		"object locate ph":               {"photos/"},
		"scrub s":                        {"start", "status", "stop"},
		"latency ops=":                   {"ops=rw", "ops=all"},
	} {
		got := Complete(in, cmds, values)
		if !slices.Equal(got, want) {
			t.Errorf("Complete(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseBytes(t *testing.T) {
	for in, want := range map[string]string{"abc": "abc", "hex:00ff": "\x00\xff", "hex:00 01": "\x00\x01", "b64:AAE=": "\x00\x01", "": ""} {
		got, err := ParseBytes(in)
		if err != nil || string(got) != want {
			t.Errorf("ParseBytes(%q) = %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"hex:0", "hex:zz", "b64:!"} {
		if _, err := ParseBytes(bad); err == nil {
			t.Errorf("ParseBytes(%q): no error", bad)
		}
	}
	if b := showBytes([]byte("o/photos/a")); b.Text != "o/photos/a" || b.Hex != "6f2f70686f746f732f61" || b.Len != 10 {
		t.Errorf("showBytes: %+v", b)
	}
	if b := showBytes([]byte{0, 1}); b.Text != "" || b.Hex != "0001" {
		t.Errorf("showBytes of binary: %+v", b)
	}
}

var update = flag.Bool("update", false, "rewrite the golden files")

// TestHelpGolden: the commands, their arguments and result shapes are the
// protocol scripts rely on; a change shows here (go test -update rewrites
// the file after a deliberate one).
func TestHelpGolden(t *testing.T) {
	got, err := json.MarshalIndent(HelpResult{Protocol: ProtocolVersion, Commands: Commands()}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "help.golden.json")
	if *update {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(path, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(append(got, '\n'), want) {
		t.Errorf("help differs from %s (go test -update after a deliberate change):\n%s", path, got)
	}
}

// TestArgs: argument values of every type, from JSON and from command
// lines (strings).
func TestArgs(t *testing.T) {
	cmd := &Command{Name: "x", Args: []Arg{{Name: "n", Type: "int"}, {Name: "b", Type: "bool"}, {Name: "d", Type: "duration"},
		{Name: "t", Type: "time"}, {Name: "k", Type: "bytes"}, {Name: "e", Type: "enum", Choices: []string{"on", "off"}}, {Name: "r", Type: "string", Required: true}}}
	x := &call{cmd: cmd, args: map[string]any{"n": json.Number("12"), "b": "yes", "d": "90s", "t": "1h", "k": "hex:0a", "e": "on", "r": "x"}}
	if err := x.check(); err != nil {
		t.Fatal(err)
	}
	if n, _ := x.int64("n"); n != 12 {
		t.Errorf("n %d", n)
	}
	if b, _ := x.boolean("b"); !b {
		t.Error("b")
	}
	if d, _ := x.duration("d"); d.Seconds() != 90 {
		t.Errorf("d %v", d)
	}
	if k, _ := x.bytes("k"); string(k) != "\n" {
		t.Errorf("k %q", k)
	}
	for name, bad := range map[string]any{"n": "twelve", "b": "maybe", "d": "soon", "t": "yesterday", "k": "hex:q", "e": "blink"} {
		args := map[string]any{"r": "x", name: bad}
		if err := (&call{cmd: cmd, args: args}).check(); err == nil || codeOf(err) != CodeBadArgs {
			t.Errorf("%s=%v: %v", name, bad, err)
		}
	}
	if err := (&call{cmd: cmd, args: map[string]any{}}).check(); err == nil {
		t.Error("a missing required argument passed")
	}
	if err := (&call{cmd: cmd, args: map[string]any{"r": "x", "zzz": 1}}).check(); err == nil {
		t.Error("an unknown argument passed")
	}
	if n, err := (&call{cmd: cmd, args: map[string]any{"n": 1.5}}).int64("n"); err == nil {
		t.Errorf("1.5 as an int: %d", n)
	}
}
