package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"time"
)

// Set at link time by release builds:
//
//	go build -ldflags "-X main.version=1.2.3 -X main.buildTime=$(date -u +%FT%TZ)"
var (
	version   = "dev"
	buildTime = ""
)

func init() {
	register(&command{
		name:    "version",
		summary: "print the version, VCS revision, build time and Go version",
		help:    "Prints what this binary is: its version, the VCS revision it was built from (and whether the tree was modified), when it was built, and the Go toolchain.",
		run: func(fs *flag.FlagSet, stdout, _ io.Writer) error {
			if fs.NArg() > 0 {
				return usageError("version takes no arguments")
			}
			for _, l := range versionLines() {
				fmt.Fprintln(stdout, l)
			}
			return nil
		},
	})
}

func versionLines() []string {
	info, ok := debug.ReadBuildInfo()
	goVersion, revision, vcsTime, modified := "unknown", "", "", ""
	if ok {
		goVersion = info.GoVersion
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				revision = s.Value
			case "vcs.time":
				vcsTime = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					modified = " (modified tree)"
				}
			}
		}
	}
	if revision == "" {
		revision = "unknown (built without VCS stamping: outside a git checkout, or with -buildvcs=false)"
	} else {
		revision += modified
		if vcsTime != "" {
			revision += ", committed " + vcsTime
		}
	}
	built := buildTime
	if built == "" {
		// The linker writes the executable, so its modification time is
		// when it was built unless it has been copied since.
		built = "unknown"
		if exe, err := os.Executable(); err == nil {
			if st, err := os.Stat(exe); err == nil {
				built = st.ModTime().UTC().Format(time.RFC3339) + " (executable's modification time)"
			}
		}
	}
	return []string{
		"plinth " + version,
		"revision: " + revision,
		"built:    " + built,
		"go:       " + goVersion,
	}
}
