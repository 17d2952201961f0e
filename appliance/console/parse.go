package console

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Command lines, as people type them: a command's name (one or two words),
// then its arguments, positional in order or NAME=VALUE; a boolean
// argument may be given by its name alone ("follow"). Words are split as
// a shell does: quotes ('...', "...") keep spaces, a backslash escapes
// the next character, and "--" makes every later word positional.

// SplitCommands splits "cmd; cmd" into command lines; a ';' inside quotes
// or escaped does not split.
func SplitCommands(s string) []string {
	var out []string
	var cur strings.Builder
	var quote rune
	esc := false
	for _, r := range s {
		switch {
		case esc:
			esc = false
		case r == '\\' && quote != '\'':
			esc = true
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '\'' || r == '"':
			quote = r
		case r == ';':
			if t := strings.TrimSpace(cur.String()); t != "" {
				out = append(out, t)
			}
			cur.Reset()
			continue
		}
		cur.WriteRune(r)
	}
	if t := strings.TrimSpace(cur.String()); t != "" {
		out = append(out, t)
	}
	return out
}

// Words splits a command line into words.
func Words(s string) ([]string, error) {
	var out []string
	var cur strings.Builder
	in, esc := false, false
	var quote rune
	for _, r := range s {
		switch {
		case esc:
			cur.WriteRune(r)
			esc, in = false, true
		case r == '\\' && quote != '\'':
			esc, in = true, true
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, in = r, true
		case r == ' ' || r == '\t' || r == '\n' || r == '\r':
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c quote", quote)
	}
	if esc {
		return nil, errors.New("a backslash at the end of the line")
	}
	if in {
		out = append(out, cur.String())
	}
	return out, nil
}

// FindCommand finds the command words start with (its name is one or two
// words), and returns the words after it.
func FindCommand(words []string, cmds []Command) (*Command, []string, error) {
	if len(words) == 0 {
		return nil, nil, errors.New("no command")
	}
	if len(words) > 1 {
		if c := byName(cmds, words[0]+" "+words[1]); c != nil {
			return c, words[2:], nil
		}
	}
	if c := byName(cmds, words[0]); c != nil {
		return c, words[1:], nil
	}
	var subs []string
	for _, c := range cmds {
		if first, second, ok := strings.Cut(c.Name, " "); ok && first == words[0] {
			subs = append(subs, second)
		}
	}
	if len(subs) > 0 {
		return nil, nil, fmt.Errorf("%s what? (%s)", words[0], strings.Join(subs, ", "))
	}
	return nil, nil, fmt.Errorf("no command %q (help lists them)", words[0])
}

func byName(cmds []Command, name string) *Command {
	for i := range cmds {
		if cmds[i].Name == name {
			return &cmds[i]
		}
	}
	return nil
}

// ParseLine turns a command line into a request, knowing the commands
// (help's list).
func ParseLine(line string, cmds []Command) (Request, error) {
	words, err := Words(line)
	if err != nil {
		return Request{}, err
	}
	c, rest, err := FindCommand(words, cmds)
	if err != nil {
		return Request{}, err
	}
	req := Request{Cmd: c.Name, Args: map[string]any{}}
	var positional []Arg
	for _, a := range c.Args {
		if a.Positional {
			positional = append(positional, a)
		}
	}
	named := true
	for _, w := range rest {
		if named && w == "--" {
			named = false
			continue
		}
		if named {
			if name, val, ok := strings.Cut(w, "="); ok && argOf(c, name) != nil {
				req.Args[name] = val
				continue
			}
			if a := argOf(c, w); a != nil && a.Type == "bool" {
				req.Args[w] = true
				continue
			}
		}
		for len(positional) > 0 && req.Args[positional[0].Name] != nil {
			positional = positional[1:]
		}
		if len(positional) == 0 {
			return Request{}, fmt.Errorf("%s: too many arguments at %q (usage: %s)", c.Name, w, Usage(*c))
		}
		req.Args[positional[0].Name] = w
		positional = positional[1:]
	}
	for _, a := range c.Args {
		if a.Required && req.Args[a.Name] == nil {
			return Request{}, fmt.Errorf("%s: %s is missing (usage: %s)", c.Name, strings.ToUpper(a.Name), Usage(*c))
		}
	}
	return req, nil
}

func argOf(c *Command, name string) *Arg {
	for i := range c.Args {
		if c.Args[i].Name == name {
			return &c.Args[i]
		}
	}
	return nil
}

// Usage is a command's usage line.
func Usage(c Command) string {
	parts := []string{c.Name}
	for _, a := range c.Args {
		var s string
		switch {
		case a.Positional && a.Type == "enum":
			s = strings.Join(a.Choices, "|")
		case a.Positional:
			s = strings.ToUpper(a.Name)
		case a.Type == "bool":
			s = a.Name
		case a.Type == "enum":
			s = a.Name + "=" + strings.Join(a.Choices, "|")
		default:
			s = a.Name + "=" + strings.ToUpper(a.Type)
		}
		if !a.Required {
			s = "[" + s + "]"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

// Complete returns the completions of the last word of line (the part of
// a command line before the cursor): command names, argument names, and
// argument values from their choices or from values(kind) for the kinds
// help names ("tree", "drive", "bucket").
func Complete(line string, cmds []Command, values func(kind string) []string) []string {
	words, err := Words(line)
	if err != nil {
		return nil
	}
	if line == "" || strings.HasSuffix(line, " ") {
		words = append(words, "")
	}
	last := words[len(words)-1]
	prior := words[:len(words)-1]
	// The command's name.
	if len(prior) == 0 || len(prior) == 1 && byName(cmds, prior[0]) == nil {
		seen := map[string]bool{}
		var out []string
		for _, c := range cmds {
			first, second, two := strings.Cut(c.Name, " ")
			var cand string
			switch {
			case len(prior) == 0:
				cand = first
			case two && first == prior[0]:
				cand = second
			default:
				continue
			}
			if strings.HasPrefix(cand, last) && !seen[cand] {
				seen[cand] = true
				out = append(out, cand)
			}
		}
		slices.Sort(out)
		return out
	}
	c, rest, err := FindCommand(prior, cmds)
	if err != nil {
		return nil
	}
	valuesOf := func(a *Arg) []string {
		if len(a.Choices) > 0 {
			return a.Choices
		}
		if a.Type == "bool" {
			return []string{"true", "false"}
		}
		if a.Complete != "" && values != nil {
			return values(a.Complete)
		}
		return nil
	}
	var out []string
	if name, val, ok := strings.Cut(last, "="); ok {
		if a := argOf(c, name); a != nil {
			for _, v := range valuesOf(a) {
				if strings.HasPrefix(v, val) {
					out = append(out, name+"="+v)
				}
			}
		}
		return out
	}
	given := map[string]bool{}
	npos := 0
	for _, w := range rest {
		if name, _, ok := strings.Cut(w, "="); ok && argOf(c, name) != nil {
			given[name] = true
		} else if a := argOf(c, w); a != nil && a.Type == "bool" {
			given[w] = true
		} else {
			npos++
		}
	}
	i := 0
	for j := range c.Args {
		a := &c.Args[j]
		if !a.Positional || given[a.Name] {
			continue
		}
		if i == npos {
			for _, v := range valuesOf(a) {
				if strings.HasPrefix(v, last) {
					out = append(out, v)
				}
			}
			break
		}
		i++
	}
	for _, a := range c.Args {
		if given[a.Name] {
			continue
		}
		cand := a.Name + "="
		if a.Type == "bool" {
			cand = a.Name
		}
		if last != "" && strings.HasPrefix(cand, last) {
			out = append(out, cand)
		}
	}
	return out
}
