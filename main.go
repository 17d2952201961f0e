// Command plinth is the firmware of a Plinth storage node: one static binary
// that owns the node's drives and carries the operator tools.
//
// Run `plinth help` for the commands.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// command is one subcommand. run returns an exitError to choose the exit
// status; any other error exits 1.
type command struct {
	name    string
	summary string
	usage   string // arguments after the flags, for the usage line
	help    string // the long description printed by -h
	flags   func(fs *flag.FlagSet)
	run     func(fs *flag.FlagSet, stdout, stderr io.Writer) error
	// badUsage is the exit status of a command line the flags refuse,
	// when not 2 (fsck's is 8, as e2fsck's).
	badUsage int
}

var commands = map[string]*command{}

func register(c *command) { commands[c.name] = c }

// exitError carries an exit status other than 1.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageError is a mistake in the command line: exit status 2 and a hint.
func usageError(format string, args ...any) error {
	return &exitError{code: 2, err: fmt.Errorf(format, args...)}
}

func main() {
	os.Exit(runMain(commandArgs(os.Args), os.Stdout, os.Stderr))
}

// commandArgs is the command line runMain gets: the arguments, or "init"
// when plinth runs as /init. The kernel execs /init (a link to
// /bin/plinth) with no arguments, or with the command line words it does
// not know: those are no plinth flags.
func commandArgs(argv []string) []string {
	if len(argv) == 0 {
		return nil
	}
	if filepath.Base(argv[0]) == "init" {
		return []string{"init"}
	}
	return argv[1:]
}

// runMain runs one plinth invocation and returns its exit status. Tests call
// it directly.
func runMain(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		printHelp(stderr)
		return 2
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 {
			if c, ok := commands[args[1]]; ok {
				c.flagSet(stdout).Usage()
				return 0
			}
			fmt.Fprintf(stderr, "plinth: no command %q; run 'plinth help' for the list\n", args[1])
			return 2
		}
		printHelp(stdout)
		return 0
	case "-version", "--version":
		name = "version"
	}
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "plinth: no command %q; run 'plinth help' for the list\n", name)
		return 2
	}
	fs := c.flagSet(stderr)
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		if c.badUsage != 0 {
			return c.badUsage
		}
		return 2 // flag already printed the error and usage
	}
	if err := c.run(fs, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "plinth %s: %v\n", c.name, err)
		var ee *exitError
		if errors.As(err, &ee) {
			if ee.code == 2 {
				fmt.Fprintf(stderr, "run 'plinth %s -h' for help\n", c.name)
			}
			return ee.code
		}
		return 1
	}
	return 0
}

func (c *command) flagSet(out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("plinth "+c.name, flag.ContinueOnError)
	fs.SetOutput(out)
	if c.flags != nil {
		c.flags(fs)
	}
	fs.Usage = func() {
		fmt.Fprintf(out, "usage: plinth %s [flags] %s\n\n%s\n", c.name, c.usage, strings.TrimSpace(c.help))
		hasFlags := false
		fs.VisitAll(func(*flag.Flag) { hasFlags = true })
		if hasFlags {
			fmt.Fprintf(out, "\nflags:\n")
			fs.PrintDefaults()
		}
	}
	return fs
}

func printHelp(w io.Writer) {
	fmt.Fprintf(w, "plinth is the firmware of a Plinth storage node.\n\nusage: plinth <command> [flags] [arguments]\n\ncommands:\n")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	width := 0
	for _, n := range names {
		width = max(width, len(n))
	}
	for _, n := range names {
		fmt.Fprintf(w, "  %-*s  %s\n", width, n, commands[n].summary)
	}
	fmt.Fprintf(w, "\nRun 'plinth help <command>' or 'plinth <command> -h' for a command's flags.\n")
}
