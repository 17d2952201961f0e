package console

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Arg is one argument of a command, as help lists it.
type Arg struct {
	Name string `json:"name"`
	// Type: "string", "int", "bool", "duration" ("90s", "1h"), "time"
	// (RFC 3339, or a duration meaning that long ago), "bytes" (text, or
	// "hex:..." or "b64:..."), "enum" (one of Choices).
	Type string `json:"type"`
	// Positional arguments may be given on a command line without their
	// name, in order; every argument may be given as name=value.
	Positional bool     `json:"positional,omitempty"`
	Required   bool     `json:"required,omitempty"`
	Choices    []string `json:"choices,omitempty"`
	// Complete names what completes the argument's value in the
	// interactive client: "tree", "drive", "bucket" (empty: Choices).
	Complete string `json:"complete,omitempty"`
	Help     string `json:"help"`
}

// Command is one console command, as help lists it.
type Command struct {
	Name    string `json:"name"`
	Summary string `json:"summary"`
	Args    []Arg  `json:"args"`
	// Mutating commands change the node; each run is recorded in the
	// events journal with who ran it.
	Mutating bool `json:"mutating,omitempty"`
	// Confirm: without "confirm": true the command changes nothing and
	// fails with code "confirm-required", its error carrying a preview.
	Confirm bool `json:"confirm,omitempty"`
	// Stream: the command may send stream items before its reply.
	Stream bool `json:"stream,omitempty"`
	// Result names the shape of the result (see the package comment).
	Result string `json:"result"`

	run func(x *call) (any, error)
}

// commands is every command, by name.
var commands = map[string]*Command{}

func register(c *Command) {
	if _, dup := commands[c.Name]; dup {
		panic("console: command " + c.Name + " registered twice")
	}
	if c.Args == nil {
		c.Args = []Arg{}
	}
	commands[c.Name] = c
}

// Commands lists every command, by name.
func Commands() []Command {
	out := make([]Command, 0, len(commands))
	for _, c := range commands {
		out = append(out, *c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// call is one command being run.
type call struct {
	ctx  context.Context
	cmd  *Command
	node *Node
	srv  *Server
	args map[string]any
	who  string
	// item sends a stream item (streaming commands only).
	item func(v any) error
}

// check refuses unknown arguments and missing required ones, and values
// of the wrong type.
func (x *call) check() error {
	for name := range x.args {
		if x.arg(name) == nil {
			var names []string
			for _, a := range x.cmd.Args {
				names = append(names, a.Name)
			}
			return errorf(CodeBadArgs, "%s: no argument %q (it takes: %s)", x.cmd.Name, name, strings.Join(names, ", "))
		}
	}
	for _, a := range x.cmd.Args {
		v, ok := x.args[a.Name]
		if !ok || v == nil {
			if a.Required {
				return errorf(CodeBadArgs, "%s: argument %q is required (%s)", x.cmd.Name, a.Name, a.Help)
			}
			continue
		}
		var err error
		switch a.Type {
		case "int":
			_, err = x.int64(a.Name)
		case "bool":
			_, err = x.boolean(a.Name)
		case "duration":
			_, err = x.duration(a.Name)
		case "time":
			_, err = x.time(a.Name)
		case "bytes":
			_, err = x.bytes(a.Name)
		case "enum":
			s := fmt.Sprint(v)
			if !slices.Contains(a.Choices, s) {
				err = errorf(CodeBadArgs, "%s: %s %q: want one of %s", x.cmd.Name, a.Name, s, strings.Join(a.Choices, ", "))
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (x *call) arg(name string) *Arg {
	for i := range x.cmd.Args {
		if x.cmd.Args[i].Name == name {
			return &x.cmd.Args[i]
		}
	}
	return nil
}

func (x *call) has(name string) bool {
	v, ok := x.args[name]
	return ok && v != nil
}

// str returns an argument as a string ("" when absent).
func (x *call) str(name string) string {
	v, ok := x.args[name]
	if !ok || v == nil {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprint(v)
}

func (x *call) bad(name string, v any, want string) error {
	return errorf(CodeBadArgs, "%s: %s %v: want %s", x.cmd.Name, name, v, want)
}

// int64 returns an integer argument (0 when absent).
func (x *call) int64(name string) (int64, error) {
	v, ok := x.args[name]
	if !ok || v == nil {
		return 0, nil
	}
	switch t := v.(type) {
	case json.Number:
		n, err := t.Int64()
		if err != nil {
			return 0, x.bad(name, v, "an integer")
		}
		return n, nil
	case float64:
		if t != math.Trunc(t) || math.Abs(t) > 1<<53 {
			return 0, x.bad(name, v, "an integer")
		}
		return int64(t), nil
	case int:
		return int64(t), nil
	case int64:
		return t, nil
	case string:
		n, err := strconv.ParseInt(strings.TrimSpace(t), 0, 64)
		if err != nil {
			return 0, x.bad(name, strconv.Quote(t), "an integer")
		}
		return n, nil
	}
	return 0, x.bad(name, v, "an integer")
}

// nonNegative returns an integer argument that must be 0 or more.
func (x *call) nonNegative(name string) (int64, error) {
	n, err := x.int64(name)
	if err == nil && n < 0 {
		err = x.bad(name, n, "0 or more")
	}
	return n, err
}

// boolean returns a boolean argument (false when absent).
func (x *call) boolean(name string) (bool, error) {
	v, ok := x.args[name]
	if !ok || v == nil {
		return false, nil
	}
	switch t := v.(type) {
	case bool:
		return t, nil
	case string:
		switch strings.ToLower(t) {
		case "", "true", "yes", "on", "1":
			return true, nil
		case "false", "no", "off", "0":
			return false, nil
		}
	}
	return false, x.bad(name, v, "true or false")
}

// duration returns a duration argument ("90s"; a number is seconds).
func (x *call) duration(name string) (time.Duration, error) {
	v, ok := x.args[name]
	if !ok || v == nil {
		return 0, nil
	}
	switch t := v.(type) {
	case string:
		d, err := time.ParseDuration(t)
		if err != nil || d < 0 {
			return 0, x.bad(name, strconv.Quote(t), "a duration such as 90s or 1h")
		}
		return d, nil
	case json.Number, float64:
		f, _ := strconv.ParseFloat(fmt.Sprint(t), 64)
		if f < 0 || f > 1e9 {
			return 0, x.bad(name, v, "a duration")
		}
		return time.Duration(f * float64(time.Second)), nil
	}
	return 0, x.bad(name, v, "a duration such as 90s or 1h")
}

// time returns a time argument: RFC 3339, or a duration meaning that
// long ago.
func (x *call) time(name string) (time.Time, error) {
	s := x.str(name)
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return time.Now().Add(-d), nil
	}
	return time.Time{}, x.bad(name, strconv.Quote(s), "a time (RFC 3339) or a duration ago such as 1h")
}

// bytes returns a bytes argument: text as it is, or "hex:..." or
// "b64:..." decoded.
func (x *call) bytes(name string) ([]byte, error) {
	if !x.has(name) {
		return nil, nil
	}
	b, err := ParseBytes(x.str(name))
	if err != nil {
		return nil, withCode(CodeBadArgs, fmt.Errorf("%s: %s: %w", x.cmd.Name, name, err))
	}
	return b, nil
}

// ParseBytes reads bytes written as text, "hex:..." or "b64:...".
func ParseBytes(s string) ([]byte, error) {
	switch {
	case strings.HasPrefix(s, "hex:"):
		b, err := hex.DecodeString(strings.ReplaceAll(s[4:], " ", ""))
		if err != nil {
			return nil, fmt.Errorf("%q: bad hex: %w", s, err)
		}
		return b, nil
	case strings.HasPrefix(s, "b64:"):
		b, err := base64.StdEncoding.DecodeString(s[4:])
		if err != nil {
			return nil, fmt.Errorf("%q: bad base64: %w", s, err)
		}
		return b, nil
	}
	return []byte(s), nil
}
