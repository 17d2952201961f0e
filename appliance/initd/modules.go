package initd

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// ModulesFile lists the modules init loads, in order.
const ModulesFile = "/etc/plinth/modules"

// Module is one line of the modules file.
type Module struct {
	Path   string // the module file in the image
	Params string // its parameters, space-separated, "" for none
}

// Name is the module's name as the kernel knows it: the file name without
// .ko and compression suffix, dashes as underscores (nvme-core.ko is
// nvme_core).
func (m Module) Name() string {
	n := filepath.Base(m.Path)
	for _, suffix := range []string{".xz", ".zst", ".gz"} {
		n = strings.TrimSuffix(n, suffix)
	}
	return strings.ReplaceAll(strings.TrimSuffix(n, ".ko"), "-", "_")
}

// compressed reports whether the kernel must decompress the file.
func (m Module) compressed() bool {
	return strings.HasSuffix(m.Path, ".xz") || strings.HasSuffix(m.Path, ".zst") || strings.HasSuffix(m.Path, ".gz")
}

// ParseModules reads a modules file (format in the package comment). A
// line whose path is not absolute fails the whole list, naming the line:
// the list comes from the image builder, so such a line is a build bug.
func ParseModules(r io.Reader) ([]Module, error) {
	var mods []Module
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		path, params := text, ""
		if i := strings.IndexAny(text, " \t"); i >= 0 {
			path, params = text[:i], strings.TrimSpace(text[i:])
		}
		if !strings.HasPrefix(path, "/") {
			return nil, fmt.Errorf("modules line %d: %q is not an absolute path", line, path)
		}
		mods = append(mods, Module{Path: path, Params: params})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read the modules list: %w", err)
	}
	return mods, nil
}

// LoadResult is the outcome of loading one module.
type LoadResult struct {
	Module  Module
	Already bool          // the kernel had it (EEXIST)
	Took    time.Duration // how long finit_module took
	Err     error
}

// LoadModule loads one module with finit_module(2).
func LoadModule(m Module) LoadResult {
	start := time.Now()
	r := LoadResult{Module: m}
	f, err := os.Open(m.Path)
	if err != nil {
		r.Err = fmt.Errorf("open module %s: %w", m.Path, err)
		return r
	}
	defer f.Close()
	flags := 0
	if m.compressed() {
		flags |= unix.MODULE_INIT_COMPRESSED_FILE
	}
	err = unix.FinitModule(int(f.Fd()), m.Params, flags)
	r.Took = time.Since(start)
	switch {
	case errors.Is(err, unix.EEXIST):
		r.Already = true
	case err != nil:
		r.Err = fmt.Errorf("finit_module %s: %w", m.Path, err)
	}
	return r
}
